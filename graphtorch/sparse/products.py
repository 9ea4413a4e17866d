"""Sparse-dense matrix products: `mm` (``gt.sparse.mm``, ``gt.mm``, ``@``, ``gt.spmm``) and
`addmm`.

``S @ D`` is a gather and a scatter-add: row ``c`` of `D` times each value at ``(r, c)``,
summed into row ``r`` (``index_select`` then ``index_add``). Both are graphtorch ops, so the
gradient reaches `D` (the GCN case) and the values of `S` (a sparse grad with S's pattern).
"""

from __future__ import annotations

from ..autograd.grad_mode import is_grad_enabled
from ..functions.creation import zeros
from ..tensor import Tensor
from .conversion import csr_to_coo, sparse_to_dense, to_sparse, transpose
from .tensor import SparseTensor, index_tensor, refuse_in_trace


def _check_matrices(a: Tensor, b: Tensor) -> None:
    if a.ndim != 2 or b.ndim not in (1, 2):
        raise RuntimeError(f"sparse mm: expected a 2-D sparse matrix and a 1-D or 2-D dense "
                           f"operand, got {a.ndim}-D and {b.ndim}-D")
    if a.shape[1] != b.shape[0]:
        shape_b = f"{b.shape[0]}x{b.shape[1]}" if b.ndim == 2 else f"{b.shape[0]}"
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied "
                           f"({a.shape[0]}x{a.shape[1]} and {shape_b})")
    if a.dtype is not b.dtype:
        raise RuntimeError(f"expected mat1 and mat2 to have the same dtype, but got: "
                           f"{a.dtype} != {b.dtype}")


def sparse_dense_mm(sparse: SparseTensor, dense: Tensor) -> Tensor:
    """The dense product of a 2-D sparse matrix and a dense matrix (or vector)."""
    refuse_in_trace("a sparse matrix product")
    coo = csr_to_coo(sparse)
    if coo.dense_dim():
        raise RuntimeError("sparse mm: hybrid sparse tensors (dense_dim > 0) are not supported")
    _check_matrices(coo, dense)
    vector = dense.ndim == 1
    matrix = dense.unsqueeze(1) if vector else dense
    d = coo._data
    rows, cols = index_tensor(d.indices._data[0]), index_tensor(d.indices._data[1])
    contributions = matrix.index_select(0, cols) * d.values.unsqueeze(1)
    out = zeros((d.shape[0], matrix.shape[1]), dtype=contributions.dtype,
                device=matrix.device).index_add(0, rows, contributions)
    return out.squeeze(1) if vector else out


def _check_sparse_grad(*operands) -> None:
    """PyTorch's `mm`/`@`/`spmm`/`addmm` give a sparse operand that requires grad a dense
    gradient (nonzero off its pattern too). Where that gradient ends in values
    (``sparse_coo_tensor(indices, values)`` with `values` requiring grad: PyTorch masks it
    to the pattern) graphtorch's agrees; where it would end dense-shaped (a sparse leaf's
    ``.grad``, the dense input of ``to_sparse``) graphtorch raises rather than differ."""
    if not is_grad_enabled():
        return
    for x in operands:
        if isinstance(x, SparseTensor) and x.requires_grad and not x._data.grad_on_values:
            raise RuntimeError(
                "mm/matmul/spmm/addmm of a sparse tensor that requires grad: PyTorch's "
                "gradient w.r.t. the sparse operand is dense there, which graphtorch does not "
                "compute; use gt.sparse.mm / gt.sparse.addmm (gradient on the sparsity "
                "pattern, as PyTorch's) or to_dense() first")


def product(a: Tensor, b: Tensor):
    """`gt.mm`/`gt.matmul`/`@`/`gt.spmm` with a sparse operand (see `matmul`); refuses a
    sparse operand that requires grad (`_check_sparse_grad`)."""
    _check_sparse_grad(a, b)
    return matmul(a, b)


def matmul(a: Tensor, b: Tensor):
    """`a @ b` with one or both operands sparse: sparse @ dense and dense @ sparse give a
    dense result, sparse @ sparse a sparse one (as PyTorch)."""
    a_sparse, b_sparse = isinstance(a, SparseTensor), isinstance(b, SparseTensor)
    if a_sparse and b_sparse:
        return to_sparse(sparse_dense_mm(a, sparse_to_dense(b)))
    if a_sparse:
        return sparse_dense_mm(a, b)
    if b.ndim != 2 or a.ndim not in (1, 2):
        raise RuntimeError(f"dense @ sparse: expected a 1-D or 2-D dense operand and a 2-D "
                           f"sparse matrix, got {a.ndim}-D and {b.ndim}-D")
    # (A B) = (B^T A^T)^T: the sparse operand goes first
    b_t = transpose(csr_to_coo(b), 0, 1)
    return sparse_dense_mm(b_t, a) if a.ndim == 1 else sparse_dense_mm(b_t, a.t()).t()


def mm(mat1: Tensor, mat2: Tensor) -> Tensor:
    """``torch.sparse.mm``: the product of a sparse matrix with a dense or sparse one.

    >>> s = gt.sparse_coo_tensor([[0, 1], [1, 0]], [2., 3.], (2, 2))
    >>> gt.sparse.mm(s, gt.eye(2))
    tensor([[0., 2.],
            [3., 0.]])
    """
    for name, m in (("mat1", mat1), ("mat2", mat2)):
        if m.ndim != 2:
            raise RuntimeError(f"{name} must be a matrix, got {m.ndim}-D")
    return matmul(mat1, mat2)


def add_product(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """`gt.addmm` with a sparse operand; refuses one that requires grad, as `product`."""
    _check_sparse_grad(mat1, mat2)
    return addmm(input, mat1, mat2, beta=beta, alpha=alpha)


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * (mat1 @ mat2)`` with `mat1` sparse (``torch.sparse.addmm``)."""
    product = matmul(mat1, mat2)
    if isinstance(product, SparseTensor):
        product = sparse_to_dense(product)
    if isinstance(input, SparseTensor):
        input = sparse_to_dense(input)
    product = product if alpha == 1 else product * alpha
    return product + (input if beta == 1 else input * beta)
