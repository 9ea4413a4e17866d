"""Per-node hooks on compiled code, for debugging tools (anomaly detection, value hooks).

While `node_hooks` is non-empty, compiled functions run their graphs node by node through
the interpreter instead of the generated code, and call every hook as
``hook(phase, node, outputs)`` after each node: `phase` is "forward" or "backward", `node` the
graph node (backward nodes carry ``grad_of``, the forward node they differentiate), and
`outputs` a tuple of Tensors. A hook may raise to stop the run.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from ..autograd.grad_mode import no_grad
from ..backends.interpreter import Interpreter
from ..ir.graph import Graph, NodeKind
from ..tensor import Tensor

node_hooks: list = []


@contextmanager
def node_hook(fn):
    """Install `fn` as a node hook for the duration of a ``with`` block."""
    node_hooks.append(fn)
    try:
        yield fn
    finally:
        node_hooks.remove(fn)


def as_array(a):
    """NumPy scalars (0-d results) become arrays; device arrays stay as they are."""
    return a if type(a) is np.ndarray or hasattr(a, "__cuda_array_interface__") \
        else np.asarray(a)


def run_hooked(graph: Graph, arrays, phase: str) -> tuple:
    """Run `graph` node by node, calling every `node_hooks` entry after each node."""
    def callback(node, outputs):
        if node.kind is NodeKind.OP:
            for hook in list(node_hooks):
                hook(phase, node, outputs)

    nodes = [n for n in graph.nodes if n.kind in (NodeKind.INPUT, NodeKind.PARAM)]
    with no_grad():
        out = Interpreter(graph).run(*[Tensor._wrap(as_array(a)) for a in arrays[:len(nodes)]],
                                     callback=callback)
    out = out if isinstance(out, tuple) else (out,)
    return tuple(t._data for t in out)
