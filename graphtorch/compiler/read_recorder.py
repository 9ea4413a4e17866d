"""Record what traced code reads from Python state, so that every read becomes a guard.

`gt.compile` captures a function by running it once on symbolic tensors. Whatever Python
state that run reads (a global ``K``, a closure variable, ``cfg.scale``, ``cfg["s"]``, the
items of a list it iterates) is baked into the graph, so each read must be re-checked
before every later call. While capturing, a `ReadRecorder` watches every bytecode
instruction of user code (``sys.settrace`` opcode events; operands are read from the value
stack by `frame_stack`) and records:

- reads of outside state, each as a `sources.Guard` with the user's file:line;
- writes to outside state (``cfg.x = 1``, ``lst.append(t)``, ``global K``), calls into
  Python's or NumPy's random generators, clocks and I/O (``print``): these cannot be replayed
  by a graph, so they are graph breaks (`breaks`), and the function runs eagerly;
- objects created during the trace (their reads and writes need no guard);
- modules and optimizers the code reached, so `capture` can bind their state.

Frames of graphtorch itself are not watched (modules guard their own attributes through a
version counter, see `nn.modules.module`); library frames are watched when user code calls
them. Anything the recorder cannot watch (another interpreter layout, a debugger replacing
the trace function) makes the capture fail with a reason instead of compiling blind.
"""

from __future__ import annotations

import builtins
import os
import random as _py_random
import sys
import sysconfig
import types
import weakref

import numpy as np

from ..ir.tracer import TracingError
from . import frame_stack
from .sources import (
    MISSING, ArgSource, AttrSource, BuiltinSource, CellSource, ConstSource, GlobalSource, Guard,
    GuardKind, ItemSource, Namespace, Source, content_guard, guard_for_value, is_immutable_value,
)

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_LIBRARY_DIRS = tuple(sorted({os.path.abspath(p) + os.sep for key in
                              ("stdlib", "platstdlib", "purelib", "platlib")
                              if (p := sysconfig.get_paths().get(key))}, key=len,
                             reverse=True))

# Methods of builtin containers that only read.
_READING_METHODS = frozenset({
    "get", "keys", "values", "items", "copy", "count", "index", "__contains__",
    "__getitem__", "__len__", "__iter__", "__reversed__", "issubset", "issuperset", "union",
    "intersection", "difference", "symmetric_difference", "isdisjoint", "__eq__", "__ne__",
    "__or__", "__and__", "__sub__", "__xor__", "__add__", "__mul__", "__repr__", "__str__",
    "__format__", "__hash__", "fromkeys"})
_CONTAINERS = (list, dict, set, bytearray, np.ndarray)
_EFFECTFUL_BUILTINS = {print: "print() writes output", input: "input() reads input",
                       breakpoint: "breakpoint() stops the program",
                       open: "open() does file I/O"}
_NONDETERMINISTIC_MODULES = ("time", "secrets", "uuid")
# Results that are new objects whenever a call returns them.
_FRESH_RESULTS = (types.GeneratorType, map, zip, filter, enumerate, reversed,
                  type(iter([])), type(iter(())), type(iter({})), type(iter(range(0))),
                  type({}.items()), type({}.keys()), type({}.values()))
_BUILDS = frozenset({"BUILD_LIST", "BUILD_MAP", "BUILD_SET", "BUILD_TUPLE",
                     "BUILD_CONST_KEY_MAP", "BUILD_SLICE", "BUILD_STRING", "LIST_TO_TUPLE",
                     "MAKE_FUNCTION", "GET_ITER", "GET_AITER", "BEFORE_WITH"})


class GraphBreak(TracingError):
    """Raised inside the traced code when it does something a graph cannot replay; the
    recorder also keeps the reason, so catching it in user code does not hide it."""


_CATEGORIES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # code -> category
_INSTRUCTIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # code -> {offset: ins}
_NDARRAY_MUTATORS = frozenset({"fill", "sort", "resize", "put", "itemset", "setfield",
                               "partition", "byteswap", "setflags", "__setitem__",
                               "__delitem__"})


