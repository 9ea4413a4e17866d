"""The JIT tier's compiler: Numba, loaded lazily, compiling kernels in the background.

Numba (an optional extra, ``pip install graphtorch[jit]``) turns Python loops into LLVM
machine code. Importing it costs ~0.4 s and compiling a kernel 0.2-2 s, far more than a
graphtorch compile (~0.05 s), so nothing here blocks a first call: `lazy_kernel` returns a
handle whose `.get()` is None until the process has run for `WARMUP_SECONDS` and a
background thread has compiled the kernel; callers run their NumPy code meanwhile.
Compiled kernels are cached on disk (Numba's cache, keyed by the source file and its
contents), so a later process loads them in milliseconds.

``GRAPHTORCH_JIT`` selects the mode: ``background`` (default), ``sync`` (compile at the
first `.get()`, for tests and benchmarks that must time the JIT tier) or ``0`` (never; the
NumPy code always runs).

    handle = lazy_kernel(py_func, parallel=True)
    kernel = handle.get()           # None while compiling (or without Numba)
    if kernel is not None:
        kernel(x, out)
"""

from __future__ import annotations

import importlib.util
import threading
import time
from concurrent.futures import Future

from .jit_background import setting, submit, wait

__all__ = ["available", "lazy_kernel", "mode", "setting", "wait"]

_LOCK = threading.Lock()
# Background mode starts Numba only for kernels still wanted WARMUP_SECONDS after the
# first one was: importing Numba and loading even a cached kernel hold the GIL for ~0.5 s,
# which would triple a short script's first steps (a compiled LeNet step's first three
# calls: 0.13 s -> 0.3-0.7 s) and which only a longer run wins back.
WARMUP_SECONDS = 0.5
_FIRST_ASK: list[float] = []


def mode() -> str:
    """`setting()`, or 'off' when Numba is missing."""
    return setting() if _has_numba() else "off"


def available() -> bool:
    """Whether the JIT tier may run (Numba installed and GRAPHTORCH_JIT not 0)."""
    return mode() != "off"


_NUMBA_FOUND: list[bool] = []


def _has_numba() -> bool:
    if not _NUMBA_FOUND:
        _NUMBA_FOUND.append(importlib.util.find_spec("numba") is not None)
    return _NUMBA_FOUND[0]


class LazyKernel:
    """A Python function compiled by Numba once someone asks for it (see the module
    docstring). `.get()` returns the machine-code kernel, or None while it is compiling,
    when the JIT is off, or when Numba refused the function (`.error` says why)."""

    def __init__(self, py_func, options: dict):
        self.py_func = py_func
        self.options = options
        self.kernel = None
        self.error: BaseException | None = None
        self._future: Future | None = None

    def get(self):
        if self.kernel is not None:
            return self.kernel
        if self._future is None:
            current = mode()
            if current == "off":
                return None
            if current == "sync":
                self._future = Future()
                self._compile()
                self._future.set_result(None)
                return self.kernel
            now = time.monotonic()
            if not _FIRST_ASK:
                _FIRST_ASK.append(now)
            if now - _FIRST_ASK[0] < WARMUP_SECONDS:
                return None  # a short script never pays for Numba
            with _LOCK:
                if self._future is None:
                    self._future = submit(self._compile)
        return self.kernel

    def _compile(self) -> None:
        try:
            import numba  # an optional dependency, loaded only when a kernel is wanted

            options = dict(self.options)
            signature = options.pop("signature", None)
            options.setdefault("cache", True)
            options.setdefault("nogil", True)
            jit = numba.njit(signature, **options) if signature is not None \
                else numba.njit(**options)
            kernel = jit(self.py_func)
            self.kernel = kernel
        except Exception as exc:  # noqa: BLE001 - the NumPy code keeps running
            self.error = exc


def lazy_kernel(py_func, **options) -> LazyKernel:
    """A handle compiling `py_func` with ``numba.njit(signature, **options)`` (``cache=True``
    and ``nogil=True`` by default) when first asked for. Give a ``signature`` (a Numba type
    string such as ``"void(float32[::1], float32[::1])"``) so the compile happens in the
    background; without one Numba compiles at the kernel's first call."""
    return LazyKernel(py_func, options)
