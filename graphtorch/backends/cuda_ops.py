"""How each elementwise op is written in CUDA C: one rendering per OpDef (`CUDA_OPS`).

A rendering is ``render(r, a) -> str``, a C expression: `a` holds the operands, already in
the op's computation dtype, and `r` (a `Rendering`) gives that dtype, literals converted
to it, the node's attributes and the device helpers below. Renderings spell out eager
graphtorch's semantics where C's differ from NumPy's (NaN propagation of ``maximum``/``relu``,
NumPy's shifts by the width or more, ``sign(-0.0)``, ...). A rendering raises `Unsupported`
for a dtype or attribute it cannot express; the fused group then runs op by op, as it must
where eager raises an error CUDA cannot (integer division by zero).

Every fusible op has a rendering here (tests/backends/test_cuda_ops.py fails otherwise);
fused CUDA kernels carry real dtypes only (`CTYPES`).
"""

from __future__ import annotations

import math

import numpy as np

from ..ops.binary_math import (COPYSIGN, FMAX, FMIN, GCD, HYPOT, LCM, LOGADDEXP, LOGADDEXP2,
                               NEXTAFTER, XLOGY)
from ..ops.dispatch import _wrap_int_scalar
from ..ops.elementwise import (ADD, ATAN2, BITWISE_AND, BITWISE_LEFT_SHIFT, BITWISE_NOT,
                               BITWISE_OR, BITWISE_RIGHT_SHIFT, BITWISE_XOR, CLAMP, CLONE,
                               COPY, DIV, EQ, FILL, FLOOR_DIVIDE, FMOD, GE, GT, LE,
                               LOGICAL_AND, LOGICAL_NOT, LOGICAL_OR, LOGICAL_XOR, LT, MAXIMUM,
                               MINIMUM, MUL, NE, POW, REMAINDER, SUB, TO_DTYPE, TRUNC_DIVIDE,
                               WHERE)
from ..ops.registry import OpDef
from ..ops.unary_math import (ABS, ACOS, ACOSH, ASIN, ASINH, ATAN, ATANH, CEIL, CONJ, COS, COSH,
                              DIGAMMA, ELU, ERF, ERFC, ERFINV, EXP, EXP2, EXPM1, FLOOR, FRAC,
                              GELU, HARDTANH, ISFINITE, ISINF, ISNAN, LEAKY_RELU, LGAMMA,
                              LOG, LOG1P, LOG2, LOG10, NAN_TO_NUM, NEG, POLYGAMMA,
                              RECIPROCAL, RELU, ROUND, RSQRT, SGN, SIGMOID, SIGN, SIGNBIT, SILU,
                              SIN, SINC, SINH, SOFTPLUS, SQRT, TAN, TANH, TRUNC)
from .cuda_special import SPECIAL_HELPERS, SPECIAL_RENDERINGS

CTYPES = {"bool": "bool", "int8": "signed char", "uint8": "unsigned char", "int16": "short",
          "int32": "int", "int64": "long long", "float32": "float", "float64": "double"}


class Unsupported(Exception):
    """The group cannot become one CUDA kernel (the message says which op or dtype)."""


# --- literals ---------------------------------------------------------------------------

def literal(value, dtype) -> str:
    """C source for Python scalar `value` converted to numpy `dtype` (NumPy's weak-scalar
    rules: ints wrap around, floats round to the dtype)."""
    dtype = np.dtype(dtype)
    if isinstance(value, complex) or not isinstance(value, (bool, int, float, np.generic)):
        raise Unsupported(f"constant {value!r}")
    if dtype.kind == "b":
        return "true" if value else "false"
    if dtype.kind in "iu":
        if isinstance(value, float):
            raise Unsupported(f"float constant {value!r} in an integer op")
        v = _wrap_int_scalar(int(value), dtype)
        if dtype.itemsize == 8:
            if v == -2 ** 63:
                return "(-9223372036854775807LL - 1)"
            return f"{v}LL"
        if v == -2 ** 31:
            return "(-2147483647 - 1)"
        return str(v) if dtype.itemsize == 4 else f"(({CTYPES[dtype.name]}){v})"
    if dtype.kind != "f" or dtype.name not in CTYPES:
        raise Unsupported(f"dtype {dtype}")
    x = float(np.array(value, dtype=dtype)) if dtype.itemsize == 4 else float(value)
    single = dtype.itemsize == 4
    if math.isnan(x):
        return "__int_as_float(0x7fc00000)" if single else \
            "__longlong_as_double(0x7ff8000000000000LL)"
    if math.isinf(x):
        sign = "-" if x < 0 else ""
        return f"{sign}__int_as_float(0x7f800000)" if single else \
            f"{sign}__longlong_as_double(0x7ff0000000000000LL)"
    text = repr(x)
    return f"{text}f" if single else text


