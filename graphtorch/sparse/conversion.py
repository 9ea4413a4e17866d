"""Making sparse tensors and converting between layouts: `sparse_coo_tensor`,
`sparse_csr_tensor`, `to_sparse`, `to_sparse_csr`, `to_dense`, `coalesce`, `transpose`.

Index bookkeeping runs on the index arrays (NumPy or CuPy: `xp`); values move only through
graphtorch ops (indexing, ``index_add``), so autograd reaches the values and, through
``to_sparse``, the dense tensor they came from.
"""

from __future__ import annotations

import math

import numpy as np

from .. import dtypes
from ..autograd.grad_mode import is_grad_enabled
from ..functions.creation import as_tensor, zeros
from ..layout import sparse_coo, sparse_csr
from ..sparse_storage import SparseCOOArray, SparseCSRArray
from ..tensor import Tensor
from .tensor import SparseTensor, array_module, index_tensor, make_coo, make_csr, refuse_in_trace


def _index_array(indices, what: str):
    """The int64 array behind user indices (a tensor, an array or nested lists)."""
    if isinstance(indices, Tensor):
        refuse_in_trace(what)
        if indices.is_sparse or indices.dtype.is_floating_point or indices.dtype.is_complex:
            raise RuntimeError(f"{what}: indices must be an int64 tensor, got "
                               f"{indices.dtype}")
        return indices.detach()._data.astype(np.int64, copy=False)
    array = np.asarray(indices)
    if array.size and array.dtype.kind not in "iu":
        raise RuntimeError(f"{what}: indices must be an int64 tensor, got {array.dtype}")
    return array.astype(np.int64)


def _values_tensor(values, dtype, device, what: str) -> Tensor:
    if isinstance(values, Tensor):
        refuse_in_trace(what)
        if isinstance(values, SparseTensor):
            # PyTorch raises RuntimeError for a wrong layout
            raise RuntimeError(f"{what}: values must be a dense tensor")  # noqa: TRY004
    values = as_tensor(values, dtype=dtype, device=device)
    return values if dtype is None or values.dtype is dtypes.dtype_argument(dtype) else \
        values.to(dtype)


def sparse_coo_tensor(indices, values, size=None, *, dtype=None, device=None,
                      pin_memory=False, requires_grad=False, check_invariants=None,
                      is_coalesced=None) -> SparseTensor:
    """A sparse COO tensor from `indices` (sparse_dim, nnz) and `values` (nnz, *dense dims),
    as ``torch.sparse_coo_tensor``; duplicates are kept until `coalesce` sums them.

    >>> gt.sparse_coo_tensor([[0, 1], [2, 0]], [3., 4.], (2, 3)).to_dense()
    tensor([[0., 0., 3.],
            [4., 0., 0.]])
    """
    refuse_in_trace("sparse_coo_tensor")
    values = _values_tensor(values, dtype, device, "sparse_coo_tensor")
    index = _index_array(indices, "sparse_coo_tensor")
    if index.ndim != 2:
        raise RuntimeError(f"indices must be sparse_dim x nnz, but got: {list(index.shape)}")
    if values.ndim == 0:
        raise RuntimeError("values must be at least 1-D (nnz, *dense dims), got a 0-d tensor")
    nnz = index.shape[1]
    if values.shape[0] != nnz:
        raise RuntimeError(f"indices and values must have same nnz, but got nnz from indices: "
                           f"{nnz}, nnz from values: {values.shape[0]}")
    sparse_dim = index.shape[0]
    if index.size and int(index.min()) < 0:
        raise RuntimeError("found negative index in the indices of sparse_coo_tensor")
    if size is None:
        top = index.max(axis=1) + 1 if nnz else np.zeros(sparse_dim, np.int64)
        size = tuple(int(s) for s in top) + tuple(values.shape[1:])
    size = tuple(int(s) for s in size)
    if len(size) != sparse_dim + values.ndim - 1:
        raise RuntimeError(f"number of dimensions must be sparse_dim ({sparse_dim}) + "
                           f"dense_dim ({values.ndim - 1}), but got {len(size)}")
    if tuple(values.shape[1:]) != size[sparse_dim:]:
        raise RuntimeError(f"values has incorrect size, expected {[nnz, *size[sparse_dim:]]}, "
                           f"got {list(values.shape)}")
    if nnz:
        top = index.max(axis=1)
        for d in range(sparse_dim):
            if top[d] >= size[d]:
                raise RuntimeError(f"size is inconsistent with indices: for dim {d}, size is "
                                   f"{size[d]} but found index {int(top[d])}")
    xp = array_module(values)
    index_t = index_tensor(xp.asarray(index))
    if requires_grad:
        values = values.detach().requires_grad_()
    elif values.requires_grad:  # not a leaf: made from `values`, as PyTorch's
        values = values.view(values.shape)
    out = make_coo(index_t, values, size, bool(is_coalesced))
    out._data.grad_on_values = values.requires_grad and not requires_grad
    return out


