"""Linear-algebra primitives (torch.linalg): factorizations, solves, norms, cross, trace.

Kernels call the array module's LAPACK wrappers (`xp.linalg`) on stacks of matrices (leading
batch dims), raise ValueError for bad input so that `infer` explains it with PyTorch's
message, and raise `LinAlgError` for singular/non-definite input. Every vjp is written with
graphtorch ops and reads the saved outputs; hidden factors (svdvals, eigvals) are recomputed.
"""

from __future__ import annotations

from .. import dtypes
from ..dtypes import scalar_type_name
from .devices import max_with_initial
from .linalg_grads import (cholesky_vjp, cross_vjp, det_vjp, eig_vjp, eigh_vjp, inv_vjp, lstsq_vjp,
                           pinv_vjp, qr_vjp, slogdet_vjp, solve_vjp, svd_vjp, trace_vjp,
                           vector_norm_vjp)
from .registry import Category, OpDef, TensorMeta, register
from .shape_rules import broadcast_shapes, normalize_dim, normalize_dims, reduced_shape

OPAQUE = Category.OPAQUE


class LinAlgError(RuntimeError):
    """torch.linalg.LinAlgError: a matrix was singular or not positive-definite."""


LinAlgError.__module__ = "graphtorch.linalg"

# PyTorch's CPU message for a half-precision input, per function family.
_HALF = {"linalg.inv": None, "linalg.inv_ex": None, "linalg.slogdet": None,
         "linalg.det": "lu_cpu", "linalg.solve": "lu_cpu", "linalg.svd": "linalg_svd_cpu",
         "linalg.eig": "linalg_eig_out_cpu", "linalg.eigvals": "linalg_eig_out_cpu",
         "linalg.eigh": "linalg_eigh_cpu", "linalg.qr": "geqrf_cpu",
         "linalg.cholesky": "cholesky_cpu"}


def check_dtype(name, dtype):
    """PyTorch's checks that a linalg input is float32/64 or complex."""
    if dtype.category <= dtypes.Category.INT:
        if name in ("linalg.eig", "linalg.eigvals"):
            raise RuntimeError(f"Unknown Complex ScalarType for {scalar_type_name(dtype)}")
        if name == "linalg.eigh":
            raise NotImplementedError(f"\"linalg_eigh_cpu\" not implemented for "
                                      f"'{scalar_type_name(dtype)}'")
        raise RuntimeError(f"{name}: Expected a floating point or complex tensor as input. "
                           f"Got {scalar_type_name(dtype)}")
    if dtype.name in ("float16", "bfloat16", "complex32") and name in _HALF:
        kernel = _HALF[name]
        if kernel is None:
            raise RuntimeError(f"{name}: Low precision dtypes not supported. Got "
                               f"{scalar_type_name(dtype)}")
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{scalar_type_name(dtype)}'")


def check_matrix(name, meta, square=True, arg="A"):
    """Rank >= 2 and (optionally) square trailing dims, with PyTorch's messages."""
    if len(meta.shape) < 2:
        raise RuntimeError(f"{name}: The input tensor {arg} must have at least 2 dimensions.")
    if square and meta.shape[-1] != meta.shape[-2]:
        raise RuntimeError(f"{name}: A must be batches of square matrices, but they are "
                           f"{meta.shape[-2]} by {meta.shape[-1]} matrices")
    check_dtype(name, meta.dtype)


def _bad(a, square=True):
    """Cheap kernel-side validity test; infer produces the message."""
    return (a.ndim < 2 or a.dtype.kind not in "fc" or a.dtype.itemsize < 4
            or (square and a.shape[-1] != a.shape[-2]))


def _complex_of(np_dtype):
    return dtypes.from_numpy_dtype(np_dtype).to_complex().np_dtype


def _real_meta(meta, shape):
    return TensorMeta(tuple(shape), meta.dtype.to_real())


def _batch_prefix(batch_index):
    return f"(Batch element {batch_index}): " if batch_index is not None else ""


def _first_failure(info):
    """(flat batch index or None, info value) of the first failing matrix."""
    flat = info.reshape(-1)
    bad = [i for i in range(flat.size) if int(flat[i]) > 0]
    if not bad:
        return None, 0
    return (bad[0] if info.ndim else None), int(flat[bad[0]])


