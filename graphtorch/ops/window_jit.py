"""Machine-code loops for the 2-d window ops (max pooling, its index scatter, im2col and
col2im), compiled by Numba through `numba_jit.lazy_kernel` in the background.

The functions are plain Python loops (this module never imports Numba); the kernels in
`pooling.py` and `conv.py` ask a handle for its compiled form and run their NumPy code
while it is None (no Numba, GRAPHTORCH_JIT=0, or the compile still running). Each loop
makes one pass over its data where the NumPy formulation needs several (a strided copy
per kernel offset, int64 index arithmetic, a float64 bincount), and each follows
PyTorch's CPU kernel exactly: max pooling keeps the first maximum and lets a NaN win, and
starts its index at the first in-bounds element of the window.
"""

from __future__ import annotations

import numpy as np

from ..numba_jit import lazy_kernel

_U = np.uint64  # flat offsets as unsigned: Numba then skips its negative-index checks


def max_pool2d_loop(x, kh, kw, sh, sw, ph, pw, dh, dw, lowest, out, idx):
    """out, idx (P, Ho, Wo) = max and flat h*W+w index over each window of the planes
    x (P, H, W); `lowest` (-inf) is the max of a window with no element."""
    planes, height, width = x.shape
    out_h, out_w = out.shape[1], out.shape[2]
    src = x.reshape(-1)
    values = out.reshape(-1)
    where_at = idx.reshape(-1)
    if (ph == 0 and pw == 0 and dh == 1 and dw == 1 and (out_h - 1) * sh + kh <= height
            and (out_w - 1) * sw + kw <= width):
        # every window lies inside its plane: no clipping (about twice as fast)
        if kh == 2 and kw == 2:  # the common 2x2 pool, unrolled: 1.7x faster again
            for p in range(planes):
                base = p * height * width
                for i in range(out_h):
                    for j in range(out_w):
                        corner = i * sh * width + j * sw
                        best = lowest
                        where = corner
                        for at in (corner, corner + 1, corner + width, corner + width + 1):
                            v = src[_U(base + at)]
                            if v > best or v != v:  # noqa: PLR0124 - NaN test
                                best = v
                                where = at
                        o = _U((p * out_h + i) * out_w + j)
                        values[o] = best
                        where_at[o] = where
            return
        for p in range(planes):
            for i in range(out_h):
                for j in range(out_w):
                    corner = i * sh * width + j * sw
                    best = lowest
                    where = corner
                    for a in range(kh):
                        for b in range(kw):
                            at = corner + a * width + b
                            v = src[_U(p * height * width + at)]
                            if v > best or v != v:  # noqa: PLR0124 - NaN test, 3x faster than isnan
                                best = v
                                where = at
                    o = _U((p * out_h + i) * out_w + j)
                    values[o] = best
                    where_at[o] = where
        return
    for p in range(planes):
        base = p * height * width
        for i in range(out_h):
            h0 = i * sh - ph
            h1 = min(h0 + (kh - 1) * dh + 1, height)
            while h0 < 0:
                h0 += dh
            for j in range(out_w):
                w0 = j * sw - pw
                w1 = min(w0 + (kw - 1) * dw + 1, width)
                while w0 < 0:
                    w0 += dw
                best = lowest
                where = h0 * width + w0
                for h in range(h0, h1, dh):
                    for w in range(w0, w1, dw):
                        v = src[_U(base + h * width + w)]
                        if v > best or v != v:  # noqa: PLR0124 - NaN test, 3x faster than isnan
                            best = v
                            where = h * width + w
                o = _U((p * out_h + i) * out_w + j)
                values[o] = best
                where_at[o] = where


def index_scatter_loop(grad, idx, out):
    """out[r, idx[r, k]] += grad[r, k] (rows r, out zeroed); an index past the row (a
    window wholly in the padding) sends its gradient nowhere, as in PyTorch."""
    rows, count = grad.shape
    plane = out.shape[1]
    for r in range(rows):
        for k in range(count):
            t = idx[r, k]
            if 0 <= t < plane:
                out[r, t] += grad[r, k]


