"""The SSA graph IR: `Value`, `Node`, `Graph`.

A `Graph` is an ordered list of nodes. Graph inputs come first (`NodeKind.INPUT` for user
inputs, `NodeKind.PARAM` for parameters and buffers, named by their qualified name such as
``fc1.weight``), then `NodeKind.OP` nodes whose op is an `OpDef` from the registry, then one
`NodeKind.OUTPUT` node. Every value is defined exactly once (SSA) and carries a
`TensorMeta`; output metas of op nodes are computed by the op's `infer` rule, so shape and
dtype errors while building a graph are the registry's (PyTorch's) errors.

Python constants (scalars, None) used as op inputs are `Value`s with ``const`` set and no
id; they are printed inline.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from typing import Any

from ..ops.registry import OpDef, TensorMeta
from ..symbolic import SymInt as _SymInt


class NodeKind(enum.Enum):
    """What a node is: a graph input, a parameter/buffer, an op application, the return."""

    INPUT = "input"
    PARAM = "param"
    OP = "op"
    OUTPUT = "output"


class GraphError(ValueError):
    """A malformed graph (raised by `Graph.verify` and by builders given foreign values)."""


_NO_CONST = object()


class Value:
    """One SSA value: a tensor with a `TensorMeta` defined by `node`, or a Python constant.

    Tensor values have an integer ``id`` (printed ``%id``), ``meta`` and the producing
    ``node`` with the index ``index`` among its outputs. Constants have ``id`` None and
    ``const`` set to the Python value.
    """

    __slots__ = ("_const", "id", "index", "meta", "node")

    def __init__(self, id: int | None, meta: TensorMeta | None, node: Node | None = None,
                 index: int = 0, const: Any = _NO_CONST):
        self.id = id
        self.meta = meta
        self.node = node
        self.index = index
        self._const = const

    @property
    def is_const(self) -> bool:
        """Whether this value is a Python constant rather than a tensor."""
        return self._const is not _NO_CONST

    @property
    def const(self) -> Any:
        """The constant's Python value (AttributeError for tensor values)."""
        if self._const is _NO_CONST:
            raise AttributeError("a tensor Value has no constant")
        return self._const

    @property
    def name(self) -> str:
        """``%id`` for a tensor value, the repr of a constant."""
        return f"%{self.id}" if self._const is _NO_CONST else repr(self._const)

    def __repr__(self):
        if self.is_const:
            return f"Value(const={self._const!r})"
        return f"Value(%{self.id}: {self.meta})"


class Node:
    """One node: `kind`, `op` (an OpDef for OP nodes), `inputs`, `attrs`, `outputs`.

    A node of a traced SSA graph, not autograd's `graphtorch.autograd.graph.Node` (a
    `grad_fn`, PyTorch's name); modules that use both import this one as `ir.graph.Node`.

    ``inputs`` is a tuple whose items are Values, or (for variadic ops, first item only) a
    list of Values. INPUT/PARAM nodes carry their ``name`` (the qualified name for params).
    ``source`` is ``(file, line, function)`` of the user code that created the node, or None.
    Nodes of a generated backward have ``grad_of``, the forward node they differentiate (their
    ``source`` is that node's line). ``no_grad`` marks nodes traced with grad mode off
    (``with gt.no_grad():``): gradient generation does not differentiate through them.
    """

    __slots__ = ("attrs", "grad_of", "graph", "inputs", "kind", "name", "no_grad", "op",
                 "outputs", "source")

    def __init__(self, graph: Graph, kind: NodeKind, op: OpDef | None, inputs: tuple,
                 attrs: dict, name: str | None = None, source: tuple | None = None):
        self.graph = graph
        self.kind = kind
        self.op = op
        self.name = name
        self.inputs = inputs
        self.attrs = attrs
        self.outputs: tuple[Value, ...] = ()
        self.source = source
        self.grad_of: Node | None = None  # for backward nodes: the forward node they differentiate
        self.no_grad = False  # recorded with grad mode off: gradients do not flow through it

    @property
    def target(self) -> str:
        """The op's registry name, or the kind's name for INPUT/PARAM/OUTPUT."""
        return self.op.name if self.kind is NodeKind.OP else self.kind.value

    def flat_inputs(self) -> list[Value]:
        """Inputs with a variadic list flattened (constants included)."""
        flat = []
        for item in self.inputs:
            if isinstance(item, (list, tuple)):
                flat.extend(item)
            else:
                flat.append(item)
        return flat

    def tensor_inputs(self) -> list[Value]:
        """The non-constant input values, in order (duplicates kept)."""
        return [v for v in self.flat_inputs() if not v.is_const]

    def __repr__(self):
        return f"Node({printing.format_node(self)})"


