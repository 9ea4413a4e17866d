"""`cat` and `view`/`reshape` take a fast path for their common case (one dtype, plain int
sizes); every case here, fast or not, gives PyTorch's result or its exception type."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt

torch = pytest.importorskip("torch")

_CAT_CASES = [
    ([(2, 3), (4, 3)], 0), ([(2, 3), (2, 5)], 1), ([(2, 3), (2, 5)], -1),
    ([(2, 3, 4), (2, 1, 4), (2, 0, 4)], -2), ([(0,), (3,)], 0), ([(3,), (0,)], 0),
    ([(0,), (2, 3)], 0), ([(2, 3), (0,), (1, 3)], 0), ([(2, 3), (3, 3)], 1),
    ([(2, 3), (2, 3)], 2), ([(2, 3), (2, 3)], -3), ([(2, 3), (2,)], 0), ([(), ()], 0),
    ([(5,)], 0), ([(1, 2, 3)], 2),
]


def _outcome(fn):
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - the type is what is compared
        return type(exc)


@pytest.mark.parametrize("shapes,dim", _CAT_CASES)
@pytest.mark.parametrize("dtypes", [("float32",), ("float32", "float64"), ("int64", "float32"),
                                    ("bool", "int32")])
def test_cat_matches_torch(shapes, dim, dtypes):
    rng = np.random.default_rng(0)
    arrays = [(rng.standard_normal(s) * 3).astype(dtypes[i % len(dtypes)])
              for i, s in enumerate(shapes)]
    want = _outcome(lambda: torch.cat([torch.from_numpy(a) for a in arrays], dim))
    got = _outcome(lambda: gt.cat([gt.from_numpy(a) for a in arrays], dim))
    if isinstance(want, type):
        assert got is want
    else:
        assert str(got.dtype) == str(want.dtype) and tuple(got.shape) == tuple(want.shape)
        np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_cat_gradient_flows_through_the_fast_path():
    a, b = gt.randn(2, 3, requires_grad=True), gt.randn(2, 4, requires_grad=True)
    (gt.cat([a, b], 1) * gt.arange(7.0)).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), np.tile(np.arange(3.0), (2, 1)))
    np.testing.assert_array_equal(b.grad.numpy(), np.tile(np.arange(3.0, 7.0), (2, 1)))


@pytest.mark.parametrize("start,shape", [
    ((2, 3, 4), (24,)), ((2, 3, 4), (-1,)), ((2, 3, 4), (4, -1)), ((2, 3, 4), (-1, -1)),
    ((2, 3, 4), (5, -1)), ((2, 3, 4), (25,)), ((2, 3, 4), (-2, 12)), ((0, 3), (-1, 0)),
    ((0, 3), (0, -1)), ((0, 3), (3, 0)), ((6,), (2, True, 3)), ((1,), ()), ((), (1, 1)),
    ((), (-1,)), ((4,), (2.0, 2)),
])
@pytest.mark.parametrize("method", ["view", "reshape"])
def test_view_sizes_match_torch(start, shape, method):
    data = np.arange(int(np.prod(start)), dtype=np.float32).reshape(start)
    want = _outcome(lambda: getattr(torch.from_numpy(data.copy()), method)(*shape))
    got = _outcome(lambda: getattr(gt.from_numpy(data.copy()), method)(*shape))
    if isinstance(want, type):
        assert got is want
    else:
        assert tuple(got.shape) == tuple(want.shape)
        np.testing.assert_array_equal(got.numpy(), want.numpy())
