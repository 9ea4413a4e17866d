"""Special functions NumPy lacks (erf, erfc, erfinv), written against `xp`.

erf uses its everywhere-positive power series for |x| <= 3 and erfc's continued fraction
beyond; both are evaluated in float64 to about 1e-15 and cast back to the input dtype.
"""

from __future__ import annotations

import math

_SERIES_TERMS = 90
_FRACTION_DEPTH = 90
_SPLIT = 3.0


def _as_float(xp, a):
    dtype = a.dtype if a.dtype.kind in "fc" else xp.dtype("float32")
    return a.astype(xp.float64), dtype


def _erf_series(xp, x):
    # erf(x) = 2/sqrt(pi) * exp(-x^2) * sum_n x (2x^2)^n / (1*3*...*(2n+1))
    two_x2 = 2.0 * x * x
    term = x.copy()
    total = x.copy()
    for n in range(1, _SERIES_TERMS):
        term = term * two_x2 / (2 * n + 1)
        total += term
    return 2.0 / math.sqrt(math.pi) * xp.exp(-x * x) * total


def _erfc_fraction(xp, x):
    # erfc(x) = exp(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))), x > 0
    f = x.copy()
    for k in range(_FRACTION_DEPTH, 0, -1):
        f = x + (k / 2.0) / f
    return xp.exp(-x * x) / (math.sqrt(math.pi) * f)


def erfc_positive(xp, x):
    small = x <= _SPLIT
    xs = xp.where(small, x, 0.0)
    xl = xp.where(small, _SPLIT + 1.0, x)
    return xp.where(small, 1.0 - _erf_series(xp, xs), _erfc_fraction(xp, xl))


def erf_kernel(xp, a):
    x, dtype = _as_float(xp, a)
    ax = xp.abs(x)
    small = ax <= _SPLIT
    inner = _erf_series(xp, xp.where(small, ax, 0.0))
    outer = 1.0 - _erfc_fraction(xp, xp.where(small, _SPLIT + 1.0, ax))
    out = xp.sign(x) * xp.where(small, inner, outer)
    out = xp.where(xp.isnan(x), xp.nan, out)
    return out.astype(dtype)


def erfc_kernel(xp, a):
    x, dtype = _as_float(xp, a)
    pos = erfc_positive(xp, xp.abs(xp.nan_to_num(x)))
    out = xp.where(x >= 0, pos, 2.0 - pos)
    out = xp.where(xp.isnan(x), xp.nan, out)
    return out.astype(dtype)


def erfinv_kernel(xp, a):
    y, dtype = _as_float(xp, a)
    inside = xp.abs(y) < 1
    yc = xp.where(inside, y, 0.0)
    # Winitzki's closed-form start, then Newton steps on erf(x) - y.
    k = 0.147
    ln = xp.log1p(-yc * yc)
    first = 2.0 / (math.pi * k) + ln / 2.0
    x = xp.sign(yc) * xp.sqrt(xp.sqrt(first * first - ln / k) - first)
    for _ in range(4):
        err = erf_kernel(xp, x) - yc
        x = x - err / (2.0 / math.sqrt(math.pi) * xp.exp(-x * x))
    out = xp.where(inside, x, xp.where(xp.abs(y) == 1, xp.sign(y) * xp.inf, xp.nan))
    return out.astype(dtype)