def _lu_info(xp, a):
    """LAPACK getrf's `info` per matrix: 1-based index of the first zero pivot of the LU
    factorization with partial pivoting (0 when invertible). Only run on failure paths."""
    batch = a.shape[:-2]
    n = a.shape[-1]
    work = a.reshape((-1, n, n)).copy()
    info = xp.zeros(work.shape[0], dtype=xp.int32)
    rows = xp.arange(work.shape[0])
    for k in range(n):
        p = xp.argmax(xp.abs(work[:, k:, k]), axis=1) + k
        top = work[rows, k].copy()
        work[rows, k] = work[rows, p]
        work[rows, p] = top
        pivot = work[:, k, k]
        zero = pivot == 0
        info = xp.where((info == 0) & zero, k + 1, info).astype(xp.int32)
        factor = work[:, k + 1:, k] / xp.where(zero, 1, pivot)[:, None]
        factor[zero] = 0
        work[:, k + 1:, k:] -= factor[:, :, None] * work[:, k:k + 1, k:]
    return info.reshape(batch)


def _cholesky_info(xp, a):
    """potrf's `info`: order of the first leading minor that is not positive-definite."""
    batch = a.shape[:-2]
    n = a.shape[-1]
    work = a.reshape((-1, n, n))
    low = xp.zeros_like(work)
    info = xp.zeros(work.shape[0], dtype=xp.int32)
    for j in range(n):
        row = low[:, j, :j]
        d = (work[:, j, j] - xp.sum(row * row.conj(), axis=-1)).real
        bad = ~(d > 0)
        info = xp.where((info == 0) & bad, j + 1, info).astype(xp.int32)
        root = xp.sqrt(xp.where(bad, 1, d))
        low[:, j, j] = root
        col = work[:, j + 1:, j] - xp.einsum("bik,bk->bi", low[:, j + 1:, :j], row.conj())
        low[:, j + 1:, j] = col / root[:, None]
    return info.reshape(batch)


def _linalg_error(xp):
    return getattr(getattr(xp, "linalg", None), "LinAlgError", None) or ValueError


# --- inverse ------------------------------------------------------------------------------

def _inv_kernel(xp, a, errors=""):
    if _bad(a):
        raise ValueError("invalid linalg.inv input")
    try:
        return xp.linalg.inv(a), xp.zeros(a.shape[:-2], dtype=xp.int32)
    except _linalg_error(xp):
        info = _lu_info(xp, a)
    if errors:
        index, _ = _first_failure(info)
        value = int(info.reshape(-1)[index or 0])
        raise LinAlgError(f"{errors}: {_batch_prefix(index)}The diagonal element {value} is "
                          "zero, the inversion could not be completed because the input "
                          "matrix is singular.")
    out = xp.full(a.shape, xp.nan, dtype=a.dtype)
    ok = info == 0
    out[ok] = xp.linalg.inv(a[ok])
    return out, info


def _inv_infer(a, errors=""):
    check_matrix("linalg.inv", a)
    return TensorMeta(a.shape, a.dtype), TensorMeta(a.shape[:-2], dtypes.int32)


INV_EX = register(OpDef("linalg_inv_ex", OPAQUE, _inv_kernel, _inv_infer, inv_vjp,
                        save_output=True, num_outputs=2,
                        doc="(inverse, info) of square matrices; errors names the raiser"))


# --- determinants -------------------------------------------------------------------------

def _det_kernel(xp, a):
    if _bad(a):
        raise ValueError("invalid linalg.det input")
    return xp.asarray(xp.linalg.det(a), dtype=a.dtype)


def _det_infer(a):
    check_matrix("linalg.det", a)
    return TensorMeta(a.shape[:-2], a.dtype)


DET = register(OpDef("linalg_det", OPAQUE, _det_kernel, _det_infer, det_vjp,
                     save_inputs=(0,), save_output=True, doc="determinant"))


