"""The trace state: what every layer may ask about a running `gt.trace`.

While a function is traced, tensors hold `SymbolicArray`s (shape, dtype, layout and the
graph value they stand for) and `current_tracer()` returns the recording tracer (an
`ir.tracer.Tracer`; set in `STATE.tracer` by whoever starts a trace). Dispatch, autograd,
functions, nn and optim check this state and call methods on the tracer object; none of
them imports the IR. Values a trace cannot know raise `TracingError` at the user's line.
"""

from __future__ import annotations

import functools
import os
import sys
import threading

import numpy as np

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
# `STATE.tracer`: the recording tracer while a trace runs, else absent or None.
STATE = threading.local()


class TracingError(RuntimeError):
    """Code that cannot be captured in a static graph (the message names the user's line).

    Creating one while a trace runs also records it on the tracer, so user code that
    catches it (``try: v = t.item() except Exception: ...``) cannot silently take another
    path than eager code would: the capture is refused all the same."""

    def __init__(self, *args):
        super().__init__(*args)
        tracer = getattr(STATE, "tracer", None)
        if tracer is not None and args:
            tracer.refusals.append(str(args[0]))


def user_frame() -> tuple | None:
    """(file, line, function) of the innermost frame outside the graphtorch package."""
    frame = sys._getframe(1)
    while frame is not None:
        if not _internal(frame.f_code.co_filename):
            return (frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name)
        frame = frame.f_back
    return None


@functools.lru_cache(maxsize=4096)
def _internal(filename: str) -> bool:
    """Whether a code object's file is inside the graphtorch package (cached: tracing asks
    for every op, ~13 frames each, and `abspath` was a tenth of a cold compile)."""
    return os.path.abspath(filename).startswith(_PACKAGE_DIR + os.sep)


def where(source) -> str:
    """`file:line in function` for a `user_frame()` (for error messages)."""
    return f"{source[0]}:{source[1]} in {source[2]}" if source else "<unknown location>"


def _product(shape) -> int:
    n = 1
    for s in shape:
        n = n * s
    return n if not isinstance(n, (int, np.integer)) else int(n)


def contiguous_strides(shape, itemsize: int) -> tuple:
    strides, acc = [], itemsize
    for s in reversed(shape):
        strides.append(acc)
        acc = acc * (s if not isinstance(s, int) or s > 0 else 1)
    return tuple(reversed(strides))


def _hints(shape) -> tuple:
    return tuple(s if isinstance(s, int) else int(getattr(s, "hint", s)) for s in shape)


def array_with_strides(shape: tuple, dtype, strides: tuple, *, zeroed: bool = False,
                       writeable: bool = True) -> np.ndarray:
    """A NumPy array of `shape` and `dtype` on a buffer of its own with the given
    (non-negative) byte strides: eager's layout rebuilt, for tracing or for a result."""
    dtype = np.dtype(dtype)
    size = sum((n - 1) * st for n, st in zip(shape, strides)) // dtype.itemsize + 1 \
        if all(shape) else 0
    buffer = (np.zeros if zeroed else np.empty)(size, dtype)
    return np.lib.stride_tricks.as_strided(buffer, shape, strides, writeable=writeable)


def layout_stand_in(array) -> np.ndarray:
    """A NumPy array with `array`'s shape, dtype and strides and no memory of its own:
    view kernels run on it to learn the layout of their result. Never read its values."""
    shape = _hints(array.shape)
    if type(array) is not SymbolicArray:  # a concrete (lifted) tensor: its real layout
        strides = tuple(array.strides)
    elif array._strides is not None:
        strides = _hints(array._strides)
    else:
        strides = contiguous_strides(shape, array.dtype.itemsize)
    return np.lib.stride_tricks.as_strided(np.empty(1, array.dtype), shape, strides,
                                           writeable=False)


class _Flags:
    """ndarray-like flags of a symbolic array (layout is tracked as eager code sees it)."""

    __slots__ = ("c_contiguous", "f_contiguous")
    writeable = True

    def __init__(self, c_contiguous: bool, f_contiguous: bool):
        self.c_contiguous = c_contiguous
        self.f_contiguous = f_contiguous


