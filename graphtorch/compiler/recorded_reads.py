"""The read recorder's handlers for data instructions (see `read_recorder`).

Loads of globals, closure cells, attributes and items of outside objects become guards;
stores into outside state (an attribute, an item, a global, a nonlocal) are graph breaks;
iterating, unpacking, merging or testing membership of an outside container guards its
whole content. Each handler gets the frame and the instruction about to run and may return
a mark for the instruction's result ("local": an object the trace made).
"""

from __future__ import annotations

import types

import numpy as np

from . import frame_stack
from .sources import (
    MISSING, AttrSource, BuiltinSource, CellSource, ConstSource, GlobalSource, Guard,
    GuardKind, ItemSource, is_immutable_value,
)

# Methods of builtin containers that only read.
_READING_METHODS = frozenset({
    "get", "keys", "values", "items", "copy", "count", "index", "__contains__",
    "__getitem__", "__len__", "__iter__", "__reversed__", "issubset", "issuperset", "union",
    "intersection", "difference", "symmetric_difference", "isdisjoint", "__eq__", "__ne__",
    "__or__", "__and__", "__sub__", "__xor__", "__add__", "__mul__", "__repr__", "__str__",
    "__format__", "__hash__", "fromkeys"})
_CONTAINERS = (list, dict, set, bytearray, np.ndarray)
_NDARRAY_MUTATORS = frozenset({"fill", "sort", "resize", "put", "itemset", "setfield",
                               "partition", "byteswap", "setflags", "__setitem__",
                               "__delitem__"})