def im2col2d_loop(x, kh, kw, sh, sw, ph, pw, dh, dw, out_h, out_w, cols):
    """cols (G, C/G*kh*kw, N*out_h*out_w) of x (N, C, H, W): row (c, a, b), column (n, i, j)
    holds x[n, g*C/G + c, i*sh - ph + a*dh, j*sw - pw + b*dw]; entries in the padding are
    not written (pass zeroed cols when there is padding)."""
    n_batch, channels, height, width = x.shape
    groups, rows, count = cols.shape
    per_group = channels // groups
    plane = out_h * out_w
    src = x.reshape(-1)
    dst = cols.reshape(-1)
    for g in range(groups):
        for c in range(per_group):
            for a in range(kh):
                # [i_lo, i_hi) (and below [j_lo, j_hi)): the i whose source row is inside x
                off_h = a * dh - ph
                i_lo = 0 if off_h >= 0 else (sh - 1 - off_h) // sh
                i_hi = max(i_lo, min(out_h, (height - 1 - off_h + sh) // sh))
                for b in range(kw):
                    off_w = b * dw - pw
                    j_lo = 0 if off_w >= 0 else (sw - 1 - off_w) // sw
                    j_hi = max(j_lo, min(out_w, (width - 1 - off_w + sw) // sw))
                    row = (g * rows + (c * kh + a) * kw + b) * count
                    for n in range(n_batch):
                        base = ((n * channels + g * per_group + c) * height + off_h) * width \
                            + off_w
                        for i in range(i_lo, i_hi):
                            s0 = base + i * sh * width
                            d0 = row + n * plane + i * out_w
                            # unsigned offsets: no negative-index wraparound in the loop
                            for j in range(j_lo, j_hi):
                                dst[_U(d0 + j)] = src[_U(s0 + j * sw)]


def col2im2d_loop(cols, kh, kw, sh, sw, ph, pw, dh, dw, in_h, in_w, out):
    """The transposed convolution's scatter-add: cols (Cout*kh*kw, N*in_h*in_w), row
    (co, a, b) and column (n, i, j), adds into out (N, Cout, H, W), zeroed, at
    (i*sh - ph + a*dh, j*sw - pw + b*dw); positions outside out (the cropped padding) drop."""
    n_batch, channels, height, width = out.shape
    count = cols.shape[1]
    plane = in_h * in_w
    src = cols.reshape(-1)
    dst = out.reshape(-1)
    for n in range(n_batch):
        for co in range(channels):
            for a in range(kh):
                off_h = a * dh - ph
                i_lo = 0 if off_h >= 0 else (sh - 1 - off_h) // sh
                i_hi = max(i_lo, min(in_h, (height - 1 - off_h + sh) // sh))
                for b in range(kw):
                    off_w = b * dw - pw
                    j_lo = 0 if off_w >= 0 else (sw - 1 - off_w) // sw
                    j_hi = max(j_lo, min(in_w, (width - 1 - off_w + sw) // sw))
                    row = ((co * kh + a) * kw + b) * count + n * plane
                    base = ((n * channels + co) * height + off_h) * width + off_w
                    for i in range(i_lo, i_hi):
                        d0 = base + i * sh * width
                        s0 = row + i * in_w
                        for j in range(j_lo, j_hi):
                            dst[_U(d0 + j * sw)] += src[_U(s0 + j)]


def _signatures(template):
    return [template.replace("T", t) for t in ("float32", "float64")]


_I = ", ".join(["int64"] * 8)
MAX_POOL2D = lazy_kernel(max_pool2d_loop, signature=_signatures(
    f"void(T[:, :, ::1], {_I}, T, T[:, :, ::1], int64[:, :, ::1])"))
INDEX_SCATTER = lazy_kernel(index_scatter_loop, signature=_signatures(
    "void(T[:, ::1], int64[:, ::1], T[:, ::1])"))
IM2COL2D = lazy_kernel(im2col2d_loop, signature=_signatures(
    f"void(T[:, :, :, ::1], {_I}, int64, int64, T[:, :, ::1])"))
COL2IM2D = lazy_kernel(col2im2d_loop, signature=_signatures(
    f"void(T[:, ::1], {_I}, int64, int64, T[:, :, :, ::1])"))


_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def numpy_float(xp, *arrays) -> bool:
    """Whether the loops apply: NumPy arrays of one float32/float64 dtype."""
    if xp is not np:
        return False
    dtype = arrays[0].dtype
    return dtype in _FLOATS and all(a.dtype == dtype for a in arrays)