def _slogdet_kernel(xp, a):
    if _bad(a):
        raise ValueError("invalid linalg.slogdet input")
    sign, logabs = xp.linalg.slogdet(a)
    real = a.real.dtype if a.dtype.kind == "c" else a.dtype
    return xp.asarray(sign, dtype=a.dtype), xp.asarray(logabs, dtype=real)


def _slogdet_infer(a):
    check_matrix("linalg.slogdet", a)
    return TensorMeta(a.shape[:-2], a.dtype), _real_meta(a, a.shape[:-2])


SLOGDET = register(OpDef("linalg_slogdet", OPAQUE, _slogdet_kernel, _slogdet_infer,
                         slogdet_vjp, save_inputs=(0,), save_output=True, num_outputs=2,
                         differentiable_outputs=(0, 1), doc="(sign, log|det|)"))


# --- SVD / eigen-decompositions -----------------------------------------------------------

def _svd_kernel(xp, a, full_matrices=True, compute_uv=True):
    if _bad(a, square=False):
        raise ValueError("invalid linalg.svd input")
    real = a.real.dtype if a.dtype.kind == "c" else a.dtype
    if not compute_uv:
        s = xp.linalg.svd(a, compute_uv=False)
        empty = xp.zeros((0,), dtype=a.dtype)
        return empty, xp.asarray(s, dtype=real), empty.copy()
    u, s, vh = xp.linalg.svd(a, full_matrices=full_matrices)
    return u, xp.asarray(s, dtype=real), vh


def _svd_infer(a, full_matrices=True, compute_uv=True):
    check_matrix("linalg.svd", a, square=False)
    *batch, m, n = a.shape
    k = min(m, n)
    s = _real_meta(a, (*batch, k))
    if not compute_uv:
        return TensorMeta((0,), a.dtype), s, TensorMeta((0,), a.dtype)
    ucols, vrows = (m, n) if full_matrices else (k, k)
    return (TensorMeta((*batch, m, ucols), a.dtype), s,
            TensorMeta((*batch, vrows, n), a.dtype))


SVD = register(OpDef("linalg_svd", OPAQUE, _svd_kernel, _svd_infer, svd_vjp,
                     save_inputs=(0,), save_output=True, num_outputs=3,
                     differentiable_outputs=(0, 1, 2),
                     doc="(U, S, Vh); compute_uv=False is svdvals (U, Vh empty)"))


def _eig_kernel(xp, a, compute_v=True):
    if _bad(a):
        raise ValueError("invalid linalg.eig input")
    cdtype = _complex_of(a.dtype)
    if not compute_v:
        empty = xp.zeros((0,), dtype=cdtype)
        return xp.asarray(xp.linalg.eigvals(a), dtype=cdtype), empty
    w, v = xp.linalg.eig(a)
    return xp.asarray(w, dtype=cdtype), xp.asarray(v, dtype=cdtype)


def _eig_infer(a, compute_v=True):
    check_matrix("linalg.eig" if compute_v else "linalg.eigvals", a)
    cdtype = a.dtype.to_complex()
    vectors = TensorMeta(a.shape if compute_v else (0,), cdtype)
    return TensorMeta(a.shape[:-1], cdtype), vectors


EIG = register(OpDef("linalg_eig", OPAQUE, _eig_kernel, _eig_infer, eig_vjp,
                     save_inputs=(0,), save_output=True, num_outputs=2,
                     differentiable_outputs=(0, 1),
                     doc="complex (eigenvalues, eigenvectors) in LAPACK's order"))


def _eigh_kernel(xp, a, UPLO="L", compute_v=True):
    if _bad(a) or UPLO not in ("L", "U"):
        raise ValueError("invalid linalg.eigh input")
    real = a.real.dtype if a.dtype.kind == "c" else a.dtype
    if not compute_v:
        return (xp.asarray(xp.linalg.eigvalsh(a, UPLO=UPLO), dtype=real),
                xp.zeros((0,), dtype=a.dtype))
    w, v = xp.linalg.eigh(a, UPLO=UPLO)
    return xp.asarray(w, dtype=real), v


def _eigh_infer(a, UPLO="L", compute_v=True):
    check_matrix("linalg.eigh", a)
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    return _real_meta(a, a.shape[:-1]), TensorMeta(a.shape if compute_v else (0,), a.dtype)


