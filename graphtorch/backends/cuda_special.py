"""CUDA C renderings of the torch.special ops (ops/special_ops.py), merged into
`cuda_ops.CUDA_OPS`, and the device helpers they call, merged into `cuda_ops.HELPERS`.

Each helper is the eager kernel's float64 algorithm (ops/special.py) element by element, its
coefficients printed from the same Python tuples, so fused kernels agree with eager to
rounding (tests/backends/test_cuda_ops.py runs them on the host against eager).
"""

from __future__ import annotations

import math

from ..ops import special as kernels
from ..ops.special_ops import ENTR, ERFCX, I0, I0E, I1, I1E, NDTRI, XLOG1PY, ZETA


def _array(name: str, values) -> str:
    return f"const double {name}[{len(values)}] = {{{', '.join(map(repr, values))}}};"


_INF = "__longlong_as_double(0x7ff0000000000000LL)"
_NAN = "__longlong_as_double(0x7ff8000000000000LL)"

SPECIAL_HELPERS = {
    "gt_erfcx": f"""static __device__ __forceinline__ double gt_erfcx(double x) {{
    // exp(x^2) erfc(x): the erf series to |x| = 3, the continued fraction beyond
    if (x != x) return x;
    double ax = fabs(x), pos;
    if (ax <= {kernels._SPLIT!r}) {{
        double two_x2 = 2.0 * ax * ax, term = ax, total = ax;
        for (int n = 1; n < {kernels._SERIES_TERMS}; ++n) {{
            term = term * two_x2 / (2 * n + 1);
            total += term;
        }}
        pos = exp(ax * ax) - {2.0 / math.sqrt(math.pi)!r} * total;
    }} else {{
        double f = ax;
        for (int k = {kernels._FRACTION_DEPTH}; k > 0; --k) f = ax + (k / 2.0) / f;
        pos = 1.0 / ({math.sqrt(math.pi)!r} * f);
    }}
    return x >= 0.0 ? pos : 2.0 * exp(ax * ax) - pos;
}}""",
    "gt_bessel_i": f"""static __device__ __forceinline__ double gt_chbevl(double y, const double *c,
                                                    int n) {{
    double b0 = c[0], b1 = 0.0, b2 = 0.0;
    for (int i = 1; i < n; ++i) {{ b2 = b1; b1 = b0; b0 = y * b1 - b2 + c[i]; }}
    return 0.5 * (b0 - b2);
}}
static __device__ __forceinline__ double gt_bessel_i(int order, int scaled, double x) {{
    // Cephes' i0/i0e/i1/i1e: Chebyshev series on [0, 8] and in 32 / x - 2 beyond
    {_array("low0", kernels.I0_LOW)}
    {_array("high0", kernels.I0_HIGH)}
    {_array("low1", kernels.I1_LOW)}
    {_array("high1", kernels.I1_HIGH)}
    double ax = fabs(x), out;
    if (ax <= 8.0) {{
        double y = ax / 2.0 - 2.0;
        out = order == 0 ? gt_chbevl(y, low0, {len(kernels.I0_LOW)})
                         : gt_chbevl(y, low1, {len(kernels.I1_LOW)}) * ax;
    }} else {{
        double y = 32.0 / ax - 2.0;
        out = (order == 0 ? gt_chbevl(y, high0, {len(kernels.I0_HIGH)})
                          : gt_chbevl(y, high1, {len(kernels.I1_HIGH)})) / sqrt(ax);
    }}
    if (!scaled) out = exp(ax) * out;
    return (order == 1 && x < 0.0) ? -out : out;
}}""",
    "gt_ndtri": f"""static __device__ __forceinline__ double gt_polevl(double x, const double *c,
                                                    int n) {{
    double out = 0.0;
    for (int i = 0; i < n; ++i) out = out * x + c[i];
    return out;
}}
static __device__ __forceinline__ double gt_ndtri(double y0) {{
    // Cephes' ndtri: a rational function in the centre, in sqrt(-2 log y) in the tails
    if (y0 == 0.0) return -{_INF};
    if (y0 == 1.0) return {_INF};
    if (!(y0 >= 0.0 && y0 <= 1.0)) return {_NAN};
    {_array("p0", kernels.NDTRI_P0)}
    {_array("q0", kernels.NDTRI_Q0)}
    {_array("p1", kernels.NDTRI_P1)}
    {_array("q1", kernels.NDTRI_Q1)}
    {_array("p2", kernels.NDTRI_P2)}
    {_array("q2", kernels.NDTRI_Q2)}
    bool flip = y0 > {1.0 - kernels.EXP_MINUS_2!r};
    double y = flip ? 1.0 - y0 : y0;
    if (y > {kernels.EXP_MINUS_2!r}) {{
        double yc = y - 0.5, y2 = yc * yc;
        return (yc + yc * (y2 * gt_polevl(y2, p0, 5) / gt_polevl(y2, q0, 9))) *
               {kernels.SQRT_2PI!r};
    }}
    double x = sqrt(-2.0 * log(y)), x0 = x - log(x) / x, z = 1.0 / x;
    double x1 = x < 8.0 ? z * gt_polevl(z, p1, 9) / gt_polevl(z, q1, 9)
                        : z * gt_polevl(z, p2, 9) / gt_polevl(z, q2, 9);
    return flip ? x0 - x1 : x1 - x0;
}}""",
    "gt_zeta": f"""static __device__ __forceinline__ double gt_zeta(double x, double q) {{
    // Cephes' Hurwitz zeta: direct terms, then the Euler-Maclaurin tail
    if (x == 1.0) return {_INF};
    if (x < 1.0) return {_NAN};
    if (q <= 0.0) {{
        if (q == floor(q)) return {_INF};
        if (x != floor(x)) return {_NAN};
    }}
    if (q < -{kernels.ZETA_LOWEST!r}) return {_NAN};
    {_array("coefficients", kernels.ZETA_A)}
    const double eps = {kernels.ZETA_MACHEP!r};
    double s = pow(q, -x), a = q, b = 0.0;
    int i = 0;
    while (i < 9 || a <= 9.0) {{
        i += 1;
        a += 1.0;
        b = pow(a, -x);
        s += b;
        if (-eps * s < b && b < eps * s) return s;
    }}
    double w = a, k = 0.0;
    s += b * w / (x - 1.0);
    s -= 0.5 * b;
    a = 1.0;
    for (i = 0; i < {len(kernels.ZETA_A)}; ++i) {{
        a *= x + k;
        b /= w;
        double t = a * b / coefficients[i];
        s = s + t;
        if (fabs(t / s) < eps) return s;
        k += 1.0;
        a *= x + k;
        b /= w;
        k += 1.0;
    }}
    return s;
}}""",
}


