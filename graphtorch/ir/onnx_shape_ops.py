"""ONNX renderings of the structural ops: views, movement, indexing, scatter and sorting
(`SHAPE_RENDERERS`, keyed by OpDef object; see `onnx_ops`).

Shapes come from the nodes' output metas, so symbolic sizes (`graphtorch.symbolic`) become
Shape-based tensors and one exported model serves every size the trace allowed.
"""

from __future__ import annotations

import math

from .. import dtypes
from ..ops import devices as DV
from ..ops import indexing as IX
from ..ops import movement as M
from ..ops import scatter as S
from ..ops import sorting as SO
from ..ops import views as V
from ..ops.constant import CONSTANT
from ..symbolic import SymInt
from .onnx_context import INT64_MAX, INT64_MIN
from .onnx_ops import alias
from .onnx_reduce_ops import at_least_1d, back_to_meta


def is_static(size) -> bool:
    return not isinstance(size, SymInt)


# --- views and movement -----------------------------------------------------------------------

def render_reshape(ctx):
    """Reshape to the view's own sizes when it has a -1 (ONNX infers it too, so
    ``view(-1, 400)`` needs no size computation), else to the output's sizes."""
    asked, shape = tuple(ctx.attrs.get("shape", ())), ctx.out_meta().shape
    if any(is_static(s) and s == 0 for s in shape):
        return ctx.emit("Reshape", [ctx.input(0), ctx.shape(shape)], allowzero=1)
    if sum(1 for s in asked if is_static(s) and s == -1) == 1 and len(asked) == len(shape):
        shape = asked
    return ctx.emit("Reshape", [ctx.input(0), ctx.shape(shape)])


def render_expand(ctx):
    return ctx.emit("Expand", [ctx.input(0), ctx.shape(ctx.out_meta().shape)])


def render_permute(ctx):
    rank = len(ctx.meta(0).shape)
    return ctx.emit("Transpose", [ctx.input(0)], perm=[d % rank for d in ctx.attrs["dims"]])


def render_transpose(ctx):
    rank = len(ctx.meta(0).shape)
    perm = list(range(rank))
    if rank:
        a, b = ctx.attrs["dim0"] % rank, ctx.attrs["dim1"] % rank
        perm[a], perm[b] = perm[b], perm[a]
    return ctx.emit("Transpose", [ctx.input(0)], perm=perm)


def render_squeeze(ctx):
    shape = ctx.meta(0).shape
    dims = ctx.attrs.get("dims")
    dims = range(len(shape)) if dims is None else [d % max(len(shape), 1) for d in dims]
    axes = sorted({d for d in dims if len(shape) and is_static(shape[d]) and shape[d] == 1})
    return ctx.emit("Squeeze", [ctx.input(0), ctx.ints(axes)]) if axes else ctx.input(0)


def render_unsqueeze(ctx):
    rank = len(ctx.out_meta().shape)
    return ctx.emit("Unsqueeze", [ctx.input(0), ctx.ints([ctx.attrs["dim"] % rank])])


def render_select(ctx):
    index = ctx.scalar_size(ctx.attrs["index"])
    return ctx.emit("Gather", [ctx.input(0), index], axis=int(ctx.attrs["dim"]))


def slice_axis(ctx, x, axis, start, stop, step=1):
    starts = ctx.size(0 if start is None else start)
    ends = ctx.size(INT64_MAX if stop is None else stop)
    return ctx.emit("Slice", [x, starts, ends, ctx.ints([axis]), ctx.ints([step])])


def render_slice(ctx):
    a = ctx.attrs
    return slice_axis(ctx, ctx.input(0), a["dim"], a.get("start"), a.get("stop"),
                      a.get("step", 1))


def render_cat(ctx):
    dtype, rank = ctx.out_meta().dtype, len(ctx.out_meta().shape)
    # PyTorch's legacy rule: 1-d empty tensors are skipped whatever the other ranks
    parts = [ctx.value(v, dtype) for v in ctx.node.inputs[0]
             if rank == 1 or tuple(v.meta.shape) != (0,)]
    return ctx.emit("Concat", parts, axis=int(ctx.attrs.get("dim", 0)))


def render_stack(ctx):
    dtype = ctx.out_meta().dtype
    dim = ctx.attrs.get("dim", 0) % len(ctx.out_meta().shape)
    parts = [ctx.emit("Unsqueeze", [ctx.value(v, dtype), ctx.ints([dim])])
             for v in ctx.node.inputs[0]]
    return ctx.emit("Concat", parts, axis=dim)