EIGH = register(OpDef("linalg_eigh", OPAQUE, _eigh_kernel, _eigh_infer, eigh_vjp,
                      save_inputs=(0,), save_output=True, num_outputs=2,
                      differentiable_outputs=(0, 1),
                      doc="ascending real eigenvalues and eigenvectors of Hermitian input"))


# --- QR / Cholesky ------------------------------------------------------------------------

QR_MODES = ("reduced", "complete", "r")


def _qr_kernel(xp, a, mode="reduced"):
    if _bad(a, square=False) or mode not in QR_MODES:
        raise ValueError("invalid linalg.qr input")
    if mode == "r":
        return xp.zeros((0,), dtype=a.dtype), xp.linalg.qr(a, mode="r")
    q, r = xp.linalg.qr(a, mode=mode)
    return q, r


def _qr_infer(a, mode="reduced"):
    if mode not in QR_MODES:
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of "
                           "'reduced' (default), 'r', or 'complete'")
    check_matrix("linalg.qr", a, square=False)
    *batch, m, n = a.shape
    k = m if mode == "complete" else min(m, n)
    q = TensorMeta((0,) if mode == "r" else (*batch, m, k), a.dtype)
    return q, TensorMeta((*batch, k, n), a.dtype)


QR = register(OpDef("linalg_qr", OPAQUE, _qr_kernel, _qr_infer, qr_vjp, save_output=True,
                    num_outputs=2, differentiable_outputs=(0, 1), doc="(Q, R) by mode"))


def _cholesky_kernel(xp, a, upper=False, errors=""):
    if _bad(a):
        raise ValueError("invalid linalg.cholesky input")
    try:
        low = xp.linalg.cholesky(a)
        info = xp.zeros(a.shape[:-2], dtype=xp.int32)
    except _linalg_error(xp):
        info = _cholesky_info(xp, a)
        if errors:
            index, value = _first_failure(info)
            raise LinAlgError(f"{errors}: {_batch_prefix(index)}The factorization could not "
                              "be completed because the input is not positive-definite (the "
                              f"leading minor of order {value} is not positive-definite).")
        low = xp.tril(a).copy()  # LAPACK leaves a partial factor: the values are unspecified
        ok = info == 0
        low[ok] = xp.linalg.cholesky(a[ok])
    if upper:
        low = xp.ascontiguousarray(xp.swapaxes(low, -1, -2).conj())
    return low, info


def _cholesky_infer(a, upper=False, errors=""):
    check_matrix("linalg.cholesky", a)
    return TensorMeta(a.shape, a.dtype), TensorMeta(a.shape[:-2], dtypes.int32)


CHOLESKY_EX = register(OpDef("linalg_cholesky_ex", OPAQUE, _cholesky_kernel, _cholesky_infer,
                             cholesky_vjp, save_output=True, num_outputs=2,
                             doc="(L, info) of Hermitian positive-definite matrices"))


# --- solves -------------------------------------------------------------------------------

def solve_is_vector(a_shape, b_shape) -> bool:
    """PyTorch's rule: B is a (batch of) vector(s) when 1-D or shaped like A[..., 0]."""
    return len(b_shape) == 1 or (len(b_shape) == len(a_shape) - 1
                                 and tuple(b_shape) == tuple(a_shape[:-1]))


def _solve_shapes(a, b, left, name="linalg.solve"):
    """(matrix B shape, result shape, batch shape); raises PyTorch's shape errors."""
    vector = solve_is_vector(a, b)
    bm = tuple(b) + (1,) if vector else tuple(b)
    ok = a[-1] == bm[-2] if left else a[-2] == bm[-1]
    if not ok:
        eq = "AX = B" if left else "XA = B"
        raise RuntimeError(f"{name}: Incompatible shapes of A and B for the equation {eq} "
                           f"({a[-2]}x{a[-1]} and {bm[-2]}x{bm[-1]})")
    batch = broadcast_shapes(tuple(a[:-2]), bm[:-2])
    out = batch + (bm[-2:] if left else (bm[-2], a[-1]))
    return bm, (out[:-1] if vector else out), batch


