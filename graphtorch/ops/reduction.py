"""Reductions over dimensions: sum, mean, var, amax/amin, max/min with indices, arg*, all/any.

Attributes are `dims` (a tuple, or None for all dimensions) and `keepdim`; the public
functions normalise PyTorch's `dim=` forms into them. Output dtypes follow PyTorch (sum of
integers is int64, mean of integers is an error).
"""

from __future__ import annotations

import math

import numpy as np

from .. import blas, dtypes
from ..dtypes import scalar_type_name
from .factories import zeros
from .registry import Category, OpDef, ResultLayout, TensorMeta, register, row_major_results
from .shape_rules import normalize_dim, normalize_dims, reduced_shape

REDUCTION = Category.REDUCTION


def _axes(a_ndim, dims):
    if dims is None:
        return None
    return normalize_dims(dims, a_ndim) if a_ndim else None


def _out_shape(shape, dims, keepdim):
    nd = len(shape)
    axes = tuple(range(nd)) if dims is None else normalize_dims(dims, nd) if nd else ()
    return reduced_shape(shape, axes, keepdim)


def _expand_grad(grad, meta, dims, keepdim):
    """Broadcast a reduced gradient back to the input's shape."""
    shape = tuple(meta.shape)
    if not keepdim and not (type(grad._data) is np.ndarray and grad._data.ndim == 0):
        # (eager: a 0-d gradient, of a full reduction, expands as it is, as in PyTorch)
        grad = grad.reshape(_out_shape(shape, dims, True))
    return grad.expand(*shape)


def _sum_dtype(dtype, out_dtype):
    if out_dtype is not None:
        return out_dtype
    return dtypes.int64 if dtype.category <= dtypes.Category.INT else dtype


def _sum_kernel(xp, a, dims=None, keepdim=False, dtype=None):
    if dtype is None and a.dtype.kind == "f":
        out_dtype = a.dtype  # floats sum in their own dtype (no conversion to look up)
    else:
        out_dtype = _sum_dtype(dtypes.from_numpy_dtype(a.dtype), dtype).np_dtype
    axes = _axes(a.ndim, dims)
    if xp is np:
        if out_dtype == a.dtype:
            out = blas.sum_by_gemv(a, axes, keepdim)  # large column sums: a GEMV (4-14x)
            if out is not None:
                return out
        return np.add.reduce(a, axis=axes, keepdims=keepdim, dtype=out_dtype)  # = np.sum
    return xp.sum(a, axis=axes, keepdims=keepdim, dtype=out_dtype)


def _sum_infer(a, dims=None, keepdim=False, dtype=None):
    return TensorMeta(_out_shape(a.shape, dims, keepdim), _sum_dtype(a.dtype, dtype))


def _sum_vjp(ctx, grad):
    meta = ctx.input_metas[0]
    return (_expand_grad(grad, meta, ctx.attrs.get("dims"), ctx.attrs.get("keepdim", False)),)


def _dim_overload_name(base: str):
    """PyTorch's grad_fn names the overload: ``x.sum()`` -> SumBackward0, ``x.sum(dim)``
    (any dim list) -> SumBackward1; the same for mean."""
    return lambda metas, attrs: f"{base}Backward{0 if attrs.get('dims') is None else 1}"


SUM = register(OpDef("sum", REDUCTION, row_major_results(_sum_kernel), _sum_infer, _sum_vjp,
                     backward_name=_dim_overload_name("Sum"),
                     result_layout=ResultLayout.CONTIGUOUS, doc="sum over dims"))


def _float_only(opname, dtype):
    if dtype.category <= dtypes.Category.INT:
        raise RuntimeError(f"{opname}(): could not infer output dtype. Input dtype must be either "
                           f"a floating point or complex dtype. Got: {scalar_type_name(dtype)}")


def _mean_kernel(xp, a, dims=None, keepdim=False, dtype=None):
    target = dtype or dtypes.from_numpy_dtype(a.dtype)
    _float_only("mean", target)
    if a.size == 0:  # 0/0 = nan, without NumPy's "mean of empty slice" warning
        total = xp.sum(a, axis=_axes(a.ndim, dims), keepdims=keepdim, dtype=target.np_dtype)
        return total / target.np_dtype.type(_count(a.shape, dims))
    return xp.mean(a, axis=_axes(a.ndim, dims), keepdims=keepdim, dtype=target.np_dtype)


def _mean_infer(a, dims=None, keepdim=False, dtype=None):
    target = dtype or a.dtype
    _float_only("mean", target)
    return TensorMeta(_out_shape(a.shape, dims, keepdim), target)


