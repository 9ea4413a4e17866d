"""`gt.nn.attention`, as PyTorch's `torch.nn.attention`: the `SDPBackend` enum and the
`sdpa_kernel` context manager choosing scaled_dot_product_attention's kernels.

graphtorch's scaled_dot_product_attention is one composite (matmul, softmax, matmul), so the
choice is recorded and restored but changes no result; invalid arguments raise as PyTorch's.
"""

from __future__ import annotations

import contextlib
import enum

from . import flex_attention

__all__ = ["SDPBackend", "sdpa_kernel"]


class SDPBackend(enum.IntEnum):
    """The attention kernels, with PyTorch's values."""

    ERROR = -1
    MATH = 0
    FLASH_ATTENTION = 1
    EFFICIENT_ATTENTION = 2
    CUDNN_ATTENTION = 3
    OVERRIDEABLE = 4

    __str__ = enum.Enum.__str__  # "SDPBackend.MATH", as PyTorch prints it


_ALL_BACKENDS = [SDPBackend.CUDNN_ATTENTION, SDPBackend.FLASH_ATTENTION,
                 SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH, SDPBackend.OVERRIDEABLE]
_enabled: list[SDPBackend] = list(_ALL_BACKENDS)
_priority: list[SDPBackend] = list(_ALL_BACKENDS)


def _cur_sdpa_kernel_backends(with_priority: bool = False) -> list[SDPBackend]:
    """The enabled backends (in priority order when `with_priority`)."""
    if with_priority:
        return [b for b in _priority if b in _enabled]
    return list(_enabled)


def _sdpa_kernel(backends: list[SDPBackend], set_priority: bool = False) -> None:
    _enabled[:] = [b for b in _ALL_BACKENDS if b in backends]
    if set_priority:
        _priority[:] = list(backends) + [b for b in _priority if b not in backends]


@contextlib.contextmanager
def sdpa_kernel(backends: list[SDPBackend] | SDPBackend, set_priority: bool = False):
    """Within the block, only `backends` may run scaled_dot_product_attention (in their
    order when `set_priority`); the previous choice is restored on exit.

    >>> with sdpa_kernel(SDPBackend.MATH):
    ...     out = gt.nn.functional.scaled_dot_product_attention(q, k, v)
    """
    if not isinstance(backends, (list, SDPBackend)):
        message = ("Backend must be an instance of SDPBackend or a list of SDPBackend "
                   f"instances, got {type(backends).__name__}")
        raise AssertionError(message)  # noqa: TRY004  (PyTorch's type)
    if isinstance(backends, SDPBackend):
        backends = [backends]
    backends = list(dict.fromkeys(backends))
    previous = _cur_sdpa_kernel_backends(with_priority=set_priority)
    previous_priority = list(_priority)
    try:
        _sdpa_kernel(backends, set_priority)
        yield {}
    finally:
        _sdpa_kernel(previous, False)
        _priority[:] = previous_priority
