"""Read the value stack of a running Python frame (CPython 3.11), for the read recorder.

While `gt.compile` traces, `read_recorder` sees each bytecode instruction of user code before
it runs (``sys.settrace`` opcode events). To know *which object* an instruction reads (the
object of ``cfg.scale``, the dict of ``cfg["s"]``) it must look at the operands on the
frame's value stack, which Python does not expose. CPython 3.11 saves the stack pointer
before calling an opcode trace function, so the operands can be read from the interpreter
frame. The layout is checked against known pointers (the frame's code object and the frame
object itself) before use; on any other layout `available()` is False and the recorder
refuses to compile (the function then runs eagerly, with the reason logged).
"""

from __future__ import annotations

import ctypes
import sys

_PTR = ctypes.sizeof(ctypes.c_void_p)
_NULL = object()  # an empty stack slot (e.g. the NULL pushed before a plain call)

# Word offsets inside CPython 3.11's _PyInterpreterFrame: f_func, f_globals, f_builtins,
# f_locals, f_code, frame_obj, previous, prev_instr, stacktop (int), is_entry/owner, then
# localsplus (locals, cells, free variables, then the value stack).
_CODE_WORD, _FRAME_OBJ_WORD, _STACKTOP_WORD, _LOCALSPLUS_WORD = 4, 5, 8, 9
_FRAME_DATA_WORD = 3  # in PyFrameObject: ob_refcnt, ob_type, f_back, f_frame
_checked: bool | None = None


def _interpreter_frame(frame) -> int:
    return ctypes.c_void_p.from_address(id(frame) + _FRAME_DATA_WORD * _PTR).value


def _word(address: int, index: int) -> int | None:
    return ctypes.c_void_p.from_address(address + index * _PTR).value


def _layout_matches(frame) -> bool:
    base = _interpreter_frame(frame)
    return bool(base) and _word(base, _CODE_WORD) == id(frame.f_code) and \
        _word(base, _FRAME_OBJ_WORD) == id(frame)


def available() -> bool:
    """Whether stack reads work on this interpreter (checked once, on a live frame)."""
    global _checked
    if _checked is None:
        _checked = False
        if sys.implementation.name == "cpython" and sys.version_info[:2] == (3, 11):
            try:
                _checked = _layout_matches(sys._getframe())
            except (ValueError, OverflowError):  # pragma: no cover - unexpected layouts
                _checked = False
    return _checked


def peek(frame, depth: int):
    """The value `depth` places below the top of `frame`'s stack (0 is the top), or `_NULL`
    for an empty slot. Only valid inside an opcode trace event of `frame`."""
    base = _interpreter_frame(frame)
    top = ctypes.c_int.from_address(base + _STACKTOP_WORD * _PTR).value
    address = _word(base, _LOCALSPLUS_WORD + top - 1 - depth)
    if not address:
        return _NULL
    return ctypes.cast(address, ctypes.py_object).value


def local_slot(frame, index: int):
    """Slot `index` of the frame's fast locals (a cell object for cell/free variables)."""
    base = _interpreter_frame(frame)
    address = _word(base, _LOCALSPLUS_WORD + index)
    if not address:
        return _NULL
    return ctypes.cast(address, ctypes.py_object).value


def frame_function(frame):
    """The function object `frame` runs (`NULL` for module or class bodies)."""
    address = _word(_interpreter_frame(frame), 0)
    if not address:
        return _NULL
    return ctypes.cast(address, ctypes.py_object).value


NULL = _NULL
