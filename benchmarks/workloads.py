"""Issue 13's workloads W1-W6, side by side in one process: PyTorch eager, torch.compile and
JAX jit (where installed), NumPy by hand, graphtorch eager and compiled. Medians.

W1  8x8 float32 `a * b`: without grad; recorded for autograd; a 50-op chain and its
    backward, per op (benchmarks/eager_overhead.py's definitions)                (us/op)
W2  tanh-GELU on 4M float32: forward; forward+backward                           (ms)
W3  MLP 784-512-512-10, batch 128, CrossEntropyLoss, SGD(momentum=0.9) step      (ms)
W4  LeNet-5, batch 64, 1x32x32, same loss and optimizer, one step                (ms)
W5  LSTM(64, 128), batch 32, length 50, loss = out.square().mean(), fwd+bwd     (ms)
W6  cold compile of the W3 / W4 steps: the first three calls                     (s)

"host floor" (benchmarks/floors.py) is what no implementation can beat on this host: for W2 a
two-thread copy of 4M float32 into a fresh array, for W3 its matrix products alone.

graphtorch's compiled rows run with the native tier built (GRAPHTORCH_JIT=sync: kernels are
built during warm-up, from the disk cache when present); W6 uses the default background
mode with an empty cache, so it shows what a first run costs.

Run: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 benchmarks/workloads.py [--only W2,W3]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("GRAPHTORCH_JIT", "sync")

from compiled_step import make_step  # noqa: E402 - the benchmarks' folder
from eager_overhead import w1_case  # noqa: E402
from floors import floors  # noqa: E402
from timing import median_time  # noqa: E402
from lstm import loss_of, make_lstms  # noqa: E402
from train_step import lenet, mlp  # noqa: E402
COLUMNS = ["PyTorch eager", "torch.compile", "JAX jit", "NumPy by hand", "graphtorch eager",
           "graphtorch compiled", "host floor"]


def have(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def torch_compile(torch, fn):
    """torch.compile'd `fn`, or None where inductor cannot build here."""
    try:
        compiled = torch.compile(fn)
        return compiled
    except Exception:  # noqa: BLE001 - reported as a missing cell
        return None


# --- W1 ---------------------------------------------------------------------------------

def w1(torch, gt, runs):
    """W1's rows as `eager_overhead.w1_case` defines them (a * b on 8x8 float32; the third
    row a 50-op chain and its backward, per op)."""
    rows = {}
    for case, label in (("op", "W1 op, 8x8, no grad (us/op)"),
                        ("recorded", "W1 op recorded for autograd (us/op)"),
                        ("backward", "W1 op + its backward (us/op)")):
        cells = {}
        for column, lib in (("PyTorch eager", torch), ("graphtorch eager", gt)):
            fn, ops = w1_case(lib, case)
            n = 2000 // ops
            cells[column] = median_time(lambda: [fn() for _ in range(n)], runs) / n / ops * 1e6
        if case == "op":
            a = np.random.default_rng(0).standard_normal((8, 8)).astype(np.float32)
            b = a * 0.5
            cells["NumPy by hand"] = median_time(
                lambda: [np.multiply(a, b) for _ in range(2000)], runs) / 2000 * 1e6
        rows[label] = cells
    return rows


# --- W2 ---------------------------------------------------------------------------------

def _gelu(lib_tanh):
    def gelu(x):
        return 0.5 * x * (1 + lib_tanh(0.7978845608 * (x + 0.044715 * x ** 3)))
    return gelu


def _forward_backward(fn, x):
    """A call of ``fn(x).sum().backward()`` with x's gradient cleared first."""
    def run():
        x.grad = None
        fn(x).sum().backward()
    return run


