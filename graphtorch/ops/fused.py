"""The fused op: one node standing for a group of elementwise ops (made by `fuse_elementwise`).

A fused node's op is ``fused_op(n)`` (name ``fused``, category ELEMENTWISE, ``n`` outputs,
not in the registry) and its only attribute is ``graph``: a subgraph whose INPUT nodes are
the group's external inputs, in the node's input order, and whose outputs are the group's
values used outside it. The kernel below is the reference semantics: it runs the subgraph op
by op through eager dispatch (as the reference interpreter does), so promotion and casting
are exactly eager's. Backends compile the subgraph instead (`graphtorch.backends.numpy_fused`).
There is no vjp: fusion runs after gradient graphs are built.
"""

from __future__ import annotations

import dataclasses

from ..symbolic import SymInt, evaluate, has_symbols
from ..tensor import Tensor
from .dispatch import call
from .registry import Category, OpDef, TensorMeta

FUSED_NAME = "fused"

def _run_subgraph(graph, tensors: tuple) -> tuple:
    """Run the subgraph's OP nodes in order through eager dispatch (as the reference
    interpreter would, without importing the backends: this module is in the ops layer)."""
    inputs = graph.inputs
    if len(tensors) != len(inputs):
        raise TypeError(f"the graph takes {len(inputs)} inputs, got {len(tensors)}")
    for node, t in zip(inputs, tensors):  # a mismatch: dispatch lets _fused_infer explain it
        meta = node.outputs[0].meta
        shape, want = tuple(t.shape), tuple(meta.shape)
        if t._data.dtype != meta.dtype.np_dtype or len(shape) != len(want) or not all(
                isinstance(w, SymInt) or n == w for n, w in zip(shape, want)):
            raise ValueError(f"input {node.name!r} expects {meta.dtype} {list(want)}, got "
                             f"{t.dtype} {list(shape)}")
    env = {node.outputs[0].id: t for node, t in zip(inputs, tensors)}
    sizes = None

    def value(v):
        if isinstance(v, list):
            return [value(x) for x in v]
        if v.is_const:
            return v.const if sizes is None else evaluate(v.const, sizes)
        return env[v.id]

    for node in graph.op_nodes:
        attrs = node.attrs
        if has_symbols(attrs):  # symbolic sizes: bound from the inputs' shapes
            if sizes is None:
                sizes = _input_sizes(graph, tensors)
            attrs = evaluate(attrs, sizes)
        out = call(node.op.graph_op or node.op, *(value(v) for v in node.inputs), **attrs)
        outs = out if node.op.num_outputs != 1 else (out,)
        for v, t in zip(node.outputs, outs):
            env[v.id] = t
    return tuple(env[v.id] for v in graph.outputs)


def _input_sizes(graph, tensors) -> dict:
    """symbol -> int, read off the shapes of the tensors fed to the INPUT nodes."""
    sizes = {}
    for node, t in zip(graph.inputs, tensors):
        for d, size in enumerate(node.outputs[0].meta.shape):
            if isinstance(size, SymInt) and size.expr.isidentifier():
                sizes.setdefault(size.expr, t.shape[d])
    return sizes


def _fused_kernel(xp, *arrays, graph):
    """Run the subgraph on `arrays` (one per subgraph input) with eager semantics."""
    outs = _run_subgraph(graph, tuple(Tensor._wrap(xp.asarray(a)) for a in arrays))
    result = tuple(t._data for t in outs)
    return result[0] if len(result) == 1 else result


def _fused_infer(*metas, graph):
    """The subgraph's output metas, after checking the inputs match its INPUT nodes."""
    inputs = graph.inputs
    if len(metas) != len(inputs):
        raise RuntimeError(f"fused: the subgraph takes {len(inputs)} inputs, got {len(metas)}")
    for i, (meta, node) in enumerate(zip(metas, inputs)):
        want = node.outputs[0].meta
        if not isinstance(meta, TensorMeta) or tuple(meta.shape) != tuple(want.shape) \
                or meta.dtype is not want.dtype:
            raise RuntimeError(f"fused: input {i} is {meta}, the subgraph expects {want}")
    outs = tuple(v.meta for v in graph.outputs)
    return outs[0] if len(outs) == 1 else outs


FUSED = OpDef(FUSED_NAME, Category.ELEMENTWISE, _fused_kernel, _fused_infer,
              differentiable_outputs=(), backward_name="FusedBackward0",
              doc="a group of elementwise ops run as one kernel (attrs: graph)")

_BY_COUNT: dict[int, OpDef] = {1: FUSED}


def fused_op(num_outputs: int) -> OpDef:
    """The fused OpDef with `num_outputs` outputs (one shared OpDef per count).

    >>> fused_op(2).num_outputs
    2
    """
    op = _BY_COUNT.get(num_outputs)
    if op is None:
        op = _BY_COUNT[num_outputs] = dataclasses.replace(
            FUSED, num_outputs=num_outputs, dtype_cache={})
    return op


def is_fused(op) -> bool:
    """Whether `op` (an OpDef, or None) is a fused op."""
    return isinstance(op, OpDef) and op.name == FUSED_NAME and op.kernel is _fused_kernel
