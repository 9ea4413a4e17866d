"""Order statistics: sort, topk, kthvalue, median, mode, unique, searchsorted, histograms.

Every selection op sorts stably with NaN as the largest value (PyTorch's order) and returns
int64 indices; its vjp scatters the incoming gradient back to the selected positions with
`scatter_along` (index_put on an index grid), so the rules stay written in graphtorch ops.
"""

from __future__ import annotations

import math

from .. import dtypes
from ..dtypes import scalar_type_name
from .dispatch import call
from .factories import arange, zeros
from .indexing import INDEX, INDEX_PUT
from .registry import Category, OpDef, TensorMeta, register
from .shape_rules import normalize_dim

OPAQUE = Category.OPAQUE



def not_implemented(kernel_name: str, dtype) -> NotImplementedError:
    return NotImplementedError(f'"{kernel_name}" not implemented for \'{scalar_type_name(dtype)}\'')


def _dtype_of(x):
    return x.dtype if isinstance(x, TensorMeta) else dtypes.from_numpy_dtype(x.dtype)


# --- shared helpers (also used by scans.py and softmax.py) -------------------------------

def contiguous(xp, a):
    """A C-contiguous array (no negative strides); 0-d arrays stay 0-d."""
    return a if a.ndim == 0 or a.flags.c_contiguous else xp.ascontiguousarray(a)


_contig = contiguous


def sort_indices(xp, a, axis: int, descending: bool = False):
    """Stable argsort along `axis` with NaN largest; descending keeps ties in input order."""
    if not descending:
        return xp.argsort(a, axis=axis, kind="stable")
    n = a.shape[axis]
    flipped = xp.argsort(xp.flip(a, axis), axis=axis, kind="stable")
    return _contig(xp, (n - 1) - xp.flip(flipped, axis))


def index_grid(shape, dim: int, index, device=None):
    """Index tensors addressing `index` positions along `dim` (arange on the other dims)."""
    nd = len(shape)
    items = []
    for k in range(nd):
        if k == dim:
            items.append(index)
        else:
            view = [1] * nd
            view[k] = index.shape[k]
            items.append(arange(index.shape[k], device=device).reshape(view))
    return items, tuple(("tensor", k) for k in range(nd))


def scatter_along(shape, dim: int, index, src, accumulate: bool = False):
    """blank(shape).scatter(dim, index, src) (scatter_add with accumulate) in tensor ops."""
    index = index.detach()
    if len(shape) == 0:
        return src.reshape(())
    blank = zeros(tuple(shape), dtype=src.dtype, device=src.device)
    items, spec = index_grid(shape, dim, index, src.device)
    return call(INDEX_PUT, blank, src, *items, spec=spec, accumulate=accumulate)


def gather_along(src, dim: int, index):
    """src.gather(dim, index) in tensor ops."""
    index = index.detach()
    if src.ndim == 0:
        return src.reshape(index.shape)
    items, spec = index_grid(src.shape, dim, index, src.device)
    return call(INDEX, src, *items, spec=spec)


def _select_vjp(ctx, grad_values, grad_indices=None):
    """Values picked at `indices` along `dim` (keepdim or not): scatter the grad back."""
    meta = ctx.input_metas[0]
    indices = ctx.outputs[1]
    dim = normalize_dim(ctx.attrs.get("dim", -1), len(meta.shape))
    if grad_values.ndim < len(meta.shape):  # reduced without keepdim
        grad_values = grad_values.unsqueeze(dim)
        indices = indices.unsqueeze(dim)
    return (scatter_along(meta.shape, dim, indices, grad_values),)


def _check_sortable(dtype):
    if dtype.is_complex:
        raise RuntimeError("Sort does not support complex dtypes on CPU")


def _pair_meta(shape, dtype):
    return TensorMeta(tuple(shape), dtype), TensorMeta(tuple(shape), dtypes.int64)


# --- sort / topk ---------------------------------------------------------------------------

