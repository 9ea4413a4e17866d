"""Elementwise fusion: maximal groups of connected elementwise ops become one `fused` node.

A group holds ops whose outputs all have one shape (inputs may be smaller and broadcast);
it is convex (no path leaves the group and comes back), so the fused node can stand where
its members stood. Its subgraph (attribute ``graph``) keeps the members with their source
lines; values used outside the group become the fused node's outputs. Random ops and ops
with several outputs stay outside, and random ops keep their order (the random stream).
A lone op becomes a fused node too when its output is large (`LONE_OP_MIN_ELEMENTS`).
Backends run a fused node without full-size temporaries (`graphtorch.backends.numpy_fused`);
the interpreter runs its subgraph op by op. Reductions are not fused into groups: on NumPy a
chunked sum of a fused expression saved only ~20% over fusing then summing (4M float32),
and it changes the summation order, so results would no longer equal eager bit for bit.
"""

from __future__ import annotations

import heapq
import math

from ..ir.graph import Graph, Node, NodeKind, Value
from ..ops.fused import fused_op, is_fused
from ..ops.registry import Category


def fusible_op(op) -> bool:
    """Whether nodes of `op` may be fused: a deterministic single-output ELEMENTWISE op.
    Every backend renders every such op (tests/backends/test_cuda_ops.py)."""
    return op.category is Category.ELEMENTWISE and not op.random and not op.variadic \
        and op.num_outputs == 1 and not is_fused(op)


def fusible(node: Node) -> bool:
    """Whether `node` may join a fused group: a node of a `fusible_op` whose tensor inputs
    broadcast to its output shape."""
    if node.kind is not NodeKind.OP or not fusible_op(node.op):
        return False
    shape = node.outputs[0].meta.shape
    inputs = node.tensor_inputs()
    return bool(inputs) and all(len(v.meta.shape) <= len(shape) for v in inputs)


class _Group:
    """Members (in graph order), their positions as a bitmask, and the nodes outside the
    group that feed it."""

    __slots__ = ("ancestors", "feeders", "mask", "members", "shape")

    def __init__(self, node: Node, position: int, ancestors: int):
        self.members = [node]
        self.mask = 1 << position
        self.ancestors = ancestors  # of all members: the group as one contracted node
        self.shape = node.outputs[0].meta.shape
        self.feeders = {id(v.node): v.node for v in node.tensor_inputs()}


# A lone elementwise op this large (static elements) is fused too: a fused node runs as one
# native pass split over threads, where NumPy runs one thread (and `np.where`, ~0.7 ns per
# element, is 3-4x slower than the native pass). Below it NumPy's ufunc call is cheaper.
LONE_OP_MIN_ELEMENTS = 1 << 16


def fuse_elementwise(graph: Graph, min_ops: int = 2,
                     lone_min_elements: int | None = LONE_OP_MIN_ELEMENTS) -> Graph:
    """Replace each maximal convex group of at least `min_ops` connected elementwise ops by
    one fused node; returns `graph` (changed in place). A group of one op is fused as well
    when its output has at least `lone_min_elements` elements (a static shape; None: never).

    Before::

        %0 = input x : f32[4]
        %1 = mul(%0, 0.5) : f32[4]
        %2 = tanh(%1) : f32[4]
        %3 = add(%2, 1) : f32[4]
        return (%3,)

    After::

        %0 = input x : f32[4]
        %4 = fused(%0) : f32[4]
          %0 = input a0 : f32[4]
          %1 = mul(%0, 0.5) : f32[4]
          %2 = tanh(%1) : f32[4]
          %3 = add(%2, 1) : f32[4]
          return (%3,)
        return (%4,)
    """
    nodes = graph.nodes
    position = {id(n): i for i, n in enumerate(nodes)}
    ancestors: dict[int, int] = {}  # id(node) -> bitmask of the positions of its ancestors
    group_of: dict[int, _Group] = {}
    previous_draw = None
    for pos, node in enumerate(nodes):
        mask = 0
        for v in node.tensor_inputs():
            mask |= ancestors[id(v.node)] | (1 << position[id(v.node)])
        if node.kind is NodeKind.OP and node.op.random:
            # Draws keep their order (the random stream): each one depends on the last.
            if previous_draw is not None:
                mask |= ancestors[id(previous_draw)] | (1 << position[id(previous_draw)])
            previous_draw = node
        ancestors[id(node)] = mask
        if not fusible(node):
            continue
        group = group_of[id(node)] = _Group(node, pos, mask)
        for v in node.tensor_inputs():
            other = group_of.get(id(v.node))
            if other is None or other is group or other.shape != group.shape:
                continue
            if _convex_union(other, group, ancestors, group_of):
                group = _merge(other, group, group_of)
    users = graph.users()
    groups = {id(g): g for g in group_of.values()
              if (len(g.members) >= min_ops or _large(g, lone_min_elements))
              and _outputs(g, users)}  # dead groups: DCE's job
    if groups:
        chosen = _acyclic(graph, list(groups.values()))
        if chosen:
            _rebuild(graph, chosen, position, users)
    return graph


