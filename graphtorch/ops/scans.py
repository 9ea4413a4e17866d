"""Cumulative scans along one dim: cumsum, cumprod, cummax/cummin, logcumsumexp.

`cumsum` and `logcumsumexp` take an internal `reverse` attribute (scan from the end) so that
their vjps are scans again: gradients and backward graphs use no flip op. Integer and bool
inputs of cumsum/cumprod accumulate in int64, as PyTorch.
"""

from __future__ import annotations

from .. import dtypes
from .devices import accumulate
from .dispatch import call
from .elementwise import where
from .factories import full_like, ones_like, zeros_like
from .grad_utils import conj
from .registry import Category, OpDef, ResultLayout, TensorMeta, register, row_major_results
from .shape_rules import normalize_dim
from .sorting import contiguous as _contig
from .sorting import not_implemented, scatter_along

OPAQUE = Category.OPAQUE


def _scan(xp, a, dim, reverse, fn):
    """fn(array, axis) along `dim`, from the end when `reverse`; 0-d is the identity."""
    if a.ndim == 0:
        return a.copy()
    d = normalize_dim(dim, a.ndim)
    if not reverse:
        return fn(a, d)
    return _contig(xp, xp.flip(fn(xp.flip(a, d), d), d))


def _acc_dtype(dtype, out_dtype):
    if out_dtype is not None:
        return out_dtype
    return dtypes.int64 if dtype.category <= dtypes.Category.INT else dtype


def _in_dtype(a):
    return dtypes.from_numpy_dtype(a.dtype)


def _grad_to_input(grad, meta):
    """A `dtype=` scan computed in another dtype: the input's gradient keeps its own."""
    return grad if grad.dtype is meta.dtype else grad.to(meta.dtype)


def _scan_infer(a, dim, reverse=False, dtype=None):
    normalize_dim(dim, len(a.shape))
    return TensorMeta(a.shape, _acc_dtype(a.dtype, dtype))


# --- cumsum / cumprod --------------------------------------------------------------------

def _accumulate(xp, a, dim, reverse, dtype, fn):
    """Scan in the output dtype; half precision accumulates in float32 (PyTorch's acc type)."""
    target = _acc_dtype(_in_dtype(a), dtype).np_dtype
    work = xp.float32 if target == xp.float16 else target
    out = _scan(xp, a.astype(work, copy=False), dim, reverse,
                lambda x, d: fn(x, axis=d, dtype=work))
    return out.astype(target, copy=False)


def _cumsum_kernel(xp, a, dim, reverse=False, dtype=None):
    return _accumulate(xp, a, dim, reverse, dtype, xp.cumsum)


def _cumsum_vjp(ctx, grad):
    meta = ctx.input_metas[0]
    back = call(CUMSUM, grad, dim=ctx.attrs["dim"], reverse=not ctx.attrs.get("reverse", False))
    return (_grad_to_input(back, meta),)


CUMSUM = register(OpDef("cumsum", OPAQUE, row_major_results(_cumsum_kernel), _scan_infer,
                        _cumsum_vjp, result_layout=ResultLayout.CONTIGUOUS,
                        doc="running sum along dim (reverse: from the end)"))


def _cumprod_kernel(xp, a, dim, dtype=None):
    return _accumulate(xp, a, dim, False, dtype, xp.cumprod)


def _cumprod_infer(a, dim, dtype=None):
    return _scan_infer(a, dim, False, dtype)


def _cumprod_vjp(ctx, grad):
    """Exact with zeros: positions before the first zero use out/x; the first zero gets the
    product of the others; positions after it get nothing (PyTorch's cumprod_backward)."""
    x, out = ctx.inputs[0], ctx.output
    meta = ctx.input_metas[0]
    dim = ctx.attrs["dim"]
    if x.dtype is not grad.dtype:
        x = x.to(grad.dtype)
    if x.ndim == 0:
        return (_grad_to_input(grad, meta),)

    def rev_cumsum(t):
        return call(CUMSUM, t, dim=dim, reverse=True)

    is_zero = x == 0
    zeros_so_far = call(CUMSUM, is_zero, dim=dim)
    before = zeros_so_far == 0
    first_zero = is_zero & (zeros_so_far == 1)
    one = ones_like(x)
    before_part = rev_cumsum(grad * conj(out)) / conj(where(before, x, one))
    skip_zero = call(CUMPROD, where(first_zero, one, x), dim=dim)
    zero_part = rev_cumsum(grad * conj(skip_zero))
    zero = zeros_like(before_part)
    result = where(before, before_part, where(first_zero, zero_part, zero))
    return (_grad_to_input(result, meta),)


