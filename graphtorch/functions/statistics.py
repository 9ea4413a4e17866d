"""Public sorting, order-statistics, scan and softmax-family functions (`gt.sort`, ...).

Each function parses PyTorch's overloads and calls one registry op from `ops/sorting.py`,
`ops/scans.py` or `ops/softmax.py`; `quantile`, `argsort`, `msort` and `bucketize` are
short compositions of those. Named-tuple results match `torch.return_types`.
"""

from __future__ import annotations

import numbers

from .. import dtypes
from ..ops import scans as scans_ops
from ..ops import softmax as softmax_ops
from ..ops import sorting as sorting_ops
from ..ops.dispatch import call, call_inplace
from ..ops.shape_rules import normalize_dim
from ..tensor import Tensor
from ._wrap import accepts_out, check_tensor, finish
from .creation import tensor, zeros_like
from .math import where
from .reduce import return_types

__all__ = ["sort", "argsort", "msort", "topk", "kthvalue", "median", "nanmedian", "mode",
           "histc", "histogram", "bincount", "unique", "unique_consecutive", "searchsorted",
           "bucketize", "cumsum", "cumprod", "cummax", "cummin", "logcumsumexp", "softmax",
           "log_softmax", "logsumexp", "prod", "quantile", "nanquantile"]


def _finish_pair(name, values, indices, out, fields=("values", "indices")):
    if out is not None:
        finish(values, out[0])
        finish(indices, out[1])
        values, indices = out
    return return_types.get(name, fields)(values, indices)


def _int_dim(dim, fname):
    if not isinstance(dim, numbers.Integral) or isinstance(dim, bool):
        raise TypeError(f"{fname}(): argument 'dim' must be int, not {type(dim).__name__}")
    return int(dim)


# --- sorting and selection -----------------------------------------------------------------

def sort(input, dim=-1, descending=False, stable=False, *, out=None):
    """(values, indices) sorted along `dim`; ties keep their input order; NaN sorts last."""
    check_tensor(input, "sort")
    values, indices = call(sorting_ops.SORT, input, dim=_int_dim(dim, "sort"),
                           descending=bool(descending), stable=bool(stable))
    return _finish_pair("sort", values, indices, out)


@accepts_out
def argsort(input, dim=-1, descending=False, stable=False):
    """The indices that sort `input` along `dim` (the `indices` of `sort`)."""
    return sort(input, dim, descending, stable).indices


def msort(input, *, out=None):
    """`input` sorted along its first dimension."""
    return finish(sort(input, 0).values, out)


def topk(input, k, dim=-1, largest=True, sorted=True, *, out=None):
    """(values, indices) of the `k` largest (or smallest) elements along `dim`."""
    check_tensor(input, "topk")
    values, indices = call(sorting_ops.TOPK, input, k=int(k), dim=_int_dim(dim, "topk"),
                           largest=bool(largest), sorted=bool(sorted))
    return _finish_pair("topk", values, indices, out)


def kthvalue(input, k, dim=-1, keepdim=False, *, out=None):
    """(values, indices) of the `k`-th smallest element (1-based) along `dim`."""
    check_tensor(input, "kthvalue")
    values, indices = call(sorting_ops.KTHVALUE, input, k=int(k), dim=_int_dim(dim, "kthvalue"),
                           keepdim=bool(keepdim))
    return _finish_pair("kthvalue", values, indices, out)


def _median_fn(name, all_op, dim_op):
    def fn(input, dim=None, keepdim=False, *, out=None):
        check_tensor(input, name)
        if dim is None:
            return finish(call(all_op, input), out)
        values, indices = call(dim_op, input, dim=_int_dim(dim, name), keepdim=bool(keepdim))
        return _finish_pair(name, values, indices, out)
    fn.__name__ = name
    return fn


median = _median_fn("median", sorting_ops.MEDIAN, sorting_ops.MEDIAN_DIM)
median.__doc__ = ("The lower median: of all elements (a 0-d tensor; NaN if any is NaN), or "
                  "(values, indices) along `dim`.")