# --- what a rendering sees ----------------------------------------------------------------

class Rendering:
    """The context of one op's rendering: computation dtype `cd`, attributes (a rendering
    pops those it reads; any left over make the op unsupported), helpers used."""

    def __init__(self, node, cd: np.dtype, helpers: set, operand):
        self.node = node
        self.cd = cd
        self.attrs = dict(node.attrs)
        self.helpers = helpers
        self._operand = operand  # operand(value, dtype) -> C text

    @property
    def is_float(self) -> bool:
        return self.cd.kind == "f"

    def lit(self, value) -> str:
        return literal(value, self.cd)

    def fn(self, name: str) -> str:
        """The float function `name` (``expf``) of the computation's precision."""
        self.need_float()
        return name if self.cd == np.float32 else name[:-1]

    def need_float(self) -> None:
        if not self.is_float:
            raise Unsupported(f"{self.node.op.name} on {self.cd}")

    def need_integer(self) -> None:
        if self.cd.kind not in "iu":
            raise Unsupported(f"{self.node.op.name} on {self.cd}")

    def helper(self, name: str) -> str:
        self.helpers.add(name)
        return name

    def operand(self, index: int, dtype) -> str:
        """Input `index` converted to `dtype` instead of the computation dtype."""
        return self._operand(self.node.inputs[index], np.dtype(dtype))

    def in_double(self, function: str, *args) -> str:
        """`function` (a helper or CUDA's double one) evaluated in double, as the eager
        kernels of lgamma, digamma and polygamma compute; the result is cast back."""
        self.need_float()
        if function in HELPERS:
            self.helper(function)
        return f"{function}({', '.join(f'(double){x}' for x in args)})"


# --- device helpers (emitted into the preamble once per file, guarded) ------------------------

