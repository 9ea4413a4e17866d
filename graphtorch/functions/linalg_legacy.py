"""Top-level linear algebra (`gt.det`, `gt.svd`, `gt.norm`, ...) and their Tensor methods.

These are PyTorch's older spellings: thin wrappers over `gt.linalg` with the legacy argument
conventions (svd returns V, qr takes `some`, norm takes `p`). Functions PyTorch removed
(`eig`, `symeig`, `lstsq`, `solve`, `matrix_rank`) raise its RuntimeError with its advice.
"""

from __future__ import annotations

from .. import dtypes
from .. import linalg as linalg_module
from ..dtypes import scalar_type_name
from ..ops import linalg as linalg_ops
from ..ops import linalg_decompositions as decompositions_ops
from ..ops import linalg_norms as norms_ops
from ..ops.dispatch import call, write_out
from ..ops.registry import TensorMeta
from ..tensor import Tensor
from ._wrap import accepts_out, check_tensor, finish
from .creation import zeros
from .math import where
from .reduce import return_types

__all__ = ["inverse", "det", "logdet", "slogdet", "svd", "qr", "cholesky", "cholesky_inverse",
           "cholesky_solve", "norm", "trace", "pinverse", "matrix_power", "matrix_exp", "cross",
           "dist", "chain_matmul", "eig", "symeig", "lstsq", "solve", "matrix_rank"]

def inverse(input, *, out=None):
    """Inverse of square matrices (torch.linalg.inv)."""
    return linalg_module.inv(input, out=out)


def det(input):
    """Determinant (torch.linalg.det)."""
    return linalg_module.det(input)


def logdet(input):
    """log(det(A)): nan for a negative determinant, -inf for a singular matrix."""
    check_tensor(input, "logdet")
    linalg_ops.check_matrix("logdet", TensorMeta(tuple(input.shape), input.dtype))
    sign, logabs = call(linalg_ops.SLOGDET, input)
    if input.is_complex():
        return sign.log() + logabs

    return where(sign == -1.0, float("nan"), logabs)


@accepts_out
def slogdet(input):
    """(sign, logabsdet) as torch.return_types.slogdet."""
    check_tensor(input, "slogdet")
    values = call(linalg_ops.SLOGDET, input)
    return return_types.get("slogdet", ("sign", "logabsdet"))(*values)


def svd(input, some=True, compute_uv=True, *, out=None):
    """(U, S, V) with A = U diag(S) V^H; without compute_uv, U and V are zero matrices."""
    check_tensor(input, "svd")
    rt = return_types.get("svd", ("U", "S", "V"))
    if not compute_uv:
        s = linalg_module.svdvals(input)
        *batch, m, n = input.shape
        u = zeros(*batch, m, m, dtype=input.dtype, device=input.device)
        v = zeros(*batch, n, n, dtype=input.dtype, device=input.device)
        values = (u, s, v)
    else:
        u, s, vh = call(decompositions_ops.SVD, input, full_matrices=not some)
        values = (u, s, vh.mH)
    if out is not None:
        values = tuple(write_out(o, v) for o, v in zip(out, values))
    return rt(*values)


_QR_WARNING = ("torch.qr is deprecated in favor of torch.linalg.qr and will be removed in a "
               "future PyTorch release.\nThe boolean parameter 'some' has been replaced with a "
               "string parameter 'mode'.\nQ, R = torch.qr(A, some)\nshould be replaced with\n"
               "Q, R = torch.linalg.qr(A, 'reduced' if some else 'complete')")


def qr(input, some=True, *, out=None):
    """(Q, R): reduced when `some`, complete otherwise (deprecated in PyTorch: warns once)."""
    linalg_module._warn_once("qr", _QR_WARNING)
    check_tensor(input, "qr")
    values = call(decompositions_ops.QR, input, mode="reduced" if some else "complete")
    return return_types.get("qr", ("Q", "R"))(*values)


_CHOLESKY_WARNING = (
    "torch.cholesky is deprecated in favor of torch.linalg.cholesky and will be removed in a "
    "future PyTorch release.\nL = torch.cholesky(A)\nshould be replaced with\nL = "
    "torch.linalg.cholesky(A)\nand\nU = torch.cholesky(A, upper=True)\nshould be replaced "
    "with\nU = torch.linalg.cholesky(A).mH\nThis transform will produce equivalent results for "
    "all valid (symmetric positive definite) inputs.")


