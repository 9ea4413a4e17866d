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
import sys
import types
import weakref

from ..nn.modules.module import Module
from ..nn.modules.state_version import restore_state, same_state, state_snapshot
from ..optim.optimizer import Optimizer
from ..tensor import Tensor
from ..trace_state import SymbolicArray, TracingError
from . import frame_stack
from .code_origin import category_of
from .recorded_calls import _FRESH_RESULTS, CallHandlers
from .recorded_reads import ReadHandlers, _where
from .sources import (
    ArgSource,
    AttrSource,
    ConstSource,
    Guard,
    Namespace,
    Source,
    content_guard,
    guard_for_value,
    is_immutable_value,
    same_snapshot,
    snapshot,
)

# Instructions whose result is a new object (GET_ITER is not here: its handler guards the
# iterated container's content before marking the iterator local)
_BUILDS = frozenset({"BUILD_LIST", "BUILD_MAP", "BUILD_SET", "BUILD_TUPLE",
                     "BUILD_CONST_KEY_MAP", "BUILD_SLICE", "BUILD_STRING", "LIST_TO_TUPLE",
                     "MAKE_FUNCTION", "GET_AITER", "BEFORE_WITH"})


class GraphBreak(TracingError):
    """Raised inside the traced code when it does something a graph cannot replay; the
    recorder also keeps the reason, so catching it in user code does not hide it."""


_CATEGORIES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # code -> category
_INSTRUCTIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # code -> {offset: ins}



class ReadRecorder(ReadHandlers, CallHandlers):
    """Watches one capture (see the module docstring). Use as a context manager around the
    traced call; then read `guards`, `breaks`, `modules`, `optimizers`."""

    def __init__(self, leaves: list, arg_names: list[str], ns: Namespace):
        self._Module, self._Optimizer, self._Tensor = Module, Optimizer, Tensor
        self.ns = ns
        self.guards: dict[str, Guard] = {}
        self.breaks: list[str] = []
        self.modules: dict[int, object] = {}       # id -> Module reached by user code
        self.optimizers: dict[int, object] = {}    # id -> Optimizer reached by user code
        self.optimizer_snapshots: list = []        # (optimizer, its state, its groups)
        self.module_versions: dict[int, int] = {}  # version when first reached
        self.module_states: dict[int, tuple] = {}  # its state then (`restore_modules`)
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
            try:
                changed = not same_snapshot(snapshot(obj), snap)
            except Exception:  # noqa: BLE001 - an object that cannot be read again
                changed = True
            if changed:
                self.breaks.append(f"the function changes {what}, a side effect a graph "
                                   "cannot replay")
        for mid, module in self.modules.items():
            # a state put back before the trace ended (functional_call's swap) is no change
            if module._state_version != self.module_versions[mid] and \
                    not same_state(module, self.module_states[mid]):
                self.breaks.append(f"the function changes the state of module "
                                   f"{type(module).__name__} (an attribute, submodule, "
                                   "parameter or hook), a side effect a graph cannot replay")

    def watch_modules(self, root) -> None:
        """Note `root` and its submodules as they are now: a trace that changes one is
        refused (`finish`) and the change undone (`restore_modules`). Bound modules are
        watched from the start, since graphtorch code (a hook) may change them unseen."""
        for m in root.modules():
            if id(m) not in self.modules:
                self.modules[id(m)] = m
                self.module_versions[id(m)] = m._state_version
                self.module_states[id(m)] = state_snapshot(m)

    def restore_modules(self) -> None:
        """Put back every reached module the trace changed (a hook that assigned a traced
        tensor to ``module.weight``, as pruning's does): such a trace is refused (`finish`)
        and the call runs eagerly, which must find the module as it was."""
        for mid, module in self.modules.items():
            version = self.module_versions[mid]
            if module._state_version != version:
                restore_state(module, self.module_states[mid], version)

    # --- frames ----------------------------------------------------------------------------
    def _on_call(self, frame, event, arg):
        code = frame.f_code
        category = _CATEGORIES.get(code)
        if category is None:
            category = _CATEGORIES[code] = category_of(code.co_filename,
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
            self.watch_modules(obj)
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
        return isinstance(value, self._Tensor) and type(value._data) is SymbolicArray

    def _guard_content(self, source: Source, obj, where: str, why: str) -> None:
        self._add(content_guard(source, obj, self.ns, where, why))
        self._watch_writes(obj, source)

    def _watch_writes(self, obj, source: Source) -> None:
        if id(obj) not in self._snapshots:
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
    "COMPARE_OP": ReadRecorder._compare,
    "POP_JUMP_FORWARD_IF_FALSE": ReadRecorder._truth,
    "POP_JUMP_FORWARD_IF_TRUE": ReadRecorder._truth,
    "POP_JUMP_BACKWARD_IF_FALSE": ReadRecorder._truth,
    "POP_JUMP_BACKWARD_IF_TRUE": ReadRecorder._truth,
    "POP_JUMP_IF_FALSE": ReadRecorder._truth,   # Python 3.12
    "POP_JUMP_IF_TRUE": ReadRecorder._truth,
    "JUMP_IF_FALSE_OR_POP": ReadRecorder._truth,
    "JUMP_IF_TRUE_OR_POP": ReadRecorder._truth,
    "UNARY_NOT": ReadRecorder._truth,
    "CALL_FUNCTION_EX": ReadRecorder._call_ex,
    "BINARY_OP": ReadRecorder._binary_op,
    "PRECALL": ReadRecorder._precall,
}

_ = builtins  # builtins are read through frame.f_builtins
