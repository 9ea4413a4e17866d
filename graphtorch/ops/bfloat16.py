"""bfloat16 kernels: an op with a bfloat16 operand computes in float32 and rounds each
bfloat16 result once, as PyTorch's CPU kernels do (reductions accumulate in float32).

NumPy stores bfloat16 through ml_dtypes, but most NumPy kernels have no bfloat16 loop
(BLAS, linalg, special functions) or accumulate in it (``sum``). So instead of a case per
kernel, dispatch sends every op that sees a bfloat16 array or a bfloat16 ``dtype=``
attribute here: operands are widened to float32 (exactly), the op's own kernel runs, and
each result is cast to the dtype the op's shape rule gives it (bfloat16 results rounded
once). Views run on the bfloat16 arrays themselves, so that they keep sharing memory.
Python numbers added to bfloat16 tensors are rounded to bfloat16 first, as PyTorch's
TensorIterator does (`_FLOAT_SCALAR_OPS` keep theirs in float32, as PyTorch's kernels).
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from .registry import Category, OpDef, TensorMeta

BFLOAT16 = dtypes.BFLOAT16_NP  # None without ml_dtypes: no array is ever bfloat16
_FLOAT32 = np.dtype(np.float32)
_BF16_DTYPE = dtypes.bfloat16
_ndarray = np.ndarray
# PyTorch's TensorIterator casts a Python-number operand to the common dtype (so `x + 0.1`
# adds bfloat16(0.1)); its mul, div and xlogy kernels read the number in float32 instead.
_FLOAT_SCALAR_OPS = frozenset({"mul", "div", "xlogy"})
# Ops PyTorch's CPU build has no bfloat16 kernel for: they raise its error, not compute.
_NO_BFLOAT16_KERNEL = {"erfcx": "erfcx_cpu", "ndtri": "ndtri_cpu", "zeta": "zeta_cpu",
                       "histogram": "histogramdd"}
# Attributes PyTorch's kernels also cast to bfloat16 (``add(x, y, alpha=0.1)``).
_ROUNDED_ATTRS = {"add": "alpha", "sub": "alpha"}


def involves_bfloat16(arrays, attrs) -> bool:
    """Whether a kernel call sees bfloat16: an operand array (a sequence of them for
    variadic ops) or an attribute naming the dtype (``to(torch.bfloat16)``, ``randn``)."""
    for a in arrays:  # this runs for every op off the fast paths: kept cheap
        kind = type(a)
        if kind is _ndarray:
            if a.dtype is BFLOAT16:
                return True
        elif (kind is list or kind is tuple) and any(getattr(x, "dtype", None) is BFLOAT16
                                                     for x in a):
            return True
    if attrs:
        for value in attrs.values():
            if value is _BF16_DTYPE or value is BFLOAT16:
                return True
    return False


def run_in_float32(op: OpDef, xp, arrays, attrs, out_dtype=None):
    """`op.kernel(xp, *arrays, **attrs)` computed in float32, its bfloat16 results rounded
    once (the op's shape rule says which results are bfloat16). `out_dtype`: the result's
    NumPy dtype where promotion already knows it (the caller casts to it)."""
    if xp is not np:
        raise NotImplementedError(f"{op.name}: bfloat16 tensors are supported on the CPU "
                                  f"only (graphtorch's CuPy kernels have no bfloat16)")
    if op.name in _NO_BFLOAT16_KERNEL and any(getattr(a, "dtype", None) is BFLOAT16
                                              for a in arrays):
        raise NotImplementedError(f'"{_NO_BFLOAT16_KERNEL[op.name]}" not implemented for '
                                  f"'BFloat16'")
    if op.category is Category.VIEW or op.may_alias_input:
        return op.kernel(xp, *arrays, **attrs)
    wide = [_widen(a) for a in arrays]
    if op.name not in _FLOAT_SCALAR_OPS:
        wide = [_round_scalar(a) if type(a) is float else a for a in wide]
    wide_attrs = {k: _widen_dtype(v) for k, v in attrs.items()}
    rounded = _ROUNDED_ATTRS.get(op.name)
    if rounded is not None and type(wide_attrs.get(rounded)) is float:
        wide_attrs[rounded] = _round_scalar(wide_attrs[rounded])
    out = op.kernel(xp, *wide, **wide_attrs)
    if out_dtype is not None and op.num_outputs == 1:
        return out
    metas = op.infer(*[_meta(a) for a in arrays], **attrs)
    if isinstance(metas, TensorMeta):
        return _round(out, metas)
    return type(out)(_round(o, m) for o, m in zip(out, metas))


def _widen(a):
    if type(a) in (list, tuple):
        return type(a)(_widen(x) for x in a)
    if getattr(a, "dtype", None) is BFLOAT16:
        return a.astype(_FLOAT32)
    return a


def _round_scalar(value: float) -> float:
    return float(np.asarray(value, dtype=_FLOAT32).astype(BFLOAT16))


def _widen_dtype(value):
    if value is dtypes.bfloat16:
        return dtypes.float32
    if value is BFLOAT16:
        return _FLOAT32
    return value


def _meta(a):
    if type(a) in (list, tuple):
        return type(a)(_meta(x) for x in a)
    if isinstance(a, (np.ndarray, np.generic)):
        return TensorMeta(tuple(a.shape), dtypes.from_numpy_dtype(a.dtype))
    return a


def _round(out, meta):
    """`out` in the dtype its meta gives: bfloat16 results rounded once, and any other
    result a kernel widened with its float32 input cast back (``bincount``'s float64)."""
    if not isinstance(meta, TensorMeta) or meta.dtype.np_dtype is None:
        return out
    if isinstance(out, (np.ndarray, np.generic)) and out.dtype != meta.dtype.np_dtype:
        return np.asarray(out).astype(meta.dtype.np_dtype)
    if isinstance(out, (float, int, bool)):
        return np.asarray(out, dtype=meta.dtype.np_dtype)
    return out
