"""Linear-algebra primitives (torch.linalg): inverses, determinants and solves.

The other linalg families are `linalg_decompositions` (svd, eig, eigh, qr) and `linalg_norms`
(vector_norm, cross, trace); they share this module's input checks and vjp helpers.

Kernels call the array module's LAPACK wrappers (`xp.linalg`) on stacks of matrices (leading
batch dims), raise ValueError for bad input so that `infer` explains it with PyTorch's
message, and raise `LinAlgError` for singular/non-definite input. Every vjp is written with
graphtorch ops and reads the saved outputs; hidden factors (svdvals, eigvals) are recomputed.
"""

from __future__ import annotations

from .. import dtypes
from ..dtypes import scalar_type_name
from .dispatch import call
from .elementwise import where
from .factories import arange
from .grad_utils import unbroadcast
from .registry import Category, OpDef, TensorMeta, register
from .shape_rules import broadcast_shapes

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
    n = a.shape[-1]
    _, info = lu_eliminate(xp, a.reshape((-1, n, n)).copy())
    return info.reshape(a.shape[:-2])


def lu_eliminate(xp, work):
    """Partial-pivot LU of a batch of (m, n) matrices, in place, as LAPACK's getrf: the
    pivot is the largest |re| + |im| in its column (LAPACK's cabs1), L's multipliers are
    stored below the diagonal and U on and above it. Returns (pivots (batch, min(m, n)),
    1-based int32; info (batch,), the 1-based index of the first zero pivot, 0 if none)."""
    count, _, n = work.shape
    k = min(work.shape[1], n)
    pivots = xp.zeros((count, k), dtype=xp.int32)
    info = xp.zeros(count, dtype=xp.int32)
    rows = xp.arange(count)
    for j in range(k):
        column = work[:, j:, j]
        size = xp.abs(column.real) + xp.abs(column.imag) if column.dtype.kind == "c" \
            else xp.abs(column)
        p = xp.argmax(size, axis=1) + j
        pivots[:, j] = p + 1
        top = work[rows, j].copy()
        work[rows, j] = work[rows, p]
        work[rows, p] = top
        pivot_value = work[:, j, j]
        zero = pivot_value == 0
        info = xp.where((info == 0) & zero, j + 1, info).astype(xp.int32)
        factor = work[:, j + 1:, j] / xp.where(zero, 1, pivot_value)[:, None]
        work[:, j + 1:, j] = factor
        work[:, j + 1:, j + 1:] -= factor[:, :, None] * work[:, j:j + 1, j + 1:]
    return pivots, info


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


# --- vjp helpers (graphtorch ops only, so that backward graphs can be built from them) ---

def _eye_mask(n, like, m=None):
    rows = arange(n, device=like.device).unsqueeze(-1)
    return rows == arange(n if m is None else m, device=like.device)


def _diag_embed(v):
    """Batched diagonal matrices from the last dim of v (zeros elsewhere, even for nan)."""
    return where(_eye_mask(v.shape[-1], v), v.unsqueeze(-1), 0.0)


def _tril(x, k=0):
    rows = arange(x.shape[-2], device=x.device).unsqueeze(-1)
    keep = arange(x.shape[-1], device=x.device) - rows <= k
    return where(keep, x, 0.0)


def _safe_recip(e):
    """1/e with 0 where e == 0: the degenerate entries of eigen/singular-value gaps, whose
    numerators vanish for gauge-invariant losses."""
    zero = e == 0
    return where(zero, 0.0, where(zero, 1.0, e).reciprocal())


def _sgn(x):
    """x / |x| (0 at 0): sign for real, the unit phase for complex."""
    if not x.is_complex():
        return x.sign()
    a = x.abs()
    return where(a == 0, 0.0, x / where(a == 0, 1.0, a))


def _solve(a, b, left=True):
    return call(SOLVE_EX, a, b, left=left)[0]


def _inv(a):
    return call(INV_EX, a)[0]