def _count(shape, dims):
    nd = len(shape)
    axes = range(nd) if dims is None else normalize_dims(dims, nd) if nd else ()
    n = 1
    for d in axes:
        n *= shape[d]
    return n


def _mean_vjp(ctx, grad):
    meta = ctx.input_metas[0]
    dims, keepdim = ctx.attrs.get("dims"), ctx.attrs.get("keepdim", False)
    # divided before it is expanded: one division per output, not per input element
    return (_expand_grad(grad / _count(meta.shape, dims), meta, dims, keepdim),)


MEAN = register(OpDef("mean", REDUCTION, row_major_results(_mean_kernel), _mean_infer, _mean_vjp,
                      backward_name=_dim_overload_name("Mean"),
                      result_layout=ResultLayout.CONTIGUOUS, doc="arithmetic mean over dims"))


def _var_kernel(xp, a, dims=None, correction=1, keepdim=False):
    _float_only("var", dtypes.from_numpy_dtype(a.dtype))
    n = _count(a.shape, dims)
    ddof = correction if n - correction > 0 else n  # PyTorch returns nan (with a warning)
    if n - correction <= 0:
        return xp.full(_out_shape(a.shape, dims, keepdim), xp.nan, dtype=a.dtype)
    out = xp.var(a, axis=_axes(a.ndim, dims), ddof=ddof, keepdims=keepdim)
    return out.astype(a.dtype.type(0).real.dtype if a.dtype.kind == "c" else a.dtype)


def _var_infer(a, dims=None, correction=1, keepdim=False):
    _float_only("var", a.dtype)
    return TensorMeta(_out_shape(a.shape, dims, keepdim), a.dtype.to_real())


def _var_vjp(ctx, grad):
    x = ctx.inputs[0]
    dims, keepdim = ctx.attrs.get("dims"), ctx.attrs.get("keepdim", False)
    correction = ctx.attrs.get("correction", 1)
    meta = ctx.input_metas[0]
    n = _count(meta.shape, dims)
    centered = x - x.mean(dim=_dim_arg(dims, len(meta.shape)), keepdim=True)
    degrees = n - correction
    # PyTorch divides in C doubles: 2 / 0 is inf, and the gradient becomes nan
    scale = 2.0 / degrees if degrees != 0 else math.inf
    return (_expand_grad(grad, meta, dims, keepdim) * centered * scale,)


def _dim_arg(dims, ndim):
    return tuple(range(ndim)) if dims is None else dims


VAR = register(OpDef("var", REDUCTION, row_major_results(_var_kernel), _var_infer, _var_vjp,
                     save_inputs=(0,), result_layout=ResultLayout.CONTIGUOUS,
                     doc="variance with `correction` (1: unbiased)"))


# --- max / min -------------------------------------------------------------------------

def _extreme_kernel(fn):
    def kernel(xp, a, dims=None, keepdim=False):
        axes = _axes(a.ndim, dims)
        if a.size == 0:
            reduced = range(a.ndim) if axes is None else axes
            if any(a.shape[d] == 0 for d in reduced) or axes is None:
                raise RuntimeError(f"{fn}(): Expected reduction dim to be specified for "
                                   "input.numel() == 0. Specify the reduction dim with the "
                                   "'dim' argument.")
            return xp.zeros(_out_shape(a.shape, dims, keepdim), dtype=a.dtype)
        return getattr(xp, fn)(a, axis=axes, keepdims=keepdim)
    return kernel


def _same_dtype_infer(a, dims=None, keepdim=False):
    return TensorMeta(_out_shape(a.shape, dims, keepdim), a.dtype)


def _extreme_vjp(ctx, grad):
    """Ties share the gradient evenly, as PyTorch's amax/amin."""
    x, out = ctx.inputs[0], ctx.output
    dims, keepdim = ctx.attrs.get("dims"), ctx.attrs.get("keepdim", False)
    meta = ctx.input_metas[0]
    if not keepdim:
        out = out.reshape(_out_shape(meta.shape, dims, True))
    mask = (x == out).to(grad.dtype)
    count = mask.sum(dim=_dim_arg(dims, len(meta.shape)), keepdim=True)
    return (_expand_grad(grad, meta, dims, keepdim) * mask / count,)


AMAX = register(OpDef("amax", REDUCTION, row_major_results(_extreme_kernel("amax")),
                      _same_dtype_infer, _extreme_vjp, save_inputs=(0,), save_output=True,
                      result_layout=ResultLayout.CONTIGUOUS, doc="max over dims"))
AMIN = register(OpDef("amin", REDUCTION, row_major_results(_extreme_kernel("amin")),
                      _same_dtype_infer, _extreme_vjp, save_inputs=(0,), save_output=True,
                      result_layout=ResultLayout.CONTIGUOUS, doc="min over dims"))


