"""NaN/Inf hunting: `detect_anomaly()` stops at the first op that makes a non-finite value.

Compiled code: while the block is active, compiled functions run node by node
(`compiler.hooks`) and every output is checked; a backward node is reported with the forward
op it differentiates and that op's line. A fused node is opened to name the member op.
Eager code: every dispatched op is checked (through ``ops.dispatch.op_hooks`` when that hook
exists), and each autograd node gets a hook that checks the gradients it returns, naming the
forward op and the line that created it.
"""

from __future__ import annotations

import contextlib
import sys
import weakref

import numpy as np

from ..backends.interpreter import Interpreter
from ..compiler import hooks
from ..ir.graph import Node
from ..ops import dispatch
from ..ops.fused import is_fused
from ..trace_state import SymbolicArray, user_frame
from ..trace_state import where as source_location
from .evaluate import evaluate, finite, where


def _kind(arrays) -> str:
    bad = [np.asarray(a) for a in arrays if not finite(a)]
    return "nan" if any(np.isnan(a).any() for a in bad) else "inf"


def _culprit(node: Node, env: dict) -> Node:
    """The fused member that first produced a non-finite value (inputs from `env`), else the
    member that computes the first non-finite output."""
    sub = node.attrs["graph"]
    try:
        inputs = {n.name: env[v.id] for n, v in zip(sub.inputs, node.inputs)}
        _, order, _ = evaluate(sub, inputs)
        for rec in order:
            if not all(finite(a) for a in rec.arrays):
                return rec.node
    except KeyError:  # an input of the group is a graph input this hook never saw
        pass
    return sub.outputs[0].node if sub.outputs and not sub.outputs[0].is_const else node


def _message(phase: str, node: Node, kind: str, index: int, fused: Node | None) -> str:
    grad_of = getattr(node, "grad_of", None) or (getattr(fused, "grad_of", None)
                                                 if fused is not None else None)
    inside = ""
    if fused is not None:
        members = ", ".join(n.op.name for n in fused.attrs["graph"].op_nodes)
        inside = f" (inside a fused group of {members})"
    if phase == "backward" or grad_of is not None:
        forward = f"{grad_of.op.name} at {where(grad_of)}" if grad_of is not None else \
            f"the op at {where(node)}"
        return (f"detect_anomaly: the backward of {forward} produced {kind} values: "
                f"{node.op.name} returned {kind} in its output {index}{inside}")
    return (f"detect_anomaly: {node.op.name} produced {kind} values in its output {index} "
            f"(forward), created at {where(node)}{inside}")


class _CompiledChecker:
    """The node hook: checks every output; keeps this run's values to open fused groups."""

    def __init__(self):
        self.env: dict = {}

    def __call__(self, phase: str, node: Node, outputs) -> None:
        arrays = [t._data if hasattr(t, "_data") else t for t in outputs]
        for i, a in enumerate(arrays):
            if not finite(a):
                culprit = node
                if is_fused(node.op) and "graph" in node.attrs:
                    env = {vid: x for (g, vid), x in self.env.items() if g == id(node.graph)}
                    culprit = _culprit(node, env)
                self.env.clear()
                fused = node if culprit is not node else None
                raise RuntimeError(_message(phase, culprit, _kind([a]), i if fused is None else 0,
                                            fused))
        for v, a in zip(node.outputs, arrays):
            self.env[(id(node.graph), v.id)] = a


# Eager autograd nodes -> (forward op name, user line) while anomaly mode is on.
_CREATED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


_IN_BACKWARD: list = []   # the eager autograd nodes whose backward is running
_ACTIVE: list = []        # the detect_anomaly blocks now open


def _in_graph_run() -> bool:
    """Whether this op runs inside a graph interpreter (compiled code checked per node)."""
    run = Interpreter.run.__code__
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code is run:
            return True
        frame = frame.f_back
    return False


def _eager_op_hook(op, inputs, outputs) -> None:
    """Called by eager dispatch after each op (``ops.dispatch.op_hooks``)."""
    arrays = [o._data for o in outputs]
    if any(type(a) is SymbolicArray for a in arrays) or _in_graph_run():
        return
    for i, a in enumerate(arrays):
        if not finite(a):
            kind = _kind([a])
            if _IN_BACKWARD:
                fwd, line = _CREATED.get(_IN_BACKWARD[-1], ("?", "<unknown line>"))
                raise RuntimeError(f"detect_anomaly: the backward of {fwd} at {line} produced "
                                   f"{kind} values: {op.name} returned {kind} in its output {i}")
            raise RuntimeError(f"detect_anomaly: {op.name} produced {kind} values in its "
                               f"output {i} (forward), at {source_location(user_frame())}")
    node = outputs[0]._grad_fn if outputs else None
    if node is not None and node not in _CREATED:
        _CREATED[node] = (op.name, source_location(user_frame()))
        node.register_prehook(_entering(node))
        node.register_hook(_backward_check(node))


def _entering(node):
    ref = weakref.ref(node)

    def enter(grad_outputs):
        if _ACTIVE:
            _IN_BACKWARD.append(ref())

    return enter


def _backward_check(node):
    ref = weakref.ref(node)

    def check(grad_inputs, grad_outputs):
        if not _ACTIVE:
            return
        if _IN_BACKWARD:
            _IN_BACKWARD.pop()
        for i, g in enumerate(grad_inputs):
            if g is not None and not finite(g._data):
                n = ref()
                op, line = _CREATED.get(n, ("?", "<unknown line>")) if n is not None else \
                    ("?", "<unknown line>")
                name = n.name() if n is not None else "?"
                kind = _kind([g._data])
                raise RuntimeError(f"detect_anomaly: the backward of {op} at {line} produced "
                                   f"{kind} values: {name} returned {kind} in its output {i}")
        return

    return check


def eager_supported() -> bool:
    """Whether eager ops can be checked (eager dispatch has ``op_hooks``)."""
    return isinstance(getattr(dispatch, "op_hooks", None), list)


class detect_anomaly(contextlib.ContextDecorator):
    """Raise RuntimeError at the first op (eager or compiled, forward or backward) that
    produces NaN or Inf, naming the op and the user line of the forward op it belongs to.

    >>> with gt.debug.detect_anomaly():
    ...     loss = step(x, y)   # RuntimeError: detect_anomaly: log produced nan ... model.py:9
    """

    def __init__(self, check_nan: bool = True):
        self.check_nan = check_nan
        self._checker = None

    def __enter__(self):
        if not self.check_nan:
            return self

        self._checker = _CompiledChecker()
        _ACTIVE.append(self)
        hooks.node_hooks.append(self._checker)
        if eager_supported():
            dispatch.op_hooks.append(_eager_op_hook)
        return self

    def __exit__(self, *exc):
        if self._checker is None:
            return False

        hooks.node_hooks.remove(self._checker)
        self._checker = None
        _ACTIVE.remove(self)
        if not _ACTIVE:
            _IN_BACKWARD.clear()
        if eager_supported() and _eager_op_hook in dispatch.op_hooks:
            dispatch.op_hooks.remove(_eager_op_hook)
        return False