HELPERS = {
    "gt_remainder": """static __device__ __forceinline__ float gt_remainder(float a, float b) {
    // Python's modulo (sign of the divisor), as NumPy's remainder
    float r = fmodf(a, b);
    if (r != 0.0f) { if ((b < 0.0f) != (r < 0.0f)) r += b; } else r = copysignf(0.0f, b);
    return r;
}
static __device__ __forceinline__ double gt_remainder(double a, double b) {
    double r = fmod(a, b);
    if (r != 0.0) { if ((b < 0.0) != (r < 0.0)) r += b; } else r = copysign(0.0, b);
    return r;
}""",
    "gt_floor_divide": """template <typename T>
static __device__ __forceinline__ T gt_floor_divide(T a, T b) {
    // PyTorch's div_floor_floating.
    if (b == T(0)) return a / b;
    T mod = fmod(a, b);
    T div = (a - mod) / b;
    if (mod != T(0) && ((b < T(0)) != (mod < T(0)))) div -= T(1);
    if (div == T(0)) return copysign(T(0), a / b);
    T fl = floor(div);
    return (div - fl > T(0.5)) ? fl + T(1) : fl;
}""",
    "gt_shift": """template <typename T> static __device__ __forceinline__ T gt_lshift(T a, T b) {
    // NumPy: a shift by the width or more, or by a negative count, gives 0
    return ((unsigned long long)b < sizeof(T) * 8) ? (T)(a << b) : (T)0;
}
template <typename T> static __device__ __forceinline__ T gt_rshift(T a, T b) {
    return ((unsigned long long)b < sizeof(T) * 8) ? (T)(a >> b) : (T)(a < (T)0 ? -1 : 0);
}""",
    "gt_gcd": """static __device__ __forceinline__ unsigned long long gt_magnitude(long long a) {
    return a < 0 ? 0ULL - (unsigned long long)a : (unsigned long long)a;
}
static __device__ __forceinline__ unsigned long long gt_gcd_u(unsigned long long x,
                                                              unsigned long long y) {
    while (y != 0ULL) { unsigned long long t = x % y; x = y; y = t; }
    return x;
}
// NumPy's npy_gcd/npy_lcm: on the magnitudes, unsigned (so gcd(INT_MIN, 0) wraps back)
template <typename T> static __device__ __forceinline__ T gt_gcd(T a, T b) {
    return (T)gt_gcd_u(gt_magnitude(a), gt_magnitude(b));
}
template <typename T> static __device__ __forceinline__ T gt_lcm(T a, T b) {
    unsigned long long x = gt_magnitude(a), y = gt_magnitude(b), g = gt_gcd_u(x, y);
    return g == 0ULL ? (T)0 : (T)(x / g * y);
}""",
    "gt_logaddexp": """static __device__ __forceinline__ float gt_logaddexp(float x, float y) {
    // NumPy's npy_logaddexp: equal arguments (infinities included) first
    if (x == y) return x + 0.693147180559945309f;
    float d = x - y;
    if (d > 0.0f) return x + log1pf(expf(-d));
    if (d <= 0.0f) return y + log1pf(expf(d));
    return d;
}
static __device__ __forceinline__ double gt_logaddexp(double x, double y) {
    if (x == y) return x + 0.693147180559945309;
    double d = x - y;
    if (d > 0.0) return x + log1p(exp(-d));
    if (d <= 0.0) return y + log1p(exp(d));
    return d;
}
static __device__ __forceinline__ float gt_logaddexp2(float x, float y) {
    if (x == y) return x + 1.0f;
    float d = x - y;
    if (d > 0.0f) return x + log1pf(exp2f(-d)) * 1.442695040888963407f;
    if (d <= 0.0f) return y + log1pf(exp2f(d)) * 1.442695040888963407f;
    return d;
}
static __device__ __forceinline__ double gt_logaddexp2(double x, double y) {
    if (x == y) return x + 1.0;
    double d = x - y;
    if (d > 0.0) return x + log1p(exp2(-d)) * 1.4426950408889634074;
    if (d <= 0.0) return y + log1p(exp2(d)) * 1.4426950408889634074;
    return d;
}""",
    "gt_digamma": """static __device__ __forceinline__ double gt_digamma(double x) {
    // the eager kernel's float64 algorithm: shift up to >= 10, asymptotic tail, reflection
    if (x == 0.0) return copysign(__longlong_as_double(0x7ff0000000000000LL), -x);
    bool reflect = x < 0.0;
    double y = reflect ? 1.0 - x : x, acc = 0.0;
    for (int k = 0; k < 10 && y < 10.0; ++k) { acc -= 1.0 / y; y += 1.0; }
    double inv2 = 1.0 / (y * y);
    double tail = inv2 * (1.0 / 12 - inv2 * (1.0 / 120 - inv2 * (1.0 / 252 - inv2 * (
        1.0 / 240 - inv2 * (1.0 / 132 - inv2 * (691.0 / 32760 - inv2 / 12))))));
    double psi = acc + log(y) - 0.5 / y - tail;
    if (!reflect) return psi;
    double frac = x - floor(x);
    if (frac == 0.0) return __longlong_as_double(0x7ff8000000000000LL);
    return psi - 3.14159265358979323846 / tan(3.14159265358979323846 * frac);
}""",
    "gt_polygamma": """static __device__ __forceinline__ double gt_polygamma(int n, double x) {
    // n >= 1: (-1)^(n+1) n! zeta(n + 1, x), the eager kernel's float64 algorithm
    if (x == __longlong_as_double(0x7ff0000000000000LL)) return 0.0;
    // below -2^20 the shift would take over a million steps: NaN, as the eager kernel
    double s = n + 1.0, q = isfinite(x) && x >= -1048576.0 ? x
                                                         : __longlong_as_double(0x7ff8000000000000LL);
    double top = 20.0 + n, acc = 0.0;
    while (q < top) { acc += pow(q, -s); q += 1.0; }
    double tail = pow(q, 1.0 - s) / (s - 1.0) + 0.5 * pow(q, -s);
    const double b[7] = {1.0 / 6, -1.0 / 30, 1.0 / 42, -1.0 / 30, 5.0 / 66, -691.0 / 2730,
                         7.0 / 6};
    double rising = s, power = pow(q, -s - 1.0), factorial = 1.0;
    for (int j = 1; j <= 7; ++j) {
        factorial *= (2.0 * j - 1.0) * (2.0 * j);
        tail += b[j - 1] / factorial * rising * power;
        rising *= (s + 2.0 * j - 1.0) * (s + 2.0 * j);
        power = power / (q * q);
    }
    double nfact = 1.0;
    for (int k = 2; k <= n; ++k) nfact *= k;
    return ((n + 1) % 2 == 0 ? 1.0 : -1.0) * nfact * (acc + tail);
}""",
    **SPECIAL_HELPERS,  # erfcx, Bessel I, ndtri, zeta (cuda_special.py)
}


