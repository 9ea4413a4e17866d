"""Graph export: Graphviz DOT text, a networkx DiGraph, and a JSON form read back exactly.

JSON: ops are referenced by registry name; attribute values that JSON cannot hold are
tagged objects: ``{"$tuple": [...]}``, ``{"$dict": [[k, v], ...]}``, ``{"$op": "view"}``,
``{"$dtype": "float32"}``, ``{"$slice": [start, stop, step]}``, ``{"$complex": [re, im]}``,
``{"$ellipsis": null}``, ``{"$array": {"dtype", "shape", "base64"}}`` (a `constant`
node's value). Value references are ``{"$v": id}``; constants ``{"$c": attr}``.
"""

from __future__ import annotations

import json

from .. import dtypes
from ..ops.constant import CONSTANT, ConstantValue
from ..ops.fused import fused_op
from ..ops.registry import REGISTRY, Category, OpDef, TensorMeta
from .graph import Graph, GraphError, Node, NodeKind, Value
from .printing import format_meta, format_node, format_source

FORMAT_VERSION = 1

# --- attribute encoding --------------------------------------------------------------------


def encode_attr(value):
    """A JSON-compatible form of an attribute value (see the module docstring)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, OpDef):
        return {"$op": value.name}
    if isinstance(value, dtypes.DType):
        return {"$dtype": value.name}
    if isinstance(value, tuple):
        return {"$tuple": [encode_attr(v) for v in value]}
    if isinstance(value, list):
        return [encode_attr(v) for v in value]
    if isinstance(value, dict):
        return {"$dict": [[encode_attr(k), encode_attr(v)] for k, v in value.items()]}
    if isinstance(value, slice):
        return {"$slice": [encode_attr(value.start), encode_attr(value.stop),
                           encode_attr(value.step)]}
    if isinstance(value, complex):
        return {"$complex": [value.real, value.imag]}
    if value is Ellipsis:
        return {"$ellipsis": None}
    if isinstance(value, Graph):  # a fused group's or a cond/scan node's subgraph
        return {"$graph": graph_to_obj(value)}

    if isinstance(value, ConstantValue):
        import base64

        import numpy as np

        a = value.array
        return {"$array": {"dtype": dtypes.from_numpy_dtype(a.dtype).name,
                           "shape": list(a.shape),
                           "base64": base64.b64encode(np.ascontiguousarray(a).tobytes())
                           .decode("ascii")}}
    raise TypeError(f"cannot encode attribute value {value!r} of type "
                    f"{type(value).__name__} as JSON")


def decode_attr(data):
    """Invert `encode_attr`."""
    if isinstance(data, list):
        return [decode_attr(v) for v in data]
    if not isinstance(data, dict):
        return data
    if len(data) != 1:
        raise ValueError(f"bad tagged attribute {data!r}")
    (tag, body), = data.items()
    if tag == "$op":
        return REGISTRY[body]
    if tag == "$dtype":
        return dtypes._dtype_by_name(body)
    if tag == "$tuple":
        return tuple(decode_attr(v) for v in body)
    if tag == "$dict":
        return {decode_attr(k): decode_attr(v) for k, v in body}
    if tag == "$slice":
        return slice(*(decode_attr(v) for v in body))
    if tag == "$complex":
        return complex(body[0], body[1])
    if tag == "$ellipsis":
        return Ellipsis
    if tag == "$graph":
        return graph_from_obj(body)
    if tag == "$array":
        import base64

        import numpy as np


        np_dtype = dtypes._dtype_by_name(body["dtype"]).np_dtype
        data = np.frombuffer(base64.b64decode(body["base64"]), dtype=np_dtype)
        return ConstantValue(data.reshape(tuple(body["shape"])))
    raise ValueError(f"unknown attribute tag {tag!r}")


# --- JSON ----------------------------------------------------------------------------------


def _encode_ref(v):
    if isinstance(v, list):
        return [_encode_ref(x) for x in v]
    return {"$c": encode_attr(v.const)} if v.is_const else {"$v": v.id}


def _encode_meta(meta: TensorMeta):
    return {"shape": list(meta.shape), "dtype": meta.dtype.name}


def to_json(graph: Graph) -> str:
    """The graph as JSON text (deterministic: keys sorted, one node per list item)."""
    return json.dumps(graph_to_obj(graph), indent=1, sort_keys=True)


def graph_to_obj(graph: Graph) -> dict:
    """The JSON-compatible object `to_json` writes (subgraph attrs nest as ``$graph``)."""
    nodes = []
    for node in graph.nodes:
        item = {"kind": node.kind.value}
        if node.kind is NodeKind.OP:
            item["op"] = node.op.name
            item["attrs"] = {k: encode_attr(v) for k, v in node.attrs.items()}
        if node.name is not None:
            item["name"] = node.name
        item["inputs"] = [_encode_ref(v) for v in node.inputs]
        item["outputs"] = [{"id": v.id, **_encode_meta(v.meta)} for v in node.outputs]
        item["source"] = list(node.source) if node.source else None
        nodes.append(item)
    return {"version": FORMAT_VERSION, "nodes": nodes}


def _op_by_name(name: str, item: dict | None = None, attrs: dict | None = None) -> OpDef:
    """A registry op, or one of the ops outside it: `constant` (constant folding), `fused`
    (fusion) and the control-flow ops (rebuilt from the node's inputs and outputs)."""
    if name == "constant":
        return CONSTANT
    if name in REGISTRY or item is None:
        return REGISTRY[name]
    if name == "fused":
        return fused_op(len(item["outputs"]))
    # lazy: rebuilding cond/scan/while_loop needs control_flow, a layer above ir
    from ..control_flow.rebuild import NAMES, control_op_for

    if name in NAMES:
        metas = [TensorMeta(tuple(o["shape"]), dtypes._dtype_by_name(o["dtype"]))
                 for o in item["outputs"]]
        return control_op_for(name, len(item["inputs"]), metas, attrs or {})
    return REGISTRY[name]


def from_json(text: str) -> Graph:
    """Rebuild a graph from `to_json` text, keeping value ids and stored metas; the result
    is verified (so metas that disagree with the ops' infer rules raise GraphError)."""
    return graph_from_obj(json.loads(text))


def graph_from_obj(data: dict) -> Graph:
    """Invert `graph_to_obj`."""
    if data.get("version") != FORMAT_VERSION:
        raise GraphError(f"unsupported graph JSON version {data.get('version')!r}")
    graph = Graph()
    values: dict[int, Value] = {}

    def ref(r):
        if isinstance(r, list):
            return [ref(x) for x in r]
        if "$c" in r:
            return Graph.constant(decode_attr(r["$c"]))
        try:
            return values[r["$v"]]
        except KeyError:
            raise GraphError(f"value %{r['$v']} is used before its definition") from None

    for item in data["nodes"]:
        kind = NodeKind(item["kind"])
        attrs = {k: decode_attr(v) for k, v in item.get("attrs", {}).items()}
        op = _op_by_name(item["op"], item, attrs) if kind is NodeKind.OP else None
        source = tuple(item["source"]) if item.get("source") else None
        inputs = tuple(ref(r) for r in item["inputs"])
        if kind is NodeKind.OUTPUT:
            graph.set_outputs(inputs)
            continue
        node = Node(graph, kind, op, inputs, attrs, name=item.get("name"), source=source)
        outs = []
        for i, o in enumerate(item["outputs"]):
            meta = TensorMeta(tuple(o["shape"]), dtypes._dtype_by_name(o["dtype"]))
            if o["id"] in values:
                raise GraphError(f"value %{o['id']} is defined twice (SSA)")
            v = graph._new_value(node, meta, i, id=o["id"])
            values[v.id] = v
            outs.append(v)
        node.outputs = tuple(outs)
        graph._append(node)
    graph.verify()
    return graph


# --- networkx and DOT ----------------------------------------------------------------------


def _category(node: Node) -> str | None:
    return node.op.category.value if node.kind is NodeKind.OP else None


def data_edges(graph: Graph) -> list[tuple[int, int, list[int]]]:
    """(producer position, consumer position, value ids) per distinct data dependency."""
    position = {id(n): i for i, n in enumerate(graph.nodes)}
    edges: dict[tuple[int, int], list[int]] = {}
    for j, node in enumerate(graph.nodes):
        for v in node.tensor_inputs():
            ids = edges.setdefault((position[id(v.node)], j), [])
            if v.id not in ids:
                ids.append(v.id)
    return [(a, b, ids) for (a, b), ids in edges.items()]


def to_networkx(graph: Graph):
    """A `networkx.DiGraph`: one node per graph node (keyed by position) with attributes
    ``op`` (registry name or input/param/output), ``kind``, ``category``, ``shape`` and
    ``dtype`` (of the first output; None for OUTPUT), ``metas`` (all outputs), ``name``,
    ``source`` and ``label`` (the printed line); one edge per data dependency, with the
    ids of the values it carries in ``values``."""
    import networkx as nx

    g = nx.DiGraph()
    for i, node in enumerate(graph.nodes):
        first = node.outputs[0].meta if node.outputs else None
        g.add_node(i, op=node.target, kind=node.kind.value, category=_category(node),
                   shape=tuple(first.shape) if first else None,
                   dtype=first.dtype.name if first else None,
                   metas=[(tuple(v.meta.shape), v.meta.dtype.name) for v in node.outputs],
                   name=node.name, source=node.source, label=format_node(node))
    for a, b, ids in data_edges(graph):
        g.add_edge(a, b, values=ids)
    return g


CATEGORY_COLORS = {Category.ELEMENTWISE: "#cfe8ff", Category.REDUCTION: "#ffe0b3",
                   Category.VIEW: "#e0e0e0", Category.OPAQUE: "#ffc9c9"}
KIND_COLORS = {NodeKind.INPUT: "#d4f7d4", NodeKind.PARAM: "#fff6b3", NodeKind.OUTPUT: "#ffffff"}


def module_path(node: Node) -> str | None:
    """The module a node belongs to for clustering: a param's qualified-name prefix
    (``fc1`` for ``fc1.weight``); an op whose param inputs all share one prefix joins it."""
    if node.kind is NodeKind.PARAM:
        return node.name.rpartition(".")[0] or None
    if node.kind is NodeKind.OP:
        prefixes = {module_path(v.node) for v in node.tensor_inputs()
                    if v.node.kind is NodeKind.PARAM}
        if len(prefixes) == 1:
            return prefixes.pop()
    return None


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(graph: Graph, name: str = "graph") -> str:
    """Graphviz DOT text: nodes ``n<position>`` filled by op category (inputs, params and
    the output by kind), clustered by module path (see `module_path`)."""
    lines = [f"digraph {_quote(name)} {{", "  rankdir=TB;",
             '  node [shape=box, style="rounded,filled", fontname="monospace"];']
    clusters: dict[str, list[str]] = {}
    for i, node in enumerate(graph.nodes):
        if node.kind is NodeKind.OP:
            color = CATEGORY_COLORS[node.op.category]
            head = ", ".join(f"%{v.id}" for v in node.outputs)
            label = f"{head} = {node.op.name}\n" + ", ".join(
                format_meta(v.meta) for v in node.outputs)
            where = format_source(node.source)
            if where:
                label += f"\n{where}"
        elif node.kind is NodeKind.OUTPUT:
            color, label = KIND_COLORS[node.kind], "output"
        else:
            color = KIND_COLORS[node.kind]
            label = f"%{node.outputs[0].id} = {node.kind.value} {node.name}\n" + \
                format_meta(node.outputs[0].meta)
        text = f"n{i} [label={_quote(label)}, fillcolor={_quote(color)}];"
        path = module_path(node)
        if path:
            clusters.setdefault(path, []).append(text)
        else:
            lines.append("  " + text)
    for k, (path, members) in enumerate(sorted(clusters.items())):
        lines.append(f"  subgraph cluster_{k} {{")
        lines.append(f"    label={_quote(path)};")
        lines.extend("    " + m for m in members)
        lines.append("  }")
    for a, b, ids in data_edges(graph):
        label = ", ".join(f"%{i}" for i in ids)
        lines.append(f"  n{a} -> n{b} [label={_quote(label)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


__all__ = [
    "data_edges",
    "decode_attr",
    "encode_attr",
    "from_json",
    "module_path",
    "to_dot",
    "to_json",
    "to_networkx",
]


class GraphvizMissing(RuntimeError):
    """Rendering needs Graphviz's `dot` program, which is not installed."""


def render(graph: Graph, fmt: str = "svg") -> bytes:
    """The graph drawn by Graphviz (`dot -Tsvg` / `-Tpng`) as bytes.

    Raises GraphvizMissing, saying how to install Graphviz or get DOT text instead, when
    `dot` is not on PATH.
    """
    import shutil
    import subprocess

    if fmt not in ("svg", "png"):
        raise ValueError(f"render: format must be 'svg' or 'png', not {fmt!r}")
    exe = shutil.which("dot")
    if exe is None:
        raise GraphvizMissing(
            f"rendering {fmt.upper()} needs Graphviz's `dot` program, which is not installed "
            "(e.g. `apt-get install graphviz` or `brew install graphviz`); graph.to_dot() "
            "gives DOT text to render elsewhere")
    result = subprocess.run([exe, f"-T{fmt}"], input=to_dot(graph).encode(),
                            capture_output=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"dot -T{fmt} failed: "
                           f"{result.stderr.decode(errors='replace').strip()}")
    return result.stdout
