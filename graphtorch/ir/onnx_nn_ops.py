"""ONNX renderings of the network ops: convolution, pooling, normalization, embedding,
losses, dropout masks and the LSTM recurrence (`NN_RENDERERS`, keyed by OpDef object; see `onnx_ops`).
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..ops import conv as C
from ..ops import losses as L
from ..ops import movement as M
from ..ops import normalization as N
from ..ops import pooling as P
from ..ops import random_ops as RD
from ..ops import rnn as R
from .onnx_context import tensor_type
from .onnx_reduce_ops import mean
from .onnx_shape_ops import is_static

# --- convolution and pooling ------------------------------------------------------------------

def floats_only(ctx):
    dtype = ctx.meta(0).dtype
    if not dtype.is_floating_point:
        ctx.fail(f"{dtype} input (ONNX defines it for floating types only)")


def render_convolution(ctx):
    floats_only(ctx)
    a = ctx.attrs
    begins, ends = [p[0] for p in a["padding"]], [p[1] for p in a["padding"]]
    kw = {"strides": list(a["stride"]), "dilations": list(a["dilation"]),
          "group": int(a["groups"])}
    ins = [ctx.input(0), ctx.input(1)] + ([ctx.input(2)] if not ctx.node.inputs[2].is_const
                                          else [])
    if not a.get("transposed"):
        return ctx.emit("Conv", ins, pads=begins + ends, **kw)
    # output_padding grows the end of the full transposed convolution; ONNX Runtime caps it
    # below the stride, so crop less at the end instead, and pad the bias-free zeros beyond
    # the full result (the bias is added below).
    out_pad = list(a.get("output_padding") or [0] * len(begins))
    crop = [e - o for e, o in zip(ends, out_pad)]
    grow = [max(-c, 0) for c in crop]
    if any(grow) and len(ins) == 3:
        bias, ins = ins[2], ins[:2]
    else:
        bias = None
    y = ctx.emit("ConvTranspose", ins, pads=begins + [max(c, 0) for c in crop], **kw)
    if any(grow):
        y = ctx.emit("Pad", [y, ctx.ints([0] * (2 + len(grow)) + [0, 0] + grow)])
        if bias is not None:
            rank = 2 + len(grow)
            y = ctx.emit("Add", [y, ctx.emit("Reshape", [bias, ctx.ints(_channel_shape(rank))])])
    return y


def pool_window(ctx, dilation) -> dict:
    """kernel_shape, strides, pads and ceil_mode of a pooling node. With ceil_mode PyTorch
    drops a last window that would start in the end padding, where ONNX's shape rule keeps
    it: for such sizes the exact window count is given as end padding in floor mode."""
    a = ctx.attrs
    kernel, stride, pad = list(a["kernel"]), list(a["stride"]), list(a["padding"])
    window = {"kernel_shape": kernel, "strides": stride, "pads": pad * 2, "ceil_mode": 0}
    if not a.get("ceil_mode"):
        return window
    sizes, outs = ctx.meta(0).shape[2:], ctx.out_meta().shape[2:]
    ends, differs = [], False
    for size, out, k, s, p, d in zip(sizes, outs, kernel, stride, pad, dilation):
        if not (is_static(size) and is_static(out)):  # runtimes follow PyTorch's rule
            return {**window, "ceil_mode": 1}
        span = d * (k - 1) + 1
        differs |= -(-(size + 2 * p - span) // s) + 1 != out
        ends.append(max((out - 1) * s + span - size - p, 0))
    if not differs:
        return {**window, "ceil_mode": 1}
    if ctx.node.op is P.AVG_POOL and a.get("count_include_pad", True) and any(
            e > p for e, p in zip(ends, pad)):
        ctx.fail("ceil_mode windows past the padding with count_include_pad=True at these "
                 "sizes (ONNX would count the overhang in the divisor)")
    return {**window, "pads": pad + ends}


def render_max_pool(ctx):
    floats_only(ctx)
    dilation = list(ctx.attrs["dilation"])
    y, flat = ctx.emit("MaxPool", [ctx.input(0)], num_outputs=2, dilations=dilation,
                       **pool_window(ctx, dilation))
    if not ctx.used(1):
        return y, None
    # ONNX numbers positions over the whole tensor, PyTorch within each (n, c) plane
    plane = 1
    for s in ctx.meta(0).shape[2:]:
        if not is_static(s):
            ctx.fail("max-pool indices of an input with symbolic spatial sizes")
        plane *= s
    return y, ctx.emit("Mod", [flat, ctx.const(plane, dtypes.int64)], fmod=0)


def render_avg_pool(ctx):
    floats_only(ctx)
    a = ctx.attrs
    if a.get("divisor_override"):
        ctx.fail("divisor_override")
    return ctx.emit("AveragePool", [ctx.input(0)],
                    count_include_pad=int(bool(a.get("count_include_pad", True))),
                    **pool_window(ctx, [1] * len(a["kernel"])))


def adaptive(global_op: str, pool_op: str):
    """Adaptive pooling: global pooling to size 1, or equal windows when the sizes divide."""
    def render(ctx):
        floats_only(ctx)
        if len(ctx.node.outputs) > 1 and ctx.used(1):
            ctx.fail("adaptive max-pool indices")
        sizes, out = ctx.meta(0).shape[2:], list(ctx.attrs["output_size"])
        if all(o == 1 for o in out):
            return ctx.emit(global_op, [ctx.input(0)])
        if not all(is_static(s) and s % o == 0 for s, o in zip(sizes, out)):
            ctx.fail(f"output_size {tuple(out)} does not divide the input size "
                     f"{tuple(sizes)} (uneven windows)")
        k = [s // o for s, o in zip(sizes, out)]
        return ctx.emit(pool_op, [ctx.input(0)], kernel_shape=k, strides=k)
    return render


def render_embedding(ctx):
    return ctx.emit("Gather", [ctx.input(1), ctx.input(0)], axis=0)


# --- normalization ----------------------------------------------------------------------------

def render_layer_norm(ctx):
    a, meta = ctx.attrs, ctx.meta(0)
    nd = int(a["normalized_ndim"])
    scale = ctx.input(1)
    if not scale:
        normalized = meta.shape[len(meta.shape) - nd:]
        scale = ctx.emit("Expand", [ctx.const(1, meta.dtype), ctx.shape(normalized)])
    ins = [ctx.input(0), scale] + ([ctx.input(2)] if ctx.input(2) else [])
    y, mu, rstd = ctx.emit("LayerNormalization", ins, num_outputs=3, axis=-nd,
                           epsilon=float(a["eps"]))
    if meta.dtype is not dtypes.float32:  # statistics are stashed as float32
        mu, rstd = ctx.cast(mu, meta.dtype), ctx.cast(rstd, meta.dtype)
    return y, mu, rstd


def _channel_shape(rank: int) -> list:
    return [1, -1] + [1] * (rank - 2)


def _affine(ctx, y, rank):
    """y * weight + bias, per channel (dim 1), for the inputs that are tensors."""
    for i, op_type in ((1, "Mul"), (2, "Add")):
        if not ctx.node.inputs[i].is_const:
            per_channel = ctx.emit("Reshape", [ctx.input(i), ctx.ints(_channel_shape(rank))])
            y = ctx.emit(op_type, [y, per_channel])
    return y


def render_batch_norm(ctx):
    """Training-mode batch norm (batch statistics): y, mean, 1/std, biased variance."""
    x, meta, dtype = ctx.input(0), ctx.meta(0), ctx.meta(0).dtype
    rank = len(meta.shape)
    axes = [0] + list(range(2, rank))
    mean = ctx.reduce("ReduceMean", x, axes, True)
    d = ctx.emit("Sub", [x, mean])
    var = ctx.reduce("ReduceMean", ctx.emit("Mul", [d, d]), axes, True)
    rstd = ctx.emit("Reciprocal", [ctx.emit("Sqrt", [ctx.emit(
        "Add", [var, ctx.const(ctx.attrs["eps"], dtype)])])])
    y = _affine(ctx, ctx.emit("Mul", [d, rstd]), rank)
    flat = ctx.ints([-1])
    return (y, ctx.emit("Reshape", [mean, flat]), ctx.emit("Reshape", [rstd, flat]),
            ctx.emit("Reshape", [var, flat]))


def render_group_norm(ctx):
    x, meta, dtype = ctx.input(0), ctx.meta(0), ctx.meta(0).dtype
    groups, rank = int(ctx.attrs["num_groups"]), len(meta.shape)
    grouped = ctx.emit("Reshape", [x, ctx.shape((meta.shape[0], groups, -1))])
    mean = ctx.reduce("ReduceMean", grouped, [2], True)
    d = ctx.emit("Sub", [grouped, mean])
    var = ctx.reduce("ReduceMean", ctx.emit("Mul", [d, d]), [2], True)
    rstd = ctx.emit("Reciprocal", [ctx.emit("Sqrt", [ctx.emit(
        "Add", [var, ctx.const(ctx.attrs["eps"], dtype)])])])
    y = ctx.emit("Reshape", [ctx.emit("Mul", [d, rstd]), ctx.shape(meta.shape)])
    stats = ctx.shape((meta.shape[0], groups))
    return (_affine(ctx, y, rank), ctx.emit("Reshape", [mean, stats]),
            ctx.emit("Reshape", [rstd, stats]))


# --- losses -----------------------------------------------------------------------------------

def reduce_loss(ctx, loss):
    reduction = ctx.attrs.get("reduction", "mean")
    if reduction == "none":
        return loss
    if reduction == "mean":
        return mean(ctx, loss, None, False, ctx.meta(0).shape)
    return ctx.reduce("ReduceSum", loss, None, False)


def render_mse(ctx):
    dtype = ctx.out_meta().dtype
    d = ctx.emit("Sub", [ctx.input(0, dtype), ctx.input(1, dtype)])
    return reduce_loss(ctx, ctx.emit("Mul", [d, d]))


def smooth(kind: str):
    """smooth_l1 (beta) and huber (delta): quadratic near zero, linear beyond."""
    def render(ctx):
        dtype = ctx.out_meta().dtype
        t = float(ctx.attrs.get("beta" if kind == "smooth_l1" else "delta", 1.0))
        d = ctx.emit("Abs", [ctx.emit("Sub", [ctx.input(0, dtype), ctx.input(1, dtype)])])
        if t == 0 and kind == "smooth_l1":
            return reduce_loss(ctx, d)
        quad = ctx.emit("Mul", [ctx.emit("Mul", [d, d]), ctx.const(0.5, dtype)])
        lin = ctx.emit("Mul", [ctx.emit("Sub", [d, ctx.const(0.5 * t, dtype)]),
                               ctx.const(t, dtype)])
        if kind == "smooth_l1":
            quad = ctx.emit("Div", [quad, ctx.const(t, dtype)])
            lin = ctx.emit("Sub", [d, ctx.const(0.5 * t, dtype)])
        return reduce_loss(ctx, ctx.emit("Where", [ctx.emit("Less", [d, ctx.const(t, dtype)]),
                                                   quad, lin]))
    return render


def render_nll(ctx):
    a = ctx.attrs
    ins = [ctx.input(0), ctx.input(1, dtypes.int64)]
    unbatched = len(ctx.meta(0).shape) == 1
    if unbatched:  # ONNX wants a batch dimension
        ins = [ctx.emit("Unsqueeze", [t, ctx.ints([0])]) for t in ins]
    if not ctx.node.inputs[2].is_const:
        ins.append(ctx.input(2))
    out = ctx.emit("NegativeLogLikelihoodLoss", ins, reduction=a.get("reduction", "mean"),
                   ignore_index=int(a.get("ignore_index", -100)))
    return ctx.emit("Reshape", [out, ctx.ints([])]) if unbatched and not ctx.out_meta().shape \
        and a.get("reduction", "mean") == "none" else out


def _weighted(ctx, loss, index):
    v = ctx.node.inputs[index]
    return loss if v.is_const else ctx.emit("Mul", [loss, ctx.input(index)])


def render_bce(ctx):
    dtype = ctx.out_meta().dtype
    p, y = ctx.input(0, dtype), ctx.input(1, dtype)
    one, floor = ctx.const(1, dtype), ctx.const(-100, dtype)  # PyTorch clamps logs at -100
    log_p = ctx.emit("Max", [ctx.emit("Log", [p]), floor])
    log_q = ctx.emit("Max", [ctx.emit("Log", [ctx.emit("Sub", [one, p])]), floor])
    loss = ctx.emit("Neg", [ctx.emit("Add", [ctx.emit("Mul", [y, log_p]), ctx.emit(
        "Mul", [ctx.emit("Sub", [one, y]), log_q])])])
    return reduce_loss(ctx, _weighted(ctx, loss, 2))


def render_bce_logits(ctx):
    """(1 - y) x + (1 + (pw - 1) y) (log1p(exp(-|x|)) + max(-x, 0)), as PyTorch."""
    dtype = ctx.out_meta().dtype
    x, y = ctx.input(0, dtype), ctx.input(1, dtype)
    one, zero = ctx.const(1, dtype), ctx.const(0, dtype)
    soft = ctx.emit("Add", [
        ctx.emit("Log", [ctx.emit("Add", [one, ctx.emit("Exp", [ctx.emit(
            "Neg", [ctx.emit("Abs", [x])])])])]),
        ctx.emit("Max", [ctx.emit("Neg", [x]), zero])])
    factor = one
    if not ctx.node.inputs[3].is_const:
        factor = ctx.emit("Add", [one, ctx.emit("Mul", [ctx.emit("Sub", [ctx.input(3, dtype),
                                                                         one]), y])])
    loss = ctx.emit("Add", [ctx.emit("Mul", [ctx.emit("Sub", [one, y]), x]),
                            ctx.emit("Mul", [factor, soft])])
    return reduce_loss(ctx, _weighted(ctx, loss, 2))


# --- random -----------------------------------------------------------------------------------

def render_bernoulli(ctx):
    """A fresh 0/1 mask, 1 with probability p: uniform draws below p (ONNX Runtime's own
    generator: the numbers differ from graphtorch's, the distribution does not)."""
    meta = ctx.out_meta()
    zeros = ctx.emit("ConstantOfShape", [ctx.shape(meta.shape)])
    draws = ctx.emit("RandomUniformLike", [zeros], dtype=tensor_type(dtypes.float32))
    keep = ctx.emit("Less", [draws, ctx.const(ctx.attrs["p"], dtypes.float32)])
    return ctx.cast(keep, meta.dtype)


def render_lstm_scan(ctx):
    """ONNX ``LSTM``: the weights' and bias's rows permuted from PyTorch's gate order
    (i, f, g, o) to ONNX's (i, o, f, c); the summed bias is ONNX's input bias, with zeros
    for the recurrent one."""
    floats_only(ctx)
    if any(ctx.used(k) for k in (3, 4, 5)):
        ctx.fail("the per-step cell states and gates saved for the backward have no ONNX "
                 "LSTM output")
    width = ctx.meta(4).shape[0]
    hidden = width // 4
    order = ctx.ints(np.concatenate([np.arange(k * hidden, (k + 1) * hidden)
                                     for k in (0, 3, 1, 2)]))
    dtype = ctx.meta(0).dtype
    w, r, b = (ctx.emit("Gather", [ctx.input(i), order], axis=0) for i in (3, 4, 5))
    w, r = (ctx.emit("Unsqueeze", [m, ctx.ints([0])]) for m in (w, r))
    b = ctx.emit("Unsqueeze", [ctx.emit("Concat", [b, ctx.const(np.zeros(width), dtype)],
                                        axis=0), ctx.ints([0])])
    h0, c0 = (ctx.emit("Unsqueeze", [ctx.input(i), ctx.ints([0])]) for i in (1, 2))
    y, y_h, y_c = ctx.emit("LSTM", [ctx.input(0), w, r, b, "", h0, c0], num_outputs=3,
                           hidden_size=hidden,
                           direction="reverse" if ctx.attrs["reverse"] else "forward")
    hs = ctx.emit("Squeeze", [y, ctx.ints([1])])
    h_n, c_n = (ctx.emit("Squeeze", [t, ctx.ints([0])]) for t in (y_h, y_c))
    return [hs, h_n, c_n, None, None, None]


NN_RENDERERS = {
    M.EMBEDDING: render_embedding,
    C.CONVOLUTION: render_convolution,
    P.MAX_POOL: render_max_pool,
    P.AVG_POOL: render_avg_pool,
    P.ADAPTIVE_AVG_POOL: adaptive("GlobalAveragePool", "AveragePool"),
    P.ADAPTIVE_MAX_POOL: adaptive("GlobalMaxPool", "MaxPool"),
    N.LAYER_NORM: render_layer_norm,
    N.BATCH_NORM: render_batch_norm,
    N.GROUP_NORM: render_group_norm,
    L.MSE_LOSS: render_mse,
    L.SMOOTH_L1_LOSS: smooth("smooth_l1"),
    L.HUBER_LOSS: smooth("huber"),
    L.NLL_LOSS: render_nll,
    L.NLL_LOSS2D: render_nll,
    L.BINARY_CROSS_ENTROPY: render_bce,
    L.BINARY_CROSS_ENTROPY_WITH_LOGITS: render_bce_logits,
    RD.BERNOULLI_MASK: render_bernoulli,
    R.LSTM_SCAN: render_lstm_scan,
}
