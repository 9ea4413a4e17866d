"""Dead-code elimination: drop op nodes whose outputs nothing reads (transitively).

Graph inputs and parameters stay (they are the signature); random ops stay (removing a
draw would shift the random stream of every later draw compared with eager code), and so
do ops with side effects (printing).
"""

from __future__ import annotations

from ..ir.graph import Graph, NodeKind


def eliminate_dead_code(graph: Graph) -> Graph:
    """Remove op nodes none of whose outputs reach the graph outputs; returns `graph`.

    Before (``y = x * 2`` is unused)::

        %0 = input x : f32[3]
        %1 = mul(%0, 2) : f32[3]
        %2 = exp(%0) : f32[3]
        return (%2,)

    After::

        %0 = input x : f32[3]
        %2 = exp(%0) : f32[3]
        return (%2,)
    """
    live: set[int] = set()
    kept = []
    for node in reversed(graph.nodes):
        if node.kind is NodeKind.OP and not node.op.random and not node.op.side_effects and \
                not any(v.id in live for v in node.outputs):
            continue
        live.update(v.id for v in node.tensor_inputs())
        kept.append(node)
    kept.reverse()
    graph.nodes[:] = kept
    return graph
