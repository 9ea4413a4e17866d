"""bfloat16 tensors against PyTorch's CPU bfloat16: creation, printing, promotion, a table of
ops forward and backward (graphtorch computes each op in float32 and rounds once, as
PyTorch's CPU kernels do), autograd, a small training step, autocast and compiled code."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import graphtorch as gt

torch = pytest.importorskip("torch")
pytest.importorskip("ml_dtypes")
pytestmark = pytest.mark.torch_oracle

# Half a unit in the last place of bfloat16 (8 bits of precision) is 2**-8 relative.
RTOL, ATOL = 1.6e-2, 1e-2


def _values(shape, seed, positive=False):
    rs = np.random.RandomState(seed)
    a = rs.rand(*shape) + 0.5 if positive else rs.randn(*shape)
    return np.asarray(a, dtype=np.float32)


def _as_float(x):
    """A graphtorch or torch result as a float64 NumPy array (or a Python value)."""
    if isinstance(x, torch.Tensor):
        return x.detach().double().numpy()
    if isinstance(x, gt.Tensor):
        return np.asarray(x.detach().double().tolist(), dtype=np.float64)
    return x


def _check(got, want, rtol=RTOL, atol=ATOL, what=""):
    assert str(got.dtype) == str(want.dtype), f"{what}: {got.dtype} != {want.dtype}"
    assert tuple(got.shape) == tuple(want.shape), what
    np.testing.assert_allclose(_as_float(got), _as_float(want), rtol=rtol, atol=atol,
                               err_msg=what)


# --- creation, conversion, printing ------------------------------------------------------

def test_creation_and_conversion_match_torch():
    for lib_make in (lambda m: m.tensor([1.0, 2.5, -3.3], dtype=m.bfloat16),
                     lambda m: m.zeros(2, 3, dtype=m.bfloat16),
                     lambda m: m.ones(2, dtype=m.bfloat16),
                     lambda m: m.full((2,), 1.3, dtype=m.bfloat16),
                     lambda m: m.arange(5, dtype=m.bfloat16),
                     lambda m: m.arange(0, 1, 0.1, dtype=m.bfloat16),
                     lambda m: m.tensor([0.1, 1e10, -7.77]).to(m.bfloat16),
                     lambda m: m.tensor([0.1, 1e10], dtype=m.float64).bfloat16(),
                     lambda m: m.tensor([1.1, 2.2]).type(m.bfloat16),
                     lambda m: m.tensor([1.1, 2.2]).type("torch.BFloat16Tensor"),
                     lambda m: m.tensor([1.1, 2.2], dtype=m.bfloat16).float(),
                     lambda m: m.tensor([1.7, -2.2], dtype=m.bfloat16).long()):
        got, want = lib_make(gt), lib_make(torch)
        assert got.dtype == getattr(gt, str(want.dtype).split(".")[1])
        assert got.tolist() == want.tolist()


def test_random_draws_are_float32_draws_rounded_as_torch():
    for name in ("randn", "rand"):
        gt.manual_seed(3)
        torch.manual_seed(3)
        got = getattr(gt, name)(5, dtype=gt.bfloat16)
        want = getattr(torch, name)(5, dtype=torch.bfloat16)
        assert got.dtype is gt.bfloat16 and got.tolist() == want.tolist()


def test_dtype_queries_match_torch():
    x, t = gt.ones(2, dtype=gt.bfloat16), torch.ones(2, dtype=torch.bfloat16)
    assert x.is_floating_point() and not x.is_complex() and x.element_size() == 2
    assert x.type() == t.type() == "torch.BFloat16Tensor"
    assert gt.is_floating_point(x)
    assert repr(gt.finfo(gt.bfloat16)) == repr(torch.finfo(torch.bfloat16))
    assert x[0].item() == 1.0 and type(x[0].item()) is float


@pytest.mark.parametrize("values", [[1.0, 2.0], [1.2345, -0.001], [1e10, 3.0], [0.1],
                                    [[1.5, float("nan")], [float("inf"), -2.0]]])
def test_printing_matches_torch(values):
    got = repr(gt.tensor(values, dtype=gt.bfloat16))
    assert got == repr(torch.tensor(values, dtype=torch.bfloat16))


def test_default_dtype_bfloat16_as_torch():
    results = []
    for lib in (gt, torch):
        lib.set_default_dtype(lib.bfloat16)
        try:
            results.append([repr(lib.tensor([1.1])), repr(lib.arange(3) / 3),
                            str(lib.ones(2).dtype)])
        finally:
            lib.set_default_dtype(lib.float32)
    assert results[0] == results[1]


def test_without_ml_dtypes_bfloat16_is_a_clear_error():
    code = textwrap.dedent("""
        import importlib.abc, sys
        class Hide(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if name.split(".")[0] == "ml_dtypes":
                    raise ImportError(name + " is hidden")
        sys.meta_path.insert(0, Hide())
        import graphtorch as gt
        assert (gt.ones(2) + 1).tolist() == [2.0, 2.0]
        try:
            gt.ones(2, dtype=gt.bfloat16)
        except TypeError as exc:
            assert "pip install ml_dtypes" in str(exc), exc
        else:
            raise AssertionError("no error")
    """)
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr


def test_numpy_raises_as_torch():
    with pytest.raises(TypeError, match="Got unsupported ScalarType BFloat16"):
        torch.ones(2, dtype=torch.bfloat16).numpy()
    with pytest.raises(TypeError, match="Got unsupported ScalarType BFloat16"):
        gt.ones(2, dtype=gt.bfloat16).numpy()


def test_save_load_round_trip_keeps_bfloat16():
    buf = io.BytesIO()
    gt.save({"w": gt.tensor([1.5, -2.25, 0.1], dtype=gt.bfloat16)}, buf)
    buf.seek(0)
    out = gt.load(buf)["w"]
    assert out.dtype is gt.bfloat16
    assert out.tolist() == torch.tensor([1.5, -2.25, 0.1], dtype=torch.bfloat16).tolist()


PROMOTIONS = [
    ("bf16 + f16", lambda m: m.ones(2, dtype=m.bfloat16) + m.ones(2, dtype=m.float16)),
    ("bf16 + f32", lambda m: m.ones(2, dtype=m.bfloat16) + m.ones(2)),
    ("bf16 + f64", lambda m: m.ones(2, dtype=m.bfloat16) + m.ones(2, dtype=m.float64)),
    ("bf16 + i64", lambda m: m.ones(2, dtype=m.bfloat16) + m.arange(2)),
    ("i32 * bf16 0-d", lambda m: m.arange(2, dtype=m.int32) * m.tensor(1.5, dtype=m.bfloat16)),
    ("bf16 + float", lambda m: m.ones(2, dtype=m.bfloat16) + 1.1),
    ("bf16 + f32 0-d", lambda m: m.ones(2, dtype=m.bfloat16) + m.tensor(1.1)),
    ("bf16 > int", lambda m: m.ones(2, dtype=m.bfloat16) > 0),
    ("true divide ints", lambda m: m.arange(3).to(m.bfloat16) / 3),
]


@pytest.mark.parametrize("name, make", PROMOTIONS, ids=[p[0] for p in PROMOTIONS])
def test_type_promotion_matches_torch(name, make):
    got, want = make(gt), make(torch)
    assert str(got.dtype) == str(want.dtype)
    assert got.tolist() == want.tolist()


def test_promote_types_and_result_type():
    assert gt.promote_types(gt.bfloat16, gt.float16) is gt.float32
    assert gt.promote_types(gt.bfloat16, gt.int64) is gt.bfloat16
    assert gt.result_type(gt.ones(1, dtype=gt.bfloat16), 2.0) is gt.bfloat16


# --- ops: forward and backward against torch ------------------------------------------------
# (name, function of (lib, *inputs), input shapes, positive inputs, differentiable)
F = "nn.functional"


def _fn(lib, path):
    obj = lib
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


OPS = [
    ("add", lambda m, a, b: a + b, [(3, 4), (3, 4)], False, True),
    ("sub_broadcast", lambda m, a, b: a - b, [(3, 4), (4,)], False, True),
    ("mul", lambda m, a, b: a * b, [(3, 4), (3, 4)], False, True),
    ("div", lambda m, a, b: a / b, [(3, 4), (3, 4)], True, True),
    ("mul_scalar", lambda m, a: a * 2.7, [(3, 4)], False, True),
    ("pow_scalar", lambda m, a: a ** 3, [(3, 4)], False, True),
    ("pow_tensor", lambda m, a, b: a ** b, [(3, 4), (3, 4)], True, True),
    ("neg", lambda m, a: -a, [(5,)], False, True),
    ("abs", lambda m, a: a.abs(), [(5,)], False, True),
    ("exp", lambda m, a: a.exp(), [(3, 4)], False, True),
    ("log", lambda m, a: a.log(), [(3, 4)], True, True),
    ("sqrt", lambda m, a: a.sqrt(), [(3, 4)], True, True),
    ("rsqrt", lambda m, a: a.rsqrt(), [(3, 4)], True, True),
    ("sin", lambda m, a: a.sin(), [(3, 4)], False, True),
    ("cos", lambda m, a: a.cos(), [(3, 4)], False, True),
    ("tanh", lambda m, a: a.tanh(), [(3, 4)], False, True),
    ("sigmoid", lambda m, a: a.sigmoid(), [(3, 4)], False, True),
    ("relu", lambda m, a: m.relu(a), [(3, 4)], False, True),
    ("gelu", lambda m, a: _fn(m, F).gelu(a), [(3, 4)], False, True),
    ("silu", lambda m, a: _fn(m, F).silu(a), [(3, 4)], False, True),
    ("leaky_relu", lambda m, a: _fn(m, F).leaky_relu(a, 0.1), [(3, 4)], False, True),
    ("clamp", lambda m, a: a.clamp(-0.5, 0.5), [(3, 4)], False, True),
    ("where", lambda m, a, b: m.where(a > 0, a, b), [(3, 4), (3, 4)], False, True),
    ("maximum", lambda m, a, b: m.maximum(a, b), [(3, 4), (3, 4)], False, True),
    ("sum", lambda m, a: a.sum(), [(64, 33)], False, True),
    ("sum_dim", lambda m, a: a.sum(1), [(8, 300)], False, True),
    ("mean", lambda m, a: a.mean(0), [(300, 4)], False, True),
    ("var", lambda m, a: a.var(1), [(4, 50)], False, True),
    ("std", lambda m, a: a.std(), [(4, 50)], False, True),
    ("prod", lambda m, a: a.prod(1), [(3, 4)], True, True),
    ("amax", lambda m, a: a.amax(1), [(3, 4)], False, True),
    ("max_dim", lambda m, a: a.max(1).values, [(3, 4)], False, True),
    ("argmax", lambda m, a: a.argmax(1), [(3, 4)], False, False),
    ("norm", lambda m, a: a.norm(), [(3, 4)], False, True),
    ("logsumexp", lambda m, a: a.logsumexp(1), [(3, 4)], False, True),
    ("cumsum", lambda m, a: a.cumsum(1), [(3, 40)], False, True),
    ("matmul", lambda m, a, b: a @ b, [(8, 64), (64, 5)], False, True),
    ("bmm", lambda m, a, b: m.bmm(a, b), [(2, 3, 16), (2, 16, 4)], False, True),
    ("linear", lambda m, a, w, b: _fn(m, F).linear(a, w, b), [(4, 16), (3, 16), (3,)], False,
     True),
    ("conv1d", lambda m, a, w: _fn(m, F).conv1d(a, w, padding=1), [(2, 3, 10), (4, 3, 3)],
     False, True),
    ("conv2d", lambda m, a, w: _fn(m, F).conv2d(a, w, stride=2), [(1, 2, 7, 7), (3, 2, 3, 3)],
     False, True),
    ("max_pool2d", lambda m, a: _fn(m, F).max_pool2d(a, 2), [(1, 2, 6, 6)], False, True),
    ("avg_pool2d", lambda m, a: _fn(m, F).avg_pool2d(a, 2), [(1, 2, 6, 6)], False, True),
    ("softmax", lambda m, a: m.softmax(a, 1), [(3, 8)], False, True),
    ("log_softmax", lambda m, a: m.log_softmax(a, 1), [(3, 8)], False, True),
    ("layer_norm", lambda m, a, w, b: _fn(m, F).layer_norm(a, (8,), w, b),
     [(3, 8), (8,), (8,)], False, True),
    ("mse_loss", lambda m, a, b: _fn(m, F).mse_loss(a, b), [(3, 8), (3, 8)], False, True),
    ("cat", lambda m, a, b: m.cat([a, b], 1), [(3, 2), (3, 4)], False, True),
    ("stack", lambda m, a, b: m.stack([a, b]), [(3, 2), (3, 2)], False, True),
    ("transpose_reshape", lambda m, a: a.t().reshape(-1), [(3, 4)], False, True),
    ("index", lambda m, a: a[1:, ::2], [(3, 4)], False, True),
    ("gather", lambda m, a: a.gather(1, m.tensor([[0, 2], [1, 1], [3, 0]])), [(3, 4)], False,
     True),
    ("sort", lambda m, a: a.sort(1).values, [(3, 4)], False, True),
    ("topk", lambda m, a: a.topk(2).values, [(3, 4)], False, True),
    ("lt", lambda m, a, b: a < b, [(3, 4), (3, 4)], False, False),
    ("isfinite", lambda m, a: m.isfinite(a), [(3, 4)], False, False),
    ("floor", lambda m, a: (a * 3).floor(), [(3, 4)], False, False),
]


@pytest.mark.parametrize("name, fn, shapes, positive, differentiable", OPS,
                         ids=[o[0] for o in OPS])
def test_op_matches_torch(name, fn, shapes, positive, differentiable):
    arrays = [_values(s, seed, positive) for seed, s in enumerate(shapes)]
    ins_gt = [gt.tensor(a, dtype=gt.bfloat16, requires_grad=differentiable) for a in arrays]
    ins_t = [torch.tensor(a, dtype=torch.bfloat16, requires_grad=differentiable)
             for a in arrays]
    out_gt, out_t = fn(gt, *ins_gt), fn(torch, *ins_t)
    _check(out_gt, out_t, what=f"{name} forward")
    if not differentiable:
        return
    cotangent = _values(tuple(out_t.shape), 99)
    out_gt.backward(gt.tensor(cotangent, dtype=gt.bfloat16))
    out_t.backward(torch.tensor(cotangent, dtype=torch.bfloat16))
    for k, (a, b) in enumerate(zip(ins_gt, ins_t)):
        _check(a.grad, b.grad, what=f"{name} grad of input {k}")


SCALAR_OPS = {"add": lambda m, x: x + 3.1, "rsub": lambda m, x: 3.1 - x,
              "mul": lambda m, x: x * 3.1, "div": lambda m, x: x / 3.1,
              "pow": lambda m, x: x ** 1.7, "gt": lambda m, x: x > 1.37,
              "add_alpha": lambda m, x: m.add(x, x, alpha=0.3)}


@pytest.mark.parametrize("name", list(SCALAR_OPS))
def test_python_numbers_round_as_torch(name):
    # PyTorch casts a Python number to bfloat16 first (x + 3.1 adds 3.09375), except in
    # mul and div: 2000 values make a wrong rule show as mismatches
    values = _values((2000,), 5, positive=True)
    got = SCALAR_OPS[name](gt, gt.tensor(values, dtype=gt.bfloat16))
    want = SCALAR_OPS[name](torch, torch.tensor(values, dtype=torch.bfloat16))
    assert got.tolist() == want.tolist()


def test_sum_accumulates_in_float32_as_torch():
    # 4096 ones: a bfloat16 accumulator would stop at 256
    ones = gt.ones(4096, dtype=gt.bfloat16)
    assert ones.sum().item() == torch.ones(4096, dtype=torch.bfloat16).sum().item() == 4096.0
    assert (ones @ ones).item() == 4096.0


def test_in_place_ops_keep_bfloat16():
    x, t = gt.ones(3, dtype=gt.bfloat16), torch.ones(3, dtype=torch.bfloat16)
    for lib, v in ((gt, x), (torch, t)):
        v.add_(0.001).mul_(lib.tensor([1.1, 2.2, 3.3])).sub_(v * 0.5)
    assert x.dtype is gt.bfloat16 and x.tolist() == t.tolist()


@pytest.mark.parametrize("make", [lambda m: m.special.erfcx(m.ones(2, dtype=m.bfloat16)),
                                  lambda m: m.complex(*[m.ones(2, dtype=m.bfloat16)] * 2),
                                  lambda m: m.nn.init.orthogonal_(
                                      m.empty(3, 3, dtype=m.bfloat16))])
def test_ops_without_a_bfloat16_kernel_raise_as_torch(make):
    with pytest.raises(Exception) as want:
        make(torch)
    with pytest.raises(type(want.value)) as got:
        make(gt)
    assert str(got.value) == str(want.value)


def test_unsupported_device_is_a_clear_error():
    from graphtorch.ops import bfloat16 as bf16_kernels
    from graphtorch.ops.elementwise import ADD

    with pytest.raises(NotImplementedError, match="add: bfloat16 tensors .* CPU only"):
        bf16_kernels.run_in_float32(ADD, object(), [], {})


# --- autograd, modules, optimizers ---------------------------------------------------------

def _mlp(lib, arrays):
    net = lib.nn.Sequential(lib.nn.Linear(4, 8), lib.nn.Tanh(), lib.nn.Linear(8, 3))
    with lib.no_grad():
        for p, a in zip(net.parameters(), arrays):
            p.copy_(lib.tensor(a))
    return net


@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
def test_mlp_training_in_bfloat16_matches_torch(optimizer):
    shapes = [(8, 4), (8,), (3, 8), (3,)]
    arrays = [_values(s, seed) * 0.5 for seed, s in enumerate(shapes)]
    x, y = _values((5, 4), 7), np.array([0, 1, 2, 1, 0])
    results = {}
    for lib in (gt, torch):
        net = _mlp(lib, arrays).bfloat16()
        assert all(p.dtype == lib.bfloat16 for p in net.parameters())
        kwargs = {"lr": 0.1, "momentum": 0.9} if optimizer == "SGD" else {"lr": 0.01}
        opt = getattr(lib.optim, optimizer)(net.parameters(), **kwargs)
        losses = []
        for _ in range(3):
            loss = lib.nn.functional.cross_entropy(net(lib.tensor(x, dtype=lib.bfloat16)),
                                                   lib.tensor(y))
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss)
        results[lib] = (losses, list(net.parameters()))
    for got, want in zip(*[results[lib][0] for lib in (gt, torch)]):
        _check(got, want, rtol=3e-2, what="loss")
    for got, want in zip(*[results[lib][1] for lib in (gt, torch)]):
        assert got.grad.dtype is gt.bfloat16
        _check(got, want, rtol=3e-2, atol=2e-2, what="parameter")


def test_gradients_of_bfloat16_leaves_are_bfloat16():
    a = _values((3, 4), 0)
    x = gt.tensor(a, dtype=gt.bfloat16, requires_grad=True)
    t = torch.tensor(a, dtype=torch.bfloat16, requires_grad=True)
    (x.float() * x.exp()).sum().backward()  # through a float32 part and back
    (t.float() * t.exp()).sum().backward()
    _check(x.grad, t.grad, what="grad")


# --- autocast ------------------------------------------------------------------------------

AUTOCAST = [
    ("linear", lambda m, x, w: m.nn.functional.linear(x, w)),
    ("matmul", lambda m, x, w: x @ w.t()),
    ("mm_relu", lambda m, x, w: m.relu(m.mm(x, w.t()))),
    ("softmax_of_lower", lambda m, x, w: m.softmax(x @ w.t(), 1)),
    ("conv1d", lambda m, x, w: m.nn.functional.conv1d(x.t()[None], w[:, :, None])),
    ("mse_loss_fp32", lambda m, x, w: m.nn.functional.mse_loss(x @ w.t(), (x @ w.t()) * 0.5)),
    ("elementwise_stays", lambda m, x, w: x.sin() + w.sum()),
]


@pytest.mark.parametrize("name, fn", AUTOCAST, ids=[a[0] for a in AUTOCAST])
@pytest.mark.parametrize("legacy", [False, True])
def test_cpu_autocast_bfloat16_matches_torch(name, fn, legacy):
    xa, wa = _values((4, 6), 0), _values((3, 6), 1)
    outs = []
    for lib in (gt, torch):
        x = lib.tensor(xa, requires_grad=True)
        w = lib.tensor(wa, requires_grad=True)
        if legacy:
            with pytest.warns(FutureWarning), lib.cpu.amp.autocast():
                out = fn(lib, x, w)
        else:
            with lib.autocast(device_type="cpu", dtype=lib.bfloat16):
                out = fn(lib, x, w)
        out.float().sum().backward()
        outs.append((out, x.grad, w.grad))
    for got, want in zip(*outs):
        _check(got, want, what=name)


# --- compiled code --------------------------------------------------------------------------

def test_compiled_function_on_bfloat16_returns_what_eager_returns(caplog):
    def f(x, y):
        return (x @ y).relu().sum(1) + x.mean()

    a, b = gt.randn(3, 300).bfloat16(), gt.randn(300, 5).bfloat16()
    compiled = gt.compile(f)
    with caplog.at_level(logging.INFO, logger="graphtorch"):
        for _ in range(2):
            out = compiled(a, b)
            assert out.dtype is gt.bfloat16 and out.tolist() == f(a, b).tolist()
    assert any("bfloat16" in r.getMessage() for r in caplog.records)
    assert compiled.stats.compiles == 0 and compiled.stats.eager_calls == 2


def test_compiled_function_making_bfloat16_inside_runs_eagerly():
    def f(x):
        return x.bfloat16().sum() * 2  # 4096 ones: float32 accumulation reaches 8192

    compiled = gt.compile(f)
    x = gt.ones(4096)
    assert compiled(x).tolist() == f(x).tolist() == 8192.0
    assert "bfloat16" in compiled.stats.graph_breaks[0]
    with pytest.raises(gt.TracingError, match="bfloat16"):
        gt.compile(f, fullgraph=True)(x)


def test_compiled_module_in_bfloat16_matches_eager_and_torch():
    arrays = [_values(s, seed) for seed, s in enumerate([(8, 4), (8,), (3, 8), (3,)])]
    net = _mlp(gt, arrays).bfloat16()
    compiled = gt.compile(net)
    x = gt.tensor(_values((5, 4), 9), dtype=gt.bfloat16)
    got = compiled(x)
    assert got.tolist() == net(x).tolist()
    want = _mlp(torch, arrays).bfloat16()(torch.tensor(_values((5, 4), 9), dtype=torch.bfloat16))
    _check(got, want)
    got.float().sum().backward()
    assert net[0].weight.grad.dtype is gt.bfloat16
