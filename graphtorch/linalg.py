"""`gt.linalg`: PyTorch's torch.linalg namespace on the linear-algebra registry ops.

Factorizations, solves and vector norms are primitives (`ops/linalg.py`); matrix norms,
cond, matrix_rank, matrix_power, multi_dot and vecdot are short decompositions into them,
as in PyTorch. Inputs may carry leading batch dims wherever PyTorch accepts them.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from . import dtypes
from .dtypes import scalar_type_name
from .functions._wrap import check_tensor, finish
from .functions.creation import eye, ones
from .functions.linalg_basic import matmul
from .functions.lu import linalg_lu as lu  # noqa: F401  (LU: functions/lu.py)
from .functions.lu import lu_factor, lu_factor_ex, lu_solve  # noqa: F401
from .functions.math import where
from .functions.reduce import return_types
from .ops import linalg as linalg_ops
from .ops import linalg_decompositions as decompositions_ops
from .ops import linalg_norms as norms_ops
from .ops.dispatch import call, write_out
from .ops.linalg import _eye_mask, _tril
from .ops.registry import TensorMeta
from .ops.shape_rules import normalize_dim
from .tensor import Tensor

__all__ = ["LinAlgError", "inv", "inv_ex", "det", "slogdet", "svd", "svdvals", "eig", "eigvals",
           "eigh", "eigvalsh", "qr", "cholesky", "cholesky_ex", "solve", "solve_ex",
           "solve_triangular", "lstsq", "pinv", "matrix_rank", "norm", "vector_norm",
           "matrix_norm", "cond", "matrix_power", "matrix_exp", "multi_dot", "cross", "vecdot",
           "matmul", "diagonal", "lu", "lu_factor", "lu_factor_ex", "lu_solve"]

LinAlgError = linalg_ops.LinAlgError
_INF = float("inf")


def _meta(t):
    return TensorMeta(tuple(t.shape), t.dtype)


def _finish_tuple(name, fields, values, out):
    """A torch.return_types tuple; `out=` (a tuple of tensors) receives the values."""
    if out is not None:
        values = tuple(write_out(o, v) for o, v in zip(out, values))
    return return_types.get(name, fields)(*values)


def _fmt(x) -> str:
    """A number as PyTorch prints a c10::Scalar in messages (2.0 -> 2, inf -> inf)."""
    if isinstance(x, float):
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        if x.is_integer():
            return str(int(x))
    return str(x)


# --- inverses and determinants ------------------------------------------------------------

def inv(A, *, out=None):
    """Inverse of square matrices; raises LinAlgError for a singular matrix."""
    check_tensor(A, "linalg_inv", "A")
    return finish(call(linalg_ops.INV_EX, A, errors="linalg.inv")[0], out)


def inv_ex(A, *, check_errors=False, out=None):
    """(inverse, info): info > 0 marks singular matrices instead of raising."""
    check_tensor(A, "linalg_inv_ex", "A")
    values = call(linalg_ops.INV_EX, A, errors="linalg.inv_ex" if check_errors else "")
    return _finish_tuple("linalg_inv_ex", ("inverse", "info"), values, out)


def det(A, *, out=None):
    """Determinant of square matrices."""
    check_tensor(A, "linalg_det", "A")
    return finish(call(linalg_ops.DET, A), out)


def slogdet(A, *, out=None):
    """(sign, logabsdet) of the determinant; sign is 0 for singular matrices."""
    check_tensor(A, "linalg_slogdet", "A")
    return _finish_tuple("linalg_slogdet", ("sign", "logabsdet"), call(linalg_ops.SLOGDET, A), out)


# --- decompositions -----------------------------------------------------------------------

def _no_driver(driver):
    if driver is not None:
        raise RuntimeError("torch.linalg.svd: keyword argument `driver=` is only supported on "
                           "CUDA inputs with cuSOLVER backend.")


def svd(A, full_matrices=True, *, driver=None, out=None):
    """(U, S, Vh) with A = U diag(S) Vh; S descending."""
    check_tensor(A, "linalg_svd", "A")
    _no_driver(driver)
    values = call(decompositions_ops.SVD, A, full_matrices=bool(full_matrices))
    return _finish_tuple("linalg_svd", ("U", "S", "Vh"), values, out)


def svdvals(A, *, driver=None, out=None):
    """Singular values, descending."""
    check_tensor(A, "linalg_svdvals", "A")
    _no_driver(driver)
    return finish(call(decompositions_ops.SVD, A, full_matrices=False, compute_uv=False)[1], out)


def eig(A, *, out=None):
    """Complex (eigenvalues, eigenvectors) of square matrices (unit-norm vectors)."""
    check_tensor(A, "linalg_eig", "A")
    values = call(decompositions_ops.EIG, A)
    return _finish_tuple("linalg_eig", ("eigenvalues", "eigenvectors"), values, out)


def eigvals(A, *, out=None):
    """Complex eigenvalues of square matrices."""
    check_tensor(A, "linalg_eigvals", "A")
    return finish(call(decompositions_ops.EIG, A, compute_v=False)[0], out)


def _uplo(UPLO):
    upper = UPLO.upper() if isinstance(UPLO, str) else UPLO
    if upper not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    return upper


def eigh(A, UPLO="L", *, out=None):
    """(eigenvalues ascending, eigenvectors) of Hermitian matrices (reads the UPLO triangle)."""
    check_tensor(A, "linalg_eigh", "A")
    values = call(decompositions_ops.EIGH, A, UPLO=_uplo(UPLO))
    return _finish_tuple("linalg_eigh", ("eigenvalues", "eigenvectors"), values, out)


def eigvalsh(A, UPLO="L", *, out=None):
    """Ascending eigenvalues of Hermitian matrices."""
    check_tensor(A, "linalg_eigvalsh", "A")
    return finish(call(decompositions_ops.EIGH, A, UPLO=_uplo(UPLO), compute_v=False)[0], out)


def qr(A, mode="reduced", *, out=None):
    """(Q, R) with mode 'reduced', 'complete' or 'r' (Q empty)."""
    check_tensor(A, "linalg_qr", "A")
    return _finish_tuple("linalg_qr", ("Q", "R"), call(decompositions_ops.QR, A, mode=mode), out)


def cholesky(A, *, upper=False, out=None):
    """Cholesky factor (lower, or upper = L^H) of Hermitian positive-definite matrices."""
    check_tensor(A, "linalg_cholesky", "A")
    return finish(call(linalg_ops.CHOLESKY_EX, A, upper=bool(upper), errors="linalg.cholesky")[0],
                  out)


def cholesky_ex(A, *, upper=False, check_errors=False, out=None):
    """(L, info): info > 0 is the order of the first non-positive-definite leading minor."""
    check_tensor(A, "linalg_cholesky_ex", "A")
    values = call(linalg_ops.CHOLESKY_EX, A, upper=bool(upper),
                  errors="linalg.cholesky_ex" if check_errors else "")
    return _finish_tuple("linalg_cholesky_ex", ("L", "info"), values, out)


# --- solves -------------------------------------------------------------------------------

def solve(A, B, *, left=True, out=None):
    """X with AX = B (left) or XA = B; B may be a (batch of) vector(s)."""
    check_tensor(A, "linalg_solve", "A")
    check_tensor(B, "linalg_solve", "B")
    return finish(call(linalg_ops.SOLVE_EX, A, B, left=left, errors="torch.linalg.solve")[0], out)


def solve_ex(A, B, *, left=True, check_errors=False, out=None):
    """(result, info) of linalg.solve; info > 0 marks singular matrices."""
    check_tensor(A, "linalg_solve_ex", "A")
    check_tensor(B, "linalg_solve_ex", "B")
    values = call(linalg_ops.SOLVE_EX, A, B, left=left,
                  errors="torch.linalg.solve_ex" if check_errors else "")
    return _finish_tuple("linalg_solve_ex", ("result", "info"), values, out)


def _triangle(A, upper, unit):
    """The triangle of A that solve_triangular reads (unit diagonal when asked)."""
    tri = _tril(A.mT, 0).mT if upper else _tril(A, 0)
    if unit:
        tri = where(_eye_mask(A.shape[-1], A), 1.0, tri)
    return tri


def solve_triangular(A, B, *, upper, left=True, unitriangular=False, out=None):
    """Solve with the upper or lower triangle of A (B must be a matrix)."""
    check_tensor(A, "linalg_solve_triangular", "A")
    check_tensor(B, "linalg_solve_triangular", "B")
    if B.ndim < 2:
        raise RuntimeError("linalg.solve_triangular: The input tensor B must have at least 2 "
                           "dimensions.")
    linalg_ops.check_matrix("linalg.solve_triangular", _meta(A))
    if B.ndim == A.ndim - 1:  # keep B a matrix: PyTorch has no vector case here
        B = B.unsqueeze(0)
    result = call(linalg_ops.SOLVE_EX, _triangle(A, upper, unitriangular), B, left=left)[0]
    return finish(result, out)


def lstsq(A, B, rcond=None, *, driver=None):
    """Least-squares solution of AX = B: (solution, residuals, rank, singular_values)."""
    check_tensor(A, "linalg_lstsq", "A")
    check_tensor(B, "linalg_lstsq", "B")
    values = call(linalg_ops.LSTSQ, A, B, rcond=None if rcond is None else float(rcond),
                  driver=driver or "gelsy")
    return return_types.get("linalg_lstsq", ("solution", "residuals", "rank",
                                             "singular_values"))(*values)


def _scalar(x, name):
    if isinstance(x, Tensor):
        if x.numel() != 1:
            raise NotImplementedError(f"graphtorch: a batched `{name}` tolerance tensor is not "
                                      "supported; pass a number")
        return float(x.item())
    return None if x is None else float(x)


def _tolerances(A, atol, rtol):
    """PyTorch's defaults: rtol = eps * max(m, n) unless atol > 0 is given."""
    atol, rtol = _scalar(atol, "atol"), _scalar(rtol, "rtol")
    if rtol is None:
        eps = float(np.finfo(A.dtype.to_real().np_dtype).eps) if A.dtype.np_dtype is not None \
            and A.dtype.category >= dtypes.Category.FLOAT else 0.0
        rtol = 0.0 if atol is not None and atol > 0 else eps * max(A.shape[-2:], default=0)
    return atol or 0.0, rtol


