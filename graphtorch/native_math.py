"""Vectorisable float32 tanh and exp for generated C++ (the native tier's fused kernels and
the LSTM recurrence): ``tanhf`` and ``expf`` replaced by branch-free polynomial forms that
the compiler vectorises, as XLA and Eigen do. libm's scalar calls stop vectorisation and
cost ~50x more; these stay within 3e-7 relative of float64 (tests/backends/
test_native_fused.py measures them over the whole float range). Needs <cstdint>.

`WIDE_VECTORS`: GCC vector types of 64 bytes (``Vec<T>::v``, and ``Vec<T>::u`` for
unaligned loads and stores) for the hand-blocked loops of `ops.conv_native` and
`ops.rnn_native`; on a CPU without AVX-512 GCC splits each into narrower registers.
"""

from __future__ import annotations

FAST_MATH = r"""
// tanh(x) for float: a rational function, odd numerator over even denominator in x*x
// (the minimax form Eigen and XLA use); +-1 beyond |x| = 7.9, x itself near 0.
static inline float gt_fast_tanhf(float x) {
    const float limit = 7.90531110763549805f;
    const float xc = x > limit ? limit : (x < -limit ? -limit : x);
    const float x2 = xc * xc;
    float p = -2.76076847742355e-16f;
    p = __builtin_fmaf(p, x2, 2.00018790482477e-13f);
    p = __builtin_fmaf(p, x2, -8.60467152213735e-11f);
    p = __builtin_fmaf(p, x2, 5.12229709037114e-08f);
    p = __builtin_fmaf(p, x2, 1.48572235717979e-05f);
    p = __builtin_fmaf(p, x2, 6.37261928875436e-04f);
    p = __builtin_fmaf(p, x2, 4.89352455891786e-03f);
    float q = 1.19825839466702e-06f;
    q = __builtin_fmaf(q, x2, 1.18534705686654e-04f);
    q = __builtin_fmaf(q, x2, 2.26843463243900e-03f);
    q = __builtin_fmaf(q, x2, 4.89352518554385e-03f);
    float r = (p * xc) / q;
    r = x > limit ? 1.0f : (x < -limit ? -1.0f : r);  // exactly +-1, as tanh(+-inf)
    return (x < 0.0004f && x > -0.0004f) || x != x ? x : r;
}

// exp(x) for float: 2^n * exp(r) with n = round(x / ln 2) and |r| <= ln 2 / 2 (ln 2 split
// in two for an exact reduction), exp(r) by a degree-7 polynomial; 2^n is applied as two
// normal powers of two so results that underflow to subnormals stay right.
static inline float gt_fast_expf(float x) {
    const float xc = x > 88.72283935546875f ? 88.72283935546875f
                   : (x < -103.972084045410f ? -103.972084045410f : x);
    // round to nearest by adding and subtracting 1.5 * 2^23 (vectorises, unlike floorf)
    const float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = __builtin_fmaf(n, -0.693359375f, xc);
    r = __builtin_fmaf(n, 2.12194440e-4f, r);
    float p = 1.9875691500e-4f;
    p = __builtin_fmaf(p, r, 1.3981999507e-3f);
    p = __builtin_fmaf(p, r, 8.3334519073e-3f);
    p = __builtin_fmaf(p, r, 4.1665795894e-2f);
    p = __builtin_fmaf(p, r, 1.6666665459e-1f);
    p = __builtin_fmaf(p, r, 5.0000001201e-1f);
    p = __builtin_fmaf(p * r, r, r) + 1.0f;
    const int32_t half = (int32_t)n / 2;
    const int32_t b1 = (half + 127) << 23, b2 = ((int32_t)n - half + 127) << 23;
    float s1, s2;
    __builtin_memcpy(&s1, &b1, 4);
    __builtin_memcpy(&s2, &b2, 4);
    float y = p * s1 * s2;
    y = x > 88.72283935546875f ? __builtin_inff() : y;
    y = x < -103.972084045410f ? 0.0f : y;
    return x != x ? x : y;
}
#define tanhf gt_fast_tanhf
#define expf gt_fast_expf
"""

WIDE_VECTORS = r"""
template <typename T> struct Vec;
template <> struct Vec<float> {
    typedef float v __attribute__((vector_size(64)));
    typedef float u __attribute__((vector_size(64), aligned(4), may_alias));
    enum { L = 16 };
};
template <> struct Vec<double> {
    typedef double v __attribute__((vector_size(64)));
    typedef double u __attribute__((vector_size(64), aligned(8), may_alias));
    enum { L = 8 };
};
"""
