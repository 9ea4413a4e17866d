"""gt.special against PyTorch: values, dtypes and gradients of every function, edge values
(0, inf, NaN, the tails), scalar arguments, and compiled graphs equal to eager."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt

torch = pytest.importorskip("torch")


def _uniform(lo, hi):
    return lambda rng, shape: rng.uniform(lo, hi, shape)


WIDE = _uniform(-4, 4)
POSITIVE = _uniform(0.1, 5)
UNIT = _uniform(0.02, 0.98)

# name, call(lib_special, x), input maker, differentiable
UNARY = [
    ("expit", lambda s, x: s.expit(x), WIDE, True),
    ("logit", lambda s, x: s.logit(x), UNIT, True),
    ("logit_eps", lambda s, x: s.logit(x * 1.2 - 0.1, eps=0.05), UNIT, True),
    ("erf", lambda s, x: s.erf(x), WIDE, True),
    ("erfc", lambda s, x: s.erfc(x), WIDE, True),
    ("erfinv", lambda s, x: s.erfinv(x * 2 - 1), UNIT, True),
    ("exp2", lambda s, x: s.exp2(x), WIDE, True),
    ("expm1", lambda s, x: s.expm1(x), WIDE, True),
    ("log1p", lambda s, x: s.log1p(x), POSITIVE, True),
    ("gammaln", lambda s, x: s.gammaln(x), POSITIVE, True),
    ("digamma", lambda s, x: s.digamma(x), POSITIVE, True),
    ("psi", lambda s, x: s.psi(x), POSITIVE, True),
    ("polygamma", lambda s, x: s.polygamma(2, x), POSITIVE, True),
    ("multigammaln", lambda s, x: s.multigammaln(x + 2, 3), POSITIVE, True),
    ("ndtr", lambda s, x: s.ndtr(x), WIDE, True),
    ("sinc", lambda s, x: s.sinc(x), WIDE, True),
    ("round", lambda s, x: s.round(x * 3), WIDE, True),
    ("round_decimals", lambda s, x: s.round(x, decimals=2), WIDE, False),
    ("entr", lambda s, x: s.entr(x), WIDE, True),
    ("log_softmax", lambda s, x: s.log_softmax(x, 1), WIDE, True),
    ("softmax", lambda s, x: s.softmax(x, 0, dtype=torch.float64 if s is torch.special
                                        else gt.float64), WIDE, True),
    ("logsumexp", lambda s, x: s.logsumexp(x, 1, keepdim=True), WIDE, True),
    ("xlogy", lambda s, x: s.xlogy(x, x + 0.5), POSITIVE, True),
    ("xlog1py", lambda s, x: s.xlog1py(x - 1, x), POSITIVE, True),
    ("erfcx", lambda s, x: s.erfcx(x * 3), WIDE, True),
    ("i0", lambda s, x: s.i0(x * 3), WIDE, True),
    ("i0e", lambda s, x: s.i0e(x * 3), WIDE, True),
    ("i1", lambda s, x: s.i1(x * 3), WIDE, True),
    ("i1e", lambda s, x: s.i1e(x * 3), WIDE, True),
    ("ndtri", lambda s, x: s.ndtri(x), UNIT, True),
    ("log_ndtr", lambda s, x: s.log_ndtr(x * 10), WIDE, True),
    ("zeta", lambda s, x: s.zeta(3.5, x), POSITIVE, True),
    ("zeta_x", lambda s, x: s.zeta(x + 1.5, 2.0), POSITIVE, False),
]


def _lib(lib):
    return lib.special


def _check(fn, data, grad, rtol):
    t_x = torch.tensor(data, requires_grad=grad)
    g_x = gt.tensor(data, requires_grad=grad)
    t_out, g_out = fn(torch.special, t_x), fn(gt.special, g_x)
    assert str(g_out.dtype) == str(t_out.dtype)
    np.testing.assert_allclose(g_out.detach().numpy(), t_out.detach().numpy(), rtol=rtol,
                               atol=rtol)
    if not grad:
        return
    cot = np.random.default_rng(1).uniform(-1, 1, tuple(t_out.shape))
    (t_out * torch.tensor(cot, dtype=t_out.dtype)).sum().backward()
    (g_out * gt.tensor(cot, dtype=g_out.dtype)).sum().backward()
    np.testing.assert_allclose(g_x.grad.numpy(), t_x.grad.numpy(), rtol=rtol * 10,
                               atol=rtol * 10)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 5)])
@pytest.mark.parametrize("name,fn,make,grad", UNARY, ids=[u[0] for u in UNARY])
def test_values_and_gradients_match_torch(name, fn, make, grad, shape, dtype):
    data = make(np.random.default_rng(0), shape).astype(dtype)
    _check(fn, data, grad and dtype == "float64", 1e-9 if dtype == "float64" else 2e-5)


EDGES = np.array([0.0, -0.0, 1.0, -1.0, 0.5, 1e-30, -1e-30, 40.0, -40.0, 1e300, -1e300,
                  np.inf, -np.inf, np.nan])


@pytest.mark.parametrize("name", ["expit", "ndtr", "entr", "erf", "erfc", "sinc", "exp2",
                                  "expm1", "erfcx", "i0", "i0e", "i1", "i1e", "log_ndtr",
                                  "ndtri"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_edge_values_match_torch(name, dtype):
    data = EDGES.astype(dtype) if dtype == "float64" else \
        EDGES[np.abs(np.nan_to_num(EDGES)) < 1e30].astype(dtype)
    with np.errstate(all="ignore"):
        got = getattr(gt.special, name)(gt.tensor(data)).numpy()
    want = getattr(torch.special, name)(torch.tensor(data)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=0, equal_nan=True)


def test_integer_inputs_promote_to_float():
    for name in ("expit", "ndtr", "entr", "gammaln", "erfc", "erfcx", "i0", "i1e", "ndtri",
                 "log_ndtr"):
        x = [0, 1, 3]
        got = getattr(gt.special, name)(gt.tensor(x))
        want = getattr(torch.special, name)(torch.tensor(x))
        assert str(got.dtype) == str(want.dtype), name
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)


@pytest.mark.parametrize("x,y", [
    ([0.0, 0.0, 2.0, 0.0, 3.0], [np.nan, -1.0, -1.0, 2.0, np.nan]),
    (0.0, [np.nan, -1.0, 0.5]),
    (2.0, [np.nan, -1.0, 0.5]),
    ([0.0, 1.5, 0.0], np.nan),
    ([0.0, 1.5, 0.0], -1.0),
    ([0.0, 1.5, 0.0], 0.25),
])
@pytest.mark.parametrize("name", ["xlog1py", "xlogy"])
def test_zero_times_log_and_scalars(name, x, y):
    def args(lib):
        return [lib.tensor(v) if isinstance(v, list) else v for v in (x, y)]

    got = getattr(gt.special, name)(*args(gt)).numpy()
    want = getattr(torch.special, name)(*args(torch)).numpy()
    np.testing.assert_allclose(got, want, equal_nan=True)


def test_xlog1py_gradients_at_zero():
    data_x, data_y = [0.0, 0.0, 2.0], [0.5, 3.0, 0.5]
    grads = []
    for lib in (gt, torch):
        x = lib.tensor(data_x, dtype=lib.float64, requires_grad=True)
        y = lib.tensor(data_y, dtype=lib.float64, requires_grad=True)
        lib.special.xlog1py(x, y).sum().backward()
        grads.append((x.grad.numpy(), y.grad.numpy()))
    for ours, theirs in zip(*grads):
        np.testing.assert_allclose(ours, theirs)


def test_zeta_values_domain_and_gradients():
    x = [2.0, 3.0, 1.0, 0.5, 2.0, 2.5, 4.0, 2.0]
    q = [1.0, 0.5, 2.0, 1.0, -2.0, -1.5, -1.5, 1e-3]
    got = gt.special.zeta(gt.tensor(x, dtype=gt.float64), gt.tensor(q, dtype=gt.float64))
    want = torch.special.zeta(torch.tensor(x, dtype=torch.float64),
                              torch.tensor(q, dtype=torch.float64))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12, equal_nan=True)
    for lib in (gt, torch):
        with pytest.raises(NotImplementedError, match="derivative for 'zeta' is not"):
            lib.special.zeta(lib.tensor([2.0], requires_grad=True), 1.0).sum().backward()


def test_grad_fn_names_match_torch():
    x = [0.3, 0.6]
    for name in ("entr", "erfcx", "i0", "i0e", "i1", "i1e", "ndtri"):
        ours = getattr(gt.special, name)(gt.tensor(x, requires_grad=True))
        theirs = getattr(torch.special, name)(torch.tensor(x, requires_grad=True))
        assert ours.grad_fn.name() == theirs.grad_fn.name(), name
    for args in [(True, True), (False, True), (True, False)]:
        def call(lib, args=args):
            a = lib.tensor(x, requires_grad=True) if args[0] else 2.0
            b = lib.tensor(x, requires_grad=True) if args[1] else 2.0
            return lib.special.zeta(a, b).grad_fn.name()
        assert call(gt) == call(torch)


@pytest.mark.parametrize("fn", [
    lambda s, x: s.ndtr(x) * s.expit(x),
    lambda s, x: s.i0e(x) + s.i1(x) * s.erfcx(x) - s.log_ndtr(x * 9),
    lambda s, x: s.ndtri(s.expit(x)) + s.zeta(x * x + 2, 1.5) + s.entr(x),
    lambda s, x: s.entr(s.softmax(x, 1)).sum(1),
    lambda s, x: s.xlog1py(x, x.abs()) + s.gammaln(x.abs() + 1),
])
def test_compiled_equals_eager(fn):
    x = gt.tensor(np.random.default_rng(2).uniform(-3, 3, (4, 5)).astype("float32"))
    compiled = gt.compile(lambda t: fn(gt.special, t))
    for _ in range(2):
        np.testing.assert_allclose(compiled(x).numpy(), fn(gt.special, x).numpy(),
                                   rtol=1e-5, atol=1e-6)


def test_every_name_is_torch_special():
    for name in gt.special.__all__:
        assert hasattr(torch.special, name), name


def test_zeta_far_below_zero_matches_torch_quickly():
    """q far below zero: Cephes' direct sum runs thousands of steps; graphtorch runs them
    along k (the same sequential additions) and gives PyTorch's values."""
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.integers(2, 7, 40).astype(float), [3.0, 2.0]])
    q = np.concatenate([rng.uniform(-5000.0, -16.0, 40), [-20.5, -1000.25]])
    ours = gt.special.zeta(gt.tensor(x), gt.tensor(q)).numpy()
    theirs = torch.special.zeta(torch.tensor(x), torch.tensor(q)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, equal_nan=True)
