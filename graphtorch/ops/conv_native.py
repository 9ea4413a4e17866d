"""Direct 2-d convolution with stride 1 (forward, and the weight gradient) as g++-built,
register-blocked loops: no im2col matrix.

LeNet-like convolutions have few channels, so im2col makes a column matrix 25x the input
and hands a skinny GEMM (6 or 16 output rows) to the BLAS: memory-bound, ~0.6 ms each at
LeNet's sizes. Here each output is computed where it is stored:

- The input is zero-padded once into planes of width ``wp`` (its padded width). For a
  stride-1 window, output (r, c) of a plane reads ``x[r*wp + c + offset(tap)]``, so over
  the flattened "wide" output (``oh * wp`` positions, columns >= ow discarded) every tap is
  a contiguous vector: ``out[p] += w[tap] * x[p + offset(tap)]``.
- Forward: 8 output channels x 2 vectors of positions stay in registers over all taps
  (one weight broadcast and one input load feed 8 FMAs). Positions in discarded columns
  read neighbours' data; they are never stored.
- Weight gradient: 4 output channels x 5 taps of accumulators over the batch and the wide
  positions, with the output gradient zero in the discarded columns.
- A transposed convolution with stride 1 (the input gradient) is a forward one over the
  gradient padded by ``dilation * (k - 1) - padding``, with flipped, transposed weights.

Products are fused multiply-adds summed in another order than the GEMM's: rounding-level
differences, like another BLAS. A non-finite weight gradient is recomputed by the caller's
reference path (``0 * inf`` in a discarded column would make a NaN eager does not have).
Built in the background like the native tier (`native_build`); until then, without a
compiler, for other dtypes or under GRAPHTORCH_JIT=0 the functions return None and
`ops.conv` keeps its im2col code.
"""

from __future__ import annotations

import ctypes

import numpy as np

from ..native_build import FloatKernels, openmp_usable
from ..native_math import WIDE_VECTORS
from ..threads import get_num_threads

__all__ = ["forward", "weight_grad"]