def pinv(A, rcond=None, hermitian=False, *, atol=None, rtol=None, out=None):
    """Moore-Penrose pseudo-inverse (via SVD, or eigh when hermitian)."""
    check_tensor(A, "linalg_pinv", "A")
    if rcond is not None:
        rtol = rcond
    atol, rtol = _tolerances(A, atol, rtol) if A.ndim >= 2 else (0.0, 0.0)
    return finish(call(linalg_ops.PINV, A, atol=atol, rtol=rtol, hermitian=bool(hermitian)), out)


def matrix_rank(A, tol=None, hermitian=False, *, atol=None, rtol=None, out=None):
    """Number of singular values (|eigenvalues| if hermitian) above max(atol, rtol * max)."""
    check_tensor(A, "linalg_matrix_rank", "A")
    if A.ndim < 2:
        raise RuntimeError("torch.linalg.matrix_rank: The input tensor input must have at "
                           "least 2 dimensions.")
    if A.dtype.category < dtypes.Category.FLOAT:
        raise RuntimeError("This function doesn't handle types other than float and double")
    if tol is not None:
        atol, rtol = tol, 0.0
    atol, rtol = _tolerances(A, atol, rtol)
    s = eigvalsh(A).abs() if hermitian else svdvals(A)
    if s.shape[-1] == 0:
        return finish((s > 0).sum(-1), out)
    s = s.to(dtypes.float64)  # the tolerances are doubles: compare as PyTorch does
    threshold = (s.amax(-1, keepdim=True) * rtol).clamp_min(atol)
    return finish((s > threshold).sum(-1), out)