class ReadHandlers:
    """Mixin of `ReadRecorder`: one method per data instruction."""

    def _load_global(self, frame, ins):
        name = ins.argval
        globs = frame.f_globals
        if name in globs:
            value, source = globs[name], GlobalSource(globs, name)
        else:
            builtins_ = frame.f_builtins
            if name not in builtins_:
                return None  # NameError follows, as in eager
            value, source = builtins_[name], BuiltinSource(globs, builtins_, name)
        self._guard_value(source, value, _where(frame))
        return None

    def _load_name(self, frame, ins):
        if ins.argval in frame.f_locals and frame.f_locals is not frame.f_globals:
            return None
        return self._load_global(frame, ins)

    def _load_deref(self, frame, ins):
        code = frame.f_code
        if ins.argval not in code.co_freevars:
            return None  # a cell of this frame
        fn = frame_stack.frame_function(frame)
        if fn is frame_stack.NULL or self._is_local(fn):
            return None  # a closure made during the trace
        cell = frame_stack.local_slot(frame, ins.arg)
        try:
            value = cell.cell_contents
        except ValueError:
            return None
        self._guard_value(CellSource(cell, ins.argval), value, _where(frame))
        return None

    def _store_deref(self, frame, ins):
        if ins.argval not in frame.f_code.co_freevars:
            return None
        fn = frame_stack.frame_function(frame)
        if fn is frame_stack.NULL or self._is_local(fn):
            return None
        self._fail(frame, f"assigning the closure variable {ins.argval!r} (nonlocal) changes "
                   "Python state, which a compiled graph cannot replay")

    def _store_global(self, frame, ins):
        self._fail(frame, f"assigning the global {ins.argval!r} changes Python state, which a "
                   "compiled graph cannot replay")

    def _load_attr(self, frame, ins):
        obj = frame_stack.peek(frame, 0)
        if not self._outside(obj):
            return None
        name = ins.argval
        where = _where(frame)
        if isinstance(obj, (self._Module, self._Optimizer)):
            self._read_state_attribute(obj, name, where)
            return None
        self._read_attribute(obj, name, where)
        return None

    def _read_state_attribute(self, obj, name: str, where: str) -> None:
        """A module's attributes are guarded by its state version; class attributes (a
        method, a class-level constant) by their own guard."""
        self._reach(obj)
        value = _module_attribute(obj, name)
        if value is not MISSING:
            source = AttrSource(self._source(obj), name, "attr")
            if isinstance(obj, self._Optimizer):  # optimizers have no version counter
                self._guard_value(source, value, where)
            else:
                self._reach(value, source)
            return
        static = _mro_lookup(type(obj), name)
        if static is not MISSING:
            owner = _mro_owner(type(obj), name)
            if not owner.__module__.startswith("graphtorch"):
                self._guard_value(AttrSource(ConstSource(owner), name), static, where)

    def _read_attribute(self, obj, name: str, where: str) -> None:
        source = self._source(obj)
        if _is_container(obj):
            if _mutating(obj, name):
                return  # reported at the call, where the mutation happens
            self._guard_content(source, obj, where, f"read by .{name}")
            return
        if name == "__dict__":
            self._reach(vars(obj), AttrSource(source, "__dict__", "attr"))
            return
        cls = type(obj)
        static = _mro_lookup(cls, name)
        instance_dict = _instance_dict(obj)
        if not isinstance(source, ConstSource) and not isinstance(obj, types.ModuleType):
            self._add(Guard(f"{source.describe()} is a {cls.__qualname__}",
                            f"(type({source.expr(self.ns)}) is {self.ns.name(cls, 'T')})",
                            cls, f"type({source.expr(self.ns)})", where, GuardKind.TYPE))
        if static is not MISSING and (hasattr(type(static), "__set__")
                                      or hasattr(type(static), "__delete__")):
            if type(static).__name__ == "member_descriptor":  # a __slots__ slot
                self._guard_value(AttrSource(source, name, "attr"),
                                  static.__get__(obj, cls), where)
            return  # a property: its getter is Python code, watched itself
        if instance_dict is not None and name in instance_dict:
            self._guard_value(AttrSource(source, name), instance_dict[name], where)
            return
        if instance_dict is not None:
            self._guard_value(AttrSource(source, name), MISSING, where)
        if static is not MISSING:
            owner = _mro_owner(cls, name)
            self._guard_value(AttrSource(ConstSource(owner), name), static, where)
            return
        if isinstance(obj, types.ModuleType):
            return  # module __getattr__: Python code, watched
        self._guard_content(source, obj, where, f"attribute {name!r} of an unusual object")

    def _binary_subscr(self, frame, ins):
        key = frame_stack.peek(frame, 0)
        container = frame_stack.peek(frame, 1)
        where = _where(frame)
        if isinstance(container, self._Tensor):
            if self._outside(key) and isinstance(key, _CONTAINERS):
                self._guard_content(self._source(key), key, where, "used as an index")
            return None
        if not self._outside(container):
            return None
        if isinstance(container, self._Module):
            self._reach(container)
            return None
        source = self._source(container)
        if type(container) is dict and is_immutable_value(key):
            value = container.get(key, MISSING)
            self._guard_value(ItemSource(source, key, True), value, where)
        elif type(container) is list and type(key) is int and -len(container) <= key < len(
                container):
            self._add(Guard(f"len({source.describe()})", f"(len({source.expr(self.ns)}) == "
                            f"{len(container)})", len(container), None, where,
                            GuardKind.LENGTH))
            self._guard_value(ItemSource(source, key, False), container[key], where)
        elif type(container) in (tuple, str, bytes, range):
            return None
        else:
            self._guard_content(source, container, where, "read by indexing")
        return None

    def _store_subscr(self, frame, ins):
        container = frame_stack.peek(frame, 1)
        if self._outside(container) and not isinstance(container, self._Module):
            self._fail(frame, f"assigning an item of {self._source(container).describe()} "
                       "changes Python state, which a compiled graph cannot replay")
        return None

    def _store_attr(self, frame, ins):
        obj = frame_stack.peek(frame, 0)
        name = ins.argval
        if isinstance(obj, self._Tensor):
            if name == "data" and not self._is_local(obj):
                self._fail(frame, "assigning .data replaces a tensor's storage, which a "
                           "compiled graph cannot replay; use `with torch.no_grad(): "
                           "t.copy_(new)` instead")
            return None
        if self._outside(obj):
            self._fail(frame, f"assigning {self._source(obj).describe()}.{name} changes "
                       "Python state, which a compiled graph cannot replay")
        return None

    def _iterate(self, frame, ins):
        obj = frame_stack.peek(frame, 0)
        if not self._outside(obj) or isinstance(obj, (self._Module, tuple, str, range)):
            return "local" if ins.opname == "GET_ITER" else None
        if hasattr(obj, "__next__") and not isinstance(obj, _CONTAINERS):
            self._fail(frame, f"advancing the iterator {self._source(obj).describe()} changes "
                       "Python state, which a compiled graph cannot replay")
        self._guard_content(self._source(obj), obj, _where(frame), "iterated")
        return "local" if ins.opname == "GET_ITER" else None

    def _contains(self, frame, ins):
        container = frame_stack.peek(frame, 0)
        if self._outside(container) and not isinstance(container, (self._Module, tuple)):
            self._guard_content(self._source(container), container, _where(frame),
                                "checked with `in`")
        return None

    def _merge(self, frame, ins):
        return self._iterate(frame, ins)

    def _truth(self, frame, ins):
        """``if CALLBACKS:`` / ``not cfg`` / ``L and ...``: an outside container's truth
        value (its emptiness) picks the traced branch."""
        obj = frame_stack.peek(frame, 0)
        if not self._outside(obj) or not _is_container(obj):
            return None
        source = self._source(obj)
        if isinstance(obj, np.ndarray):
            self._guard_content(source, obj, _where(frame), "tested for truth")
            return None
        value = bool(obj)
        self._add(Guard(f"bool({source.describe()})", f"(bool({source.expr(self.ns)}) is "
                        f"{value})", value, f"bool({source.expr(self.ns)})", _where(frame),
                        GuardKind.EQUAL))
        return None

    def _compare(self, frame, ins):
        """``L == [1, 2]``, ``D != {}``: the content of an outside container is read."""
        for obj in (frame_stack.peek(frame, 0), frame_stack.peek(frame, 1)):
            if self._outside(obj) and _is_container(obj):
                self._guard_content(self._source(obj), obj, _where(frame), "compared")
        return None

    def _binary_op(self, frame, ins):
        rhs, lhs = frame_stack.peek(frame, 0), frame_stack.peek(frame, 1)
        inplace = "=" in (ins.argrepr or "")
        for obj in (lhs, rhs):
            if self._outside(obj) and isinstance(obj, _CONTAINERS):
                if inplace and obj is lhs and not isinstance(obj, np.ndarray):
                    self._fail(frame, f"{ins.argrepr} on {self._source(obj).describe()} changes "
                               "Python state, which a compiled graph cannot replay")
                self._guard_content(self._source(obj), obj, _where(frame), "in an expression")
        return None


def _is_container(obj) -> bool:
    return isinstance(obj, (*_CONTAINERS, set)) or type(obj).__module__ == "collections"


def _mutating(obj, name: str) -> bool:
    """Whether calling method `name` of the builtin container `obj` may change it."""
    if isinstance(obj, np.ndarray):
        return name in _NDARRAY_MUTATORS or name.startswith("__i")
    attr = getattr(type(obj), name, None)
    return callable(attr) and name not in _READING_METHODS


def _module_attribute(module, name: str):
    d = module.__dict__
    if name in d:
        return d[name]
    for store in ("_parameters", "_buffers", "_modules"):
        items = d.get(store)
        if items is not None and name in items:
            return items[name]
    return MISSING


def _instance_dict(obj):
    try:
        return object.__getattribute__(obj, "__dict__")
    except (AttributeError, TypeError):
        return None


def _mro_lookup(cls, name: str):
    for klass in getattr(cls, "__mro__", (cls,)):
        d = klass.__dict__
        if name in d:
            return d[name]
    return MISSING


def _mro_owner(cls, name: str):
    for klass in getattr(cls, "__mro__", (cls,)):
        if name in klass.__dict__:
            return klass
    return cls


def _where(frame) -> str:
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"
