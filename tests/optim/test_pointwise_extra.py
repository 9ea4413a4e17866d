"""addcmul/addcdiv (and in-place twins) and lerp_ against PyTorch: values, dtypes,
broadcasting, 0-d and empty shapes, errors, gradients."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt

from .common import to_numpy

torch = pytest.importorskip("torch")

SHAPES = [((3, 4), (3, 4), (3, 4)), ((3, 4), (4,), (3, 1)), ((), (), ()), ((2, 3), (), (3,)),
          ((0, 3), (0, 3), (3,))]


def _arrays(shapes, dtype, seed=0):
    rng = np.random.default_rng(seed)
    out = [rng.uniform(0.5, 2.0, size=s).astype(dtype) for s in shapes]
    return out


def _both(fn, arrays):
    res = []
    for lib in (torch, gt):
        res.append(fn(lib, *[lib.tensor(a.copy()) for a in arrays]))
    return res


def _check(a, b, atol=1e-6):
    assert str(a.dtype) == str(b.dtype)
    assert tuple(a.shape) == tuple(b.shape)
    np.testing.assert_allclose(to_numpy(b), to_numpy(a), rtol=atol, atol=atol)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shapes", SHAPES)
@pytest.mark.parametrize("value", [1, 0.5, -2.25])
def test_addcmul_addcdiv(shapes, dtype, value):
    arrays = _arrays(shapes, dtype)
    for fn in (lambda lib, a, b, c: lib.addcmul(a, b, c, value=value),
               lambda lib, a, b, c: lib.addcdiv(a, b, c, value=value),
               lambda lib, a, b, c: a.addcmul(b, c, value=value),
               lambda lib, a, b, c: a.addcdiv(b, c, value=value)):
        _check(*_both(fn, arrays))
    if shapes[0] == np.broadcast_shapes(*shapes):
        for fn in (lambda lib, a, b, c: a.addcmul_(b, c, value=value),
                   lambda lib, a, b, c: a.addcdiv_(b, c, value=value)):
            _check(*_both(fn, arrays))


def test_mixed_dtypes_and_integers():
    i = np.arange(4, dtype=np.int64)
    f = np.linspace(0.5, 2, 4).astype(np.float32)
    cases = [
        (lambda lib, a, b, c: lib.addcmul(a, b, c, value=3), [i, i, i]),
        (lambda lib, a, b, c: lib.addcmul(a, b, c, value=0.5), [i, i, i]),
        (lambda lib, a, b, c: lib.addcmul(a, b, c, value=0.5), [f, i, i]),
        (lambda lib, a, b, c: lib.addcdiv(a, b, c, value=0.5), [f, f, i + 1]),
        (lambda lib, a, b, c: lib.addcmul(a, b, c), [f, f.astype(np.float64), f]),
    ]
    for fn, arrays in cases:
        _check(*_both(fn, arrays))


def test_out_argument():
    arrays = _arrays(SHAPES[0], "float32")
    res = []
    for lib in (torch, gt):
        out = lib.empty(3, 4)
        r = lib.addcdiv(*[lib.tensor(a) for a in arrays], value=0.3, out=out)
        assert r is out
        res.append(out)
    _check(*res)


ERRORS = [
    lambda lib: lib.addcdiv(lib.arange(3), lib.arange(3), lib.arange(3)),
    lambda lib: lib.ones(3).addcdiv_(lib.arange(3), lib.arange(1, 4)),
    lambda lib: lib.addcmul(lib.ones(3).bool(), lib.ones(3).bool(), lib.ones(3).bool()),
    lambda lib: lib.ones(3).addcmul_(lib.ones(2, 3), lib.ones(3)),
    lambda lib: lib.ones(3).lerp_(lib.arange(3), 0.5),
    lambda lib: lib.ones(3).lerp_(lib.ones(3, dtype=lib.float64), 0.5),
    lambda lib: lib.arange(3).addcmul_(lib.ones(3), lib.ones(3)),
]


@pytest.mark.parametrize("case", range(len(ERRORS)))
def test_errors(case):
    outcomes = []
    for lib in (torch, gt):
        try:
            ERRORS[case](lib)
            outcomes.append(None)
        except Exception as exc:  # noqa: BLE001
            outcomes.append((type(exc).__name__, str(exc)))
    assert outcomes[0] is not None and outcomes[1] == outcomes[0]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("weight", [0.0, 0.1, 0.4999, 0.5, 0.9, 1.0, -0.3, 1.7])
def test_lerp_inplace(dtype, weight):
    arrays = _arrays([(3, 4), (3, 4)], dtype)
    a, b = _both(lambda lib, x, y: x.lerp_(y, weight), arrays)
    _check(a, b)
    if weight == 1.0:  # the large-weight formula is exact at 1
        np.testing.assert_array_equal(to_numpy(b), arrays[1])


def test_lerp_inplace_tensor_weight_and_broadcast():
    arrays = _arrays([(3, 4), (4,), (3, 4)], "float32")
    arrays[2] = np.linspace(-0.5, 1.5, 12).reshape(3, 4).astype("float32")
    _check(*_both(lambda lib, x, y, w: x.lerp_(y, w), arrays))
    _check(*_both(lambda lib, x, y, w: x.lerp_(y, 0.75), arrays[:2] + [arrays[2]]))


def test_inplace_returns_self_and_bumps_version():
    t = gt.ones(3)
    v = t._version
    assert t.addcmul_(gt.ones(3), gt.ones(3), value=2) is t
    assert t.lerp_(gt.zeros(3), 0.25) is t and t.addcdiv_(t, gt.ones(3)) is t
    assert t._version > v


def test_gradients_match_pytorch():
    arrays = _arrays(SHAPES[1], "float64")
    grads = []
    for lib in (torch, gt):
        ts = [lib.tensor(a, requires_grad=True) for a in arrays]
        y = lib.addcmul(*ts, value=0.7) * 2 + lib.addcdiv(*ts, value=-1.5) ** 2
        y.sum().backward()
        grads.append([to_numpy(t.grad) for t in ts])
        x = ts[0] * 1.0  # a non-leaf, so in-place is allowed under autograd
        x.lerp_(ts[1].expand(3, 4), 0.3).addcmul_(ts[2], ts[1]).sum().backward()
        grads.append([to_numpy(t.grad) for t in ts])
    for a, b in zip(grads[:2], grads[2:]):
        for x, y in zip(a, b):
            np.testing.assert_allclose(y, x, rtol=1e-10, atol=1e-12)


def test_inplace_on_leaf_requiring_grad_raises():
    for lib in (torch, gt):
        p = lib.ones(3, requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            p.addcmul_(lib.ones(3), lib.ones(3))
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            p.lerp_(lib.ones(3), 0.2)
