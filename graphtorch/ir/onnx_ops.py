"""ONNX renderings of the elementwise ops: arithmetic, comparisons, logic, casts, unary math.

`BASIC_RENDERERS` maps each OpDef object to a small function ``render(ctx)`` that emits ONNX
nodes through the `RenderContext` and returns the output tensor name(s). Elementwise ops
first cast their inputs to the dtype the op computes in (PyTorch's promotion, the same rule
as eager dispatch), since ONNX ops take one element type. A dtype or attribute with no exact
ONNX form calls ``ctx.fail``: the exporter never writes an approximation silently.
"""

from __future__ import annotations

import math

import numpy as np

from .. import dtypes
from ..ops import binary_math as B
from ..ops import elementwise as E
from ..ops import unary_math as U
from ..ops.random_ops import SEED
from ..ops.registry import Promotion, get_op
from ..ops.shape_rules import compute_dtype
from .onnx_context import RenderContext


def promoted(ctx: RenderContext, dtype=None) -> list[str]:
    """The node's inputs cast to `dtype` (default: the dtype the op computes in)."""
    if dtype is None:
        metas = [v.const if v.is_const else v.meta for v in ctx.node.inputs]
        dtype = compute_dtype(ctx.node.op.promotion or Promotion.DEFAULT, metas)
    return [ctx.value(v, dtype) for v in ctx.node.inputs]


def compute(ctx: RenderContext):
    metas = [v.const if v.is_const else v.meta for v in ctx.node.inputs]
    return compute_dtype(ctx.node.op.promotion or Promotion.DEFAULT, metas)


def is_float(dtype) -> bool:
    return dtype.is_floating_point


def simple(op_type: str, bool_op: str | None = None, floats_only: bool = False, **attrs):
    """One ONNX op on the promoted inputs (`bool_op` when they are bool)."""
    def render(ctx):
        dtype = compute(ctx)
        if dtype.is_complex or (floats_only and not is_float(dtype)):
            ctx.fail(f"{dtype} inputs")
        name = op_type
        if dtype is dtypes.bool_:
            if bool_op is None:
                ctx.fail("bool inputs")
            name = bool_op
        return ctx.emit(name, promoted(ctx, dtype), **attrs)
    return render


def scaled_second(op_type: str, bool_op: str | None):
    """add/sub: ``a op alpha * b``."""
    def render(ctx):
        a, b = promoted(ctx)
        dtype = compute(ctx)
        alpha = ctx.attrs.get("alpha", 1)
        if dtype is dtypes.bool_:
            if bool_op is None or alpha != 1:
                ctx.fail("bool inputs")
            return ctx.emit(bool_op, [a, b])
        if alpha != 1:
            b = ctx.emit("Mul", [b, ctx.const(alpha, dtype)])
        return ctx.emit(op_type, [a, b])
    return render


def float_mod(ctx, a, b, dtype):
    """PyTorch's float remainder: fmod, moved into b's sign."""
    mod = ctx.emit("Mod", [a, b], fmod=1)
    zero = ctx.const(0, dtype)
    fix = ctx.emit("And", [ctx.emit("Not", [ctx.emit("Equal", [mod, zero])]),
                           ctx.emit("Xor", [ctx.emit("Less", [b, zero]),
                                            ctx.emit("Less", [mod, zero])])])
    return ctx.emit("Where", [fix, ctx.emit("Add", [mod, b]), mod])


def render_remainder(ctx):
    a, b = promoted(ctx)
    dtype = compute(ctx)
    if is_float(dtype):
        return float_mod(ctx, a, b, dtype)
    return ctx.emit("Mod", [a, b], fmod=0)


def render_fmod(ctx):
    return ctx.emit("Mod", promoted(ctx), fmod=1)


def trunc(ctx, x, dtype):
    """Round toward zero (ONNX has no Trunc)."""
    return ctx.emit("Mul", [ctx.emit("Sign", [x]), ctx.emit("Floor", [ctx.emit("Abs", [x])])])


