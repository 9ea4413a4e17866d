"""`SparseTensor`: a Tensor whose ``_data`` is a COO or CSR index set plus a values tensor.

Autograd goes through the values tensor: a sparse tensor requires grad, has a grad_fn or is
a leaf exactly as its values do, and every sparse op is written with dense graphtorch ops on
the values (gathers, ``index_add``), so gradients need no rules of their own. A leaf's
``.grad`` is sparse with the leaf's own pattern, as ``torch.sparse.mm`` gives (where
PyTorch's gradient would be dense-shaped instead, `sparse.products` raises).
"""

from __future__ import annotations

import numpy as np

from .. import dtypes, printing
from ..device import cupy_module
from ..layout import sparse_coo, sparse_csr
from ..sparse_storage import TO_NUMPY, SparseCOOArray, SparseCSRArray
from ..tensor import Tensor
from ..trace_state import TracingError, current_tracer, user_frame, where


def refuse_in_trace(what: str) -> None:
    """A graph break: compiled graphs hold dense tensors only, so code with sparse tensors
    runs eagerly (the break names the user's line)."""
    if current_tracer() is not None:
        raise TracingError(f"{where(user_frame())}: {what}: sparse tensors cannot be "
                           "compiled (graphs hold dense tensors only); this call runs eagerly")


def index_tensor(array) -> Tensor:
    """An int64 index tensor over `array` (NumPy or CuPy)."""
    return Tensor._wrap(array.astype(np.int64, copy=False))


def array_module(t: Tensor):
    return cupy_module() if t.is_cuda else np


def make_coo(indices: Tensor, values: Tensor, shape, coalesced: bool, *,
             like: SparseTensor | None = None) -> SparseTensor:
    """A COO tensor; `like`: the sparse tensor it derives from (its gradient kind is kept)."""
    grad_on_values = like is not None and like._data.grad_on_values
    return _wrap_sparse(SparseCOOArray(indices, values, shape, coalesced, grad_on_values))


def make_csr(crow: Tensor, col: Tensor, values: Tensor, shape, *,
             like: SparseTensor | None = None) -> SparseTensor:
    grad_on_values = like is not None and like._data.grad_on_values
    return _wrap_sparse(SparseCSRArray(crow, col, values, shape, grad_on_values))


def _wrap_sparse(data) -> SparseTensor:
    t = Tensor._wrap(data)  # Tensor's fresh fields, then the sparse class
    t.__class__ = SparseTensor
    return t


def with_values(t: SparseTensor, values: Tensor) -> SparseTensor:
    """`t`'s pattern with new values (same nnz)."""
    d = t._data
    if type(d) is SparseCSRArray:
        return make_csr(d.crow, d.col, values, d.shape, like=t)
    return make_coo(d.indices, values, d.shape, d.coalesced, like=t)