nanmedian = _median_fn("nanmedian", sorting_ops.NANMEDIAN, sorting_ops.NANMEDIAN_DIM)
nanmedian.__doc__ = "Like `median`, ignoring NaN values."


def mode(input, dim=-1, keepdim=False, *, out=None):
    """(values, indices): the most frequent value along `dim` (the smallest on ties) and
    the position of its last occurrence."""
    check_tensor(input, "mode")
    values, indices = call(sorting_ops.MODE, input, dim=_int_dim(dim, "mode"),
                           keepdim=bool(keepdim))
    return _finish_pair("mode", values, indices, out)


def _q_tensor(q, input, fname):
    if isinstance(q, Tensor):
        if q.ndim > 1:
            raise RuntimeError(f"{fname}() q must be a scalar or 1D tensor")
        if q.dtype is not input.dtype:
            raise RuntimeError(f"{fname}() q tensor must be same dtype as the input tensor")
        values = q.reshape(-1).tolist()
        qt, scalar = q.reshape(-1), q.ndim == 0
    else:
        values, qt, scalar = [float(q)], tensor([float(q)], dtype=input.dtype), True
    for v in values:
        if not 0 <= v <= 1:
            raise RuntimeError(f"{fname}() q must be in the range [0, 1] but got {v}")
    return qt, scalar


def _quantile(fname, ignore_nan, input, q, dim, keepdim, interpolation):
    check_tensor(input, fname)
    if input.dtype not in (dtypes.float32, dtypes.float64):
        raise RuntimeError(f"{fname}() input tensor must be either float or double dtype")
    if input.numel() == 0:
        raise RuntimeError(f"{fname}() input tensor must be non-empty")
    if interpolation not in ("linear", "lower", "higher", "midpoint", "nearest"):
        raise RuntimeError(f"{fname}() interpolation must be one of linear, lower, higher, "
                           f"midpoint or nearest. Got {interpolation}")
    qt, scalar = _q_tensor(q, input, fname)
    if dim is None:
        rows = input.reshape(-1)
        out_shape = (1,) * input.ndim if keepdim else ()
    else:
        d = normalize_dim(_int_dim(dim, fname), input.ndim)
        rows = input.movedim(d, -1) if input.ndim else input.reshape(1)
        shape = list(input.shape)
        if shape:
            shape[d] = 1
        out_shape = tuple(shape) if keepdim else tuple(s for i, s in enumerate(input.shape)
                                                       if i != d)
    srt = sort(rows, -1).values                          # (..., n)
    n, last = srt.shape[-1], srt.ndim - 1
    nans = srt.isnan().sum(-1, keepdim=True)              # (..., 1)
    if ignore_nan:
        ranks = (qt * (n - 1 - nans).to(input.dtype)).clamp(min=0)
    else:  # a row with NaN picks its last (NaN) element
        ranks = where(nans == 0, qt * (n - 1), zeros_like(nans, dtype=input.dtype) + (n - 1))
    ranks = _rank_rule(ranks, interpolation)              # (..., k)
    below = ranks.floor().long()
    values = sorting_ops.gather_along(srt, last, below)
    if interpolation in ("linear", "midpoint"):
        above = sorting_ops.gather_along(srt, last, ranks.ceil().long())
        weight = ranks - below.to(input.dtype) if interpolation == "linear" else \
            zeros_like(ranks) + 0.5
        step = above - values  # PyTorch's lerp: from the nearer end, for exact endpoints
        values = where(weight < 0.5, values + step * weight, above - step * (1 - weight))
    result = values.movedim(-1, 0).reshape((qt.shape[0],) + out_shape)
    return result.reshape(out_shape) if scalar else result


def _rank_rule(ranks, interpolation):
    if interpolation == "lower":
        return ranks.floor()
    if interpolation == "higher":
        return ranks.ceil()
    if interpolation == "nearest":
        return ranks.round()
    return ranks