SOURCE = r"""
// FMAs in these sums (this unit only): a GEMM's rounding, twice the throughput
#pragma GCC optimize("fp-contract=fast")
#include <cstring>
#include <vector>
""" + WIDE_VECTORS + r"""

enum { WB = 4, TB = 5 };

// element offsets of the taps (ci, i, j) from a group's first plane
static std::vector<long long> tap_offsets(long long cg, long long kh, long long kw,
                                          long long dh, long long dw, long long wp,
                                          long long plane) {
    std::vector<long long> offs(cg * kh * kw);
    long long t = 0;
    for (long long ci = 0; ci < cg; ++ci)
        for (long long i = 0; i < kh; ++i)
            for (long long j = 0; j < kw; ++j) offs[t++] = ci * plane + i * dh * wp + j * dw;
    return offs;
}

// out (N, G*og, oh, ow) from x (N, G*cg, planes of `plane`, rows wp wide, zero tail after
// the last plane; the real rows are [top, top + h)) and wb (G, ceil(og/CB), taps, CB),
// zero in the padded channels; CB channels by PV vectors of positions in registers
template <typename T, int CB, int PV>
static void conv_forward(const T* x, const T* wb, const T* bias, T* out, long long N, long long G,
                         long long cg, long long og, long long kh, long long kw, long long dh,
                         long long dw, long long wp, long long plane, long long oh,
                         long long ow, long long top, long long h, int threads) {
    typedef typename Vec<T>::v V;
    typedef typename Vec<T>::u U;
    const int L = Vec<T>::L;
    const long long taps = cg * kh * kw, ob = (og + CB - 1) / CB, span = oh * wp;
    const std::vector<long long> offv = tap_offsets(cg, kh, kw, dh, dw, wp, plane);
    const long long* offs = offv.data();
    const long long items = N * G * ob;
    #pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
    for (long long it = 0; it < items; ++it) {
        const long long n = it / (G * ob), g = (it / ob) % G, b = it % ob;
        const T* xg = x + (n * G + g) * cg * plane;
        const T* wblk = wb + (g * ob + b) * taps * CB;
        T* obase = out + ((n * G + g) * og + b * CB) * oh * ow;
        const long long nc = og - b * CB < CB ? og - b * CB : CB;
        for (long long p0 = 0; p0 < span; p0 += PV * L) {
            V acc[CB][PV];
            for (int c = 0; c < CB; ++c) {
                const T start = bias && c < nc ? bias[g * og + b * CB + c] : (T)0;
                for (int v = 0; v < PV; ++v) acc[c][v] = V{} + start;
            }
            // kernel rows [i_lo, i_hi] read some real row for these positions' rows
            // [r0, r1]; the others read only the zero padding above or below
            const long long r0 = p0 / wp;
            long long r1 = (p0 + PV * L - 1) / wp;
            r1 = r1 < oh - 1 ? r1 : oh - 1;
            const long long i_lo = top > r1 ? (top - r1 + dh - 1) / dh : 0;
            const long long below = top + h - 1 - r0;  // negative: rows all in the padding
            long long i_hi = below < 0 ? -1 : below / dh;
            i_hi = i_hi < kh - 1 ? i_hi : kh - 1;
            const bool all_rows = i_lo == 0 && i_hi == kh - 1;  // then one run of taps
            for (long long ci = 0; ci < (all_rows ? 1 : cg) && i_lo <= i_hi; ++ci) {
                const long long t_end = all_rows ? taps : (ci * kh + i_hi + 1) * kw;
                for (long long t = (ci * kh + i_lo) * kw; t < t_end; ++t) {  // (ci, i, j)
                    const T* xs = xg + offs[t] + p0;
                    V xv[PV];
                    for (int v = 0; v < PV; ++v) xv[v] = *(const U*)(xs + v * L);
                    const T* wt = wblk + t * CB;
                    for (int c = 0; c < CB; ++c)
                        for (int v = 0; v < PV; ++v) acc[c][v] += wt[c] * xv[v];
                }
            }
            T buf[CB][PV * L];
            std::memcpy(buf, acc, sizeof(buf));
            // store the positions in valid columns, a row segment at a time
            const long long lim = span - p0 < PV * L ? span - p0 : PV * L;
            long long r = p0 / wp, col = p0 % wp, e = 0;
            while (e < lim) {
                if (col >= ow) { e += wp - col; col = 0; ++r; continue; }
                long long len = ow - col < lim - e ? ow - col : lim - e;
                for (long long c = 0; c < nc; ++c)
                    std::memcpy(obase + c * oh * ow + r * ow + col, &buf[c][e], len * sizeof(T));
                e += len; col += len;
            }
        }
    }
}

// gw (G*og, taps) = sum over n and wide positions p of gz[n, o, p] * x[n, group plane +
// offs[t] + p]; gz (N, G*og, gspan) is zero in the discarded columns and its tail
template <typename T>
static void conv_weight(const T* x, const T* gz, T* gw, long long N, long long G,
                        long long cg, long long og, long long kh, long long kw, long long dh,
                        long long dw, long long wp, long long plane, long long gspan,
                        int threads) {
    typedef typename Vec<T>::v V;
    typedef typename Vec<T>::u U;
    const int L = Vec<T>::L;
    const long long taps = cg * kh * kw, ob = (og + WB - 1) / WB, tb = (taps + TB - 1) / TB;
    const std::vector<long long> offv = tap_offsets(cg, kh, kw, dh, dw, wp, plane);
    const long long items = G * ob * tb;
    #pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
    for (long long it = 0; it < items; ++it) {
        const long long g = it / (ob * tb), b = (it / tb) % ob, q = it % tb;
        const long long nc = og - b * WB < WB ? og - b * WB : WB;
        const long long nt = taps - q * TB < TB ? taps - q * TB : TB;
        long long toff[TB], rows[WB];
        for (int k = 0; k < TB; ++k) toff[k] = offv[q * TB + (k < nt ? k : 0)];
        for (int c = 0; c < WB; ++c) rows[c] = g * og + b * WB + (c < nc ? c : 0);
        V acc[WB][TB];
        for (int c = 0; c < WB; ++c)
            for (int k = 0; k < TB; ++k) acc[c][k] = V{};
        for (long long n = 0; n < N; ++n) {
            const T* xg = x + (n * G + g) * cg * plane;
            const T* gr[WB];
            for (int c = 0; c < WB; ++c) gr[c] = gz + (n * G * og + rows[c]) * gspan;
            for (long long p = 0; p < gspan; p += L) {
                V gv[WB];
                for (int c = 0; c < WB; ++c) gv[c] = *(const U*)(gr[c] + p);
                for (int k = 0; k < TB; ++k) {
                    const V xv = *(const U*)(xg + toff[k] + p);
                    for (int c = 0; c < WB; ++c) acc[c][k] += gv[c] * xv;
                }
            }
        }
        for (long long c = 0; c < nc; ++c)
            for (long long k = 0; k < nt; ++k) {
                T lanes[L];
                std::memcpy(lanes, &acc[c][k], sizeof(lanes));
                T s = 0;
                for (int i = 0; i < L; ++i) s += lanes[i];
                gw[rows[c] * taps + q * TB + k] = s;
            }
    }
}

#define GT_CONV_ENTRIES(T, SUFFIX)                                                          \
extern "C" void gt_conv_forward_##SUFFIX(int block, const T* x, const T* wb,               \
        const T* bias, T* out, long long N, long long G, long long cg, long long og,        \
        long long kh, long long kw, long long dh, long long dw, long long wp,               \
        long long plane, long long oh, long long ow, long long top, long long h,            \
        int threads) {                                                                      \
    if (block == 8)                                                                         \
        conv_forward<T, 8, 2>(x, wb, bias, out, N, G, cg, og, kh, kw, dh, dw, wp, plane, oh, \
                              ow, top, h, threads);                                         \
    else if (block == 4)                                                                    \
        conv_forward<T, 4, 4>(x, wb, bias, out, N, G, cg, og, kh, kw, dh, dw, wp, plane, oh, \
                              ow, top, h, threads);                                         \
    else                                                                                    \
        conv_forward<T, 1, 8>(x, wb, bias, out, N, G, cg, og, kh, kw, dh, dw, wp, plane, oh, \
                              ow, top, h, threads);                                         \
}                                                                                           \
extern "C" void gt_conv_weight_##SUFFIX(const T* x, const T* gz, T* gw, long long N,        \
        long long G, long long cg, long long og, long long kh, long long kw, long long dh,  \
        long long dw, long long wp, long long plane, long long gspan, int threads) {        \
    conv_weight<T>(x, gz, gw, N, G, cg, og, kh, kw, dh, dw, wp, plane, gspan, threads);     \
}
GT_CONV_ENTRIES(float, f32)
GT_CONV_ENTRIES(double, f64)
"""