class SymbolicArray:
    """Stands in for a NumPy array inside a Tensor during tracing: it has a shape, a dtype
    and a memory layout (`strides`, in bytes, as the eager array would have) but no values.
    Asking for values raises TracingError at the user's line.

    A view made during the trace also records its storage `root` (a Tensor), the view
    `chain` that made it from the root, and the root's value it was computed from
    (`origin`): after an in-place write to the root (or another view of it), the tracer
    recomputes stale views from the root's new value, as eager memory sharing would show.

    With dynamic sizes the layout of some results is not tracked (`layout_unknown`).

    A tensor made during the trace from Python data (a mask built with `gt.triu`, say) has a
    `known` value: it depends only on Python values the guards check, so code may read it
    (``bool(mask.any())``) and ops whose inputs are all known are computed while tracing."""

    __slots__ = ("shape", "dtype", "value", "_strides", "root", "chain", "origin", "known",
                 "layout_unknown", "hint_strides")

    def __init__(self, shape, dtype, value, strides=None, root=None, chain=(), origin=None,
                 known=None, layout_unknown=False, hint_strides=None):
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.value = value
        self._strides = None if strides is None else tuple(strides)
        self.root = root
        self.chain = chain
        self.origin = origin
        self.known = known
        # with dynamic sizes the strides of a permuted view (or of an elementwise result of
        # one) are not tracked: `strides` says C-contiguous, and reads of the layout by the
        # program (`stride()`, `is_contiguous()`, dropout's draw order) break the graph
        self.layout_unknown = layout_unknown
        # for such a result: its strides in elements at the trace-time sizes (the hints),
        # whose memory order holds at every size (`compiler.outputs` lays results out so)
        self.hint_strides = hint_strides

    ndim = property(lambda self: len(self.shape))
    size = property(lambda self: _product(self.shape))
    itemsize = property(lambda self: self.dtype.itemsize)
    nbytes = property(lambda self: self.size * self.dtype.itemsize)

    @property
    def strides(self) -> tuple:
        if self._strides is not None:
            return self._strides
        return contiguous_strides(self.shape, self.dtype.itemsize)

    @property
    def order_known(self) -> bool:
        """Whether the memory order is known: tracked, or learnt at the trace-time sizes
        (`hint_strides`; contiguity depends only on the order)."""
        return not self.layout_unknown or self.hint_strides is not None

    @property
    def flags(self) -> _Flags:
        if self.layout_unknown and self.hint_strides is not None:
            shape = _hints(self.shape)
            fake = np.lib.stride_tricks.as_strided(
                np.empty(1, self.dtype), shape,
                tuple(st * self.dtype.itemsize for st in self.hint_strides), writeable=False)
            return _Flags(bool(fake.flags.c_contiguous), bool(fake.flags.f_contiguous))
        if self._strides is None:
            return _Flags(True, self.ndim <= 1 or sum(1 for n in self.shape if n != 1) <= 1)
        fake = layout_stand_in(self)
        return _Flags(bool(fake.flags.c_contiguous), bool(fake.flags.f_contiguous))

    def _needs_value(self, what: str):
        if self.known is not None:
            return self.known
        source = user_frame()
        raise TracingError(
            f"{where(source)}: {what} needs the value of a tensor, which is unknown while "
            "tracing (the graph must not depend on data). Keep the computation in tensor ops "
            "(e.g. gt.where instead of `if`), or move this code out of the traced function.")

    def __array__(self, dtype=None, copy=None):
        known = self._needs_value("converting the tensor to a NumPy array")
        return known if dtype is None else known.astype(dtype)

    def __array_ufunc__(self, *args, **kwargs):
        self._needs_value("a NumPy operation on the tensor")
        return NotImplemented

    def __array_function__(self, *args, **kwargs):
        self._needs_value("a NumPy operation on the tensor")
        return NotImplemented

    def get(self):
        return self._needs_value("reading the tensor (.item(), .tolist(), bool(), float())")

    def reshape(self, *args, **kwargs):
        return self._needs_value("reading the tensor (.item(), .tolist(), bool(), "
                                 "float())").reshape(*args, **kwargs)

    def item(self, *args):
        return self._needs_value("reading the tensor (.item(), .tolist(), bool(), "
                                 "float())").item(*args)

    def tolist(self):
        return self._needs_value("reading the tensor (.item(), .tolist(), bool(), "
                                 "float())").tolist()

    def __setitem__(self, key, value):
        raise TracingError(f"{where(user_frame())}: writing into the raw array of a traced "
                           "tensor is not supported; use tensor ops (t[i] = v, t.copy_(v))")

    def copy(self, *args, **kwargs):
        return self._needs_value("copying the tensor's data").copy(*args, **kwargs)

    def __repr__(self):
        return f"SymbolicArray({self.shape}, {self.dtype}, %{self.value.id})"


def current_tracer():
    """The recording tracer (an `ir.tracer.Tracer`) while a trace runs, else None."""
    return getattr(STATE, "tracer", None)
