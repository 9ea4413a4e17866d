"""Fused pointwise helpers optimizers use: `addcmul`, `addcdiv` (and `_` twins), `lerp_`.

They are decompositions into registered elementwise ops (mul, div, add, sub, where, copy),
evaluated in PyTorch's order (`input + (value * t1) op t2`) so float results match its
kernels; autograd follows from the ops they are made of.
"""

from __future__ import annotations

from .. import dtypes
from ..ops import elementwise as elementwise_ops
from ..ops.dispatch import call, call_inplace
from ..tensor import Tensor
from ._wrap import as_operand, check_tensor, finish

__all__ = ["addcmul", "addcdiv"]

_ADDCDIV_INT_MESSAGE = (
    "Integer division with addcdiv is no longer supported, and in a future  release addcdiv "
    "will perform a true division of tensor1 and tensor2. The historic addcdiv behavior can "
    "be implemented as (input + value * torch.trunc(tensor1 / tensor2)).to(input.dtype) for "
    "integer inputs and as (input + value * tensor1 / tensor2) for float inputs. The future "
    "addcdiv behavior is just the latter implementation: (input + value * tensor1 / "
    "tensor2), for all dtypes.")

# C++ scalar type names PyTorch prints in dtype mismatch messages.
_CPP_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half",
              "bfloat16": "c10::BFloat16", "int64": "long int", "int32": "int",
              "int16": "short int", "int8": "signed char", "uint8": "unsigned char",
              "bool": "bool", "complex64": "c10::complex<float>",
              "complex128": "c10::complex<double>"}


def _term(fname, input, tensor1, tensor2, value, divide):
    """value * tensor1 (* or /) tensor2, with PyTorch's dtype rules for addcmul/addcdiv."""
    check_tensor(input, fname)
    check_tensor(tensor1, fname, "tensor1")
    check_tensor(tensor2, fname, "tensor2")
    int1 = tensor1.dtype.category <= dtypes.Category.INT
    int2 = tensor2.dtype.category <= dtypes.Category.INT
    if divide and int1 and int2:
        raise RuntimeError(_ADDCDIV_INT_MESSAGE)
    common = dtypes.promote_types(dtypes.promote_types(input.dtype, tensor1.dtype),
                                  tensor2.dtype)
    if common is dtypes.bool_:
        raise NotImplementedError(f'"{fname}_cpu_out" not implemented for \'Bool\'')
    if common.category == dtypes.Category.INT and isinstance(value, float):
        value = int(value)  # PyTorch casts the scalar to the integral computation type
    value = as_operand(value)
    # PyTorch's kernels evaluate `self + value * t1 * t2` left to right.
    scaled = tensor1 if value == 1 else call(elementwise_ops.MUL, tensor1, value)
    return call(elementwise_ops.DIV if divide else elementwise_ops.MUL, scaled, tensor2)


def addcmul(input, tensor1, tensor2, *, value=1, out=None):
    """input + value * tensor1 * tensor2, broadcasting all three."""
    term = _term("addcmul", input, tensor1, tensor2, value, False)
    return finish(call(elementwise_ops.ADD, input, term), out)


def addcmul_(self, tensor1, tensor2, *, value=1):
    """In-place addcmul: self += value * tensor1 * tensor2."""
    return call_inplace(elementwise_ops.ADD, self,
                        _term("addcmul", self, tensor1, tensor2, value, False))


def addcdiv(input, tensor1, tensor2, *, value=1, out=None):
    """input + value * tensor1 / tensor2 (true division; integer tensor1/tensor2 raise)."""
    term = _term("addcdiv", input, tensor1, tensor2, value, True)
    return finish(call(elementwise_ops.ADD, input, term), out)


def addcdiv_(self, tensor1, tensor2, *, value=1):
    """In-place addcdiv: self += value * tensor1 / tensor2."""
    return call_inplace(elementwise_ops.ADD, self,
                        _term("addcdiv", self, tensor1, tensor2, value, True))


def lerp_(self, end, weight):
    """In-place linear interpolation self += weight * (end - self), PyTorch's formula.

    Like PyTorch, weights with |w| >= 0.5 use ``end - (end - self) * (1 - w)``, which is
    exact at w = 1; smaller weights use ``self + w * (end - self)``.
    """
    check_tensor(end, "lerp_", "end")
    if end.dtype is not self.dtype:
        raise RuntimeError(f"expected dtype {_CPP_NAMES.get(self.dtype.name, self.dtype.name)} "
                           f"for `end` but got dtype "
                           f"{_CPP_NAMES.get(end.dtype.name, end.dtype.name)}")
    diff = call(elementwise_ops.SUB, end, self)
    if isinstance(weight, Tensor):
        small = weight.abs() < 0.5
        near = call(elementwise_ops.ADD, self, call(elementwise_ops.MUL, weight, diff))
        far = call(elementwise_ops.SUB, end,
                   call(elementwise_ops.MUL, diff, call(elementwise_ops.SUB, 1, weight)))
        return self.copy_(call(elementwise_ops.WHERE, small, near, far))
    weight = as_operand(weight)
    if abs(weight) < 0.5:
        return call_inplace(elementwise_ops.ADD, self, call(elementwise_ops.MUL, diff, weight))
    return self.copy_(call(elementwise_ops.SUB, end, call(elementwise_ops.MUL, diff, 1 - weight)))


