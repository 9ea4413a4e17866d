"""The fused op: one node standing for a group of elementwise ops (made by `fuse_elementwise`).

A fused node's op is ``fused_op(n)`` (name ``fused``, category ELEMENTWISE, ``n`` outputs,
not in the registry) and its only attribute is ``graph``: a subgraph whose INPUT nodes are
the group's external inputs, in the node's input order, and whose outputs are the group's
values used outside it. The kernel below is the reference semantics: it runs the subgraph op
by op through eager dispatch, so promotion and casting are exactly eager's. Backends compile
the subgraph instead (`graphtorch.backends.numpy_fused`). There is no vjp: fusion runs after
gradient graphs are built.
"""

from __future__ import annotations

import dataclasses
import weakref

from .registry import Category, OpDef, TensorMeta
from ..tensor import Tensor

FUSED_NAME = "fused"

# Interpreters per subgraph: building one verifies the graph, which is too slow per call.
_INTERPRETERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _interpreter(graph):
    interp = _INTERPRETERS.get(graph)
    if interp is None:
        from ..backends.interpreter import Interpreter

        interp = _INTERPRETERS[graph] = Interpreter(graph)
    return interp


def _fused_kernel(xp, *arrays, graph):
    """Run the subgraph on `arrays` (one per subgraph input) with eager semantics."""
    out = _interpreter(graph).run(*(Tensor._wrap(xp.asarray(a)) for a in arrays))
    outs = out if isinstance(out, tuple) else (out,)
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
