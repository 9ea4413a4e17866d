"""Public index-driven functions: gather/scatter (+add, +reduce), take_along_dim,
index_select/add/copy/fill, masked_fill/scatter/select, nonzero/argwhere, take/put, and
their in-place Tensor methods. Primitives live in `graphtorch/ops/scatter.py`."""

from __future__ import annotations

import warnings

from .. import dtypes
from ..dtypes import scalar_type_name
from ..ops import scatter as scatter_ops
from ..ops.dispatch import call, call_inplace
from ..ops.shape_rules import broadcast_shapes, normalize_dim
from ..tensor import Tensor
from ._wrap import as_operand, finish
from .movement import _int

__all__ = ["gather", "scatter", "scatter_add", "scatter_reduce", "index_select", "index_add",
           "index_reduce", "index_copy", "index_fill", "masked_fill", "masked_scatter",
           "masked_select", "nonzero", "argwhere", "take", "take_along_dim", "put"]


# --- gather / scatter --------------------------------------------------------------------

def gather(input, dim, index, *, sparse_grad=False, out=None):
    """out[i][j] = input[index[i][j]][j] for dim 0 (and likewise for other dims)."""
    return finish(call(scatter_ops.GATHER, input, index, dim=_int(dim)), out)


def _src(src, value, fname):
    if src is None:
        src = value
    if src is None:
        raise TypeError(f"{fname}() missing 1 required positional argument: \"src\"")
    return src if isinstance(src, Tensor) else as_operand(src)


def scatter(input, dim, index, src=None, value=None, *, reduce=None, out=None):
    """A copy of input with src (a tensor or a number) written at the positions `index` names."""
    src = _src(src, value, "scatter")
    if reduce is not None and isinstance(src, Tensor):
        warnings.warn("The reduce argument of torch.scatter with Tensor src is deprecated and "
                      "will be removed in a future PyTorch release. Use torch.scatter_reduce "
                      "instead for more reduction options.", UserWarning, stacklevel=2)
    return finish(call(scatter_ops.SCATTER, input, index, src, dim=_int(dim), reduce=reduce), out)


def scatter_(self, dim, index, src=None, value=None, *, reduce=None):
    src = _src(src, value, "scatter_")
    return call_inplace(scatter_ops.SCATTER, self, index, src, dim=_int(dim), reduce=reduce)


def scatter_add(input, dim, index, src, *, out=None):
    """A copy of input with src added at the positions `index` names (repeats accumulate)."""
    return finish(call(scatter_ops.SCATTER_ADD, input, index, src, dim=_int(dim)), out)


def scatter_add_(self, dim, index, src):
    return call_inplace(scatter_ops.SCATTER_ADD, self, index, src, dim=_int(dim))


def scatter_reduce(input, dim, index, src, reduce, *, include_self=True, out=None):
    """Reduce src into input's indexed positions with sum, prod, mean, amax or amin."""
    return finish(call(scatter_ops.SCATTER_REDUCE, input, index, src, dim=_int(dim), reduce=reduce,
                       include_self=bool(include_self)), out)


def scatter_reduce_(self, dim, index, src, reduce, *, include_self=True):
    return call_inplace(scatter_ops.SCATTER_REDUCE, self, index, src, dim=_int(dim), reduce=reduce,
                        include_self=bool(include_self))


def take_along_dim(input, indices, dim=None, *, out=None):
    """gather() with input and indices broadcast against each other except along `dim`."""
    if indices.dtype is not dtypes.int64:
        raise RuntimeError(f"torch.take_along_dim(): dtype of indices should be Long but got "
                           f"{scalar_type_name(indices.dtype)}")
    if dim is None:
        return finish(call(scatter_ops.GATHER, input.reshape(-1), indices.reshape(-1), dim=0), out)
    if input.ndim != indices.ndim:
        raise RuntimeError(f"torch.take_along_dim(): input and indices should have the same "
                           f"number of dimensions, but got {input.ndim} dimensions for input, "
                           f"and {indices.ndim} dimensions for indices")

    d = normalize_dim(_int(dim), input.ndim)
    want = list(input.shape)
    want[d] = indices.shape[d]
    indices = indices.expand(*broadcast_shapes(tuple(want), tuple(indices.shape)))
    want = list(indices.shape)
    want[d] = input.shape[d]
    input = input.expand(*broadcast_shapes(tuple(want), tuple(input.shape)))
    return finish(call(scatter_ops.GATHER, input, indices, dim=d), out)


# --- index_* -----------------------------------------------------------------------------

def index_select(input, dim, index, *, out=None):
    """The entries of input at `index` (a vector) along `dim`."""
    return finish(call(scatter_ops.INDEX_SELECT, input, index, dim=_int(dim)), out)


def index_add(input, dim, index, source, *, alpha=1, out=None):
    """A copy of input with alpha * source added at `index` along `dim`."""
    return finish(call(scatter_ops.INDEX_ADD, input, index, source, dim=_int(dim), alpha=alpha),
                  out)


