"""Where a value read while tracing came from, and the guard that re-checks it at call time.

A `Source` renders a Python expression that re-reads the value on a later call (``L[1]``
for an argument, ``G0.get('K', MISSING)`` for a global, ``C0.cell_contents`` for a closure
variable, ``O3.__dict__.get('scale', MISSING)`` for an attribute) and a description for
people (``global K``, ``cfg.scale``). Objects the expressions need (a globals dict, a cell,
an object whose attribute was read) are registered in a `Namespace` under short names.

`guard_for_value` decides how a read value is compared: immutable values (numbers, strings,
dtypes, tuples of them) by type and equality, everything else by identity. Equality is
strict (`strict_key`): ``-0.0`` is not ``0.0`` and ``(2,)`` is not ``(2.0,)``, since a graph
specialised on one computes another result for the other (``1 / -0.0``, int promotion).
"""

from __future__ import annotations

import enum
import math
import types
from dataclasses import dataclass, field
from typing import Any

import numpy as np

MISSING = type("Missing", (), {"__repr__": lambda self: "<missing>"})()


class Namespace:
    """Objects the generated guard code refers to, under short unique names."""

    def __init__(self):
        self.values: dict[str, Any] = {"MISSING": MISSING}
        self._names: dict[tuple, str] = {}

    def name(self, obj, prefix: str = "O") -> str:
        key = (prefix, id(obj))
        name = self._names.get(key)
        if name is None:
            name = f"{prefix}{len(self._names)}"
            self._names[key] = name
            self.values[name] = obj
        return name


class Source:
    """How to read a value again at call time (see the module docstring)."""

    def expr(self, ns: Namespace) -> str:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True, eq=False)
class ArgSource(Source):
    index: int
    name: str

    def expr(self, ns):
        return f"L[{self.index}]"

    def describe(self):
        return f"argument {self.name}"


@dataclass(frozen=True, eq=False)
class GlobalSource(Source):
    globals: dict
    name: str

    def expr(self, ns):
        return f"{ns.name(self.globals, 'G')}.get({self.name!r}, MISSING)"

    def describe(self):
        module = self.globals.get("__name__", "?")
        return f"global {self.name}" + ("" if module == "__main__" else f" (module {module})")


@dataclass(frozen=True, eq=False)
class BuiltinSource(Source):
    """A builtin name, read only while the module does not shadow it."""

    globals: dict
    builtins: dict
    name: str

    def expr(self, ns):
        g, b = ns.name(self.globals, "G"), ns.name(self.builtins, "B")
        return f"({b}.get({self.name!r}, MISSING) if {self.name!r} not in {g} else MISSING)"

    def describe(self):
        return f"builtin {self.name}"


@dataclass(frozen=True, eq=False)
class CellSource(Source):
    cell: Any
    name: str

    def expr(self, ns):
        return f"{ns.name(self.cell, 'C')}.cell_contents"

    def describe(self):
        return f"closure variable {self.name}"


@dataclass(frozen=True, eq=False)
class AttrSource(Source):
    """``base.name`` read from the instance dict ("dict") or a slot/data attribute
    ("attr": read with getattr, only used where that has no side effects)."""

    base: Source
    name: str
    how: str = "dict"

    def expr(self, ns):
        base = self.base.expr(ns)
        if self.how == "dict":
            return f"{base}.__dict__.get({self.name!r}, MISSING)"
        return f"getattr({base}, {self.name!r}, MISSING)"

    def describe(self):
        return f"{self.base.describe()}.{self.name}"


@dataclass(frozen=True, eq=False)
class ItemSource(Source):
    base: Source
    key: Any
    mapping: bool

    def expr(self, ns):
        key = _literal(self.key, ns)
        base = self.base.expr(ns)
        return f"{base}.get({key}, MISSING)" if self.mapping else f"{base}[{key}]"

    def describe(self):
        return f"{self.base.describe()}[{self.key!r}]"


@dataclass(frozen=True, eq=False)
class ConstSource(Source):
    """An object known by identity (held by the guard)."""

    obj: Any

    def expr(self, ns):
        return ns.name(self.obj)

    def describe(self):
        return describe_object(self.obj)


def describe_object(obj) -> str:
    if isinstance(obj, types.ModuleType):
        return f"module {obj.__name__}"
    if isinstance(obj, (types.FunctionType, type)):
        return getattr(obj, "__qualname__", repr(obj))
    return f"a {type(obj).__name__} object"


def _literal(value, ns: Namespace) -> str:
    if type(value) in (int, str, bool, float, type(None)) and not (
            type(value) is float and not math.isfinite(value)):
        return repr(value)
    return ns.name(value, "K")


# --- values -------------------------------------------------------------------------------

_SCALARS = (int, float, bool, str, bytes, complex, type(None), type(Ellipsis), range, slice)


def is_immutable_value(value) -> bool:
    """Values compared by equality in guards: Python scalars, dtypes, devices, enum members,
    and tuples/frozensets of such."""
    t = type(value)
    if t in _SCALARS or t is np.dtype or isinstance(value, (np.generic, enum.Enum)):
        return True
    if t in (tuple, frozenset):
        return all(is_immutable_value(v) for v in value)
    module = getattr(t, "__module__", "") or ""
    if module.startswith("graphtorch") and t.__name__ in ("DType", "device", "Size", "dtype"):
        return True
    return False


