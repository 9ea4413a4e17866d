"""C++ text that lets CUDA kernel bodies (`cuda_ops` renderings) compile for the CPU.

`SHIM` maps CUDA's device-only names onto the host (``__device__``, ``__int_as_float``,
``erfinv``); the tests use it alone to check every rendering against eager on edge values.
`FAST_MATH` adds what the native tier (`native_fused`) compiles with: ``tanhf`` and
``expf`` (so ``sigmoid``, ``silu``, ``elu``...) replaced by branch-free polynomial forms
that the compiler vectorises, as XLA and Eigen do. libm's scalar calls stop vectorisation
and cost ~50x more; these stay within 3e-7 relative of float64 (tests/backends/
test_native_fused.py measures them over the whole float range).
"""

from __future__ import annotations

SHIM = r"""
#include <cmath>
#include <cstring>
#include <cstdint>
#include <math.h>
#define __device__
#define __forceinline__ inline
using std::isnan; using std::isinf; using std::isfinite; using std::signbit;

static inline float __int_as_float(int x) { float f; std::memcpy(&f, &x, 4); return f; }
static inline double __longlong_as_double(long long x) {
    double d; std::memcpy(&d, &x, 8); return d;
}
// CUDA's erfinv/erfinvf are device-only: Newton steps on erf stand in on the host.
static inline double erfinv(double y) {
    if (y != y || y < -1.0 || y > 1.0) return NAN;
    if (y == 1.0) return INFINITY;
    if (y == -1.0) return -INFINITY;
    double w = -std::log((1.0 - y) * (1.0 + y)), x;
    if (w < 5.0) { w -= 2.5; x = 2.81022636e-08; x = 3.43273939e-07 + x * w;
        x = -3.5233877e-06 + x * w; x = -4.39150654e-06 + x * w; x = 0.00021858087 + x * w;
        x = -0.00125372503 + x * w; x = -0.00417768164 + x * w; x = 0.246640727 + x * w;
        x = 1.50140941 + x * w; }
    else { w = std::sqrt(w) - 3.0; x = -0.000200214257; x = 0.000100950558 + x * w;
        x = 0.00134934322 + x * w; x = -0.00367342844 + x * w; x = 0.00573950773 + x * w;
        x = -0.0076224613 + x * w; x = 0.00943887047 + x * w; x = 1.00167406 + x * w;
        x = 2.83297682 + x * w; }
    x *= y;
    for (int k = 0; k < 4; ++k)
        x -= (std::erf(x) - y) / (1.1283791670955126 * std::exp(-x * x));
    return x;
}
static inline float erfinvf(float y) { return (float)erfinv((double)y); }
"""

# the polynomials live below the ops (the LSTM kernel compiles them too); re-exported here
from ..native_math import FAST_MATH  # noqa: E402,F401
