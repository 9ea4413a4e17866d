"""Graph-level helpers for symbolic sizes (`graphtorch.symbolic` holds the SymInt algebra).

`graph_symbols` lists the size symbols a graph mentions and `input_sizes` binds them from
the arrays fed to a graph. The names of `graphtorch.symbolic` are re-exported here.
"""

from __future__ import annotations

import re

from ..symbolic import (  # noqa: F401
    ShapeEnv,
    SymInt,
    current,
    evaluate,
    has_symbols,
    hint,
    mark_dynamic,
    marked_dims,
    recording,
    source,
)
from .graph import NodeKind

_SYMBOL = re.compile(r"\bs\d+\b")


def graph_symbols(graph) -> set:
    """The size symbols (``s0``, ...) a graph's shapes and attributes mention."""
    found: set = set()
    for node in graph.nodes:
        for v in node.outputs:
            for size in v.meta.shape:
                if isinstance(size, SymInt):
                    found.update(_SYMBOL.findall(size.expr))
        if has_symbols(node.attrs):
            sized = tuple(v for v in node.attrs.values() if has_symbols(v))
            found.update(_SYMBOL.findall(source(sized, other=lambda obj: "_")))
    return found


def input_sizes(graph, arrays) -> dict:
    """symbol -> int, read off the shapes of the arrays fed to `graph`'s INPUT/PARAM nodes."""
    sizes = {}
    nodes = [n for n in graph.nodes if n.kind in (NodeKind.INPUT, NodeKind.PARAM)]
    for node, array in zip(nodes, arrays):
        if array is None:  # an input the graph never reads (`Executable`: "unread")
            continue
        for d, size in enumerate(node.outputs[0].meta.shape):
            if isinstance(size, SymInt) and size.expr.isidentifier():
                sizes.setdefault(size.expr, array.shape[d])
    return sizes