def sparse_csr_tensor(crow_indices, col_indices, values, size=None, *, dtype=None,
                      device=None, pin_memory=False, requires_grad=False,
                      check_invariants=None) -> SparseTensor:
    """A sparse CSR matrix, as ``torch.sparse_csr_tensor``.

    >>> gt.sparse_csr_tensor([0, 1, 2], [1, 0], [5., 6.], (2, 2)).to_dense()
    tensor([[0., 5.],
            [6., 0.]])
    """
    refuse_in_trace("sparse_csr_tensor")
    values = _values_tensor(values, dtype, device, "sparse_csr_tensor")
    crow = _index_array(crow_indices, "sparse_csr_tensor")
    col = _index_array(col_indices, "sparse_csr_tensor")
    if crow.ndim != 1 or col.ndim != 1 or values.ndim != 1:
        raise RuntimeError("sparse_csr_tensor: crow_indices, col_indices and values must be "
                           "1-D (batched or hybrid CSR is not supported)")
    if col.shape[0] != values.shape[0]:
        raise RuntimeError(f"col_indices and values must have the same number of elements, "
                           f"but got {col.shape[0]} and {values.shape[0]}")
    if crow.shape[0] < 1 or crow[0] != 0 or crow[-1] != col.shape[0] or \
            (np.diff(crow) < 0).any():
        raise RuntimeError("sparse_csr_tensor: crow_indices must start at 0, be "
                           "non-decreasing and end at nnz")
    if size is None:
        size = (crow.shape[0] - 1, int(col.max()) + 1 if col.size else 0)
    size = tuple(int(s) for s in size)
    if len(size) != 2 or size[0] != crow.shape[0] - 1:
        raise RuntimeError(f"sparse_csr_tensor: size {size} does not fit crow_indices of "
                           f"length {crow.shape[0]}")
    if col.size and (col.min() < 0 or col.max() >= size[1]):
        raise RuntimeError(f"sparse_csr_tensor: col_indices must lie in [0, {size[1]})")
    xp = array_module(values)
    if requires_grad:
        values = values.detach().requires_grad_()
    elif values.requires_grad:
        values = values.view(values.shape)
    out = make_csr(index_tensor(xp.asarray(crow)), index_tensor(xp.asarray(col)), values, size)
    out._data.grad_on_values = values.requires_grad and not requires_grad
    return out


def linear_positions(index, shape, xp):
    """Row-major linear positions of the columns of `index` in a tensor of `shape`."""
    out = xp.zeros(index.shape[1], np.int64)
    for d, size in enumerate(shape):
        out = out * size + index[d]
    return out


def _unravel(linear, shape, xp):
    rows = []
    for size in reversed(shape):
        rows.append(linear % size)
        linear = linear // size
    return xp.stack(rows[::-1]) if rows else xp.zeros((0, linear.shape[0]), np.int64)


def csr_to_coo(t: SparseTensor) -> SparseTensor:
    """The COO tensor of a CSR matrix (its entries already in row-major order)."""
    d = t._data
    if type(d) is SparseCOOArray:
        return t
    xp = array_module(d.values)
    crow = d.crow._data
    rows = xp.repeat(xp.arange(d.shape[0], dtype=np.int64), xp.diff(crow))
    index = xp.stack([rows, d.col._data])
    return make_coo(index_tensor(index), d.values, d.shape, coalesced=True, like=t)


