"""Public elementwise math: `gt.add`, `gt.exp`, ..., Tensor operators and in-place twins."""

from __future__ import annotations

from .. import dtypes
from ..dtypes import scalar_type_name
from ..ops import elementwise as elementwise_ops
from ..ops import unary_math as unary_math_ops
from ..ops.dispatch import binary_operator, call, call_inplace, meta_of
from ..ops.elementwise import promote_operands
from ..ops.registry import REGISTRY
from ..ops.shape_rules import split_operands
from ..tensor import Tensor
from . import shape
from ._wrap import (
    SCALAR_TYPES,
    accepts_out,
    as_operand,
    binary,
    check_tensor,
    finish,
    int_scalar_for,
    name_as,
    unary,
)
from .creation import tensor
from .linalg_basic import matmul
from .pointwise_extra import _CPP_NAMES

__all__ = []  # filled below: every name defined through _export


def _export(name, fn, method=True):
    """Make `fn` the public function `name` (`method`: also `Tensor.name`, which
    graphtorch/tensor_methods.py binds; the flag only documents that here)."""
    globals()[name] = fn
    __all__.append(name)


# --- binary arithmetic -------------------------------------------------------------------

def add(input, other, *, alpha=1, out=None):
    """input + alpha * other, with broadcasting and PyTorch's type promotion."""
    input, other = as_operand(input), as_operand(other)
    return finish(call(elementwise_ops.ADD, input, other, alpha=alpha) if alpha != 1
                  else call(elementwise_ops.ADD, input, other), out)


def add_(self, other, *, alpha=1):
    other = as_operand(other)
    return call_inplace(elementwise_ops.ADD, self, other, alpha=alpha) if alpha != 1 else \
        call_inplace(elementwise_ops.ADD, self, other)


_SUB_ONE_BOOL = ("Subtraction, the `-` operator, with a bool tensor is not supported. If you "
                 "are trying to invert a mask, use the `~` or `logical_not()` operator instead.")


def _is_bool(x) -> bool:
    return type(x) is bool or isinstance(x, Tensor) and x._data.dtype.kind == "b"


def check_sub_operands(a, b):
    """PyTorch rejects sub with exactly one bool operand (tensor or Python bool). The op's
    dtype_check sees only the promoted dtype, so this runs here, where the operands are
    known; two bools are left to the dtype_check (another message)."""
    if _is_bool(a) is not _is_bool(b):
        raise RuntimeError(_SUB_ONE_BOOL)


def _maybe_check_sub(a, b):
    # Operands of one tensor dtype cannot mix bool with non-bool: skip the check then.
    if type(a) is not Tensor or type(b) is not Tensor or a._data.dtype is not b._data.dtype:
        check_sub_operands(a, b)


def sub(input, other, *, alpha=1, out=None):
    """input - alpha * other."""
    input, other = as_operand(input), as_operand(other)
    if type(input) is not Tensor or type(other) is not Tensor or \
            input._data.dtype is not other._data.dtype:  # (same-dtype tensors: no check)
        check_sub_operands(input, other)
    return finish(call(elementwise_ops.SUB, input, other, alpha=alpha) if alpha != 1
                  else call(elementwise_ops.SUB, input, other), out)


def sub_(self, other, *, alpha=1):
    """In-place self -= alpha * other."""
    other = as_operand(other)
    _maybe_check_sub(self, other)
    return call_inplace(elementwise_ops.SUB, self, other, alpha=alpha) if alpha != 1 else \
        call_inplace(elementwise_ops.SUB, self, other)


def div(input, other, *, rounding_mode=None, out=None):
    """Division; `rounding_mode` None (true), "trunc" or "floor"."""
    op = _DIV_MODES.get(rounding_mode)
    if op is None and rounding_mode not in _DIV_MODES:
        raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' "
                           f"but found '{rounding_mode}'")
    return finish(call(op, as_operand(input), as_operand(other)), out)


def div_(self, other, *, rounding_mode=None):
    return call_inplace(_DIV_MODES[rounding_mode], self, as_operand(other))


_DIV_MODES = {None: elementwise_ops.DIV, "trunc": elementwise_ops.TRUNC_DIVIDE,
              "floor": elementwise_ops.FLOOR_DIVIDE}

for _name, _fn in [("add", add), ("add_", add_), ("sub", sub), ("sub_", sub_), ("div", div),
                   ("div_", div_)]:
    _export(_name, _fn)

