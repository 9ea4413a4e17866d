"""ONNX renderings of reductions, softmax, cumulative sums and contractions (matmul, addmm,
einsum): `REDUCE_RENDERERS`, keyed by OpDef object (see `onnx_ops`).

Reductions read their input in the output dtype (PyTorch sums integers as int64), keep
PyTorch's results on empty inputs (a mean of nothing is NaN, `all` of nothing is True), and
ops that ONNX defines on tensors of rank >= 1 only see a 0-d input as shape [1].
"""

from __future__ import annotations

import math

from .. import dtypes
from ..ops import einsum as ES
from ..ops import linalg_norms as linalg_norms_ops
from ..ops import matmul as MM
from ..ops import reduction as R
from ..ops import scans as SC
from ..ops import softmax as SM
from ..symbolic import SymInt
from .onnx_ops import is_float


def reduced_axes(ctx, name="dims"):
    dims = ctx.attrs.get(name)
    if dims is None:
        return None
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    rank = len(ctx.meta(0).shape)
    return [d % max(rank, 1) for d in dims] if rank else []


def reduction(op_type: str, float_only: bool = False):
    """sum/mean/amax/amin/prod/logsumexp: the input in the output dtype, then ReduceX."""
    def render(ctx):
        dtype = ctx.out_meta().dtype
        if dtype.is_complex or dtype is dtypes.bool_ or (float_only and not is_float(dtype)):
            ctx.fail(f"{dtype} result")
        x, axes = ctx.input(0, dtype), reduced_axes(ctx)
        if op_type == "ReduceMean":
            return mean(ctx, x, axes, ctx.attrs.get("keepdim", False), ctx.meta(0).shape)
        return ctx.reduce(op_type, x, axes, ctx.attrs.get("keepdim", False))
    return render


def mean(ctx, x, axes, keepdims, shape):
    """ReduceMean; a mean over no elements is NaN (0 / 0), as in PyTorch."""
    sizes = [shape[d] for d in (range(len(shape)) if axes is None else axes)]
    if any(not isinstance(s, SymInt) and s == 0 for s in sizes):
        dtype = ctx.out_meta().dtype
        return ctx.emit("Div", [ctx.reduce("ReduceSum", x, axes, keepdims),
                                ctx.const(0, dtype)])
    return ctx.reduce("ReduceMean", x, axes, keepdims)


def count(ctx, axes) -> str:
    """How many elements the reduction over `axes` of input 0 combines (int64, [1])."""
    shape = ctx.meta(0).shape
    sizes = [shape[d] for d in (range(len(shape)) if axes is None else axes)]
    static = math.prod(s for s in sizes if not isinstance(s, SymInt))
    out = ctx.ints([static])
    for s in sizes:
        if isinstance(s, SymInt):
            out = ctx.emit("Mul", [out, ctx.size(s)])
    return out


def render_var(ctx):
    dtype = ctx.out_meta().dtype
    if not is_float(dtype):
        ctx.fail(f"{dtype} input")
    x = ctx.input(0, dtype)
    axes, keep = reduced_axes(ctx), ctx.attrs.get("keepdim", False)
    mean = ctx.reduce("ReduceMean", x, axes, True)
    d = ctx.emit("Sub", [x, mean])
    total = ctx.reduce("ReduceSum", ctx.emit("Mul", [d, d]), axes, keep)
    n = ctx.emit("Sub", [count(ctx, axes), ctx.ints([ctx.attrs.get("correction", 1)])])
    n = ctx.cast(ctx.emit("Max", [n, ctx.ints([0])]), dtype)
    return ctx.emit("Div", [total, ctx.emit("Squeeze", [n, ctx.ints([0])])])


def arg_reduce(op_type: str):
    def render(ctx):
        x = ctx.input(0)
        dtype = ctx.meta(0).dtype
        if dtype is dtypes.bool_ or dtype.is_complex:
            ctx.fail(f"{dtype} input")
        dim, keep = ctx.attrs.get("dim"), ctx.attrs.get("keepdim", False)
        if dim is None:
            x, dim = ctx.emit("Reshape", [x, ctx.ints([-1])]), 0
            if keep:
                ctx.fail("keepdim=True without dim")
        return ctx.emit(op_type, [x], axis=int(dim), keepdims=int(bool(keep)))
    return render


def value_and_index(reduce_op: str, arg_op: str):
    """max_dim/min_dim: (values, first index of the extreme)."""
    def render(ctx):
        x = ctx.input(0)
        dim, keep = ctx.attrs["dim"], ctx.attrs.get("keepdim", False)
        if ctx.meta(0).dtype is dtypes.bool_:
            ctx.fail("bool input")
        values = ctx.reduce(reduce_op, x, [dim], keep)
        return values, ctx.emit(arg_op, [x], axis=int(dim), keepdims=int(bool(keep)))
    return render


def truth_reduction(negate: bool):
    """any: some element is nonzero; all: no element is zero (a count, so empty inputs
    give PyTorch's False and True)."""
    def render(ctx):
        x = ctx.input(0, dtypes.bool_)
        if negate:
            x = ctx.emit("Not", [x])
        hits = ctx.reduce("ReduceSum", ctx.cast(x, dtypes.int64), reduced_axes(ctx),
                          ctx.attrs.get("keepdim", False))
        found = ctx.emit("Greater", [hits, ctx.const(0, dtypes.int64)])
        out = ctx.emit("Not", [found]) if negate else found
        return ctx.cast(out, ctx.out_meta().dtype) if ctx.out_meta().dtype is not \
            dtypes.bool_ else out
    return render


