"""Common-subexpression elimination: one node per distinct computation.

Two op nodes merge when they apply the same op to the same values (constants compared by
type and value: ``1``, ``1.0`` and ``True`` differ, so do ``0.0`` and ``-0.0``) with equal
attributes. Random ops never merge (two draws are two different tensors), nor do copies
(`clone`): a copy exists to own its memory, and reshape's copy path reshapes it in place
(`unsafe_view`), so two merged copies would make ``x.t().reshape(-1)`` and
``x.t().contiguous()`` share memory. Attributes that have no reliable equality (unknown
objects, large arrays) keep nodes apart.
"""

from __future__ import annotations

import enum

import numpy as np

from ..dtypes import DType
from ..ir.graph import Graph, NodeKind, Value
from ..ir.rewrite import _substitute
from ..ops.elementwise import CLONE
from ..ops.registry import OpDef

_MAX_ARRAY_KEY_ELEMENTS = 1 << 16


class _NoKey(Exception):
    """An attribute value without a trustworthy equality."""


def attr_key(value):
    """A hashable key equal for equal attribute values and different across types
    (``attr_key(1) != attr_key(1.0) != attr_key(True)``); raises `_NoKey` when unsure.

    >>> attr_key((1, 2.0)) == attr_key((1, 2.0))
    True
    """
    if value is None or value is Ellipsis:
        return (repr(value),)
    kind = type(value)
    if kind in (bool, int, str):
        return (kind.__name__, value)
    if kind in (float, complex):
        return (kind.__name__, repr(value))  # repr: -0.0 != 0.0, nan == nan
    if isinstance(value, (tuple, list)):
        return (kind.__name__, tuple(attr_key(v) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple((attr_key(k), attr_key(v)) for k, v in value.items()))
    if isinstance(value, slice):
        return (kind.__name__, attr_key(value.start), attr_key(value.stop), attr_key(value.step))
    if isinstance(value, (OpDef, DType, enum.Enum)):
        return (kind.__name__, id(value))  # singletons: identity is equality
    if isinstance(value, np.generic):
        return ("np", value.dtype.str, repr(value.item()))
    array = getattr(value, "array", value)  # ConstantValue holds an ndarray
    if isinstance(array, np.ndarray) and array.size <= _MAX_ARRAY_KEY_ELEMENTS:
        return ("ndarray", array.dtype.str, array.shape, array.tobytes())
    raise _NoKey(kind.__name__)


def _input_key(item):
    if isinstance(item, list):
        return ("list", tuple(_input_key(v) for v in item))
    if isinstance(item, Value) and not item.is_const:
        return ("v", item.id)
    return ("c", attr_key(item.const))


def node_key(node):
    """The CSE key of an op node, or None if it must not be merged."""
    if node.op.random or node.op.side_effects or node.op is CLONE:
        return None
    try:
        return (id(node.op), tuple(_input_key(v) for v in node.inputs),
                tuple(sorted((k, attr_key(v)) for k, v in node.attrs.items())))
    except (_NoKey, TypeError):
        return None


def eliminate_common_subexpressions(graph: Graph) -> Graph:
    """Merge op nodes computing the same thing into the first one; returns `graph`.

    Before::

        %1 = exp(%0) : f32[3]
        %2 = exp(%0) : f32[3]
        %3 = add(%1, %2) : f32[3]

    After::

        %1 = exp(%0) : f32[3]
        %3 = add(%1, %1) : f32[3]
    """
    seen: dict = {}
    mapping: dict[int, Value] = {}
    kept = []
    for node in graph.nodes:
        _substitute(node, mapping)
        if node.kind is NodeKind.OP:
            key = node_key(node)
            if key is not None:
                first = seen.get(key)
                if first is not None and len(first.outputs) == len(node.outputs):
                    for old, new in zip(node.outputs, first.outputs):
                        mapping[old.id] = new
                    continue
                seen[key] = node
        kept.append(node)
    graph.nodes[:] = kept
    return graph
