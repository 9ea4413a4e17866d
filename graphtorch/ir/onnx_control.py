"""ONNX renderings of the nodes that hold subgraphs: fused groups, `cond`, `scan`,
`while_loop`.

Their OpDefs are made per node shape (not registered), so `CONTROL_RENDERERS` is keyed by
the kernel function that every OpDef of one family shares (an object, never a name).

- fused: expanded back to its primitive nodes, inline (ONNX Runtime fuses on its own).
- cond -> ``If``: both branches read the operands and captures from the outer scope.
- scan -> ``Loop`` with the trip count ``length`` (a Shape-based tensor for a symbolic
  length): step ``i`` reads ``x[i]`` (``x[length - 1 - i]`` when reversed) and emits the
  ``y`` and, when used, the carry entering the step as scan outputs; a reversed scan's
  outputs are flipped back into time order. `nn.RNN/LSTM/GRU` trace into this form.
- while_loop -> ``Loop`` without a trip count: the condition graph runs once before the
  loop and again at the end of every iteration (ONNX tests its condition before a step).
"""

from __future__ import annotations

from .. import dtypes
from ..control_flow.cond import _cond_kernel
from ..control_flow.scan import _scan_kernel
from ..control_flow.while_loop import _while_kernel
from ..ops.fused import _fused_kernel
from ..ops.registry import TensorMeta
from .onnx_context import INT64_MIN, RenderContext

_ITER = TensorMeta((), dtypes.int64)
_COND = TensorMeta((), dtypes.bool_)


def render_fused(ctx: RenderContext):
    inputs = [ctx.value(v) for v in ctx.node.inputs]
    return ctx.inline(ctx.scope, ctx.attrs["graph"], inputs, ctx.base + "/")


def render_cond(ctx: RenderContext):
    operands = [ctx.value(v) for v in ctx.node.inputs[1:]]
    branches = {}
    for key, attr in (("then", "true_graph"), ("else", "false_graph")):
        graph = ctx.attrs[attr]
        scope = ctx.subscope(attr)
        outs = ctx.inline(scope, graph, operands, scope.prefix)
        branches[key] = ctx.finish_subgraph(scope, attr, outs, [v.meta for v in graph.outputs])
    pred = ctx.emit("Reshape", [ctx.input(0, dtypes.bool_), ctx.ints([])])
    return ctx.emit("If", [pred], num_outputs=len(ctx.node.outputs),
                    then_branch=branches["then"], else_branch=branches["else"])


def flip_time(ctx: RenderContext, x: str) -> str:
    return ctx.emit("Slice", [x, ctx.ints([-1]), ctx.ints([INT64_MIN]), ctx.ints([0]),
                              ctx.ints([-1])])


def render_scan(ctx: RenderContext):
    a = ctx.attrs
    body, nc, nx, reverse = a["body"], a["num_carry"], a["num_xs"], a["reverse"]
    ny = len(body.outputs) - nc
    saved = [j for j in range(nc) if ctx.used(nc + ny + j)]
    inputs = [ctx.value(v) for v in ctx.node.inputs]
    trips = ctx.scalar_size(a["length"])
    scope = ctx.subscope("body")
    step = RenderContext(scope, ctx.node, set())
    iteration, cond = scope.formal("i", _ITER), scope.formal("cond", _COND)
    body_inputs = [node.outputs[0] for node in body.inputs]
    names = [scope.formal(node.name, node.outputs[0].meta) for node in body.inputs[:nc]]
    index = iteration
    if reverse:
        last = step.emit("Sub", [trips, step.const(1, dtypes.int64)])
        index = step.emit("Sub", [last, iteration])
    names += [step.emit("Gather", [x, index], axis=0) for x in inputs[nc:nc + nx]]
    names += inputs[nc + nx:]  # captures: read from the outer scope
    outs = ctx.inline(scope, body, names, scope.prefix)
    metas = [v.meta for v in body.outputs]
    results = [cond] + outs + [names[j] for j in saved]
    result_metas = [_COND] + metas + [body_inputs[j].meta for j in saved]
    graph = ctx.finish_subgraph(scope, "body", results, result_metas)
    loop = ctx.emit("Loop", [trips, "", *inputs[:nc]], num_outputs=nc + ny + len(saved),
                    body=graph)
    loop = [loop] if isinstance(loop, str) else loop
    stacked = [flip_time(ctx, t) if reverse else t for t in loop[nc:]]
    result = loop[:nc] + stacked[:ny] + [None] * nc
    for j, t in zip(saved, stacked[ny:]):
        result[nc + ny + j] = t
    return result


def _scalar_bool(ctx: RenderContext, name: str) -> str:
    return ctx.emit("Reshape", [ctx.cast(name, dtypes.bool_), ctx.ints([])])


def render_while(ctx: RenderContext):
    cond_graph, body = ctx.attrs["cond_graph"], ctx.attrs["body_graph"]
    nc = len(body.outputs)
    inputs = [ctx.value(v) for v in ctx.node.inputs]
    captures = inputs[nc:]
    (first,) = ctx.inline(ctx.scope, cond_graph, inputs, ctx.base + "/cond/")
    scope = ctx.subscope("body")
    step = RenderContext(scope, ctx.node, set())
    scope.formal("i", _ITER)
    scope.formal("cond", _COND)
    carries = [scope.formal(node.name, node.outputs[0].meta) for node in body.inputs[:nc]]
    new = ctx.inline(scope, body, carries + captures, scope.prefix)
    (again,) = ctx.inline(scope, cond_graph, new + captures, scope.prefix + "cond/")
    results = [_scalar_bool(step, again)] + new
    graph = ctx.finish_subgraph(scope, "body", results, [_COND] + [v.meta for v in
                                                                   body.outputs])
    return ctx.emit("Loop", ["", _scalar_bool(ctx, first), *inputs[:nc]], num_outputs=nc,
                    body=graph)


CONTROL_RENDERERS = {
    _fused_kernel: render_fused,
    _cond_kernel: render_cond,
    _scan_kernel: render_scan,
    _while_kernel: render_while,
}