def render_flip(ctx):
    dims = list(ctx.attrs["dims"])
    if not dims or not ctx.meta(0).shape:
        return ctx.input(0)
    n = len(dims)
    return ctx.emit("Slice", [ctx.input(0), ctx.ints([-1] * n), ctx.ints([INT64_MIN] * n),
                              ctx.ints(dims), ctx.ints([-1] * n)])


def render_roll(ctx):
    x, shape = ctx.input(0), ctx.meta(0).shape
    shifts, dims = list(ctx.attrs["shifts"]), list(ctx.attrs.get("dims") or ())
    if not dims:  # roll the flattened tensor, then restore the shape
        flat = ctx.emit("Reshape", [x, ctx.ints([-1])])
        size = math.prod(shape) if all(is_static(s) for s in shape) else None
        return ctx.emit("Reshape", [roll_axis(ctx, flat, 0, shifts[0], size),
                                    ctx.shape(shape)])
    for shift, dim in zip(shifts, dims):
        x = roll_axis(ctx, x, dim, shift, shape[dim] if is_static(shape[dim]) else None)
    return x


def roll_axis(ctx, x, axis, shift, size):
    if size is None:
        ctx.fail("rolling a dimension of symbolic size")
    shift = shift % size if size else 0
    if not shift:
        return x
    return ctx.emit("Concat", [slice_axis(ctx, x, axis, size - shift, size),
                               slice_axis(ctx, x, axis, 0, size - shift)], axis=axis)


def triangle(upper: int):
    def render(ctx):
        k = ctx.const(ctx.attrs.get("diagonal", 0), dtypes.int64)
        return ctx.emit("Trilu", [ctx.input(0), k], upper=upper)
    return render


def render_repeat(ctx):
    repeats = list(ctx.attrs["repeats"])
    x, shape = ctx.input(0), tuple(ctx.meta(0).shape)
    extra = len(repeats) - len(shape)
    if extra:
        x = ctx.emit("Reshape", [x, ctx.shape((1,) * extra + shape)])
    return ctx.emit("Tile", [x, ctx.shape(repeats)])