def index_add_(self, dim, index, source, *, alpha=1):
    return call_inplace(scatter_ops.INDEX_ADD, self, index, source, dim=_int(dim), alpha=alpha)


_INDEX_REDUCTIONS = ("prod", "mean", "amax", "amin")
_BETA_WARNED: list = []


def _index_as_scatter(input, dim, index, source, reduce):
    """(dim, index) of `scatter_reduce` doing index_reduce: index spread along `dim` of
    source."""
    if reduce not in _INDEX_REDUCTIONS:
        raise RuntimeError(f"index_reduce(): Expected reduce to be one of prod, mean, amax or "
                           f"amin but got {reduce}.")
    if index.ndim > 1:
        raise IndexError("index_reduce_(): Index is supposed to be a vector")
    d = normalize_dim(_int(dim), max(input.ndim, 1))
    if source.ndim and index.numel() != source.shape[d]:
        raise RuntimeError(f"index_reduce_(): Number of indices ({index.numel()}) should be "
                           f"equal to source.size(dim): ({source.shape[d]}), for dim: {d}")
    if not _BETA_WARNED:
        _BETA_WARNED.append(True)  # once per process, as PyTorch's TORCH_WARN_ONCE
        warnings.warn("index_reduce() is in beta and the API may change at any time.",
                      UserWarning, stacklevel=3)
    shape = [1] * source.ndim
    if source.ndim:
        shape[d] = -1
    return d, index.reshape(shape).expand(tuple(source.shape))


def index_reduce(input, dim, index, source, reduce, *, include_self=True, out=None):
    """A copy of input with source's slices reduced (prod, mean, amax, amin) into the
    slices `index` names along `dim` (``Tensor.index_reduce``)."""
    d, spread = _index_as_scatter(input, dim, index, source, reduce)
    return scatter_reduce(input, d, spread, source, reduce, include_self=include_self, out=out)


def index_reduce_(self, dim, index, source, reduce, *, include_self=True):
    d, spread = _index_as_scatter(self, dim, index, source, reduce)
    return scatter_reduce_(self, d, spread, source, reduce, include_self=include_self)


def index_copy(input, dim, index, source, *, out=None):
    """A copy of input whose slices at `index` along `dim` are replaced by source."""
    return finish(call(scatter_ops.INDEX_COPY, input, index, source, dim=_int(dim)), out)


def index_copy_(self, dim, index, source):
    return call_inplace(scatter_ops.INDEX_COPY, self, index, source, dim=_int(dim))


def index_fill(input, dim, index, value):
    """A copy of input whose slices at `index` along `dim` are set to value."""
    return call(scatter_ops.INDEX_FILL, input, index, as_operand(value), dim=_int(dim))


def index_fill_(self, dim, index, value):
    return call_inplace(scatter_ops.INDEX_FILL, self, index, as_operand(value), dim=_int(dim))


# --- masked_* / nonzero / take / put -----------------------------------------------------

def masked_fill(input, mask, value):
    """input where mask is False, value (a number or a 0-d tensor) where it is True."""
    return call(scatter_ops.MASKED_FILL, input, mask, as_operand(value))


def masked_fill_(self, mask, value):
    return call_inplace(scatter_ops.MASKED_FILL, self, mask, as_operand(value))


def masked_scatter(input, mask, source):
    """input with its True-mask positions filled by consecutive entries of source."""
    return call(scatter_ops.MASKED_SCATTER, input, mask, source)


def masked_scatter_(self, mask, source):
    return call_inplace(scatter_ops.MASKED_SCATTER, self, mask, source)


def masked_select(input, mask, *, out=None):
    """The entries of input where mask (broadcast) is True, as a 1-D tensor."""
    return finish(call(scatter_ops.MASKED_SELECT, input, mask), out)


def nonzero(input, *, out=None, as_tuple=False):
    """Coordinates of the non-zero entries: an (n, ndim) int64 tensor, or one per dim."""
    result = call(scatter_ops.NONZERO, input)
    if as_tuple:
        if input.ndim == 0:
            return (call(scatter_ops.NONZERO, input.reshape(1))[:, 0].contiguous(),)
        return tuple(result[:, i].contiguous() for i in range(input.ndim))
    if out is not None and out.dtype is not dtypes.int64:
        raise RuntimeError(f"nonzero: Expected out tensor to have scalar type Long but got "
                           f"scalar type{scalar_type_name(out.dtype)}")
    return finish(result, out)


def argwhere(input):
    """nonzero(input): the (n, ndim) coordinates of the non-zero entries."""
    return call(scatter_ops.NONZERO, input)


def take(input, index, *, out=None):
    """Entries of the flattened input at `index`; the result has index's shape."""
    return finish(call(scatter_ops.TAKE, input, index), out)


def put(input, index, source, accumulate=False):
    """A copy of input whose flattened entries at `index` are set to (or add) source."""
    return call(scatter_ops.PUT, input, index, source, accumulate=bool(accumulate))


def put_(self, index, source, accumulate=False):
    return call_inplace(scatter_ops.PUT, self, index, source, accumulate=bool(accumulate))


