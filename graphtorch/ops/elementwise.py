"""Elementwise primitives: arithmetic, comparison, logic, bit ops, casts.

Each op is one `OpDef` row: kernel against `xp`, PyTorch's promotion kind, and a vjp
written with tensor ops. Unary math (exp, sin, ...) lives in `unary_math.py`.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..dtypes import scalar_type_name
from ..layout import inverse, preserved_order
from ..tensor import Tensor
from . import parallel_ufunc
from .dispatch import binary_operator, call, meta_of
from .factories import ones_like, zeros_like
from .grad_utils import conj, unbroadcast, zeros_for
from .registry import REGISTRY, Category, OpDef, Promotion, TensorMeta, register
from .shape_rules import broadcast_shapes, compute_dtype, elementwise_infer, split_operands

ELEMENTWISE = Category.ELEMENTWISE


def elementwise(name, kernel, vjp=None, promotion=Promotion.DEFAULT, save_inputs=(),
                save_output=False, dtype_check=None, backward_name="", doc="", ufunc="",
                saved_for=()):
    """Register an elementwise op whose shape rule is broadcasting + `promotion`. A kernel
    made by `ufunc_kernel` records its ufunc on the OpDef; `ufunc` names the ufunc of a
    kernel that adds only what the ufunc cannot take (add's `alpha`)."""
    args = ()
    if not ufunc and hasattr(kernel, "ufunc"):
        ufunc, args = kernel.ufunc, kernel.ufunc_args
    return register(OpDef(name, ELEMENTWISE, kernel, elementwise_infer(promotion, dtype_check),
                          vjp, promotion, save_inputs, save_output, dtype_check=dtype_check,
                          backward_name=backward_name, doc=doc, ufunc=ufunc, ufunc_args=args,
                          saved_for=saved_for))


def ufunc_kernel(ufunc: str, *args):
    """The kernel ``xp.<ufunc>(*inputs, *args)``: an op whose kernel is exactly one ufunc
    call, which in-place dispatch and the fused NumPy tier then call with ``out=``.

    >>> EXP = elementwise("exp", ufunc_kernel("exp"), ...)   # doctest: +SKIP
    """
    if not isinstance(getattr(np, ufunc, None), np.ufunc):
        raise TypeError(f"ufunc_kernel: numpy.{ufunc} is not a ufunc")

    def kernel(xp, *inputs):
        return getattr(xp, ufunc)(*inputs, *args)

    kernel.ufunc, kernel.ufunc_args = ufunc, args
    kernel.__name__ = kernel.__qualname__ = f"{ufunc}_kernel"
    return kernel


def no_bool(what):
    def check(dtype):
        if dtype is dtypes.bool_:
            return what
        return None

    return check


def integral_only(opname):
    def check(dtype):
        if dtype.category > dtypes.Category.INT:
            return f'"{opname}_cpu" not implemented for \'{scalar_type_name(dtype)}\''
        return None

    return check


COMPLEX = (dtypes.complex64, dtypes.complex128)


def unsupported(kernel_name, *bad):
    """A dtype_check giving PyTorch's '"kernel" not implemented for 'Type'' text for the
    dtypes in `bad` (dispatch raises NotImplementedError for it). A bound `dict.get`: no
    Python frame on the per-call path."""
    return {d: f'"{kernel_name}" not implemented for \'{scalar_type_name(d)}\'' for d in bad}.get


def raises(exc_type, message, bad):
    """A dtype_check that raises `exc_type(message)` itself for the dtypes in `bad` (for
    PyTorch messages whose type dispatch cannot tell from the text)."""
    bad = frozenset(bad)

    def check(dtype):
        if dtype in bad:
            raise exc_type(message)

    return check


def _metas(ctx):
    return ctx.input_metas


# --- arithmetic --------------------------------------------------------------------------

def _add_vjp(ctx, grad):
    # metas of inputs that do not require grad are None: their gradient is never computed
    a, b = ctx.needed_input_metas()
    alpha = ctx.attrs.get("alpha", 1)
    return unbroadcast(grad, a), unbroadcast(grad if alpha == 1 else grad * alpha, b) \
        if b is not None else None


def _scaled(xp, a, b, alpha):
    """alpha * b for add/sub, computed in the operands' dtype: for bool, alpha is a truth
    value (PyTorch: True + True * 2 is True), not an integer that widens the result."""
    if alpha == 1:
        return b
    if getattr(a, "dtype", None) == np.bool_:
        return xp.logical_and(b, bool(alpha))
    return b * alpha


ADD = elementwise(
    "add", lambda xp, a, b, alpha=1: xp.add(a, _scaled(xp, a, b, alpha)), _add_vjp,
    doc="a + alpha * b", ufunc="add")


def _sub_vjp(ctx, grad):
    a, b = ctx.needed_input_metas()
    alpha = ctx.attrs.get("alpha", 1)
    return unbroadcast(grad, a), unbroadcast(-grad if alpha == 1 else grad * -alpha, b) \
        if b is not None else None


SUB = elementwise(
    "sub", lambda xp, a, b, alpha=1: xp.subtract(a, _scaled(xp, a, b, alpha)), _sub_vjp,
    ufunc="subtract",
    dtype_check=no_bool("Subtraction, the `-` operator, with two bool tensors is not "
                        "supported. Use the `^` or `logical_xor()` operator instead."),
    # PyTorch records `1 - x` as rsub(x, 1): its Scalar overload
    backward_name=lambda metas: "RsubBackward1" if metas[0] is None else "SubBackward0",
    doc="a - alpha * b")


def _mul_vjp(ctx, grad):
    a, b = ctx.inputs
    ma, mb = ctx.needed_input_metas()
    # _multiply is `grad * conj(b)` without the operator's frame (a hot path)
    return (unbroadcast(_multiply(grad, conj(b)), ma) if ma is not None else None,
            unbroadcast(_multiply(grad, conj(a)), mb) if mb is not None else None)


def _mul_kernel(xp, a, b):
    return xp.multiply(a, b)  # bool * bool stays bool (logical and), as in PyTorch


MUL = elementwise("mul", _mul_kernel, _mul_vjp, save_inputs=(0, 1), doc="a * b",
                  ufunc="multiply", saved_for=((0, (1,)), (1, (0,))))
_multiply = binary_operator(MUL, lambda operand: operand)  # `Tensor.__mul__`, as a function


def _div_vjp(ctx, grad):
    a, b = ctx.inputs
    ma, mb = ctx.needed_input_metas()
    grad_a = unbroadcast(grad / conj(b), ma) if ma is not None else None
    grad_b = unbroadcast(-grad * conj(a / (b * b)), mb) if mb is not None else None
    return grad_a, grad_b


DIV = elementwise("div", lambda xp, a, b: xp.true_divide(a, b), _div_vjp,
                  Promotion.INT_TO_FLOAT, save_inputs=(0, 1), doc="true division a / b",
                  ufunc="true_divide", saved_for=((0, (1,)),))


def _zero_grads_vjp(ctx, grad):
    return tuple(zeros_for(m, grad) if m is not None else None for m in _metas(ctx))


def _check_integer_divisor(xp, a, b) -> bool:
    """Whether a, b divide as integers; raises PyTorch's RuntimeError for a zero divisor
    (integer division by zero has no value; PyTorch's CPU kernels refuse it)."""
    if not (_is_integral(a) and _is_integral(b)):
        return False
    if not (bool(xp.all(b != 0)) if hasattr(b, "shape") else b != 0):
        raise RuntimeError("ZeroDivisionError")
    return True


def _is_integral(x) -> bool:
    dtype = getattr(x, "dtype", None)
    return dtype.kind in "iub" if dtype is not None else isinstance(x, (int, np.integer))


def _in_float32_if_half(ufunc_name):
    """A kernel `xp.<ufunc_name>(a, b)` that computes float16 in float32 and rounds once,
    as PyTorch's CPU kernels do: the floor of a float16 quotient is off by a whole unit
    where NumPy's float16 loop rounds its intermediate steps."""
    def kernel(xp, a, b):
        _check_integer_divisor(xp, a, b)
        ufunc = getattr(xp, ufunc_name)
        half = getattr(a, "dtype", None) == np.float16
        if not half and getattr(b, "dtype", None) != np.float16:
            return ufunc(a, b)
        out_dtype = a.dtype if half else b.dtype
        wide = [x.astype(np.float32) if getattr(x, "dtype", None) == np.float16 else x
                for x in (a, b)]
        return ufunc(*wide).astype(out_dtype)
    return kernel


_floor_divide_kernel = _in_float32_if_half("floor_divide")


def _trunc_divide_kernel(xp, a, b):
    if _check_integer_divisor(xp, a, b):
        q = xp.floor_divide(a, b)
        fix = (q < 0) & (q * b != a)
        return q + fix.astype(q.dtype)
    return xp.trunc(xp.true_divide(a, b))


FLOOR_DIVIDE = elementwise("floor_divide", _floor_divide_kernel, _zero_grads_vjp,
                           dtype_check=unsupported("div_floor_cpu", dtypes.bool_, *COMPLEX),
                           backward_name="DivBackward2", doc="a // b rounded toward -inf")
TRUNC_DIVIDE = elementwise("trunc_divide", _trunc_divide_kernel, _zero_grads_vjp,
                           dtype_check=unsupported("div_trunc_cpu", dtypes.bool_, *COMPLEX),
                           backward_name="DivBackward2", doc="a / b rounded toward zero")


def _remainder_vjp(ctx, grad):
    a, b = ctx.inputs
    ma, mb = _metas(ctx)
    grad_b = unbroadcast(-grad * (a / b).floor(), mb) if mb is not None else None
    return unbroadcast(grad, ma), grad_b


def _remainder_kernel(xp, a, b):
    _check_integer_divisor(xp, a, b)
    return xp.remainder(a, b)


def _fmod_kernel(xp, a, b):
    _check_integer_divisor(xp, a, b)
    return xp.fmod(a, b)


REMAINDER = elementwise("remainder", _remainder_kernel, _remainder_vjp,
                        save_inputs=(0, 1),
                        dtype_check=unsupported("remainder_cpu", dtypes.bool_, *COMPLEX),
                        doc="Python-style modulo (sign of the divisor)")


def _fmod_vjp(ctx, grad):
    a, b = ctx.inputs
    ma, mb = _metas(ctx)
    grad_b = unbroadcast(-grad * (a / b).trunc(), mb) if mb is not None else None
    return unbroadcast(grad, ma), grad_b


FMOD = elementwise("fmod", _fmod_kernel, _fmod_vjp, save_inputs=(0, 1),
                   dtype_check=unsupported("fmod_cpu", dtypes.bool_, *COMPLEX),
                   doc="C-style modulo (sign of the dividend)")


def _pow_kernel(xp, a, b):
    dtype = getattr(a, "dtype", None)
    if dtype is None or dtype.kind in "iub":
        return _exact_pow(xp, a, b)
    if dtype.kind == "f" and dtype.itemsize >= 4 and type(b) in (int, float) and \
            b in _SMALL_POWERS:  # float16 stays on power: one rounding of a float32 result
        return _small_power(xp, a, b)
    return xp.power(a, b)


# Exponents PyTorch's CPU kernel strength-reduces to multiplies/sqrt for floating tensors
# (pow_tensor_scalar_optimized_kernel): NumPy takes its generic power loop for most of them,
# which for float32 `x ** 3` is ~20x slower than two multiplies.
_SMALL_POWERS = frozenset((2, 3, -2, 0.5, -0.5, -1))


def _small_power(xp, a, b):
    def run(ufunc, *args, out=None):  # large NumPy arrays: split over the thread pool
        if xp is np:
            return parallel_ufunc.apply(getattr(np, ufunc), args, out)
        return getattr(xp, ufunc)(*args, out=out)

    if b == 0.5:
        return run("sqrt", a)
    if b == -0.5:
        return run("reciprocal", run("sqrt", a))
    if b == -1:
        return run("reciprocal", a)
    out = run("multiply", a, a)
    if b == 2:
        return out
    into = out if getattr(out, "ndim", 0) else None  # a 0-d input gives a NumPy scalar
    if b == 3:
        return run("multiply", out, a, out=into)
    return run("reciprocal", out, out=into)


_BOOL_POW = "\"pow\" not implemented for 'Bool'"


def _exact_pow(xp, a, b):
    """Integer and bool powers with PyTorch's rules (NumPy raises on negative exponents)."""
    if getattr(b, "dtype", None) == bool:  # bool ** bool tensor: no kernel in PyTorch
        raise NotImplementedError(_BOOL_POW)
    if getattr(a, "dtype", None) == bool:  # bool tensor ** Python bool stays bool
        return a.copy() if b else xp.ones_like(a)
    if type(b) is int and b < 0 and hasattr(a, "dtype"):
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    if getattr(b, "dtype", None) is not None and b.dtype.kind == "i" and bool((b < 0).any()):
        # int ** negative int tensor: 1 for base 1, +-1 for base -1, else 0 (PyTorch)
        negative = b < 0
        out = xp.power(a, xp.where(negative, 0, b))
        odd = (b % 2) == 1
        at_negative = xp.where(a == 1, 1, xp.where(a == -1, xp.where(odd, -1, 1), 0))
        return xp.where(negative, at_negative, out).astype(out.dtype, copy=False)
    return xp.power(a, b)


def _pow_vjp(ctx, grad):
    a, b = ctx.inputs
    ma, mb = _metas(ctx)
    grad_a = grad_b = None
    if ma is not None:
        if mb is None and b == 0:
            grad_a = zeros_like(grad)
        else:
            grad_a = unbroadcast(grad * conj(b * a ** (b - 1)), ma)
    if mb is not None:
        # the result, recomputed: saving it would make in-place writes to x ** 2 illegal,
        # where PyTorch saves it only for an exponent that needs a gradient
        out = a ** b
        if ma is None:
            import math

            grad_b = unbroadcast(grad * conj(out * math.log(a)), mb) if a > 0 else \
                unbroadcast(grad * 0.0, mb)
        else:
            log_a = where((a == 0) & (b >= 0), zeros_like(a), a.log())
            grad_b = unbroadcast(grad * conj(out * log_a), mb)
    return grad_a, grad_b


_pow_promote = elementwise_infer(Promotion.DEFAULT)


def _pow_infer(a, b):
    out = _pow_promote(a, b)
    if out.dtype is dtypes.bool_ and isinstance(b, TensorMeta):
        raise NotImplementedError(_BOOL_POW)
    return out


def _pow_name(metas) -> str:
    """PyTorch's overloads: Tensor ** Scalar -> 0, Tensor ** Tensor -> 1, Scalar ** Tensor
    -> 2."""
    return "PowBackward2" if metas[0] is None else \
        "PowBackward0" if metas[1] is None else "PowBackward1"


POW = register(OpDef("pow", ELEMENTWISE, _pow_kernel, _pow_infer, _pow_vjp, Promotion.DEFAULT,
                     save_inputs=(0, 1), backward_name=_pow_name, doc="a ** b"))


def _minmax_vjp(pick_a):
    def vjp(ctx, grad):
        a, b = ctx.inputs
        ma, mb = _metas(ctx)
        tie = a == b
        wins = pick_a(a, b)
        half = grad / 2
        zero = zeros_like(grad)
        grad_a = where(tie, half, where(wins, grad, zero))
        grad_b = where(tie, half, where(wins, zero, grad))
        return (unbroadcast(grad_a, ma) if ma is not None else None,
                unbroadcast(grad_b, mb) if mb is not None else None)

    return vjp


MAXIMUM = elementwise("maximum", ufunc_kernel("maximum"),
                      _minmax_vjp(lambda a, b: a > b), save_inputs=(0, 1),
                      dtype_check=raises(RuntimeError,
                                         "maximum not implemented for complex tensors.", COMPLEX),
                      doc="elementwise max (NaN propagates)")
MINIMUM = elementwise("minimum", ufunc_kernel("minimum"),
                      _minmax_vjp(lambda a, b: a < b), save_inputs=(0, 1),
                      dtype_check=raises(RuntimeError,
                                         "minimum not implemented for complex tensors.", COMPLEX),
                      doc="elementwise min (NaN propagates)")


def _atan2_vjp(ctx, grad):
    a, b = ctx.inputs
    ma, mb = _metas(ctx)
    denom = a * a + b * b
    return (unbroadcast(grad * b / denom, ma) if ma is not None else None,
            unbroadcast(-grad * a / denom, mb) if mb is not None else None)


ATAN2 = elementwise("atan2", ufunc_kernel("arctan2"), _atan2_vjp,
                    Promotion.INT_TO_FLOAT, save_inputs=(0, 1),
                    dtype_check=unsupported("atan2_cpu", *COMPLEX), doc="atan(a / b) by quadrant")

# --- comparison and logic ----------------------------------------------------------------

for _name, _fn in [("eq", "equal"), ("ne", "not_equal"), ("lt", "less"),
                   ("le", "less_equal"), ("gt", "greater"), ("ge", "greater_equal")]:
    # Ordering is undefined for complex numbers (NumPy orders them lexicographically).
    elementwise(_name, ufunc_kernel(_fn),
                promotion=Promotion.ALWAYS_BOOL, doc=f"a {_fn.replace('_', ' ')} b",
                dtype_check=None if _name in ("eq", "ne") else unsupported(f"{_name}_cpu",
                                                                           *COMPLEX))

for _name in ("logical_and", "logical_or", "logical_xor"):
    elementwise(_name, ufunc_kernel(_name),
                promotion=Promotion.ALWAYS_BOOL)
LOGICAL_NOT = elementwise("logical_not", ufunc_kernel("logical_not"),
                          promotion=Promotion.ALWAYS_BOOL)
EQ, NE, LT, LE, GT, GE = (REGISTRY[n] for n in ("eq", "ne", "lt", "le", "gt", "ge"))
LOGICAL_AND, LOGICAL_OR, LOGICAL_XOR = (REGISTRY[n] for n in ("logical_and", "logical_or",
                                                               "logical_xor"))

for _name, _fn in [("bitwise_and", "bitwise_and"), ("bitwise_or", "bitwise_or"),
                   ("bitwise_xor", "bitwise_xor")]:
    elementwise(_name, ufunc_kernel(_fn),
                dtype_check=integral_only(_name))
BITWISE_AND, BITWISE_OR, BITWISE_XOR = (REGISTRY[n] for n in ("bitwise_and", "bitwise_or",
                                                               "bitwise_xor"))
BITWISE_NOT = elementwise("bitwise_not", ufunc_kernel("invert"),
                          dtype_check=integral_only("bitwise_not"))


def _shift_check(dtype):
    if dtype is dtypes.bool_ or dtype.category > dtypes.Category.INT:
        return f'"lshift_cpu" not implemented for \'{scalar_type_name(dtype)}\''
    return None


BITWISE_LEFT_SHIFT = elementwise("bitwise_left_shift", ufunc_kernel("left_shift"),
                                 dtype_check=_shift_check)
BITWISE_RIGHT_SHIFT = elementwise("bitwise_right_shift", ufunc_kernel("right_shift"),
                                  dtype_check=_shift_check)

# --- selection ---------------------------------------------------------------------------


def _where_infer(cond, a, b):
    if cond.dtype is not dtypes.bool_:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a "
                           f"tensor with dtype {scalar_type_name(cond.dtype)}")
    shapes = [m.shape for m in (cond, a, b) if isinstance(m, TensorMeta)]
    return TensorMeta(broadcast_shapes(*shapes), compute_dtype(Promotion.DEFAULT, [a, b]))


