"""The LSTM recurrence (`ops.rnn`'s lstm_scan and its backward) as one C++ loop over time.

Per time step the NumPy code makes ~8 Python-level calls (a GEMM, an add, tanh, the cell,
...), ~40 us of overhead each step on top of ~25 us of arithmetic at W5's sizes. Here the
whole loop over time is one call: each step's ``h @ W_hh^T`` goes to a CBLAS GEMM through a
function pointer (`blas.gemm_pointer`: MKL when loaded, else NumPy's own OpenBLAS),
accumulated straight onto the step's gate block (beta = 1), and the cell is a plain loop
with the native tier's polynomial tanh for float32 (`native_math`; libm's for float64).
Built by g++ in the background like the native tier (`native_build`); until built, without
a compiler or a CBLAS, or under GRAPHTORCH_JIT=0, `forward`/`backward` return None and
`ops.rnn` runs its NumPy code. Same gate order and arithmetic as `rnn_jit`'s cells.
"""

from __future__ import annotations

import ctypes

import numpy as np

from .. import blas
from ..native_build import FloatKernels, openmp_usable
from ..native_math import FAST_MATH, WIDE_VECTORS
from ..threads import get_num_threads

__all__ = ["backward", "forward"]

SOURCE = r"""
#include <cmath>
#include <cstdint>
#include <cstring>
#ifdef _OPENMP
#include <omp.h>
#endif
""" + FAST_MATH + WIDE_VECTORS + r"""
static inline float act_tanh(float x) { return tanhf(x); }
static inline double act_tanh(double x) { return std::tanh(x); }

// C[m, n] (row-major, ldc) = A[m, k] (lda) @ B[k, n] (ldb) + beta * C, through CBLAS
template <typename T>
static void gemm(void* fn, int ilp64, long long m, long long n, long long k, const T* a,
                 long long lda, const T* b, long long ldb, T beta, T* c, long long ldc) {
    if (ilp64) {
        typedef void (*G)(int, int, int, long long, long long, long long, T, const T*,
                          long long, const T*, long long, T, T*, long long);
        ((G)fn)(101, 111, 111, m, n, k, (T)1, a, lda, b, ldb, beta, c, ldc);
    } else {
        typedef void (*G)(int, int, int, int, int, int, T, const T*, int, const T*, int, T,
                          T*, int);
        ((G)fn)(101, 111, 111, (int)m, (int)n, (int)k, (T)1, a, (int)lda, b, (int)ldb, beta,
                c, (int)ldc);
    }
}

// The same product in registers, for one thread's rows (B small enough to stay in L2):
// tiles of MR rows x NV vectors of C (8 x 2, then 4 x 4 and single rows for the rest),
// each k step NV loads of a row of B and MR broadcasts of A feeding MR * NV FMAs. Sums in
// k order, FMA-rounded (this function only).

template <typename T, int MR, int NV>
__attribute__((optimize("fp-contract=fast"))) static inline void gemm_tile(
        long long k, const T* a, long long lda, const T* b, long long ldb, T* c,
        long long ldc, bool accumulate) {
    typedef typename Vec<T>::v V;
    typedef typename Vec<T>::u U;
    const int L = Vec<T>::L;
    V acc[MR][NV];
    for (int r = 0; r < MR; ++r)
        for (int v = 0; v < NV; ++v)
            acc[r][v] = accumulate ? *(const U*)(c + r * ldc + v * L) : V{};
    for (long long p = 0; p < k; ++p) {
        V bv[NV];
        for (int v = 0; v < NV; ++v) bv[v] = *(const U*)(b + p * ldb + v * L);
        for (int r = 0; r < MR; ++r) {
            const T av = a[r * lda + p];
            for (int v = 0; v < NV; ++v) acc[r][v] += av * bv[v];
        }
    }
    for (int r = 0; r < MR; ++r)
        for (int v = 0; v < NV; ++v) *(U*)(c + r * ldc + v * L) = acc[r][v];
}

template <typename T, int MR, int NV>
static void gemm_rows(long long n, long long k, const T* a, long long lda, const T* b,
                      long long ldb, T* c, long long ldc, bool accumulate) {
    const int L = Vec<T>::L;
    long long j = 0;
    for (; j + NV * L <= n; j += NV * L)
        gemm_tile<T, MR, NV>(k, a, lda, b + j, ldb, c + j, ldc, accumulate);
    for (; j + L <= n; j += L) gemm_tile<T, MR, 1>(k, a, lda, b + j, ldb, c + j, ldc, accumulate);
    for (; j < n; ++j)  // columns past the last whole vector
        for (int r = 0; r < MR; ++r) {
            T sum = accumulate ? c[r * ldc + j] : (T)0;
            for (long long p = 0; p < k; ++p) sum += a[r * lda + p] * b[p * ldb + j];
            c[r * ldc + j] = sum;
        }
}

// C[m, n] (ldc) = A[m, k] (lda) @ B[k, n] (ldb) (+ C when accumulate), row-major
enum { MR_BIG = 8, NV_BIG = 2 };
template <typename T>
static void small_gemm(long long m, long long n, long long k, const T* a, long long lda,
                       const T* b, long long ldb, T* c, long long ldc, bool accumulate) {
    long long i = 0;
    for (; i + MR_BIG <= m; i += MR_BIG)
        gemm_rows<T, MR_BIG, NV_BIG>(n, k, a + i * lda, lda, b, ldb, c + i * ldc, ldc, accumulate);
    for (; i + 4 <= m; i += 4)
        gemm_rows<T, 4, 4>(n, k, a + i * lda, lda, b, ldb, c + i * ldc, ldc, accumulate);
    for (; i < m; ++i)
        gemm_rows<T, 1, 4>(n, k, a + i * lda, lda, b, ldb, c + i * ldc, ldc, accumulate);
}

// rows [*lo, *hi) of `batch` for this thread of the region (all of them outside one)
static inline void thread_rows(long long batch, long long* lo, long long* hi) {
#ifdef _OPENMP
    const long long n = omp_get_num_threads(), t = omp_get_thread_num();
#else
    const long long n = 1, t = 0;
#endif
    *lo = batch * t / n;
    *hi = batch * (t + 1) / n;
}

// One row of the cell, forward: gi/gf/go hold tanh(x/2) of the i, f, o pre-activations
// (made sigmoids here), gg tanh of g's; writes c, tanh(c) and h. Restrict parameters in a
// function of its own: GCC vectorises these loops only so (the gate blocks of one row
// would otherwise possibly alias).
template <typename T>
static void __attribute__((noinline)) cell_forward(
        T* __restrict__ gi, T* __restrict__ gf, const T* __restrict__ gg, T* __restrict__ go,
        const T* __restrict__ cp, T* __restrict__ co, T* __restrict__ tc, T* __restrict__ ho,
        long long hidden) {
    const T half = (T)0.5;
    for (long long j = 0; j < hidden; ++j) {
        const T i = gi[j] * half + half;
        const T f = gf[j] * half + half;
        const T o = go[j] * half + half;
        gi[j] = i;
        gf[j] = f;
        go[j] = o;
        co[j] = f * cp[j] + i * gg[j];
    }
    for (long long j = 0; j < hidden; ++j) tc[j] = act_tanh(co[j]);
    for (long long j = 0; j < hidden; ++j) ho[j] = go[j] * tc[j];
}

// One row back through the cell: dh/dc hold the gradients reaching h_t/c_t from the step
// after (dc becomes the one reaching c_{t-1}); writes the four gate gradients.
template <typename T>
static void __attribute__((noinline)) cell_backward(
        const T* __restrict__ ai, const T* __restrict__ af, const T* __restrict__ ag,
        const T* __restrict__ ao, const T* __restrict__ cp, const T* __restrict__ tcb,
        const T* __restrict__ ghb, const T* __restrict__ dhb, T* __restrict__ dcb,
        T* __restrict__ di, T* __restrict__ df, T* __restrict__ dg, T* __restrict__ dout,
        long long hidden) {
    for (long long j = 0; j < hidden; ++j) {
        const T i = ai[j], f = af[j], g = ag[j], o = ao[j], tc = tcb[j];
        const T d_h = dhb[j] + ghb[j];
        const T d_ho = d_h * o;
        const T d_c = dcb[j] + (d_ho - d_ho * tc * tc);
        const T d_ci = d_c * i;
        di[j] = d_c * g * (i - i * i);
        df[j] = d_c * cp[j] * (f - f * f);
        dg[j] = d_ci - d_ci * g * g;
        dout[j] = d_h * tc * (o - o * o);
        dcb[j] = d_c * f;
    }
}

// Scaled transposes of the weights, the recurrence's right-hand GEMM operands: dst (K, 4H)
// = (src * scale)^T for src (4H, K), scale 1/2 on the i, f, o rows (sigmoid through tanh, see
// lstm_forward) and 1 on g's. Blocked so both sides stay in cache lines.
template <typename T>
static void scaled_transpose(const T* src, long long rows, long long cols, long long hidden,
                             T* dst) {
    const long long BLOCK = 32;
    for (long long r0 = 0; r0 < rows; r0 += BLOCK)
        for (long long c0 = 0; c0 < cols; c0 += BLOCK) {
            const long long r1 = r0 + BLOCK < rows ? r0 + BLOCK : rows;
            const long long c1 = c0 + BLOCK < cols ? c0 + BLOCK : cols;
            for (long long r = r0; r < r1; ++r) {
                const T s = (r >= 2 * hidden && r < 3 * hidden) ? (T)1 : (T)0.5;
                for (long long c = c0; c < c1; ++c) dst[c * rows + r] = src[r * cols + c] * s;
            }
        }
}

// The layer's recurrence. With w_ih_t null, gx is gates_x: (S, B, 4H) pre-activations from
// the input (strides sx_t, sx_b; unit last stride), biases included. Otherwise gx is the
// input x itself, (S, B, I) alike, and each step's input GEMM x_t @ w_ih_t (I, 4H) runs here
// onto the scaled bias `bias_s` (4H), fused with the recurrent one: no (S, B, 4H) buffer
// written by one GEMM and read back by the loop. w_t: (H, 4H) = (W_hh * scale)^T, w_ih_t
// scaled alike. Writes gates (activated), hs, cs, tanh_cs (S, B, H each).
// Batch rows never meet in the recurrence: with gemm_fn null each of `threads` threads
// runs its own rows through all steps with small_gemm (no barrier); else one thread calls
// the CBLAS (which threads itself) for the whole batch per step.
template <typename T>
static void lstm_forward(void* gemm_fn, int ilp64, int threads, long long steps,
                         long long batch, long long hidden, int reverse, const T* gx,
                         long long sx_t, long long sx_b, long long input, const T* w_ih_t,
                         const T* bias_s, const T* w_t, const T* h0, const T* c0, T* gates,
                         T* hs, T* cs, T* tanh_cs) {
    const long long W = 4 * hidden, BH = batch * hidden;
    const T half = (T)0.5;
    // the CBLAS path runs the whole batch per step: one thread, whatever was asked
    #pragma omp parallel num_threads(threads) if (threads > 1 && !gemm_fn)
    {
    long long lo, hi;
    thread_rows(batch, &lo, &hi);
    for (long long s = 0; s < steps && lo < hi; ++s) {
        const long long t = reverse ? steps - 1 - s : s;
        const long long p = reverse ? t + 1 : t - 1;
        const T* h_prev = s == 0 ? h0 : hs + p * BH;
        const T* c_prev = s == 0 ? c0 : cs + p * BH;
        T* a = gates + t * batch * W;
        for (long long b = gemm_fn ? 0 : lo; b < (gemm_fn ? batch : hi); ++b) {
            T* row = a + b * W;
            if (w_ih_t) {
                for (long long j = 0; j < W; ++j) row[j] = bias_s[j];
                continue;
            }
            const T* x = gx + t * sx_t + b * sx_b;
            for (long long j = 0; j < 2 * hidden; ++j) row[j] = x[j] * half;
            for (long long j = 2 * hidden; j < 3 * hidden; ++j) row[j] = x[j];
            for (long long j = 3 * hidden; j < W; ++j) row[j] = x[j] * half;
        }
        if (gemm_fn) {
            if (w_ih_t)
                gemm<T>(gemm_fn, ilp64, batch, W, input, gx + t * sx_t, sx_b, w_ih_t, W,
                        (T)1, a, W);
            gemm<T>(gemm_fn, ilp64, batch, W, hidden, h_prev, hidden, w_t, W, (T)1, a, W);
        } else {
            if (w_ih_t)
                small_gemm<T>(hi - lo, W, input, gx + t * sx_t + lo * sx_b, sx_b, w_ih_t, W,
                              a + lo * W, W, true);
            small_gemm<T>(hi - lo, W, hidden, h_prev + lo * hidden, hidden, w_t, W,
                          a + lo * W, W, true);
        }
        for (long long b = lo; b < hi; ++b) {
            T* row = a + b * W;
            for (long long j = 0; j < W; ++j) row[j] = act_tanh(row[j]);
            cell_forward<T>(row, row + hidden, row + 2 * hidden, row + 3 * hidden,
                            c_prev + b * hidden, cs + t * BH + b * hidden,
                            tanh_cs + t * BH + b * hidden, hs + t * BH + b * hidden, hidden);
        }
    }
    }
}

// gradients of lstm_forward: g_hs (S, B, H) (strides sg_t, sg_b; unit last stride: often a
// transposed view of batch-first gradients), dh/dc (B, H) hold those of the final h and c
// on entry and of h0 and c0 on return; d_gates (S, B, 4H) pre-activation gate gradients.
// Threads and gemm_fn as in lstm_forward.
template <typename T>
static void lstm_backward(void* gemm_fn, int ilp64, int threads, long long steps,
                          long long batch, long long hidden, int reverse, const T* g_hs,
                          long long sg_t, long long sg_b, const T* c0, const T* w_hh, const T* cs, const T* tanh_cs,
                          const T* gates, T* dh, T* dc, T* d_gates) {
    const long long W = 4 * hidden, BH = batch * hidden;
    // the CBLAS path runs the whole batch per step: one thread, whatever was asked
    #pragma omp parallel num_threads(threads) if (threads > 1 && !gemm_fn)
    {
    long long lo, hi;
    thread_rows(batch, &lo, &hi);
    for (long long s = 0; s < steps && lo < hi; ++s) {
        const long long t = reverse ? s : steps - 1 - s;
        const bool first = s == steps - 1;  // the step the forward walked first
        const T* c_prev_all = first ? c0 : cs + (reverse ? t + 1 : t - 1) * BH;
        for (long long b = lo; b < hi; ++b) {
            const T* ab = gates + (t * batch + b) * W;
            T* db = d_gates + (t * batch + b) * W;
            cell_backward<T>(ab, ab + hidden, ab + 2 * hidden, ab + 3 * hidden,
                             c_prev_all + b * hidden, tanh_cs + t * BH + b * hidden,
                             g_hs + t * sg_t + b * sg_b, dh + b * hidden, dc + b * hidden,
                             db, db + hidden, db + 2 * hidden, db + 3 * hidden, hidden);
        }
        // dh <- d_gates[t] @ w_hh: the gradient reaching h of the step before
        if (gemm_fn)
            gemm<T>(gemm_fn, ilp64, batch, hidden, W, d_gates + t * batch * W, W, w_hh,
                    hidden, (T)0, dh, hidden);
        else
            small_gemm<T>(hi - lo, hidden, W, d_gates + (t * batch + lo) * W, W, w_hh, hidden,
                          dh + lo * hidden, hidden, false);
    }
    }
}

#define GT_LSTM_ENTRIES(T, SUFFIX)                                                          \
extern "C" void gt_lstm_forward_##SUFFIX(void* g, int ilp64, int threads, long long steps,  \
        long long batch, long long hidden, int reverse, const T* gx, long long sx_t,        \
        long long sx_b, long long input, const T* w_ih, const T* bias, const T* w_hh,       \
        const T* h0, const T* c0, T* w_ih_t, T* bias_s, T* w_t, T* gates, T* hs, T* cs,     \
        T* tanh_cs) {                                                                       \
    const long long W = 4 * hidden;                                                         \
    scaled_transpose<T>(w_hh, W, hidden, hidden, w_t);                                      \
    if (w_ih) {                                                                             \
        scaled_transpose<T>(w_ih, W, input, hidden, w_ih_t);                                \
        for (long long j = 0; j < W; ++j)                                                   \
            bias_s[j] = (j >= 2 * hidden && j < 3 * hidden) ? bias[j] : bias[j] * (T)0.5;   \
    }                                                                                       \
    lstm_forward<T>(g, ilp64, threads, steps, batch, hidden, reverse, gx, sx_t, sx_b,       \
                    input, w_ih ? w_ih_t : nullptr, bias_s, w_t, h0, c0, gates, hs, cs,     \
                    tanh_cs);                                                               \
}                                                                                           \
extern "C" void gt_lstm_backward_##SUFFIX(void* g, int ilp64, int threads, long long steps, \
        long long batch, long long hidden, int reverse, const T* g_hs, long long sg_t,      \
        long long sg_b, const T* c0, const T* w_hh, const T* cs, const T* tanh_cs,          \
        const T* gates, T* dh, T* dc, T* d_gates) {                                         \
    lstm_backward<T>(g, ilp64, threads, steps, batch, hidden, reverse, g_hs, sg_t, sg_b,    \
                     c0, w_hh, cs, tanh_cs, gates, dh, dc, d_gates);                        \
}
GT_LSTM_ENTRIES(float, f32)
GT_LSTM_ENTRIES(double, f64)
"""