def inv_vjp(ctx, grad, grad_info=None):
    inv_h = ctx.outputs[0].mH
    return (-(inv_h @ grad @ inv_h),)


def det_vjp(ctx, grad):
    a, det = ctx.inputs[0], ctx.output
    coef = (grad * det.conj()).unsqueeze(-1).unsqueeze(-1)
    return (coef * _inv(a).mH,)


def slogdet_vjp(ctx, grad_sign, grad_logabs):
    a, sign = ctx.inputs[0], ctx.outputs[0]
    coef = grad_logabs
    if a.is_complex():  # the phase of the determinant moves with Im(tr(A^-1 dA))
        coef = grad_logabs + -(grad_sign.conj() * sign).imag * 1j  # gt.complex
    return (coef.unsqueeze(-1).unsqueeze(-1) * _inv(a).mH,)


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


def cholesky_vjp(ctx, g_l, g_info=None):
    low = ctx.outputs[0]
    if ctx.attrs.get("upper", False):
        low, g_l = low.mH, g_l.mH
    p = _tril(low.mH @ g_l)
    p = 0.5 * (p + _tril(p, -1).mH)
    p = _solve(low.mH, p)
    return (_solve(low, p, left=False),)


def solve_vjp(ctx, g_x, g_info=None):
    a, x = ctx.inputs[0], ctx.outputs[0]
    ma, mb = ctx.input_metas[:2]
    vector = solve_is_vector(ma.shape, mb.shape)
    if vector:
        g_x, x = g_x.unsqueeze(-1), x.unsqueeze(-1)
    left = ctx.attrs.get("left", True)
    g_b = _solve(a.mH, g_x, left=left)
    g_a = -(g_b @ x.mH) if left else -(x.mH @ g_b)
    if vector:
        g_b = g_b.squeeze(-1)
    return unbroadcast(g_a, ma), unbroadcast(g_b, mb)


def pinv_backward(grad, pinv, a):
    """PyTorch's pinv_backward: the gradient of A -> pinv(A) at constant rank."""
    m, n = a.shape[-2:]
    pinv_h, grad_h = pinv.mH, grad.mH
    if m <= n:
        k = grad_h @ pinv
        k_pinv_h = k @ pinv_h
        return (-(pinv @ k).mH + k_pinv_h - (a @ pinv) @ k_pinv_h
                + (pinv_h @ pinv) @ (grad_h - k @ a))
    k = pinv @ grad_h
    pinv_h_k = pinv_h @ k
    return (-(k @ pinv).mH + pinv_h_k - (pinv_h_k @ pinv) @ a
            + (grad_h - a @ k) @ pinv @ pinv_h)


def pinv_vjp(ctx, grad):
    return (pinv_backward(grad, ctx.output, ctx.inputs[0]),)


def lstsq_vjp(ctx, g_x, g_res=None, g_rank=None, g_sv=None):
    import numpy as np

    a, b = ctx.inputs[:2]
    ma, mb = ctx.input_metas[:2]
    m, n = ma.shape[-2:]
    rtol = float(np.finfo(ma.dtype.np_dtype).eps) * max(m, n)
    pinv = call(PINV, a, atol=0.0, rtol=rtol)
    vector = len(mb.shape) == len(ma.shape) - 1
    x = ctx.outputs[0]
    if vector:
        g_x, b, x = g_x.unsqueeze(-1), b.unsqueeze(-1), x.unsqueeze(-1)
    g_a = pinv_backward(g_x @ b.mH, pinv, a)
    g_b = pinv.mH @ g_x
    if g_res is not None and g_res.numel():  # residuals |B - AX|^2 per column
        g_b_res = 2 * (b - a @ x) * g_res.unsqueeze(-2)
        g_a = g_a - g_b_res @ x.mH
        g_b = g_b + g_b_res
    if vector:
        g_b = g_b.squeeze(-1)
    return unbroadcast(g_a, ma), unbroadcast(g_b, mb)


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
