"""Constant folding: compute at compile time what depends on no graph input.

A value is constant-derived when it comes from a `constant` node or from a non-random op
with no tensor inputs. An op node whose tensor inputs are all constant-derived is run once
through `dispatch.call` (the eager path, so the folded value equals what eager code
computes) and replaced by a `constant` node holding the result. Random ops are never
folded; results with more than `MAX_FOLD_ELEMENTS` elements (1M) are not folded, so a
graph never embeds a huge array; ops that raise are left for run time, where they raise
as eager code would.
"""

from __future__ import annotations

import numpy as np

from ..autograd.grad_mode import no_grad
from ..dtypes import from_numpy_dtype
from ..ir.graph import Graph, Node, NodeKind, Value, as_metas
from ..ir.rewrite import _substitute
from ..ops.constant import CONSTANT, ConstantValue, constant_array
from ..ops.dispatch import call
from ..tensor import Tensor

MAX_FOLD_ELEMENTS = 1 << 20


def _is_constant_node(node) -> bool:
    return node.kind is NodeKind.OP and node.op is CONSTANT


def _evaluate(node, arrays: dict[int, np.ndarray]):
    """Run `node` eagerly on the constant arrays; a tuple of output arrays or None."""
    def arg(v):
        if isinstance(v, list):
            return [arg(x) for x in v]
        return v.const if v.is_const else Tensor._wrap(np.array(arrays[v.id], copy=True))

    try:
        with no_grad():
            out = call(node.op, *[arg(v) for v in node.inputs], **node.attrs)
    except Exception:  # noqa: BLE001 - it will raise at run time, where eager would
        return None
    outs = out if node.op.num_outputs != 1 else (out,)
    return tuple(np.asarray(t._data) for t in outs)


def fold_constants(graph: Graph) -> Graph:
    """Replace op nodes computable from constants alone by `constant` nodes; returns
    `graph`. Folded nodes are removed; a constant nobody reads is left for DCE.

    Before (``c`` a folded constant)::

        %1 = constant(value=array([1., 2.], f32)) : f32[2]
        %2 = exp(%1) : f32[2]
        %3 = mul(%0, %2) : f32[2]

    After::

        %4 = constant(value=array([2.718282 , 7.3890557], f32)) : f32[2]
        %3 = mul(%0, %4) : f32[2]
    """
    arrays: dict[int, np.ndarray] = {}
    mapping: dict[int, Value] = {}
    nodes = []
    for node in graph.nodes:
        _substitute(node, mapping)
        if node.kind is not NodeKind.OP:
            nodes.append(node)
            continue
        if _is_constant_node(node):
            arrays[node.outputs[0].id] = constant_array(node.attrs["value"])
            nodes.append(node)
            continue
        tensors = node.tensor_inputs()
        if node.op.random or node.op.side_effects or not all(v.id in arrays for v in tensors) or \
                any(v.meta.shape and int(np.prod(v.meta.shape)) > MAX_FOLD_ELEMENTS
                    for v in node.outputs):
            nodes.append(node)
            continue
        results = _evaluate(node, arrays)
        if results is None or not _matches(node, results):
            nodes.append(node)
            continue
        for v, result in zip(node.outputs, results):
            const = _constant_node(graph, result, node.source)
            nodes.append(const)
            new = const.outputs[0]
            arrays[new.id] = const.attrs["value"].array
            mapping[v.id] = new
    graph.nodes[:] = nodes
    return graph


def _matches(node, results) -> bool:
    if len(results) != len(node.outputs):
        return False
    for v, r in zip(node.outputs, results):
        try:
            dtype = from_numpy_dtype(r.dtype)
        except (TypeError, KeyError, ValueError):
            return False
        if tuple(r.shape) != tuple(v.meta.shape) or dtype is not v.meta.dtype:
            return False
    return True


def _constant_node(graph: Graph, array: np.ndarray, source):
    """A detached `constant` node of `graph` (the caller places it in graph.nodes)."""
    value = ConstantValue(array)
    node = Node(graph, NodeKind.OP, CONSTANT, (), {"value": value}, source=source)
    metas = as_metas(CONSTANT.infer(value))
    node.outputs = tuple(graph._new_value(node, m, i) for i, m in enumerate(metas))
    return node
