"""`gt.compiler` controls, as PyTorch's `torch.compiler`: disable, reset, is_compiling.

- ``with gt.compiler.disable():`` runs every compiled function's original Python inside the
  block (also ``GRAPHTORCH_DISABLE_COMPILE=1``);
- ``@gt.compiler.disable`` (or ``gt.compiler.disable(fn)``) marks a function that is never
  compiled: called from compiled code, it runs eagerly there (a graph break with that
  reason), and `gt.compile` of it returns it unchanged;
- `reset()` forgets every compiled variant (the next calls trace again);
- `is_compiling()` is True while gt.compile is tracing.
"""

from __future__ import annotations

import functools
import os
import threading
import weakref

from ..trace_state import current_tracer
from . import stance

_STATE = threading.local()
COMPILED: weakref.WeakSet = weakref.WeakSet()  # every CompiledFunction, for reset()


def is_disabled() -> bool:
    """Whether compiled functions run their original Python (``gt.compiler.disable()``,
    ``set_stance("force_eager")`` or ``GRAPHTORCH_DISABLE_COMPILE=1``)."""
    return getattr(_STATE, "depth", 0) > 0 or stance.current() == "force_eager" or \
        os.environ.get("GRAPHTORCH_DISABLE_COMPILE", "") not in ("", "0")


class _DisabledBlock:
    def __enter__(self):
        _STATE.depth = getattr(_STATE, "depth", 0) + 1
        return self

    def __exit__(self, *exc):
        _STATE.depth -= 1
        return False


def disable(fn=None, recursive: bool = True, *, reason: str | None = None):
    """As a context manager (``with gt.compiler.disable():``), compiled functions run their
    original eager Python inside the block, so breakpoints and prints work. As a decorator
    (``@gt.compiler.disable``), the function is never compiled: compiled code calling it runs
    it eagerly (a graph break naming it).

    >>> @gt.compiler.disable
    ... def log_stats(t):
    ...     print(t.mean().item())
    """
    if fn is None:
        return _DisabledBlock() if reason is None and recursive else \
            functools.partial(disable, recursive=recursive, reason=reason)

    @functools.wraps(fn)
    def eager(*args, **kwargs):
        with _DisabledBlock():
            return fn(*args, **kwargs)

    why = reason or f"{getattr(fn, '__qualname__', fn)} is marked gt.compiler.disable"
    eager._graph_break_reason = why
    eager._gt_disabled = True
    return eager


def is_compiling() -> bool:
    """True while `gt.compile` (or `gt.trace`) is tracing: code can take another path there
    (``if not torch.compiler.is_compiling(): log(...)``)."""
    return current_tracer() is not None


def reset() -> None:
    """Forget every compiled variant of every compiled function: their next calls trace and
    compile again (after changing something the guards do not see, such as a monkeypatched
    library function)."""
    for compiled in list(COMPILED):
        compiled.reset()
