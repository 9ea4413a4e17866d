"""Graph surgery for passes: replace uses, remove nodes, insert nodes, copy a graph.

Every helper keeps the graph's invariants (`Graph.verify`): values defined once (SSA),
nodes in topological order with the OUTPUT node last, every op node's output metas equal
to its op's `infer`. Helpers raise `GraphError` rather than leave a broken graph.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from ..ops.registry import OpDef
from .graph import Graph, GraphError, Node, NodeKind, Value, as_metas, infer_args


def _substitute(node: Node, mapping: Mapping[int, Value]) -> bool:
    """Rewrite `node.inputs` through `mapping` (value id -> new Value); True if changed."""
    changed = False
    items = []
    for item in node.inputs:
        if isinstance(item, list):
            new = [mapping.get(v.id, v) if not v.is_const else v for v in item]
            changed = changed or any(a is not b for a, b in zip(new, item))
            items.append(new)
        elif not item.is_const and item.id in mapping:
            items.append(mapping[item.id])
            changed = True
        else:
            items.append(item)
    if changed:
        node.inputs = tuple(items)
    return changed


def replace_uses(graph: Graph, mapping: Mapping[int, Value]) -> int:
    """Make every reader of value ``%k`` (OUTPUT and variadic lists included) read
    ``mapping[k]`` instead; returns the number of nodes changed. One walk over the graph,
    so passes batch their replacements here. Each new value must be defined before its
    first reader (GraphError otherwise) and have the old value's meta (a pass that swaps
    a value for one of another shape or dtype is a bug).

    >>> replace_uses(graph, {mul_out.id: x})   # x * 1 -> x
    """
    if not mapping:
        return 0
    for old_id, new in mapping.items():
        if not isinstance(new, Value) or new.is_const:
            raise GraphError(f"%{old_id} can only be replaced by a tensor Value, not {new!r}")
    position = {id(n): i for i, n in enumerate(graph.nodes)}
    changed = 0
    for pos, node in enumerate(graph.nodes):
        if _substitute(node, mapping):
            changed += 1
            for v in node.tensor_inputs():
                where = position.get(id(v.node))
                if where is None or where >= pos:
                    raise GraphError(f"replace_uses: {v.name} is read by node {pos} before its "
                                     "definition")
    return changed


def replace_all_uses(graph: Graph, old: Value, new: Value) -> int:
    """Make every reader of `old` read `new` (see `replace_uses`); returns nodes changed.

    >>> replace_all_uses(graph, neg_neg_out, x)
    """
    if old.meta != new.meta:
        raise GraphError(f"cannot replace {old.name} ({old.meta}) by {new.name} ({new.meta})")
    return replace_uses(graph, {old.id: new})


def remove_nodes(graph: Graph, nodes: Iterable[Node]) -> None:
    """Remove OP `nodes` from `graph`; raises GraphError if a remaining node reads one of
    their outputs (replace or remove the readers first).

    >>> remove_nodes(graph, [dead_node])
    """
    doomed = {id(n): n for n in nodes}
    if not doomed:
        return
    for n in doomed.values():
        if n.kind is not NodeKind.OP or n.graph is not graph:
            raise GraphError(f"remove_nodes: only OP nodes of this graph can be removed "
                             f"({n!r})")
    gone = {v.id for n in doomed.values() for v in n.outputs}
    kept = []
    for node in graph.nodes:
        if id(node) in doomed:
            continue
        for v in node.tensor_inputs():
            if v.id in gone:
                raise GraphError(f"remove_nodes: {v.name} is still read by {node!r}")
        kept.append(node)
    graph.nodes[:] = kept


def insert_node(graph: Graph, op: OpDef, inputs: Sequence, attrs: dict | None = None, *,
                before: Node, source: tuple | None = None) -> Value | tuple[Value, ...]:
    """Insert ``op(*inputs, **attrs)`` just before node `before`; returns its output Value
    (a tuple for multi-output ops) with metas from ``op.infer``, like `Graph.add_node`.
    Inputs must be defined before `before` (GraphError otherwise); plain Python values
    become constants. `source` defaults to `before`'s, and ``grad_of`` is `before`'s.

    >>> sq = insert_node(graph, MUL, [x, x], before=pow_node)
    """
    if not isinstance(op, OpDef):
        raise TypeError(f"insert_node: op must be an OpDef, not {type(op).__name__}")
    try:
        index = next(i for i, n in enumerate(graph.nodes) if n is before)
    except StopIteration:
        raise GraphError(f"insert_node: {before!r} is not in the graph") from None
    defined = {v.id for n in graph.nodes[:index] for v in n.outputs}
    attrs = dict(attrs or {})
    items = []
    for i, x in enumerate(inputs):
        if op.variadic and i == 0:
            items.append([graph._as_value(v) for v in x])
        else:
            items.append(graph._as_value(x))
    node = Node(graph, NodeKind.OP, op, tuple(items), attrs,
                source=source if source is not None else before.source)
    node.grad_of = before.grad_of  # a rewrite of a backward node still differentiates it
    node.no_grad = before.no_grad
    for v in node.tensor_inputs():
        if v.id not in defined:
            raise GraphError(f"insert_node: {v.name} is not defined before {before!r}")
    metas = as_metas(op.infer(*infer_args(node), **attrs))
    node.outputs = tuple(graph._new_value(node, m, i) for i, m in enumerate(metas))
    graph.nodes.insert(index, node)
    return node.outputs[0] if len(node.outputs) == 1 else node.outputs


def copy_graph(graph: Graph) -> Graph:
    """An independent copy of `graph`: new Graph, Node and Value objects with the same
    value ids, names, sources and attrs (attr dicts copied; attr values, which passes
    never mutate, shared). No `infer` is re-run. Attributes set by passes (such as
    ``memory_plan``) are not copied.

    >>> g2 = copy_graph(g); str(g2) == str(g)
    True
    """
    new = Graph()
    values: dict[int, Value] = {}

    def ref(v):
        if isinstance(v, list):
            return [ref(x) for x in v]
        return v if v.is_const else values[v.id]

    for node in graph.nodes:
        inputs = tuple(ref(v) for v in node.inputs)
        copy = Node(new, node.kind, node.op, inputs, dict(node.attrs), name=node.name,
                    source=node.source)
        copy.grad_of = node.grad_of
        copy.no_grad = node.no_grad
        copy.outputs = tuple(Value(v.id, v.meta, copy, v.index) for v in node.outputs)
        for v in copy.outputs:
            values[v.id] = v
        new.nodes.append(copy)
        if node is graph._output_node:
            new._output_node = copy
    new._next_id = graph._next_id
    return new


__all__ = ["copy_graph", "insert_node", "remove_nodes", "replace_all_uses", "replace_uses"]