_VOIDP, _LL, _INT = ctypes.c_void_p, ctypes.c_longlong, ctypes.c_int
KERNELS = FloatKernels(SOURCE, {
    "gt_lstm_forward": [_VOIDP, _INT, _INT, _LL, _LL, _LL, _INT, _VOIDP, _LL, _LL, _LL]
    + [_VOIDP] * 12,
    "gt_lstm_backward": [_VOIDP, _INT, _INT, _LL, _LL, _LL, _INT, _VOIDP, _LL, _LL]
    + [_VOIDP] * 8})


# At most this many bytes of W_hh: each thread runs its batch rows with the in-register
# GEMM (W_hh stays in L2); larger recurrences call the CBLAS for the whole batch per step.
SMALL_GEMM_BYTES = 1 << 20


def _functions(dtype):
    """(forward, backward) for `dtype`, or None while unavailable."""
    return KERNELS.get(np.dtype(dtype))


def _products(dtype, batch, hidden):
    """(gemm address or None, ilp64, threads): the in-register GEMM split over threads for
    a small W_hh, else the CBLAS on one thread (None when there is none)."""
    if 4 * hidden * hidden * dtype.itemsize <= SMALL_GEMM_BYTES:
        threads = min(get_num_threads(), batch) if openmp_usable() else 1
        return None, 0, max(1, threads)
    gemm = blas.gemm_pointer(dtype)
    return None if gemm is None else (gemm[0], int(gemm[1]), 1)


