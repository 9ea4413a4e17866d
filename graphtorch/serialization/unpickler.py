"""A pickle interpreter that builds data and never runs code it was not allowed to.

The standard unpickler imports whatever a file names and calls it. This one reads the
opcodes itself (as `torch._weights_only_unpickler` does) and asks a `Policy` for every
global, call, new object and state update; it has no opcode for importing modules by
themselves, for extension registries or for out-of-band buffers. It never recurses, keeps its
memo in a dict (so no index can make it allocate), and after loading refuses an object
graph whose fully expanded size is out of proportion to the file ("billion laughs").
"""

from __future__ import annotations

import _compat_pickle
import codecs
import itertools
import struct
from collections import Counter, OrderedDict
from pickle import decode_long

from .errors import CheckpointError

_END = object()
_BASE_EXPANSION = 1_000_000
_EXPANSION_PER_BYTE = 16


class Refused(Exception):
    """The file asks for something `weights_only=True` does not allow."""

    def __init__(self, message: str, unsafe_global: bool = False):
        super().__init__(message)
        self.unsafe_global = unsafe_global


class Damaged(Exception):
    """The pickle data is malformed."""


class Interpreter:
    """Run the opcodes of `data` under `policy` (see `allowed.Policy`)."""

    def __init__(self, data: bytes, policy):
        self.data = data
        self.pos = 0
        self.policy = policy
        self.stack: list = []
        self.metastack: list = []
        self.memo: dict = {}
        self.proto = 0

    def load(self):
        data, n = self.data, len(self.data)
        ops = _OPS
        while True:
            if self.pos >= n:
                raise Damaged("the pickle data ends without a STOP opcode")
            op = data[self.pos]
            self.pos += 1
            handler = ops.get(op)
            if handler is None:
                raise Refused(f"Unsupported operand {op} ({bytes([op])!r})")
            if handler(self) is _END:
                return self.stack.pop()

    # --- reading the byte stream ------------------------------------------------------
    def take(self, count: int) -> bytes:
        if count < 0 or self.pos + count > len(self.data):
            raise Damaged(f"an opcode at byte {self.pos} reads {count} bytes past the end")
        out = self.data[self.pos:self.pos + count]
        self.pos += count
        return out

    def unpack(self, fmt: str):
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def readline(self) -> bytes:
        end = self.data.find(b"\n", self.pos)
        if end < 0:
            raise Damaged("a text opcode has no end of line")
        out = self.data[self.pos:end]
        self.pos = end + 1
        return out

    def pop_mark(self) -> list:
        items = self.stack
        self.stack = self.metastack.pop()
        return items

    def push(self, value) -> None:
        self.stack.append(value)


def _text_string(raw: bytes) -> str:
    if len(raw) < 2 or raw[0] != raw[-1] or raw[:1] not in (b"'", b'"'):
        raise Damaged("the STRING opcode argument must be quoted")
    return _py2_str(codecs.escape_decode(raw[1:-1])[0])


def _py2_str(raw: bytes) -> str:
    return raw.decode("utf-8")  # torch.load's encoding for Python 2 strings


def _text_int(raw: bytes):
    if raw == b"00":
        return False
    if raw == b"01":
        return True
    return int(raw, 0)


def _text_long(raw: bytes) -> int:
    return int(raw[:-1] if raw.endswith(b"L") else raw, 0)


def _global(u: Interpreter, module, name):
    if not isinstance(module, str) or not isinstance(name, str):
        raise Damaged("STACK_GLOBAL needs two strings")
    if (module, name) in _compat_pickle.NAME_MAPPING:
        module, name = _compat_pickle.NAME_MAPPING[(module, name)]
    elif module in _compat_pickle.IMPORT_MAPPING:
        module = _compat_pickle.IMPORT_MAPPING[module]
    u.push(u.policy.find_global(module, name))


def _append(u: Interpreter, items) -> None:
    target = u.stack[-1]
    if type(target) is not list:
        raise Refused(f"Can only append to lists, but got {type(target)}")
    target.extend(items)


def _setitems(u: Interpreter, items) -> None:
    target = u.stack[-1]
    if type(target) not in (dict, OrderedDict, Counter):
        raise Refused(f"Can only SETITEMS for dict, collections.OrderedDict, collections.Counter,"
                      f" but got {type(target)}")
    if len(items) % 2:
        raise Damaged("SETITEMS needs key/value pairs")
    for i in range(0, len(items), 2):
        target[items[i]] = items[i + 1]


def _additems(u: Interpreter, items) -> None:
    target = u.stack[-1]
    if type(target) is not set:
        raise Refused(f"Can only ADDITEMS to sets, but got {type(target)}")
    target.update(items)