def coalesce(t: SparseTensor) -> SparseTensor:
    """Sorted, unique indices with the values of duplicates summed (`t` itself when it is
    coalesced already, as PyTorch)."""
    d = t._data
    if type(d) is not SparseCOOArray:
        raise RuntimeError(f"coalesce expected sparse coordinate tensor layout but got "
                           f"{t.layout}")
    if d.coalesced:
        return t
    refuse_in_trace("coalesce")
    xp = array_module(d.values)
    sparse_shape = d.shape[:d.indices.shape[0]]
    unique, inverse = xp.unique(linear_positions(d.indices._data, sparse_shape, xp),
                                return_inverse=True)
    values = d.values
    summed = zeros((unique.shape[0], *values.shape[1:]), dtype=values.dtype,
                   device=values.device).index_add(0, index_tensor(inverse.reshape(-1)), values)
    return make_coo(index_tensor(_unravel(unique, sparse_shape, xp)), summed, d.shape, True,
                    like=t)


def sparse_to_dense(t: SparseTensor) -> Tensor:
    """The dense tensor of `t`: its values summed into zeros at their indices."""
    refuse_in_trace("to_dense")
    t = csr_to_coo(t)
    d = t._data
    xp = array_module(d.values)
    sparse_dim = d.indices.shape[0]
    sparse_shape, dense_shape = d.shape[:sparse_dim], d.shape[sparse_dim:]
    linear = index_tensor(linear_positions(d.indices._data, sparse_shape, xp))
    values = d.values
    out = zeros((math.prod(sparse_shape), *dense_shape), dtype=values.dtype,
                device=values.device)
    if values.dtype is dtypes.bool_:  # index_add does not add booleans: count, then test
        return out.to(dtypes.int64).index_add(0, linear, values.to(dtypes.int64)) \
            .reshape(d.shape).to(dtypes.bool_)
    return out.index_add(0, linear, values).reshape(d.shape)


def to_dense(t: Tensor, dtype=None, *, masked_grad=None) -> Tensor:
    """`Tensor.to_dense()`: a dense tensor is returned as it is."""
    if isinstance(t, SparseTensor):
        out = sparse_to_dense(t)
        return out if dtype is None else out.to(dtype)
    return t if dtype is None else t.to(dtype)


def to_sparse(t: Tensor, sparse_dim=None, *, layout=None, blocksize=None,
              dense_dim=None) -> SparseTensor:
    """A coalesced COO tensor of the nonzeros of `t` (the first `sparse_dim` dims sparse,
    the rest dense); ``layout=gt.sparse_csr`` gives CSR. Differentiable in the values.

    >>> gt.tensor([[0., 2.], [3., 0.]]).to_sparse().values()
    tensor([2., 3.])
    """
    if layout is sparse_csr:
        return to_sparse_csr(t, dense_dim)
    if layout not in (None, sparse_coo):
        raise RuntimeError(f"to_sparse: layout {layout} is not supported (sparse_coo and "
                           "sparse_csr are)")
    if blocksize is not None:
        raise RuntimeError("to_sparse: blocksize (BSR/BSC layouts) is not supported")
    refuse_in_trace("to_sparse")
    if isinstance(t, SparseTensor):
        t = csr_to_coo(t)
        if sparse_dim is None or sparse_dim == t.sparse_dim():
            return t
        return to_sparse(sparse_to_dense(t), sparse_dim)
    sparse_dim = t.ndim if sparse_dim is None else int(sparse_dim)
    if not 0 < sparse_dim <= t.ndim:
        raise RuntimeError(f"sparse_dim must be in [1, {t.ndim}] for a {t.ndim}-D tensor, "
                           f"got {sparse_dim}")
    xp = array_module(t)
    mask = t.detach()._data != 0
    if sparse_dim < t.ndim:
        mask = mask.reshape(mask.shape[:sparse_dim] + (-1,)).any(axis=-1)
    index = xp.stack(xp.nonzero(mask)) if mask.ndim else xp.zeros((0, 1), np.int64)
    index_t = index_tensor(index)
    values = t[tuple(index_tensor(row) for row in index)]
    return make_coo(index_t, values, t.shape, coalesced=True)