_BINARY = {
    "mul": elementwise_ops.MUL, "pow": elementwise_ops.POW, "remainder": elementwise_ops.REMAINDER,
    "fmod": elementwise_ops.FMOD,
    "maximum": elementwise_ops.MAXIMUM, "minimum": elementwise_ops.MINIMUM,
    "atan2": elementwise_ops.ATAN2,
    "floor_divide": elementwise_ops.FLOOR_DIVIDE, "eq": REGISTRY["eq"], "ne": REGISTRY["ne"],
    "lt": REGISTRY["lt"], "le": REGISTRY["le"], "gt": REGISTRY["gt"], "ge": REGISTRY["ge"],
    "logical_and": REGISTRY["logical_and"], "logical_or": REGISTRY["logical_or"],
    "logical_xor": REGISTRY["logical_xor"], "bitwise_and": REGISTRY["bitwise_and"],
    "bitwise_or": REGISTRY["bitwise_or"], "bitwise_xor": REGISTRY["bitwise_xor"],
    "bitwise_left_shift": REGISTRY["bitwise_left_shift"],
    "bitwise_right_shift": REGISTRY["bitwise_right_shift"],
}
# No Scalar overload in PyTorch: `gt.maximum(t, 2)` is a TypeError, as there.
_TENSOR_ONLY = {"maximum", "minimum", "atan2", "logical_and", "logical_or", "logical_xor"}
for _name, _op in _BINARY.items():
    _fn, _fn_ = binary(_op, _name, tensor_only=_name in _TENSOR_ONLY)
    _export(_name, _fn)
    _export(_name + "_", _fn_)


def _unsigned_negative_power(base, exponent) -> bool:
    """uint8 ** negative int: dispatch wraps the int into uint8 before the kernel sees it,
    so PyTorch's error is raised here."""
    return type(exponent) is int and exponent < 0 and isinstance(base, Tensor) and \
        base._data.dtype.kind == "u"


def _with_power_check(fn):
    def checked(input, exponent, *args, **kwargs):
        if _unsigned_negative_power(input, exponent):
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        return fn(input, exponent, *args, **kwargs)

    checked.__name__, checked.__doc__ = fn.__name__, fn.__doc__
    return checked


pow = _with_power_check(pow)
pow_ = _with_power_check(globals()["pow_"])

# PyTorch's aliases.
for _alias, _target in [("multiply", "mul"), ("divide", "div"), ("subtract", "sub"),
                        ("true_divide", "div"), ("greater", "gt"), ("greater_equal", "ge"),
                        ("less", "lt"), ("less_equal", "le"), ("not_equal", "ne"),
                        ("arctan2", "atan2"), ("float_power", None)]:
    if _target is None:
        continue
    _export(_alias, globals()[_target])
    _export(_alias + "_", globals()[_target + "_"])


def float_power(input, exponent, *, out=None):
    """input ** exponent computed in float64 (complex128 for complex)."""
    input = as_operand(input)
    exponent = as_operand(exponent)
    target = dtypes.complex128 if any(
        isinstance(x, Tensor) and x.is_complex() or isinstance(x, complex)
        for x in (input, exponent)) else dtypes.float64
    if isinstance(input, Tensor):
        input = input.to(target)
    if isinstance(exponent, Tensor):
        exponent = exponent.to(target)
    return finish(call(elementwise_ops.POW, input, exponent), out)


_export("float_power", float_power)


# --- unary math --------------------------------------------------------------------------

_UNARY = {
    "exp": unary_math_ops.EXP, "exp2": unary_math_ops.EXP2, "expm1": unary_math_ops.EXPM1,
    "log": unary_math_ops.LOG, "log2": unary_math_ops.LOG2,
    "log10": unary_math_ops.LOG10, "log1p": unary_math_ops.LOG1P, "sqrt": unary_math_ops.SQRT,
    "rsqrt": unary_math_ops.RSQRT,
    "reciprocal": unary_math_ops.RECIPROCAL, "sin": unary_math_ops.SIN, "cos": unary_math_ops.COS,
    "tan": unary_math_ops.TAN, "asin": unary_math_ops.ASIN,
    "acos": unary_math_ops.ACOS, "atan": unary_math_ops.ATAN, "sinh": unary_math_ops.SINH,
    "cosh": unary_math_ops.COSH, "tanh": unary_math_ops.TANH,
    "asinh": unary_math_ops.ASINH, "acosh": unary_math_ops.ACOSH, "atanh": unary_math_ops.ATANH,
    "sigmoid": unary_math_ops.SIGMOID, "erf": unary_math_ops.ERF,
    "erfc": unary_math_ops.ERFC, "erfinv": unary_math_ops.ERFINV, "floor": unary_math_ops.FLOOR,
    "ceil": unary_math_ops.CEIL, "trunc": unary_math_ops.TRUNC,
    "frac": unary_math_ops.FRAC, "sign": unary_math_ops.SIGN, "neg": unary_math_ops.NEG,
    "abs": unary_math_ops.ABS, "relu": unary_math_ops.RELU,
    "logical_not": elementwise_ops.LOGICAL_NOT, "bitwise_not": elementwise_ops.BITWISE_NOT,
    "isnan": unary_math_ops.ISNAN,
    "isinf": unary_math_ops.ISINF, "isfinite": unary_math_ops.ISFINITE, "conj": unary_math_ops.CONJ,
}
for _name, _op in _UNARY.items():
    _fn, _fn_ = unary(_op, _name)
    _export(_name, _fn)
    if _name not in ("isnan", "isinf", "isfinite", "conj"):
        _export(_name + "_", _fn_)