class SparseTensor(Tensor):
    """A sparse tensor, as ``torch.sparse_coo_tensor`` / ``torch.sparse_csr_tensor`` make.

    >>> s = gt.sparse_coo_tensor([[0, 1], [1, 0]], [2., 3.], (2, 2))
    >>> (s @ gt.ones(2, 1)).tolist()
    [[2.0], [3.0]]
    """

    __slots__ = ()

    def __new__(cls, *args, **kwargs):
        raise TypeError("make sparse tensors with gt.sparse_coo_tensor, gt.sparse_csr_tensor "
                        "or Tensor.to_sparse()")

    # --- layout and metadata ------------------------------------------------------------
    @property
    def layout(self):
        return sparse_csr if type(self._data) is SparseCSRArray else sparse_coo

    @property
    def is_sparse(self) -> bool:
        return type(self._data) is SparseCOOArray

    @property
    def is_sparse_csr(self) -> bool:
        return type(self._data) is SparseCSRArray

    @property
    def device(self):
        return self._data.values.device

    @property
    def is_cuda(self) -> bool:
        return self._data.values.is_cuda

    @property
    def is_cpu(self) -> bool:
        return self._data.values.is_cpu

    def get_device(self) -> int:
        return self._data.values.get_device()

    def sparse_dim(self) -> int:
        d = self._data
        return 2 if type(d) is SparseCSRArray else d.indices.shape[0]

    def dense_dim(self) -> int:
        return self._data.values.ndim - 1

    def _nnz(self) -> int:
        return self._data.values.shape[0]

    def is_coalesced(self) -> bool:
        self._need_coo("is_coalesced")
        return self._data.coalesced

    def _indices(self) -> Tensor:
        self._need_coo("_indices")
        return self._data.indices

    def _values(self) -> Tensor:
        return self._data.values

    def indices(self) -> Tensor:
        self._need_coo("indices")
        if not self._data.coalesced:
            raise RuntimeError("Cannot get indices on an uncoalesced tensor, please call "
                               ".coalesce() first")
        return self._data.indices

    def values(self) -> Tensor:
        if type(self._data) is SparseCOOArray and not self._data.coalesced:
            raise RuntimeError("Cannot get values on an uncoalesced tensor, please call "
                               ".coalesce() first")
        return self._data.values

    def crow_indices(self) -> Tensor:
        self._need_csr("crow_indices")
        return self._data.crow

    def col_indices(self) -> Tensor:
        self._need_csr("col_indices")
        return self._data.col

    def _need_coo(self, what: str) -> None:
        if type(self._data) is not SparseCOOArray:
            raise RuntimeError(f"{what} expected sparse coordinate tensor layout but got "
                               "SparseCsr")

    def _need_csr(self, what: str) -> None:
        if type(self._data) is not SparseCSRArray:
            raise RuntimeError(f"{what} expected sparse row compressed tensor layout but got "
                               "Sparse")

    # --- autograd state: that of the values tensor ---------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._data.values.requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad: bool = True) -> SparseTensor:
        self._data.values.requires_grad_(requires_grad)
        return self

    @property
    def grad_fn(self):
        return self._data.values.grad_fn

    @property
    def is_leaf(self) -> bool:
        return self._data.values.is_leaf

    @property
    def grad(self):
        """The gradient as a sparse tensor of this tensor's pattern. Duplicate entries of an
        uncoalesced tensor each receive the full gradient at their position, so the
        gradient keeps one of them: its dense form is then dL/dS at the pattern, as
        PyTorch's."""
        grad = self._data.values._grad
        if grad is None:
            return None
        d = self._data
        if type(d) is SparseCSRArray or d.coalesced:
            return with_values(self, grad)
        xp = array_module(d.values)
        index = d.indices._data
        positions = xp.zeros(index.shape[1], np.int64)
        for axis, size in enumerate(d.shape[:index.shape[0]]):
            positions = positions * size + index[axis]
        _, first = xp.unique(positions, return_index=True)
        first_t = index_tensor(first)
        return make_coo(index_tensor(index[:, first]), grad.index_select(0, first_t), d.shape,
                        coalesced=True)

    @grad.setter
    def grad(self, value) -> None:
        if value is None:
            self._data.values._grad = None
            return
        raise RuntimeError("assigning .grad of a sparse tensor is not supported; set it to "
                           "None or let backward() accumulate it")

    def retain_grad(self) -> None:
        self._data.values.retain_grad()

    @property
    def data(self) -> SparseTensor:
        return self.detach()

    def detach(self) -> SparseTensor:
        return with_values(self, self._data.values.detach())

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        raise RuntimeError("backward() of a sparse tensor is not supported: reduce it to a "
                           "dense scalar first (e.g. gt.sparse.sum(s))")

    # --- what a sparse tensor has no memory for -------------------------------------------
    def stride(self, dim=None):
        raise RuntimeError("sparse tensors do not have strides")

    def is_contiguous(self, memory_format=None) -> bool:
        return False

    def data_ptr(self) -> int:
        raise RuntimeError("Cannot access data pointer of Tensor that doesn't have storage")

    def storage_offset(self) -> int:
        raise RuntimeError("Cannot access storage of a sparse tensor")

    def numpy(self, *, force: bool = False):
        raise TypeError(TO_NUMPY)

    def __array__(self, dtype=None, copy=None):
        raise TypeError(TO_NUMPY)

    def tolist(self):
        raise RuntimeError("Cannot access data pointer of Tensor that doesn't have storage: "
                           "tolist() of a sparse tensor; use to_dense() first")

    def item(self):
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be "
                               "converted to Scalar")
        return self.to_dense().item()

    def __iter__(self):
        raise NotImplementedError("iterating over a sparse tensor is not supported; use "
                                  "to_dense() first")

    def __deepcopy__(self, memo):
        if self.grad_fn is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) "
                               "support the deepcopy protocol at the moment.")
        values = self._data.values.detach().clone().requires_grad_(self.requires_grad)
        out = with_values(self, values)
        memo[id(self)] = out
        return out

    def __repr__(self) -> str:
        return sparse_repr(self)


def sparse_repr(t: SparseTensor) -> str:
    """PyTorch's repr of a sparse tensor: the index tensors and values, then size, nnz,
    dtype, layout and autograd suffixes."""
    indent = len("tensor(")
    d = t._data
    suffixes = []
    if t.device.type != "cpu":
        suffixes.append(f"device='{t.device}'")
    suffixes += [f"size={tuple(d.shape)}", f"nnz={t._nnz()}"]
    default = dtypes.get_default_dtype()
    if t.dtype not in (default, dtypes.int64, dtypes.bool_):
        suffixes.append(f"dtype={t.dtype}")
    parts = [("crow_indices", d.crow), ("col_indices", d.col)] \
        if type(d) is SparseCSRArray else [("indices", d.indices)]
    parts.append(("values", d.values))
    body = []
    for i, (name, tensor) in enumerate(parts):
        prefix = f"{name}=tensor("
        array = tensor.detach()._data
        text = printing.tensor_str(array, indent + len(prefix))
        if array.size == 0:
            text += f", size={tuple(array.shape)}"
        body.append((" " * indent if i else "") + prefix + text + ")")
    suffixes.append(f"layout={t.layout}")
    grad_fn = t.grad_fn
    if grad_fn is not None:
        suffixes.append(f"grad_fn=<{grad_fn.name().rsplit('::', 1)[-1]}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    text = "tensor(" + ",\n".join(body)
    if type(d) is SparseCOOArray:  # PyTorch starts COO suffixes on a new line
        first = suffixes.pop(0)
        text += ",\n" + " " * indent + first
    return printing._add_suffixes(text, suffixes, indent)