def render_floor_divide(ctx):
    a, b = promoted(ctx)
    dtype = compute(ctx)
    if is_float(dtype):
        return ctx.emit("Floor", [ctx.emit("Div", [a, b])])
    # exact: (a - a mod b) is a multiple of b, so ONNX's truncating Div is floor division
    return ctx.emit("Div", [ctx.emit("Sub", [a, ctx.emit("Mod", [a, b], fmod=0)]), b])


def render_trunc_divide(ctx):
    a, b = promoted(ctx)
    dtype = compute(ctx)
    q = ctx.emit("Div", [a, b])
    return trunc(ctx, q, dtype) if is_float(dtype) else q


def comparison(op_type: str, negate: bool = False):
    def render(ctx):
        dtype = compute(ctx)
        if dtype.is_complex:
            ctx.fail("complex inputs")
        if dtype is dtypes.bool_ and op_type != "Equal":
            dtype = dtypes.uint8  # ONNX orders numbers, not bools
        out = ctx.emit(op_type, promoted(ctx, dtype))
        return ctx.emit("Not", [out]) if negate else out
    return render


def logical(op_type: str):
    def render(ctx):
        return ctx.emit(op_type, [ctx.value(v, dtypes.bool_) for v in ctx.node.inputs])
    return render


def bitwise(op_type: str, bool_op: str):
    def render(ctx):
        dtype = compute(ctx)
        if dtype is dtypes.bool_:
            return ctx.emit(bool_op, promoted(ctx, dtype))
        if ctx.opset < 18:
            ctx.fail("integer bitwise ops need opset 18")
        return ctx.emit(op_type, promoted(ctx, dtype))
    return render


def render_where(ctx):
    dtype = ctx.out_meta().dtype
    return ctx.emit("Where", [ctx.input(0, dtypes.bool_), ctx.input(1, dtype),
                              ctx.input(2, dtype)])


def render_clamp(ctx):
    dtype = ctx.out_meta().dtype
    out = ctx.input(0, dtype)
    lo, hi = ctx.attrs.get("min"), ctx.attrs.get("max")
    if lo is not None:
        out = ctx.emit("Max", [out, ctx.const(lo, dtype)])
    if hi is not None:
        out = ctx.emit("Min", [out, ctx.const(hi, dtype)])
    return out


def render_cast(ctx):
    return ctx.cast(ctx.input(0), ctx.out_meta().dtype)


def alias(ctx):
    """Ops that copy or move data without changing it (clone, alias, to_device)."""
    return ctx.input(0)


def render_fill(ctx):
    meta = ctx.out_meta()
    value = ctx.const(ctx.attrs["value"], meta.dtype) if "value" in ctx.attrs \
        else ctx.input(1, meta.dtype)
    return ctx.emit("Expand", [value, ctx.shape(meta.shape)])


def render_copy(ctx):
    meta = ctx.out_meta()
    return ctx.emit("Expand", [ctx.input(1, meta.dtype), ctx.shape(meta.shape)])


# --- binary math composed from ONNX primitives ---------------------------------------------

def render_hypot(ctx):
    a, b = promoted(ctx)
    return ctx.emit("Sqrt", [ctx.emit("Add", [ctx.emit("Mul", [a, a]),
                                              ctx.emit("Mul", [b, b])])])


def render_logaddexp(ctx):
    a, b = promoted(ctx)
    dtype = compute(ctx)
    m = ctx.emit("Max", [a, b])
    d = ctx.emit("Neg", [ctx.emit("Abs", [ctx.emit("Sub", [a, b])])])
    out = ctx.emit("Add", [m, ctx.emit("Log", [ctx.emit("Add", [ctx.const(1, dtype),
                                                                   ctx.emit("Exp", [d])])])])
    return ctx.emit("Where", [ctx.emit("Equal", [a, b]), ctx.emit("Add", [a, ctx.const(
        math.log(2), dtype)]), out])  # equal infinities: a + log 2, not inf - inf


