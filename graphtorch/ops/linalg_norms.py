"""Vector norms, cross products and the trace (torch.linalg.vector_norm, cross, trace)."""

from __future__ import annotations

from .. import dtypes
from ..dtypes import scalar_type_name
from .devices import max_with_initial
from .dispatch import call
from .elementwise import where
from .factories import zeros_like
from .grad_utils import unbroadcast
from .linalg import OPAQUE, _eye_mask, _real_meta, _sgn, check_dtype
from .registry import Category, OpDef, ResultLayout, TensorMeta, register, row_major_results
from .shape_rules import broadcast_shapes, normalize_dim, normalize_dims, reduced_shape


def vector_norm_vjp(ctx, grad):
    x, norm = ctx.inputs[0], ctx.output
    ord_, dims = ctx.attrs.get("ord", 2.0), ctx.attrs.get("dims")
    shape = tuple(ctx.input_metas[0].shape)
    axes = tuple(range(len(shape))) if not dims else normalize_dims(dims, len(shape)) \
        if shape else ()
    if not ctx.attrs.get("keepdim", False):
        kept = reduced_shape(shape, axes, True)
        grad, norm = grad.reshape(kept), norm.reshape(kept)
    if ord_ == 0.0:
        return (zeros_like(x),)
    if ord_ == 1.0:
        return (_sgn(x) * grad,)
    if ord_ == 2.0:
        return (grad * where(norm == 0, 0.0, x / where(norm == 0, 1.0, norm)),)
    if ord_ in (float("inf"), float("-inf")):
        absx = x.abs()
        mask = (absx == norm).logical_or(absx.isnan())
        count = mask.sum(dim=axes, keepdim=True) if axes else mask.to(grad.dtype)
        return (_sgn(x) * ((grad / count) * mask),)
    absx = x.abs()
    if ord_ < 1.0:
        scaled = _sgn(x) * where(x == 0, 0.0, absx ** (ord_ - 1))
        return (scaled * grad * norm ** (1 - ord_),)
    scaled = _sgn(x) * absx ** (ord_ - 1) if ord_ < 2.0 else x * absx ** (ord_ - 2)
    scale = where(norm == 0, 0.0, grad / norm ** (ord_ - 1))
    return (scaled * scale,)


def cross_vjp(ctx, grad):
    a, b = ctx.inputs[:2]
    ma, mb = ctx.input_metas[:2]
    dim = ctx.attrs.get("dim", -1)
    g_a = call(CROSS, b.conj(), grad, dim=dim)
    g_b = call(CROSS, grad, a.conj(), dim=dim)
    return unbroadcast(g_a, ma), unbroadcast(g_b, mb)


def trace_vjp(ctx, grad):
    m, n = ctx.input_metas[0].shape
    return (where(_eye_mask(m, grad, n), grad, 0.0),)


def _vnorm_axes(ndim, dims):
    return None if dims is None or (ndim and not dims) else normalize_dims(dims, ndim) \
        if ndim else None


def _vnorm_kernel(xp, a, ord=2.0, dims=None, keepdim=False):
    if a.dtype.kind not in "fc":
        raise ValueError("invalid linalg.vector_norm input")
    axis = _vnorm_axes(a.ndim, dims)
    x = xp.abs(a)
    real = x.dtype
    if ord == 2.0:
        out = xp.sqrt(xp.sum(x * x, axis=axis, keepdims=keepdim))
    elif ord == 1.0:
        out = xp.sum(x, axis=axis, keepdims=keepdim)
    elif ord == float("inf"):
        out = max_with_initial(xp, x, axis, keepdim, 0)
    elif ord == float("-inf"):
        out = xp.min(x, axis=axis, keepdims=keepdim)
    elif ord == 0.0:
        out = xp.sum(x != 0, axis=axis, keepdims=keepdim)
    else:
        out = xp.sum(x ** ord, axis=axis, keepdims=keepdim) ** (1.0 / ord)
    return xp.asarray(out, dtype=real)


def _vnorm_infer(a, ord=2.0, dims=None, keepdim=False):
    check_dtype("linalg.vector_norm", a.dtype)
    nd = len(a.shape)
    axes = tuple(range(nd)) if dims is None or not dims else normalize_dims(dims, nd) \
        if nd else ()
    return _real_meta(a, reduced_shape(a.shape, axes, keepdim))


VECTOR_NORM = register(OpDef("linalg_vector_norm", Category.REDUCTION,
                             row_major_results(_vnorm_kernel), _vnorm_infer, vector_norm_vjp,
                             save_inputs=(0,), result_layout=ResultLayout.CONTIGUOUS,
                             save_output=True, doc="vector p-norm over dims (all by default)"))


def _cross_kernel(xp, a, b, dim=-1):
    if a.dtype != b.dtype or a.ndim != b.ndim:
        raise ValueError("invalid linalg.cross input")
    d = normalize_dim(dim, a.ndim)
    if a.shape[d] != 3 or b.shape[d] != 3:
        raise ValueError("invalid linalg.cross input")
    return xp.ascontiguousarray(xp.cross(a, b, axis=d))


def _cross_infer(a, b, dim=-1):
    if len(a.shape) != len(b.shape):
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    d = normalize_dim(dim, len(a.shape))
    if a.shape[d] != 3 or b.shape[d] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got "
                           f"{a.shape[d]} and {b.shape[d]}")
    if a.dtype is not b.dtype:
        raise RuntimeError(f"expected scalar type {scalar_type_name(a.dtype)} but found "
                           f"{scalar_type_name(b.dtype)}")
    return TensorMeta(broadcast_shapes(tuple(a.shape), tuple(b.shape)), a.dtype)


CROSS = register(OpDef("linalg_cross", OPAQUE, _cross_kernel, _cross_infer, cross_vjp,
                       save_inputs=(0, 1), doc="3-vector cross product along dim"))


def _trace_kernel(xp, a):
    if a.ndim != 2 or a.dtype == bool:
        raise ValueError("invalid trace input")
    out_dtype = xp.int64 if a.dtype.kind in "iu" else a.dtype
    return xp.asarray(xp.trace(a, dtype=out_dtype))


def _trace_infer(a):
    if len(a.shape) != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {len(a.shape)}")
    if a.dtype is dtypes.bool_:
        raise NotImplementedError("\"trace\" not implemented for 'Bool'")
    dtype = dtypes.int64 if a.dtype.category <= dtypes.Category.INT else a.dtype
    return TensorMeta((), dtype)


TRACE = register(OpDef("trace", OPAQUE, _trace_kernel, _trace_infer, trace_vjp,
                       doc="sum of the main diagonal of a matrix"))
