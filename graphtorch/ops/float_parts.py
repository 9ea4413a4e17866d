"""`frexp`: a float's mantissa in [0.5, 1) (sign kept) and its power-of-two exponent.

One primitive with two outputs, as ATen's frexp: the mantissa keeps the input's dtype, the
exponent is int32 (0 for zeros, infinities and NaN, as C's frexp gives). Only the mantissa
is differentiable: d mantissa / d x = 2 ** -exponent (PyTorch's FrexpBackward0).
"""

from __future__ import annotations

from .. import dtypes
from .registry import Category, OpDef, TensorMeta, register


def _frexp_kernel(xp, a):
    if a.dtype.kind != "f" and "bfloat16" not in a.dtype.name:
        raise ValueError("frexp needs a float input")  # infer gives PyTorch's message
    wide = a.dtype.itemsize < 4  # float16 / bfloat16: NumPy's frexp wants a native float
    mantissa, exponent = xp.frexp(a.astype(xp.float32) if wide else a)
    return mantissa.astype(a.dtype, copy=False), exponent.astype(xp.int32, copy=False)


def _frexp_infer(a):
    if not a.dtype.is_floating_point:
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    return TensorMeta(a.shape, a.dtype, a.device), TensorMeta(a.shape, dtypes.int32, a.device)


def _frexp_vjp(ctx, grad_mantissa, grad_exponent=None):
    return (grad_mantissa / ctx.outputs[1].exp2(),)


FREXP = register(OpDef("frexp", Category.OPAQUE, _frexp_kernel, _frexp_infer, _frexp_vjp,
                       save_output=(1,), num_outputs=2,
                       doc="(mantissa, int32 exponent) with input = mantissa * 2 ** exponent"))