# Python scalar kinds that do not raise an array's dtype under NumPy 2 (NEP 50) or PyTorch.
_WEAK_SCALARS = {"f": (float, int, bool), "c": (complex, float, int, bool), "i": (int, bool),
                 "u": (int, bool), "b": (bool,)}


_MASK_INT = {4: np.int32, 8: np.int64}


def _where_else_zero(cond, a):
    """where(cond, a, 0) for float arrays of one shape, bit for bit, by masking a's bits:
    NumPy's where is ~9x slower than one ufunc pass (this is ReLU's backward)."""
    out = np.negative(cond, dtype=_MASK_INT[a.dtype.itemsize])  # 0 or all bits set
    np.bitwise_and(out, a.view(out.dtype), out=out)
    return out.view(a.dtype)


def _where_kernel(xp, cond, a, b):
    da, db = getattr(a, "dtype", None), getattr(b, "dtype", None)
    # One dtype, or an array with a Python number that cannot raise its dtype: NumPy's
    # result dtype is PyTorch's.
    if da is not None:
        if xp is np and db is None and b == 0 and type(b) in (float, int) and \
                da.kind == "f" and da.itemsize in _MASK_INT and a.ndim and a.shape == cond.shape \
                and type(a) is np.ndarray and type(cond) is np.ndarray:
            return _where_else_zero(cond, a)
        if da is db or db is None and type(b) in _WEAK_SCALARS[da.kind]:
            return xp.where(cond, a, b)
    elif db is not None and type(a) in _WEAK_SCALARS[db.kind]:
        return xp.where(cond, a, b)
    return _where_promoted(xp, cond, a, b)


