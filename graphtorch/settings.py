"""Process-wide switches that modern PyTorch scripts set at start-up, accepted and stored
with PyTorch's validation and errors: `set_float32_matmul_precision` and
`use_deterministic_algorithms` (with the deterministic debug mode).

On graphtorch's CPU kernels neither changes a result: float32 products are always computed
in float32 (PyTorch's "highest"; "high"/"medium" only allow TF32/bfloat16 on GPUs), and the
kernels are deterministic already (chunked kernels split work the same way on every run).
"""

from __future__ import annotations

import warnings

__all__ = ["are_deterministic_algorithms_enabled", "get_deterministic_debug_mode",
           "get_float32_matmul_precision", "is_deterministic_algorithms_warn_only_enabled",
           "set_deterministic_debug_mode", "set_float32_matmul_precision",
           "use_deterministic_algorithms"]

_PRECISIONS = ("highest", "high", "medium")
_DEBUG_MODES = {"default": 0, "warn": 1, "error": 2}
_state = {"precision": "highest", "deterministic": False, "warn_only": False}


def set_float32_matmul_precision(precision) -> None:
    """Record the internal precision of float32 matrix products: "highest" (default),
    "high" or "medium". Another string warns and changes nothing, as in PyTorch.

    >>> gt.set_float32_matmul_precision("high")
    >>> gt.get_float32_matmul_precision()
    'high'
    """
    if not isinstance(precision, str):
        raise RuntimeError(f"set_float32_matmul_precision expects a str, but got "
                           f"{type(precision).__name__}")
    if precision not in _PRECISIONS:
        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the current"
                      "setFloat32MatmulPrecision call has no effect.", UserWarning,
                      stacklevel=2)
        return
    _state["precision"] = precision


def get_float32_matmul_precision() -> str:
    """The value last given to `set_float32_matmul_precision` ("highest" by default)."""
    return _state["precision"]


def use_deterministic_algorithms(mode, *, warn_only=False) -> None:
    """Ask for deterministic algorithms (warn_only: warn rather than raise where an op has
    none). graphtorch's kernels are deterministic, so this only records the request."""
    for name, value, position in (("mode", mode, 1), ("warn_only", warn_only, None)):
        if not isinstance(value, bool):
            where = f"argument '{name}' (position {position})" if position else \
                f"argument '{name}'"
            raise TypeError(f"_set_deterministic_algorithms(): {where} must be bool, not "
                            f"{type(value).__name__}")
    _state["deterministic"], _state["warn_only"] = mode, warn_only


def are_deterministic_algorithms_enabled() -> bool:
    """Whether `use_deterministic_algorithms(True)` is in effect."""
    return _state["deterministic"]


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    """Whether deterministic mode only warns (`warn_only=True`)."""
    return _state["warn_only"]


def set_deterministic_debug_mode(debug_mode) -> None:
    """0/"default": off; 1/"warn": deterministic mode that warns; 2/"error": that raises."""
    if not isinstance(debug_mode, (int, str)) or isinstance(debug_mode, bool):
        raise TypeError(f"debug_mode must be str or int, but got {type(debug_mode)}")
    if isinstance(debug_mode, str):
        if debug_mode not in _DEBUG_MODES:
            raise RuntimeError("invalid value of debug_mode, expected one of `default`, "
                               f"`warn`, `error`, but got {debug_mode}")
        debug_mode = _DEBUG_MODES[debug_mode]
    if debug_mode not in (0, 1, 2):
        raise RuntimeError("invalid value of debug_mode, expected 0, 1, or 2, but got "
                           f"{debug_mode}")
    use_deterministic_algorithms(debug_mode != 0, warn_only=debug_mode == 1)


def get_deterministic_debug_mode() -> int:
    """The debug mode as an int: 0 off, 1 warn only, 2 error."""
    if not _state["deterministic"]:
        return 0
    return 1 if _state["warn_only"] else 2