def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear", out=None):
    """The q-th quantiles of `input` (over all elements, or along `dim`)."""
    return finish(_quantile("quantile", False, input, q, dim, keepdim, interpolation), out)


def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear", out=None):
    """Like `quantile`, ignoring NaN values."""
    return finish(_quantile("nanquantile", True, input, q, dim, keepdim, interpolation), out)


# --- counting ----------------------------------------------------------------------------

def histc(input, bins=100, min=0, max=0, *, out=None):
    """Counts in `bins` equal-width bins over [min, max] (the data range when min == max)."""
    check_tensor(input, "histc")
    return finish(call(sorting_ops.HISTC, input, bins=int(bins), min=float(min), max=float(max)),
                  out)


def histogram(input, bins=100, *, range=None, weight=None, density=False, out=None):
    """(hist, bin_edges): `bins` equal bins (or the given edges tensor) over the data."""
    check_tensor(input, "histogram")
    edges = bins if isinstance(bins, Tensor) else None
    attrs = {"density": bool(density)}
    if edges is None:
        attrs["bins"] = int(bins)
    if range is not None:
        attrs["range"] = (float(range[0]), float(range[1]))
    hist, bin_edges = call(sorting_ops.HISTOGRAM, input, edges, weight, **attrs)
    return _finish_pair("histogram", hist, bin_edges, out, ("hist", "bin_edges"))


def bincount(input, weights=None, minlength=0):
    """Occurrences of each value of a 1-D non-negative integer tensor (or summed weights)."""
    check_tensor(input, "bincount")
    return call(sorting_ops.BINCOUNT, input, weights, minlength=int(minlength))