def _arg_kernel(fn):
    def kernel(xp, a, dim=None, keepdim=False):
        if a.size == 0 and dim is None:
            raise IndexError(f"{fn}(): Expected reduction dim to be specified for "
                             "input.numel() == 0.")
        if dim is None:
            out = getattr(xp, fn)(a.reshape(-1))
            return xp.asarray(out, dtype=xp.int64).reshape((1,) * a.ndim if keepdim else ())

        d = normalize_dim(dim, a.ndim)
        if a.ndim == 0:
            return xp.zeros((), dtype=xp.int64)
        if a.shape[d] == 0:  # other empty dims are fine: an empty result
            raise IndexError(f"{fn}(): Expected reduction dim {d} to have non-zero size.")
        return getattr(xp, fn)(a, axis=d, keepdims=keepdim).astype(xp.int64)
    return kernel


def _arg_infer(a, dim=None, keepdim=False):
    dims = None if dim is None else (dim,)
    return TensorMeta(_out_shape(a.shape, dims, keepdim), dtypes.int64)


ARGMAX = register(OpDef("argmax", REDUCTION, _arg_kernel("argmax"), _arg_infer,
                        doc="index of the max (first one on ties)"))
ARGMIN = register(OpDef("argmin", REDUCTION, _arg_kernel("argmin"), _arg_infer,
                        doc="index of the min (first one on ties)"))


def _max_dim_kernel(fn, argfn):
    def kernel(xp, a, dim, keepdim=False):
        d = normalize_dim(dim, a.ndim)
        if a.ndim == 0:
            return a.copy(), xp.zeros((), dtype=xp.int64)
        if a.shape[d] == 0:
            raise IndexError(f"{fn}(): Expected reduction dim {d} to have non-zero size.")
        idx = getattr(xp, argfn)(a, axis=d, keepdims=True)
        values = xp.take_along_axis(a, idx, axis=d)
        if not keepdim:
            values, idx = values.squeeze(d), idx.squeeze(d)
        return values, idx.astype(xp.int64)
    return kernel


def _max_dim_infer(a, dim, keepdim=False):
    shape = _out_shape(a.shape, (dim,), keepdim) if a.shape else ()
    return TensorMeta(shape, a.dtype), TensorMeta(shape, dtypes.int64)


def _max_dim_vjp(ctx, grad_values, grad_indices=None):
    indices = ctx.outputs[1]
    meta = ctx.input_metas[0]
    dim, keepdim = ctx.attrs["dim"], ctx.attrs.get("keepdim", False)
    if not meta.shape:
        return (grad_values,)
    if not keepdim:
        grad_values = grad_values.unsqueeze(dim)
        indices = indices.unsqueeze(dim)
    blank = zeros(meta.shape, dtype=grad_values.dtype, device=grad_values.device)
    return (blank.scatter(dim, indices, grad_values),)


MAX_DIM = register(OpDef("max_dim", REDUCTION, row_major_results(_max_dim_kernel("max", "argmax")),
                         _max_dim_infer, _max_dim_vjp, save_output=(1,), num_outputs=2,
                         backward_name="MaxBackward0", result_layout=ResultLayout.CONTIGUOUS,
                         doc="(values, indices) of the max along one dim"))
MIN_DIM = register(OpDef("min_dim", REDUCTION, row_major_results(_max_dim_kernel("min", "argmin")),
                         _max_dim_infer, _max_dim_vjp, save_output=(1,), num_outputs=2,
                         backward_name="MinBackward0", result_layout=ResultLayout.CONTIGUOUS,
                         doc="(values, indices) of the min along one dim"))


def _bool_reduce(fn):
    def kernel(xp, a, dims=None, keepdim=False):
        out = getattr(xp, fn)(a, axis=_axes(a.ndim, dims), keepdims=keepdim)
        return out.astype(xp.uint8) if a.dtype == xp.uint8 else out
    return kernel


def _bool_infer(a, dims=None, keepdim=False):
    # uint8 stays uint8, as in PyTorch (its pre-bool masks)
    dtype = dtypes.uint8 if a.dtype is dtypes.uint8 else dtypes.bool_
    return TensorMeta(_out_shape(a.shape, dims, keepdim), dtype)


ALL = register(OpDef("all", REDUCTION, row_major_results(_bool_reduce("all")), _bool_infer,
                     result_layout=ResultLayout.CONTIGUOUS,
                     doc="whether all elements are non-zero"))
ANY = register(OpDef("any", REDUCTION, row_major_results(_bool_reduce("any")), _bool_infer,
                     result_layout=ResultLayout.CONTIGUOUS, doc="whether any element is non-zero"))