def preamble(names) -> str:
    """The helpers `names`, each guarded so that several kernels share one file."""
    parts = []
    for name in sorted(names):
        guard = f"GT_HELPER_{name.upper()}"
        parts.append(f"#ifndef {guard}\n#define {guard}\n{HELPERS[name]}\n#endif")
    return "\n".join(parts)


# --- rendering builders -------------------------------------------------------------------

def _infix(symbol: str, float_only: bool = False, integer_only: bool = False):
    def render(r, a):
        if float_only:
            r.need_float()
        if integer_only and r.cd.kind not in "biu":
            raise Unsupported(f"{r.node.op.name} on {r.cd}")
        return f"{a[0]} {symbol} {a[1]}"
    return render


def _float_fn(name: str):
    """A CUDA math function (float name; the double one drops the trailing f)."""
    return lambda r, a: f"{r.fn(name)}({', '.join(a)})"


def _logical(symbol: str):
    return lambda r, a: f"(bool){a[0]} {symbol} (bool){a[1]}"


def _nan_max(cmp: str):
    """maximum/minimum: NaN propagates from either side (NumPy's and PyTorch's)."""
    return lambda r, a: f"(({a[0]} {cmp} {a[1]} || {a[0]} != {a[0]}) ? {a[0]} : {a[1]})"


def _rounding(name: str):
    """floor/ceil/trunc: identity on integers (the eager kernel's copy)."""
    return lambda r, a: f"{r.fn(name)}({a[0]})" if r.is_float else a[0]


def _identity(*attrs):
    def render(r, a):
        for name in attrs:
            r.attrs.pop(name, None)
        return a[0]
    return render


def _float_test(name: str, integers: str):
    """isnan/isinf/isfinite: `integers` is the answer for integer inputs."""
    return lambda r, a: f"{name}({a[0]})" if r.is_float else integers


def _add_sub(symbol: str):
    def render(r, a):
        alpha = r.attrs.pop("alpha", 1)
        rhs = a[1] if alpha == 1 else f"{a[1]} * {r.lit(alpha)}"
        return f"{a[0]} {symbol} {rhs}"
    return render


def _int_division(helper: str | None, c_fn: str | None = None):
    """remainder/fmod/floor_divide/trunc_divide: float only. Integer division by zero
    raises in eager graphtorch, which a kernel cannot: integers run op by op."""
    def render(r, a):
        r.need_float()
        if helper is not None:
            return f"{r.helper(helper)}({a[0]}, {a[1]})"
        return f"{r.fn(c_fn)}({a[0]}, {a[1]})"
    return render


# --- renderings of single ops ---------------------------------------------------------------

def _pow(r, a):
    e = r.node.inputs[1]
    if e.is_const and type(e.const) in (int, float) and e.const in (1, 2, 3):
        return " * ".join([a[0]] * int(e.const))  # PyTorch's float path; exact for ints
    if e.is_const and type(e.const) in (int, float) and r.is_float:
        # the other exponents eager (and PyTorch) strength-reduce: same values at -0 and -inf
        one, x = r.lit(1), a[0]
        form = {0.5: f"{r.fn('sqrtf')}({x})", -0.5: f"{one} / {r.fn('sqrtf')}({x})",
                -1: f"{one} / {x}", -2: f"{one} / ({x} * {x})"}.get(e.const)
        if form is not None:
            return form
    return f"{r.fn('powf')}({a[0]}, {a[1]})"


