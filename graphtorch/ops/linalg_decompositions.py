"""Matrix decompositions (torch.linalg.svd, eig, eigh, qr) and their vjps.

Rules follow the standard formulas, with repeated eigen/singular values guarded so that their
gradients stay finite; hidden factors (svdvals, eigvals) are recomputed.
"""

from __future__ import annotations

from .dispatch import call
from .factories import eye
from .grad_utils import real_if_needed
from .linalg import (
    OPAQUE,
    _bad,
    _complex_of,
    _diag_embed,
    _real_meta,
    _safe_recip,
    _solve,
    _tril,
    check_matrix,
)
from .registry import OpDef, TensorMeta, register


def svd_vjp(ctx, g_u, g_s, g_vh):
    a = ctx.inputs[0]
    if not ctx.attrs.get("compute_uv", True):  # svdvals: recompute the singular vectors
        u, _, vh = call(SVD, a, full_matrices=False)
        return (u @ (g_s.unsqueeze(-1) * vh),)
    u, s, vh = ctx.outputs
    m, n = a.shape[-2:]
    k = min(m, n)
    if ctx.attrs.get("full_matrices", True):  # the extra columns carry no information
        u, vh, g_u, g_vh = u[..., :k], vh[..., :k, :], g_u[..., :k], g_vh[..., :k, :]
    uhgu = u.mH @ g_u
    uhgu = uhgu - uhgu.mH
    vhgv = vh @ g_vh.mH
    vhgv = vhgv - vhgv.mH
    s2 = s * s
    inv_e = _safe_recip(s2.unsqueeze(-2) - s2.unsqueeze(-1))  # E_jk = s_k^2 - s_j^2
    core = (uhgu * s.unsqueeze(-2) + s.unsqueeze(-1) * vhgv) * inv_e + _diag_embed(g_s)
    if a.is_complex():  # the phase of each singular pair: i Im(U^H gU)_ii / s_i
        core = core + _diag_embed(uhgu.diagonal(0, -2, -1) * _safe_recip(2 * s))
    inv_s = _safe_recip(s)
    if m > k:
        g_u_sinv = g_u * inv_s.unsqueeze(-2)
        ga = u @ core + g_u_sinv - u @ (u.mH @ g_u_sinv)
        ga = ga @ vh
    elif n > k:
        sinv_gvh = g_vh * inv_s.unsqueeze(-1)
        ga = core @ vh + sinv_gvh - (sinv_gvh @ vh.mH) @ vh
        ga = u @ ga
    else:
        ga = u @ core @ vh
    return (ga,)


def eig_vjp(ctx, g_l, g_v):
    a = ctx.inputs[0]
    if ctx.attrs.get("compute_v", True):
        lam, v = ctx.outputs
    else:
        lam, v = call(EIG, a)
    vh = v.mH
    core = _diag_embed(g_l)
    if ctx.attrs.get("compute_v", True):
        vhgv = vh @ g_v
        # eigenvectors are normalised: remove the component along each vector's own scale
        vhgv = vhgv - vh @ (v * vhgv.diagonal(0, -2, -1).real.unsqueeze(-2))
        lc = lam.conj()
        core = core + vhgv * _safe_recip(lc.unsqueeze(-2) - lc.unsqueeze(-1))
    ga = _solve(vh, core @ vh)
    return (real_if_needed(ga, ctx.input_metas[0]),)


def eigh_vjp(ctx, g_l, g_v):
    a = ctx.inputs[0]
    if not ctx.attrs.get("compute_v", True):
        lam, v = call(EIGH, a, UPLO=ctx.attrs.get("UPLO", "L"))
        return ((v * g_l.unsqueeze(-2)) @ v.mH,)
    lam, v = ctx.outputs
    vhgv = v.mH @ g_v
    vhgv = 0.5 * (vhgv - vhgv.mH)
    core = vhgv * _safe_recip(lam.unsqueeze(-2) - lam.unsqueeze(-1)) + _diag_embed(g_l)
    return (v @ core @ v.mH,)


def _qr_tall(q, r, g_q, g_r):
    """Gradient of A = QR for m >= n (reduced): (gQ + Q copyltu(M)) R^-H."""
    m = r @ g_r.mH - g_q.mH @ q
    low = _tril(m, -1)
    b = low + low.mH + _diag_embed(m.diagonal(0, -2, -1).real)
    return _solve(r.mH, g_q + q @ b, left=False)


def qr_vjp(ctx, g_q, g_r):
    mode = ctx.attrs.get("mode", "reduced")
    q, r = ctx.outputs
    m, n = ctx.input_metas[0].shape[-2:]
    if mode == "r":
        raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed when "
                           "mode='r'. Please use linalg.qr(A, mode='reduced') if you are going "
                           "to differentiate through linalg.qr.")
    if mode == "complete" and m > n:
        raise RuntimeError("The QR decomposition is not differentiable when mode='complete' "
                           "and nrows > ncols.")
    if m >= n:
        return (_qr_tall(q, r, g_q, g_r),)
    # wide: A = [X | Y] with X = Q R_x square; Y = Q R_y only moves through Q and R_y
    r_x, r_y = r[..., :m], r[..., m:]
    g_rx, g_ry = g_r[..., :m], g_r[..., m:]
    g_x = _qr_tall(q, r_x, g_q + (q @ r_y) @ g_ry.mH, g_rx)
    g_y = q @ g_ry
    identity = eye(n, dtype=g_x.dtype, device=g_x.device)
    return (g_x @ identity[:m] + g_y @ identity[m:],)


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
