"""How a sparse tensor is saved: its layout, size and dense parts (the index tensors, then
the values), which `gt.save` stores as ordinary tensors and `rebuild_sparse` reassembles.

>>> s = gt.sparse_coo_tensor([[0, 1]], [1., 2.], (3,))
>>> buffer = io.BytesIO(); gt.save({"adj": s}, buffer); buffer.seek(0)
>>> gt.load(buffer)["adj"].to_dense()
tensor([1., 2., 0.])
"""

from __future__ import annotations

from ..sparse_storage import SparseCSRArray
from ..tensor import Tensor
from .conversion import sparse_coo_tensor, sparse_csr_tensor
from .tensor import SparseTensor


def sparse_parts(t: SparseTensor) -> list:
    """The dense tensors of `t`: (indices, values) for COO, (crow, col, values) for CSR."""
    d = t._data
    if type(d) is SparseCSRArray:
        return [d.crow, d.col, d.values]
    return [d.indices, d.values]


def rebuild_sparse(layout: str, parts, size, coalesced: bool,
                   requires_grad: bool) -> SparseTensor:
    """The sparse tensor `sparse_parts` and the metadata describe (checked: a file may lie)."""
    if layout not in ("sparse_coo", "sparse_csr") or \
            len(parts) != (2 if layout == "sparse_coo" else 3) or \
            not all(type(p) is Tensor for p in parts):
        raise ValueError(f"a {layout!r:.30} tensor with {len(parts)} parts cannot be rebuilt")
    # the constructors check the indices against the size
    if layout == "sparse_coo":
        return sparse_coo_tensor(parts[0], parts[1], size, is_coalesced=coalesced,
                                 requires_grad=requires_grad)
    return sparse_csr_tensor(parts[0], parts[1], parts[2], size, requires_grad=requires_grad)


def reduce_sparse(t: SparseTensor, protocol):
    """`SparseTensor.__reduce_ex__`: pickled as `rebuild_sparse` of its parts."""
    return (rebuild_sparse, (str(t.layout).removeprefix("torch."),
                             [p.detach() for p in sparse_parts(t)], tuple(t.shape),
                             t.is_sparse and t.is_coalesced(), t.requires_grad))
