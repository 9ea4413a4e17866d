"""Vector-Jacobian products of the linear-algebra primitives in `linalg.py`, written with
graphtorch ops only, so the same rules can build backward graphs. Rules for decompositions
(svd, eig, eigh, qr) follow the standard formulas, with repeated eigen/singular values
guarded so that their gradients stay finite."""

from __future__ import annotations

from . import linalg as linalg_ops
from .dispatch import call
from .elementwise import where
from .factories import arange, eye, zeros_like
from .grad_utils import real_if_needed, unbroadcast
from .shape_rules import normalize_dims, reduced_shape

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
    return call(linalg_ops.SOLVE_EX, a, b, left=left)[0]


def _inv(a):
    return call(linalg_ops.INV_EX, a)[0]


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


def svd_vjp(ctx, g_u, g_s, g_vh):
    a = ctx.inputs[0]
    if not ctx.attrs.get("compute_uv", True):  # svdvals: recompute the singular vectors
        u, _, vh = call(linalg_ops.SVD, a, full_matrices=False)
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
        lam, v = call(linalg_ops.EIG, a)
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
        lam, v = call(linalg_ops.EIGH, a, UPLO=ctx.attrs.get("UPLO", "L"))
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
    vector = linalg_ops.solve_is_vector(ma.shape, mb.shape)
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
    pinv = call(linalg_ops.PINV, a, atol=0.0, rtol=rtol)
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


def vector_norm_vjp(ctx, grad):
    x, norm = ctx.inputs[0], ctx.output
    ord_, dims = ctx.attrs.get("ord", 2.0), ctx.attrs.get("dims")
    shape = tuple(ctx.input_metas[0].shape)
    axes = tuple(range(len(shape))) if not dims else normalize_dims(dims, len(shape)) \
        if shape else ()
    if not ctx.attrs.get("keepdim", False):
        kept = reduced_shape(shape, axes, True)
        grad, norm = grad.reshape(kept), norm.reshape(kept)
    if ord_ == 0.0:
        return (zeros_like(x),)
    if ord_ == 1.0:
        return (_sgn(x) * grad,)
    if ord_ == 2.0:
        return (grad * where(norm == 0, 0.0, x / where(norm == 0, 1.0, norm)),)
    if ord_ in (float("inf"), float("-inf")):
        absx = x.abs()
        mask = (absx == norm).logical_or(absx.isnan())
        count = mask.sum(dim=axes, keepdim=True) if axes else mask.to(grad.dtype)
        return (_sgn(x) * ((grad / count) * mask),)
    absx = x.abs()
    if ord_ < 1.0:
        scaled = _sgn(x) * where(x == 0, 0.0, absx ** (ord_ - 1))
        return (scaled * grad * norm ** (1 - ord_),)
    scaled = _sgn(x) * absx ** (ord_ - 1) if ord_ < 2.0 else x * absx ** (ord_ - 2)
    scale = where(norm == 0, 0.0, grad / norm ** (ord_ - 1))
    return (scaled * scale,)


def cross_vjp(ctx, grad):
    a, b = ctx.inputs[:2]
    ma, mb = ctx.input_metas[:2]
    dim = ctx.attrs.get("dim", -1)
    g_a = call(linalg_ops.CROSS, b.conj(), grad, dim=dim)
    g_b = call(linalg_ops.CROSS, grad, a.conj(), dim=dim)
    return unbroadcast(g_a, ma), unbroadcast(g_b, mb)


def trace_vjp(ctx, grad):
    m, n = ctx.input_metas[0].shape
    return (where(_eye_mask(m, grad, n), grad, 0.0),)