# --- norms --------------------------------------------------------------------------------

def _norm_dtype(x, dtype):
    """Apply vector_norm's `dtype=` (computation dtype) with PyTorch's checks."""
    if dtype is None:
        return x
    dtype = dtypes.as_dtype(dtype)
    if dtype.category < dtypes.Category.FLOAT:
        raise RuntimeError(f"linalg.vector_norm: dtype should be floating point or complex, but "
                           f"got {scalar_type_name(dtype)}")
    if x.is_complex() and not dtype.is_complex:
        raise RuntimeError(f"linalg.vector_norm: dtype should be complex for complex inputs, but "
                           f"got {scalar_type_name(dtype)}")
    if dtypes.promote_types(x.dtype, dtype) is not dtype:
        raise RuntimeError(f"linalg.vector_norm: the dtype of the input "
                           f"({scalar_type_name(x.dtype)}) "
                           "should be convertible without narrowing to the specified dtype "
                           f"({scalar_type_name(dtype)})")
    return x.to(dtype)


def _dims_tuple(dim):
    if dim is None:
        return None
    return (dim,) if isinstance(dim, int) else tuple(dim)


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None, out=None):
    """The vector ord-norm over `dim` (every element when None): ord in R or +-inf."""
    check_tensor(x, "linalg_vector_norm")
    if isinstance(ord, str) or not isinstance(ord, (int, float)):
        raise TypeError(f"linalg_vector_norm(): argument 'ord' (position 2) must be Number, not "
                        f"{type(ord).__name__}")
    linalg_ops.check_dtype("linalg.vector_norm", x.dtype)
    dims = _dims_tuple(dim)
    if dims:
        seen = set()
        for d in dims:
            nd = normalize_dim(d, x.ndim) if x.ndim else 0
            if nd in seen:
                raise RuntimeError(f"dim {nd} appears multiple times in the list of dims")
            seen.add(nd)
    ord = float(ord)
    if x.numel() == 0 and (ord < 0 or ord == _INF):
        if not dims:
            raise RuntimeError(f"linalg.vector_norm cannot compute the {_fmt(ord)} norm on an "
                               "empty tensor because the operation does not have an identity")
        for d in dims:
            if x.shape[d] == 0:
                raise RuntimeError(f"linalg.vector_norm cannot compute the {_fmt(ord)} norm on "
                                   f"the dimension {d}because this dimension is empty and the "
                                   "operation does not have an identity")
    x = _norm_dtype(x, dtype)
    result = call(norms_ops.VECTOR_NORM, x, ord=ord, dims=dims or None, keepdim=bool(keepdim))
    return finish(result, out)