def cholesky(input, upper=False, *, out=None):
    """Cholesky factor, lower or upper (deprecated in PyTorch: warns once)."""
    linalg_module._warn_once("cholesky", _CHOLESKY_WARNING)
    check_tensor(input, "cholesky")
    if input.dtype.category <= dtypes.Category.INT:
        raise NotImplementedError(f"\"cholesky_cpu\" not implemented for "
                                  f"'{scalar_type_name(input.dtype)}'")
    linalg_ops.check_matrix("cholesky", TensorMeta(tuple(input.shape), input.dtype))
    return finish(call(linalg_ops.CHOLESKY_EX, input, upper=bool(upper), errors="cholesky")[0], out)


def _from_factor(factor, upper):
    """A = L L^H (or U^H U) from its Cholesky factor."""
    return factor.mH @ factor if upper else factor @ factor.mH


def cholesky_inverse(input, upper=False, *, out=None):
    """Inverse of A from its Cholesky factor."""
    check_tensor(input, "cholesky_inverse")
    return finish(linalg_module.inv(_from_factor(input, upper)), out)


def cholesky_solve(input, input2, upper=False, *, out=None):
    """Solve A X = B (B = input) given A's Cholesky factor (input2)."""
    check_tensor(input, "cholesky_solve")
    if input.ndim < 2:
        raise RuntimeError(f"b should have at least 2 dimensions, but has {input.ndim} "
                           "dimensions instead")
    return finish(linalg_module.solve(_from_factor(input2, upper), input), out)


def norm(input, p="fro", dim=None, keepdim=False, out=None, dtype=None):
    """Legacy torch.norm: 'fro' and numbers are vector norms over `dim`, 'nuc' a matrix
    norm (PyTorch's dispatch in torch.functional.norm)."""
    check_tensor(input, "norm")
    dims = None if dim is None else [dim] if isinstance(dim, int) else list(dim)
    if isinstance(p, str):
        if p == "fro" and (dim is None or isinstance(dim, int) or len(dim) <= 2):
            return linalg_module.vector_norm(input, 2, dims, keepdim, dtype=dtype, out=out)
        if dims is None:
            dims = list(range(input.ndim))
        return linalg_module.matrix_norm(input, p, dims, keepdim, dtype=dtype, out=out)
    return linalg_module.vector_norm(input, 2.0 if p is None else p, dims, keepdim, dtype=dtype,
                                     out=out)


def trace(input):
    """Sum of the main diagonal of a 2-D tensor (integers sum to int64)."""
    check_tensor(input, "trace")
    return call(norms_ops.TRACE, input)


def pinverse(input, rcond=1e-15):
    """Pseudo-inverse with singular values <= rcond * max dropped."""
    return linalg_module.pinv(input, rtol=rcond)


def matrix_exp(input):
    """The matrix exponential of square matrices (torch.linalg.matrix_exp)."""
    return linalg_module.matrix_exp(input)


def matrix_power(input, n, *, out=None):
    """input ** n for square matrices (torch.linalg.matrix_power)."""
    return linalg_module.matrix_power(input, n, out=out)


_CROSS_WARNING = ("Using torch.cross without specifying the dim arg is deprecated.\nPlease "
                  "either pass the dim explicitly or simply use torch.linalg.cross.\nThe default "
                  "value of dim will change to agree with that of linalg.cross in a future "
                  "release.")


def cross(input, other, dim=None, *, out=None):
    """Cross product; without `dim`, the first dimension of size 3 (deprecated: warns)."""
    check_tensor(input, "cross")
    if dim is None:
        linalg_module._warn_once("cross", _CROSS_WARNING)
        sizes = [i for i, s in enumerate(input.shape) if s == 3]
        if not sizes:
            raise RuntimeError("no dimension of size 3 in input")
        dim = sizes[0]
    return linalg_module.cross(input, other, dim=dim, out=out)


def dist(input, other, p=2):
    """The p-norm of input - other (broadcast)."""
    check_tensor(input, "dist")
    for t in (input, other):
        if isinstance(t, Tensor) and t.dtype.category <= dtypes.Category.INT:
            raise RuntimeError(f"norm(): input dtype should be either floating point or complex. "
                               f"Got {scalar_type_name(t.dtype)} instead.")
    return linalg_module.vector_norm(input - other, p)