def nan_aware(op_type: str):
    """fmax/fmin: a NaN loses to a number."""
    def render(ctx):
        a, b = promoted(ctx)
        out = ctx.emit(op_type, [a, b])
        out = ctx.emit("Where", [ctx.emit("IsNaN", [a]), b, out])
        return ctx.emit("Where", [ctx.emit("IsNaN", [b]), a, out])
    return render


def render_xlogy(ctx):
    x, y = promoted(ctx)
    dtype = compute(ctx)
    zero = ctx.const(0, dtype)
    out = ctx.emit("Where", [ctx.emit("Equal", [x, zero]), zero,
                             ctx.emit("Mul", [x, ctx.emit("Log", [y])])])
    return ctx.emit("Where", [ctx.emit("IsNaN", [y]), y, out])


# --- unary ------------------------------------------------------------------------------------

def unary(*steps, ints: str | None = None):
    """A chain of one-input ONNX ops; `ints` handles integer inputs ("same": returned
    unchanged, as floor/ceil/round of an integer; "op": the chain also takes them)."""
    def render(ctx):
        dtype = compute(ctx)
        (x,) = promoted(ctx, dtype)
        if dtype.is_complex or dtype is dtypes.bool_ and ints != "op":
            ctx.fail(f"{dtype} input")
        if not is_float(dtype):
            if ints == "same":
                return x
            if ints != "op":
                ctx.fail(f"{dtype} input")
        for step in steps:
            x = step(ctx, x, dtype) if callable(step) else ctx.emit(step, [x])
        return x
    return render


def _const_op(op_type, value, first=False):
    def step(ctx, x, dtype):
        c = ctx.const(value, dtype)
        return ctx.emit(op_type, [c, x] if first else [x, c])
    return step


def render_round(ctx):
    dtype = compute(ctx)
    (x,) = promoted(ctx, dtype)
    if not is_float(dtype):
        return x
    decimals = ctx.attrs.get("decimals", 0)
    if not decimals:
        return ctx.emit("Round", [x])  # half to even, as PyTorch
    scale = ctx.const(10.0 ** decimals, dtype)
    return ctx.emit("Div", [ctx.emit("Round", [ctx.emit("Mul", [x, scale])]), scale])


def render_trunc(ctx):
    dtype = compute(ctx)
    (x,) = promoted(ctx, dtype)
    return trunc(ctx, x, dtype) if is_float(dtype) else x


def render_frac(ctx):
    dtype = compute(ctx)
    (x,) = promoted(ctx, dtype)
    if not is_float(dtype):
        ctx.fail(f"{dtype} input")
    return ctx.emit("Sub", [x, trunc(ctx, x, dtype)])


def render_leaky_relu(ctx):
    (x,) = promoted(ctx)
    return ctx.emit("LeakyRelu", [x], alpha=float(ctx.attrs.get("negative_slope", 0.01)))


def render_elu(ctx):
    (x,) = promoted(ctx)
    return ctx.emit("Elu", [x], alpha=float(ctx.attrs.get("alpha", 1.0)))


def render_softplus(ctx):
    """PyTorch's softplus: log1p(exp(beta x)) / beta, linear above `threshold`."""
    dtype = compute(ctx)
    (x,) = promoted(ctx, dtype)
    beta, threshold = ctx.attrs.get("beta", 1.0), ctx.attrs.get("threshold", 20.0)
    bx = ctx.emit("Mul", [x, ctx.const(beta, dtype)])
    soft = ctx.emit("Div", [ctx.emit("Softplus", [bx]), ctx.const(beta, dtype)])
    return ctx.emit("Where", [ctx.emit("Greater", [bx, ctx.const(threshold, dtype)]), x, soft])


def render_hardtanh(ctx):
    dtype = compute(ctx)
    (x,) = promoted(ctx, dtype)
    return ctx.emit("Clip", [x, ctx.const(ctx.attrs.get("min_val", -1.0), dtype),
                             ctx.const(ctx.attrs.get("max_val", 1.0), dtype)])


