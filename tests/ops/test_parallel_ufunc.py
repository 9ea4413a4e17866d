"""Large eager elementwise ops split over the thread pool: the same values, dtypes and
warnings behaviour as one NumPy call, in place too, and the cases that stay one call."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import graphtorch as gt
from graphtorch import threads
from graphtorch.ops import dispatch, parallel_ufunc


@pytest.fixture
def small_threshold(monkeypatch):
    """Every op (from 1 element) splits over three threads."""
    monkeypatch.setattr(parallel_ufunc, "MIN_ELEMENTS", 1)
    monkeypatch.setattr(dispatch, "_PARALLEL_MIN", 1)
    monkeypatch.setitem(threads._state, "threads", 3)


CASES = [
    (np.tanh, ("f32",)), (np.add, ("f32", "f32")), (np.multiply, ("f32", 0.5)),
    (np.true_divide, ("f64", "f64")), (np.greater, ("f32", 0.0)), (np.add, ("i64", 1.5)),
    (np.subtract, ("i32", "i32")), (np.maximum, ("f32", "f32")), (np.exp, ("f16",)),
    (np.logical_and, ("b", "b")), (np.power, ("f32", 2)),
]


def _arrays(spec, n, rng):
    kinds = {"f32": np.float32, "f64": np.float64, "f16": np.float16, "i64": np.int64,
             "i32": np.int32}
    out = []
    for s in spec:
        if s == "b":
            out.append(rng.random(n) > 0.5)
        elif isinstance(s, str):
            out.append((rng.standard_normal(n) * 3).astype(kinds[s]))
        else:
            out.append(s)
    return out


@pytest.mark.parametrize("ufunc, spec", CASES, ids=lambda c: getattr(c, "__name__", str(c)))
def test_apply_equals_one_numpy_call(small_threshold, ufunc, spec):
    rng = np.random.default_rng(0)
    for n in (1, 2, 7, 1000):
        arrays = _arrays(spec, n, rng)
        with np.errstate(all="ignore"):
            expected = ufunc(*arrays)
            got = parallel_ufunc.apply(ufunc, arrays)
        assert got.dtype == expected.dtype and got.shape == expected.shape
        np.testing.assert_array_equal(got, expected)


def test_apply_in_place_and_fallbacks(small_threshold):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((40, 30)).astype(np.float32)
    y = rng.standard_normal((40, 30)).astype(np.float32)
    expected = x + y
    assert parallel_ufunc.apply(np.add, [x, y], out=x) is x  # in place, as `x.add_(y)`
    np.testing.assert_array_equal(x, expected)
    row = rng.standard_normal(30).astype(np.float32)  # broadcast: one call
    np.testing.assert_array_equal(parallel_ufunc.apply(np.add, [x, row]), x + row)
    t = x.T  # not contiguous: one call
    np.testing.assert_array_equal(parallel_ufunc.apply(np.multiply, [t, 2.0]), t * 2.0)
    quotient, remainder = parallel_ufunc.apply(np.divmod, [x, 3.0])  # two outputs
    np.testing.assert_array_equal(remainder, np.divmod(x, 3.0)[1])


def test_helper_threads_never_wait_on_the_pool(small_threshold):
    x = np.arange(100, dtype=np.float32)
    got = threads.pool().submit(parallel_ufunc.apply, np.negative, [x]).result(timeout=30)
    np.testing.assert_array_equal(got, -x)


def test_eager_ops_split_with_torch_values_and_no_warnings(small_threshold, torch_oracle):
    torch = torch_oracle
    rng = np.random.default_rng(2)
    a = rng.standard_normal((64, 33)).astype(np.float32)
    b = rng.standard_normal((64, 33)).astype(np.float32)
    b[0, :5] = 0.0
    ga, gb = gt.from_numpy(a.copy()), gt.from_numpy(b.copy())
    ta, tb = torch.from_numpy(a.copy()), torch.from_numpy(b.copy())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 1/0 in a helper thread must not warn either
        pairs = [(ga / gb, ta / tb), (ga.tanh(), ta.tanh()), (0.5 * ga + 1.0, 0.5 * ta + 1.0),
                 (ga > gb, ta > tb), (ga.exp(), ta.exp())]
        ga.mul_(gb)
        ta.mul_(tb)
        pairs.append((ga, ta))
    for got, want in pairs:
        assert str(got.dtype) == str(want.dtype)
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6, atol=1e-6)


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

UFUNCS = [np.add, np.subtract, np.multiply, np.true_divide, np.maximum, np.greater,
          np.tanh, np.exp, np.negative, np.sqrt, np.logical_xor]


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # constant patches
@given(ufunc=st.sampled_from(UFUNCS), n=st.integers(1, 300), threads_=st.integers(2, 5),
       dtype=st.sampled_from(["float32", "float64", "int32", "bool"]),
       scalar=st.sampled_from([None, 0.5, 2, True]), in_place=st.booleans(),
       seed=st.integers(0, 2 ** 16))
def test_random_ufunc_splits_equal_one_call(monkeypatch, ufunc, n, threads_, dtype, scalar,
                                            in_place, seed):
    """Any ufunc, dtype, weak scalar, size and thread count: split == one NumPy call
    (values and dtype), or the same exception type."""
    monkeypatch.setattr(parallel_ufunc, "MIN_ELEMENTS", 1)
    monkeypatch.setitem(threads._state, "threads", threads_)
    rng = np.random.default_rng(seed)
    a = (rng.standard_normal(n) * 4).astype(dtype)
    args = [a] if ufunc.nin == 1 else [a, scalar if scalar is not None else
                                      (rng.standard_normal(n) * 4).astype(dtype)]
    with np.errstate(all="ignore"):
        try:
            expected = ufunc(*args)
        except TypeError as exc:
            with pytest.raises(type(exc)):
                parallel_ufunc.apply(ufunc, args)
            return
        if in_place and expected.dtype == a.dtype:
            dst = a.copy()
            got = parallel_ufunc.apply(ufunc, [dst] + args[1:], out=dst)
            assert got is dst
        else:
            got = parallel_ufunc.apply(ufunc, args)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)
