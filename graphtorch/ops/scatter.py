"""Index-driven primitives: gather/scatter (+add, +reduce), index_select/add/copy/fill,
masked_fill/scatter/select, nonzero, take/put. Index tensors are int64 (or int32) and are
bounds-checked with PyTorch's messages; shared helpers come from `movement.py`."""

from __future__ import annotations

from .. import dtypes
from ..dtypes import scalar_type_name
from .elementwise import where
from .factories import ones_like, zeros, zeros_like
from .grad_utils import unbroadcast
from .movement import (
    _CPP,
    _INDEX_DTYPES,
    CONSTANT_PAD_ND,
    _as_1d,
    _check_bounds,
    _meta,
    _numel,
    _op,
    _same,
    _scalar_fill,
    _ufunc_at,
    call_op,
)
from .registry import ResultLayout, TensorMeta, row_major_results
from .shape_rules import broadcast_shapes, normalize_dim

# --- gather / scatter --------------------------------------------------------------------

def _check_index_dtype(index, fname):
    if index.dtype not in _INDEX_DTYPES:
        raise RuntimeError(f"{fname}(): Expected dtype int32/int64 for index")


def _gather_rule(a, index, dim):
    _check_index_dtype(index, "gather")
    nd = len(a.shape)
    d = normalize_dim(dim, nd)
    if max(len(index.shape), 1) != max(nd, 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    for j in range(len(index.shape)):
        if j != d and index.shape[j] > a.shape[j]:
            raise RuntimeError(f"Size does not match at dimension {j} expected index "
                               f"{list(index.shape)} to be no larger than self {list(a.shape)} "
                               f"apart from dimension {d}")
    return TensorMeta(index.shape, a.dtype), d


def _region(a, shape):
    """The leading `shape` corner of `a` (gather/scatter only read index.shape of it)."""
    return a[tuple(slice(0, n) for n in shape)]


def _gather_kernel(xp, a, index, dim, sparse_grad=False):
    _, d = _gather_rule(_meta(a), _meta(index), dim)
    if index.size == 0:
        return xp.zeros(index.shape, dtype=a.dtype)
    a1, i1 = _as_1d(a), _as_1d(index)
    _check_bounds(xp, i1, a1.shape[d], d)
    shape = tuple(n if j != d else a1.shape[d] for j, n in enumerate(i1.shape))
    return xp.take_along_axis(_region(a1, shape), i1, axis=d).reshape(index.shape)


def _gather_vjp(ctx, grad):
    index, dim = ctx.inputs[1], ctx.attrs["dim"]
    blank = zeros(ctx.input_metas[0].shape, dtype=grad.dtype, device=grad.device)
    return call_op(SCATTER_ADD, blank, index, grad, dim=dim), None


GATHER = _op("gather", row_major_results(_gather_kernel),
             lambda a, index, dim, sparse_grad=False: _gather_rule(a, index, dim)[0],
             _gather_vjp, save_inputs=(1,), result_layout=ResultLayout.CONTIGUOUS,
             doc="out[i][j] = a[index[i][j]][j] (for dim 0)")


def _scatter_rule(a, index, src, dim):
    _check_index_dtype(index, "scatter")
    nd = len(a.shape)
    d = normalize_dim(dim, nd)
    is_tensor = isinstance(src, TensorMeta)
    if is_tensor and src.dtype != a.dtype:
        raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
    if max(len(index.shape), 1) != max(nd, 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as self tensor")
    if is_tensor and max(len(src.shape), 1) != max(nd, 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as src tensor")
    if not index.shape or not nd:
        return d
    over_self = any(j != d and index.shape[j] > a.shape[j] for j in range(nd))
    over_src = is_tensor and src.shape and any(i > s for i, s in zip(index.shape, src.shape))
    if over_self or over_src:
        text = (f"Expected index {list(index.shape)} to be no larger than self {list(a.shape)} "
                f"apart from dimension {d}")
        if is_tensor:
            text += f" and to be no larger size than src {list(src.shape)}"
        raise RuntimeError(text)
    return d


def _positions(xp, index, d):
    """The index tuple addressing out[..., index[p], ...] for every position p of `index`."""
    pos = []
    for j, n in enumerate(index.shape):
        if j == d:
            pos.append(index)
        else:
            shape = [1] * index.ndim
            shape[j] = n
            pos.append(xp.arange(n).reshape(shape))
    return tuple(pos)


def _scatter_setup(xp, a, index, src, dim):
    """(out, out as >=1-d, positions or None when index is empty, values)."""
    d = _scatter_rule(_meta(a), _meta(index), _meta(src) if hasattr(src, "shape") else src, dim)
    out = a.copy()
    if index.size == 0:
        return out, None, None, None
    o1, i1 = _as_1d(out), _as_1d(index)
    _check_bounds(xp, i1, o1.shape[d], d)
    if hasattr(src, "shape"):
        vals = _region(_as_1d(src), i1.shape)
    else:
        vals = _scalar_fill(xp, src, a.dtype)
    return out, o1, _positions(xp, i1, d), vals


def _scatter_kernel(xp, a, index, src, dim, reduce=None):
    if reduce not in (None, "add", "multiply"):
        raise RuntimeError("reduce argument must be either add or multiply.")
    out, o1, pos, vals = _scatter_setup(xp, a, index, src, dim)
    if pos is not None:
        if reduce is None:
            o1[pos] = vals
        else:
            _ufunc_at(xp, "add" if reduce == "add" else "multiply", o1, pos, vals)
    return out


def _fit(grad, meta):
    """Zero-pad a gathered gradient (index-shaped) up to the shape of src."""
    if meta is None or tuple(grad.shape) == tuple(meta.shape) or not meta.shape:
        return grad.reshape(meta.shape) if meta is not None else None
    pad = []
    for have, want in zip(reversed(grad.shape), reversed(meta.shape)):
        pad += [0, want - have]
    return call_op(CONSTANT_PAD_ND, grad, pad=tuple(pad), value=0)


def _scatter_vjp(ctx, grad):
    index, dim = ctx.inputs[1], ctx.attrs["dim"]
    if ctx.attrs.get("reduce") is not None:
        raise RuntimeError("derivative for aten::scatter is not implemented")
    grad_src = None
    if ctx.input_metas[2] is not None:
        grad_src = _fit(call_op(GATHER, grad, index, dim=dim), ctx.input_metas[2])
    return call_op(SCATTER, grad, index, 0, dim=dim), None, grad_src


def _scatter_infer(a, index, src, dim, reduce=None):
    _scatter_rule(a, index, src, dim)
    return a


SCATTER = _op("scatter", _scatter_kernel, _scatter_infer, _scatter_vjp, save_inputs=(1,),
              backward_name=lambda metas: "ScatterBackward0" if metas[2] is not None
              else "ScatterBackward1",
              doc="a copy of a with out[index[i][j]][j] = src[i][j] (or a scalar value)")


def _scatter_add_kernel(xp, a, index, src, dim):
    out, o1, pos, vals = _scatter_setup(xp, a, index, src, dim)
    if pos is not None:
        _ufunc_at(xp, "add", o1, pos, vals)
    return out


SCATTER_ADD = _op(
    "scatter_add", _scatter_add_kernel, lambda a, index, src, dim: _scatter_infer(a, index, src,
                                                                                   dim),
    lambda ctx, grad: (grad, None, _fit(call_op(GATHER, grad, ctx.inputs[1],
                                                dim=ctx.attrs["dim"]), ctx.input_metas[2])),
    save_inputs=(1,), doc="a copy of a with src added at the positions index names")

_REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


def _scatter_reduce_kernel(xp, a, index, src, dim, reduce, include_self=True):
    if reduce not in _REDUCTIONS:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got "
                           f"{reduce}")
    if reduce in ("amax", "amin") and a.dtype.kind == "c":
        raise NotImplementedError(f"\"scatter_gather_tensor_cpu_reduce_{reduce}\" not "
                                  f"implemented for '{scalar_type_name(_meta(a).dtype)}'")
    out, o1, pos, vals = _scatter_setup(xp, a, index, src, dim)
    if pos is None:
        return out
    if not include_self:
        o1[pos] = _identity(xp, reduce, out.dtype)
    ufunc = {"sum": "add", "mean": "add", "prod": "multiply", "amax": "maximum",
             "amin": "minimum"}[reduce]
    _ufunc_at(xp, ufunc, o1, pos, vals)
    if reduce == "mean":
        count = (xp.ones if include_self else xp.zeros)(o1.shape, dtype=xp.int64)
        _ufunc_at(xp, "add", count, pos, 1)
        count = xp.maximum(count, 1)
        if out.dtype.kind in "fc":
            o1[...] = o1 / count
        else:
            o1[...] = xp.floor_divide(o1, count)
    return out


def _identity(xp, reduce, dtype):
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    if dtype.kind == "b":
        return reduce == "amin"
    if dtype.kind in "fc":
        return -xp.inf if reduce == "amax" else xp.inf
    info = xp.iinfo(dtype)
    return info.min if reduce == "amax" else info.max


def _scatter_reduce_vjp(ctx, grad):
    """PyTorch's scatter_reduce_backward (ties in amax/amin share the gradient evenly)."""
    x, index, src = ctx.inputs
    dim, reduce = ctx.attrs["dim"], ctx.attrs["reduce"]
    include_self = ctx.attrs.get("include_self", True)
    result = ctx.output
    if reduce == "sum":
        grad_self, grad_src = grad, grad.gather(dim, index)
    elif reduce == "mean":
        n = ones_like(grad) if include_self else zeros_like(grad)
        n = n.scatter_add(dim, index, ones_like(src))
        n = n.masked_fill(n == 0, 1)
        grad_self, grad_src = grad / n, grad.gather(dim, index) / n.gather(dim, index)
    elif reduce == "prod":
        masked_self = x.masked_fill(x == 0, 1)
        masked_self_result = masked_self.scatter_reduce(dim, index, src, reduce,
                                                        include_self=include_self)
        grad_self = grad * masked_self_result / masked_self
        src_zero = src == 0
        zeros_in = zeros_like(x).scatter_add(dim, index, src_zero.to(x.dtype))
        single_zero = src_zero & (zeros_in.gather(dim, index) == 1)
        masked_src_result = x.scatter_reduce(dim, index, src.masked_fill(single_zero, 1),
                                             reduce, include_self=include_self)
        grad_src = where(single_zero, (grad * masked_src_result).gather(dim, index),
                            (grad * result).gather(dim, index) / src.masked_fill(src_zero, 1))
    else:
        value = result.gather(dim, index)
        self_is = (x == result).to(grad.dtype)
        src_is = (src == value).to(grad.dtype)
        shared = grad / self_is.scatter_add(dim, index, src_is)
        grad_self = self_is * shared
        grad_src = src_is * shared.gather(dim, index)
    if not include_self:
        grad_self = grad_self.scatter(dim, index, 0)
    return grad_self, None, _fit(grad_src, ctx.input_metas[2])


SCATTER_REDUCE = _op(
    "scatter_reduce", _scatter_reduce_kernel,
    lambda a, index, src, dim, reduce, include_self=True: _scatter_infer(a, index, src, dim),
    _scatter_reduce_vjp, save_inputs=(0, 1, 2), save_output=True,
    doc="a copy of a with src reduced (sum/prod/mean/amax/amin) into the indexed positions")


# --- index_select / index_add / index_copy / index_fill ----------------------------------

def _index_select_rule(a, index, dim):
    d = normalize_dim(dim, len(a.shape))
    if len(index.shape) > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    if index.dtype not in _INDEX_DTYPES:
        raise RuntimeError("index_select(): Expected dtype int32 or int64 for index")
    n = _numel(index.shape)
    if not a.shape:
        if n != 1:
            raise RuntimeError(f"index_select(): Index to scalar can have only 1 value, got {n} "
                               "value(s)")
        return TensorMeta((), a.dtype), d
    return TensorMeta(a.shape[:d] + (n,) + a.shape[d + 1:], a.dtype), d


def _index_select_kernel(xp, a, index, dim):
    _, d = _index_select_rule(_meta(a), _meta(index), dim)
    size = a.shape[d] if a.ndim else 1
    if index.size and (int(index.min()) < 0 or int(index.max()) >= size):
        raise IndexError("index out of range in self")
    if a.ndim == 0:
        return a.copy()
    return xp.take(a, index.reshape(-1), axis=d)


def _index_select_vjp(ctx, grad):
    blank = zeros(ctx.input_metas[0].shape, dtype=grad.dtype, device=grad.device)
    return call_op(INDEX_ADD, blank, ctx.inputs[1], grad, dim=ctx.attrs["dim"]), None


INDEX_SELECT = _op("index_select", _index_select_kernel,
                   lambda a, index, dim: _index_select_rule(a, index, dim)[0],
                   _index_select_vjp, save_inputs=(1,),
                   doc="the entries of a at `index` along dim (a copy)")


def _source_rule(fname, a, index, source, d, message, scalar_source=False):
    """index_add/index_copy: source matches a except along d, with one slice per index."""
    n = _numel(index.shape)
    src_n = source.shape[d] if source.shape else 1
    if n != src_n:
        if fname == "index_copy_":
            raise IndexError(f"index_copy_(): Number of indices ({n}) should be equal to "
                             f"source.size(dim) ({src_n})")
        raise RuntimeError(f"{fname}(): Number of indices ({n}) should be equal to "
                           f"source.size(dim): ({src_n}), for dim: {d}")
    scalar_ok = scalar_source and not source.shape and len(a.shape) == 1
    same_rank = len(source.shape) == len(a.shape) or scalar_ok
    if not same_rank or any(j != d and s != t for j, (s, t) in enumerate(zip(a.shape,
                                                                            source.shape))):
        raise RuntimeError(message(a.shape, source.shape, d))


def _add_shape_message(a_shape, s_shape, d):
    return (f"source tensor shape must match self tensor shape, excluding the specified "
            f"dimension. Got self.shape = {list(a_shape)} source.shape = {list(s_shape)}")


def _copy_shape_message(a_shape, s_shape, d):
    dst = [s for j, s in enumerate(a_shape) if j != d]
    src = [s for j, s in enumerate(s_shape) if j != d]
    j = next((j for j, (p, q) in enumerate(zip(dst, src)) if p != q), min(len(dst), len(src)))
    p = dst[j] if j < len(dst) else 1
    q = src[j] if j < len(src) else 1
    return (f"index_copy_(): Source/destination tensor must have same slice shapes. "
            f"Destination slice shape: {p} at dimension {j} and source slice shape: {q} at "
            f"dimension {j}.")


def _index_add_rule(a, index, source, dim, alpha=1):
    d = normalize_dim(dim, len(a.shape))
    if len(index.shape) > 1:
        raise IndexError(f"index_add_(): Index is supposed to be a vector, but got dim: "
                         f"{len(index.shape)} with type: {scalar_type_name(index.dtype)} and size: "
                         f"{list(index.shape)}")
    if index.dtype not in _INDEX_DTYPES:
        raise RuntimeError(f"index_add_(): Expected dtype int32/int64 for index but got: "
                           f"{scalar_type_name(index.dtype)}")
    if source.dtype != a.dtype:
        raise RuntimeError(f"index_add_(): self ({scalar_type_name(a.dtype)}) and source "
                           f"({scalar_type_name(source.dtype)}) must have the same scalar type")
    _source_rule("index_add_", a, index, source, d, _add_shape_message)
    return d


def _moved(xp, a, d, ndim):
    """`a` as >=1-d with dim d first (a view), matching an output of `ndim` dims."""
    a = a.reshape((1,) * max(ndim, 1)) if a.ndim == 0 else a
    return xp.moveaxis(a, d, 0)


def _index_add_kernel(xp, a, index, source, dim, alpha=1):
    d = _index_add_rule(_meta(a), _meta(index), _meta(source), dim, alpha)
    out = a.copy()
    o1, idx = _as_1d(out), index.reshape(-1)
    _check_bounds(xp, idx, o1.shape[d], d)
    vals = _moved(xp, source, d, out.ndim)
    if alpha != 1:
        vals = (vals * alpha).astype(a.dtype)
    _ufunc_at(xp, "add", xp.moveaxis(o1, d, 0), idx, vals)
    return out


def _index_add_vjp(ctx, grad):
    index, dim, alpha = ctx.inputs[1], ctx.attrs["dim"], ctx.attrs.get("alpha", 1)
    grad_source = grad.index_select(dim, index)
    if alpha != 1:
        grad_source = grad_source * alpha
    return grad, None, grad_source.reshape(ctx.input_metas[2].shape)


INDEX_ADD = _op("index_add", _index_add_kernel,
                lambda a, index, source, dim, alpha=1: _same(a, _index_add_rule(
                    a, index, source, dim)), _index_add_vjp, save_inputs=(1,),
                doc="a copy of a with alpha * source added at `index` along dim")


def _index_copy_rule(a, index, source, dim):
    d = normalize_dim(dim, len(a.shape))
    if len(index.shape) > 1:
        raise IndexError(f"index_copy_(): Index should have dimension 1 or 0 (got "
                         f"{len(index.shape)})")
    if index.dtype is not dtypes.int64:
        raise RuntimeError(f"index_copy_(): Expected a long tensor for index, but got "
                           f"{scalar_type_name(index.dtype)}")
    if source.dtype != a.dtype:
        raise RuntimeError(f"index_copy_(): self and source expected to have the same dtype, "
                           f"but got (self) {scalar_type_name(a.dtype)} and (source) "
                           f"{scalar_type_name(source.dtype)}")
    _source_rule("index_copy_", a, index, source, d, _copy_shape_message, True)
    return d


def _index_copy_kernel(xp, a, index, source, dim):
    d = _index_copy_rule(_meta(a), _meta(index), _meta(source), dim)
    out = a.copy()
    o1, idx = _as_1d(out), index.reshape(-1)
    _check_bounds(xp, idx, o1.shape[d], d, IndexError, "index_copy_(): ")
    xp.moveaxis(o1, d, 0)[idx] = _moved(xp, source, d, out.ndim)
    return out


def _index_copy_vjp(ctx, grad):
    index, dim = ctx.inputs[1], ctx.attrs["dim"]
    return (call_op(INDEX_FILL, grad, index, 0, dim=dim), None,
            grad.index_select(dim, index).reshape(ctx.input_metas[2].shape))


INDEX_COPY = _op("index_copy", _index_copy_kernel,
                 lambda a, index, source, dim: _same(a, _index_copy_rule(a, index, source, dim)),
                 _index_copy_vjp, save_inputs=(1,),
                 doc="a copy of a with the slices at `index` along dim replaced by source")


def _index_fill_rule(a, index, value, dim):
    d = normalize_dim(dim, len(a.shape))
    if index.dtype is not dtypes.int64:
        raise IndexError("index_fill_(): Expected dtype int64 for index.")
    if len(index.shape) > 1:
        raise RuntimeError("Index has to be a vector/scalar")
    if isinstance(value, TensorMeta) and value.shape:
        raise RuntimeError(f"index_fill_ only supports a 0-dimensional value tensor, but got "
                           f"tensor with {len(value.shape)} dimension(s).")
    return d


def _index_fill_kernel(xp, a, index, value, dim):
    d = _index_fill_rule(_meta(a), _meta(index), _meta(value) if hasattr(value, "shape")
                         else value, dim)
    out = a.copy()
    o1, idx = _as_1d(out), index.reshape(-1)
    _check_bounds(xp, idx, o1.shape[d], d, IndexError, allow_negative=True)
    fill = value.astype(a.dtype) if hasattr(value, "shape") else _scalar_fill(
        xp, value, a.dtype, "index_fill_()")
    xp.moveaxis(o1, d, 0)[idx] = fill
    return out


def _index_fill_vjp(ctx, grad):
    grad_self = call_op(INDEX_FILL, grad, ctx.inputs[1], 0, dim=ctx.attrs["dim"])
    grad_value = (grad - grad_self).sum() if ctx.input_metas[2] is not None else None
    return grad_self, None, grad_value


INDEX_FILL = _op("index_fill", _index_fill_kernel,
                 lambda a, index, value, dim: _same(a, _index_fill_rule(a, index, value, dim)),
                 _index_fill_vjp, save_inputs=(1,),
                 backward_name=lambda metas: "IndexFillBackward0" if metas[2] is None
                 else "IndexFillBackward1",
                 doc="a copy of a with the slices at `index` along dim set to value")


# --- masked_fill / masked_scatter / masked_select / nonzero ------------------------------

def _masked_fill_rule(a, mask, value):
    if mask.dtype is not dtypes.bool_:
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype "
                           f"{_CPP.get(mask.dtype.name, mask.dtype.name)}")
    if isinstance(value, TensorMeta) and value.shape:
        raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but got "
                           f"tensor with {len(value.shape)} dimension(s).")
    return TensorMeta(broadcast_shapes(mask.shape, a.shape), a.dtype)