def _sort_kernel(xp, a, dim=-1, descending=False, stable=False):
    _check_sortable(_dtype_of(a))
    d = normalize_dim(dim, a.ndim)
    if a.ndim == 0:
        return a.copy(), xp.zeros((), dtype=xp.int64)
    idx = sort_indices(xp, a, d, descending)
    values, idx = xp.take_along_axis(a, idx, axis=d), idx.astype(xp.int64, copy=False)
    if a.flags.c_contiguous:
        return values, idx
    # PyTorch lays both results out in a's strides (dense ones inferred from them)
    out_values, out_idx = xp.empty_like(a), xp.empty_like(a, dtype=xp.int64)
    out_values[...], out_idx[...] = values, idx
    return out_values, out_idx


def _sort_infer(a, dim=-1, descending=False, stable=False):
    _check_sortable(a.dtype)
    normalize_dim(dim, len(a.shape))
    return _pair_meta(a.shape, a.dtype)


SORT = register(OpDef("sort", OPAQUE, _sort_kernel, _sort_infer, _select_vjp, save_output=(1,),
                      num_outputs=2, doc="(values, indices) sorted stably along dim"))


def _topk_check(shape, k, dim):
    d = normalize_dim(dim, len(shape))
    size = shape[d] if shape else 1
    if not 0 <= k <= size:
        raise RuntimeError("selected index k out of range")
    return d


def _topk_kernel(xp, a, k, dim=-1, largest=True, sorted=True):
    _check_sortable(_dtype_of(a))
    d = _topk_check(a.shape, k, dim)
    if a.ndim == 0:
        return a.copy(), xp.zeros((), dtype=xp.int64)
    idx = sort_indices(xp, a, d, largest)
    idx = _contig(xp, xp.take(idx, xp.arange(k), axis=d))
    return xp.take_along_axis(a, idx, axis=d), idx.astype(xp.int64, copy=False)


def _topk_infer(a, k, dim=-1, largest=True, sorted=True):
    _check_sortable(a.dtype)
    d = _topk_check(a.shape, k, dim)
    shape = list(a.shape)
    if shape:
        shape[d] = k
    return _pair_meta(shape, a.dtype)


TOPK = register(OpDef("topk", OPAQUE, _topk_kernel, _topk_infer, _select_vjp, save_output=(1,),
                      num_outputs=2, doc="the k largest (or smallest) values along dim"))


# --- kthvalue / median / mode ------------------------------------------------------------

def _reduce_dim_shape(shape, d, keepdim):
    if not shape:
        return ()
    return tuple(1 if i == d else s for i, s in enumerate(shape)) if keepdim else \
        tuple(s for i, s in enumerate(shape) if i != d)


def _pick(xp, a, idx, d, keepdim):
    """Values of `a` at per-row positions `idx` (shape of a with dim d of size 1)."""
    values = xp.take_along_axis(a, idx, axis=d)
    if not keepdim:
        values, idx = values.squeeze(d), idx.squeeze(d)
    return _contig(xp, values), _contig(xp, idx).astype(xp.int64, copy=False)


def _nonempty_dim(fname, shape, d):
    if shape and shape[d] == 0:
        raise IndexError(f"{fname}(): Expected reduction dim {d} to have non-zero size.")


def _kthvalue_kernel(xp, a, k, dim=-1, keepdim=False):
    _kthvalue_check(_dtype_of(a), a.shape, k, dim)
    d = normalize_dim(dim, a.ndim)
    if a.ndim == 0:
        return a.copy(), xp.zeros((), dtype=xp.int64)
    order = sort_indices(xp, a, d)
    idx = xp.take(order, xp.asarray([k - 1]), axis=d)
    return _pick(xp, a, idx, d, keepdim)


def _kthvalue_check(dtype, shape, k, dim):
    _check_sortable(dtype)
    d = normalize_dim(dim, len(shape))
    _nonempty_dim("kthvalue", shape, d)
    size = shape[d] if shape else 1
    if not 1 <= k <= size:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}")
    return d


def _kthvalue_infer(a, k, dim=-1, keepdim=False):
    d = _kthvalue_check(a.dtype, a.shape, k, dim)
    return _pair_meta(_reduce_dim_shape(a.shape, d, keepdim), a.dtype)