def _large(group: _Group, min_elements: int | None) -> bool:
    if min_elements is None or not all(type(d) is int for d in group.shape):
        return False
    return math.prod(group.shape) >= min_elements


def _acyclic(graph: Graph, groups: list) -> list:
    """The groups to fuse, dropping any whose fused node would sit on a cycle with another
    fused node (each group is convex, but two can still depend on each other once both are
    contracted)."""
    groups = list(groups)
    while groups:
        unit_of = {id(m): id(g) for g in groups for m in g.members}
        units, deps = {}, {}
        for node in graph.nodes:
            key = unit_of.get(id(node), id(node))
            units.setdefault(key, [])
            deps.setdefault(key, set())
            for v in node.tensor_inputs():
                source = unit_of.get(id(v.node), id(v.node))
                if source != key:
                    deps[key].add(source)
        waiting = {k: len(d) for k, d in deps.items()}
        readers: dict = {}
        for k, d in deps.items():
            for source in d:
                readers.setdefault(source, []).append(k)
        ready = [k for k, n in waiting.items() if n == 0]
        while ready:
            k = ready.pop()
            for r in readers.get(k, ()):
                waiting[r] -= 1
                if waiting[r] == 0:
                    ready.append(r)
        stuck = {k for k, n in waiting.items() if n > 0}
        cyclic = [g for g in groups if id(g) in stuck]
        if not cyclic:
            return groups
        smallest = min(cyclic, key=lambda g: len(g.members))
        groups.remove(smallest)  # its members stay separate nodes
    return groups


def _outputs(group: _Group, users) -> list[Value]:
    """The members' values read outside the group (OUTPUT included), in member order."""
    inside = {id(m) for m in group.members}
    return [m.outputs[0] for m in group.members
            if any(id(u) not in inside for u in users.get(m.outputs[0].id, ()))]


def _path_between(src: _Group, dst: _Group, ancestors, group_of) -> bool:
    """Whether a path from `src` into `dst` passes through a node outside both groups
    (another group counts as one contracted node: what feeds any member feeds all)."""
    for key in dst.feeders:
        other = group_of.get(key)
        if other is src:
            continue
        reach = ancestors[key] if other is None or other is dst else other.ancestors
        if reach & src.mask:
            return True
    return False


def _convex_union(a: _Group, b: _Group, ancestors, group_of) -> bool:
    return not _path_between(a, b, ancestors, group_of) and \
        not _path_between(b, a, ancestors, group_of)


def _merge(a: _Group, b: _Group, group_of) -> _Group:
    if len(a.members) < len(b.members):
        a, b = b, a
    a.members.extend(b.members)
    a.mask |= b.mask
    a.ancestors = (a.ancestors | b.ancestors) & ~a.mask
    a.feeders.update(b.feeders)
    for m in b.members:
        group_of[id(m)] = a
    for m in a.members:
        a.feeders.pop(id(m), None)
    return a


