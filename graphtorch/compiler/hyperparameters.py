"""Optimizer hyper-parameters a compiled step reads as graph inputs rather than constants.

Schedulers change `lr` every step, and OneCycleLR/CyclicLR with ``cycle_momentum`` change
`momentum` or ``betas[0]``: baked into the graph, every change would recompile. These
values are fed as float64 scalars at every call (`refs.HyperParameter`) and the guards
(`guard_view`) compare only what the graph's structure depends on:

- ``lr``: that it is a float;
- ``momentum``, ``weight_decay`` and each entry of ``betas``: that it is a float > 0.
  Optimizers branch on these being zero (momentum buffers, weight decay terms); their
  traced branches assume that a graph input is positive (`optim.traceable`). A zero,
  negative or non-float value stays a constant guarded by its value, so crossing zero
  recompiles instead of reusing a graph built for the other branch.

Flags that choose the graph (nesterov, amsgrad, maximize, foreach, ...) are not here: the
optimizer guard compares them by value.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..ir.graph import NodeKind
from ..ops.registry import TensorMeta
from ..tensor import Tensor
from ..trace_state import SymbolicArray, TracingError
from . import arg_tree
from .refs import HyperParameter

DYNAMIC_HYPERPARAMETERS = ("lr", "momentum", "betas", "weight_decay")
_SEQUENCE_KEYS = ("betas",)   # tuples (or lists) of numbers, each entry fed on its own

ANY_FLOAT = "<graph input: a float>"
POSITIVE_FLOAT = "<graph input: a float > 0>"


def _fed_as(key: str, value) -> str | None:
    """The guard marker of a number fed to the graph, or None for a constant."""
    if not isinstance(value, float):  # bool is no float; NumPy's float64 is one
        return None
    if key == "lr":
        return ANY_FLOAT
    return POSITIVE_FLOAT if value > 0 else None


def fed_entries(key: str, value) -> list:
    """[(index or None, marker)] of the parts of ``group[key]`` fed as graph inputs (index:
    the entry of a betas tuple; None: the value itself)."""
    if key in _SEQUENCE_KEYS:
        if type(value) not in (tuple, list):
            return []
        return [(i, m) for i, v in enumerate(value) if (m := _fed_as(key, v)) is not None]
    marker = _fed_as(key, value)
    return [] if marker is None else [(None, marker)]


def guard_view(key: str, value):
    """What the optimizer guard compares of ``group[key]``: each fed part replaced by its
    marker (type and sign), every other part by its value."""
    if key in _SEQUENCE_KEYS and type(value) in (tuple, list):
        return (type(value).__name__,) + tuple(_fed_as(key, v) or v for v in value)
    return _fed_as(key, value) or value


def feed_group(graph, opt, opt_name: str, index: int, group: dict) -> list[HyperParameter]:
    """Replace the fed hyper-parameters of param group `index` by 0-d float64 graph inputs
    (the caller restores the group after tracing); the feeds that give their values."""
    feeds = []
    for key in DYNAMIC_HYPERPARAMETERS:
        value = group.get(key)
        entries = fed_entries(key, value)
        if not entries:
            continue
        parts = list(value) if key in _SEQUENCE_KEYS else [value]
        for entry, _ in entries:
            label = f"{opt_name}.param_groups.{index}.{key}" + \
                ("" if entry is None else f".{entry}")
            node = graph.add_input(label, TensorMeta((), dtypes.float64))
            stand_in = Tensor._wrap(SymbolicArray((), np.float64, node))
            parts[0 if entry is None else entry] = stand_in
            feeds.append(HyperParameter(opt, index, key, label, entry))
        group[key] = type(value)(parts) if key in _SEQUENCE_KEYS else parts[0]
    return feeds


def refuse_number_results(result, feeds: list) -> None:
    """Eagerly ``opt.param_groups[0]["lr"]`` (or ``lr * 2``) is a Python float; while
    tracing it is a graph value, and a compiled call would return a tensor. A result
    computed from fed hyper-parameters alone (no tensor argument, state or tensor made
    inside) raises TracingError, so that call runs eagerly."""
    labels = {f.name for f in feeds if isinstance(f, HyperParameter)}
    if not labels:
        return
    leaves, _ = arg_tree.flatten(result)
    for leaf in leaves:
        if isinstance(leaf, Tensor) and type(leaf._data) is SymbolicArray and \
                _from_hyperparameters_only(leaf._data.value, labels):
            raise TracingError("the function returns a value computed from optimizer "
                               "hyper-parameters alone, a Python number in eager code; "
                               "compiled graphs read them as tensors, so this call runs "
                               "eagerly")


def _from_hyperparameters_only(value, labels: set) -> bool:
    """Whether the graph value `value` depends on fed hyper-parameters and nothing else
    (constants aside): no argument, state or tensor source."""
    stack, seen, reached = [value], set(), False
    while stack:
        v = stack.pop()
        if v.is_const or v.id in seen:
            continue
        seen.add(v.id)
        node = v.node
        if node.kind is NodeKind.INPUT and node.name in labels:
            reached = True
        elif node.kind is not NodeKind.OP or not node.tensor_inputs():
            return False  # an argument, state, or a tensor created inside: eager's too
        else:
            stack.extend(node.tensor_inputs())
    return reached
