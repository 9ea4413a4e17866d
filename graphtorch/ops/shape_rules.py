"""Shared shape and dtype rules used by ops' `infer` functions.

Each helper raises the exception PyTorch raises for the same mistake, so eager errors and
(later) tracing errors read the same.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..symbolic import SymInt
from .registry import Promotion, TensorMeta


def broadcast_shapes(*shapes) -> tuple:
    """NumPy/PyTorch broadcasting of shapes, with PyTorch's error message."""
    ndim = max((len(s) for s in shapes), default=0)
    out = [1] * ndim
    for which, shape in enumerate(shapes):
        offset = ndim - len(shape)
        for i, size in enumerate(shape):
            j = offset + i
            if out[j] == size or size == 1:
                continue
            if out[j] == 1:
                out[j] = size
                continue
            names = "ab"
            other = next(k for k in range(which) if _size_at(shapes[k], j, ndim) == out[j])
            raise RuntimeError(
                f"The size of tensor {names[min(other, 1)]} ({out[j]}) must match the size of "
                f"tensor {names[min(which, 1)]} ({size}) at non-singleton dimension {j}")
    return tuple(out)


def _size_at(shape, j, ndim):
    i = j - (ndim - len(shape))
    return shape[i] if i >= 0 else 1


def normalize_dim(dim: int, ndim: int) -> int:
    """Wrap a negative dim; PyTorch's IndexError when out of range (0-d accepts -1 and 0)."""
    if not isinstance(dim, int):
        if not isinstance(dim, np.integer):  # NumPy ints index as in PyTorch
            raise TypeError(f"dim must be an int, got {type(dim).__name__}")
        dim = int(dim)
    rank = max(ndim, 1)
    if not -rank <= dim < rank:
        raise IndexError(f"Dimension out of range (expected to be in range of "
                         f"[{-rank}, {rank - 1}], but got {dim})")
    return dim % rank


def normalize_dims(dims, ndim: int) -> tuple:
    if dims is None:
        return tuple(range(ndim))
    if isinstance(dims, int):
        dims = (dims,)
    out = tuple(normalize_dim(d, ndim) for d in dims)
    seen = set()
    for d in out:
        if d in seen:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
        seen.add(d)
    return out


def reduced_shape(shape, dims, keepdim: bool) -> tuple:
    if keepdim:
        return tuple(1 if i in dims else s for i, s in enumerate(shape))
    return tuple(s for i, s in enumerate(shape) if i not in dims)


def split_operands(inputs):
    """Group elementwise operands into PyTorch's promotion tiers."""
    dim_dtypes, zero_dim, scalars = [], [], []
    for x in inputs:
        if isinstance(x, TensorMeta):
            (dim_dtypes if x.shape else zero_dim).append(x.dtype)
        else:  # a symbolic size promotes like the int it stands for
            scalars.append(x.hint if type(x).__name__ == "SymInt" else x)
    return dim_dtypes, zero_dim, scalars


def compute_dtype(promotion: Promotion, inputs) -> dtypes.DType:
    """The dtype an elementwise op computes in (inputs: TensorMetas and Python scalars)."""
    result = dtypes.result_type(*split_operands(inputs))
    if promotion is Promotion.INT_TO_FLOAT and result.category <= dtypes.Category.INT:
        return dtypes.get_default_dtype()
    return result


def output_dtype(promotion: Promotion, computed: dtypes.DType) -> dtypes.DType:
    if promotion is Promotion.ALWAYS_BOOL:
        return dtypes.bool_
    if promotion is Promotion.COMPLEX_TO_FLOAT:
        return computed.to_real()
    return computed


def elementwise_infer(promotion: Promotion, dtype_check=None):
    """Build the `infer` rule of an elementwise op: broadcast shapes, promote dtypes."""

    def infer(*inputs, **attrs):
        shapes = [x.shape for x in inputs if isinstance(x, TensorMeta)]
        shape = broadcast_shapes(*shapes)
        computed = compute_dtype(promotion, inputs)
        if dtype_check is not None:
            message = dtype_check(computed)  # returns PyTorch's text, or raises itself
            if message:
                raise dtype_error(message)
        return TensorMeta(shape, output_dtype(promotion, computed))

    return infer


def dtype_error(message: str) -> Exception:
    """The exception for a dtype_check message: PyTorch raises NotImplementedError when a
    kernel lacks a dtype ('"abs_cpu" not implemented for 'Bool''), else RuntimeError."""
    if message.startswith('"') and '" not implemented for ' in message:
        return NotImplementedError(message)
    return RuntimeError(message)


def as_size(s):
    """A size argument as an int, or unchanged when it is a symbolic size (`SymInt`)."""
    return s if type(s) is SymInt else int(s)