def _abs(r, a):
    return f"{r.fn('fabsf')}({a[0]})" if r.is_float else f"({a[0]} < 0 ? -{a[0]} : {a[0]})"


def _round(r, a):
    decimals = r.attrs.pop("decimals", 0)
    if not r.is_float:
        return a[0]
    if not decimals:
        return f"{r.fn('rintf')}({a[0]})"
    if decimals > 0:  # NumPy's around: scale, round half to even, unscale
        scale = r.lit(10 ** decimals)
        return f"{r.fn('rintf')}({a[0]} * {scale}) / {scale}"
    scale = r.lit(10 ** -decimals)
    return f"{r.fn('rintf')}({a[0]} / {scale}) * {scale}"


def _sign(r, a):
    x = a[0]
    if r.cd.kind == "b":
        return x
    # PyTorch (and the eager kernel): sign(-0.0) is +0.0 and sign(NaN) is 0
    return f"({x} > {r.lit(0)} ? {r.lit(1)} : ({x} < {r.lit(0)} ? {r.lit(-1)} : {r.lit(0)}))"


def _signbit(r, a):
    if r.is_float:
        return f"signbit({a[0]})"
    return f"{a[0]} < 0" if r.cd.kind == "i" else "false"


def _bitwise_not(r, a):
    if r.cd.kind == "b":
        return f"!{a[0]}"
    r.need_integer()
    return f"~{a[0]}"


def _shift(direction: str):
    def render(r, a):
        r.need_integer()
        r.helper("gt_shift")
        return f"gt_{direction}shift({a[0]}, {a[1]})"
    return render


def _gcd_lcm(name: str):
    def render(r, a):
        r.need_integer()
        r.helper("gt_gcd")
        return f"gt_{name}({a[0]}, {a[1]})"
    return render


def _fmax_fmin(name: str, cmp: str):
    """fmax/fmin ignore NaN; on integers they are max/min."""
    def render(r, a):
        if r.is_float:
            return f"{r.fn(name)}({a[0]}, {a[1]})"
        return f"({a[0]} {cmp} {a[1]} ? {a[0]} : {a[1]})"
    return render


def _clamp(r, a):
    x = a[0]
    lo, hi = r.attrs.pop("min", None), r.attrs.pop("max", None)
    if lo is None and hi is None:
        raise Unsupported("clamp without bounds")
    if lo is not None:
        x = f"(({x} >= {r.lit(lo)} || {x} != {x}) ? {x} : {r.lit(lo)})"
    if hi is not None:
        x = f"(({x} <= {r.lit(hi)} || {x} != {x}) ? {x} : {r.lit(hi)})"
    return x


def _where(r, a):
    return f"({r.operand(0, bool)} ? {a[1]} : {a[2]})"


def _fill(r, a):
    return a[1] if len(a) > 1 else r.lit(r.attrs.pop("value"))


def _sigmoid_of(r, x: str) -> str:
    """The eager kernel's form: exp(min(x, 0)) / (1 + exp(-|x|)), no overflow."""
    return (f"({r.fn('expf')}({x} < {r.lit(0)} ? {x} : {r.lit(0)}) / "
            f"({r.lit(1)} + {r.fn('expf')}(-{r.fn('fabsf')}({x}))))")


def _relu(r, a):  # NaN stays NaN, as in PyTorch (NumPy's maximum(x, 0))
    return f"(({a[0]} >= {r.lit(0)} || {a[0]} != {a[0]}) ? {a[0]} : {r.lit(0)})"


def _leaky_relu(r, a):
    slope = r.lit(r.attrs.pop("negative_slope", 0.01))
    return f"({a[0]} > {r.lit(0)} ? {a[0]} : {a[0]} * {slope})"