def _masked_fill_kernel(xp, a, mask, value):
    _masked_fill_rule(_meta(a), _meta(mask), _meta(value) if hasattr(value, "shape") else value)
    if hasattr(value, "shape"):
        if value.dtype.kind == "c" and a.dtype.kind != "c":
            _scalar_fill(xp, complex(value), a.dtype)
        fill = value.astype(a.dtype)
    else:
        fill = _scalar_fill(xp, value, a.dtype)
    return xp.where(mask, fill, a)


def _masked_fill_vjp(ctx, grad):
    mask = ctx.inputs[1]
    kept = grad.masked_fill(mask, 0)
    grad_value = (grad - kept).sum() if ctx.input_metas[2] is not None else None
    return unbroadcast(kept, ctx.input_metas[0]), None, grad_value


MASKED_FILL = _op("masked_fill", row_major_results(_masked_fill_kernel), _masked_fill_rule,
                  _masked_fill_vjp, save_inputs=(1,), result_layout=ResultLayout.CONTIGUOUS,
                  backward_name=lambda metas: "MaskedFillBackward0" if metas[2] is None
                  else "MaskedFillBackward1",
                  doc="a where mask is False, value where it is True (broadcast)")


def _masked_scatter_rule(a, mask, source):
    if mask.dtype is not dtypes.bool_:
        raise RuntimeError(f"masked_scatter_ only supports boolean masks, but got mask with "
                           f"dtype {scalar_type_name(mask.dtype)}")
    if source.dtype != a.dtype:
        raise RuntimeError(f"masked_scatter: expected self and source to have same dtypes but "
                           f"got{scalar_type_name(a.dtype)} and {scalar_type_name(source.dtype)}")
    return TensorMeta(broadcast_shapes(a.shape, mask.shape), a.dtype)