_MATRIX_ORDS = (1.0, -1.0, 2.0, -2.0, _INF, -_INF)


def _check_matrix_ord(ord):
    if isinstance(ord, str):
        if ord not in ("fro", "nuc"):
            raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    elif float(ord) not in _MATRIX_ORDS:
        raise RuntimeError(f"linalg.matrix_norm: Order {_fmt(float(ord))} not supported.")


def _matrix_dims(A, dim):
    if A.ndim < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 "
                           "dimensions.")
    dim = _dims_tuple(dim)
    if len(dim) != 2:
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got "
                           f"{' '.join(str(d) for d in dim)}")
    d0, d1 = normalize_dim(dim[0], A.ndim), normalize_dim(dim[1], A.ndim)
    if d0 == d1:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({d0}, {d1})")
    linalg_ops.check_dtype("linalg.matrix_norm", A.dtype)
    return d0, d1


def _to_back(A, d0, d1):
    """Move dims d0, d1 to the end (in that order)."""
    rest = [i for i in range(A.ndim) if i not in (d0, d1)]
    return A.permute(*rest, d0, d1)


def _restore(result, A, d0, d1, keepdim):
    if not keepdim:
        return result
    for d in sorted((d0, d1)):
        result = result.unsqueeze(d)
    return result


def _max_min(x, dim, keepdim, largest):
    """amax/amin over `dim`; an empty input gives the (empty or zero) sum, as PyTorch."""
    if x.numel() == 0:
        return x.sum(dim, keepdim)
    return x.amax(dim, keepdim) if largest else x.amin(dim, keepdim)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None, out=None):
    """Matrix norms: 'fro', 'nuc', 1, -1, 2, -2, inf, -inf over the two dims in `dim`."""
    check_tensor(A, "linalg_matrix_norm", "A")
    _check_matrix_ord(ord)
    d0, d1 = _matrix_dims(A, dim)
    if ord == "fro":
        return vector_norm(A, 2, (d0, d1), keepdim, dtype=dtype, out=out)
    if dtype is not None:
        A = A.to(dtypes.as_dtype(dtype))
    if ord == "nuc" or abs(float(ord)) == 2.0:
        s = svdvals(_to_back(A, d0, d1))
        if ord == "nuc":
            result = s.sum(-1)
        else:
            result = _max_min(s, -1, False, float(ord) > 0)
        return finish(_restore(result, A, d0, d1, keepdim), out)
    ord = float(ord)
    if abs(ord) == _INF:  # the inf-norm is the 1-norm of the transpose
        d0, d1 = d1, d0
    if not keepdim and d0 < d1:
        d1 -= 1
    sums = vector_norm(A, 1, d0, keepdim)
    return finish(_max_min(sums, d1, keepdim, ord > 0), out)


