"""Sparse COO and CSR tensors, as ``torch.sparse``: enough for GCN-style code and the
``torch.sparse`` docs (creation, coalesce, sparse @ dense with autograd, sums, softmax).

Layout of the package: `tensor` (the `SparseTensor` class and its repr), `conversion`
(constructors and layout changes), `legacy` (``torch.sparse.FloatTensor`` and kin),
`products` (mm/addmm), `reductions` (sum, softmax), `kernels` (what dispatch runs for an op
with a sparse operand), `pickling` (how `gt.save` and pickle store one). Compiled code never sees a
sparse tensor: every sparse op inside `gt.compile` is a graph break (the call runs eagerly).
"""

from __future__ import annotations

from . import kernels
from .conversion import (
    coalesce,
    copy_into,
    sparse_coo_tensor,
    sparse_csr_tensor,
    to_dense,
    to_sparse,
    to_sparse_coo,
    to_sparse_csr,
    transpose,
)
from .legacy import (
    BoolTensor,
    ByteTensor,
    DoubleTensor,
    FloatTensor,
    HalfTensor,
    IntTensor,
    LongTensor,
)
from .pickling import rebuild_sparse, reduce_sparse, sparse_parts
from .products import addmm, mm
from .reductions import log_softmax, softmax, sum
from .tensor import SparseTensor

__all__ = [
    "BoolTensor",
    "ByteTensor",
    "DoubleTensor",
    "FloatTensor",
    "HalfTensor",
    "IntTensor",
    "LongTensor",
    "SparseTensor",
    "addmm",
    "log_softmax",
    "mm",
    "rebuild_sparse",
    "softmax",
    "sparse_coo_tensor",
    "sparse_csr_tensor",
    "sparse_parts",
    "sum",
    "to_dense",
    "to_sparse",
    "to_sparse_csr",
]


def _t(self: SparseTensor) -> SparseTensor:
    if self.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 sparse and 0 dense dimensions, but "
                           f"self is {self.sparse_dim()} sparse and {self.dense_dim()} dense")
    return transpose(self, 0, 1) if self.ndim == 2 else self


# Methods whose sparse form differs from Tensor's (dense tensors get theirs from
# graphtorch/tensor_methods.py; both point at the functions above).
SPARSE_METHODS = {
    "to_dense": to_dense,
    "to_sparse": to_sparse,
    "to_sparse_coo": to_sparse_coo,
    "to_sparse_csr": to_sparse_csr,
    "coalesce": coalesce,
    "copy_": copy_into,
    "t": _t,
    "transpose": transpose,
    "T": property(_t),
    "mT": property(lambda self: transpose(self, -2, -1)),
    "__reduce_ex__": reduce_sparse,
}
for _name, _method in SPARSE_METHODS.items():
    setattr(SparseTensor, _name, _method)
kernels.register()