for _alias, _target in [("arcsin", "asin"), ("arccos", "acos"), ("arctan", "atan"),
                        ("arcsinh", "asinh"), ("arccosh", "acosh"), ("arctanh", "atanh"),
                        ("negative", "neg"), ("absolute", "abs"), ("fix", "trunc")]:
    _export(_alias, globals()[_target])
    _export(_alias + "_", globals()[_target + "_"])


def round(input, *, decimals=0, out=None):
    """Round half to even; `decimals` places."""
    check_tensor(input, "round")
    return finish(call(unary_math_ops.ROUND, input, decimals=decimals) if decimals
                  else call(unary_math_ops.ROUND, input), out)


def round_(input, *, decimals=0):
    return call_inplace(unary_math_ops.ROUND, input, decimals=decimals) if decimals else \
        call_inplace(unary_math_ops.ROUND, input)


def square(input, *, out=None):
    """input ** 2 (PyTorch records it as pow)."""
    return finish(call(elementwise_ops.POW, input, 2), out)


def square_(input):
    return call_inplace(elementwise_ops.POW, input, 2)


def nan_to_num(input, nan=0.0, posinf=None, neginf=None, *, out=None):
    """Replace NaN and infinities with finite numbers."""
    return finish(call(unary_math_ops.NAN_TO_NUM, input, nan=nan, posinf=posinf, neginf=neginf),
                  out)


def nan_to_num_(input, nan=0.0, posinf=None, neginf=None):
    return call_inplace(unary_math_ops.NAN_TO_NUM, input, nan=nan, posinf=posinf, neginf=neginf)


def where(condition, input=None, other=None, *, out=None):
    """condition ? input : other, broadcasting all three (one argument: nonzero indices)."""
    if input is None and other is None:
        return condition.nonzero(as_tuple=True)
    if isinstance(condition, Tensor) and condition._data.dtype.kind != "b":
        if condition._data.dtype.name != "uint8":  # PyTorch still accepts uint8 masks

            raise RuntimeError(f"where expected condition to be a boolean tensor, but got a "
                               f"tensor with dtype {scalar_type_name(condition._data.dtype)}")
        condition = condition.bool()
    input, other = as_operand(input), as_operand(other)
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        input = tensor(input)
    input, other = promote_operands(input, other)
    return finish(call(elementwise_ops.WHERE, condition, input, other), out)


def clamp(input, min=None, max=None, *, out=None):
    """Clamp to [min, max]; bounds are numbers or tensors."""
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        result = input
        if min is not None:
            result = maximum(result, min)  # noqa: F821 (defined by _export above)
        if max is not None:
            result = minimum(result, max)  # noqa: F821
        return finish(result, out)
    try:  # bounds may promote the input: CLAMP sees them as attributes, dispatch does not
        promote = input._data.dtype.kind != "f" or type(min) is complex or type(max) is complex
    except AttributeError:
        check_tensor(input, "clamp")
        raise
    if promote:
        target = _clamp_dtype(input, min, max)
        if target is not None:
            input = input.to(target)
        min, max = int_scalar_for(input._data.dtype, min), int_scalar_for(input._data.dtype, max)
    return finish(call(elementwise_ops.CLAMP, input, min=min, max=max), out)


def clamp_(input, min=None, max=None):
    """In-place clamp to [min, max]."""
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        return input.copy_(clamp(input, min, max))
    target = _clamp_dtype(input, min, max, inplace=True)
    if target is not None:
        raise RuntimeError(f"result type {scalar_type_name(target)} can't be cast to the desired "
                           f"output type {_CPP_NAMES[input.dtype.name]}")
    min, max = int_scalar_for(input._data.dtype, min), int_scalar_for(input._data.dtype, max)
    return call_inplace(elementwise_ops.CLAMP, input, min=min, max=max)


def _clamp_dtype(input, min, max, inplace=False):
    """The dtype PyTorch clamps in when Python-number bounds promote `input` (an int tensor
    with a float bound gives a float result), or None to keep input's dtype. CLAMP takes
    its bounds as attributes, which dispatch does not promote with."""
    if input._data.dtype.kind == "f" and type(min) is not complex and type(max) is not complex:
        return None

    bounds = [v for v in (min, max) if v is not None]
    if not bounds:
        return None  # the op raises PyTorch's error
    target = dtypes.result_type(*split_operands([meta_of(input), *bounds]))
    if target.is_complex and not inplace:
        raise NotImplementedError("clamp is not supported for complex types")
    if target is dtypes.bool_:
        which = "clamp" if len(bounds) == 2 else "clamp_min" if min is not None else "clamp_max"
        raise NotImplementedError(f'"{which}_scalar_cpu" not implemented for \'Bool\'')
    return None if target is input.dtype else target