def _where_promoted(xp, cond, a, b):
    """`where` over operands of different dtypes, in the dtype `_where_infer` gives."""
    metas = [TensorMeta(x.shape, dtypes.from_numpy_dtype(x.dtype)) if hasattr(x, "dtype")
             else x for x in (a, b)]
    target = compute_dtype(Promotion.DEFAULT, metas).np_dtype
    a, b = (x.astype(target) if hasattr(x, "dtype") and x.dtype != target else x
            for x in (a, b))
    out = xp.where(cond, a, b)
    return out if out.dtype == target else out.astype(target)


def _where_vjp(ctx, grad):
    cond = ctx.inputs[0]
    _, ma, mb = _metas(ctx)
    zero = zeros_like(grad)
    return (None,
            unbroadcast(where(cond, grad, zero), ma) if ma is not None else None,
            unbroadcast(where(cond, zero, grad), mb) if mb is not None else None)


WHERE = register(OpDef("where", ELEMENTWISE, _where_kernel, _where_infer, _where_vjp,
                       save_inputs=(0,), doc="cond ? a : b"))



def promote_operands(a, b):
    """Cast tensor operands to PyTorch's result type (the `where` kernel would otherwise
    follow NumPy's promotion, which differs for 0-d tensors and mixed kinds)."""
    if isinstance(a, Tensor) and isinstance(b, Tensor) and a._data.dtype == b._data.dtype:
        return a, b
    target = dtypes.result_type(*split_operands([meta_of(a), meta_of(b)]))
    return tuple(x.to(target) if isinstance(x, Tensor) else x for x in (a, b))


