"""What a `weights_only=True` load may build: the allow-list and its argument checks.

A `Policy` answers the interpreter's questions. Globals resolve only through a table (the
defaults below, the format's tensor rebuilders, and the user's `add_safe_globals`); each
default callable checks its arguments before running, so no allowed global can be used to
allocate (``bytearray(2**40)``) or to reach other objects. State (BUILD) is applied only to
objects this load created from an allowed class, with plain attribute names, never to a
class, a function or any other global.
"""

from __future__ import annotations

import keyword
from collections import Counter, OrderedDict

from .. import dtypes
from ..device import device
from ..sparse import rebuild_sparse
from ..tensor import Size
from .safe_globals import is_blocked, user_allowed_globals
from .unpickler import Refused

_UNSUPPORTED_TENSORS = {
    "torch._utils._rebuild_sparse_tensor": "sparse",
    "torch._utils._rebuild_qtensor": "quantized",
    "torch._utils._rebuild_meta_tensor_no_storage": "meta",
    "torch._utils._rebuild_nested_tensor": "nested",
    "torch._utils._rebuild_wrapper_subclass": "tensor-subclass (wrapper)",
    "torch._utils._rebuild_device_tensor_from_numpy": "device (from NumPy)",
    "torch._utils._rebuild_device_tensor_from_cpu_tensor": "device (from CPU tensor)",
}


def _one_sequence(args, kinds, what):
    if len(args) > 1 or (args and not isinstance(args[0], kinds)):
        raise Refused(f"{what} may only be rebuilt from a {' or '.join(k.__name__ for k in kinds)}"
                      f", got arguments of types {[type(a).__name__ for a in args]}")
    return args


def _make_ordered_dict(args):
    return OrderedDict(*_one_sequence(args, (list, tuple, dict), "OrderedDict"))


def _make_counter(args):
    return Counter(*_one_sequence(args, (dict,), "Counter"))


def _make_set(args):
    return set(*_one_sequence(args, (list, tuple, set, frozenset), "set"))


def _make_frozenset(args):
    return frozenset(*_one_sequence(args, (list, tuple, set, frozenset), "frozenset"))


def _make_bytes_like(kind):
    def make(args):
        return kind(*_one_sequence(args, (bytes, bytearray), kind.__name__))
    return make


def _make_complex(args):
    if not 1 <= len(args) <= 2 or not all(isinstance(a, (int, float)) for a in args):
        raise Refused("complex may only be rebuilt from numbers")
    return complex(*args)


def _encode(args):
    if len(args) not in (1, 2) or not isinstance(args[0], str) or \
            (len(args) == 2 and args[1] not in ("latin1", "latin-1")):
        raise Refused("_codecs.encode is only allowed as pickle protocol 2 writes bytes: "
                      "encode(str, 'latin1')")
    return args[0].encode("latin1")


def _make_size(args):
    if len(args) != 1 or not isinstance(args[0], (tuple, list)) or \
            not all(isinstance(s, int) and not isinstance(s, bool) for s in args[0]):
        raise Refused("torch.Size may only be rebuilt from a sequence of integers")
    return Size(args[0])


def _make_device(args):
    if not 1 <= len(args) <= 2 or not isinstance(args[0], (str, int)) or \
            (len(args) == 2 and args[1] is not None and not isinstance(args[1], int)):
        raise Refused("torch.device may only be rebuilt from a type string and an index")
    return device(*args)


def _dtype_by_name(args):
    if len(args) != 1 or args[0] not in dtypes._BY_NAME:
        raise Refused(f"unknown dtype name {args[:1]!r}")
    return dtypes._BY_NAME[args[0]]


def data_globals() -> dict:
    """Plain data types every format may contain: {"module.name": (object, call, new)}."""
    entries = {
        "collections.OrderedDict": (OrderedDict, _make_ordered_dict, _make_ordered_dict),
        "collections.Counter": (Counter, _make_counter, _make_counter),
        "builtins.set": (set, _make_set, _make_set),
        "builtins.frozenset": (frozenset, _make_frozenset, _make_frozenset),
        "builtins.bytes": (bytes, _make_bytes_like(bytes), None),
        "builtins.bytearray": (bytearray, _make_bytes_like(bytearray), None),
        "builtins.complex": (complex, _make_complex, None),
        "_codecs.encode": (None, _encode, None),
    }
    return entries


def torch_value_globals() -> dict:
    """PyTorch's names for sizes, devices and dtypes, as graphtorch objects."""
    entries = {"torch.Size": (Size, _make_size, _make_size),
               "torch.device": (device, _make_device, None)}
    for name, dtype in dtypes._BY_NAME.items():
        entries[f"torch.{name}"] = (dtype, None, None)
    return entries


def graphtorch_value_globals() -> dict:
    """How graphtorch's own sizes, devices and dtypes pickle."""
    return {"graphtorch.tensor.Size": (Size, _make_size, _make_size),
            "graphtorch.device.device": (device, _make_device, None),
            "graphtorch.dtypes._dtype_by_name": (None, _dtype_by_name, None),
            "graphtorch.sparse.pickling.rebuild_sparse": (None, _rebuild_sparse, None)}


