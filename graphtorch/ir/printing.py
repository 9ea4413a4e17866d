"""Text form of a graph: one stable, diffable line per node.

    %0 = input x : f32[2, 3]
    %1 = param fc1.weight : f32[4, 3]
    %2 = matmul(%0, %1) : f32[2, 4]   # model.py:12 in forward
    %3, %4 = max_dim(%2, dim=1) : f32[2], i64[2]
    return (%3,)

Attributes are printed sorted by name as ``name=value``; dtypes by short name (``f32``);
OpDefs by registry name; view-step tuples ``(OpDef, attrs[, nr])`` as ``view(shape=(4,))``.
Attributes holding a `Graph` (fused groups, control-flow bodies) are left out of the node's
line; the subgraph is printed below it, indented, under an ``attr:`` label when a node has
several:

    %12 = fused(%3, %7) : f32[128, 512]   # model.py:9 in forward
      %0 = input a0 : f32[128, 512]
      %1 = mul(%0, 0.5) : f32[128, 512]   # model.py:9 in forward
      return (%1,)
"""

from __future__ import annotations

import os

from ..dtypes import DType, short_name
from ..ops.registry import OpDef, TensorMeta
from .graph import Graph, Node, NodeKind, Value


def format_dtype(dtype: DType) -> str:
    """The short name of a dtype: ``f32``, ``i64``, ``b8``, ... (`dtypes.short_name`)."""
    return short_name(dtype)


def format_meta(meta: TensorMeta | None) -> str:
    """``f32[2, 3]`` (``f32[]`` for a 0-d tensor)."""
    if meta is None:
        return "?"
    return f"{format_dtype(meta.dtype)}[{', '.join(str(s) for s in meta.shape)}]"


def format_attr(value) -> str:
    """A readable, deterministic text for an attribute value (nested values included)."""
    if isinstance(value, OpDef):
        return value.name
    if isinstance(value, DType):
        return format_dtype(value)
    if isinstance(value, tuple) and 2 <= len(value) <= 3 and isinstance(value[0], OpDef) \
            and isinstance(value[1], dict):  # a view step (op, attrs[, output nr])
        text = f"{value[0].name}({_format_kwargs(value[1])})"
        return text + (f"[{value[2]}]" if len(value) == 3 else "")
    if isinstance(value, tuple):
        inner = ", ".join(format_attr(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(format_attr(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{format_attr(k)}: {format_attr(v)}"
                               for k, v in value.items()) + "}"
    if isinstance(value, slice):
        parts = ["" if p is None else format_attr(p)
                 for p in (value.start, value.stop, value.step)]
        return ":".join(parts[:2] if value.step is None else parts)
    if value is Ellipsis:
        return "..."
    return repr(value)


def _format_kwargs(attrs: dict) -> str:
    return ", ".join(f"{k}={format_attr(attrs[k])}" for k in sorted(attrs)
                     if not isinstance(attrs[k], Graph))


def graph_attrs(node: Node) -> list[tuple[str, Graph]]:
    """The (name, subgraph) attributes of `node`, sorted by name."""
    return [(k, node.attrs[k]) for k in sorted(node.attrs) if isinstance(node.attrs[k], Graph)]


def format_value(v) -> str:
    """``%id`` for a tensor value, the constant's text for a constant."""
    if isinstance(v, list):
        return "[" + ", ".join(format_value(x) for x in v) + "]"
    if isinstance(v, Value):
        return format_attr(v.const) if v.is_const else f"%{v.id}"
    return f"<{v!r}>"


def format_source(source) -> str:
    """``file.py:12 in forward`` from ``(file, line, function)`` (empty for None)."""
    if not source:
        return ""
    file, line, function = source
    text = f"{os.path.basename(str(file))}:{line}"
    return f"{text} in {function}" if function else text


def format_node(node: Node) -> str:
    """One line for `node` (without trailing comment alignment)."""
    if node.kind is NodeKind.OUTPUT:
        values = ", ".join(format_value(v) for v in node.inputs)
        return f"return ({values},)" if len(node.inputs) == 1 else f"return ({values})"
    lhs = ", ".join(f"%{v.id}" for v in node.outputs)
    types = ", ".join(format_meta(v.meta) for v in node.outputs)
    if node.kind is NodeKind.OP:
        args = [format_value(v) for v in node.inputs]
        kwargs = _format_kwargs(node.attrs)
        if kwargs:
            args.append(kwargs)
        rhs = f"{node.op.name}({', '.join(args)})"
    else:
        rhs = f"{node.kind.value} {node.name}"
    line = f"{lhs} = {rhs} : {types}"
    where = format_source(node.source)
    return f"{line}   # {where}" if where else line


def format_graph(graph: Graph, indent: str = "") -> str:
    """The whole graph, one line per node (subgraph attributes nested below their node,
    indented two spaces per level); a graph without outputs ends without `return`."""
    lines = []
    for node in graph.nodes:
        lines.append(indent + format_node(node))
        subgraphs = graph_attrs(node)
        for name, sub in subgraphs:
            inner = indent + "  "
            if len(subgraphs) > 1:
                lines.append(f"{inner}{name}:")
                inner += "  "
            lines.append(format_graph(sub, inner))
    return "\n".join(lines)