def chain_matmul(*matrices, out=None):
    """Deprecated alias of linalg.multi_dot taking the matrices as arguments (warns once)."""
    linalg_module._warn_once("chain_matmul", (
        "torch.chain_matmul is deprecated and will be removed in a future PyTorch release. Use "
        "torch.linalg.multi_dot instead, which accepts a list of two or more tensors rather "
        "than multiple parameters."))
    if not matrices:
        raise RuntimeError("chain_matmul(): Expected one or more matrices")
    if len(matrices) == 1:
        return finish(matrices[0].clone(), out)
    return linalg_module.multi_dot(matrices, out=out)


_REMOVED = "This function was deprecated since version 1.9 and is now removed."
_EIG_REMOVED = (
    f"{_REMOVED} `torch.linalg.eig` returns complex tensors of dtype `cfloat` or `cdouble` "
    "rather than real tensors mimicking complex tensors.\n\nL, _ = torch.eig(A) should be "
    "replaced with:\nL_complex = torch.linalg.eigvals(A)\n\nand\n\nL, V = torch.eig(A, "
    "eigenvectors=True) should be replaced with:\nL_complex, V_complex = torch.linalg.eig(A)")
_SYMEIG_REMOVED = (
    f"{_REMOVED} The default behavior has changed from using the upper triangular portion of "
    "the matrix by default to using the lower triangular portion.\n\nL, _ = torch.symeig(A, "
    "upper=upper) should be replaced with:\nL = torch.linalg.eigvalsh(A, UPLO='U' if upper else "
    "'L')\n\nand\n\nL, V = torch.symeig(A, eigenvectors=True) should be replaced with:\nL, V = "
    "torch.linalg.eigh(A, UPLO='U' if upper else 'L')")
_LSTSQ_REMOVED = (
    f"{_REMOVED} `torch.lstsq` is deprecated in favor of `torch.linalg.lstsq`.\n"
    "`torch.linalg.lstsq` has reversed arguments and does not return the QR decomposition in "
    "the returned tuple (although it returns other information about the problem).\n\nTo get "
    "the QR decomposition consider using `torch.linalg.qr`.\n\nThe returned solution in "
    "`torch.lstsq` stored the residuals of the solution in the last m - n columns of the "
    "returned value whenever m > n. In torch.linalg.lstsq, the residuals are in the field "
    "'residuals' of the returned named tuple.\n\nThe unpacking of the solution, as in\nX, _ = "
    "torch.lstsq(B, A).solution[:A.size(1)]\nshould be replaced with:\nX = "
    "torch.linalg.lstsq(A, B).solution")
_SOLVE_REMOVED = (
    f"{_REMOVED} `torch.solve` is deprecated in favor of `torch.linalg.solve`. "
    "`torch.linalg.solve` has its arguments reversed and does not return the LU "
    "factorization.\n\nTo get the LU factorization see `torch.lu`, which can be used with "
    "`torch.lu_solve` or `torch.lu_unpack`.\nX = torch.solve(B, A).solution should be replaced "
    "with:\nX = torch.linalg.solve(A, B)")
_RANK_REMOVED = (
    f"{_REMOVED}\nPlease use the `torch.linalg.matrix_rank` function instead. The parameter "
    "'symmetric' was renamed in `torch.linalg.matrix_rank()` to 'hermitian'.")


def eig(input, eigenvectors=False, *, out=None):
    """Removed in PyTorch 1.9: raises, pointing at torch.linalg.eig / eigvals."""
    raise RuntimeError(_EIG_REMOVED)


def symeig(input, eigenvectors=False, upper=True, *, out=None):
    """Removed in PyTorch 1.9: raises, pointing at torch.linalg.eigh / eigvalsh."""
    raise RuntimeError(_SYMEIG_REMOVED)


def lstsq(input, A, *, out=None):
    """Removed in PyTorch 1.9: raises, pointing at torch.linalg.lstsq."""
    raise RuntimeError(_LSTSQ_REMOVED)


def solve(input, A, *, out=None):
    """Removed in PyTorch 1.9: raises, pointing at torch.linalg.solve."""
    raise RuntimeError(_SOLVE_REMOVED)


def matrix_rank(input, tol=None, symmetric=False, *, out=None):
    """Removed in PyTorch 1.9: raises, pointing at torch.linalg.matrix_rank."""
    raise RuntimeError(_RANK_REMOVED)


def _norm_method(self, p="fro", dim=None, keepdim=False, dtype=None):
    return norm(self, p, dim, keepdim, dtype=dtype)