def _elu(r, a):
    alpha = r.lit(r.attrs.pop("alpha", 1.0))
    return f"({a[0]} > {r.lit(0)} ? {a[0]} : {alpha} * {r.fn('expm1f')}({a[0]}))"


def _softplus(r, a):
    beta, threshold = r.attrs.pop("beta", 1.0), r.attrs.pop("threshold", 20.0)
    z = f"({a[0]} * {r.lit(beta)})"
    soft = (f"({r.fn('log1pf')}({r.fn('expf')}(-{r.fn('fabsf')}({z}))) + "
            f"({z} > {r.lit(0)} ? {z} : {r.lit(0)}))")
    return f"({z} > {r.lit(threshold)} ? {a[0]} : {soft} / {r.lit(beta)})"


def _hardtanh(r, a):
    lo, hi = r.lit(r.attrs.pop("min_val", -1.0)), r.lit(r.attrs.pop("max_val", 1.0))
    return f"({a[0]} < {lo} ? {lo} : ({a[0]} > {hi} ? {hi} : {a[0]}))"


def _gelu(r, a):
    x = a[0]
    if r.attrs.pop("approximate", "none") == "tanh":  # the registry kernel's order
        inner = f"{r.lit(math.sqrt(2 / math.pi))} * ({x} + {r.lit(0.044715)} * {x} * {x} * {x})"
        return f"{r.lit(0.5)} * {x} * ({r.lit(1)} + {r.fn('tanhf')}({inner}))"
    return (f"{r.lit(0.5)} * {x} * ({r.lit(1)} + "
            f"{r.fn('erff')}({x} / {r.lit(math.sqrt(2.0))}))")


def _nan_to_num(r, a):
    nan, pos, neg = (r.attrs.pop(k, None) for k in ("nan", "posinf", "neginf"))
    if not r.is_float:
        return a[0]
    info = np.finfo(r.cd)
    x = a[0]
    pos = r.lit(float(info.max) if pos is None else pos)
    neg = r.lit(float(info.min) if neg is None else neg)
    return (f"({x} != {x} ? {r.lit(nan or 0.0)} : ({x} == {r.lit(math.inf)} ? {pos} : "
            f"({x} == {r.lit(-math.inf)} ? {neg} : {x})))")


def _xlogy(r, a):
    r.need_float()
    return (f"({a[1]} != {a[1]} ? {a[1]} : ({a[0]} == {r.lit(0)} ? {r.lit(0)} : "
            f"{a[0]} * {r.fn('logf')}({a[1]})))")


def _sinc(r, a):  # NumPy's sinc: sin(pi x) / (pi x), 1 at 0
    x = f"({r.lit(math.pi)} * {a[0]})"
    return f"({a[0]} == {r.lit(0)} ? {r.lit(1)} : {r.fn('sinf')}({x}) / {x})"


def _polygamma(r, a):
    n = r.attrs.pop("n")
    if n == 0:
        return r.in_double("gt_digamma", a[0])
    r.need_float()
    return f"{r.helper('gt_polygamma')}({int(n)}, (double){a[0]})"


def _logaddexp(name: str):
    def render(r, a):
        r.need_float()
        r.helper("gt_logaddexp")  # defines gt_logaddexp and gt_logaddexp2
        return f"{name}({a[0]}, {a[1]})"
    return render


def _frac(r, a):
    return f"{a[0]} - {r.fn('truncf')}({a[0]})"


# --- the table --------------------------------------------------------------------------------