def where(condition, a, b):
    """`gt.where(condition, a, b)` for vjp rules: a bool `condition`, tensors or numbers."""
    a, b = promote_operands(a, b)
    return call(WHERE, condition, a, b)


def _clamp_kernel(xp, a, min=None, max=None):
    if min is not None and max is not None:
        return xp.minimum(xp.maximum(a, min), max)
    if min is not None:
        return xp.maximum(a, min)
    if max is not None:
        return xp.minimum(a, max)
    raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")


def _clamp_infer(a, min=None, max=None):
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    bounds = [v for v in (min, max) if v is not None]

    return TensorMeta(a.shape, compute_dtype(Promotion.DEFAULT, [a, *bounds]))


def _clamp_vjp(ctx, grad):
    (a,) = ctx.inputs
    lo, hi = ctx.attrs.get("min"), ctx.attrs.get("max")
    keep = ones_like(a, dtype=dtypes.bool_)
    if lo is not None:
        keep = keep & (a >= lo)
    if hi is not None:
        keep = keep & (a <= hi)
    return (where(keep, grad, zeros_like(grad)),)


CLAMP = register(OpDef("clamp", ELEMENTWISE, _clamp_kernel, _clamp_infer, _clamp_vjp,
                       Promotion.DEFAULT, save_inputs=(0,), backward_name="ClampBackward1",
                       dtype_check=raises(NotImplementedError,
                                          "clamp is not supported for complex types", COMPLEX),
                       doc="clamp to [min, max] given as numbers"))

