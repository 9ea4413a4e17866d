"""Softmax family and products: softmax, log_softmax, logsumexp, prod.

Kernels subtract the maximum before exponentiating (stable for large inputs); half
precision computes in float32 and rounds once, as PyTorch's accumulate type. `prod`'s vjp
is exact with zeros in the input (no division by zero).
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from .devices import max_with_initial
from .dispatch import call
from .elementwise import where
from .factories import ones_like, zeros_like
from .grad_utils import numpy_arrays, wrap
from .reduction import _dim_arg, _expand_grad, _out_shape, _sum_kernel
from .registry import Category, OpDef, ResultLayout, TensorMeta, register, row_major_results
from .shape_rules import normalize_dim, normalize_dims
from .sorting import not_implemented

REDUCTION = Category.REDUCTION


def _in_dtype(a):
    return dtypes.from_numpy_dtype(a.dtype)


def _work(xp, a):
    return a.astype(xp.float32) if a.dtype == xp.float16 else a


# --- softmax / log_softmax -----------------------------------------------------------------

def _softmax_check(name, dtype, ndim, dim):
    d = normalize_dim(dim, ndim)
    if not dtype.is_floating_point:
        last = "lastdim_" if d == max(ndim, 1) - 1 else ""
        raise not_implemented(f"{name}_{last}kernel_impl", dtype)
    return d


def _shifted(xp, a, dim):
    """(a - max) along dim, or over everything for a 0-d tensor."""
    axis = normalize_dim(dim, a.ndim) if a.ndim else None
    if a.size == 0:
        return a.copy(), axis
    # Infinite maxima are not masked: PyTorch's softmax gives NaN rows for them too.
    return a - xp.max(a, axis=axis, keepdims=True), axis


def _softmax_kernel(xp, a, dim):
    _softmax_check("softmax", _in_dtype(a), a.ndim, dim)
    z, axis = _shifted(xp, _work(xp, a), dim)
    e = xp.exp(z)
    return (e / xp.sum(e, axis=axis, keepdims=True)).astype(a.dtype, copy=False)


def _log_softmax_kernel(xp, a, dim):
    if xp is np and a.ndim and a.size and a.dtype.kind == "f" and a.dtype.itemsize >= 4:
        # the common case with the steps below inlined (the same NumPy calls)
        axis = normalize_dim(dim, a.ndim)
        z = a - np.maximum.reduce(a, axis=axis, keepdims=True)
        s = np.add.reduce(np.exp(z), axis=axis, keepdims=True)
        return np.subtract(z, np.log(s, out=s), out=z)
    _softmax_check("log_softmax", _in_dtype(a), a.ndim, dim)
    z, axis = _shifted(xp, _work(xp, a), dim)
    if xp is np and z.ndim:  # the same values, with z (a fresh array) written in place
        s = np.add.reduce(np.exp(z), axis=axis, keepdims=True)
        np.subtract(z, np.log(s, out=s), out=z)
        return z.astype(a.dtype, copy=False)
    return (z - xp.log(xp.sum(xp.exp(z), axis=axis, keepdims=True))).astype(a.dtype,
                                                                           copy=False)


def _softmax_infer(name):
    def infer(a, dim):
        _softmax_check(name, a.dtype, len(a.shape), dim)
        return a
    return infer


def _softmax_vjp(ctx, grad):
    y, dim = ctx.output, ctx.attrs["dim"]
    arrays = _same_dtype_arrays(y, grad)
    if arrays is not None:  # eager: the same ops, in NumPy
        y, g = arrays
        with np.errstate(all="ignore"):
            return (wrap(y * (g - _sum_kernel(np, g * y, (dim,), True))),)
    return (y * (grad - (grad * y).sum(dim, keepdim=True)),)


def _log_softmax_vjp(ctx, grad):
    y, dim = ctx.output, ctx.attrs["dim"]
    arrays = _same_dtype_arrays(y, grad)
    if arrays is not None:  # eager: the same ops, in NumPy
        y, g = arrays
        with np.errstate(all="ignore"):
            return (wrap(g - np.exp(y) * _sum_kernel(np, g, (dim,), True)),)
    return (grad - y.exp() * grad.sum(dim, keepdim=True),)


def _same_dtype_arrays(y, grad):
    arrays = numpy_arrays(y, grad)
    if arrays is None or arrays[0].dtype != arrays[1].dtype or arrays[0].ndim == 0 or \
            arrays[0].dtype.kind != "f":
        return None
    return arrays





SOFTMAX = register(OpDef("softmax", Category.OPAQUE, row_major_results(_softmax_kernel),
                         _softmax_infer("softmax"), _softmax_vjp, save_output=True,
                         result_layout=ResultLayout.CONTIGUOUS,
                         doc="exp(x) / sum(exp(x)) along dim"))
LOG_SOFTMAX = register(OpDef("log_softmax", Category.OPAQUE,
                             row_major_results(_log_softmax_kernel), _softmax_infer("log_softmax"),
                             _log_softmax_vjp, save_output=True,
                             result_layout=ResultLayout.CONTIGUOUS,
                             doc="x - logsumexp(x) along dim"))


# --- logsumexp -----------------------------------------------------------------------------

def _lse_dtype(dtype):
    return dtypes.get_default_dtype() if dtype.category <= dtypes.Category.INT else dtype


def _axes(ndim, dims):
    if not ndim:
        return None
    return tuple(range(ndim)) if dims is None else normalize_dims(dims, ndim)


def _logsumexp_kernel(xp, a, dims=None, keepdim=False):
    out_dtype = _lse_dtype(_in_dtype(a)).np_dtype
    a = _work(xp, a.astype(out_dtype, copy=False))
    axes = _axes(a.ndim, dims)
    m = max_with_initial(xp, a, axes, True, -xp.inf) if a.size else \
        xp.zeros((1,) * a.ndim, dtype=a.dtype)
    m = xp.where(xp.isfinite(m), m, xp.zeros_like(m))
    out = xp.log(xp.sum(xp.exp(a - m), axis=axes, keepdims=True)) + m
    if not keepdim and axes is not None:
        out = out.reshape(_out_shape(a.shape, dims, False))
    elif a.ndim == 0:
        out = out.reshape(())
    return out.astype(out_dtype, copy=False)


def _logsumexp_infer(a, dims=None, keepdim=False):
    return TensorMeta(_out_shape(a.shape, dims, keepdim), _lse_dtype(a.dtype))


def _logsumexp_vjp(ctx, grad):
    x, out = ctx.inputs[0], ctx.output
    meta = ctx.input_metas[0]
    dims, keepdim = ctx.attrs.get("dims"), ctx.attrs.get("keepdim", False)
    if not keepdim:
        out = out.reshape(_out_shape(meta.shape, dims, True))
    return (_expand_grad(grad, meta, dims, keepdim) * (x - out).exp(),)


LOGSUMEXP = register(OpDef("logsumexp", REDUCTION, row_major_results(_logsumexp_kernel),
                           _logsumexp_infer, _logsumexp_vjp, save_inputs=(0,), save_output=True,
                           result_layout=ResultLayout.CONTIGUOUS,
                           doc="log(sum(exp(x))) over dims, computed stably"))


# --- prod ----------------------------------------------------------------------------------

def _prod_dtype(dtype, out_dtype):
    if out_dtype is not None:
        return out_dtype
    return dtypes.int64 if dtype.category <= dtypes.Category.INT else dtype


def _prod_kernel(xp, a, dims=None, keepdim=False, dtype=None):
    target = _prod_dtype(_in_dtype(a), dtype).np_dtype
    return xp.asarray(xp.prod(a.astype(target, copy=False), axis=_axes(a.ndim, dims),
                              keepdims=keepdim, dtype=target))


def _prod_infer(a, dims=None, keepdim=False, dtype=None):
    if dims is not None:
        normalize_dims(dims, len(a.shape))
    return TensorMeta(_out_shape(a.shape, dims, keepdim), _prod_dtype(a.dtype, dtype))


def _prod_vjp(ctx, grad):
    """d prod / d x_i is the product of the others: out / x_i without zeros, the product of
    the non-zeros at a lone zero, and 0 everywhere when two or more zeros."""
    x = ctx.inputs[0]
    meta = ctx.input_metas[0]
    dims, keepdim = ctx.attrs.get("dims"), ctx.attrs.get("keepdim", False)
    if x.dtype is not grad.dtype:
        x = x.to(grad.dtype)
    is_zero = x == 0
    safe = where(is_zero, ones_like(x), x)
    rest = call(PROD, safe, dims=dims, keepdim=True)
    zeros = is_zero.sum(dim=_dim_arg(dims, len(meta.shape)), keepdim=True)
    others = where(zeros == 0, rest / safe,
                      where((zeros == 1) & is_zero, rest, zeros_like(x)))
    if others.is_complex():
        others = others.conj()
    result = _expand_grad(grad, meta, dims, keepdim) * others
    return (result if result.dtype is meta.dtype else result.to(meta.dtype),)


PROD = register(OpDef("prod", REDUCTION, row_major_results(_prod_kernel), _prod_infer, _prod_vjp,
                      save_inputs=(0,), backward_name="ProdBackward0",
                      result_layout=ResultLayout.CONTIGUOUS,
                      doc="product of all elements (integers multiply in int64)"))
PROD_DIM = register(OpDef("prod_dim", REDUCTION, row_major_results(_prod_kernel), _prod_infer,
                          _prod_vjp, save_inputs=(0,), backward_name="ProdBackward1",
                          result_layout=ResultLayout.CONTIGUOUS, doc="product along one dim"))