CUDA_OPS: dict[OpDef, object] = {
    ADD: _add_sub("+"), SUB: _add_sub("-"), MUL: _infix("*"),
    DIV: _infix("/", float_only=True), NEG: lambda r, a: f"-{a[0]}", ABS: _abs,
    POW: _pow, RSQRT: lambda r, a: f"{r.lit(1)} / {r.fn('sqrtf')}({a[0]})",
    RECIPROCAL: lambda r, a: f"{r.lit(1)} / {a[0]}",
    REMAINDER: _int_division("gt_remainder"), FMOD: _int_division(None, "fmodf"),
    FLOOR_DIVIDE: _int_division("gt_floor_divide"),
    TRUNC_DIVIDE: lambda r, a: f"{r.fn('truncf')}({a[0]} / {a[1]})",
    MAXIMUM: _nan_max(">="), MINIMUM: _nan_max("<="),
    FMAX: _fmax_fmin("fmaxf", ">="), FMIN: _fmax_fmin("fminf", "<="),
    **{op: _float_fn(name) for op, name in [
        (EXP, "expf"), (EXP2, "exp2f"), (EXPM1, "expm1f"), (LOG, "logf"), (LOG2, "log2f"),
        (LOG10, "log10f"), (LOG1P, "log1pf"), (SQRT, "sqrtf"), (SIN, "sinf"), (COS, "cosf"),
        (TAN, "tanf"), (ASIN, "asinf"), (ACOS, "acosf"), (ATAN, "atanf"), (SINH, "sinhf"),
        (COSH, "coshf"), (TANH, "tanhf"), (ASINH, "asinhf"), (ACOSH, "acoshf"),
        (ATANH, "atanhf"), (ERF, "erff"), (ERFC, "erfcf"), (ERFINV, "erfinvf"),
        (ATAN2, "atan2f"), (HYPOT, "hypotf"), (COPYSIGN, "copysignf"),
        (NEXTAFTER, "nextafterf")]},
    LGAMMA: lambda r, a: r.in_double("lgamma", a[0]),
    DIGAMMA: lambda r, a: r.in_double("gt_digamma", a[0]), POLYGAMMA: _polygamma,
    LOGADDEXP: _logaddexp("gt_logaddexp"), LOGADDEXP2: _logaddexp("gt_logaddexp2"),
    XLOGY: _xlogy, SINC: _sinc,
    FLOOR: _rounding("floorf"), CEIL: _rounding("ceilf"), TRUNC: _rounding("truncf"),
    ROUND: _round, FRAC: _frac, SIGN: _sign, SGN: _sign, SIGNBIT: _signbit,  # real sgn
    SIGMOID: lambda r, a: _sigmoid_of(r, a[0]),
    SILU: lambda r, a: f"{a[0]} * {_sigmoid_of(r, a[0])}",
    RELU: _relu, LEAKY_RELU: _leaky_relu, ELU: _elu, SOFTPLUS: _softplus,
    HARDTANH: _hardtanh, GELU: _gelu, NAN_TO_NUM: _nan_to_num, CLAMP: _clamp,
    EQ: _infix("=="), NE: _infix("!="), LT: _infix("<"), LE: _infix("<="), GT: _infix(">"),
    GE: _infix(">="),
    LOGICAL_AND: _logical("&&"), LOGICAL_OR: _logical("||"), LOGICAL_XOR: _logical("!="),
    LOGICAL_NOT: lambda r, a: f"!(bool){a[0]}",
    BITWISE_AND: _infix("&", integer_only=True), BITWISE_OR: _infix("|", integer_only=True),
    BITWISE_XOR: _infix("^", integer_only=True), BITWISE_NOT: _bitwise_not,
    BITWISE_LEFT_SHIFT: _shift("l"), BITWISE_RIGHT_SHIFT: _shift("r"),
    GCD: _gcd_lcm("gcd"), LCM: _gcd_lcm("lcm"),
    ISNAN: _float_test("isnan", "false"), ISINF: _float_test("isinf", "false"),
    ISFINITE: _float_test("isfinite", "true"),
    WHERE: _where, FILL: _fill, COPY: lambda r, a: a[1],
    TO_DTYPE: _identity("dtype"), CLONE: _identity("contiguous"),
    CONJ: _identity(),  # real dtypes only (CTYPES)
    **SPECIAL_RENDERINGS,  # torch.special's ops (cuda_special.py)
}


def render(node, cd: np.dtype, args: list[str], helpers: set, operand) -> str:
    """The C expression of `node` computing in `cd` on operands `args` (raises
    `Unsupported`); `helpers` collects the device helpers it needs."""
    rule = CUDA_OPS.get(node.op)
    if rule is None:
        raise Unsupported(f"no CUDA rendering of {node.op.name}")
    r = Rendering(node, cd, helpers, operand)
    text = rule(r, args)
    if r.attrs:
        raise Unsupported(f"{node.op.name} with attributes {sorted(r.attrs)}")
    return text
