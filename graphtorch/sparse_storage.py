"""What a sparse tensor holds in place of an array: its index tensors and its values tensor.

A sparse tensor (`graphtorch.sparse.SparseTensor`) keeps one of these as its ``_data``. They
carry the ndarray attributes graphtorch reads for metadata (shape, dtype, ndim, size) and
nothing else: dense kernels never receive one (`ops.dispatch` routes an op with a sparse
operand to the sparse kernels or raises PyTorch's NotImplementedError), and reading values
as an array raises TypeError, so no dense code silently computes on the wrong layout.
"""

from __future__ import annotations

import math

TO_NUMPY = "can't convert Sparse layout tensor to numpy. Use Tensor.to_dense() first."


class _SparseArray:
    # grad_on_values: built from values that carry autograd (not a leaf, not to_sparse), so
    # PyTorch's gradient of it reaches only the values; see sparse.products
    __slots__ = ("grad_on_values", "shape", "values")
    layout_name = ""

    @property
    def dtype(self):
        return self.values._data.dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:  # PyTorch's numel() of a sparse tensor: its dense element count
        return math.prod(self.shape)

    @property
    def itemsize(self) -> int:
        return self.values._data.itemsize

    @property
    def nbytes(self):
        raise RuntimeError("Cannot access storage of a sparse tensor")

    @property
    def strides(self):
        raise RuntimeError("sparse tensors do not have strides")

    flags = strides

    def __array__(self, dtype=None, copy=None):
        raise TypeError(TO_NUMPY)

    def get(self):  # what host_array calls for a non-NumPy array
        raise TypeError(TO_NUMPY)

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]


class SparseCOOArray(_SparseArray):
    """COO: `indices` an int64 tensor (sparse_dim, nnz), `values` a tensor (nnz, *dense
    dims); `coalesced` is true when the indices are sorted and unique."""

    __slots__ = ("coalesced", "indices")
    layout_name = "sparse_coo"

    def __init__(self, indices, values, shape, coalesced: bool, grad_on_values: bool = False):
        self.indices = indices
        self.values = values
        self.shape = tuple(int(s) for s in shape)
        self.coalesced = bool(coalesced)
        self.grad_on_values = grad_on_values

    def __repr__(self):
        return f"SparseCOOArray(shape={self.shape}, nnz={self.indices.shape[1]})"


class SparseCSRArray(_SparseArray):
    """CSR of a matrix: `crow` (rows + 1,) and `col` (nnz,) int64 tensors, `values` (nnz,)."""

    __slots__ = ("col", "crow")
    layout_name = "sparse_csr"

    def __init__(self, crow, col, values, shape, grad_on_values: bool = False):
        self.crow = crow
        self.col = col
        self.values = values
        self.shape = tuple(int(s) for s in shape)
        self.grad_on_values = grad_on_values

    def __repr__(self):
        return f"SparseCSRArray(shape={self.shape}, nnz={self.col.shape[0]})"


SPARSE_ARRAYS = (SparseCOOArray, SparseCSRArray)
