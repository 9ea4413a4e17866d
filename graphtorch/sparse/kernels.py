"""The sparse kernels, by op name: what `ops.dispatch.call` runs when an operand is sparse.

Each kernel takes ``(op, inputs, attrs)`` as `call` received them. Ops not listed here raise
PyTorch's NotImplementedError from dispatch ("Could not run 'aten::exp' with arguments from
the 'SparseCPU' backend"), as PyTorch does for the ops its sparse backend lacks; the
zero-preserving unary ops (f(0) == 0) run on the values alone.
"""

from __future__ import annotations

import numpy as np

from ..functions.movement import cat
from ..ops.dispatch import SPARSE_KERNELS, SparseOperand, call
from ..sparse_storage import SparseCSRArray
from ..tensor import Tensor
from . import products, reductions
from .conversion import (
    coalesce,
    csr_to_coo,
    linear_positions,
    sparse_to_dense,
    to_sparse_csr,
    transpose,
)
from .tensor import SparseTensor, array_module, index_tensor, make_coo, make_csr, with_values

# f(0) == 0: the unspecified entries stay zero, so the op maps the values only; a nonlinear
# f first sums duplicates (coalesce), since f(a) + f(b) != f(a + b)
ZERO_PRESERVING = ("abs", "sqrt", "relu", "tanh", "sin", "sinh", "tan", "asin", "asinh",
                   "atan", "atanh", "expm1", "log1p", "sign", "sgn", "trunc", "floor", "ceil",
                   "round", "frac", "erf", "erfinv")
# casts too keep duplicates, as PyTorch's do
ENTRYWISE_LINEAR = ("neg", "conj", "clone", "to_dtype")
_ADD_DENSE = "add(sparse, dense) is not supported. Use add(dense, sparse) instead."


def _is_scalar(x) -> bool:
    return isinstance(x, (bool, int, float, complex)) or \
        (isinstance(x, Tensor) and not isinstance(x, SparseTensor) and x.ndim == 0)


def values_only(op, inputs, attrs):
    x = inputs[0]
    if len(inputs) != 1:
        raise SparseOperand(op)
    if x.is_sparse and op.name not in ENTRYWISE_LINEAR:
        x = coalesce(x)
    return with_values(x, call(op, x._data.values, **attrs))


def power(op, inputs, attrs):
    x, exponent = inputs
    if not isinstance(x, SparseTensor) or not _is_scalar(exponent):
        raise SparseOperand(op)
    if exponent == 0:
        raise RuntimeError("pow: cannot raise to zeroth power on sparse tensor; it would make "
                           "the result tensor dense")
    x = coalesce(x) if x.is_sparse else x
    return with_values(x, call(op, x._data.values, exponent, **attrs))


def add_or_sub(op, inputs, attrs):
    a, b = inputs
    if not isinstance(a, SparseTensor):  # dense +- sparse: a dense result
        return call(op, a, sparse_to_dense(b), **attrs)
    if not isinstance(b, SparseTensor):  # PyTorch's error type and words
        message = _ADD_DENSE if op.name == "add" else _ADD_DENSE.replace("add", "sub")
        raise RuntimeError(message)  # noqa: TRY004
    if a.shape != b.shape:
        raise RuntimeError(f"{op.name}: expected sizes of the sparse operands to match, got "
                           f"{list(a.shape)} and {list(b.shape)}")
    both_csr = a.is_sparse_csr and b.is_sparse_csr
    a, b = csr_to_coo(a), csr_to_coo(b)
    alpha = attrs.get("alpha", 1)
    scale = alpha if op.name == "add" else -alpha
    vb = b._data.values if scale == 1 else b._data.values * scale
    va = a._data.values
    if a.sparse_dim() != b.sparse_dim():
        raise RuntimeError(f"{op.name}: the sparse operands differ in sparse_dim")
    index = array_module(va).concatenate([a._data.indices._data, b._data.indices._data], 1)
    dtype = (va[:0] + vb[:0]).dtype  # PyTorch's promotion of the two values dtypes
    values = cat([va.to(dtype), vb.to(dtype)])
    out = make_coo(index_tensor(index), values, a.shape, False,
                   like=a if a._data.grad_on_values and b._data.grad_on_values else None)
    if both_csr:
        return to_sparse_csr(out)
    # as PyTorch: the sum of coalesced operands is coalesced, else the entries are concatenated
    return coalesce(out) if a.is_coalesced() and b.is_coalesced() else out