@accepts_out
def clamp_min(input, min):
    return clamp(input, min=min)


@accepts_out
def clamp_max(input, max):
    return clamp(input, max=max)


def lerp(input, end, weight, *, out=None):
    """input + weight * (end - input)."""
    name = "LerpBackward1" if isinstance(weight, Tensor) else "LerpBackward0"
    return finish(name_as(input + weight * (end - input), name), out)


for _name in ("round", "round_", "square", "square_", "nan_to_num", "nan_to_num_",
              "clamp", "clamp_", "clamp_min", "clamp_max", "lerp"):
    _export(_name, globals()[_name])
for _alias, _target in [("clip", "clamp"), ("clip_", "clamp_")]:
    _export(_alias, globals()[_target])


def real_part(self):
    """`Tensor.real`: a view of a complex tensor's real parts (writes reach the tensor);
    a real tensor itself."""
    if not self.is_complex():
        return self
    return shape.select(shape.view_as_real(self), -1, 0)


def imag_part(self):
    """`Tensor.imag`: a view of a complex tensor's imaginary parts."""
    if not self.is_complex():
        raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")
    return shape.select(shape.view_as_real(self), -1, 1)



# --- operators ---------------------------------------------------------------------------


def operator_method(op):
    """`Tensor.__add__`-style method running `op` (self first)."""
    return binary_operator(op, as_operand)


def reflected_operator_method(op):
    """`Tensor.__radd__`-style method running `op` (self second)."""
    def method(self, other):
        if type(other) is not Tensor and _not_an_operand(other):
            return NotImplemented
        return call(op, as_operand(other), self)
    return method


def inplace_operator_method(op):
    """`Tensor.__iadd__`-style method running `op` in place."""
    def method(self, other):
        if type(other) is not Tensor and _not_an_operand(other):
            return NotImplemented
        return call_inplace(op, self, as_operand(other))
    return method


def _not_an_operand(other) -> bool:
    """None and strings: PyTorch's operators return NotImplemented for them, so `t == None`
    is False and `t + None` raises Python's TypeError (`dispatch.binary_operator` too).
    Callers ask only for operands that are neither tensors nor Python numbers."""
    return other is None or isinstance(other, str)


def subtract_method(self, other):
    if type(other) is Tensor:
        if other._data.dtype is not self._data.dtype:
            check_sub_operands(self, other)
    else:
        if type(other) not in SCALAR_TYPES:
            if _not_an_operand(other):
                return NotImplemented
            other = as_operand(other)
        if type(other) is bool or self._data.dtype.kind == "b":
            check_sub_operands(self, other)
    return call(elementwise_ops.SUB, self, other)


def power_method(self, other):
    if type(other) is not Tensor:
        if type(other) not in SCALAR_TYPES:
            if _not_an_operand(other):
                return NotImplemented
            other = as_operand(other)
        elif type(other) is int and other < 0 and self._data.dtype.kind == "u":
            raise RuntimeError("Integers to negative integer powers are not allowed.")
    return call(elementwise_ops.POW, self, other)


def reflected_subtract_method(self, other):
    if type(other) not in SCALAR_TYPES:
        if _not_an_operand(other):
            return NotImplemented
        other = as_operand(other)
        _maybe_check_sub(other, self)
    elif type(other) is bool or self._data.dtype.kind == "b":
        check_sub_operands(other, self)
    return call(elementwise_ops.SUB, other, self)


def inplace_subtract_method(self, other):
    return NotImplemented if _not_an_operand(other) else sub_(self, other)


def inplace_power_method(self, other):
    return NotImplemented if _not_an_operand(other) else pow_(self, other)


# sub and pow check their operands here (see check_sub_operands, _unsigned_negative_power).


def _matmul_method(self, other):
    return NotImplemented if _not_an_operand(other) else matmul(self, other)


def _rmatmul_method(self, other):
    return NotImplemented if _not_an_operand(other) else matmul(as_operand(other), self)


def negative_method(self):
    """`-self`."""
    return call(unary_math_ops.NEG, self)


def positive_method(self):
    """`+self`: self."""
    return self


def absolute_method(self):
    """`abs(self)`."""
    return call(unary_math_ops.ABS, self)


def _invert(self):
    if self._data.dtype.kind not in "biu":
        raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type "
                        "tensors")
    return call(elementwise_ops.BITWISE_NOT, self)



def _where_method(self, condition, other):
    """`self.where(condition, other)`: self where condition holds, else other."""
    return where(condition, self, other)


_export("where", where, method=False)