def _solve_kernel(xp, a, b, left=True, errors=""):
    if _bad(a) or b.ndim < 1 or a.dtype != b.dtype:
        raise ValueError("invalid linalg.solve input")
    vector = solve_is_vector(a.shape, b.shape)
    bm = b[..., None] if vector else b
    if not left:
        a, bm = xp.swapaxes(a, -1, -2), xp.swapaxes(bm, -1, -2)
    batch = broadcast_shapes(a.shape[:-2], bm.shape[:-2])
    a = xp.broadcast_to(a, batch + a.shape[-2:])
    bm = xp.broadcast_to(bm, batch + bm.shape[-2:])
    info = xp.zeros(batch, dtype=xp.int32)
    try:
        x = xp.linalg.solve(a, bm)
    except _linalg_error(xp):
        info = _lu_info(xp, a)
        if errors:
            raise LinAlgError(f"{errors}: The solver failed because the input matrix is "
                              "singular.")
        x = xp.full(bm.shape, xp.nan, dtype=bm.dtype)
        ok = info == 0
        x[ok] = xp.linalg.solve(a[ok], bm[ok])
    if not left:
        x = xp.swapaxes(x, -1, -2)
    x = xp.ascontiguousarray(x[..., 0] if vector else x)
    return x, info


def _solve_infer(a, b, left=True, errors=""):
    check_matrix("linalg.solve", a)
    if a.dtype is not b.dtype:
        raise RuntimeError(f"linalg.solve: Expected A and B to have the same dtype, but found "
                           f"A of type {scalar_type_name(a.dtype)} and B of type "
                           f"{scalar_type_name(b.dtype)} "
                           "instead")
    if len(b.shape) < 1:
        raise RuntimeError("linalg.solve: The input tensor B must have at least 2 dimensions.")
    _, out, batch = _solve_shapes(a.shape, b.shape, left)
    return TensorMeta(out, a.dtype), TensorMeta(batch, dtypes.int32)


SOLVE_EX = register(OpDef("linalg_solve_ex", OPAQUE, _solve_kernel, _solve_infer,
                          solve_vjp, save_inputs=(0,), save_output=True, num_outputs=2,
                          doc="(X, info) with AX = B (left) or XA = B; batch dims broadcast"))


def _svd_cutoff(xp, s, atol, rtol):
    """Singular values (last axis) above max(atol, rtol * largest) count as non-zero; the
    tolerances are doubles, so the comparison runs in float64 as in PyTorch."""
    s = s.astype(xp.float64)
    top = s.max(axis=-1, keepdims=True) if s.shape[-1] else xp.zeros(s.shape[:-1] + (1,),
                                                                      dtype=s.dtype)
    return s > xp.maximum(atol, rtol * top)


def _pinv_kernel(xp, a, atol=0.0, rtol=0.0, hermitian=False):
    if _bad(a, square=hermitian):
        raise ValueError("invalid linalg.pinv input")
    if hermitian:
        w, v = xp.linalg.eigh(a)
        keep = _svd_cutoff(xp, xp.abs(w), atol, rtol)
        winv = xp.where(keep, 1 / xp.where(keep, w, 1), 0).astype(w.dtype)
        return (v * winv[..., None, :]) @ xp.swapaxes(v, -1, -2).conj()
    u, s, vh = xp.linalg.svd(a, full_matrices=False)
    keep = _svd_cutoff(xp, s, atol, rtol)
    sinv = xp.where(keep, 1 / xp.where(keep, s, 1), 0).astype(s.dtype)
    return (xp.swapaxes(vh, -1, -2).conj() * sinv[..., None, :]) @ xp.swapaxes(u, -1,
                                                                                -2).conj()


def _pinv_infer(a, atol=0.0, rtol=0.0, hermitian=False):
    if len(a.shape) < 2 or a.dtype.category < dtypes.Category.FLOAT \
            or a.dtype.name in ("float16", "bfloat16"):
        shape = ", ".join(str(s) for s in a.shape)
        raise RuntimeError(f"linalg.pinv({scalar_type_name(a.dtype)}{{[{shape}]}}): expected a "
                           f"tensor "
                           "with 2 or more dimensions of float, double, cfloat or cdouble "
                           "types")
    if hermitian:
        check_matrix("linalg.eigh", a)
    return TensorMeta(a.shape[:-2] + (a.shape[-1], a.shape[-2]), a.dtype)


