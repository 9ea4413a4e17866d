"""`embedding_bag`: sums, means or maxima of bags of embedding rows, as PyTorch's.

Written with graphtorch ops (embedding, searchsorted, index_add, scatter_reduce), so it is
differentiable and traces into a static graph: the bag of each index comes from the offsets
by a sorted search, and indices that belong to no bag (padding_idx, before the first
offset) go to one extra row that is dropped.
"""

from __future__ import annotations

from ... import dtypes
from ...functions.creation import ones, zeros
from ...functions.math import where
from ...functions.movement import embedding
from ...functions.scatter import index_add, scatter_reduce
from ...functions.statistics import searchsorted
from ...tensor import Tensor

_MODES = ("sum", "mean", "max")


def _positions(n, device):
    """0, 1, ..., n - 1 as int64 (a cumulative sum, so a symbolic n traces)."""
    return ones(n, dtype=dtypes.int64, device=device).cumsum(0) - 1


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2,
                  scale_grad_by_freq=False, mode="mean", sparse=False,
                  per_sample_weights=None, include_last_offset=False, padding_idx=None):
    """Reduce the rows of `weight` at `input` bag by bag (`offsets`: where each bag starts
    in a 1-D input; a 2-D input is one bag per row).

    >>> w = gt.arange(6.).reshape(3, 2)
    >>> F.embedding_bag(gt.tensor([0, 2, 1]), w, gt.tensor([0, 2]), mode="sum")
    tensor([[4., 6.],
            [2., 3.]])
    """
    if not isinstance(weight, Tensor) or weight.ndim != 2:
        raise ValueError("weight has to be a 2D Tensor, but got Tensor of dimension "
                         f"{getattr(weight, 'ndim', None)}")
    if per_sample_weights is not None and tuple(input.shape) != tuple(per_sample_weights.shape):
        raise ValueError(f"embedding_bag: If per_sample_weights ({tuple(per_sample_weights.shape)}"
                         f") is not None, then it must have the same shape as the input "
                         f"({tuple(input.shape)})")
    if input.ndim == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated "
                             "is a mini-batch of fixed length sequences. However, found offsets "
                             f"of type {type(offsets)}")
        rows, length = input.shape
        offsets = _positions(rows, input.device) * length
        input = input.reshape(-1)
        if per_sample_weights is not None:
            per_sample_weights = per_sample_weights.reshape(-1)
    elif input.ndim == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        if offsets.ndim != 1:
            raise ValueError("offsets has to be a 1D Tensor")
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension "
                         f"{input.ndim}")
    if mode not in _MODES:
        raise ValueError("mode has to be one of sum, mean or max")
    if max_norm is not None:
        embedding(input, weight, max_norm=max_norm, norm_type=norm_type)  # renorms in place
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(
            "embedding_bag: per_sample_weights was not None. per_sample_weights is only "
            f"supported for mode='sum' (got mode='{mode}'). Please open a feature request on "
            "GitHub.")
    if scale_grad_by_freq and mode == "max":
        raise ValueError("max mode does not support scaling the gradient by the frequency")
    if padding_idx is not None:
        num = weight.shape[0]
        if not -num <= padding_idx < num:
            raise AssertionError("padding_idx must be within the number of embeddings")
        padding_idx %= num

    input = input.long()
    offsets = offsets.long()
    bags = offsets.shape[0] - 1 if include_last_offset else offsets.shape[0]
    # bag of each index: the last offset <= its position; positions before the first offset,
    # past the last offset with include_last_offset (PyTorch's documented form has it equal
    # to len(input)), or at padding_idx go to row `bags`, which is dropped
    bag_of = searchsorted(offsets, _positions(input.shape[0], input.device), right=True) - 1
    dropped = (bag_of < 0) | (bag_of >= bags)
    if padding_idx is not None:
        dropped = dropped | (input == padding_idx)
    bag_of = where(dropped, bags, bag_of)

    rows = embedding(input, weight, padding_idx, None, norm_type, scale_grad_by_freq)
    if per_sample_weights is not None:
        rows = rows * per_sample_weights.unsqueeze(1).to(rows.dtype)
    width = weight.shape[1]
    if mode == "max":
        base = zeros((bags + 1, width), dtype=rows.dtype, device=rows.device)
        index = bag_of.unsqueeze(1).expand(-1, width)
        return scatter_reduce(base, 0, index, rows, "amax", include_self=False)[:bags]
    base = zeros((bags + 1, width), dtype=rows.dtype, device=rows.device)
    summed = index_add(base, 0, bag_of, rows)[:bags]
    if mode == "sum":
        return summed
    counts = index_add(zeros(bags + 1, dtype=rows.dtype, device=rows.device), 0, bag_of,
                       ones(input.shape[0], dtype=rows.dtype, device=rows.device))[:bags]
    return summed / counts.clamp(min=1).unsqueeze(1)