def to_sparse_csr(t: Tensor, dense_dim=None) -> SparseTensor:
    """The CSR matrix of a 2-D dense or sparse tensor."""
    if dense_dim:
        raise RuntimeError("to_sparse_csr: hybrid CSR (dense_dim > 0) is not supported")
    if isinstance(t, SparseTensor) and t.layout is sparse_csr:
        return t
    if t.ndim != 2:
        raise RuntimeError(f"to_sparse_csr: only 2-D tensors are supported, got {t.ndim}-D")
    coo = coalesce(to_sparse(t))
    d = coo._data
    xp = array_module(d.values)
    rows = d.indices._data[0]
    crow = xp.concatenate([xp.zeros(1, np.int64),
                           xp.cumsum(xp.bincount(rows, minlength=d.shape[0]))])
    return make_csr(index_tensor(crow), index_tensor(d.indices._data[1]), d.values, d.shape,
                    like=coo)


def transpose(t: SparseTensor, dim0: int, dim1: int) -> SparseTensor:
    """`t` with two sparse dims swapped (the values are shared, the result uncoalesced)."""
    refuse_in_trace("transpose")
    if type(t._data) is SparseCSRArray:
        raise RuntimeError("transpose of a sparse CSR tensor (a CSC tensor) is not supported; "
                           "use to_sparse() first")
    d = t._data
    ndim = len(d.shape)
    dims = []
    for dim in (dim0, dim1):
        if not -ndim <= dim < ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of "
                             f"[{-ndim}, {ndim - 1}], but got {dim})")
        dims.append(dim % ndim)
    sparse_dim = d.indices.shape[0]
    if dims[0] == dims[1]:
        return t
    if max(dims) >= sparse_dim:
        raise RuntimeError("transpose of a dense dim of a hybrid sparse tensor is not "
                           "supported")
    order = list(range(sparse_dim))
    order[dims[0]], order[dims[1]] = order[dims[1]], order[dims[0]]
    shape = list(d.shape)
    shape[dims[0]], shape[dims[1]] = shape[dims[1]], shape[dims[0]]
    return make_coo(index_tensor(d.indices._data[order]), d.values, shape, False, like=t)



def to_sparse_coo(t: Tensor, sparse_dim=None) -> SparseTensor:
    """`Tensor.to_sparse_coo()`: `to_sparse` with the COO layout."""
    return to_sparse(t, sparse_dim)


def dense_sparse_dim(t: Tensor) -> int:
    """`sparse_dim()` of a dense tensor: 0, as PyTorch."""
    return 0


def dense_dense_dim(t: Tensor) -> int:
    """`dense_dim()` of a dense tensor: all of its dims, as PyTorch."""
    return t.ndim


def copy_into(self: SparseTensor, other, non_blocking=False) -> SparseTensor:
    """`SparseTensor.copy_`: `self` takes `other`'s entries (same layout and size; the values
    cast to self's dtype), as ``load_state_dict`` copies a sparse buffer."""
    if not isinstance(other, SparseTensor) or other.layout is not self.layout:
        kind = "sparse" if isinstance(other, SparseTensor) else "dense"
        raise RuntimeError(f"copy_() into a {self.layout} tensor needs a {self.layout} source, "
                           f"got a {kind} {getattr(other, 'layout', type(other).__name__)} one")
    if other.shape != self.shape:
        raise RuntimeError(f"copy_(): size mismatch, {list(self.shape)} vs "
                           f"{list(other.shape)}")
    if is_grad_enabled() and (self.requires_grad or other.requires_grad):
        raise RuntimeError("copy_() of sparse tensors that require grad is not supported; use "
                           "it under gt.no_grad()")
    refuse_in_trace("copy_")
    d, src = self._data, other._data
    values = src.values.detach().to(self.dtype).clone().requires_grad_(d.values.requires_grad)
    if type(d) is SparseCSRArray:
        self._data = SparseCSRArray(src.crow.clone(), src.col.clone(), values, d.shape,
                                    d.grad_on_values)
    else:
        self._data = SparseCOOArray(src.indices.clone(), values, d.shape, src.coalesced,
                                    d.grad_on_values)
    self._vc += 1
    return self