def _dict_from(items) -> dict:
    if len(items) % 2:
        raise Damaged("DICT needs key/value pairs")
    return {items[i]: items[i + 1] for i in range(0, len(items), 2)}


def _put(u: Interpreter, index: int) -> None:
    if index < 0:
        raise Damaged("negative memo index")
    u.memo[index] = u.stack[-1]


def _get(u: Interpreter, index: int) -> None:
    try:
        u.push(u.memo[index])
    except KeyError:
        raise Damaged(f"memo entry {index} is used before it is defined") from None


def _reduce(u: Interpreter) -> None:
    args = u.stack.pop()
    if type(args) is not tuple:
        raise Damaged("REDUCE arguments must be a tuple")
    u.stack[-1] = u.policy.call(u.stack[-1], args)


def _newobj(u: Interpreter) -> None:
    args = u.stack.pop()
    cls = u.stack.pop()
    if type(args) is not tuple:
        raise Damaged("NEWOBJ arguments must be a tuple")
    u.push(u.policy.new(cls, args))


def _newobj_ex(u: Interpreter) -> None:
    kwargs = u.stack.pop()
    if kwargs != {}:
        raise Refused("NEWOBJ_EX with keyword arguments is not supported")
    _newobj(u)


def _build(u: Interpreter) -> None:
    state = u.stack.pop()
    u.policy.build(u.stack[-1], state)


def _persid(u: Interpreter) -> None:
    u.push(u.policy.persistent_load(u.stack.pop()))


def _proto(u: Interpreter) -> None:
    u.proto = u.take(1)[0]
    if u.proto > 5:
        raise Damaged(f"unsupported pickle protocol {u.proto}")


def _frame(u: Interpreter) -> None:
    size = u.unpack("<Q")
    if size > len(u.data) - u.pos:
        raise Damaged("a FRAME is longer than the data")


def _stop(u: Interpreter):
    return _END


def _pop(u: Interpreter) -> None:
    if u.stack:
        u.stack.pop()
    else:
        u.pop_mark()


_OPS = {
    ord("("): lambda u: (u.metastack.append(u.stack), setattr(u, "stack", [])),
    ord("."): _stop,
    ord("0"): _pop,
    ord("1"): lambda u: u.pop_mark(),
    ord("2"): lambda u: u.push(u.stack[-1]),
    ord("F"): lambda u: u.push(float(u.readline())),
    ord("I"): lambda u: u.push(_text_int(u.readline())),
    ord("J"): lambda u: u.push(u.unpack("<i")),
    ord("K"): lambda u: u.push(u.take(1)[0]),
    ord("L"): lambda u: u.push(_text_long(u.readline())),
    ord("M"): lambda u: u.push(u.unpack("<H")),
    ord("N"): lambda u: u.push(None),
    ord("Q"): _persid,
    ord("R"): _reduce,
    ord("S"): lambda u: u.push(_text_string(u.readline())),
    ord("T"): lambda u: u.push(_py2_str(u.take(u.unpack("<i")))),
    ord("U"): lambda u: u.push(_py2_str(u.take(u.take(1)[0]))),
    ord("V"): lambda u: u.push(str(u.readline(), "raw-unicode-escape")),
    ord("X"): lambda u: u.push(str(u.take(u.unpack("<I")), "utf-8", "surrogatepass")),
    ord("a"): lambda u: _append(u, [u.stack.pop()]),
    ord("b"): _build,
    ord("c"): lambda u: _global(u, u.readline().decode("utf-8"), u.readline().decode("utf-8")),
    ord("d"): lambda u: u.push(_dict_from(u.pop_mark())),
    ord("}"): lambda u: u.push({}),
    ord("e"): lambda u: _append(u, u.pop_mark()),
    ord("g"): lambda u: _get(u, int(u.readline())),
    ord("h"): lambda u: _get(u, u.take(1)[0]),
    ord("j"): lambda u: _get(u, u.unpack("<I")),
    ord("l"): lambda u: u.push(list(u.pop_mark())),
    ord("]"): lambda u: u.push([]),
    ord("p"): lambda u: _put(u, int(u.readline())),
    ord("q"): lambda u: _put(u, u.take(1)[0]),
    ord("r"): lambda u: _put(u, u.unpack("<I")),
    ord("s"): lambda u: _setitems(u, [*reversed([u.stack.pop(), u.stack.pop()])]),
    ord("t"): lambda u: u.push(tuple(u.pop_mark())),
    ord(")"): lambda u: u.push(()),
    ord("u"): lambda u: _setitems(u, u.pop_mark()),
    ord("G"): lambda u: u.push(u.unpack(">d")),
    0x80: _proto,
    0x81: _newobj,
    0x85: lambda u: u.push((u.stack.pop(),)),
    0x86: lambda u: u.push(tuple(reversed([u.stack.pop(), u.stack.pop()]))),
    0x87: lambda u: u.push(tuple(reversed([u.stack.pop(), u.stack.pop(), u.stack.pop()]))),
    0x88: lambda u: u.push(True),
    0x89: lambda u: u.push(False),
    0x8A: lambda u: u.push(decode_long(u.take(u.take(1)[0]))),
    0x8B: lambda u: u.push(decode_long(u.take(u.unpack("<i")))),
    ord("B"): lambda u: u.push(bytes(u.take(u.unpack("<I")))),
    ord("C"): lambda u: u.push(bytes(u.take(u.take(1)[0]))),
    0x8C: lambda u: u.push(str(u.take(u.take(1)[0]), "utf-8", "surrogatepass")),
    0x8D: lambda u: u.push(str(u.take(u.unpack("<Q")), "utf-8", "surrogatepass")),
    0x8E: lambda u: u.push(bytes(u.take(u.unpack("<Q")))),
    0x8F: lambda u: u.push(set()),
    0x90: lambda u: _additems(u, u.pop_mark()),
    0x91: lambda u: u.push(frozenset(u.pop_mark())),
    0x92: _newobj_ex,
    0x93: lambda u: _global(u, *reversed([u.stack.pop(), u.stack.pop()])),
    0x94: lambda u: _put(u, len(u.memo)),
    0x95: _frame,
    0x96: lambda u: u.push(bytearray(u.take(u.unpack("<Q")))),
}