# --- copies and casts --------------------------------------------------------------------


def _to_dtype_infer(a, dtype):
    return TensorMeta(a.shape, dtype)


def _to_dtype_vjp(ctx, grad):
    meta = ctx.input_metas[0]
    if not (meta.dtype.is_floating_point or meta.dtype.is_complex):
        return (None,)
    if meta.dtype.category < dtypes.Category.COMPLEX and grad.is_complex():
        grad = grad.real
    return (grad.to(meta.dtype),)


def preserving_copy(xp, a, dtype=None):
    """A copy of `a` (converted to `dtype`) laid out as PyTorch's preserve_format lays it:
    NumPy's order="K" does, except around broadcast (0-stride) dims, which PyTorch keeps in
    place (``x.expand(3, 4).double()`` is row-major there)."""
    dtype = a.dtype if dtype is None else dtype
    if a.flags.c_contiguous or 0 not in a.strides:
        return a.astype(dtype, order="K", copy=True)
    order = preserved_order(a.shape, a.strides)
    if order is None:
        return a.astype(dtype, order="C", copy=True)
    return xp.ascontiguousarray(a.transpose(order), dtype=dtype).transpose(inverse(order))


TO_DTYPE = register(OpDef(
    "to_dtype", ELEMENTWISE, lambda xp, a, dtype: preserving_copy(xp, a, dtype.np_dtype),
    _to_dtype_infer, _to_dtype_vjp, backward_name="ToCopyBackward0",
    doc="a copy converted to `dtype`"))


