"""Grad mode: whether ops record the autograd graph (`no_grad`, `enable_grad`, ...).

The flag is thread-local, as in PyTorch; every context manager restores the previous
state on exit, also when the block raises.
"""

from __future__ import annotations

import functools
import threading


class _GradState(threading.local):
    enabled = True


STATE = _GradState()


def is_grad_enabled() -> bool:
    """True when operations record the autograd graph."""
    return STATE.enabled


class _GradModeContext:
    """Base for grad-mode switches usable as context managers and as decorators, with or
    without parentheses (``@gt.no_grad`` and ``@gt.no_grad()``)."""

    _mode = True

    def __new__(cls, *args, **kwargs):
        if cls in (no_grad, enable_grad) and len(args) == 1 and callable(args[0]):
            return cls()(args[0])  # used as a bare decorator
        return super().__new__(cls)

    def __enter__(self):
        self._prev = STATE.enabled
        STATE.enabled = self._mode

    def __exit__(self, *exc):
        STATE.enabled = self._prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.clone():  # a fresh context per call: calls may nest or recurse
                return fn(*args, **kwargs)

        return wrapper

    def clone(self):
        return self.__class__()


class no_grad(_GradModeContext):
    """Disable graph recording in a block or a decorated function.

    >>> x = gt.ones(2, requires_grad=True)
    >>> with gt.no_grad():
    ...     y = x * 2
    >>> y.requires_grad
    False
    """

    _mode = False


class enable_grad(_GradModeContext):
    """Re-enable graph recording, e.g. inside a `no_grad` block."""

    _mode = True


class set_grad_enabled(_GradModeContext):
    """Set grad mode: as a function call (global), a context manager or a decorator."""

    def __init__(self, mode: bool):
        self._prev = STATE.enabled
        self._mode = bool(mode)
        STATE.enabled = self._mode

    def __enter__(self):
        pass

    def __exit__(self, *exc):
        STATE.enabled = self._prev
        return False

    def __call__(self, fn):
        mode = self._mode
        STATE.enabled = self._prev  # decorating must not change the current mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        return wrapper

    def clone(self):
        return set_grad_enabled(self._mode)

    def __repr__(self):
        return f"torch.autograd.grad_mode.set_grad_enabled(mode={self._mode})"


class inference_mode(_GradModeContext):
    """Like `no_grad` (graphtorch has no separate inference tensors); `inference_mode(False)`
    enables grad, as in PyTorch. Usable as ``@gt.inference_mode`` too."""

    def __new__(cls, mode=True):
        if callable(mode):  # bare decorator
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode: bool = True):
        self._inference = bool(mode)
        self._mode = not self._inference

    def clone(self):
        return inference_mode(self._inference)