def _entr(r, a):
    r.need_float()
    x = a[0]
    return (f"({x} != {x} ? {x} : ({x} > {r.lit(0)} ? -{x} * {r.fn('logf')}({x}) : "
            f"({x} == {r.lit(0)} ? {r.lit(0)} : {r.lit(-math.inf)})))")


def _xlog1py(r, a):
    r.need_float()
    return (f"({a[1]} != {a[1]} ? {a[1]} : ({a[0]} == {r.lit(0)} ? {r.lit(0)} : "
            f"{a[0]} * {r.fn('log1pf')}({a[1]})))")


def _bessel(order: int, scaled: bool):
    def render(r, a):
        r.need_float()
        return f"{r.helper('gt_bessel_i')}({order}, {int(scaled)}, (double){a[0]})"
    return render


SPECIAL_RENDERINGS = {
    ENTR: _entr, XLOG1PY: _xlog1py,
    ERFCX: lambda r, a: r.in_double("gt_erfcx", a[0]),
    NDTRI: lambda r, a: r.in_double("gt_ndtri", a[0]),
    ZETA: lambda r, a: r.in_double("gt_zeta", a[0], a[1]),
    I0: _bessel(0, False), I0E: _bessel(0, True), I1: _bessel(1, False), I1E: _bessel(1, True),
}