_LL, _VOIDP, _INT = ctypes.c_longlong, ctypes.c_void_p, ctypes.c_int
KERNELS = FloatKernels(SOURCE, {"gt_conv_forward": [_INT] + [_VOIDP] * 4 + [_LL] * 14 + [_INT],
                                "gt_conv_weight": [_VOIDP] * 3 + [_LL] * 11 + [_INT]})
# the forward's register blocks: (output channels, bytes of positions), CB and PV * 64 in
# SOURCE; few output channels (an input gradient into 1-3 channels) take narrower ones
BLOCKS = ((8, 2 * 64), (4, 4 * 64), (1, 8 * 64))
# Below this many multiply-adds one thread does the whole convolution (a parallel region
# costs a few microseconds, and MKL's worker may still be spinning on the other core).
THREAD_MIN_MACS = 1 << 20


def _functions(dtype):
    """(forward, weight) entry points for `dtype`, or None while unavailable."""
    return KERNELS.get(np.dtype(dtype))


def _threads(macs: int) -> int:
    if macs < THREAD_MIN_MACS or not openmp_usable():
        return 1
    return get_num_threads()


def _padded_planes(x, padding, tail):
    """x (N, C, H, W) zero-padded by (low, high) pairs, as one flat buffer with `tail`
    zeros after the last plane: (buffer, padded height, padded width)."""
    n, c, h, w = x.shape
    (top, bottom), (left, right) = padding
    hp, wp = h + top + bottom, w + left + right
    buf = np.empty(n * c * hp * wp + tail, dtype=x.dtype)
    planes = buf[:n * c * hp * wp].reshape(n, c, hp, wp)
    if top or bottom or left or right:
        planes.fill(0)
    planes[:, :, top:top + h, left:left + w] = x
    buf[n * c * hp * wp:] = 0
    return buf, hp, wp


def _tail(kw, dw, itemsize, span_block):
    """Zeros after the last plane: the last position block and the widest tap may read
    that far past the padded input."""
    return (kw - 1) * dw + span_block // itemsize + 16


