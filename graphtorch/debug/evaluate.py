"""Evaluate a graph op by op keeping every value, and match values across two graphs.

`evaluate` runs each OP node through eager dispatch (the interpreter's semantics) and keeps
every intermediate; fused nodes are opened and their member ops run one by one, so each
member's value is visible. `match_values` pairs the values of an optimised graph with those
of the graph it was made from: by value id where a pass kept the node, else structurally
(same op, attrs and matched inputs), which maps fused members back to the ops they came from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..autograd.grad_mode import no_grad
from ..ir.graph import Graph, Node, NodeKind
from ..ir.printing import format_attr
from ..ops.dispatch import call
from ..ops.fused import is_fused
from ..tensor import Tensor


@dataclass
class Evaluated:
    """One evaluated op: the node (a fused member appears with `fused`, its fused node, set)
    and its output arrays."""

    node: Node
    arrays: tuple
    fused: Node | None = None


def _tensor(a):
    return a if isinstance(a, Tensor) else Tensor._wrap(np.asarray(a))


def evaluate(graph: Graph, inputs_by_name: dict, *, on_node=None) -> tuple[dict, list, tuple]:
    """Run `graph` on named input arrays; returns (value id -> array for the top-level values,
    the evaluated ops in order (fused members included), the output arrays).
    `on_node(record)` is called after each op and may raise to stop."""
    order: list[Evaluated] = []

    def get(v, local):
        if isinstance(v, list):
            return [get(x, local) for x in v]
        return v.const if v.is_const else _tensor(local[v.id])

    def run_nodes(g: Graph, local: dict, fused: Node | None):
        for node in g.nodes:
            if node.kind is NodeKind.OUTPUT:
                return tuple(local[v.id] if not v.is_const else v.const for v in node.inputs)
            if node.kind is not NodeKind.OP:
                continue
            if is_fused(node.op) and "graph" in node.attrs:
                sub = node.attrs["graph"]
                sub_local = {n.outputs[0].id: local[v.id]
                             for n, v in zip(sub.inputs, node.inputs)}
                outs = run_nodes(sub, sub_local, node)
            else:
                out = call(node.op, *[get(v, local) for v in node.inputs], **node.attrs)
                outs = out if node.op.num_outputs != 1 else (out,)
                outs = tuple(o._data if hasattr(o, "_data") else o for o in outs)
                record = Evaluated(node, outs, fused)
                order.append(record)
                if on_node is not None:
                    on_node(record)
            for v, a in zip(node.outputs, outs):
                local[v.id] = a
        return ()

    top = {}
    for node in graph.nodes:
        if node.kind in (NodeKind.INPUT, NodeKind.PARAM):
            top[node.outputs[0].id] = np.asarray(inputs_by_name[node.name])
    with no_grad():
        outputs = run_nodes(graph, top, None)
    return top, order, outputs


def op_key(node: Node, input_ids: list) -> tuple:
    """What makes two op applications the same computation: op name, attrs, inputs."""
    attrs = tuple(sorted((k, format_attr(v)) for k, v in node.attrs.items() if k != "graph"))
    return (node.op.name, attrs, tuple(input_ids))


def _input_ids(node: Node, id_of) -> list:
    out = []
    for item in node.inputs:
        vals = item if isinstance(item, list) else [item]
        for v in vals:
            out.append(("c", repr(v.const)) if v.is_const else id_of(v))
    return out


def index_graph(graph: Graph) -> tuple[dict, dict]:
    """(value id -> producing node, op key -> output ids) for a reference graph."""
    producer: dict[int, Node] = {}
    by_key: dict[tuple, tuple] = {}
    for node in graph.nodes:
        for v in node.outputs:
            producer[v.id] = node
        if node.kind is NodeKind.OP:
            key = op_key(node, _input_ids(node, lambda v: v.id))
            by_key.setdefault(key, tuple(v.id for v in node.outputs))
    return producer, by_key


def match_values(reference: Graph, optimised: Graph, order: list[Evaluated]) -> dict:
    """Map each evaluated op record of `optimised` (by position in `order`) to the value ids
    of `reference` its outputs correspond to (None where a pass made a new value)."""
    producer, by_key = index_graph(reference)
    outer: dict[int, object] = {}      # optimised value id -> reference id (or None)
    for node in optimised.nodes:
        if node.kind in (NodeKind.INPUT, NodeKind.PARAM):
            ref = producer.get(node.outputs[0].id)
            outer[node.outputs[0].id] = node.outputs[0].id if ref is not None else None
    by_source: dict[tuple, list] = {}
    for n in reference.nodes:
        if n.kind is NodeKind.OP and n.source:
            by_source.setdefault(_site(n), []).append(n)
    claimed: set = set()
    local_maps: dict[int, dict] = {}   # id(fused node) -> sub value id -> reference id
    result: dict[int, tuple] = {}
    for pos, rec in enumerate(order):
        node = rec.node
        if rec.fused is not None:
            fmap = local_maps.get(id(rec.fused))
            if fmap is None:
                sub = rec.fused.attrs["graph"]
                fmap = {n.outputs[0].id: outer.get(v.id)
                        for n, v in zip(sub.inputs, rec.fused.inputs)}
                local_maps[id(rec.fused)] = fmap
            ids_map = fmap
        else:
            ids_map = outer
        ids = None
        own = node.outputs[0].id
        ref_node = producer.get(own) if rec.fused is None else None
        if ref_node is not None and ref_node.kind is NodeKind.OP and \
                len(ref_node.outputs) == len(node.outputs):
            ids = tuple(v.id for v in node.outputs)
        else:
            inputs = _input_ids(node, lambda v, known=ids_map: known.get(v.id))
            if None not in inputs:
                ids = by_key.get(op_key(node, inputs))
            if ids is None:
                ids = _by_source(node, inputs, by_source, claimed)
        if ids is not None:
            claimed.update(ids)
        result[pos] = ids
        for i, v in enumerate(node.outputs):
            ids_map[v.id] = ids[i] if ids is not None else None
        if rec.fused is not None:
            sub_out = rec.fused.attrs["graph"].outputs
            for k, sv in enumerate(sub_out):
                if not sv.is_const and sv.id in [v.id for v in node.outputs]:
                    outer[rec.fused.outputs[k].id] = ids_map.get(sv.id)
    return result


def _site(node: Node) -> tuple:
    return (node.source, tuple(v.meta for v in node.outputs))


def _by_source(node: Node, inputs: list, by_source: dict, claimed: set):
    """The unmatched reference node from the same user line with the same output metas and
    the same inputs: a pass changed this op (or its attributes) in place."""
    if None in inputs:
        return None
    for cand in by_source.get(_site(node), ()):
        ids = tuple(v.id for v in cand.outputs)
        if not claimed.intersection(ids) and inputs == _input_ids(cand, lambda v: v.id):
            return ids
    return None


def where(node: Node | None) -> str:
    """``file:line in function`` of a node's source, or "<unknown line>"."""
    source = getattr(node, "source", None)
    if not source:
        return "<unknown line>"
    file, line, function = source
    return f"{file}:{line} in {function}" if function else f"{file}:{line}"


def finite(a) -> bool:
    """Whether an array holds no NaN or Inf (non-float arrays always do)."""
    a = np.asarray(a)
    if a.dtype.kind not in "fc":
        return True
    return bool(np.isfinite(a).all())