KTHVALUE = register(OpDef("kthvalue", OPAQUE, _kthvalue_kernel, _kthvalue_infer, _select_vjp,
                          save_output=(1,), num_outputs=2,
                          doc="(values, indices) of the k-th smallest along dim"))


def _median_position(xp, a, order, d, ignore_nan):
    """Per-row sorted position of the lower median; NaN rows pick their first NaN."""
    n = a.shape[d]
    if a.dtype.kind not in "fc":
        return xp.full(a.shape[:d] + (1,) + a.shape[d + 1:], (n - 1) // 2, dtype=xp.int64)
    nans = xp.isnan(a).sum(axis=d, keepdims=True)
    if ignore_nan:
        valid = n - nans
        return xp.where(valid > 0, (valid - 1) // 2, 0)
    return xp.where(nans > 0, n - nans, (n - 1) // 2)


def _median_check(fname, dtype):
    if dtype is dtypes.bool_ or dtype.is_complex:
        raise not_implemented(f"{fname}_cpu", dtype)


def _median_dim_kernel(fname, ignore_nan):
    def kernel(xp, a, dim=-1, keepdim=False):
        _median_check(fname, _dtype_of(a))
        d = normalize_dim(dim, a.ndim)
        if a.ndim == 0:
            return a.copy(), xp.zeros((), dtype=xp.int64)
        _nonempty_dim(fname, a.shape, d)
        order = sort_indices(xp, a, d)
        pos = _median_position(xp, a, order, d, ignore_nan)
        return _pick(xp, a, xp.take_along_axis(order, pos, axis=d), d, keepdim)
    return kernel


def _median_dim_infer(fname):
    def infer(a, dim=-1, keepdim=False):
        _median_check(fname, a.dtype)
        d = normalize_dim(dim, len(a.shape))
        _nonempty_dim(fname, a.shape, d)
        return _pair_meta(_reduce_dim_shape(a.shape, d, keepdim), a.dtype)
    return infer


MEDIAN_DIM = register(OpDef(
    "median_dim", OPAQUE, _median_dim_kernel("median", False), _median_dim_infer("median"),
    _select_vjp, save_output=(1,), num_outputs=2, backward_name="MedianBackward1",
    doc="(values, indices) of the lower median along dim (NaN propagates)"))
NANMEDIAN_DIM = register(OpDef(
    "nanmedian_dim", OPAQUE, _median_dim_kernel("nanmedian", True),
    _median_dim_infer("nanmedian"), _select_vjp, save_output=(1,), num_outputs=2,
    backward_name="NanmedianBackward1", doc="median along dim ignoring NaN"))


def _median_all_kernel(fname, ignore_nan):
    def kernel(xp, a):
        _median_check(fname, _dtype_of(a))
        flat = a.reshape(-1)
        if flat.size == 0:
            return xp.full((), xp.nan, dtype=a.dtype)
        order = sort_indices(xp, flat, 0)
        pos = _median_position(xp, flat, order, 0, ignore_nan)
        return _contig(xp, flat[order[pos]].reshape(()))
    return kernel


def _median_all_infer(fname):
    def infer(a):
        _median_check(fname, a.dtype)
        return TensorMeta((), a.dtype)
    return infer


def _evenly_distribute_vjp(ctx, grad):
    """PyTorch's rule for the global median: the grad is shared by the elements equal to it."""
    x, value = ctx.inputs[0], ctx.output
    mask = x.isnan() if bool(value.isnan()) else x == value
    mask = mask.to(grad.dtype)
    return (mask * (grad / mask.sum()),)


MEDIAN = register(OpDef("median", OPAQUE, _median_all_kernel("median", False),
                        _median_all_infer("median"), _evenly_distribute_vjp, save_inputs=(0,),
                        save_output=True, doc="lower median of all elements (NaN propagates)"))
NANMEDIAN = register(OpDef("nanmedian", OPAQUE, _median_all_kernel("nanmedian", True),
                           _median_all_infer("nanmedian"), _evenly_distribute_vjp,
                           save_inputs=(0,), save_output=True,
                           doc="lower median of the non-NaN elements"))


def _mode_kernel(xp, a, dim=-1, keepdim=False):
    _check_sortable(_dtype_of(a))
    d = normalize_dim(dim, a.ndim)
    if a.ndim == 0:
        return a.copy(), xp.zeros((), dtype=xp.int64)
    _nonempty_dim("mode", a.shape, d)
    moved = xp.moveaxis(a, d, -1)
    lead, n = moved.shape[:-1], moved.shape[-1]
    rows = moved.reshape(-1, n)
    order = xp.argsort(rows, axis=1, kind="stable")
    srt = xp.take_along_axis(rows, order, axis=1)
    # Runs of equal values in each sorted row (NaN never equals itself: each is its own run).
    starts = xp.ones(srt.shape, dtype=bool)
    starts[:, 1:] = srt[:, 1:] != srt[:, :-1]
    run_id = xp.cumsum(starts.reshape(-1)) - 1
    counts = xp.bincount(run_id)[run_id].reshape(srt.shape) if srt.size else run_id
    best = xp.argmax(counts, axis=1)[:, None] if srt.size else xp.zeros((0, 1), xp.int64)
    values = xp.take_along_axis(srt, best, axis=1)
    # PyTorch reports the last occurrence of the mode in the input.
    hits = rows == values
    last = (n - 1) - xp.argmax(hits[:, ::-1], axis=1)[:, None]
    if rows.dtype.kind == "f":
        last = xp.where(xp.isnan(values), xp.take_along_axis(order, best, axis=1), last)
    values = values.reshape(lead + (1,))
    index = last.reshape(lead + (1,)).astype(xp.int64)
    values, index = xp.moveaxis(values, -1, d), xp.moveaxis(index, -1, d)
    if not keepdim:
        values, index = values.squeeze(d), index.squeeze(d)
    return _contig(xp, values), _contig(xp, index)


def _mode_infer(a, dim=-1, keepdim=False):
    _check_sortable(a.dtype)
    d = normalize_dim(dim, len(a.shape))
    _nonempty_dim("mode", a.shape, d)
    return _pair_meta(_reduce_dim_shape(a.shape, d, keepdim), a.dtype)


MODE = register(OpDef("mode", OPAQUE, _mode_kernel, _mode_infer, _select_vjp, save_output=(1,),
                      num_outputs=2,
                      doc="(values, indices): the smallest most frequent value along dim and "
                          "its last position"))


# --- unique ------------------------------------------------------------------------------

def _unique_flat(xp, a):
    flat = a.reshape(-1)
    order = xp.argsort(flat, kind="stable")
    srt = flat[order]
    starts = xp.ones(srt.shape, dtype=bool)
    starts[1:] = srt[1:] != srt[:-1]  # NaN never equals NaN: every NaN is kept, as PyTorch
    group = xp.cumsum(starts) - 1
    inverse = xp.empty(flat.shape, dtype=xp.int64)
    inverse[order] = group
    counts = xp.bincount(group, minlength=int(starts.sum())) if srt.size else \
        xp.zeros(0, dtype=xp.int64)
    return srt[starts], inverse.reshape(a.shape), counts.astype(xp.int64)


def _unique_dim(xp, a, d):
    if any(s == 0 for i, s in enumerate(a.shape) if i != d):
        raise RuntimeError("There are 0 sized dimensions, and they aren't selected, so unique "
                           "cannot be applied")
    if a.shape[d] == 0:
        return a.copy(), xp.zeros(0, dtype=xp.int64), xp.zeros(0, dtype=xp.int64)
    moved = xp.moveaxis(a, d, 0)
    rows = moved.reshape(moved.shape[0], -1)
    # Lexicographic row order: lexsort's last key is the primary one.
    order = xp.lexsort(rows.T[::-1]) if rows.shape[1] else xp.arange(rows.shape[0])
    srt = rows[order]
    starts = xp.ones(srt.shape[0], dtype=bool)
    starts[1:] = xp.any(srt[1:] != srt[:-1], axis=1)
    group = xp.cumsum(starts) - 1
    inverse = xp.empty(rows.shape[0], dtype=xp.int64)
    inverse[order] = group
    counts = xp.bincount(group).astype(xp.int64)
    values = srt[starts].reshape((-1,) + moved.shape[1:])
    return _contig(xp, xp.moveaxis(values, 0, d)), inverse, counts


def _unique_kernel(xp, a, sorted=True, dim=None):
    _check_sortable(_dtype_of(a))
    if dim is None:
        return _unique_flat(xp, a)
    return _unique_dim(xp, a, normalize_dim(dim, a.ndim))


def _consecutive_kernel(xp, a, dim=None):
    if dim is None:
        flat = a.reshape(-1)
        starts = xp.ones(flat.shape, dtype=bool)
        starts[1:] = flat[1:] != flat[:-1]
        values = flat[starts]
        group = xp.cumsum(starts) - 1
        inverse = group.reshape(a.shape).astype(xp.int64)
    else:
        d = normalize_dim(dim, a.ndim)
        moved = xp.moveaxis(a, d, 0)
        rows = moved.reshape(moved.shape[0], -1)
        starts = xp.ones(rows.shape[0], dtype=bool)
        starts[1:] = xp.any(rows[1:] != rows[:-1], axis=1)
        values = _contig(xp, xp.moveaxis(moved[starts], 0, d))
        group = xp.cumsum(starts) - 1
        inverse = group.astype(xp.int64)
    counts = xp.bincount(group).astype(xp.int64) if group.size else xp.zeros(0, xp.int64)
    return values, _contig(xp, inverse), counts


def _unknown_size_infer(a, **attrs):
    """Data-dependent output sizes: the shape rule reports -1 for the unknown length."""
    _check_sortable(a.dtype)
    dim = attrs.get("dim")
    if dim is None:
        return (TensorMeta((-1,), a.dtype), TensorMeta(a.shape, dtypes.int64),
                TensorMeta((-1,), dtypes.int64))
    d = normalize_dim(dim, len(a.shape))
    shape = tuple(-1 if i == d else s for i, s in enumerate(a.shape))
    return (TensorMeta(shape, a.dtype), TensorMeta((a.shape[d] if a.shape else 1,),
                                                   dtypes.int64),
            TensorMeta((-1,), dtypes.int64))


def _no_derivative(name):
    def vjp(ctx, *grads):
        raise NotImplementedError(f"the derivative for '{name}' is not implemented.")
    return vjp


UNIQUE = register(OpDef("unique", OPAQUE, _unique_kernel, _unknown_size_infer,
                        _no_derivative("_unique2"), num_outputs=3,
                        backward_name="Unique2Backward0",
                        doc="(values, inverse, counts): sorted distinct values (or slices "
                            "along dim)"))
UNIQUE_CONSECUTIVE = register(OpDef(
    "unique_consecutive", OPAQUE, _consecutive_kernel, _unknown_size_infer,
    _no_derivative("unique_consecutive"), num_outputs=3,
    doc="(values, inverse, counts) collapsing runs of equal consecutive values"))


# --- searchsorted ------------------------------------------------------------------------

def _searchsorted_kernel(xp, boundaries, values, sorter=None, right=False, out_int32=False):
    _searchsorted_check(boundaries.shape, getattr(values, "shape", ()), sorter)
    n = boundaries.shape[-1]
    values = xp.asarray(values)
    if boundaries.ndim > 1:
        bd = boundaries if sorter is None else xp.take_along_axis(boundaries, sorter, -1)
    else:
        bd = boundaries if sorter is None else boundaries[sorter]
    # PyTorch's binary search, vectorised: its comparisons decide where NaNs land.
    start = xp.zeros(values.shape, dtype=xp.int64)
    end = xp.full(values.shape, n, dtype=xp.int64)
    for _ in range(max(n, 1).bit_length() + 1):
        active = start < end
        mid = (start + end) // 2
        safe = xp.minimum(mid, max(n - 1, 0))
        pivot = bd[safe] if bd.ndim == 1 else xp.take_along_axis(bd, safe, axis=-1)
        go_right = ~(pivot > values) if right else ~(pivot >= values)
        start = xp.where(active & go_right, mid + 1, start)
        end = xp.where(active & ~go_right, mid, end)
    return start.astype(xp.int32 if out_int32 else xp.int64)


def _searchsorted_check(bshape, vshape, sorter):
    if len(bshape) == 0:
        raise RuntimeError("torch.searchsorted(): boundaries tensor should have positive "
                           "dimension, but got 0 dimension")
    if len(bshape) > 1 and (len(vshape) != len(bshape) or tuple(vshape[:-1]) !=
                            tuple(bshape[:-1])):
        raise RuntimeError(
            "torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 "
            "dimensions of boundaries tensor and input value tensor must match, but we got "
            f"boundaries tensor {list(bshape)} and input value tensor {list(vshape)}")
    if sorter is not None and tuple(sorter.shape) != tuple(bshape):
        raise RuntimeError("torch.searchsorted(): boundary and sorter must have the same size, "
                           f"but got boundary tensor {list(bshape)}and got sorter tensor "
                           f"{list(sorter.shape)}")


def _searchsorted_infer(boundaries, values, sorter=None, right=False, out_int32=False):
    vshape = values.shape if isinstance(values, TensorMeta) else ()
    _searchsorted_check(boundaries.shape, vshape, sorter)
    return TensorMeta(tuple(vshape), dtypes.int32 if out_int32 else dtypes.int64)


SEARCHSORTED = register(OpDef("searchsorted", OPAQUE, _searchsorted_kernel, _searchsorted_infer,
                              doc="insertion positions of values in sorted boundaries"))

# --- histograms and counting ---------------------------------------------------------------


def torch_linspace(xp, lo, hi, steps, np_dtype):
    """PyTorch's CPU linspace (both halves stepped from their own end) in `np_dtype`."""
    start, end = np_dtype.type(lo), np_dtype.type(hi)
    if steps == 1:
        return xp.asarray([start], dtype=np_dtype)
    step = (end - start) / np_dtype.type(steps - 1)
    i = xp.arange(steps)
    head = start + step * i.astype(np_dtype)
    tail = end - step * (steps - 1 - i).astype(np_dtype)
    return xp.where(i < steps // 2, head, tail).astype(np_dtype)


def _bin_counts(xp, flat, edges, weights=None):
    """Histogram of `flat` over sorted `edges` (the last bin is closed), PyTorch's rule."""
    nbins = edges.shape[0] - 1
    keep = (flat >= edges[0]) & (flat <= edges[-1])
    pos = xp.searchsorted(edges, flat[keep], side="right") - 1
    pos = xp.minimum(pos, nbins - 1)
    w = None if weights is None else weights[keep]
    return xp.bincount(pos, weights=w, minlength=nbins)[:nbins]


def _histc_kernel(xp, a, bins=100, min=0.0, max=0.0):
    _histc_check(_dtype_of(a), bins, min, max)
    lo, hi = float(min), float(max)
    if lo == hi and a.size:
        lo, hi = float(a.min()), float(a.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise RuntimeError(f"torch.histc: range of [{lo:g}, {hi:g}] is not finite")
    if lo > hi:
        raise RuntimeError("torch.histc: max must be larger than min")
    edges = torch_linspace(xp, lo, hi, bins + 1, a.dtype)
    return _bin_counts(xp, a.reshape(-1), edges).astype(a.dtype)


def _histc_check(dtype, bins, lo, hi):
    if not dtype.is_floating_point:
        raise not_implemented("histogram_cpu", dtype)
    if bins <= 0:
        raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for "
                           "dimension 0")
    if lo > hi:
        raise RuntimeError("torch.histc: max must be larger than min")


def _histc_infer(a, bins=100, min=0.0, max=0.0):
    _histc_check(a.dtype, bins, min, max)
    return TensorMeta((bins,), a.dtype)


HISTC = register(OpDef("histc", OPAQUE, _histc_kernel, _histc_infer,
                       doc="counts in `bins` equal bins over [min, max]"))


def _histogram_kernel(xp, a, edges=None, weight=None, bins=100, range=None, density=False):
    _histogram_check(_dtype_of(a), edges, weight, a.shape, bins)
    flat = a.reshape(-1)
    if edges is None:
        if range is not None:
            lo, hi = float(range[0]), float(range[1])
        else:
            lo, hi = (float(flat.min()), float(flat.max())) if flat.size else (0.0, 0.0)
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise RuntimeError(f"torch.histogramdd: dimension 0's range [{lo:g}, {hi:g}] is "
                               "not finite")
        if lo > hi:
            raise RuntimeError(f"torch.histogramdd: min should not exceed max, but got min "
                               f"{lo:g} max {hi:g} for dimension 0")
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5  # NumPy's and PyTorch's empty-range rule
        edges = torch_linspace(xp, lo, hi, bins + 1, a.dtype)
    else:
        edges = _contig(xp, edges).astype(a.dtype)
    w = None if weight is None else weight.reshape(-1).astype(xp.float64)
    hist = _bin_counts(xp, flat, edges, w).astype(xp.float64)
    if density:
        widths = xp.diff(edges.astype(xp.float64))
        hist = hist / (hist.sum() * widths)
    return hist.astype(a.dtype), edges


def _histogram_check(dtype, edges, weight, shape, bins):
    if not dtype.is_floating_point:
        raise not_implemented("histogram_cpu", dtype)
    if edges is None and bins <= 0:
        raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for "
                           "dimension 0")
    if edges is not None and (len(edges.shape) != 1 or edges.shape[0] < 2):
        raise RuntimeError("torch.histogram(): bins tensor should have one dimension and at "
                           "least 2 elements")
    if weight is not None and tuple(weight.shape) != tuple(shape):
        raise RuntimeError("torch.histogram(): if weight tensor is provided it should have the "
                           "same shape as the input tensor")


def _histogram_infer(a, edges=None, weight=None, bins=100, range=None, density=False):
    _histogram_check(a.dtype, edges, weight, a.shape, bins)
    n = edges.shape[0] - 1 if edges is not None else bins
    return TensorMeta((n,), a.dtype), TensorMeta((n + 1,), a.dtype)


HISTOGRAM = register(OpDef("histogram", OPAQUE, _histogram_kernel, _histogram_infer,
                           num_outputs=2, doc="(hist, bin_edges) over bins or given edges"))


def _bincount_kernel(xp, a, weights=None, minlength=0):
    _bincount_check(_dtype_of(a), a.shape, weights, minlength)
    if a.size and int(a.min()) < 0:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if weights is None or a.size == 0:  # PyTorch: an empty input counts in int64 always
        return xp.bincount(a, minlength=minlength).astype(xp.int64)
    out = xp.bincount(a, weights=weights, minlength=minlength)
    return out.astype(weights.dtype if weights.dtype.kind == "f" and weights.dtype.itemsize
                      >= 4 else xp.float64)


def _bincount_check(dtype, shape, weights, minlength):
    if dtype is dtypes.bool_ or dtype.category > dtypes.Category.INT:
        raise not_implemented("bincount_cpu", dtype)
    if len(shape) != 1:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    if weights is not None and (len(weights.shape) != 1 or weights.shape[0] != shape[0]):
        raise RuntimeError("weights should be 1-d and have the same length as input")


def _bincount_infer(a, weights=None, minlength=0):
    _bincount_check(a.dtype, a.shape, weights, minlength)
    if weights is None or 0 in a.shape:  # an empty input counts in int64, as the kernel
        return TensorMeta((-1,), dtypes.int64)
    wd = weights.dtype
    return TensorMeta((-1,), wd if wd in (dtypes.float32, dtypes.float64) else dtypes.float64)


BINCOUNT = register(OpDef("bincount", OPAQUE, _bincount_kernel, _bincount_infer,
                          doc="occurrences (or summed weights) of each non-negative integer"))
