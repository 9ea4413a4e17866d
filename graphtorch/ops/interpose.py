"""Per-op hooks that run *before* an eager op (the profiler's start time, autocast's input
casts), installed only while something needs them, so eager dispatch costs nothing extra
otherwise.

`dispatch.call` and `dispatch.binary_operator` first call the native entry points kept in
`dispatch._NATIVE_CALL[0]` / `dispatch._NATIVE_BINARY[0]` (the C fast path, or None when it
is not built) and go on in Python when those return None. While a hook is registered here,
those slots hold this module's wrappers: they run the hooks, then the real native entry (or
return None, so the Python path runs as usual). The slots are replaced by `_Slot` lists, so
a native module bound later (`dispatch._bind_native`) lands behind the wrapper; removing the
last hook puts plain lists with the current native entries back.

- `pre_call`: `fn(op, inputs, attrs)` -> None, or the op's result computed another way
  (autocast casts the inputs and calls `dispatch.call` again; that second call finds the
  inputs already cast and returns None).
- `on_start`: `fn(op, inputs)` before an op runs (also `binary_operator`'s operators).
- `pre_binary`: `fn(op, x, y)` -> None, or the result of `binary_operator`'s `x <op> y`
  computed another way (forward-mode AD adds the tangent of an operand that has one).

Ops' end is seen by `dispatch.op_hooks` (called after every eager op).
"""

from __future__ import annotations

from . import dispatch

pre_call: list = []
on_start: list = []
pre_binary: list = []


class _Slot(list):
    """A one-item list holding a wrapper; writes (a native module bound later) go to the
    real list the wrapper calls."""

    def __init__(self, wrapper, real: list):
        super().__init__([wrapper])
        self.real = real

    def __setitem__(self, index, value):
        self.real[index] = value


_REAL: dict = {}  # "call"/"binary" -> the real one-item list while installed


def _call(op, inputs, attrs):
    for fn in pre_call:
        out = fn(op, inputs, attrs)
        if out is not None:
            return out
    for fn in on_start:
        fn(op, inputs)
    native = _REAL["call"][0]
    return native(op, inputs, attrs) if native is not None else None


def _binary(op, cache, saves, x, y):
    for fn in pre_binary:
        out = fn(op, x, y)
        if out is not None:
            return out
    for fn in on_start:  # no pre_call here: autocast leaves elementwise operators alone
        fn(op, (x, y))
    native = _REAL["binary"][0]
    return native(op, cache, saves, x, y) if native is not None else None


def _install() -> None:
    if _REAL:
        return
    _REAL["call"] = dispatch._NATIVE_CALL
    _REAL["binary"] = dispatch._NATIVE_BINARY
    dispatch._NATIVE_CALL = _Slot(_call, _REAL["call"])
    dispatch._NATIVE_BINARY = _Slot(_binary, _REAL["binary"])


def _uninstall_if_unused() -> None:
    if pre_call or on_start or pre_binary or not _REAL:
        return
    dispatch._NATIVE_CALL = _REAL.pop("call")
    dispatch._NATIVE_BINARY = _REAL.pop("binary")


def add(hooks: list, fn) -> None:
    """Register `fn` in `pre_call`, `on_start` or `pre_binary`."""
    hooks.append(fn)
    _install()


def remove(hooks: list, fn) -> None:
    """Unregister `fn`; the wrappers go away with the last hook."""
    if fn in hooks:
        hooks.remove(fn)
    _uninstall_if_unused()


def installed() -> bool:
    return bool(_REAL)
