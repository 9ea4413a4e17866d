"""Hand-built graphs shared by the IR tests."""

from __future__ import annotations

from graphtorch import dtypes
from graphtorch.ir import Graph, NodeKind
from graphtorch.ops.registry import REGISTRY as R
from graphtorch.ops.registry import TensorMeta

F32 = dtypes.float32


def mlp_graph() -> Graph:
    """x @ W + b -> relu -> sum, with parameters under `fc1`."""
    g = Graph()
    x = g.add_input("x", TensorMeta((2, 3), F32))
    w = g.add_input("fc1.weight", TensorMeta((3, 4), F32), NodeKind.PARAM)
    b = g.add_input("fc1.bias", TensorMeta((4,), F32), NodeKind.PARAM)
    h = g.add_node(R["matmul"], [x, w], source=("/src/model.py", 12, "forward"))
    h = g.add_node(R["add"], [h, b], source=("/src/model.py", 12, "forward"))
    h = g.add_node(R["relu"], [h], source=("/src/model.py", 13, "forward"))
    s = g.add_node(R["sum"], [h])
    g.set_outputs([s])
    return g


def mixed_graph() -> Graph:
    """A multi-output op (max_dim), a variadic op (cat), a view and a scalar constant."""
    g = Graph()
    x = g.add_input("x", TensorMeta((2, 3), F32))
    y = g.add_input("y", TensorMeta((2, 3), F32))
    m = g.add_node(R["mul"], [x, 2.0])
    values, indices = g.add_node(R["max_dim"], [m], {"dim": 1})
    c = g.add_node(R["cat"], [[x, y, m]], {"dim": 1})
    v = g.add_node(R["view"], [c], {"shape": (3, -1)})
    t = g.add_node(R["transpose"], [v], {"dim0": 0, "dim1": 1})
    d = g.add_node(R["to_dtype"], [t], {"dtype": dtypes.float64})
    g.set_outputs([values, indices, d])
    return g


def copy_into_view_graph() -> Graph:
    """copy_into_view, whose `view_ops` attribute is a tuple of (OpDef, attrs) steps."""
    g = Graph()
    base = g.add_input("base", TensorMeta((3, 4), F32))
    src = g.add_input("src", TensorMeta((4,), F32))
    steps = ((R["select"], {"dim": 0, "index": 1}),)
    out = g.add_node(R["copy_into_view"], [base, src], {"view_ops": steps})
    g.set_outputs([out])
    return g