def _masked_scatter_kernel(xp, a, mask, source):
    meta = _masked_scatter_rule(_meta(a), _meta(mask), _meta(source))
    out = xp.array(xp.broadcast_to(a, meta.shape))
    where = xp.broadcast_to(mask, meta.shape)
    n = int(where.sum())
    if source.size < n:
        raise RuntimeError("Number of elements of source < number of ones in mask")
    out[where] = source.reshape(-1)[:n]
    return out


def _masked_scatter_vjp(ctx, grad):
    mask = ctx.inputs[1]
    src_meta = ctx.input_metas[2]
    taken = call_op(MASKED_SELECT, grad, mask)
    missing = _numel(src_meta.shape) - taken.shape[0]
    if missing:
        taken = call_op(CONSTANT_PAD_ND, taken, pad=(0, missing), value=0)
    return (unbroadcast(grad.masked_fill(mask, 0), ctx.input_metas[0]), None,
            taken.reshape(src_meta.shape))


MASKED_SCATTER = _op("masked_scatter", _masked_scatter_kernel, _masked_scatter_rule,
                     _masked_scatter_vjp, save_inputs=(1,),
                     doc="a with the True positions of mask filled by source, in order")


def _masked_select_rule(a, mask):
    if mask.dtype is not dtypes.bool_:
        raise RuntimeError("masked_select: expected BoolTensor for mask")
    return broadcast_shapes(a.shape, mask.shape)