PINV = register(OpDef("linalg_pinv", OPAQUE, _pinv_kernel, _pinv_infer, pinv_vjp,
                      save_inputs=(0,), save_output=True,
                      doc="Moore-Penrose pseudo-inverse (singular values <= tol dropped)"))

LSTSQ_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


def _lstsq_kernel(xp, a, b, rcond=None, driver="gelsy"):
    if _bad(a, square=False) or a.dtype != b.dtype or b.ndim < 1 or \
            driver not in LSTSQ_DRIVERS:
        raise ValueError("invalid linalg.lstsq input")
    *_, m, n = a.shape
    vector = b.ndim == a.ndim - 1
    bm = b[..., None] if vector else b
    if bm.shape[-2] != m:
        raise ValueError("lstsq shapes")
    if rcond is None:
        rcond = float(xp.finfo(a.dtype).eps) * max(m, n)
    u, s, vh = xp.linalg.svd(a, full_matrices=False)
    keep = _svd_cutoff(xp, s, 0.0, rcond)
    sinv = xp.where(keep, 1 / xp.where(keep, s, 1), 0).astype(s.dtype)
    uhb = xp.swapaxes(u, -1, -2).conj() @ bm
    x = xp.swapaxes(vh, -1, -2).conj() @ (sinv[..., :, None] * uhb)
    rank = keep.sum(axis=-1).astype(xp.int64)
    real = s.dtype
    residuals = xp.zeros((0,), dtype=real)
    if driver != "gelsy" and m > n and bool((rank == n).all()):
        r = a @ x - bm
        residuals = (xp.abs(r) ** 2).sum(axis=-2).astype(real)
    if driver == "gels":
        rank = xp.zeros((0,), dtype=xp.int64)
    svals = s if driver in ("gelsd", "gelss") else xp.zeros((0,), dtype=real)
    x = xp.ascontiguousarray(x[..., 0] if vector else x)
    return x, residuals, rank, xp.ascontiguousarray(svals)


def _lstsq_infer(a, b, rcond=None, driver="gelsy"):
    if a.dtype.name in ("float16", "bfloat16"):
        raise RuntimeError("This function doesn't handle types other than float and double")
    check_matrix("linalg.lstsq", a, square=False)
    if a.dtype is not b.dtype:
        raise RuntimeError(f"torch.linalg.lstsq: Expected input and other to have the same "
                           f"dtype, but got input's dtype {scalar_type_name(a.dtype)} and other's "
                           f"dtype "
                           f"{scalar_type_name(b.dtype)}")
    if driver not in LSTSQ_DRIVERS:
        raise RuntimeError("torch.linalg.lstsq: parameter `driver` should be one of "
                           "(gels, gelsy, gelsd, gelss)")
    vector = len(b.shape) == len(a.shape) - 1
    bm = tuple(b.shape) + (1,) if vector else tuple(b.shape)
    if len(bm) < 2 or bm[-2] != a.shape[-2]:
        raise RuntimeError("torch.linalg.lstsq: input.size(-2) should match other.size(-2)")
    batch = broadcast_shapes(tuple(a.shape[:-2]), bm[:-2])
    m, n = a.shape[-2:]
    x = batch + (n,) if vector else batch + (n, bm[-1])
    real = a.dtype.to_real()
    rank = TensorMeta((0,) if driver == "gels" else tuple(a.shape[:-2]), dtypes.int64)
    svals = (tuple(a.shape[:-2]) + (min(m, n),)) if driver in ("gelsd", "gelss") else (0,)
    # residuals' shape depends on the data (full rank or not): the kernel decides
    return (TensorMeta(x, a.dtype), TensorMeta((-1,) * max(len(x) - 1, 1), real), rank,
            TensorMeta(svals, real))


