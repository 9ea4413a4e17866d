"""Elementwise special functions of torch.special that graphtorch had no op for: entr,
xlog1py, erfcx, the modified Bessel functions i0/i0e/i1/i1e, ndtri and zeta.

Kernels (ops/special.py) compute in float64 and cast back, following Cephes' algorithms as
PyTorch does; each vjp is PyTorch's formula (derivatives.yaml) in graphtorch ops.
"""

from __future__ import annotations

import math

from .binary_math import _grads_or_none
from .dispatch import call
from .elementwise import COMPLEX, elementwise, unsupported, where
from .grad_utils import unbroadcast
from .registry import Promotion
from .special import bessel_i_kernel, erfcx_kernel, ndtri_kernel, zeta_kernel
from .unary_math import float_op

FLOAT = Promotion.INT_TO_FLOAT


def _entr_kernel(xp, a):
    positive = a > 0
    with xp.errstate(divide="ignore", invalid="ignore"):
        inner = -a * xp.log(xp.where(positive, a, 1))
    out = xp.where(positive, inner, xp.where(a == 0, 0, -xp.inf))
    return xp.where(xp.isnan(a), a, out).astype(a.dtype, copy=False)


ENTR = float_op("entr", _entr_kernel, lambda g, x: g * -(x.log() + 1),
                dtype_check=unsupported("entr_cpu", *COMPLEX), backward_name="SpecialEntrBackward0",
                doc="-x log x for x > 0, 0 at 0, -inf below")


def _xlog1py_kernel(xp, x, y):
    with xp.errstate(divide="ignore", invalid="ignore"):
        if hasattr(y, "dtype"):
            out = x * xp.log1p(y)
            zero = (x == 0) & ~xp.isnan(y)
        else:  # a Python number stays weak: the tensor operand's dtype is kept
            out = x * (math.log1p(y) if y > -1 else -math.inf if y == -1 else math.nan)
            zero = (x == 0) & (not (isinstance(y, float) and math.isnan(y)))
    return xp.where(zero, 0, out)


def _xlog1py_vjp(ctx, grad):
    x, y = ctx.inputs
    log1p_y = y.log1p() if hasattr(y, "log1p") else math.log1p(y)
    return _grads_or_none(ctx, lambda: grad * log1p_y, lambda: grad * x / (y + 1))


XLOG1PY = elementwise("xlog1py", _xlog1py_kernel, _xlog1py_vjp, FLOAT, save_inputs=(0, 1),
                      dtype_check=unsupported("xlog1py_cpu", *COMPLEX),
                      backward_name="SpecialXlog1PyBackward0",
                      doc="x * log1p(y), 0 where x == 0 (unless y is NaN)")


def _erfcx_vjp(ctx, grad):
    x, out = ctx.inputs[0], ctx.output
    return (grad * (2 * x * out - 2 / math.sqrt(math.pi)),)


ERFCX = elementwise("erfcx", erfcx_kernel, _erfcx_vjp, FLOAT, save_inputs=(0,),
                    save_output=True, dtype_check=unsupported("erfcx_cpu", *COMPLEX),
                    backward_name="SpecialErfcxBackward0", doc="exp(x^2) erfc(x)")


def _bessel(name, order, scaled, grad_formula, backward_name):
    return elementwise(name, bessel_i_kernel(order, scaled), grad_formula, FLOAT,
                       save_inputs=(0,), save_output=True,
                       dtype_check=unsupported(f"{name}_vml_cpu" if name == "i0" else
                                               f"{name}_cpu", *COMPLEX),
                       backward_name=backward_name,
                       doc=f"modified Bessel function I{order}" + (" times exp(-|x|)"
                                                                    if scaled else ""))


def _i0_vjp(ctx, grad):
    return (grad * call(I1, ctx.inputs[0]),)


def _i0e_vjp(ctx, grad):
    x = ctx.inputs[0]
    return (grad * (call(I1E, x) - x.sign() * ctx.output),)


def _i1_vjp(ctx, grad):
    x = ctx.inputs[0]
    # I1(x) / x -> 1/2 at 0, where the formula divides by zero
    return (grad * where(x == 0, 0.5, call(I0, x) - ctx.output / x),)


def _i1e_vjp(ctx, grad):
    x = ctx.inputs[0]
    return (grad * where(x == 0, 0.5, call(I0E, x) - ctx.output * (x.sign() + 1 / x)),)


I0 = _bessel("i0", 0, False, _i0_vjp, "I0Backward0")
I0E = _bessel("i0e", 0, True, _i0e_vjp, "SpecialI0EBackward0")
I1 = _bessel("i1", 1, False, _i1_vjp, "SpecialI1Backward0")
I1E = _bessel("i1e", 1, True, _i1e_vjp, "SpecialI1EBackward0")


def _ndtri_vjp(ctx, grad):
    out = ctx.output
    return (grad * math.sqrt(2 * math.pi) * (out * out / 2).exp(),)


NDTRI = elementwise("ndtri", ndtri_kernel, _ndtri_vjp, FLOAT, save_output=True,
                    dtype_check=unsupported("ndtri_cpu", *COMPLEX),
                    backward_name="SpecialNdtriBackward0",
                    doc="the inverse of the standard normal CDF")


def _zeta_vjp(ctx, grad):
    x, q = ctx.inputs
    meta_x, meta_q = ctx.needed_input_metas()
    if meta_x is not None:
        raise NotImplementedError("the derivative for 'zeta' is not implemented.")
    return None, unbroadcast(grad * -x * call(ZETA, x + 1, q), meta_q)


def _zeta_name(metas):
    x, q = metas
    return "SpecialZetaBackward0" if x is not None and q is not None else \
        "SpecialZetaBackward1" if x is None else "SpecialZetaBackward2"


ZETA = elementwise("zeta", zeta_kernel, _zeta_vjp, FLOAT, save_inputs=(0, 1),
                   dtype_check=unsupported("zeta_cpu", *COMPLEX), backward_name=_zeta_name,
                   doc="the Hurwitz zeta function: sum over k >= 0 of (k + q)^-x")