def forward(x, w, padding, dilation, groups, bias=None):
    """Stride-1 convolution of x (N, C, H, W) with w (O, C/G, KH, KW) plus `bias` (O,) if
    given, padding as (low, high) pairs; None when the native kernel is unavailable for
    these arrays."""
    fns = _usable(x, w)
    if fns is None:
        return None
    n, c = x.shape[:2]
    o, cg, kh, kw = w.shape
    dh, dw = dilation
    og = o // groups
    if og <= 2 and cg >= 16:
        # one or two outputs per group over many input channels (the input gradient of a
        # first layer): each load feeds one or two FMAs, and im2col's GEMM measured faster
        # (MNIST's Conv2d(1, 32, 3): 1.25 ms here vs 0.78; LeNet's 6 channels: 0.37 vs 0.57)
        return None
    block, positions = BLOCKS[0] if og >= 6 else BLOCKS[1] if og >= 3 else BLOCKS[2]
    buf, hp, wp = _padded_planes(x, padding, _tail(kw, dw, x.itemsize, positions))
    oh, ow = hp - dh * (kh - 1), wp - dw * (kw - 1)
    if oh <= 0 or ow <= 0:
        return None
    blocks = -(-og // block)
    wb = np.zeros((groups, blocks * block, cg * kh * kw), dtype=x.dtype)
    wb[:, :og] = w.reshape(groups, og, cg * kh * kw)
    # (G, blocks, taps, CB): the block's weights for one tap side by side
    wb = np.ascontiguousarray(
        wb.reshape(groups, blocks, block, cg * kh * kw).transpose(0, 1, 3, 2))
    if bias is not None:
        if not isinstance(bias, np.ndarray) or bias.dtype != x.dtype:
            return None
        bias = np.ascontiguousarray(bias)
    out = np.empty((n, o, oh, ow), dtype=x.dtype)
    if out.size:
        start = None if bias is None else bias.ctypes.data
        fns[0](block, buf.ctypes.data, wb.ctypes.data, start, out.ctypes.data, n, groups, cg,
               og, kh, kw, dh, dw, wp, hp * wp, oh, ow, padding[0][0], x.shape[2],
               _threads(out.size * cg * kh * kw))
    return out


def transposed(x, w, padding, dilation, groups, output_padding, bias=None):
    """Stride-1 transposed convolution of x (N, C, H, W) with w (C, O/G, KH, KW) (plus
    `bias`) as a forward one (see the module docstring); None when that does not apply."""
    if not isinstance(x, np.ndarray) or x.ndim != 4:
        return None
    kh, kw = w.shape[2:]
    dh, dw = dilation
    pads = ((dh * (kh - 1) - padding[0][0], dh * (kh - 1) - padding[0][1] + output_padding[0]),
            (dw * (kw - 1) - padding[1][0], dw * (kw - 1) - padding[1][1] + output_padding[1]))
    if min(min(p) for p in pads) < 0:
        return None
    c, og = w.shape[:2]
    flipped = w.reshape(groups, c // groups, og, kh, kw)[:, :, :, ::-1, ::-1]
    forward_w = np.ascontiguousarray(flipped.transpose(0, 2, 1, 3, 4)).reshape(
        groups * og, c // groups, kh, kw)
    return forward(x, forward_w, pads, dilation, groups, bias)


def weight_grad(x, gout, kernel, padding, dilation, groups):
    """d(loss)/d(weight) (O, C/G, KH, KW) of a stride-1 convolution of x (N, C, H, W),
    given gout (N, O, OH, OW); None when unavailable or not finite (the caller's path then
    decides what eager gives)."""
    fns = _usable(x, gout)
    if fns is None:
        return None
    n, c = x.shape[:2]
    o, oh, ow = gout.shape[1:]
    kh, kw = kernel
    dh, dw = dilation
    cg, og = c // groups, o // groups
    lanes = 64 // x.itemsize
    buf, hp, wp = _padded_planes(x, padding, _tail(kw, dw, x.itemsize, 64))
    if hp - dh * (kh - 1) != oh or wp - dw * (kw - 1) != ow:
        return None
    gspan = -(-(oh * wp) // lanes) * lanes
    gz = np.zeros((n, o, gspan), dtype=x.dtype)
    gz[:, :, :oh * wp].reshape(n, o, oh, wp)[..., :ow] = gout
    gw = np.empty((o, cg, kh, kw), dtype=x.dtype)
    if gw.size:
        fns[1](buf.ctypes.data, gz.ctypes.data, gw.ctypes.data, n, groups, cg, og, kh, kw,
               dh, dw, wp, hp * wp, gspan, _threads(gout.size * cg * kh * kw))
    if not np.isfinite(gw).all():
        return None
    return gw


def _usable(x, w):
    if not (isinstance(x, np.ndarray) and isinstance(w, np.ndarray) and x.ndim == 4
            and x.dtype == w.dtype):
        return None
    return _functions(x.dtype)
