"""Minimal pytrees for control flow: nested tuples, lists, namedtuples and dicts of tensors.

`flatten(tree)` returns the leaf tensors and a `TreeDef` that `unflatten` uses to rebuild the
same structure. Python numbers among the leaves become 0-d tensors (as JAX turns them into
arrays), so ``carry = (x, 0)`` works; ``None`` is an empty subtree.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ..dtypes import from_numpy_dtype
from ..functions.creation import tensor
from ..ir.printing import format_dtype
from ..tensor import Tensor


class TreeDef(NamedTuple):
    """The shape of a pytree without its leaves: kind ("leaf", "none", "tuple", "list",
    "namedtuple", "dict"), the container type or dict keys, and the children's TreeDefs."""

    kind: str
    aux: Any
    children: tuple

    @property
    def num_leaves(self) -> int:
        if self.kind == "leaf":
            return 1
        return sum(c.num_leaves for c in self.children)

    def __str__(self):
        return _describe(self, None)


LEAF = TreeDef("leaf", None, ())


def _to_tensor(x, what: str):
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (bool, int, float)):
        return tensor(x)
    raise TypeError(f"{what}: pytree leaves must be tensors (or Python numbers), got "
                    f"{type(x).__name__}")


def flatten(tree, what: str = "gt control flow") -> tuple[list, TreeDef]:
    """(leaves, treedef) of `tree`; `what` names the caller in error messages."""
    leaves: list = []

    def walk(x) -> TreeDef:
        if x is None:
            return TreeDef("none", None, ())
        if isinstance(x, tuple) and hasattr(x, "_fields"):
            return TreeDef("namedtuple", type(x), tuple(walk(v) for v in x))
        if isinstance(x, (tuple, list)):
            return TreeDef(type(x).__name__, None, tuple(walk(v) for v in x))
        if isinstance(x, dict):
            keys = tuple(sorted(x))
            return TreeDef("dict", keys, tuple(walk(x[k]) for k in keys))
        leaves.append(_to_tensor(x, what))
        return LEAF

    return leaves, walk(tree)


def unflatten(treedef: TreeDef, leaves) -> Any:
    """Rebuild the structure `treedef` from `leaves` (consumed in order)."""
    it = iter(leaves)

    def build(d: TreeDef):
        if d.kind == "leaf":
            return next(it)
        if d.kind == "none":
            return None
        items = [build(c) for c in d.children]
        if d.kind == "tuple":
            return tuple(items)
        if d.kind == "list":
            return items
        if d.kind == "namedtuple":
            return d.aux(*items)
        return dict(zip(d.aux, items))

    return build(treedef)


def meta_text(t) -> str:
    """``f32[2, 3]`` for a tensor (concrete or symbolic)."""
    data = t._data
    dims = ", ".join(str(s) for s in data.shape)
    return f"{format_dtype(from_numpy_dtype(data.dtype))}[{dims}]"


def describe(treedef: TreeDef, leaves) -> str:
    """The structure with each leaf's dtype and shape: ``(f32[3], [i64[]])``."""
    return _describe(treedef, iter([meta_text(t) for t in leaves]))


def _describe(d: TreeDef, texts) -> str:
    if d.kind == "leaf":
        return next(texts) if texts is not None else "*"
    if d.kind == "none":
        return "None"
    inner = [_describe(c, texts) for c in d.children]
    if d.kind == "dict":
        return "{" + ", ".join(f"{k!r}: {v}" for k, v in zip(d.aux, inner)) + "}"
    if d.kind == "list":
        return "[" + ", ".join(inner) + "]"
    name = d.aux.__name__ if d.kind == "namedtuple" else ""
    return f"{name}({inner[0]},)" if len(inner) == 1 and not name else \
        f"{name}({', '.join(inner)})"


def same_signature(d1: TreeDef, leaves1, d2: TreeDef, leaves2) -> bool:
    """Whether two pytrees have the same structure and the same shape/dtype per leaf."""
    if d1 != d2:
        return False
    return all(tuple(a._data.shape) == tuple(b._data.shape) and a._data.dtype == b._data.dtype
               for a, b in zip(leaves1, leaves2))