def multiply(op, inputs, attrs):
    a, b = inputs
    if not isinstance(a, SparseTensor):
        a, b = b, a
    if _is_scalar(b):
        return with_values(a, call(op, a._data.values, b, **attrs))
    if a.shape != b.shape:
        raise RuntimeError(f"mul: a sparse tensor multiplies a scalar or a tensor of its own "
                           f"size, got {list(a.shape)} and {list(b.shape)}")
    a = coalesce(csr_to_coo(a))
    d = a._data
    if not isinstance(b, SparseTensor):  # sparse * dense: the dense entries at a's pattern
        picked = b[tuple(index_tensor(row) for row in d.indices._data)]
        return make_coo(d.indices, d.values * picked, d.shape, True, like=a)
    b = coalesce(csr_to_coo(b))
    xp = array_module(d.values)
    sparse_shape = d.shape[:d.indices.shape[0]]
    pos_a = linear_positions(d.indices._data, sparse_shape, xp)
    pos_b = linear_positions(b._data.indices._data, sparse_shape, xp)
    _, in_a, in_b = np.intersect1d(xp.asnumpy(pos_a) if xp is not np else pos_a,
                                   xp.asnumpy(pos_b) if xp is not np else pos_b,
                                   assume_unique=True, return_indices=True)
    in_a, in_b = index_tensor(xp.asarray(in_a)), index_tensor(xp.asarray(in_b))
    values = d.values.index_select(0, in_a) * b._data.values.index_select(0, in_b)
    both = a if a._data.grad_on_values and b._data.grad_on_values else None
    return make_coo(index_tensor(d.indices._data[:, in_a._data]), values, d.shape, True,
                    like=both)


def divide(op, inputs, attrs):
    a, b = inputs
    if not isinstance(a, SparseTensor):
        raise SparseOperand(op)  # x / 0 is not 0: only a sparse numerator by a scalar
    if not _is_scalar(b):
        raise RuntimeError(f"Sparse division requires a scalar or zero-dim dense tensor "
                           f"divisor (got shape {list(b.shape)} for divisor)")
    return with_values(a, call(op, a._data.values, b, **attrs))


def summation(op, inputs, attrs):
    if attrs.get("keepdim"):
        raise RuntimeError("sum of a sparse tensor with keepdim=True is not supported")
    return reductions.sum(inputs[0], attrs.get("dims"), attrs.get("dtype"))


def matrix_product(op, inputs, attrs):
    return products.product(*inputs)


def add_matrix_product(op, inputs, attrs):
    return products.add_product(*inputs, beta=attrs.get("beta", 1), alpha=attrs.get("alpha", 1))


def swap_dims(op, inputs, attrs):
    return transpose(inputs[0], attrs["dim0"], attrs["dim1"])


def move(op, inputs, attrs):
    x = inputs[0]
    d = x._data

    def moved(t):
        return call(op, t, **attrs)

    if type(d) is SparseCSRArray:
        return make_csr(moved(d.crow), moved(d.col), moved(d.values), d.shape, like=x)
    return make_coo(moved(d.indices), moved(d.values), d.shape, d.coalesced, like=x)


def register() -> None:
    for name in ZERO_PRESERVING + ENTRYWISE_LINEAR:
        SPARSE_KERNELS[name] = values_only
    SPARSE_KERNELS.update({
        "pow": power, "add": add_or_sub, "sub": add_or_sub, "mul": multiply, "div": divide,
        "sum": summation, "matmul": matrix_product, "addmm": add_matrix_product,
        "transpose": swap_dims, "to_device": move,
    })
