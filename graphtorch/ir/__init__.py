"""The SSA graph IR that the tracer produces and passes transform (built on the op registry:
every graph node's op is an `OpDef` from `graphtorch.ops.registry`).

`Graph`, `Node`, `Value` and `NodeKind` live in `graph.py`; the text form in `printing.py`;
DOT / networkx / JSON export in `export.py`; ONNX export in `onnx_export.py` (render tables
in `onnx_*_ops.py`; needs the optional `onnx` package). `graphtorch.backends.interpreter`
runs graphs.
"""

from .graph import Graph, GraphError, Node, NodeKind, Value

__all__ = ["Graph", "GraphError", "Node", "NodeKind", "Value"]