def _c(a, dtype):
    return np.ascontiguousarray(a, dtype=dtype)


def _plan(blocks, hidden):
    """(functions, products) for the (T, B, *) array `blocks` of a recurrence of `hidden`
    units, or None when the native loop is unavailable for it (not NumPy, another dtype, an
    empty dim, a large W_hh without a CBLAS)."""
    if not isinstance(blocks, np.ndarray):
        return None
    fns = _functions(blocks.dtype)
    steps, batch, width = blocks.shape
    if fns is None or not (steps and batch and width and hidden):
        return None
    products = _products(blocks.dtype, batch, hidden)
    if products is None:
        return None
    return fns, products


def _rows_readable(a) -> bool:
    """Whether the loop can read (T, B, N) array `a` through its strides: unit last stride,
    whole elements, and rows that a CBLAS takes as a row-major matrix (non-negative step
    and batch strides, batch rows at least a row apart: an expanded or flipped array is
    copied first; a CBLAS rejects a leading dimension below N and computes nothing)."""
    size = a.itemsize
    st_t, st_b, st_n = a.strides
    return st_n == size and st_t % size == 0 and st_b % size == 0 and st_t >= 0 and \
        st_b >= a.shape[2] * size


def forward(gx, h0, c0, w_hh, reverse: bool, w_ih=None, bias=None):
    """(gates, hs, cs, tanh_cs) of the recurrence, or None when the native loop is
    unavailable. Without `w_ih`, `gx` is gates_x (T, B, 4H) (see `ops.rnn._forward_kernel`);
    with it, `gx` is the input x (T, B, I) and the loop does each step's input GEMM onto
    `bias` (4H) itself (`input_in_loop` says when that pays)."""
    dtype = gx.dtype
    steps, batch, width = gx.shape
    hidden = w_hh.shape[1]
    plan = _plan(gx, hidden)
    if plan is None:
        return None
    fns, products = plan
    size = dtype.itemsize
    if not _rows_readable(gx):
        gx = _c(gx, dtype)
    h0, c0, w_hh = _c(h0, dtype), _c(c0, dtype), _c(w_hh, dtype)
    w_t = np.empty((hidden, 4 * hidden), dtype)
    if w_ih is not None:
        w_ih, bias = _c(w_ih, dtype), _c(bias, dtype)
        w_ih_t, bias_s = np.empty((width, 4 * hidden), dtype), np.empty(4 * hidden, dtype)
        inputs = (width, w_ih.ctypes.data, bias.ctypes.data)
        scratch = (w_ih_t.ctypes.data, bias_s.ctypes.data)
    else:
        inputs, scratch = (0, None, None), (None, None)
    gates = np.empty((steps, batch, 4 * hidden), dtype)
    hs, cs, tanh_cs = (np.empty((steps, batch, hidden), dtype) for _ in range(3))
    fns[0](*products, steps, batch, hidden, int(bool(reverse)), gx.ctypes.data,
           gx.strides[0] // size, gx.strides[1] // size, *inputs, w_hh.ctypes.data,
           h0.ctypes.data, c0.ctypes.data, *scratch, w_t.ctypes.data, gates.ctypes.data,
           hs.ctypes.data, cs.ctypes.data, tanh_cs.ctypes.data)
    return gates, hs, cs, tanh_cs


