"""Autograd's anomaly mode, as PyTorch's (`torch.autograd.detect_anomaly`,
`torch.autograd.set_detect_anomaly`, `torch.is_anomaly_enabled`).

While it is on, every autograd node created records the forward call's stack in
`node.metadata["traceback_"]`, and the backward engine checks what each node returns:
with `check_nan`, a NaN raises ``RuntimeError: Function 'LogBackward0' returned nan values
in its 0th output.`` after a UserWarning that shows the forward call's stack. Forward
values are not checked (PyTorch does not either; `gt.debug.detect_anomaly` stops at the
first op, forward or backward, eager or compiled, that makes a NaN or Inf). A compiled
function's backward is one node here (`CompiledFunctionBackward`).
"""

from __future__ import annotations

import os
import traceback
import warnings

from .. import dtypes
from ..ops import dispatch
from ..trace_state import SymbolicArray

__all__ = ["detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled",
           "is_anomaly_check_nan_enabled"]

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
# [enabled, check_nan]: read by the engine after every node (one list lookup when off)
STATE = [False, True]


def is_anomaly_enabled() -> bool:
    """Whether anomaly mode is on."""
    return STATE[0]


def is_anomaly_check_nan_enabled() -> bool:
    """Whether anomaly mode checks backward results for NaN."""
    return STATE[1]


def _record_forward_stack(op, inputs, outputs) -> None:
    """An op hook while anomaly mode is on: a new node keeps the forward call's stack."""
    node = outputs[0]._grad_fn if outputs else None
    if node is not None and (node._metadata is None or "traceback_" not in node._metadata):
        node.metadata["traceback_"] = [line for line in traceback.format_stack()
                                       if _PACKAGE not in line]


def _set(enabled: bool, check_nan: bool) -> None:
    STATE[0], STATE[1] = enabled, check_nan
    if enabled and _record_forward_stack not in dispatch.op_hooks:
        dispatch.op_hooks.append(_record_forward_stack)
    elif not enabled and _record_forward_stack in dispatch.op_hooks:
        dispatch.op_hooks.remove(_record_forward_stack)


def check_node(node, grad_inputs) -> None:
    """Called by the engine after `node` ran while anomaly mode is on."""
    if not STATE[1]:
        return
    for i, g in enumerate(grad_inputs):
        if g is None:
            continue
        data = g._data
        if type(data) is SymbolicArray or not dtypes.is_inexact_array(data.dtype):
            continue  # a traced value (compiled code's trace) or no NaN possible
        if bool((data != data).any()):
            name = node.name()
            stack = (node._metadata or {}).get("traceback_")
            if stack:
                warnings.warn(f"Error detected in {name}. Traceback of forward call that "
                              f"caused the error:\n{''.join(stack)}", stacklevel=2)
            raise RuntimeError(f"Function '{name}' returned nan values in its {i}th output.")


class detect_anomaly:
    """Context manager/decorator turning anomaly mode on (PyTorch's
    `torch.autograd.detect_anomaly`): backward raises RuntimeError naming the first node
    that returns NaN, and warns with the forward call's stack.

    >>> with gt.autograd.detect_anomaly():
    ...     gt.tensor([0.], requires_grad=True).sqrt().mul(0).sum().backward()
    Traceback (most recent call last):
    RuntimeError: Function 'SqrtBackward0' returned nan values in its 0th output.
    """

    def __init__(self, check_nan: bool = True) -> None:
        if not isinstance(check_nan, bool):
            raise TypeError(f"set_anomaly_enabled(): argument 'check_nan' must be bool, not "
                            f"{type(check_nan).__name__}")
        self.prev = STATE[0]
        self.check_nan = check_nan
        self.prev_check_nan = STATE[1]
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the "
                      "runtime and should only be enabled for debugging.", stacklevel=2)

    def __enter__(self) -> None:
        _set(True, self.check_nan)

    def __exit__(self, *args) -> None:
        _set(self.prev, self.prev_check_nan)

    def __call__(self, fn):
        import functools  # noqa: PLC0415  (stdlib)

        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            with self.__class__(self.check_nan):
                return fn(*args, **kwargs)

        return wrapped


class set_detect_anomaly:
    """Turn anomaly mode on or off, now (as a function) or for a block (as a context
    manager), as PyTorch's `torch.autograd.set_detect_anomaly(mode, check_nan=True)`.

    >>> gt.autograd.set_detect_anomaly(True)   # on from here
    >>> with gt.autograd.set_detect_anomaly(False):
    ...     pass                                # off inside the block
    """

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        for name, value in (("enabled", mode), ("check_nan", check_nan)):
            if not isinstance(value, bool):
                raise TypeError(f"set_anomaly_enabled(): argument '{name}' (position "
                                f"{1 if name == 'enabled' else 2}) must be bool, not "
                                f"{type(value).__name__}")
        self.prev = STATE[0]
        self.prev_check_nan = STATE[1]
        _set(mode, check_nan)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *args) -> None:
        _set(self.prev, self.prev_check_nan)