def as_metas(result) -> tuple[TensorMeta, ...]:
    """Normalise an `infer` result (one TensorMeta or a sequence of them) to a tuple of
    TensorMetas whose shapes are tuples of Python ints."""
    metas = (result,) if isinstance(result, TensorMeta) else tuple(result)
    return tuple(TensorMeta(tuple(s if type(s) is _SymInt else int(s) for s in m.shape),
                            m.dtype) for m in metas)


class Graph:
    """An ordered SSA graph of registry ops (see the module docstring)."""

    def __init__(self):
        self.nodes: list[Node] = []
        self._next_id = 0
        self._output_node: Node | None = None

    # --- building ------------------------------------------------------------------------

    def _new_value(self, node: Node, meta: TensorMeta, index: int,
                   id: int | None = None) -> Value:
        if id is None:
            id = self._next_id
        self._next_id = max(self._next_id, id + 1)
        return Value(id, meta, node, index)

    def add_input(self, name: str, meta: TensorMeta, kind: NodeKind = NodeKind.INPUT,
                  source: tuple | None = None) -> Value:
        """Add a graph input (kind INPUT) or parameter/buffer (kind PARAM) named `name`."""
        if kind not in (NodeKind.INPUT, NodeKind.PARAM):
            raise ValueError(f"add_input: kind must be INPUT or PARAM, not {kind}")
        if not isinstance(meta, TensorMeta):
            raise TypeError(f"add_input: meta must be a TensorMeta, not {type(meta).__name__}")
        node = Node(self, kind, None, (), {}, name=name, source=source)
        meta = TensorMeta(tuple(meta.shape), meta.dtype, meta.device)
        node.outputs = (self._new_value(node, meta, 0),)
        self._append(node)
        return node.outputs[0]

    @staticmethod
    def constant(value: Any) -> Value:
        """A Value holding a Python constant (a scalar, None, ...)."""
        return Value(None, None, None, 0, const=value)

    def _as_value(self, x) -> Value:
        if isinstance(x, Value):
            if not x.is_const and (x.node is None or x.node.graph is not self):
                raise GraphError(f"{x.name} belongs to another graph")
            return x
        return self.constant(x)

    def add_node(self, op: OpDef, inputs: Sequence, attrs: dict | None = None,
                 source: tuple | None = None) -> Value | tuple[Value, ...]:
        """Append `op(*inputs, **attrs)`; returns its output Value (a tuple for multi-output
        ops). Output metas come from ``op.infer``, which raises for invalid inputs."""
        if not isinstance(op, OpDef):
            raise TypeError(f"add_node: op must be an OpDef, not {type(op).__name__}")
        attrs = dict(attrs or {})
        items = []
        for i, x in enumerate(inputs):
            if op.variadic and i == 0:
                items.append([self._as_value(v) for v in x])
            else:
                items.append(self._as_value(x))
        node = Node(self, NodeKind.OP, op, tuple(items), attrs, source=source)
        metas = as_metas(op.infer(*infer_args(node), **attrs))
        node.outputs = tuple(self._new_value(node, m, i) for i, m in enumerate(metas))
        self._append(node)
        return node.outputs[0] if len(node.outputs) == 1 else node.outputs

    def set_outputs(self, values: Iterable[Value]) -> None:
        """Set the graph's results (replacing earlier outputs); adds the OUTPUT node last."""
        values = tuple(self._as_value(v) for v in values)
        if self._output_node is not None:
            self.nodes.remove(self._output_node)
        node = Node(self, NodeKind.OUTPUT, None, values, {})
        self._output_node = node
        self.nodes.append(node)

    def _append(self, node: Node) -> None:
        if self._output_node is not None:  # keep the OUTPUT node last
            self.nodes.insert(len(self.nodes) - 1, node)
        else:
            self.nodes.append(node)

    # --- queries -------------------------------------------------------------------------

    @property
    def inputs(self) -> list[Node]:
        """The INPUT nodes, in order."""
        return [n for n in self.nodes if n.kind is NodeKind.INPUT]

    @property
    def params(self) -> list[Node]:
        """The PARAM nodes (parameters and buffers), in order."""
        return [n for n in self.nodes if n.kind is NodeKind.PARAM]

    @property
    def outputs(self) -> tuple[Value, ...] | None:
        """The returned values, or None before `set_outputs`."""
        return None if self._output_node is None else self._output_node.inputs

    @property
    def op_nodes(self) -> list[Node]:
        """The OP nodes, in order."""
        return [n for n in self.nodes if n.kind is NodeKind.OP]

    def users(self) -> dict[int, list[Node]]:
        """Map value id -> nodes reading it (in graph order, a node once per value)."""
        users: dict[int, list[Node]] = {}
        for node in self.nodes:
            seen = set()
            for v in node.tensor_inputs():
                if v.id not in seen:
                    seen.add(v.id)
                    users.setdefault(v.id, []).append(node)
        return users

    # --- checking ------------------------------------------------------------------------

    def verify(self) -> None:
        """Raise `GraphError` unless the graph is well formed: inputs are defined before use
        (topological order), each value is defined once, no value comes from another graph,
        input and parameter names are unique, every op node's output metas equal its op's
        `infer`, and the outputs are set."""
        defined: dict[int, Value] = {}
        names: set[str] = set()
        seen_output = False
        for pos, node in enumerate(self.nodes):
            where = _Where(pos, node)  # formatted only in an error message
            if node.graph is not self:
                raise GraphError(f"{where} belongs to another graph")
            if seen_output:
                raise GraphError(f"{where} comes after the OUTPUT node")
            for v in node.flat_inputs():
                if not isinstance(v, Value):
                    raise GraphError(f"{where}: input {v!r} is not a Value")
                if v.is_const:
                    continue
                if v.node is None or v.node.graph is not self:
                    raise GraphError(f"{where}: input {v.name} belongs to another graph")
                if defined.get(v.id) is not v:
                    raise GraphError(f"{where}: input {v.name} is used before its definition "
                                     "(the nodes are not in topological order)")
            if node.kind in (NodeKind.INPUT, NodeKind.PARAM):
                if node.name in names:
                    raise GraphError(f"{where}: a second graph input named {node.name!r}")
                names.add(node.name)
            if node.kind is NodeKind.OUTPUT:
                if node is not self._output_node:
                    raise GraphError(f"{where}: a second OUTPUT node")
                seen_output = True
            if node.kind is NodeKind.OP:
                try:
                    expected = as_metas(node.op.infer(*infer_args(node), **node.attrs))
                except Exception as exc:
                    raise GraphError(f"{where}: the op's infer rule rejects the inputs: "
                                     f"{exc}") from exc
                got = tuple(v.meta for v in node.outputs)
                if expected != got:
                    raise GraphError(f"{where}: output metas {got} disagree with "
                                     f"{node.op.name}'s infer rule {expected}")
            for i, v in enumerate(node.outputs):
                if v.id in defined:
                    raise GraphError(f"{where}: value %{v.id} is defined twice (SSA)")
                if v.node is not node or v.index != i:
                    raise GraphError(f"{where}: output %{v.id} does not point back to its node")
                defined[v.id] = v
        if self._output_node is None or not seen_output:
            raise GraphError("the graph has no outputs (call set_outputs)")

    # --- printing and export (see printing.py, export.py) --------------------------------

    def __str__(self):
        return printing.format_graph(self)

    def __repr__(self):
        return f"<Graph: {len(self.nodes)} nodes>"

    def render(self, fmt: str = "svg") -> bytes:
        """SVG or PNG bytes drawn by Graphviz (a clear error when `dot` is missing)."""
        return export.render(self, fmt)

    def to_dot(self) -> str:
        """Graphviz DOT text (see `graphtorch.ir.export.to_dot`)."""
        return export.to_dot(self)

    def to_networkx(self):
        """A networkx.DiGraph (see `graphtorch.ir.export.to_networkx`)."""
        return export.to_networkx(self)

    def to_json(self) -> str:
        """JSON text that `Graph.from_json` reads back exactly."""
        return export.to_json(self)

    def to_onnx(self, params: dict | None = None, **options):
        """An `onnx.ModelProto` computing this graph (see `graphtorch.ir.onnx_export.to_onnx`;
        `params` maps parameter names to tensors, which become initializers).

        >>> traced = gt.trace(model, x)
        >>> onnx.save(traced.graph.to_onnx(traced.params), "model.onnx")
        """
        from .onnx_export import to_onnx  # lazy: it needs the optional onnx package

        return to_onnx(self, params, **options)

    @classmethod
    def from_json(cls, text: str) -> Graph:
        """Rebuild a graph written by `to_json` (and verify it)."""
        return export.from_json(text)


def infer_args(node: Node) -> list:
    """The positional arguments for `node.op.infer`: metas for tensors, Python values for
    constants (a list of them for a variadic first input)."""
    def one(v: Value):
        return v.const if v.is_const else v.meta

    return [[one(v) for v in item] if isinstance(item, list) else one(item)
            for item in node.inputs]


# Printing and exporting read graphs; Graph's convenience methods call them: imported after
# the classes, used as modules.
from . import export, printing  # noqa: E402


class _Where:
    """``node <pos> (<the node printed>)`` for `Graph.verify`'s errors, printed only when
    one is raised (printing every node cost a tenth of a LeNet trace)."""

    def __init__(self, pos: int, node: Node):
        self.pos, self.node = pos, node

    def __format__(self, spec) -> str:
        return format(str(self), spec)

    def __str__(self) -> str:
        return f"node {self.pos} ({printing.format_node(self.node)})"
