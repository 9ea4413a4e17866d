"""Matrix products: `matmul`/`@`, `mm`, `bmm`, `mv`, `dot`, `outer`, `addmm` - all the one
`matmul` primitive, with PyTorch's rank checks for the strict variants."""

from __future__ import annotations

from ..ops.dispatch import call
from ..ops.matmul import ADDMM, MATMUL
from ._wrap import check_tensor, finish

__all__ = ["matmul", "mm", "spmm", "bmm", "mv", "dot", "vdot", "inner", "outer", "ger", "addmm",
           "addmv", "baddbmm", "addbmm"]


def matmul(input, other, *, out=None):
    """Matrix product with NumPy/PyTorch broadcasting rules (1-D operands are vectors)."""
    check_tensor(input, "matmul")
    check_tensor(other, "matmul", "other")
    return finish(call(MATMUL, input, other), out)


def _require(t, ndim, message):
    if t.ndim != ndim:
        raise RuntimeError(message.format(t.ndim))


def _refuse_out_dtype(out_dtype, name: str) -> None:
    """PyTorch's CPU build has no kernel for `out_dtype` (a CUDA feature) and says so."""
    if out_dtype is not None:
        raise NotImplementedError(f"Could not run 'aten::{name}.dtype' with arguments from the "
                                  "'CPU' backend.")


def mm(input, mat2, *, out_dtype=None, out=None):
    """2-D matrix product."""
    _refuse_out_dtype(out_dtype, "mm")
    _require(input, 2, "self must be a matrix")
    _require(mat2, 2, "mat2 must be a matrix")
    return matmul(input, mat2, out=out)


def spmm(input, mat2):
    """`mm` under the name sparse code uses (``torch.spmm(adj, support)`` in GCNs); graphtorch
    has no sparse layout, so `input` is a dense matrix, as PyTorch also accepts.

    >>> gt.spmm(gt.eye(2), gt.ones(2, 3)).shape
    torch.Size([2, 3])
    """
    return mm(input, mat2)


def bmm(input, mat2, *, out_dtype=None, out=None):
    """Batched product of 3-D tensors (batch sizes must match, no broadcasting)."""
    _refuse_out_dtype(out_dtype, "bmm")
    _require(input, 3, "batch1 must be a 3D tensor")
    _require(mat2, 3, "batch2 must be a 3D tensor")
    if input.shape[0] != mat2.shape[0] or input.shape[2] != mat2.shape[1]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{input.shape[0]}, {input.shape[2]}] but got: "
                           f"[{mat2.shape[0]}, {mat2.shape[1]}].")
    return matmul(input, mat2, out=out)


def mv(input, vec, *, out=None):
    """Matrix-vector product."""
    if input.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, {input.ndim}, "
                           f"{vec.ndim}")
    return matmul(input, vec, out=out)


def dot(input, tensor, *, out=None):
    """Inner product of two 1-D tensors."""
    if input.ndim != 1 or tensor.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {tensor.ndim}D "
                           "tensors")
    return matmul(input, tensor, out=out)


def vdot(input, other, *, out=None):
    return dot(input.conj(), other, out=out)


def inner(input, other, *, out=None):
    if input.ndim == 0 or other.ndim == 0:
        return finish(input * other, out)
    return matmul(input, other.transpose(-1, -2) if other.ndim > 1 else other, out=out) \
        if other.ndim <= 2 else finish((input.unsqueeze(-2) * other).sum(-1), out)


def outer(input, vec2, *, out=None):
    """Outer product of two vectors."""
    return finish(input.reshape(-1, 1) * vec2.reshape(1, -1), out)


ger = outer


def addmm(input, mat1, mat2, *, beta=1, alpha=1, out_dtype=None, out=None):
    """beta * input + alpha * (mat1 @ mat2), in one op."""
    _refuse_out_dtype(out_dtype, "addmm")

    return finish(call(ADDMM, input, mat1, mat2, beta=beta, alpha=alpha), out)


def addmv(input, mat, vec, *, beta=1, alpha=1, out=None):
    return finish(_scale(input, beta) + _scale(mv(mat, vec), alpha), out)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1, out_dtype=None, out=None):
    _refuse_out_dtype(out_dtype, "baddbmm")
    return finish(_scale(input, beta) + _scale(bmm(batch1, batch2), alpha), out)


def addbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):
    return finish(_scale(input, beta) + _scale(bmm(batch1, batch2).sum(0), alpha), out)


def _scale(t, factor):
    return t if factor == 1 else t * factor


