"""Gradient generation as a graph transformation, and the forward/backward split.

`build_joint` replays a forward graph on symbolic tensors with autograd recording, then runs
the autograd engine itself on them: every op's vjp rule (written in graphtorch ops, the same
rules eager backward runs) is recorded as graph nodes. The result is one joint graph whose
inputs are the forward inputs plus one cotangent per differentiable output, and whose outputs
are the forward outputs plus the gradients. Backward nodes keep the forward node they
differentiate in ``node.grad_of`` and its source line.

`partition` splits a joint graph into a forward graph, which also returns the residuals (the
forward values the backward reads), and a backward graph taking the residuals and the
cotangents.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from ..autograd import grad_mode
from ..autograd.engine import run_backward
from ..ir import tracer as tracing
from ..ir.graph import Graph, Node, NodeKind, Value
from ..ops.dispatch import call
from ..ops.elementwise import LOGICAL_AND, LOGICAL_NOT, LOGICAL_OR
from ..tensor import Tensor


@dataclass
class JointGraph:
    """A forward graph extended with its backward (see `build_joint`)."""

    graph: Graph
    params: dict                 # PARAM name -> tensor (the forward's plus constants in vjps)
    num_outputs: int             # forward outputs come first in graph.outputs
    grad_inputs: list[int]       # positions (among INPUT+PARAM nodes) with a gradient output
    differentiable: list[int]    # forward outputs that take a cotangent input
    # (index into grad_inputs, ...): gradients present only when a branch is taken; the
    # graph's last outputs are one bool per entry, False where eager's .grad stays None
    conditional: list[int] = field(default_factory=list)


@dataclass
class Split:
    """A joint graph cut in two. ``forward`` returns its outputs then the residuals;
    ``backward`` takes the residuals then the cotangents and returns the gradients."""

    forward: Graph
    backward: Graph
    num_outputs: int
    num_residuals: int
    residual_sources: list = field(default_factory=list)  # forward Node of each residual


def build_joint(graph: Graph, params: dict, requires_grad: Sequence[bool],
                output_grads: Sequence[bool] = ()) -> JointGraph:
    """Append the backward of `graph` w.r.t. its inputs flagged in `requires_grad` (one flag
    per INPUT/PARAM node, in graph order). Outputs that require grad and are floating point
    get a cotangent INPUT named ``grad_<k>``, except the first ``len(output_grads)`` outputs
    flagged False there (a value eager code never differentiates, such as the hidden base
    of a detached alias)."""
    if tracing.current_tracer() is not None:
        raise tracing.TracingError("gradient generation cannot run inside gt.trace")
    tracer = tracing.Tracer({})
    new = tracer.graph
    env: dict[int, Tensor] = {}
    leaves = []
    inputs = [n for n in graph.nodes if n.kind in (NodeKind.INPUT, NodeKind.PARAM)]
    if len(requires_grad) != len(inputs):
        raise ValueError(f"requires_grad has {len(requires_grad)} flags for {len(inputs)} "
                         "graph inputs")
    for node, flag in zip(inputs, requires_grad):
        meta = node.outputs[0].meta
        value = new.add_input(node.name, meta, node.kind, source=node.source)
        t = Tensor._wrap(tracing.SymbolicArray(meta.shape, meta.dtype.np_dtype, value))
        t._requires_grad = bool(flag)
        env[node.outputs[0].id] = t
        leaves.append(t)

    def get(v):
        if isinstance(v, list):
            return [get(x) for x in v]
        return v.const if v.is_const else env[v.id]

    tracing._STATE.tracer = tracer
    try:
        with grad_mode.enable_grad():
            for node in graph.nodes:
                if node.kind is not NodeKind.OP:
                    continue
                tracer.source_override = node.source
                if node.no_grad:  # traced under no_grad (or a detach): a gradient barrier
                    with grad_mode.no_grad():
                        out = call(node.op, *[get(v) for v in node.inputs], **node.attrs)
                else:
                    out = call(node.op, *[get(v) for v in node.inputs], **node.attrs)
                outs = out if node.op.num_outputs != 1 else (out,)
                for v, t in zip(node.outputs, outs):
                    env[v.id] = t
        tracer.source_override = None
        outputs = [get(v) for v in graph.outputs]
        differentiable = [i for i, t in enumerate(outputs)
                          if isinstance(t, Tensor) and t.requires_grad
                          and t.dtype.is_floating_point
                          and (i >= len(output_grads) or output_grads[i])]
        cotangents = []
        for k, i in enumerate(differentiable):
            meta = graph.outputs[i].meta
            value = new.add_input(f"grad_{k}", meta, NodeKind.INPUT)
            cotangents.append(Tensor._wrap(tracing.SymbolicArray(
                meta.shape, meta.dtype.np_dtype, value)))
        wanted = [i for i, t in enumerate(leaves) if t.requires_grad]
        grads = []
        if differentiable and wanted:
            grads = run_backward([outputs[i] for i in differentiable], cotangents,
                                 retain_graph=False, create_graph=False,
                                 inputs=[leaves[i] for i in wanted], accumulate=False)
    finally:
        tracing._STATE.tracer = None
    presence = _presence(graph, [graph.outputs[i] for i in differentiable])
    # an input eager backward never reaches (e.g. an operand no branch of a cond uses)
    # gets no gradient, even where the graph's vjp rules computed zeros for it
    present = [(i, g) for i, g in zip(wanted, grads)
               if g is not None and presence.get(inputs[i].outputs[0].id, False) is not False]
    flags, conditional = _presence_flags(presence, inputs, [i for i, _ in present], env,
                                         tracer)
    new.set_outputs([tracer.value_of(t) for t in outputs]
                    + [tracer.value_of(g) for _, g in present] + flags)
    new.verify()
    all_params = dict(params)
    all_params.update(tracer.params)
    return JointGraph(new, all_params, len(outputs), [i for i, _ in present], differentiable,
                      conditional)


def _presence_flags(presence: dict, inputs, positions, env, tracer):
    """Bool graph values saying whether eager backward reaches each input in `positions`
    (an input used only by one branch of a `cond` gets no gradient, .grad stays None, when
    the other branch runs), for the inputs where that depends on a predicate; and their
    indices among `positions`."""
    flags, conditional = [], []
    with grad_mode.no_grad():
        tracer_state = tracing_state()
        previous, tracer_state.tracer = tracer_state.tracer, tracer
        try:
            for k, pos in enumerate(positions):
                expr = presence.get(inputs[pos].outputs[0].id, False)
                if expr is True or expr is False:
                    continue
                ops = {"not": LOGICAL_NOT, "and": LOGICAL_AND, "or": LOGICAL_OR}
                flags.append(tracer.value_of(_materialize(expr, env, call, ops)))
                conditional.append(k)
        finally:
            tracer_state.tracer = previous
    return flags, conditional


def tracing_state():
    return tracing._STATE


def _presence(graph: Graph, outputs) -> dict:
    """value id -> when eager backward from `outputs` reaches it: True, False, or an
    expression over cond predicates (("pred", Value, polarity), ("and"|"or", a, b))."""
    pres: dict = {v.id: True for v in outputs if not v.is_const}
    for node in reversed(graph.nodes):
        if node.kind is not NodeKind.OP:
            continue
        if node.no_grad or node.op.vjp is None:
            continue  # a gradient barrier (no_grad, detach) or a non-differentiable op
        reached = False
        for v in node.outputs:
            reached = _or(reached, pres.get(v.id, False))
        if reached is False:
            continue
        branches = node.op.branch_attrs
        for k, v in enumerate(node.inputs):
            values = v if isinstance(v, list) else [v]
            for u in values:
                if u.is_const or (branches and k == 0):
                    continue
                contribution = reached
                if branches:
                    used = [_input_used(node.attrs[name], k - 1) for name in branches]
                    pred = node.inputs[0]
                    condition = True if all(used) else False if not any(used) else \
                        ("pred", pred, used[0])
                    contribution = _and(reached, condition)
                pres[u.id] = _or(pres.get(u.id, False), contribution)
    return pres


def _input_used(graph: Graph, index: int) -> bool:
    """Whether input `index` of a subgraph reaches its outputs."""
    cache = graph.__dict__.setdefault("_inputs_used", {})
    if not cache:
        live = {v.id for v in graph.outputs if not v.is_const}
        for node in reversed(graph.nodes):
            if node.kind is NodeKind.OP and any(v.id in live for v in node.outputs):
                live.update(v.id for v in node.tensor_inputs())
        for i, node in enumerate(graph.inputs):
            cache[i] = node.outputs[0].id in live
    return cache.get(index, True)


def _and(a, b):
    if a is False or b is False:
        return False
    if a is True:
        return b
    if b is True:
        return a
    return ("and", a, b)


def _or(a, b):
    if a is True or b is True:
        return True
    if a is False:
        return b
    if b is False:
        return a
    return ("or", a, b)


def _materialize(expr, env, call, ops):
    """A bool tensor of `expr` (see `_presence`) in the graph being built."""
    if expr[0] == "pred":
        t = env[expr[1].id].reshape(())
        return t if expr[2] else call(ops["not"], t)
    a = _materialize(expr[1], env, call, ops)
    b = _materialize(expr[2], env, call, ops)
    return call(ops[expr[0]], a, b)


def partition(joint: JointGraph) -> Split:
    """Cut the joint graph: nodes that depend on a cotangent form the backward; every other
    node is forward. Forward values read by the backward become residuals."""
    graph = joint.graph
    cotangent_ids = {n.outputs[0].id for n in graph.inputs if n.name.startswith("grad_")
                     and n.name[5:].isdigit()}
    backward_ids: set[int] = set(cotangent_ids)
    backward_nodes: list[Node] = []
    for node in graph.nodes:
        if node.kind is NodeKind.OP and any(v.id in backward_ids
                                            for v in node.tensor_inputs()):
            backward_nodes.append(node)
            backward_ids.update(v.id for v in node.outputs)
    outputs = list(graph.outputs)
    fwd_outputs, grad_outputs = outputs[:joint.num_outputs], outputs[joint.num_outputs:]
    residuals: dict[int, Value] = {}
    for node in backward_nodes:
        for v in node.tensor_inputs():
            if v.id not in backward_ids:
                residuals.setdefault(v.id, v)
    for v in grad_outputs:  # a gradient that does not depend on the cotangent (e.g. zeros)
        if not v.is_const and v.id not in backward_ids:
            residuals.setdefault(v.id, v)
    forward = _copy_subgraph(graph, [n for n in graph.nodes if n.kind is NodeKind.OP
                                     and n not in set(backward_nodes)],
                             inputs=[n for n in graph.nodes if n.kind in
                                     (NodeKind.INPUT, NodeKind.PARAM)
                                     and n.outputs[0].id not in cotangent_ids],
                             outputs=fwd_outputs + list(residuals.values()))
    backward = _copy_subgraph(graph, backward_nodes, inputs=None,
                              outputs=grad_outputs,
                              extra_inputs=list(residuals.values())
                              + [n.outputs[0] for n in graph.inputs
                                 if n.outputs[0].id in cotangent_ids])
    return Split(forward, backward, joint.num_outputs, len(residuals),
                 [v.node for v in residuals.values()])


def _copy_subgraph(graph: Graph, nodes: list[Node], inputs, outputs, extra_inputs=()):
    """A new graph with `inputs` (INPUT/PARAM nodes of `graph`, kept as they are) and
    `extra_inputs` (values of `graph`, which become INPUT nodes), the op `nodes` needed for
    `outputs`, and those outputs."""
    new = Graph()
    env: dict[int, Value] = {}
    for node in inputs or ():
        env[node.outputs[0].id] = new.add_input(node.name, node.outputs[0].meta, node.kind,
                                                source=node.source)
    for v in extra_inputs:
        name = v.node.name if v.node.kind is NodeKind.INPUT and v.node.name.startswith(
            "grad_") else f"saved_{v.id}"
        env[v.id] = new.add_input(name, v.meta, NodeKind.INPUT, source=v.node.source)
    needed = _needed(nodes, outputs, env)

    def get(v):
        if isinstance(v, list):
            return [get(x) for x in v]
        return v if v.is_const else env[v.id]

    for node in nodes:
        if node not in needed:
            continue
        out = new.add_node(node.op, [get(v) for v in node.inputs], node.attrs,
                           source=node.source)
        outs = out if isinstance(out, tuple) else (out,)
        outs[0].node.grad_of = node.grad_of
        for v, o in zip(node.outputs, outs):
            env[v.id] = o
    new.set_outputs([get(v) for v in outputs])
    return new


def _needed(nodes: list[Node], outputs, available: dict) -> set:
    """The nodes among `nodes` that `outputs` depend on (random ops and ops with side
    effects are always kept)."""
    producer = {v.id: n for n in nodes for v in n.outputs}
    needed: set = set()
    stack = [v for v in outputs if not v.is_const]
    stack += [v for n in nodes if n.op.random or n.op.side_effects for v in n.outputs]
    while stack:
        v = stack.pop()
        if v.id in available:
            continue
        node = producer.get(v.id)
        if node is None or node in needed:
            continue
        needed.add(node)
        stack.extend(node.tensor_inputs())
    return needed