LSTSQ = register(OpDef("linalg_lstsq", OPAQUE, _lstsq_kernel, _lstsq_infer, lstsq_vjp,
                       save_inputs=(0, 1), save_output=True, num_outputs=4,
                       differentiable_outputs=(0, 1),
                       doc="least squares: (solution, residuals, rank, singular_values)"))


# --- norms, cross, trace ------------------------------------------------------------------

def _vnorm_axes(ndim, dims):
    return None if dims is None or (ndim and not dims) else normalize_dims(dims, ndim) \
        if ndim else None


def _vnorm_kernel(xp, a, ord=2.0, dims=None, keepdim=False):
    if a.dtype.kind not in "fc":
        raise ValueError("invalid linalg.vector_norm input")
    axis = _vnorm_axes(a.ndim, dims)
    x = xp.abs(a)
    real = x.dtype
    if ord == 2.0:
        out = xp.sqrt(xp.sum(x * x, axis=axis, keepdims=keepdim))
    elif ord == 1.0:
        out = xp.sum(x, axis=axis, keepdims=keepdim)
    elif ord == float("inf"):
        out = max_with_initial(xp, x, axis, keepdim, 0)
    elif ord == float("-inf"):
        out = xp.min(x, axis=axis, keepdims=keepdim)
    elif ord == 0.0:
        out = xp.sum(x != 0, axis=axis, keepdims=keepdim)
    else:
        out = xp.sum(x ** ord, axis=axis, keepdims=keepdim) ** (1.0 / ord)
    return xp.asarray(out, dtype=real)


def _vnorm_infer(a, ord=2.0, dims=None, keepdim=False):
    check_dtype("linalg.vector_norm", a.dtype)
    nd = len(a.shape)
    axes = tuple(range(nd)) if dims is None or not dims else normalize_dims(dims, nd) \
        if nd else ()
    return _real_meta(a, reduced_shape(a.shape, axes, keepdim))


VECTOR_NORM = register(OpDef("linalg_vector_norm", Category.REDUCTION, _vnorm_kernel,
                             _vnorm_infer, vector_norm_vjp, save_inputs=(0,),
                             save_output=True, doc="vector p-norm over dims (all by default)"))


def _cross_kernel(xp, a, b, dim=-1):
    if a.dtype != b.dtype or a.ndim != b.ndim:
        raise ValueError("invalid linalg.cross input")
    d = normalize_dim(dim, a.ndim)
    if a.shape[d] != 3 or b.shape[d] != 3:
        raise ValueError("invalid linalg.cross input")
    return xp.ascontiguousarray(xp.cross(a, b, axis=d))


def _cross_infer(a, b, dim=-1):
    if len(a.shape) != len(b.shape):
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    d = normalize_dim(dim, len(a.shape))
    if a.shape[d] != 3 or b.shape[d] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got "
                           f"{a.shape[d]} and {b.shape[d]}")
    if a.dtype is not b.dtype:
        raise RuntimeError(f"expected scalar type {scalar_type_name(a.dtype)} but found "
                           f"{scalar_type_name(b.dtype)}")
    return TensorMeta(broadcast_shapes(tuple(a.shape), tuple(b.shape)), a.dtype)


CROSS = register(OpDef("linalg_cross", OPAQUE, _cross_kernel, _cross_infer, cross_vjp,
                       save_inputs=(0, 1), doc="3-vector cross product along dim"))


def _trace_kernel(xp, a):
    if a.ndim != 2 or a.dtype == bool:
        raise ValueError("invalid trace input")
    out_dtype = xp.int64 if a.dtype.kind in "iu" else a.dtype
    return xp.asarray(xp.trace(a, dtype=out_dtype))


def _trace_infer(a):
    if len(a.shape) != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {len(a.shape)}")
    if a.dtype is dtypes.bool_:
        raise NotImplementedError("\"trace\" not implemented for 'Bool'")
    dtype = dtypes.int64 if a.dtype.category <= dtypes.Category.INT else a.dtype
    return TensorMeta((), dtype)


TRACE = register(OpDef("trace", OPAQUE, _trace_kernel, _trace_infer, trace_vjp,
                       doc="sum of the main diagonal of a matrix"))