def _rebuild_sparse(args):
    if len(args) != 5 or type(args[0]) is not str or type(args[3]) is not bool or \
            type(args[4]) is not bool or not isinstance(args[1], list):
        raise Refused("rebuild_sparse takes (layout, [tensors], size, coalesced, requires_grad)")
    return rebuild_sparse(*args)


class Policy:
    """Answers the interpreter for one load.

    `entries` maps "module.name" to (object pushed by GLOBAL, checked call for REDUCE or
    None, checked constructor for NEWOBJ or None); a None object stands for a private
    callable that only REDUCE may use. `persistent_load` resolves the file's tensor ids.
    """

    def __init__(self, entries: dict, persistent_load):
        self._globals = {}
        self._calls = {}
        self._news = {}
        for full_name, (obj, call, new) in entries.items():
            if obj is None:
                obj = _PrivateCallable(full_name)
            self._globals[full_name] = obj
            if call is not None:
                self._calls[id(obj)] = call
            if new is not None:
                self._news[id(obj)] = new
        self._keep = list(self._globals.values())  # ids above stay valid
        self._user = user_allowed_globals()
        self._user_ids = {id(v) for v in self._user.values()}
        self._built: dict = {}  # id -> object created here from a user-allowed class
        self._persistent_load = persistent_load

    def find_global(self, module: str, name: str):
        full = f"{module}.{name}"
        if is_blocked(full):
            raise Refused(f"Trying to load unsupported GLOBAL {full} whose module {module} is "
                          "blocked.")
        if full in self._globals:
            return self._globals[full]
        if full in self._user:
            return self._user[full]
        if module == "torch" or module.startswith("torch."):  # import graphtorch as torch
            alias = "graphtorch" + full[len("torch"):]
            if alias in self._user:
                return self._user[alias]
        if full in _UNSUPPORTED_TENSORS:
            raise Refused(f"graphtorch cannot load {_UNSUPPORTED_TENSORS[full]} tensors "
                          f"({full})")
        shown = full.removeprefix("builtins.")
        raise Refused(f"Unsupported global: GLOBAL {shown} was not an allowed global by "
                      f"default. Please use `graphtorch.serialization.add_safe_globals([{shown}])`"
                      f" or the `graphtorch.serialization.safe_globals([{shown}])` context "
                      "manager to allowlist this global if you trust this class/function.",
                      unsafe_global=True)

    def call(self, func, args):
        check = self._calls.get(id(func))  # ids of kept-alive objects: no false match
        if check is not None:
            return check(args)
        if id(func) in self._user_ids:
            result = func(*args)
            if isinstance(func, type):
                self._built[id(result)] = result
            return result
        raise Refused(f"Trying to call reduce for unrecognized function {func!r:.100}")

    def new(self, cls, args):
        check = self._news.get(id(cls))
        if check is not None:
            return check(args)
        if id(cls) in self._user_ids and isinstance(cls, type):
            obj = cls.__new__(cls, *args)
            self._built[id(obj)] = obj
            return obj
        raise Refused("Can only create new object for nn.Parameter or classes allowlisted via "
                      f"`add_safe_globals` but got {cls!r:.100}")

    def build(self, inst, state) -> None:
        if type(inst) is OrderedDict:  # a state dict's `_metadata`
            _check_state_keys(state, allowed=("_metadata",))
            if state:
                inst._metadata = state["_metadata"]
            return
        if id(inst) not in self._built or self._built[id(inst)] is not inst:
            raise Refused("Can only build OrderedDict or instances of classes allowlisted via "
                          f"`add_safe_globals` created by this file, but got {type(inst)}")
        setstate = getattr(type(inst), "__setstate__", None)
        if setstate is not None and not isinstance(state, (dict, tuple)):
            setstate(inst, state)  # the class's own (trusted) protocol
            return
        slots = None
        if isinstance(state, tuple):
            if len(state) != 2:
                raise Refused(f"unexpected state for {type(inst).__name__}")
            state, slots = state
        _check_state_keys(state)
        _check_state_keys(slots)
        if setstate is not None:
            setstate(inst, state if slots is None else (state, slots))
            return
        if state:
            inst.__dict__.update(state)
        for key, value in (slots or {}).items():
            setattr(inst, key, value)

    def persistent_load(self, pid):
        return self._persistent_load(pid)

    def objects_with_state(self) -> frozenset:
        return frozenset(self._built)


class _PrivateCallable:
    """Stands for an allowed function the file may only call (through REDUCE)."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self):
        return self.name


def _check_state_keys(state, allowed=None) -> None:
    """State keys must be plain attribute names (no dunder names such as __class__)."""
    if state is None:
        return
    if not isinstance(state, dict):
        raise Refused(f"object state must be a dict, got {type(state).__name__}")
    for key in state:
        ok = isinstance(key, str) and key.isidentifier() and not keyword.iskeyword(key) and \
            not key.startswith("__") and (allowed is None or key in allowed)
        if not ok:
            raise Refused(f"refusing to set attribute {key!r:.100} from a file")