def render_vector_norm(ctx):
    dtype = ctx.out_meta().dtype
    if not is_float(dtype):
        ctx.fail(f"{dtype} result")
    x = ctx.input(0, dtype)
    axes, keep, p = reduced_axes(ctx), ctx.attrs.get("keepdim", False), ctx.attrs.get("ord", 2)
    if p == 2:
        return ctx.reduce("ReduceL2", x, axes, keep)
    if p == 1:
        return ctx.reduce("ReduceL1", x, axes, keep)
    if p in (math.inf, -math.inf):
        return ctx.reduce("ReduceMax" if p > 0 else "ReduceMin", ctx.emit("Abs", [x]), axes,
                          keep)
    if p == 0:
        nonzero = ctx.cast(ctx.emit("Not", [ctx.emit("Equal", [x, ctx.const(0, dtype)])]),
                           dtype)
        return ctx.reduce("ReduceSum", nonzero, axes, keep)
    powered = ctx.emit("Pow", [ctx.emit("Abs", [x]), ctx.const(p, dtype)])
    return ctx.emit("Pow", [ctx.reduce("ReduceSum", powered, axes, keep),
                            ctx.const(1.0 / p, dtype)])


def at_least_1d(ctx, x: str) -> str:
    """A 0-d input as shape [1] (ONNX ops with an axis need one); `back_to_meta` undoes it."""
    return ctx.emit("Unsqueeze", [x, ctx.ints([0])]) if not ctx.meta(0).shape else x


def back_to_meta(ctx, y: str) -> str:
    return ctx.emit("Reshape", [y, ctx.shape(ctx.out_meta().shape)]) \
        if not ctx.meta(0).shape else y


def softmax_like(op_type: str):
    def render(ctx):
        dtype = ctx.out_meta().dtype
        if not is_float(dtype):
            ctx.fail(f"{dtype} result")
        x = at_least_1d(ctx, ctx.input(0, dtype))
        return back_to_meta(ctx, ctx.emit(op_type, [x], axis=int(ctx.attrs["dim"])))
    return render


def render_cumsum(ctx):
    dtype = ctx.out_meta().dtype
    if dtype is dtypes.bool_:
        ctx.fail("bool result")
    dim = ctx.attrs["dim"]
    axis = ctx.const(dim, dtypes.int64)
    x = at_least_1d(ctx, ctx.input(0, dtype))
    return back_to_meta(ctx, ctx.emit("CumSum", [x, axis],
                                      reverse=int(bool(ctx.attrs.get("reverse", False)))))


# --- contractions -----------------------------------------------------------------------------

def render_matmul(ctx):
    dtype = ctx.out_meta().dtype
    if dtype is dtypes.bool_ or dtype.is_complex or dtype in (dtypes.int8, dtypes.int16,
                                                                dtypes.uint8):
        ctx.fail(f"{dtype} operands")
    return ctx.emit("MatMul", [ctx.input(0, dtype), ctx.input(1, dtype)])


def render_addmm(ctx):
    dtype = ctx.out_meta().dtype
    if not (is_float(dtype) or dtype in (dtypes.int32, dtypes.int64)):
        ctx.fail(f"{dtype} operands")
    beta, alpha = ctx.attrs.get("beta", 1), ctx.attrs.get("alpha", 1)
    a, b = ctx.input(1, dtype), ctx.input(2, dtype)
    if beta == 0:  # PyTorch ignores the input then (even its NaNs)
        return ctx.emit("Gemm", [a, b], alpha=float(alpha), beta=0.0)
    return ctx.emit("Gemm", [a, b, ctx.input(0, dtype)], alpha=float(alpha), beta=float(beta))


def render_einsum(ctx):
    dtype = ctx.out_meta().dtype
    if not is_float(dtype):
        ctx.fail(f"{dtype} operands")
    operands = [ctx.value(v, dtype) for v in ctx.node.inputs[0]]
    return ctx.emit("Einsum", operands, equation=ctx.attrs["equation"].replace(" ", ""))


REDUCE_RENDERERS = {
    R.SUM: reduction("ReduceSum"),
    R.MEAN: reduction("ReduceMean", float_only=True),
    R.VAR: render_var,
    R.AMAX: reduction("ReduceMax"),
    R.AMIN: reduction("ReduceMin"),
    R.ARGMAX: arg_reduce("ArgMax"),
    R.ARGMIN: arg_reduce("ArgMin"),
    R.MAX_DIM: value_and_index("ReduceMax", "ArgMax"),
    R.MIN_DIM: value_and_index("ReduceMin", "ArgMin"),
    R.ALL: truth_reduction(negate=True),
    R.ANY: truth_reduction(negate=False),
    linalg_norms_ops.VECTOR_NORM: render_vector_norm,
    SM.SOFTMAX: softmax_like("Softmax"),
    SM.LOG_SOFTMAX: softmax_like("LogSoftmax"),
    SM.LOGSUMEXP: reduction("ReduceLogSumExp", float_only=True),
    SM.PROD: reduction("ReduceProd"),
    SM.PROD_DIM: reduction("ReduceProd"),
    SC.CUMSUM: render_cumsum,
    MM.MATMUL: render_matmul,
    MM.ADDMM: render_addmm,
    ES.EINSUM: render_einsum,
}
