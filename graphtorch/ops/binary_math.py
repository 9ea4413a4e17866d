"""Binary elementwise math beyond arithmetic: hypot, logaddexp(2), copysign, xlogy, fmax/fmin,
gcd/lcm (PyTorch gives each a grad_fn of its own).

Each op is one `OpDef` row built with `elementwise.elementwise`; vjps unbroadcast to the
operand shapes and skip Python-number operands.
"""

from __future__ import annotations

import math

from .. import dtypes
from .dispatch import call
from .elementwise import COMPLEX, _metas, elementwise, raises, ufunc_kernel, unsupported, where
from .factories import zeros_like
from .grad_utils import conj, unbroadcast, zeros_for
from .registry import Promotion

_INTEGRAL = (dtypes.bool_, dtypes.uint8, dtypes.int8, dtypes.int16, dtypes.int32, dtypes.int64)
_FLOATS = (dtypes.float16, dtypes.bfloat16, dtypes.float32, dtypes.float64)


def _grads_or_none(ctx, grad_a, grad_b):
    """Unbroadcast per-operand gradients (callables, evaluated only for tensor operands)."""
    ma, mb = _metas(ctx)
    return (unbroadcast(grad_a(), ma) if ma is not None else None,
            unbroadcast(grad_b(), mb) if mb is not None else None)


def _hypot_vjp(ctx, grad):
    a, b = ctx.inputs
    out = ctx.output
    return _grads_or_none(ctx, lambda: grad * a / out, lambda: grad * b / out)


HYPOT = elementwise("hypot", ufunc_kernel("hypot"), _hypot_vjp, save_inputs=(0, 1),
                    save_output=True, dtype_check=unsupported("hypot_cpu", *_INTEGRAL, *COMPLEX),
                    doc="sqrt(a**2 + b**2) without overflow")


def _logaddexp_kernel(xp, a, b):
    try:
        return xp.logaddexp(a, b)
    except TypeError:  # complex operands: NumPy has no loop for them
        big = xp.where(xp.real(a) >= xp.real(b), a, b)
        small = xp.where(xp.real(a) >= xp.real(b), b, a)
        return big + xp.log1p(xp.exp(small - big))


def _logaddexp_vjp(ctx, grad):
    a, b = ctx.inputs
    return _grads_or_none(ctx, lambda: grad / conj(1 + (b - a).exp()),
                          lambda: grad / conj(1 + (a - b).exp()))


LOGADDEXP = elementwise("logaddexp", _logaddexp_kernel, _logaddexp_vjp, save_inputs=(0, 1),
                        dtype_check=unsupported("logaddexp_cpu", *_INTEGRAL),
                        doc="log(exp(a) + exp(b)), stable")


def _logaddexp2_vjp(ctx, grad):
    a, b = ctx.inputs
    return _grads_or_none(ctx, lambda: grad / (1 + (b - a).exp2()),
                          lambda: grad / (1 + (a - b).exp2()))


LOGADDEXP2 = elementwise("logaddexp2", ufunc_kernel("logaddexp2"), _logaddexp2_vjp,
                         save_inputs=(0, 1),
                         dtype_check=unsupported("logaddexp2_cpu", *_INTEGRAL, *COMPLEX),
                         doc="log2(2**a + 2**b), stable")


def _copysign_vjp(ctx, grad):
    a = ctx.inputs[0]
    ma, mb = _metas(ctx)
    grad_a = None
    if ma is not None:  # d/da |a| * sign(b) = out / a, taken as 0 at a == 0 (PyTorch)
        ratio = ctx.output / a
        grad_a = unbroadcast(grad * where(a == 0, zeros_like(ratio), ratio), ma)
    return grad_a, zeros_for(mb, grad) if mb is not None else None


COPYSIGN = elementwise("copysign", ufunc_kernel("copysign"), _copysign_vjp,
                       Promotion.INT_TO_FLOAT, save_inputs=(0,), save_output=True,
                       dtype_check=unsupported("copysign_cpu", *COMPLEX),
                       doc="|a| with the sign (bit) of b")


def _xlogy_kernel(xp, x, y):
    if hasattr(y, "dtype"):
        out = x * xp.log(y)
        zero = (x == 0) & ~xp.isnan(y)  # xlogy(0, nan) is nan
    else:  # a Python number: keep it weak, so the tensor operand's dtype is kept
        out = x * (math.log(y) if y > 0 else -math.inf if y == 0 else math.nan)
        zero = (x == 0) & (not (isinstance(y, float) and math.isnan(y)))
    return xp.where(zero, 0, out)


def _xlogy_vjp(ctx, grad):
    x, y = ctx.inputs

    def grad_x():
        g = call(XLOGY, grad, y)
        return where((x == 0) & (y <= 0), zeros_like(g), g)

    return _grads_or_none(ctx, grad_x, lambda: grad * x / y)


XLOGY = elementwise("xlogy", _xlogy_kernel, _xlogy_vjp, Promotion.INT_TO_FLOAT,
                    save_inputs=(0, 1), dtype_check=unsupported("xlogy_cpu", *COMPLEX),
                    doc="x * log(y), 0 where x == 0 (unless y is NaN)")


def _fminmax_vjp(a_wins):
    def vjp(ctx, grad):
        a, b = ctx.inputs
        wins = a_wins(a, b) | b.isnan()  # NaN loses; ties go to a (PyTorch)
        zero = zeros_like(grad)
        return _grads_or_none(ctx, lambda: where(wins, grad, zero),
                              lambda: where(wins, zero, grad))

    return vjp


FMAX = elementwise("fmax", ufunc_kernel("fmax"), _fminmax_vjp(lambda a, b: a >= b),
                   save_inputs=(0, 1), dtype_check=raises(
                       RuntimeError, "fmax not implemented for complex tensors.", COMPLEX),
                   doc="elementwise max ignoring NaN")
FMIN = elementwise("fmin", ufunc_kernel("fmin"), _fminmax_vjp(lambda a, b: a <= b),
                   save_inputs=(0, 1), dtype_check=raises(
                       RuntimeError, "fmin not implemented for complex tensors.", COMPLEX),
                   doc="elementwise min ignoring NaN")
GCD = elementwise("gcd", ufunc_kernel("gcd"),
                  dtype_check=unsupported("gcd_cpu", dtypes.bool_, *_FLOATS, *COMPLEX),
                  doc="greatest common divisor (integers)")
LCM = elementwise("lcm", ufunc_kernel("lcm"),
                  dtype_check=unsupported("lcm_cpu", dtypes.bool_, *_FLOATS, *COMPLEX),
                  doc="least common multiple (integers)")
NEXTAFTER = elementwise("nextafter", ufunc_kernel("nextafter"),
                        dtype_check=unsupported("nextafter_cpu", *_INTEGRAL, *COMPLEX),
                        doc="the next float after a towards b (not differentiable)")
