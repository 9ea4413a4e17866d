"""The read recorder's handlers for calls (see `read_recorder`).

A call into Python code needs nothing: that code is watched when it runs. A call into C or
graphtorch code reads whatever it is given, so outside containers passed to it are guarded
whole; a mutating method of an outside container, Python's or NumPy's random numbers,
clocks, print/input/open and functions marked by `gt.compiler.disable` are graph breaks.
"""

from __future__ import annotations

import functools
import random as _py_random
import types

import numpy as np

from . import frame_stack
from .code_origin import category_of
from .recorded_reads import _CONTAINERS, _is_container, _mutating, _where
from .sources import AttrSource, Guard, GuardKind, guard_for_value

_EFFECTFUL_BUILTINS = {print: "print() writes output", input: "input() reads input",
                       breakpoint: "breakpoint() stops the program",
                       open: "open() does file I/O"}
_NONDETERMINISTIC_MODULES = ("time", "secrets", "uuid")
# Results that are new objects whenever a call returns them.
_FRESH_RESULTS = (types.GeneratorType, map, zip, filter, enumerate, reversed,
                  type(iter([])), type(iter(())), type(iter({})), type(iter(range(0))),
                  type({}.items()), type({}.keys()), type({}.values()))


class CallHandlers:
    """Mixin of `ReadRecorder`: calls (PRECALL, CALL_FUNCTION_EX)."""

    def _call_ex(self, frame, ins):
        depth = 1 if ins.arg & 1 else 0
        for d in range(depth + 1):
            obj = frame_stack.peek(frame, d)
            if self._outside(obj) and isinstance(obj, (list, dict)):
                self._guard_content(self._source(obj), obj, _where(frame), "unpacked")
        callable_ = frame_stack.peek(frame, depth + 1)
        self._check_callable(frame, callable_, None, [])
        return None

    def _precall(self, frame, ins):
        argc = ins.arg
        first = frame_stack.peek(frame, argc + 1)
        second = frame_stack.peek(frame, argc)
        args = [frame_stack.peek(frame, argc - 1 - k) for k in range(argc)]
        if first is frame_stack.NULL:
            callable_, self_ = second, None
        else:
            callable_, self_ = first, second
        return self._check_callable(frame, callable_, self_, args)

    def _check_callable(self, frame, callable_, self_, args):
        """Decide what calling `callable_(self_, *args)` means for the guards."""
        where = _where(frame)
        if isinstance(callable_, functools.partial) and self._outside(callable_):
            # C code hands the bound arguments to the function: they are read here
            source = self._source(callable_)
            self._guard_content(AttrSource(source, "keywords", "attr"), callable_.keywords,
                                where, "keywords bound by a functools.partial")
            for a in callable_.args:
                self._read_opaque_argument(frame, a, where)
        bound_self = self_ if self_ is not None else getattr(callable_, "__self__", None)
        target = callable_.__func__ if isinstance(callable_, types.MethodType) else callable_
        reason = _effect(target, bound_self)
        if reason:
            self._fail(frame, f"{reason}; a compiled graph would do it only once, while "
                       "tracing")
        if isinstance(target, types.FunctionType):
            if category_of(target.__code__.co_filename) != "graphtorch":
                return "check call"  # Python code: watched when it runs
            opaque_args = args
        elif isinstance(target, type):
            opaque_args = args if target.__module__ == "builtins" else []
            # zip(...), map(...), enumerate(...): a new iterator, local to the trace
            fresh = target.__new__ is object.__new__ or target in (list, dict, set,
                                                                   bytearray) or \
                target in _FRESH_RESULTS
            for a in opaque_args:
                self._read_opaque_argument(frame, a, where)
            return "after call" if fresh else None
        else:
            opaque_args = args
        fresh_check = "check call"
        if target in (id, hash) and args:
            obj = args[0]
            if self._outside(obj):
                self._add(guard_for_value(self._source(obj), obj, self.ns, where))
            return None
        if target is getattr and len(args) >= 2 and isinstance(args[1], str):
            if self._outside(args[0]):
                self._read_attribute(args[0], args[1], where) if not isinstance(
                    args[0], (self._Module, self._Optimizer)) else self._reach(args[0])
            return None
        if target in (setattr, delattr) and args and self._outside(args[0]):
            self._fail(frame, f"{target.__name__}() on {self._source(args[0]).describe()} "
                       "changes Python state, which a compiled graph cannot replay")
        if target is len and args and self._outside(args[0]) and not isinstance(
                args[0], self._Module):
            source = self._source(args[0])
            self._add(Guard(f"len({source.describe()})", f"(len({source.expr(self.ns)}) == "
                            f"{len(args[0])})", len(args[0]), None, where, GuardKind.LENGTH))
            self._watch_writes(args[0], source)
            return None
        receiver = bound_self if bound_self is not None and not isinstance(
            bound_self, types.ModuleType) else None
        if receiver is not None and self._outside(receiver) and _is_container(receiver):
            name = getattr(target, "__name__", "")
            if _mutating(receiver, name):
                self._fail(frame, f"{name}() on {self._source(receiver).describe()} changes "
                           "Python state, which a compiled graph cannot replay")
        for a in ([receiver] if receiver is not None else []) + list(opaque_args):
            self._read_opaque_argument(frame, a, where)
        return fresh_check

    def _read_opaque_argument(self, frame, obj, where: str) -> None:
        """`obj` is handed to code the recorder does not watch (C or graphtorch code): its
        whole content counts as read, and any change to it as a side effect."""
        if not self._outside(obj) or isinstance(obj, (types.FunctionType, types.ModuleType,
                                                       type, types.MethodType,
                                                       types.BuiltinFunctionType)):
            return
        if isinstance(obj, (self._Module, self._Optimizer)):
            self._reach(obj)
            return
        if isinstance(obj, tuple):
            for item in obj:
                self._read_opaque_argument(frame, item, where)
            return
        if hasattr(obj, "__next__") and not isinstance(obj, _CONTAINERS):
            self._fail(frame, f"passing the iterator {self._source(obj).describe()} to a "
                       "function advances it, which a compiled graph cannot replay")
        self._guard_content(self._source(obj), obj, where, "passed to a function")


def _effect(target, bound_self) -> str:
    """Why calling `target` has an effect a graph cannot replay ('' when it has none)."""
    try:
        if target in _EFFECTFUL_BUILTINS:
            return _EFFECTFUL_BUILTINS[target]
    except TypeError:  # unhashable callables
        pass
    reason = getattr(target, "_graph_break_reason", None)
    if isinstance(reason, str):
        return reason
    if isinstance(bound_self, (_py_random.Random, np.random.RandomState,
                               np.random.Generator)):
        return "drawing from Python's or NumPy's random generator"
    module = getattr(target, "__module__", None) or (
        bound_self.__name__ if isinstance(bound_self, types.ModuleType) else "")
    if module == "random" or (module or "").startswith("numpy.random"):
        return "drawing from Python's or NumPy's random generator"
    if module in _NONDETERMINISTIC_MODULES or (module == "posix" and getattr(
            target, "__name__", "") == "urandom"):
        return f"calling {module}.{getattr(target, '__name__', '?')} (a value that changes " \
               "between calls)"
    if module == "datetime" and getattr(target, "__name__", "") in ("now", "today", "utcnow"):
        return "reading the clock"
    return ""