class GuardKind(enum.Enum):
    """How a guard compares what it reads now with what the trace read."""

    EQUAL = "equal"        # same type and equal value
    IDENTITY = "identity"  # the same object
    TYPE = "type"          # an object of the same class
    CONTENT = "content"    # a container/object with the same items (identities or values)
    LENGTH = "length"      # same len()
    HASATTR = "hasattr"    # hasattr() gives the same answer
    VERSION = "version"    # a module's state version is unchanged
    TENSOR = "tensor"      # a tensor's shape, dtype, device and requires_grad
    CUSTOM = "custom"      # a ready-made check (tensor signatures, grad mode, ...)


@dataclass
class Guard:
    """One check of a compiled variant. `check` is a boolean Python expression over the
    flattened arguments ``L`` and the namespace; `value` (optional) re-reads the current
    value for the recompile log. `where` is the user's file:line of the read."""

    description: str
    check: str
    expected: Any = None
    value: str | None = None
    where: str = ""
    kind: GuardKind = GuardKind.CUSTOM
    key: Any = field(default=None, compare=False)


def strict_key(value):
    """`value` as a key equal only for values every op treats alike: Python's ``==`` says
    ``0.0 == -0.0`` and ``(2,) == (2.0,) == (True,)``, but the sign of a zero reaches
    division results and an item's type reaches type promotion. NaN's key equals NaN's.

    >>> strict_key(0.0) == strict_key(-0.0), strict_key((2,)) == strict_key((2.0,))
    (False, False)
    """
    t = type(value)
    if t is tuple or t is frozenset:
        items = (strict_key(v) for v in value)
        return (t, tuple(items) if t is tuple else frozenset(items))
    if t in (float, complex) or isinstance(value, (np.floating, np.complexfloating)):
        return (t, repr(value))  # repr is exact and tells -0.0 and nan apart
    return (t, value)


def _needs_strict_key(value) -> bool:
    """Whether type + ``==`` may call two different values equal (see `strict_key`)."""
    t = type(value)
    if t is float:
        return value == 0.0
    return t in (tuple, frozenset, complex) or isinstance(value, (np.floating,
                                                                  np.complexfloating))


def equality_check(expr: str, value, ns: Namespace) -> str:
    """The guard expression: `expr` still evaluates to a value treated as `value` is."""
    if type(value) is float and math.isnan(value):
        return f"(type(_v := {expr}) is float and _v != _v)"
    if _needs_strict_key(value):
        return f"(_strict_key({expr}) == {ns.name(strict_key(value), 'K')})"
    t = ns.name(type(value), "T")
    return f"(type(_v := {expr}) is {t} and _v == {_literal(value, ns)})"


def guard_for_value(source: Source, value, ns: Namespace, where: str,
                    what: str | None = None) -> Guard:
    """A guard that `source` still reads `value` (by equality or identity, see
    `is_immutable_value`)."""
    expr = source.expr(ns)
    label = what or source.describe()
    if is_immutable_value(value):
        check = equality_check(expr, value, ns)
        return Guard(label, check, value, expr, where, GuardKind.EQUAL, (id(source), "eq"))
    if value is MISSING:
        return Guard(f"{label} is not set", f"({expr} is MISSING)", MISSING, expr, where,
                     GuardKind.EQUAL, (id(source), "missing"))
    return Guard(f"{label} is the same {type(value).__name__} object",
                 f"({expr} is {ns.name(value)})", value, expr, where, GuardKind.IDENTITY,
                 (id(source), "is"))


# --- content snapshots ---------------------------------------------------------------------

def snapshot(obj):
    """A comparable picture of a container's (or plain object's) items: immutable values
    as they are, other objects by identity. Arrays are copied."""
    if isinstance(obj, np.ndarray):
        return ("ndarray", obj.shape, obj.dtype, obj.copy())
    if isinstance(obj, dict):
        return ("dict", tuple((k, _item(v)) for k, v in obj.items()))
    if isinstance(obj, (list, tuple, set, frozenset)) or _is_sequence(obj):
        items = obj if not isinstance(obj, (set, frozenset)) else sorted(obj, key=repr)
        return (type(obj).__name__, tuple(_item(v) for v in items))
    try:
        state = vars(obj)
    except TypeError:
        return ("opaque", id(obj))
    return ("object", type(obj), tuple((k, _item(v)) for k, v in state.items()))


def _is_sequence(obj) -> bool:
    from collections import deque

    return isinstance(obj, (deque, bytearray))


class _Identity:
    __slots__ = ("obj",)

    def __init__(self, obj):
        self.obj = obj

    def __eq__(self, other):
        return type(other) is _Identity and other.obj is self.obj

    def __hash__(self):
        return id(self.obj)

    def __repr__(self):
        return f"<{type(self.obj).__name__} at {id(self.obj):#x}>"


def _item(value):
    return strict_key(value) if is_immutable_value(value) else _Identity(value)


def same_snapshot(a, b) -> bool:
    if a[0] == "ndarray" or b[0] == "ndarray":
        return a[0] == b[0] and a[1] == b[1] and a[2] == b[2] and \
            bool(np.array_equal(a[3], b[3], equal_nan=a[2].kind in "fc"))
    return a == b


def content_guard(source: Source, obj, ns: Namespace, where: str, why: str) -> Guard:
    """A guard that `source` still has the items `obj` has now (see `snapshot`)."""
    expr = source.expr(ns)
    snap = snapshot(obj)
    name = ns.name(snap, "S")
    return Guard(f"the contents of {source.describe()} ({why})",
                 f"_same(_snapshot({expr}), {name})", snap, f"_snapshot({expr})", where,
                 GuardKind.CONTENT, (id(source), "content"))


GUARD_HELPERS = {"_snapshot": snapshot, "_same": same_snapshot, "_strict_key": strict_key,
                 "MISSING": MISSING}
