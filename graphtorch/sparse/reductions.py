"""Reductions over sparse tensors: `sum` (``torch.sparse.sum``) and the sparse `softmax` /
`log_softmax`, which normalise over the specified entries only (the unspecified ones count
as -inf, as ``torch.sparse.softmax``)."""

from __future__ import annotations

import numpy as np

from ..functions.creation import zeros
from ..tensor import Tensor
from .conversion import coalesce, csr_to_coo, linear_positions
from .tensor import SparseTensor, array_module, index_tensor, make_coo, refuse_in_trace


def _dims(dim, ndim: int) -> list:
    dims = [dim] if isinstance(dim, int) else list(dim)
    out = []
    for d in dims:
        if not -ndim <= d < ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of "
                             f"[{-ndim}, {ndim - 1}], but got {d})")
        out.append(d % ndim)
    if len(set(out)) != len(out):
        raise RuntimeError(f"dim {out} appears multiple times in the list of dims")
    return out


def sum(input: SparseTensor, dim=None, dtype=None) -> Tensor:
    """Sum of a sparse tensor: over everything a dense 0-d tensor; over some sparse dims a
    coalesced sparse tensor; over every sparse dim a dense one (``torch.sparse.sum``).

    >>> s = gt.sparse_coo_tensor([[0, 1, 1], [2, 0, 2]], [3., 4., 5.], (2, 3))
    >>> gt.sparse.sum(s)
    tensor(12.)
    """
    refuse_in_trace("sparse sum")
    coo = csr_to_coo(input)
    d = coo._data
    values = d.values if dtype is None else d.values.to(dtype)
    if dim is None or (not isinstance(dim, int) and len(dim) == 0):
        return values.sum()
    dims = _dims(dim, len(d.shape))
    sparse_dim = d.indices.shape[0]
    dense_dims = [x - sparse_dim + 1 for x in dims if x >= sparse_dim]
    summed_sparse = [x for x in dims if x < sparse_dim]
    if dense_dims:
        values = values.sum(dense_dims)
    if not summed_sparse:
        return make_coo(d.indices, values, values_shape(d, values, list(range(sparse_dim))),
                        d.coalesced, like=coo)
    if len(summed_sparse) == sparse_dim:
        return values.sum(0)
    keep = [x for x in range(sparse_dim) if x not in summed_sparse]
    indices = index_tensor(d.indices._data[keep])
    return coalesce(make_coo(indices, values, values_shape(d, values, keep), False, like=coo))


def values_shape(d, values: Tensor, keep: list) -> tuple:
    return tuple(d.shape[x] for x in keep) + tuple(values.shape[1:])


def _normalise(input: SparseTensor, dim: int, dtype, log: bool) -> SparseTensor:
    refuse_in_trace("sparse softmax")
    coo = coalesce(csr_to_coo(input))
    d = coo._data
    if d.values.ndim != 1:
        raise RuntimeError("sparse softmax: hybrid sparse tensors (dense_dim > 0) are not "
                           "supported")
    (dim,) = _dims(dim, len(d.shape))
    xp = array_module(d.values)
    values = d.values if dtype is None else d.values.to(dtype)
    if not values.dtype.is_floating_point:
        raise RuntimeError(f"softmax is not implemented for {values.dtype} sparse tensors")
    others = [x for x in range(len(d.shape)) if x != dim]
    key = linear_positions(d.indices._data[others], [d.shape[x] for x in others], xp)
    groups, group_of = xp.unique(key, return_inverse=True)
    group_of = group_of.reshape(-1)
    raw = values.detach()._data
    peak = xp.full(groups.shape[0], -np.inf, raw.dtype)
    if hasattr(xp.maximum, "at"):
        xp.maximum.at(peak, group_of, raw)
    else:  # CuPy ufuncs have no .at: one shift for all rows (still exact, less stable)
        peak[:] = raw.max() if raw.size else 0
    group = index_tensor(group_of)
    shifted = values - Tensor._wrap(peak).index_select(0, group)
    exp = shifted.exp()
    total = zeros(groups.shape[0], dtype=values.dtype, device=values.device) \
        .index_add(0, group, exp)
    out = shifted - total.log().index_select(0, group) if log else \
        exp / total.index_select(0, group)
    return make_coo(d.indices, out, d.shape, True, like=coo)


def softmax(input: SparseTensor, dim: int, *, dtype=None) -> SparseTensor:
    """Softmax along `dim` over the specified entries of a sparse tensor.

    >>> s = gt.sparse_coo_tensor([[0, 0], [0, 2]], [1., 1.], (1, 3))
    >>> gt.sparse.softmax(s, 1).values()
    tensor([0.5000, 0.5000])
    """
    return _normalise(input, dim, dtype, log=False)


def log_softmax(input: SparseTensor, dim: int, *, dtype=None) -> SparseTensor:
    """Log-softmax along `dim` over the specified entries of a sparse tensor."""
    return _normalise(input, dim, dtype, log=True)