def render_silu(ctx):
    (x,) = promoted(ctx)
    return ctx.emit("Mul", [x, ctx.emit("Sigmoid", [x])])


def render_gelu(ctx):
    dtype = compute(ctx)
    (x,) = promoted(ctx, dtype)
    approximate = ctx.attrs.get("approximate", "none")
    if ctx.opset >= 20:
        return ctx.emit("Gelu", [x], approximate=approximate)
    half = ctx.emit("Mul", [x, ctx.const(0.5, dtype)])
    if approximate == "tanh":
        cube = ctx.emit("Mul", [ctx.emit("Mul", [x, x]), x])
        inner = ctx.emit("Add", [x, ctx.emit("Mul", [cube, ctx.const(0.044715, dtype)])])
        t = ctx.emit("Tanh", [ctx.emit("Mul", [inner, ctx.const(math.sqrt(2 / math.pi),
                                                                    dtype)])])
    else:
        t = ctx.emit("Erf", [ctx.emit("Mul", [x, ctx.const(1 / math.sqrt(2), dtype)])])
    return ctx.emit("Mul", [half, ctx.emit("Add", [t, ctx.const(1, dtype)])])


def render_nan_to_num(ctx):
    dtype = compute(ctx)
    (x,) = promoted(ctx, dtype)
    if not is_float(dtype):
        return x
    info = np.finfo(dtype.np_dtype)
    nan, posinf, neginf = (ctx.attrs.get("nan", 0.0), ctx.attrs.get("posinf"),
                           ctx.attrs.get("neginf"))
    x = ctx.emit("Where", [ctx.emit("IsNaN", [x]), ctx.const(nan, dtype), x])
    x = ctx.emit("Where", [ctx.emit("IsInf", [x], detect_negative=0),
                           ctx.const(info.max if posinf is None else posinf, dtype), x])
    return ctx.emit("Where", [ctx.emit("IsInf", [x], detect_positive=0),
                              ctx.const(info.min if neginf is None else neginf, dtype), x])


def float_test(op_type: str, for_ints: bool, negate: bool = False, **attrs):
    """isnan/isinf/isfinite: integers are never NaN or infinite."""
    def render(ctx):
        dtype = compute(ctx)
        (x,) = promoted(ctx, dtype)
        if not is_float(dtype):
            meta = ctx.out_meta()
            return ctx.emit("Expand", [ctx.const(for_ints, dtypes.bool_), ctx.shape(meta.shape)])
        out = ctx.emit(op_type, [x], **attrs)
        return ctx.emit("Not", [out]) if negate else out
    return render


def render_isfinite(ctx):
    dtype = compute(ctx)
    (x,) = promoted(ctx, dtype)
    if not is_float(dtype):
        return ctx.emit("Expand", [ctx.const(True, dtypes.bool_), ctx.shape(ctx.out_meta().shape)])
    return ctx.emit("Not", [ctx.emit("Or", [ctx.emit("IsNaN", [x]), ctx.emit("IsInf", [x])])])


def render_sinc(ctx):
    dtype = compute(ctx)
    (x,) = promoted(ctx, dtype)
    pix = ctx.emit("Mul", [x, ctx.const(math.pi, dtype)])
    ratio = ctx.emit("Div", [ctx.emit("Sin", [pix]), pix])
    return ctx.emit("Where", [ctx.emit("Equal", [x, ctx.const(0, dtype)]),
                              ctx.const(1, dtype), ratio])


def render_conj(ctx):
    if compute(ctx).is_complex:
        ctx.fail("complex input")
    return ctx.input(0)


def render_seed(ctx):
    """`gt.manual_seed` inside the model: ONNX random ops have no seedable generator (an
    exported model never reproduces graphtorch's random stream); the dummy output is 0."""
    return ctx.const(0, dtypes.int64)