def input_in_loop(x, w_hh) -> bool:
    """Whether the native loop should do the input GEMM itself for input x (T, B, I): when
    its W_ih and W_hh both stay in L2 for the in-register GEMM (one big GEMM before the loop
    is faster otherwise)."""
    if not isinstance(x, np.ndarray) or x.dtype not in (np.float32, np.float64):
        return False
    hidden = w_hh.shape[1]
    return 4 * hidden * (hidden + x.shape[2]) * x.dtype.itemsize <= SMALL_GEMM_BYTES


def backward(g_hs, g_h, g_c, c0, w_hh, cs, tanh_cs, gates, reverse: bool):
    """(d_gates, dh0, dc0) (see `ops.rnn._backward_kernel`), or None when unavailable."""
    steps, batch, width = gates.shape
    hidden = width // 4
    plan = _plan(gates, hidden)
    if plan is None:
        return None
    fns, products = plan
    dtype = gates.dtype
    size = dtype.itemsize
    if g_hs.dtype != dtype or not _rows_readable(g_hs):
        g_hs = _c(g_hs, dtype)
    c0, w_hh, cs, tanh_cs, gates = (_c(a, dtype) for a in (c0, w_hh, cs, tanh_cs, gates))
    dh = np.array(g_h, dtype=dtype, order="C")
    dc = np.array(g_c, dtype=dtype, order="C")
    d_gates = np.empty((steps, batch, 4 * hidden), dtype)
    fns[1](*products, steps, batch, hidden, int(bool(reverse)), g_hs.ctypes.data,
           g_hs.strides[0] // size, g_hs.strides[1] // size, c0.ctypes.data, w_hh.ctypes.data, cs.ctypes.data, tanh_cs.ctypes.data,
           gates.ctypes.data, dh.ctypes.data, dc.ctypes.data, d_gates.ctypes.data)
    return d_gates, dh, dc
