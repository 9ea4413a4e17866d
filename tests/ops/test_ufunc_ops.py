"""`OpDef.ufunc`: ops that name a ufunc compute exactly what their kernel computes.

In-place dispatch (`x.exp_()`), the generated NumPy code and the fused NumPy tier call the
ufunc (with ``out=``) instead of the kernel, so the two must agree on every dtype the op
accepts, and never disagree silently on edge values (NaN, inf, zero, negative numbers).
"""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch  # noqa: F401 - registers every op
from graphtorch import dtypes
from graphtorch.ops.elementwise import ufunc_kernel
from graphtorch.ops.registry import REGISTRY, Category, TensorMeta
from graphtorch.ops.shape_rules import compute_dtype

UFUNC_OPS = sorted((op for op in REGISTRY.values() if op.ufunc), key=lambda op: op.name)
DTYPES = ("bool", "uint8", "int8", "int32", "int64", "float32", "float64", "complex64")
EDGES = [0.0, -0.0, 1.0, -1.0, 2.5, -3.5, np.inf, -np.inf, np.nan, 1e30, -1e-30, 7.0]


def _values(rng, dtype: np.dtype, n: int = 48):
    if dtype.kind == "b":
        return rng.integers(0, 2, n).astype(bool)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        edges = [0, 1, -1, 2, 3, info.max, info.min, 5]
        pool = np.array([e for e in edges if info.min <= e <= info.max], dtype)
        return np.concatenate([pool, rng.integers(max(info.min, -20), min(info.max, 20), n)
                               .astype(dtype)])
    pool = np.array(EDGES, dtype=np.float64)
    values = np.concatenate([pool, rng.uniform(-4, 4, n)]).astype(dtype)
    if dtype.kind == "c":
        values = values + 1j * np.roll(values, 3).real.astype(dtype)
    return values


def test_the_ops_fused_numpy_calls_as_ufuncs_name_them():
    names = {op.name for op in UFUNC_OPS}
    assert {"add", "mul", "exp", "tanh", "relu", "maximum", "eq", "logical_not"} <= names
    assert all(op.category is Category.ELEMENTWISE for op in UFUNC_OPS)


def test_ufunc_kernel_refuses_a_function_that_is_not_a_ufunc():
    with pytest.raises(TypeError, match="not a ufunc"):
        ufunc_kernel("sinc")


@pytest.mark.parametrize("op", UFUNC_OPS, ids=lambda op: op.name)
def test_ufunc_equals_kernel(op):
    rng = np.random.default_rng(0)
    checked = 0
    for name in DTYPES:
        dtype = dtypes.from_numpy_dtype(np.dtype(name))
        metas = [TensorMeta((60,), dtype)] * _arity(op)
        try:
            op.infer(*metas)
        except (RuntimeError, TypeError, NotImplementedError, ValueError):
            continue  # the op refuses this dtype: nothing runs
        cd = compute_dtype(op.promotion, metas).np_dtype
        with np.errstate(all="ignore"):
            arrays = [np.resize(_values(rng, cd), 60).astype(cd) for _ in metas]
            try:
                want = np.asarray(op.kernel(np, *arrays))
            except RuntimeError:
                continue  # the kernel refuses these values (checked by the op table)
            got = getattr(np, op.ufunc)(*arrays, *op.ufunc_args)
        assert got.dtype == want.dtype, f"{op.name} on {name}: {got.dtype} != {want.dtype}"
        np.testing.assert_array_equal(got, want, err_msg=f"{op.name} on {name}")
        checked += 1
    assert checked, f"{op.name}: no dtype was accepted"


def _arity(op) -> int:
    return getattr(np, op.ufunc).nin - len(op.ufunc_args)