CUMPROD = register(OpDef("cumprod", OPAQUE, row_major_results(_cumprod_kernel), _cumprod_infer,
                         _cumprod_vjp, save_inputs=(0,), save_output=True,
                         result_layout=ResultLayout.CONTIGUOUS, doc="running product along dim"))


# --- cummax / cummin ---------------------------------------------------------------------

def _cum_extreme_kernel(ufunc_name, opname):
    def kernel(xp, a, dim):
        if a.dtype.kind == "c":
            raise not_implemented(f"{opname}_cpu", _in_dtype(a))
        if a.ndim == 0:
            return a.copy(), xp.zeros((), dtype=xp.int64)
        d = normalize_dim(dim, a.ndim)
        values = accumulate(xp, ufunc_name, a, d)
        # A position updates the index when it equals the running extreme (PyTorch's >=/<=)
        # or is NaN; the index is the latest such position.
        hit = a == values
        if a.dtype.kind == "f":
            hit |= xp.isnan(a)
        shape = [1] * a.ndim
        shape[d] = a.shape[d]
        pos = xp.where(hit, xp.arange(a.shape[d]).reshape(shape), 0)
        return values, accumulate(xp, "maximum", pos, d).astype(xp.int64, copy=False)
    return kernel


def _cum_extreme_infer(a, dim):
    normalize_dim(dim, len(a.shape))
    return TensorMeta(a.shape, a.dtype), TensorMeta(a.shape, dtypes.int64)


def _cum_extreme_vjp(ctx, grad_values, grad_indices=None):
    meta = ctx.input_metas[0]
    dim = normalize_dim(ctx.attrs["dim"], len(meta.shape))
    return (scatter_along(meta.shape, dim, ctx.outputs[1], grad_values, accumulate=True),)


CUMMAX = register(OpDef("cummax", OPAQUE,
                        row_major_results(_cum_extreme_kernel("maximum", "cummax")),
                        _cum_extreme_infer, _cum_extreme_vjp, save_output=(1,), num_outputs=2,
                        result_layout=ResultLayout.CONTIGUOUS,
                        doc="(values, indices) of the running max along dim"))
CUMMIN = register(OpDef("cummin", OPAQUE,
                        row_major_results(_cum_extreme_kernel("minimum", "cummin")),
                        _cum_extreme_infer, _cum_extreme_vjp, save_output=(1,), num_outputs=2,
                        result_layout=ResultLayout.CONTIGUOUS,
                        doc="(values, indices) of the running min along dim"))


# --- logcumsumexp --------------------------------------------------------------------------

def _lcse_check(dtype):
    if not dtype.is_floating_point:
        raise not_implemented("logcumsumexp_out_cpu", dtype)


def _lcse_kernel(xp, a, dim, reverse=False):
    _lcse_check(_in_dtype(a))
    work = a.astype(xp.float32) if a.dtype == xp.float16 else a
    out = _scan(xp, work, dim, reverse, lambda x, d: accumulate(xp, "logaddexp", x, d))
    return out.astype(a.dtype, copy=False)


def _lcse_infer(a, dim, reverse=False):
    _lcse_check(a.dtype)
    normalize_dim(dim, len(a.shape))
    return a


def _lcse_vjp(ctx, grad):
    """PyTorch's stable rule: positive and negative parts of grad in log space."""
    import numpy as np


    x, out = ctx.inputs[0], ctx.output
    dim, reverse = ctx.attrs["dim"], ctx.attrs.get("reverse", False)
    lowest = full_like(grad, float(np.finfo(grad.dtype.np_dtype).min))
    log_abs = grad.abs().log()
    pos = where(grad > 0, log_abs, lowest)
    neg = where(grad < 0, log_abs, lowest)

    def back_scan(t):
        return call(LOGCUMSUMEXP, t, dim=dim, reverse=not reverse)

    return ((back_scan(pos - out) + x).exp() - (back_scan(neg - out) + x).exp(),)


LOGCUMSUMEXP = register(OpDef("logcumsumexp", OPAQUE, row_major_results(_lcse_kernel), _lcse_infer,
                              _lcse_vjp, save_inputs=(0,), save_output=True,
                              result_layout=ResultLayout.CONTIGUOUS,
                              doc="log of the running sum of exp along dim"))