def _category(filename: str, module: str = "") -> str:
    """graphtorch, library (stdlib, site-packages) or user code. Code made at run time
    (``<string>``: dataclass methods, exec) belongs to the module whose globals it uses."""
    if filename.startswith("<") and not filename.startswith("<frozen"):
        if module == "graphtorch" or module.startswith("graphtorch."):
            return "graphtorch"
        if module.split(".")[0] in _LIBRARY_MODULES or module.startswith("namedtuple_"):
            return "library"  # namedtuple methods are made by collections with exec
        return "user"
    path = os.path.abspath(filename) if not filename.startswith("<") else filename
    if path.startswith(_PACKAGE_DIR):
        return "graphtorch"
    if filename.startswith("<frozen") or path.startswith(_LIBRARY_DIRS):
        return "library"
    return "user"


_LIBRARY_MODULES = frozenset(sys.stdlib_module_names) | {"numpy", "networkx"}


class ReadRecorder:
    """Watches one capture (see the module docstring). Use as a context manager around the
    traced call; then read `guards`, `breaks`, `modules`, `optimizers`."""

    def __init__(self, leaves: list, arg_names: list[str], ns: Namespace):
        from ..nn.modules.module import Module
        from ..optim.optimizer import Optimizer
        from ..tensor import Tensor

        self._Module, self._Optimizer, self._Tensor = Module, Optimizer, Tensor
        self.ns = ns
        self.guards: dict[str, Guard] = {}
        self.breaks: list[str] = []
        self.modules: dict[int, object] = {}       # id -> Module reached by user code
        self.optimizers: dict[int, object] = {}    # id -> Optimizer reached by user code
        self.optimizer_snapshots: list = []        # (optimizer, its state, its groups)
        self.module_versions: dict[int, int] = {}  # version when first reached
        self._sources: dict[int, Source] = {}
        self._local: set[int] = set()              # ids of objects created by the trace
        self._keep: list = []                      # keeps ids above valid
        self._snapshots: dict[int, tuple] = {}     # id -> (obj, snapshot, description)
        self._watched: set[int] = set()            # ids of frames being watched
        self._previous = None
        self.unwatchable = ""
        for i, leaf in enumerate(leaves):
            if not isinstance(leaf, Tensor) and not is_immutable_value(leaf):
                name = arg_names[i] if i < len(arg_names) else f"argument {i}"
                self._sources[id(leaf)] = ArgSource(i, name)
                self._reach(leaf)

    def name_of(self, obj) -> str:
        """A readable name for an object the trace reached (for guards and state names)."""
        source = self._sources.get(id(obj))
        if source is not None:
            text = source.describe()
            for prefix in ("global ", "argument ", "closure variable ", "builtin "):
                text = text.replace(prefix, "")
            return text.split(" (module")[0]
        return type(obj).__name__.lower()

    # --- installation ---------------------------------------------------------------------
    def __enter__(self):
        if not frame_stack.available():
            self.unwatchable = (f"gt.compile cannot watch what traced code reads on "
                                f"{sys.implementation.name} {sys.version.split()[0]} "
                                "(CPython 3.11 is supported), so it does not compile")
            return self
        self._previous = sys.gettrace()
        sys.settrace(self._on_call)
        return self

    def __exit__(self, *exc):
        if self.unwatchable:
            return False
        still_ours = sys.gettrace() == self._on_call
        sys.settrace(self._previous)
        if not still_ours and not self.unwatchable:
            self.unwatchable = ("the traced code replaced the trace function (a debugger or "
                                "coverage tool?), so its reads could not be guarded")
        self._keep.clear()
        return False

    def finish(self) -> None:
        """After the trace: objects the trace changed through code it could not watch
        (graphtorch or C code) are side effects a graph cannot replay."""
        for obj, snap, what in self._snapshots.values():
            from .sources import same_snapshot, snapshot

            try:
                changed = not same_snapshot(snapshot(obj), snap)
            except Exception:  # noqa: BLE001 - an object that cannot be read again
                changed = True
            if changed:
                self.breaks.append(f"the function changes {what}, a side effect a graph "
                                   "cannot replay")
        for mid, module in self.modules.items():
            if module._state_version != self.module_versions[mid]:
                self.breaks.append(f"the function changes the state of module "
                                   f"{type(module).__name__} (an attribute, submodule, "
                                   "parameter or hook), a side effect a graph cannot replay")

    # --- frames ----------------------------------------------------------------------------
    def _on_call(self, frame, event, arg):
        code = frame.f_code
        category = _CATEGORIES.get(code)
        if category is None:
            category = _CATEGORIES[code] = _category(code.co_filename,
                                                     frame.f_globals.get("__name__", ""))
        if category == "graphtorch":
            return None
        if category == "library" and id(frame.f_back) not in self._watched:
            return None  # library code called by graphtorch, not by the user
        self._watched.add(id(frame))
        frame.f_trace_opcodes = True
        frame.f_trace_lines = False
        self._enter_frame(frame)
        pending = [None]

        def local(frame, event, arg):
            if event == "opcode":
                mark = pending[0]
                if mark is not None:
                    pending[0] = None
                    if mark in ("after call", "check call"):  # results appear after CALL
                        ins = self._instruction(frame)
                        if ins is not None and ins.opname == "CALL":
                            pending[0] = "local" if mark == "after call" else "fresh?"
                            return local
                    elif mark == "fresh?":
                        self._mark_if_fresh(frame)
                    else:
                        self._mark_result(frame)
                try:
                    pending[0] = self._on_opcode(frame)
                except GraphBreak:
                    raise
                except Exception as exc:  # noqa: BLE001 - never let the recorder break code
                    self._fail(frame, f"the read recorder failed ({type(exc).__name__}: {exc})")
            elif event == "return":
                self._watched.discard(id(frame))
            return local

        return local

    def _enter_frame(self, frame) -> None:
        """Defaults of a function called by the trace are read implicitly: guard them."""
        fn = frame_stack.frame_function(frame)
        if not isinstance(fn, types.FunctionType) or id(fn) in self._local:
            return
        source = self._sources.get(id(fn)) or ConstSource(fn)
        where = _where(frame)
        if fn.__defaults__:
            self._add(guard_for_value(AttrSource(source, "__defaults__", "attr"),
                                      fn.__defaults__, self.ns, where,
                                      f"the default arguments of {fn.__qualname__}"))
        if fn.__kwdefaults__:
            self._guard_content(AttrSource(source, "__kwdefaults__", "attr"),
                                fn.__kwdefaults__, where, "keyword defaults")

    def _instruction(self, frame):
        code = frame.f_code
        table = _INSTRUCTIONS.get(code)
        if table is None:
            import dis

            table = _INSTRUCTIONS[code] = {i.offset: i for i in dis.get_instructions(code)}
        return table.get(frame.f_lasti)

    # --- bookkeeping -----------------------------------------------------------------------
    def _add(self, guard: Guard) -> None:
        self.guards.setdefault(guard.check, guard)

    def _fail(self, frame, reason: str) -> None:
        text = f"{_where(frame)}: {reason}"
        if text not in self.breaks:
            self.breaks.append(text)
        raise GraphBreak(text)

    def _is_local(self, obj) -> bool:
        return id(obj) in self._local

    def _mark_result(self, frame) -> None:
        value = frame_stack.peek(frame, 0)
        if value is frame_stack.NULL or is_immutable_value(value):
            return
        self._local.add(id(value))
        self._keep.append(value)

    def _mark_if_fresh(self, frame) -> None:
        """A call's result that is always a new object (a generator, a builtin iterator)."""
        value = frame_stack.peek(frame, 0)
        if isinstance(value, _FRESH_RESULTS):
            self._local.add(id(value))
            self._keep.append(value)

    def _source(self, obj) -> Source:
        source = self._sources.get(id(obj))
        if source is None:
            source = ConstSource(obj)
        return source

    def _reach(self, obj, source: Source | None = None) -> None:
        """Note an outside object the trace reached (modules, optimizers, sources)."""
        if is_immutable_value(obj) or self._is_local(obj):
            return
        if source is not None:
            self._sources.setdefault(id(obj), source)
            self._keep.append(obj)
        if isinstance(obj, self._Module):
            for m in obj.modules():
                if id(m) not in self.modules:
                    self.modules[id(m)] = m
                    self.module_versions[id(m)] = m._state_version
        elif isinstance(obj, self._Optimizer) and id(obj) not in self.optimizers:
            self.optimizers[id(obj)] = obj
            # so that a trace aborted to bind it leaves its state as it found it
            self.optimizer_snapshots.append(
                (obj, {p: (st, dict(st)) for p, st in obj.state.items()},
                 [(g, dict(g)) for g in obj.param_groups]))

    def _guard_value(self, source: Source, value, where: str) -> None:
        if isinstance(value, self._Tensor) or self._is_symbolic(value):
            if isinstance(value, self._Tensor) and not self._is_symbolic(value):
                self._add(guard_for_value(source, value, self.ns, where))
            return
        self._add(guard_for_value(source, value, self.ns, where))
        self._reach(value, source)

    def _is_symbolic(self, value) -> bool:
        from ..ir.tracer import SymbolicArray

        return isinstance(value, self._Tensor) and type(value._data) is SymbolicArray

    def _guard_content(self, source: Source, obj, where: str, why: str) -> None:
        self._add(content_guard(source, obj, self.ns, where, why))
        self._watch_writes(obj, source)

    def _watch_writes(self, obj, source: Source) -> None:
        if id(obj) not in self._snapshots:
            from .sources import snapshot

            self._snapshots[id(obj)] = (obj, snapshot(obj), source.describe())

    def _outside(self, obj) -> bool:
        """An object that existed before the trace and is not tensor state."""
        return not (obj is frame_stack.NULL or is_immutable_value(obj) or self._is_local(obj)
                    or isinstance(obj, self._Tensor))

    # --- instructions ----------------------------------------------------------------------
    def _on_opcode(self, frame):
        ins = self._instruction(frame)
        if ins is None:
            return None
        op = ins.opname
        if op in _BUILDS:
            return "local"
        handler = _HANDLERS.get(op)
        if handler is not None:
            return handler(self, frame, ins)
        return None

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

    def _call_ex(self, frame, ins):
        depth = 1 if ins.arg & 1 else 0
        for d in range(depth + 1):
            obj = frame_stack.peek(frame, d)
            if self._outside(obj) and isinstance(obj, (list, dict)):
                self._guard_content(self._source(obj), obj, _where(frame), "unpacked")
        callable_ = frame_stack.peek(frame, depth + 1)
        self._check_callable(frame, callable_, None, [])
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
        bound_self = self_ if self_ is not None else getattr(callable_, "__self__", None)
        target = callable_.__func__ if isinstance(callable_, types.MethodType) else callable_
        reason = _effect(target, bound_self)
        if reason:
            self._fail(frame, f"{reason}; a compiled graph would do it only once, while "
                       "tracing")
        if isinstance(target, types.FunctionType):
            if _category(target.__code__.co_filename) != "graphtorch":
                return "check call"  # Python code: watched when it runs
            opaque_args = args
        elif isinstance(target, type):
            opaque_args = args if target.__module__ == "builtins" else []
            fresh = target.__new__ is object.__new__ or target in (list, dict, set,
                                                                   bytearray)
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