def _masked_select_kernel(xp, a, mask):
    shape = _masked_select_rule(_meta(a), _meta(mask))
    return xp.broadcast_to(a, shape)[xp.broadcast_to(mask, shape)]


def _masked_select_vjp(ctx, grad):
    a_meta, mask_meta = ctx.input_metas
    shape = broadcast_shapes(a_meta.shape, mask_meta.shape)
    blank = zeros(shape, dtype=grad.dtype, device=grad.device)
    full = call_op(MASKED_SCATTER, blank, ctx.inputs[1], grad)
    return unbroadcast(full, a_meta), None


MASKED_SELECT = _op("masked_select", _masked_select_kernel,
                    lambda a, mask: _same(TensorMeta((-1,), a.dtype), _masked_select_rule(
                        a, mask)), _masked_select_vjp, save_inputs=(1,),
                    doc="the entries of a where mask is True, as a 1-D tensor")

NONZERO = _op("nonzero", lambda xp, a: xp.argwhere(a).astype(xp.int64),
              lambda a: TensorMeta((-1, len(a.shape)), dtypes.int64),
              doc="(n, ndim) int64 coordinates of the non-zero entries")


# --- take / put --------------------------------------------------------------------------

def _check_flat_bounds(xp, index, n):
    if index.size == 0:
        return
    lo, hi = int(index.min()), int(index.max())
    if lo < -n or hi >= n:
        raise IndexError(f"out of range: tried to access index {hi if hi >= n else lo} on a "
                         f"tensor of {n} elements.")


