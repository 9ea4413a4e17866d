"""Memory planning: when each intermediate can be freed, and which buffers can be reused.

`plan_memory` attaches a `MemoryPlan` to the graph; the NumPy code generator emits
``del`` for `frees` and ``out=`` for `reuse`. The plan never frees graph inputs, params or
outputs, nor a buffer another live value may alias (views, and ops whose kernels may
return an input or a view of it), and only reuses unaliased buffers of fresh arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from ..ir.graph import Graph, Node, NodeKind
from ..ops.fused import is_fused
from ..ops.registry import Category


@dataclass
class MemoryPlan:
    """Where values die and which buffers are reused (positions index `graph.nodes`).

    last_use: value id -> position of the last node reading it (the OUTPUT node counts);
        a value never read gets the position of its defining node.
    frees: node position -> ids of values to delete after that node runs (in id order).
        Only op outputs that are not graph outputs and whose buffer no live value can
        alias. A donor (see `reuse`) is freed after the node that takes its buffer.
    reuse: value id -> donor value id: the op writes this output with ``out=`` into the
        donor's buffer. The donor is not read after that node, has the same shape and
        dtype, was a fresh unaliased array, and gives its buffer to one output only
        (the output may later be a donor itself: chains are fine).
    """

    last_use: dict[int, int] = field(default_factory=dict)
    frees: dict[int, list[int]] = field(default_factory=dict)
    reuse: dict[int, int] = field(default_factory=dict)

    def format(self) -> str:
        """A few lines for dumps: ``free after node 5: %3, %4`` and ``%7 reuses %3``."""
        lines = [f"free after node {p}: " + ", ".join(f"%{v}" for v in ids)
                 for p, ids in sorted(self.frees.items())]
        lines += [f"%{v} reuses %{d}" for v, d in sorted(self.reuse.items())]
        return "\n".join(lines)


def may_alias_inputs(node: Node) -> bool:
    """Whether `node`'s outputs may share memory with its tensor inputs: VIEW ops and ops
    whose kernels may return an input or a view of it (`OpDef.may_alias_input`)."""
    op = node.op
    return op.category is Category.VIEW or op.may_alias_input


def _can_write_into(node: Node) -> bool:
    """Ops whose outputs may be computed with ``out=``: a ufunc op whose tensor inputs
    already have the output's dtype (so the ufunc computes in that dtype), or a fused
    node."""
    op = node.op
    if is_fused(op):
        return True
    if op.category is not Category.ELEMENTWISE or not op.ufunc or len(node.outputs) != 1:
        return False
    dtype = node.outputs[0].meta.dtype
    return all(v.meta.dtype is dtype for v in node.tensor_inputs())


class _Classes:
    """Union-find over value ids: values that may share one buffer."""

    def __init__(self):
        self.parent: dict[int, int] = {}

    def find(self, v: int) -> int:
        root = v
        while self.parent.get(root, root) != root:
            root = self.parent[root]
        while v != root:
            self.parent[v], v = root, self.parent.get(v, v)
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def plan_memory(graph: Graph) -> Graph:
    """Compute a `MemoryPlan` and store it as ``graph.memory_plan``; returns `graph`
    (the nodes are unchanged).

    For ``%1 = exp(%0); %2 = mul(%1, 2); %3 = sin(%2); return (%3,)``::

        last_use = {0: 1, 1: 2, 2: 3, 3: 4}   # position 4 is the OUTPUT node
        frees = {2: [1], 3: [2]}              # %3 is a graph output: never freed
        reuse = {2: 1}        # mul writes into exp's buffer (out=), an in-place update
    """
    nodes = graph.nodes
    last_use: dict[int, int] = {}
    classes = _Classes()
    pinned: set[int] = set()      # class members never freed (inputs, params, outputs)
    producer: dict[int, Node] = {}
    for pos, node in enumerate(nodes):
        for v in node.tensor_inputs():
            last_use[v.id] = pos
        for v in node.outputs:
            last_use.setdefault(v.id, pos)
            producer[v.id] = node
            if node.kind is not NodeKind.OP:
                pinned.add(v.id)
        if node.kind is NodeKind.OP and may_alias_inputs(node):
            ins = node.tensor_inputs()
            ins = ins[:1] if node.op.category is Category.VIEW else ins
            for v in ins:
                for o in node.outputs:
                    classes.union(v.id, o.id)
        if node.kind is NodeKind.OUTPUT:
            pinned.update(v.id for v in node.tensor_inputs())
    members: dict[int, list[int]] = {}
    for vid in last_use:
        members.setdefault(classes.find(vid), []).append(vid)
    pinned_roots = {classes.find(v) for v in pinned}
    death: dict[int, int] = {}    # value id -> position after which its buffer is dead
    frees: dict[int, list[int]] = {}
    for root, ids in members.items():
        if root in pinned_roots:
            continue
        end = max(last_use[v] for v in ids)
        for v in ids:
            death[v] = end
        frees.setdefault(end, []).extend(ids)
    reuse = _plan_reuse(nodes, death, members, classes, producer)
    position = {v.id: pos for pos, n in enumerate(nodes) for v in n.outputs}
    for out, donor in reuse.items():  # a donor's name lives until its buffer is taken
        frees[death[donor]].remove(donor)
        frees.setdefault(position[out], []).append(donor)
    frees = {p: sorted(ids) for p, ids in frees.items() if ids}
    graph.memory_plan = MemoryPlan(last_use, dict(sorted(frees.items())), reuse)
    return graph


def _plan_reuse(nodes, death, members, classes, producer) -> dict[int, int]:
    """Greedy buffer reuse in graph order: each output that may be written with ``out=``
    takes a dead, unaliased, fresh buffer of its exact meta (preferring an input of its
    own node that dies there, i.e. an in-place update)."""
    def donor_ok(v: int) -> bool:
        node = producer[v]
        return (v in death and len(members[classes.find(v)]) == 1 and
                node.kind is NodeKind.OP and not may_alias_inputs(node))

    dying_at: dict[int, list[int]] = {}
    for v, end in death.items():
        if donor_ok(v):
            dying_at.setdefault(end, []).append(v)
    pool: dict[tuple, list[int]] = {}  # meta -> free donor ids (most recent last)
    reuse: dict[int, int] = {}
    taken: set[int] = set()
    metas = {v.id: v.meta for n in nodes for v in n.outputs}
    for pos, node in enumerate(nodes):
        if node.kind is NodeKind.OP and _can_write_into(node):
            in_place = [] if is_fused(node.op) else \
                [v for v in dying_at.get(pos, ()) if v in {x.id for x in node.tensor_inputs()}]
            for out in node.outputs:
                free = pool.get(out.meta, [])
                choice = next((v for v in in_place if metas[v] == out.meta), None)
                if choice is not None:
                    in_place.remove(choice)
                elif free:
                    choice = free.pop()
                else:
                    continue
                reuse[out.id] = choice
                taken.add(choice)
        for v in dying_at.get(pos, ()):
            if v not in taken:
                pool.setdefault(metas[v], []).append(v)
    return reuse


class PeakBytes(NamedTuple):
    """Peak bytes of live op outputs: `without_plan` keeps every intermediate to the end,
    `with_plan` frees and reuses as the plan says."""

    without_plan: int
    with_plan: int


def _nbytes(meta) -> int:
    return int(np.prod(meta.shape, dtype=np.int64)) * meta.dtype.itemsize


def peak_bytes(graph: Graph, plan: MemoryPlan | None = None) -> PeakBytes:
    """Estimate the peak bytes held in op outputs (graph inputs and params excluded; views
    count as free, reused outputs as their donor's buffer).

    >>> peak_bytes(plan_memory(g)).with_plan <= peak_bytes(g, g.memory_plan).without_plan
    True
    """
    plan = plan if plan is not None else getattr(graph, "memory_plan", None)
    if plan is None:
        plan = plan_memory(graph).memory_plan
    total = peak = 0
    with_plan = 0
    peak_plan = 0
    owned: dict[int, int] = {}  # value id -> bytes it owns under the plan
    for pos, node in enumerate(graph.nodes):
        if node.kind is not NodeKind.OP:
            continue
        fresh = node.op.category is not Category.VIEW
        for v in node.outputs:
            size = _nbytes(v.meta) if fresh else 0
            total += size
            if v.id in plan.reuse:
                owned[v.id] = owned.pop(plan.reuse[v.id], 0)
            else:
                owned[v.id] = size
                with_plan += size
        peak = max(peak, total)
        peak_plan = max(peak_plan, with_plan)
        for v in plan.frees.get(pos, ()):
            with_plan -= owned.pop(v, 0)
    return PeakBytes(peak, peak_plan)