def _clone_kernel(xp, a, contiguous=False):
    return xp.array(a, order="C", copy=True) if contiguous else preserving_copy(xp, a)


CLONE = register(OpDef("clone", ELEMENTWISE, _clone_kernel, lambda a, contiguous=False: a,
                       lambda ctx, grad: (grad,), doc="a copy (strides kept, unless "
                       "contiguous=True)"))


def _copy_kernel(xp, a, src):
    return xp.broadcast_to(xp.asarray(src), a.shape).astype(a.dtype, copy=True)


def _copy_infer(a, src):
    if isinstance(src, TensorMeta) and broadcast_shapes(a.shape, src.shape) != tuple(a.shape):
        raise RuntimeError(f"output with shape {list(a.shape)} doesn't match the broadcast "
                           f"shape {list(broadcast_shapes(a.shape, src.shape))}")
    return a


def _copy_vjp(ctx, grad):
    src_meta = ctx.input_metas[1]
    grad_src = None
    if src_meta is not None:
        grad_src = unbroadcast(grad, src_meta)
        if grad_src.dtype is not src_meta.dtype and (src_meta.dtype.is_floating_point
                                                     or src_meta.dtype.is_complex):
            grad_src = grad_src.to(src_meta.dtype)
    return zeros_like(grad), grad_src


COPY = register(OpDef("copy", ELEMENTWISE, _copy_kernel, _copy_infer, _copy_vjp,
                      backward_name="CopyBackwards",
                      doc="src broadcast and cast to the shape and dtype of a (for copy_)"))


def _fill_vjp(ctx, grad):
    return (zeros_like(grad),)


FILL = register(OpDef("fill", ELEMENTWISE, lambda xp, a, value: xp.full_like(a, value),
                      lambda a, value: a, _fill_vjp, backward_name="FillBackward0",
                      doc="a tensor like `a` filled with the number `value`"))
