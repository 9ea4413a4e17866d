"""Compiled training steps vs eager graphtorch and PyTorch 2.13 CPU, in one process.

MLP 784-512-512-10, batch 128, CrossEntropyLoss, SGD(lr=0.01, momentum=0.9); the whole step
(zero_grad, forward, backward, optimizer step) is one `gt.compile`d function. Also reports
the same step written by hand in NumPy (`hand_numpy_step`, the floor to beat), the cold
compile time, peak memory (tracemalloc, NumPy allocations) of one compiled and one eager
step, and the per-call cost of a compiled function on tiny inputs.

Run: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 benchmarks/compiled_step.py
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc

import numpy as np
from timing import median_time


def mlp(lib):
    nn = lib.nn
    return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                         nn.Linear(512, 10))


def make_step(lib, model):
    opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = lib.nn.CrossEntropyLoss()

    def step(x, y):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step


def hand_numpy_step(x, y, params, bufs, lr=0.01, momentum=0.9):
    """The MLP step by hand in NumPy (the floor the compiled step is measured against):
    GEMMs with transposed views, fused bias/ReLU, one pass of softmax + NLL, and in-place
    SGD-momentum updates. `params`: [W1, b1, W2, b2, W3, b3] (PyTorch layout), `bufs` the
    momentum buffers, both updated in place. Returns the loss."""
    w1, b1, w2, b2, w3, b3 = params
    h1 = x @ w1.T
    h1 += b1
    np.maximum(h1, 0, out=h1)
    h2 = h1 @ w2.T
    h2 += b2
    np.maximum(h2, 0, out=h2)
    z = h2 @ w3.T
    z += b3
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    s = e.sum(axis=1, keepdims=True)
    rows = np.arange(len(y))
    loss = np.log(s[:, 0]).mean() - z[rows, y].mean()
    e /= s * len(y)
    e[rows, y] -= 1.0 / len(y)
    dz = e
    grads = [None] * 6
    grads[4] = dz.T @ h2
    grads[5] = dz.sum(axis=0)
    dh2 = dz @ w3
    dh2 *= h2 > 0
    grads[2] = dh2.T @ h1
    grads[3] = dh2.sum(axis=0)
    dh1 = dh2 @ w2
    dh1 *= h1 > 0
    grads[0] = dh1.T @ x
    grads[1] = dh1.sum(axis=0)
    for p, g, b in zip(params, grads, bufs):
        b *= momentum
        b += g
        p -= lr * b
    return loss


def median_ms(fn, steps, warmup):
    return median_time(fn, steps, warmup) * 1e3


def peak_bytes(fn) -> int:
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args(argv)

    import torch

    import graphtorch as gt

    torch.set_num_threads(max(torch.get_num_threads(), 1))
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal((128, 784)).astype(np.float32)
    y_np = rng.integers(0, 10, 128)

    torch.manual_seed(0)
    t_model = mlp(torch)
    t_step = make_step(torch, t_model)
    tx, ty = torch.from_numpy(x_np), torch.from_numpy(y_np)
    t_ms = median_ms(lambda: t_step(tx, ty), args.steps, args.warmup)

    gt.manual_seed(0)
    e_model = mlp(gt)
    e_step = make_step(gt, e_model)
    gx, gy = gt.from_numpy(x_np), gt.from_numpy(y_np)
    e_ms = median_ms(lambda: e_step(gx, gy), args.steps, args.warmup)

    gt.manual_seed(0)
    c_model = mlp(gt)
    c_step = gt.compile(make_step(gt, c_model))
    c_step(gx, gy)  # the first step creates the momentum buffers (runs eagerly)
    start = time.perf_counter()
    c_step(gx, gy)
    cold = time.perf_counter() - start
    c_ms = median_ms(lambda: c_step(gx, gy), args.steps, args.warmup)

    params = [a.detach().numpy().copy() for a in c_model.parameters()]
    bufs = [np.zeros_like(a) for a in params]
    h_ms = median_ms(lambda: hand_numpy_step(x_np, y_np, params, bufs), args.steps, args.warmup)

    # interleaved: the two steps alternate, so drifts in machine speed hit both equally
    inter_t, inter_c = [], []
    for _ in range(args.steps):
        start = time.perf_counter()
        t_step(tx, ty)
        inter_t.append(time.perf_counter() - start)
        start = time.perf_counter()
        c_step(gx, gy)
        inter_c.append(time.perf_counter() - start)
    inter_ratio = statistics.median(inter_c) / statistics.median(inter_t)

    peak_c = peak_bytes(lambda: c_step(gx, gy))
    peak_e = peak_bytes(lambda: e_step(gx, gy))

    tiny = gt.compile(lambda a, b: a * b + 1)
    a, b = gt.ones(4), gt.ones(4)
    tiny(a, b)
    n = 20000
    start = time.perf_counter()
    for _ in range(n):
        tiny(a, b)
    call_us = (time.perf_counter() - start) / n * 1e6
    start = time.perf_counter()
    for _ in range(n):
        a * b + 1
    eager_us = (time.perf_counter() - start) / n * 1e6

    print(f"MLP 784-512-512-10 b128 SGD momentum, median of {args.steps} steps")
    threads = torch.get_num_threads()
    print(f"  PyTorch {torch.__version__} eager : {t_ms:7.2f} ms  (threads {threads})")
    print(f"  graphtorch eager          : {e_ms:7.2f} ms  ({e_ms / t_ms:.2f}x PyTorch)")
    print(f"  graphtorch compiled step  : {c_ms:7.2f} ms  ({c_ms / t_ms:.2f}x PyTorch, "
          f"{e_ms / c_ms:.2f}x faster than eager)")
    print(f"  the step by hand in NumPy : {h_ms:7.2f} ms  (compiled is {c_ms / h_ms:.2f}x it)")
    print(f"  interleaved medians: compiled {statistics.median(inter_c) * 1e3:.2f} ms, "
          f"PyTorch {statistics.median(inter_t) * 1e3:.2f} ms -> {inter_ratio:.2f}x")
    print(f"  cold compile (trace+passes+codegen+first run): {cold:.3f} s")
    print(f"  peak NumPy memory of one step: compiled {peak_c / 2**20:.1f} MiB, "
          f"eager {peak_e / 2**20:.1f} MiB")
    print(f"  tiny compiled call (a * b + 1 on 4 floats): {call_us:.1f} us "
          f"(eager ops: {eager_us:.1f} us)")


if __name__ == "__main__":
    main()