def render_pad(ctx):
    pad, rank = list(ctx.attrs["pad"]), len(ctx.meta(0).shape)
    begins, ends = [0] * rank, [0] * rank
    for i in range(len(pad) // 2):
        begins[rank - 1 - i], ends[rank - 1 - i] = pad[2 * i], pad[2 * i + 1]
    dtype = ctx.meta(0).dtype
    value = ctx.const(ctx.attrs.get("value", 0), dtype)
    return ctx.emit("Pad", [ctx.input(0), ctx.ints(begins + ends), value], mode="constant")


# --- indexing and scatter ---------------------------------------------------------------------

def render_index(ctx):
    """x[spec] with basic items and at most one integer index tensor (NumPy puts the
    dims of a single advanced index where it stands: one Gather)."""
    spec = ctx.attrs["spec"]
    kinds = [item[0] for item in spec]
    tensors = [item for item in spec if item[0] == "tensor"]
    if len(tensors) > 1 or (tensors and "int" in kinds):
        ctx.fail("more than one advanced index (index tensors, or an int with one)")
    x, shape = ctx.input(0), list(ctx.meta(0).shape)
    consumed = sum(k in ("slice", "int", "tensor") for k in kinds)
    axis = 0
    for item in spec:
        kind = item[0]
        if kind == "ellipsis":
            axis += len(shape) - consumed
        elif kind == "none":
            x = ctx.emit("Unsqueeze", [x, ctx.ints([axis])])
            axis += 1
        elif kind == "int":
            x = ctx.emit("Gather", [x, ctx.scalar_size(item[1])], axis=axis)
        elif kind == "slice":
            if item[1:] != (None, None, None) and item[1:] != (None, None, 1):
                step = 1 if item[3] is None else item[3]
                x = slice_axis(ctx, x, axis, item[1], item[2], step)
            axis += 1
        else:
            v = ctx.node.inputs[1 + item[1]]
            if v.meta.dtype is dtypes.bool_:
                ctx.fail("a bool mask index (its result size depends on the data)")
            x = ctx.emit("Gather", [x, ctx.value(v, dtypes.int64)], axis=axis)
            axis += len(v.meta.shape)
    return x


def _index_1d(ctx, i: int) -> str:
    x = ctx.input(i)
    return ctx.emit("Unsqueeze", [x, ctx.ints([0])]) if not ctx.meta(i).shape else x


def render_gather(ctx):
    x, index = at_least_1d(ctx, ctx.input(0)), _index_1d(ctx, 1)
    return back_to_meta(ctx, ctx.emit("GatherElements", [x, index], axis=int(ctx.attrs["dim"])))


def render_index_select(ctx):
    x = at_least_1d(ctx, ctx.input(0))
    y = ctx.emit("Gather", [x, ctx.input(1)], axis=int(ctx.attrs["dim"]))
    return ctx.emit("Reshape", [y, ctx.shape(ctx.out_meta().shape)]) \
        if len(ctx.meta(1).shape) != 1 or not ctx.meta(0).shape else y


def render_masked_fill(ctx):
    dtype = ctx.out_meta().dtype
    return ctx.emit("Where", [ctx.input(1, dtypes.bool_), ctx.input(2, dtype), ctx.input(0)])


def scatter(reduction: str | None):
    def render(ctx):
        dtype = ctx.out_meta().dtype
        reduce = reduction or {None: "none", "add": "add", "multiply": "mul"}[
            ctx.attrs.get("reduce")]
        src, index = ctx.node.inputs[2], ctx.meta(1).shape
        updates = ctx.value(src, dtype)
        if src.is_const:  # a scalar value: one per index
            updates = ctx.emit("Expand", [updates, ctx.shape(index)])
        elif tuple(src.meta.shape) != tuple(index):  # PyTorch reads src[:index.shape]
            rank = len(index)
            updates = ctx.emit("Slice", [updates, ctx.ints([0] * rank), ctx.shape(index),
                                         ctx.ints(range(rank))])
        if not ctx.meta(0).shape:
            updates = ctx.emit("Reshape", [updates, ctx.ints([1])])
        out = ctx.emit("ScatterElements", [at_least_1d(ctx, ctx.input(0)), _index_1d(ctx, 1),
                                           updates], axis=int(ctx.attrs["dim"]),
                       reduction=reduce)
        return back_to_meta(ctx, out)
    return render


# --- sorting ----------------------------------------------------------------------------------

def top_k(ctx, k, dim, largest):
    """(values, int64 indices); ONNX's TopK breaks ties by the lower index, as the stable
    sort graphtorch uses."""
    if ctx.meta(0).dtype is dtypes.bool_ or not len(ctx.meta(0).shape):
        ctx.fail("a bool or 0-d input")
    return ctx.emit("TopK", [ctx.input(0), ctx.size(k)], num_outputs=2, axis=int(dim),
                    largest=int(bool(largest)), sorted=1)


def render_sort(ctx):
    dim = ctx.attrs.get("dim", -1)
    shape = ctx.meta(0).shape
    return top_k(ctx, shape[dim] if shape else 1, dim, ctx.attrs.get("descending", False))


def render_topk(ctx):
    return top_k(ctx, ctx.attrs["k"], ctx.attrs.get("dim", -1), ctx.attrs.get("largest", True))


def render_constant(ctx):
    """A constant made while tracing (``gt.tensor([...])`` inside the model): an initializer."""
    return ctx.state.constant(ctx.attrs["value"].array)


def render_untracked_write(ctx):
    """A write autograd does not see: in an inference graph, just the new value."""
    return ctx.emit("Identity", [ctx.input(1)])


SHAPE_RENDERERS = {
    CONSTANT: render_constant,
    V.UNTRACKED_WRITE: render_untracked_write,
    V.VIEW_OP: render_reshape,
    V.UNSAFE_VIEW: render_reshape,
    V.EXPAND: render_expand,
    V.PERMUTE: render_permute,
    V.TRANSPOSE: render_transpose,
    V.SQUEEZE: render_squeeze,
    V.UNSQUEEZE: render_unsqueeze,
    V.SELECT: render_select,
    V.SLICE: render_slice,
    V.ALIAS: alias,
    DV.TO_DEVICE: alias,
    M.CAT: render_cat,
    M.STACK: render_stack,
    M.FLIP: render_flip,
    M.ROLL: render_roll,
    M.TRIL: triangle(0),
    M.TRIU: triangle(1),
    M.REPEAT: render_repeat,
    M.CONSTANT_PAD_ND: render_pad,
    IX.INDEX: render_index,
    S.GATHER: render_gather,
    S.INDEX_SELECT: render_index_select,
    S.MASKED_FILL: render_masked_fill,
    S.SCATTER: scatter(None),
    S.SCATTER_ADD: scatter("add"),
    SO.SORT: render_sort,
    SO.TOPK: render_topk,
}