def norm(input, ord=None, dim=None, keepdim=False, *, out=None, dtype=None):
    """Vector or matrix norm, chosen from `ord` and `dim` as torch.linalg.norm does."""
    check_tensor(input, "linalg_norm")
    dims = _dims_tuple(dim)
    if dims is not None:
        if len(dims) not in (1, 2):
            raise RuntimeError(f"linalg.norm: If dim is specified, it must be of length 1 or 2. "
                               f"Got {list(dims)}")
    elif ord is not None and input.ndim not in (1, 2):
        raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be "
                           f"1D or 2D. Got {input.ndim}D.")
    if ord is not None and (isinstance(ord, str) or (dims is not None and len(dims) == 2)
                            or (dims is None and input.ndim == 2)):
        return matrix_norm(input, ord, dims or (0, 1), keepdim, dtype=dtype, out=out)
    return vector_norm(input, 2 if ord is None else ord, dims, keepdim, dtype=dtype, out=out)


def cond(A, p=None, *, out=None):
    """Condition number in the p-norm (2 by default: largest / smallest singular value)."""
    check_tensor(A, "linalg_cond", "A")
    if A.ndim < 2:
        raise RuntimeError("linalg.cond: The input tensor must have at least 2 dimensions.")
    if p is None or (not isinstance(p, str) and float(p) in (2.0, -2.0)):
        s = svdvals(A)
        if s.shape[-1] == 0:
            return finish(s.sum(-1), out)
        big, small = s[..., 0], s[..., -1]
        return finish(big / small if p is None or float(p) > 0 else small / big, out)
    if (isinstance(p, str) and p not in ("fro", "nuc")) or \
            (not isinstance(p, str) and float(p) not in _MATRIX_ORDS):
        raise RuntimeError(f"linalg.cond got an invalid norm type: {_fmt(p)}")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"linalg.cond(ord={_fmt(p)}): A must be batches of square matrices, "
                           f"but they are {A.shape[-2]} by {A.shape[-1]} matrices")
    inverse, info = inv_ex(A)
    result = matrix_norm(A, p) * matrix_norm(inverse, p)

    return finish(where(info > 0, _INF, result), out)


# --- products -----------------------------------------------------------------------------

def matrix_power(A, n, *, out=None):
    """A @ A @ ... (n times) by repeated squaring; negative n inverts first."""
    check_tensor(A, "linalg_matrix_power", "A")
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        linalg_ops.check_matrix("linalg.matrix_power", _meta(A))
    if n == 0:
        identity = eye(A.shape[-1], dtype=A.dtype, device=A.device)
        return finish(where(ones((), dtype=dtypes.bool_, device=A.device), identity, A), out)
    if n < 0:
        A, n = inv(A), -n
    if n == 1:
        return finish(A.clone(), out)
    result, z = None, None
    while n > 0:
        bit, n = n % 2, n // 2
        z = A if z is None else matmul(z, z)
        if bit:
            result = z if result is None else matmul(result, z)
    return finish(result, out)


def matrix_exp(A):
    """exp(A) = I + A + A^2/2! + ... of square matrices: a degree-18 Taylor polynomial of
    A / 2^s with ||A / 2^s||_1 <= 1/2 (truncation below 1e-20 relative), squared s times;
    written in graphtorch ops, so its gradient is autograd's. The number of squarings is
    read from ||A||, a value: inside `gt.compile` a call is a graph break.

    >>> gt.linalg.matrix_exp(gt.zeros(2, 2))
    tensor([[1., 0.],
            [0., 1.]])
    """
    check_tensor(A, "linalg_matrix_exp", "A")
    if A.ndim < 2:
        raise RuntimeError("linalg.matrix_exp: The input tensor A must have at least 2 "
                           "dimensions.")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError("linalg.matrix_exp: A must be batches of square matrices, but they "
                           f"are {A.shape[-2]} by {A.shape[-1]} matrices")
    if not (A.is_floating_point() or A.is_complex()):
        raise RuntimeError("linalg.matrix_exp: Expected a floating point or complex tensor as "
                           f"input. Got {scalar_type_name(A.dtype)}")
    norm = float(matrix_norm(A.detach(), 1).max()) if A.numel() else 0.0
    squarings = max(0, math.ceil(math.log2(norm)) + 1) if norm > 0.5 else 0
    A = A / (2.0 ** squarings)
    identity = eye(A.shape[-1], dtype=A.dtype, device=A.device).expand(A.shape)
    result = identity
    for degree in range(18, 0, -1):  # Horner: I + A/1 (I + A/2 (I + ... ))
        result = identity + matmul(A, result) / degree
    for _ in range(squarings):
        result = matmul(result, result)
    return result