def _is_container(obj) -> bool:
    return isinstance(obj, (*_CONTAINERS, set)) or type(obj).__module__ == "collections"


def _mutating(obj, name: str) -> bool:
    """Whether calling method `name` of the builtin container `obj` may change it."""
    if isinstance(obj, np.ndarray):
        return name in _NDARRAY_MUTATORS or name.startswith("__i")
    attr = getattr(type(obj), name, None)
    return callable(attr) and name not in _READING_METHODS


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


_HANDLERS = {
    "LOAD_GLOBAL": ReadRecorder._load_global,
    "LOAD_NAME": ReadRecorder._load_name,
    "LOAD_DEREF": ReadRecorder._load_deref,
    "LOAD_CLASSDEREF": ReadRecorder._load_deref,
    "STORE_DEREF": ReadRecorder._store_deref,
    "DELETE_DEREF": ReadRecorder._store_deref,
    "STORE_GLOBAL": ReadRecorder._store_global,
    "DELETE_GLOBAL": ReadRecorder._store_global,
    "LOAD_ATTR": ReadRecorder._load_attr,
    "LOAD_METHOD": ReadRecorder._load_attr,
    "STORE_ATTR": ReadRecorder._store_attr,
    "DELETE_ATTR": ReadRecorder._store_attr,
    "BINARY_SUBSCR": ReadRecorder._binary_subscr,
    "STORE_SUBSCR": ReadRecorder._store_subscr,
    "DELETE_SUBSCR": ReadRecorder._store_subscr,
    "GET_ITER": ReadRecorder._iterate,
    "UNPACK_SEQUENCE": ReadRecorder._iterate,
    "UNPACK_EX": ReadRecorder._iterate,
    "LIST_EXTEND": ReadRecorder._merge,
    "SET_UPDATE": ReadRecorder._merge,
    "DICT_UPDATE": ReadRecorder._merge,
    "DICT_MERGE": ReadRecorder._merge,
    "CONTAINS_OP": ReadRecorder._contains,
    "CALL_FUNCTION_EX": ReadRecorder._call_ex,
    "BINARY_OP": ReadRecorder._binary_op,
    "PRECALL": ReadRecorder._precall,
}

_ = builtins  # builtins are read through frame.f_builtins
