"""An op-by-op interpreter for `graphtorch.ir.Graph`: the reference backend.

Each OP node runs through `graphtorch.ops.dispatch.call`, the same path as eager code, so
results equal eager graphtorch exactly (dtype promotion, kernels, view semantics, and
autograd recording when inputs require grad). Values are dropped after their last use. An
error in a node is re-raised (same exception type where possible) with the node's printed
line and the user source location that created it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ..ir.graph import Graph, Node, NodeKind, Value
from ..ir.printing import format_node
from ..ir.symbolic import SymInt, evaluate, has_symbols, input_sizes
from ..ops.dispatch import call
from ..tensor import Tensor


class InterpreterError(RuntimeError):
    """Raised for a node failure whose exception type cannot carry the added context."""


def _to_tensor(x):
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray):
        return Tensor._wrap(x)
    raise TypeError(f"graph inputs must be graphtorch Tensors or NumPy arrays, not "
                    f"{type(x).__name__}")


def _with_context(exc: BaseException, node: Node) -> BaseException:
    where = ""
    if node.source:
        file, line, function = node.source
        where = f"{file}:{line} in {function}" if function else f"{file}:{line}"
    message = f"{exc}\n  while running: {format_node(node)}"
    if where:
        message += f"\n  created at: {where}"
    try:
        new = type(exc)(message)
    except Exception:  # noqa: BLE001 - exception types with other constructors
        new = InterpreterError(message)
    new.node = node
    return new


def _shape_fits(shape: tuple, want: tuple) -> bool:
    """Whether a concrete shape fits a graph input's (possibly symbolic) shape."""
    return len(shape) == len(want) and all(
        isinstance(w, SymInt) or s == w for s, w in zip(shape, want))


class Interpreter:
    """Runs a graph node by node.

    `params` maps qualified names of PARAM nodes to tensors (or NumPy arrays); they may
    instead be passed positionally after the inputs, in graph order.
    """

    def __init__(self, graph: Graph, params: Mapping[str, Any] | None = None):
        graph.verify()
        self.graph = graph
        self.params = dict(params or {})
        self._last_use = self._last_uses()
        self._sized = {id(n) for n in graph.nodes if n.kind is NodeKind.OP and (
            has_symbols(n.attrs) or any(v.is_const and has_symbols(v.const)
                                        for v in n.flat_inputs()))}
        self.max_live = 0  # most tensor values held at once during the last run

    def _last_uses(self) -> dict[int, int]:
        """Map value id -> position of the last node reading it (OUTPUT included)."""
        last: dict[int, int] = {}
        for pos, node in enumerate(self.graph.nodes):
            for v in node.tensor_inputs():
                last[v.id] = pos
        return last

    def _bind(self, inputs: tuple) -> dict[int, Any]:
        graph_inputs = [n for n in self.graph.nodes
                        if n.kind in (NodeKind.INPUT, NodeKind.PARAM)]
        user = [n for n in graph_inputs if n.kind is NodeKind.INPUT]
        if len(inputs) == len(graph_inputs) and len(graph_inputs) != len(user):
            bound = dict(zip((id(n) for n in graph_inputs), inputs))
        elif len(inputs) == len(user):
            bound = dict(zip((id(n) for n in user), inputs))
            for n in graph_inputs:
                if n.kind is NodeKind.PARAM:
                    if n.name not in self.params:
                        raise TypeError(f"no value for parameter {n.name!r}")
                    bound[id(n)] = self.params[n.name]
        else:
            raise TypeError(f"the graph takes {len(user)} inputs ({len(graph_inputs)} with "
                            f"parameters), got {len(inputs)}")
        env = {}
        for n in graph_inputs:
            t = _to_tensor(bound[id(n)])
            meta = n.outputs[0].meta
            if not _shape_fits(tuple(t.shape), tuple(meta.shape)) or t.dtype is not meta.dtype:
                raise ValueError(f"{n.kind.value} {n.name!r} expects {meta.dtype} "
                                 f"{list(meta.shape)}, got {t.dtype} {list(t.shape)}")
            env[id(n)] = t
        return env

    def run(self, *inputs, callback: Callable[[Node, tuple], Any] | None = None):
        """Execute the graph on `inputs` (Tensors or NumPy arrays) and return its outputs:
        one Tensor for a single output, else a tuple. `callback(node, outputs)` is called
        after every INPUT, PARAM and OP node with the node's output tensors."""
        bound = self._bind(inputs)
        env: dict[int, Any] = {}
        last = self._last_use
        def get(v: Value):
            if isinstance(v, list):
                return [get(x) for x in v]
            if v.is_const:
                return v.const if sizes is None else evaluate(v.const, sizes)
            return env[v.id]

        result = None
        self.max_live = 0
        sizes = None
        if self._sized:  # attributes with symbolic sizes, evaluated for these inputs
            sizes = input_sizes(self.graph, [bound[id(n)]._data for n in self.graph.nodes
                                             if n.kind in (NodeKind.INPUT, NodeKind.PARAM)])
        for pos, node in enumerate(self.graph.nodes):
            if node.kind is NodeKind.OUTPUT:
                result = tuple(get(v) for v in node.inputs)
                break
            if node.kind is NodeKind.OP:
                args = [get(v) for v in node.inputs]
                attrs = node.attrs
                if sizes is not None and id(node) in self._sized:
                    attrs = evaluate(attrs, sizes)
                try:
                    out = call(node.op.graph_op or node.op, *args, **attrs)
                except Exception as exc:
                    raise _with_context(exc, node) from exc
                outs = out if node.op.num_outputs != 1 else (out,)
            else:
                outs = (bound[id(node)],)
            for v, t in zip(node.outputs, outs):
                if v.id in last:  # never-read values are not kept
                    env[v.id] = t
            if callback is not None:
                callback(node, tuple(outs))
            for v in node.tensor_inputs():
                if last.get(v.id) == pos:
                    env.pop(v.id, None)
            self.max_live = max(self.max_live, len(env))
        return result[0] if len(result) == 1 else result

    __call__ = run