_C_NAMES = {"float32": "float", "float64": "double", "int64": "long int", "int32": "int",
            "int16": "short int", "int8": "signed char", "uint8": "unsigned char",
            "bool": "bool", "float16": "c10::Half", "complex64": "c10::complex<float>",
            "complex128": "c10::complex<double>"}


def _chain_order(dims):
    """Optimal parenthesisation of a matrix chain: split[i][j] for the product i..j."""
    n = len(dims) - 1
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = None
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if cost[i][j] is None or c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k
    return split


def multi_dot(tensors, *, out=None):
    """Product of a chain of matrices in the cheapest order (first/last may be vectors)."""
    tensors = list(tensors)
    n = len(tensors)
    if n < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {n}")
    for i, t in enumerate(tensors):
        check_tensor(t, "linalg_multi_dot", "tensors")
        end = i in (0, n - 1)
        where_ = "the first tensor" if i == 0 else "the last tensor" if i == n - 1 else \
            f"tensor {i}"
        if not (t.ndim in (1, 2) if end else t.ndim == 2):
            raise RuntimeError(f"multi_dot(): {where_} must be {'1D or 2D' if end else '2D'} "
                               f"but got {t.ndim}D")
        if t.dtype is not tensors[0].dtype:
            raise RuntimeError(f"multi_dot(): all tensors must have be the same dtype but tensor "
                               f"0 is {_C_NAMES.get(tensors[0].dtype.name)} and tensor {i} "
                               f"{_C_NAMES.get(t.dtype.name)}")
    for i in range(n - 1):
        a, b = tensors[i], tensors[i + 1]
        if a.shape[-1] != b.shape[0]:
            raise RuntimeError(f"multi_dot(): tensors {i} and {i + 1} with shapes "
                               f"{list(a.shape)} and {list(b.shape)} cannot be multiplied")
    first_vec, last_vec = tensors[0].ndim == 1, tensors[-1].ndim == 1
    mats = list(tensors)
    if first_vec:
        mats[0] = mats[0].unsqueeze(0)
    if last_vec:
        mats[-1] = mats[-1].unsqueeze(-1)
    split = _chain_order([mats[0].shape[0]] + [m.shape[1] for m in mats])

    def product(i, j):
        if i == j:
            return mats[i]
        k = split[i][j]
        return matmul(product(i, k), product(k + 1, j))

    result = product(0, n - 1)
    if first_vec:
        result = result.squeeze(0)
    if last_vec:
        result = result.squeeze(-1)
    return finish(result, out)


def cross(input, other, *, dim=-1, out=None):
    """Cross product of 3-vectors along `dim` (batch dims broadcast; ranks must match)."""
    check_tensor(input, "linalg_cross")
    check_tensor(other, "linalg_cross", "other")
    return finish(call(norms_ops.CROSS, input, other, dim=dim), out)


def vecdot(x, y, *, dim=-1, out=None):
    """sum(conj(x) * y) over `dim`, with broadcasting."""
    check_tensor(x, "linalg_vecdot", "x")
    check_tensor(y, "linalg_vecdot", "y")
    linalg_ops.check_dtype("linalg.vecdot", x.dtype)
    if x.dtype is not y.dtype:
        raise RuntimeError(f"linalg.vecdot: Expected x and y to have the same dtype, but found x "
                           f"of type {scalar_type_name(x.dtype)} and y of type "
                           f"{scalar_type_name(y.dtype)} "
                           "instead")
    if x.ndim == 1 and y.ndim == 1 and x.shape[0] != y.shape[0]:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{x.shape[0]}] and src "
                           f"[{y.shape[0]}] to have the same number of elements, but got "
                           f"{x.shape[0]} and {y.shape[0]} elements respectively")
    return finish((x.conj() * y).sum(dim), out)


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    """The diagonal of the trailing matrices (a view)."""
    return A.diagonal(offset, dim1, dim2)


def _warn_once(key, message, _seen=set()):  # noqa: B006  (process-wide, as TORCH_WARN_ONCE)
    if key not in _seen:
        _seen.add(key)
        warnings.warn(message, UserWarning, stacklevel=3)
