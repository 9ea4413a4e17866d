"""What both JIT tiers share: the GRAPHTORCH_JIT switch and one background worker.

The native tier (`native_build.py`: g++ in a separate process) and the Numba tier
(`numba_jit.py`) both build kernels off the calling thread, so a first call never waits;
`wait()` blocks until every build started so far is done (tests, benchmarks).

``GRAPHTORCH_JIT``: ``background`` (default), ``sync`` (build at the first request) or ``0``
(never; NumPy code runs). Any other value warns once and means ``background``.
"""

from __future__ import annotations

import os
import threading
import warnings
from concurrent.futures import Future, ThreadPoolExecutor

__all__ = ["setting", "submit", "wait"]

_WORKER: ThreadPoolExecutor | None = None
_LOCK = threading.Lock()
_PENDING: list[Future] = []
_WARNED: set[str] = set()


def setting(variable: str = "GRAPHTORCH_JIT") -> str:
    """GRAPHTORCH_JIT (or another switch of the same values) as 'background', 'sync' or
    'off'."""
    value = os.environ.get(variable, "background").strip().lower()
    if value in ("0", "off", "false", "no"):
        return "off"
    if value == "sync":
        return "sync"
    if value not in ("background", "1", "on", "true", "yes", "") and value not in _WARNED:
        _WARNED.add(value)
        warnings.warn(f"{variable}={value!r} is not one of background, sync, 0: "
                      "building kernels in the background", RuntimeWarning, stacklevel=2)
    return "background"


def submit(fn, *args) -> Future:
    """Run ``fn(*args)`` on the background worker (one thread, in submission order)."""
    global _WORKER
    with _LOCK:
        if _WORKER is None:
            _WORKER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gt-jit")
        future = _WORKER.submit(fn, *args)
        _PENDING.append(future)
    return future


def wait(timeout: float | None = None) -> None:
    """Block until every background build submitted so far has finished."""
    with _LOCK:
        pending = list(_PENDING)
        _PENDING.clear()
    for future in pending:
        future.result(timeout)