def _rebuild(graph: Graph, groups: list[_Group], position, users) -> None:
    """Build the fused nodes and order all nodes topologically (original order where it
    allows, each fused node where its last member stood)."""
    mapping: dict[int, Value] = {}
    fused_of: dict[int, Node] = {}  # id(member) -> its fused node
    last_members = set()
    for g in groups:
        g.members.sort(key=lambda n: position[id(n)])
        fused = _fused_node(graph, g, users, mapping)
        position[id(fused)] = position[id(g.members[-1])]
        last_members.add(id(g.members[-1]))
        for m in g.members:
            fused_of[id(m)] = fused
    units = [fused_of.get(id(node), node) for node in graph.nodes
             if id(node) not in fused_of or id(node) in last_members]
    for unit in units:
        _substitute(unit, mapping)
    graph.nodes[:] = _topological(units, position)


def _fused_node(graph: Graph, group: _Group, users, mapping) -> Node:
    members = group.members
    inside = {id(m) for m in members}
    external: dict[int, Value] = {}
    for m in members:
        for v in m.tensor_inputs():
            if id(v.node) not in inside:
                external.setdefault(v.id, v)
    outputs = _outputs(group, users)
    sub = Graph()
    local = {vid: sub.add_input(f"a{i}", v.meta) for i, (vid, v) in enumerate(external.items())}
    for m in members:  # metas are known: copied, not inferred again
        inputs = tuple(v if v.is_const else local[v.id] for v in m.inputs)
        copy = Node(sub, NodeKind.OP, m.op, inputs, m.attrs, source=m.source)
        copy.grad_of = getattr(m, "grad_of", None)  # backward nodes keep their origin
        copy.outputs = (sub._new_value(copy, m.outputs[0].meta, 0),)
        sub._append(copy)
        local[m.outputs[0].id] = copy.outputs[0]
    sub.set_outputs([local[v.id] for v in outputs])
    node = Node(graph, NodeKind.OP, fused_op(len(outputs)), tuple(external.values()),
                {"graph": sub}, source=members[-1].source)
    node.grad_of = getattr(members[-1], "grad_of", None)
    node.outputs = tuple(graph._new_value(node, v.meta, i) for i, v in enumerate(outputs))
    for old, new in zip(outputs, node.outputs):
        mapping[old.id] = new
    return node


def _substitute(node: Node, mapping: dict[int, Value]) -> None:
    def one(v):
        return v if v.is_const else mapping.get(v.id, v)

    node.inputs = tuple([one(v) for v in item] if isinstance(item, list) else one(item)
                        for item in node.inputs)


def _topological(units: list[Node], position) -> list[Node]:
    """Kahn's algorithm, always taking the ready node that stood first (OUTPUT stays last);
    random ops keep their order."""
    producer = {v.id: u for u in units for v in u.outputs}
    waiting = {}
    readers: dict[int, list[Node]] = {}
    previous_draw = None
    for u in units:
        deps = {id(producer[v.id]): producer[v.id] for v in u.tensor_inputs()
                if v.id in producer}
        if u.kind is NodeKind.OP and u.op.random:
            if previous_draw is not None:
                deps[id(previous_draw)] = previous_draw
            previous_draw = u
        waiting[id(u)] = len(deps)
        for d in deps:
            readers.setdefault(d, []).append(u)
    ready = [(position[id(u)], i, u) for i, u in enumerate(units) if waiting[id(u)] == 0]
    heapq.heapify(ready)
    order = []
    count = len(units)
    while ready:
        _, _, u = heapq.heappop(ready)
        order.append(u)
        for r in readers.get(id(u), ()):
            waiting[id(r)] -= 1
            if waiting[id(r)] == 0:
                count += 1
                heapq.heappush(ready, (position[id(r)], count, r))
    assert len(order) == len(units), "fusion made a cycle"
    return order