# --- bounding the expanded size -----------------------------------------------------------

_CONTAINERS = (list, tuple, dict, OrderedDict, Counter, set, frozenset)


def expansion_limit(data_size: int) -> int:
    """How many objects a pickle of `data_size` bytes may expand to when every shared
    reference is counted as a copy (as printing, JSON or a recursive walk would)."""
    return _BASE_EXPANSION + _EXPANSION_PER_BYTE * data_size


def _leaf_weight(obj) -> int:
    """Long strings, bytes and ints count as many objects (one per 64 bytes), so that one big
    value referenced a million times is as large as it would print."""
    kind = type(obj)
    if kind in (str, bytes, bytearray):
        return 1 + len(obj) // 64
    if kind is int:
        return 1 + obj.bit_length() // 512
    return 1


def expanded_size(root, limit: int, objects_with_state=frozenset()) -> int:
    """The tree size of `root` with shared containers (and long strings) counted once per
    reference (cycles count once); stops early, returning a value above `limit`, once it
    exceeds it."""

    def children(obj):
        if isinstance(obj, dict):
            return itertools.chain.from_iterable(obj.items())
        if id(obj) in objects_with_state:
            return iter(vars(obj).values()) if hasattr(obj, "__dict__") else iter(())
        return iter(obj)

    def is_container(obj):
        return type(obj) in _CONTAINERS or id(obj) in objects_with_state

    if not is_container(root):
        return _leaf_weight(root)
    sizes: dict = {}
    active = {id(root)}
    stack = [[root, children(root), 1]]
    while stack:
        frame = stack[-1]
        child = next(frame[1], _END)
        if child is _END:
            stack.pop()
            active.discard(id(frame[0]))
            sizes[id(frame[0])] = frame[2]
            if stack:
                stack[-1][2] += frame[2]
            continue
        if not is_container(child):
            frame[2] += _leaf_weight(child)
        elif id(child) in sizes:
            frame[2] += sizes[id(child)]
        elif id(child) in active:
            frame[2] += 1  # a cycle: the back-reference expands no further
        else:
            active.add(id(child))
            stack.append([child, children(child), 1])
        if frame[2] > limit:
            return frame[2]
    return sizes[id(root)]


def run(data: bytes, policy, where: str):
    """Unpickle `data` under `policy`; Refused/CheckpointError for anything not allowed."""
    interpreter = Interpreter(data, policy)
    try:
        obj = interpreter.load()
    except (Refused, CheckpointError):
        raise
    except Exception as exc:  # noqa: BLE001 - any failure on crafted data is a damaged file
        raise CheckpointError(f"{where}: malformed pickle data near byte {interpreter.pos} "
                              f"({type(exc).__name__}: {exc})") from None
    limit = expansion_limit(len(data))
    size = expanded_size(obj, limit, policy.objects_with_state())
    if size > limit:
        raise CheckpointError(f"{where}: the pickled object graph expands to more than {limit} "
                              "objects through shared references (a 'billion laughs' file)")
    return obj