def _take_rule(a, index):
    if index.dtype is not dtypes.int64:
        raise RuntimeError(f"take(): Expected a long tensor for index, but got "
                           f"{scalar_type_name(index.dtype)}")
    return TensorMeta(index.shape, a.dtype)


def _take_kernel(xp, a, index):
    _take_rule(_meta(a), _meta(index))
    _check_flat_bounds(xp, index, a.size)
    if index.size == 0:
        return xp.zeros(index.shape, dtype=a.dtype)
    return xp.take(a.reshape(-1), index)


def _take_vjp(ctx, grad):
    blank = zeros(ctx.input_metas[0].shape, dtype=grad.dtype, device=grad.device)
    return call_op(PUT, blank, ctx.inputs[1], grad, accumulate=True), None


TAKE = _op("take", _take_kernel, _take_rule, _take_vjp, save_inputs=(1,),
           doc="entries of the flattened tensor at `index` (negative indices wrap)")


def _put_rule(a, index, source, accumulate=False):
    if index.dtype is not dtypes.int64:
        raise RuntimeError(f"put_(): Expected a long tensor for index, but got "
                           f"{scalar_type_name(index.dtype)}")
    if source.dtype != a.dtype:
        raise RuntimeError(f"put_(): self and source expected to have the same dtype, but got "
                           f"self.dtype = {scalar_type_name(a.dtype)} and source.dtype = "
                           f"{scalar_type_name(source.dtype)}")
    if _numel(source.shape) != _numel(index.shape):
        raise IndexError(f"put_(): Expected source and index to have the same number of "
                         f"elements, but got source.numel() = {_numel(source.shape)}, "
                         f"index.numel() = {_numel(index.shape)}")
    return a


def _put_kernel(xp, a, index, source, accumulate=False):
    _put_rule(_meta(a), _meta(index), _meta(source))
    out = a.copy()
    _check_flat_bounds(xp, index, a.size)
    flat, idx, vals = out.reshape(-1), index.reshape(-1), source.reshape(-1)
    if accumulate:
        _ufunc_at(xp, "add", flat, idx, vals)
    else:
        flat[idx] = vals
    return out


def _put_vjp(ctx, grad):
    index, src_meta = ctx.inputs[1], ctx.input_metas[2]
    grad_self = grad
    if not ctx.attrs.get("accumulate", False):
        grad_self = call_op(PUT, grad, index, zeros(src_meta.shape, dtype=grad.dtype,
                                                              device=grad.device))
    return grad_self, None, call_op(TAKE, grad, index).reshape(src_meta.shape)


PUT = _op("put", _put_kernel, _put_rule, _put_vjp, save_inputs=(1,),
          doc="a copy of a whose flattened entries at `index` are set to (or, with "
              "accumulate, incremented by) source")