def _unique_result(values, inverse, counts, return_inverse, return_counts):
    if not return_inverse and not return_counts:
        return values
    out = (values,)
    if return_inverse:
        out += (inverse,)
    if return_counts:
        out += (counts,)
    return out


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The sorted distinct elements (or slices along `dim`), with the optional inverse
    indices and counts."""
    check_tensor(input, "unique")
    op = sorting_ops.UNIQUE
    values, inverse, counts = call(op, input, sorted=bool(sorted),
                                   dim=None if dim is None else _int_dim(dim, "unique"))
    return _unique_result(values, inverse, counts, return_inverse, return_counts)


def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """Collapse runs of equal consecutive elements (or slices along `dim`)."""
    check_tensor(input, "unique_consecutive")
    values, inverse, counts = call(sorting_ops.UNIQUE_CONSECUTIVE, input,
                                   dim=None if dim is None else _int_dim(dim, "unique"))
    return _unique_result(values, inverse, counts, return_inverse, return_counts)


def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None,
                 sorter=None, out=None):
    """Indices where `input` values would be inserted into the innermost dim of
    `sorted_sequence` to keep it sorted (`right`/side='right': after equal values)."""
    check_tensor(sorted_sequence, "searchsorted", "sorted_sequence")
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but "
                               f"got {side}")
        if right and side == "left":
            raise RuntimeError("torch.searchsorted(): side and right can't be set to "
                               "opposites, got side of left while right was True")
        right = side == "right"
    if isinstance(input, bool) or not isinstance(input, (Tensor, numbers.Number)):
        input = tensor(input)
    return finish(call(sorting_ops.SEARCHSORTED, sorted_sequence, input, sorter, right=bool(right),
                       out_int32=bool(out_int32)), out)


def bucketize(input, boundaries, *, out_int32=False, right=False, out=None):
    """The bucket of each element of `input` given 1-D sorted `boundaries`."""
    check_tensor(boundaries, "bucketize", "boundaries")
    if boundaries.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim"
                           f"({boundaries.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right, out=out)


# --- scans -------------------------------------------------------------------------------

def _dtype_attr(dtype):
    return {} if dtype is None else {"dtype": dtypes.dtype_argument(dtype)}


def cumsum(input, dim, *, dtype=None, out=None):
    """Running sum along `dim` (integers and bool accumulate in int64)."""
    check_tensor(input, "cumsum")
    return finish(call(scans_ops.CUMSUM, input, dim=_int_dim(dim, "cumsum"), **_dtype_attr(dtype)),
                  out)


def cumsum_(self, dim, *, dtype=None):
    """In-place running sum along `dim`."""
    return call_inplace(scans_ops.CUMSUM, self, dim=_int_dim(dim, "cumsum_"), **_dtype_attr(dtype))


def cumprod(input, dim, *, dtype=None, out=None):
    """Running product along `dim` (integers and bool accumulate in int64)."""
    check_tensor(input, "cumprod")
    dim = _int_dim(dim, "cumprod")
    return finish(call(scans_ops.CUMPROD, input, dim=dim, **_dtype_attr(dtype)), out)


def cumprod_(self, dim, *, dtype=None):
    """In-place running product along `dim`."""
    return call_inplace(scans_ops.CUMPROD, self, dim=_int_dim(dim, "cumprod_"),
                        **_dtype_attr(dtype))


def cummax(input, dim, *, out=None):
    """(values, indices) of the running maximum along `dim` (latest index on ties)."""
    check_tensor(input, "cummax")
    values, indices = call(scans_ops.CUMMAX, input, dim=_int_dim(dim, "cummax"))
    return _finish_pair("cummax", values, indices, out)


def cummin(input, dim, *, out=None):
    """(values, indices) of the running minimum along `dim` (latest index on ties)."""
    check_tensor(input, "cummin")
    values, indices = call(scans_ops.CUMMIN, input, dim=_int_dim(dim, "cummin"))
    return _finish_pair("cummin", values, indices, out)


def logcumsumexp(input, dim, *, out=None):
    """log(cumsum(exp(input))) along `dim`, computed without overflow."""
    check_tensor(input, "logcumsumexp")
    return finish(call(scans_ops.LOGCUMSUMEXP, input, dim=_int_dim(dim, "logcumsumexp")), out)


# --- softmax family and products ---------------------------------------------------------

def _cast(input, dtype):
    if dtype is None:
        return input
    dtype = dtypes.dtype_argument(dtype)
    return input if input.dtype is dtype else input.to(dtype)


def softmax(input, dim, dtype=None, *, out=None):
    """exp(x) / sum(exp(x)) along `dim`; `dtype` casts the input first."""
    check_tensor(input, "softmax")
    return finish(call(softmax_ops.SOFTMAX, _cast(input, dtype), dim=_int_dim(dim, "softmax")), out)


def log_softmax(input, dim, dtype=None, *, out=None):
    """x - logsumexp(x) along `dim`; `dtype` casts the input first."""
    check_tensor(input, "log_softmax")
    dim = _int_dim(dim, "log_softmax")
    return finish(call(softmax_ops.LOG_SOFTMAX, _cast(input, dtype), dim=dim), out)


def logsumexp(input, dim, keepdim=False, *, out=None):
    """log(sum(exp(input))) over `dim` (an int or a tuple), stably; integers give floats."""
    check_tensor(input, "logsumexp")
    dims = tuple(dim) if isinstance(dim, (list, tuple)) else (_int_dim(dim, "logsumexp"),)
    return finish(call(softmax_ops.LOGSUMEXP, input, dims=dims or None, keepdim=bool(keepdim)), out)


def prod(input, dim=None, keepdim=False, *, dtype=None, out=None):
    """Product of all elements, or along one `dim` (integers multiply in int64)."""
    check_tensor(input, "prod")
    attrs = _dtype_attr(dtype)
    if dim is None:
        if keepdim:
            raise TypeError("prod(): argument 'dim' must be int, not NoneType")
        return finish(call(softmax_ops.PROD, input, dims=None, keepdim=False, **attrs), out)
    dims = (_int_dim(dim, "prod"),)
    return finish(call(softmax_ops.PROD_DIM, input, dims=dims, keepdim=bool(keepdim), **attrs), out)