def w2(torch, gt, runs):
    x_np = np.random.default_rng(0).standard_normal(4 << 20).astype(np.float32)
    fwd, both = {}, {}
    t_gelu = _gelu(torch.tanh)
    tx = torch.from_numpy(x_np)
    fwd["PyTorch eager"] = median_time(lambda: t_gelu(tx), runs)
    txg = tx.clone().requires_grad_()
    both["PyTorch eager"] = median_time(_forward_backward(t_gelu, txg), runs)
    tc = torch_compile(torch, t_gelu)
    if tc is not None:
        fwd["torch.compile"] = median_time(lambda: tc(tx), runs)
        both["torch.compile"] = median_time(_forward_backward(tc, txg), runs)
    if have("jax"):
        import jax
        import jax.numpy as jnp
        j_gelu = jax.jit(_gelu(jnp.tanh))
        j_grad = jax.jit(jax.value_and_grad(lambda x: _gelu(jnp.tanh)(x).sum()))
        jx = jnp.asarray(x_np)
        fwd["JAX jit"] = median_time(lambda: j_gelu(jx).block_until_ready(), runs)
        both["JAX jit"] = median_time(lambda: j_grad(jx)[1].block_until_ready(), runs)
    out, tmp = np.empty_like(x_np), np.empty_like(x_np)

    def by_hand():
        np.multiply(x_np, x_np, out=tmp)
        np.multiply(tmp, x_np, out=tmp)
        np.multiply(tmp, 0.044715, out=tmp)
        np.add(tmp, x_np, out=tmp)
        np.multiply(tmp, 0.7978845608, out=tmp)
        np.tanh(tmp, out=tmp)
        np.add(tmp, 1, out=tmp)
        np.multiply(x_np, 0.5, out=out)
        np.multiply(out, tmp, out=out)
    fwd["NumPy by hand"] = median_time(by_hand, runs)
    g_gelu = _gelu(gt.tanh)
    gx = gt.from_numpy(x_np.copy())
    fwd["graphtorch eager"] = median_time(lambda: g_gelu(gx), max(3, runs // 4), 1)
    gc = gt.compile(g_gelu)
    fwd["graphtorch compiled"] = median_time(lambda: gc(gx), runs)
    gxg = gx.clone().requires_grad_()
    both["graphtorch eager"] = median_time(_forward_backward(g_gelu, gxg), max(3, runs // 4),
                                           1)

    def g_step(x):
        loss = g_gelu(x).sum()
        loss.backward()
        return loss
    gs = gt.compile(g_step)

    def g_compiled():
        gxg.grad = None
        gs(gxg)
    both["graphtorch compiled"] = median_time(g_compiled, runs)
    return {"W2 tanh-GELU forward, 4M f32 (ms)": {k: v * 1e3 for k, v in fwd.items()},
            "W2 GELU forward+backward (ms)": {k: v * 1e3 for k, v in both.items()}}


# --- W3 / W4: training steps ------------------------------------------------------------

def _same_weights(gt, torch_model, gt_model):
    gt_model.load_state_dict({k: gt.from_numpy(v.detach().numpy().copy())
                              for k, v in torch_model.state_dict().items()})


def train_row(torch, gt, runs, build, x_shape, jax_step=None, numpy_step=None):
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal(x_shape).astype(np.float32)
    y_np = rng.integers(0, 10, x_shape[0])
    cells = {}
    torch.manual_seed(0)
    t_model = build(torch)
    tx, ty = torch.from_numpy(x_np), torch.from_numpy(y_np)
    t_step = make_step(torch, t_model)
    cells["PyTorch eager"] = median_time(lambda: t_step(tx, ty), runs)
    tc_model = build(torch)
    tc = torch_compile(torch, make_step(torch, tc_model))
    if tc is not None:
        try:
            cells["torch.compile"] = median_time(lambda: tc(tx, ty), runs)
        except Exception:  # noqa: BLE001 - inductor missing a compiler etc.
            pass
    if jax_step is not None and have("jax"):
        cells["JAX jit"] = jax_step(t_model, x_np, y_np, runs)
    if numpy_step is not None:
        cells["NumPy by hand"] = numpy_step(t_model, x_np, y_np, runs)
    gx, gy = gt.from_numpy(x_np), gt.from_numpy(y_np)
    e_model = build(gt)
    _same_weights(gt, t_model, e_model)
    e_step = make_step(gt, e_model)
    cells["graphtorch eager"] = median_time(lambda: e_step(gx, gy), runs)
    c_model = build(gt)
    _same_weights(gt, t_model, c_model)
    c_step = gt.compile(make_step(gt, c_model))
    cells["graphtorch compiled"] = median_time(lambda: c_step(gx, gy), runs)
    return {k: v * 1e3 for k, v in cells.items()}


def mlp_numpy_step(t_model, x, y, runs):
    """The W3 step written by hand in NumPy with the weights stored transposed (in x out), so
    every GEMM reads row-major operands: 2.6 ms here where compiled_step.hand_numpy_step
    (PyTorch's layout, GEMMs on transposed views) takes 3.9 ms; the floor is the faster."""
    ws = [m.weight.detach().numpy().T.copy() for m in t_model if hasattr(m, "weight")]
    bs = [m.bias.detach().numpy().copy() for m in t_model if hasattr(m, "weight")]
    bufs = [np.zeros_like(p) for p in ws + bs]
    onehot = np.eye(10, dtype=np.float32)[y]

    def step():
        h1 = np.maximum(x @ ws[0] + bs[0], 0)
        h2 = np.maximum(h1 @ ws[1] + bs[1], 0)
        z = h2 @ ws[2] + bs[2]
        z -= z.max(1, keepdims=True)
        e = np.exp(z)
        p = e / e.sum(1, keepdims=True)
        dz = (p - onehot) / len(x)
        dh2 = (dz @ ws[2].T) * (h2 > 0)
        dh1 = (dh2 @ ws[1].T) * (h1 > 0)
        grads = [x.T @ dh1, h1.T @ dh2, h2.T @ dz, dh1.sum(0), dh2.sum(0), dz.sum(0)]
        for p_, g, b in zip(ws + bs, grads, bufs):
            b *= 0.9
            b += g
            p_ -= 0.01 * b
    return median_time(step, runs)


def mlp_jax_step(t_model, x, y, runs):
    import jax
    import jax.numpy as jnp
    params = [(jnp.asarray(m.weight.detach().numpy().T), jnp.asarray(m.bias.detach().numpy()))
              for m in t_model if hasattr(m, "weight")]

    def loss_fn(params, x, y):
        h = x
        for i, (w, b) in enumerate(params):
            h = h @ w + b
            if i < len(params) - 1:
                h = jax.nn.relu(h)
        logp = jax.nn.log_softmax(h)
        return -jnp.take_along_axis(logp, y[:, None], 1).mean()

    @jax.jit
    def step(params, bufs, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        bufs = jax.tree_util.tree_map(lambda b, g: 0.9 * b + g, bufs, grads)
        params = jax.tree_util.tree_map(lambda p, b: p - 0.01 * b, params, bufs)
        return params, bufs, loss
    state = [params, jax.tree_util.tree_map(jnp.zeros_like, params)]
    jx, jy = jnp.asarray(x), jnp.asarray(y)

    def run():
        state[0], state[1], loss = step(state[0], state[1], jx, jy)
        loss.block_until_ready()
    return median_time(run, runs)


# --- W5 ---------------------------------------------------------------------------------

def w5(torch, gt, runs):
    x_np, t_lstm, g_lstm = make_lstms(torch, gt)
    tx = torch.from_numpy(x_np).requires_grad_()
    gx = gt.from_numpy(x_np.copy()).requires_grad_()

    def step(lstm, x, fn):
        def run():
            lstm.zero_grad()
            x.grad = None
            fn(x).backward()
        return run
    cells = {"PyTorch eager": median_time(step(t_lstm, tx, lambda x: loss_of(t_lstm, x)),
                                          runs)}
    cells["graphtorch eager"] = median_time(step(g_lstm, gx, lambda x: loss_of(g_lstm, x)),
                                            max(3, runs // 4), 1)
    compiled = gt.compile(lambda x: loss_of(g_lstm, x))
    cells["graphtorch compiled"] = median_time(step(g_lstm, gx, compiled), runs)
    if have("jax"):
        cells["JAX jit"] = lstm_jax(t_lstm, x_np, runs)
    return {"W5 LSTM I64 H128 B32 T50 fwd+bwd (ms)": {k: v * 1e3 for k, v in cells.items()}}


def lstm_jax(t_lstm, x_np, runs):
    import jax
    import jax.numpy as jnp
    w_ih, w_hh = (jnp.asarray(t_lstm.weight_ih_l0.detach().numpy()),
                  jnp.asarray(t_lstm.weight_hh_l0.detach().numpy()))
    b = jnp.asarray((t_lstm.bias_ih_l0 + t_lstm.bias_hh_l0).detach().numpy())

    def loss(params, x):
        w_ih, w_hh, b = params

        def cell(carry, xt):
            h, c = carry
            gates = xt @ w_ih.T + h @ w_hh.T + b
            i, f, g, o = jnp.split(gates, 4, axis=-1)
            c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
            h = jax.nn.sigmoid(o) * jnp.tanh(c)
            return (h, c), h
        zeros = jnp.zeros((x.shape[0], 128), x.dtype)
        _, hs = jax.lax.scan(cell, (zeros, zeros), jnp.swapaxes(x, 0, 1))
        return jnp.square(hs).mean()
    grad = jax.jit(jax.grad(loss, argnums=(0, 1)))
    jx = jnp.asarray(x_np)
    return median_time(lambda: jax.block_until_ready(grad((w_ih, w_hh, b), jx)), runs)


# --- W6 ---------------------------------------------------------------------------------

def w6(torch, gt):
    """First three calls of a freshly compiled W3 / W4 step, default (background) native
    tier and an empty kernel cache: what a user's first run costs."""
    cells = {}
    saved = {k: os.environ.get(k) for k in ("GRAPHTORCH_JIT", "GRAPHTORCH_CACHE_DIR")}
    with tempfile.TemporaryDirectory() as cache:
        os.environ["GRAPHTORCH_JIT"] = "background"
        os.environ["GRAPHTORCH_CACHE_DIR"] = cache
        try:
            times = []
            for build, shape in ((mlp, (128, 784)), (lenet, (64, 1, 32, 32))):
                rng = np.random.default_rng(1)
                gx = gt.from_numpy(rng.standard_normal(shape).astype(np.float32))
                gy = gt.from_numpy(rng.integers(0, 10, shape[0]))
                step = gt.compile(make_step(gt, build(gt)))
                start = time.perf_counter()
                for _ in range(3):
                    step(gx, gy)
                times.append(time.perf_counter() - start)
            cells["graphtorch compiled"] = tuple(times)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    return {"W6 cold compile MLP / LeNet step, first 3 calls (s)": cells}


def fmt(value) -> str:
    if isinstance(value, tuple):
        return " / ".join(f"{v:.3f}" for v in value)
    return f"{value:.3g}" if value < 10 else f"{value:.1f}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="W1,W2,W3,W4,W5,W6")
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args(argv)
    wanted = set(args.only.split(","))

    import torch

    import graphtorch as gt

    from graphtorch import blas
    from graphtorch.threads import get_num_threads
    torch.set_num_threads(get_num_threads())
    rows = {}
    if "W1" in wanted:
        rows.update(w1(torch, gt, args.runs))
    if "W2" in wanted:
        rows.update(w2(torch, gt, args.runs))
    if "W3" in wanted:
        rows["W3 MLP 784-512-512-10 b128 SGD-momentum step (ms)"] = train_row(
            torch, gt, args.runs, mlp, (128, 784), mlp_jax_step, mlp_numpy_step)
    if "W4" in wanted:
        rows["W4 LeNet-5 b64 step (ms)"] = train_row(torch, gt, args.runs, lenet,
                                                     (64, 1, 32, 32))
    if "W5" in wanted:
        rows.update(w5(torch, gt, args.runs))
    if "W6" in wanted:
        rows.update(w6(torch, gt))
    for label, ms in floors(args.runs).items():
        if label in rows:
            rows[label]["host floor"] = ms
    print(f"threads: {get_num_threads()} (graphtorch), {torch.get_num_threads()} (PyTorch "
          f"{torch.__version__}); graphtorch native tier: {os.environ['GRAPHTORCH_JIT']}; "
          f"matrix products: {blas.backend()} ({blas.why_not() or 'graphtorch.blas'})")
    print("| workload | " + " | ".join(COLUMNS) + " | compiled / PyTorch |")
    print("|---|" + "---|" * (len(COLUMNS) + 1))
    for label, cells in rows.items():
        ratio = ""
        if "graphtorch compiled" in cells and "PyTorch eager" in cells:
            ratio = f"{cells['graphtorch compiled'] / cells['PyTorch eager']:.2f}x"
        elif "graphtorch eager" in cells and "PyTorch eager" in cells:
            ratio = f"(eager {cells['graphtorch eager'] / cells['PyTorch eager']:.2f}x)"
        print(f"| {label} | " + " | ".join(fmt(cells[c]) if c in cells else ""
                                           for c in COLUMNS) + f" | {ratio} |")


if __name__ == "__main__":
    main()