BASIC_RENDERERS = {
    SEED: render_seed,
    E.ADD: scaled_second("Add", "Or"),
    E.SUB: scaled_second("Sub", None),
    E.MUL: simple("Mul", "And"),
    E.DIV: simple("Div"),
    E.FLOOR_DIVIDE: render_floor_divide,
    E.TRUNC_DIVIDE: render_trunc_divide,
    E.REMAINDER: render_remainder,
    E.FMOD: render_fmod,
    E.POW: simple("Pow"),
    E.MAXIMUM: simple("Max", "Or"),
    E.MINIMUM: simple("Min", "And"),
    get_op("eq"): comparison("Equal"),
    get_op("ne"): comparison("Equal", negate=True),
    get_op("lt"): comparison("Less"),
    get_op("le"): comparison("LessOrEqual"),
    get_op("gt"): comparison("Greater"),
    get_op("ge"): comparison("GreaterOrEqual"),
    get_op("logical_and"): logical("And"),
    get_op("logical_or"): logical("Or"),
    get_op("logical_xor"): logical("Xor"),
    E.LOGICAL_NOT: logical("Not"),
    get_op("bitwise_and"): bitwise("BitwiseAnd", "And"),
    get_op("bitwise_or"): bitwise("BitwiseOr", "Or"),
    get_op("bitwise_xor"): bitwise("BitwiseXor", "Xor"),
    E.BITWISE_NOT: bitwise("BitwiseNot", "Not"),
    E.WHERE: render_where,
    E.CLAMP: render_clamp,
    E.TO_DTYPE: render_cast,
    E.CLONE: alias,
    E.COPY: render_copy,
    E.FILL: render_fill,
    B.HYPOT: render_hypot,
    B.LOGADDEXP: render_logaddexp,
    B.XLOGY: render_xlogy,
    B.FMAX: nan_aware("Max"),
    B.FMIN: nan_aware("Min"),
    U.EXP: unary("Exp"),
    U.EXP2: unary(_const_op("Pow", 2.0, first=True)),
    U.EXPM1: unary("Exp", _const_op("Sub", 1.0)),
    U.LOG: unary("Log"),
    U.LOG2: unary("Log", _const_op("Div", math.log(2))),
    U.LOG10: unary("Log", _const_op("Div", math.log(10))),
    U.LOG1P: unary(_const_op("Add", 1.0), "Log"),
    U.SQRT: unary("Sqrt"),
    U.RSQRT: unary("Sqrt", "Reciprocal"),
    U.RECIPROCAL: unary("Reciprocal"),
    U.SIN: unary("Sin"),
    U.COS: unary("Cos"),
    U.TAN: unary("Tan"),
    U.ASIN: unary("Asin"),
    U.ACOS: unary("Acos"),
    U.ATAN: unary("Atan"),
    U.SINH: unary("Sinh"),
    U.COSH: unary("Cosh"),
    U.TANH: unary("Tanh"),
    U.ASINH: unary("Asinh"),
    U.ACOSH: unary("Acosh"),
    U.ATANH: unary("Atanh"),
    U.SIGMOID: unary("Sigmoid"),
    U.ERF: unary("Erf"),
    U.ERFC: unary("Erf", _const_op("Sub", 1.0, first=True)),
    U.FLOOR: unary("Floor", ints="same"),
    U.CEIL: unary("Ceil", ints="same"),
    U.TRUNC: render_trunc,
    U.ROUND: render_round,
    U.FRAC: render_frac,
    U.SIGN: unary("Sign", ints="op"),
    U.SGN: unary("Sign", ints="op"),
    U.NEG: unary("Neg", ints="op"),
    U.ABS: unary("Abs", ints="op"),
    U.RELU: unary("Relu", ints="op"),
    U.LEAKY_RELU: render_leaky_relu,
    U.ELU: render_elu,
    U.SOFTPLUS: render_softplus,
    U.HARDTANH: render_hardtanh,
    U.SILU: render_silu,
    U.GELU: render_gelu,
    U.NAN_TO_NUM: render_nan_to_num,
    U.ISNAN: float_test("IsNaN", False),
    U.ISINF: float_test("IsInf", False),
    U.ISFINITE: render_isfinite,
    U.SINC: render_sinc,
    U.CONJ: render_conj,
}
