"""`gt.cpu`: PyTorch's `torch.cpu` namespace (the CPU "device module") and its deprecated
`torch.cpu.amp` (`autocast`, `GradScaler`)."""

from __future__ import annotations

from . import amp

__all__ = ["amp", "is_available", "device_count", "current_device", "synchronize"]


def is_available() -> bool:
    """Always True: the CPU is there."""
    return True


def device_count() -> int:
    """1, as PyTorch reports for the CPU."""
    return 1


def current_device() -> str:
    """"cpu"."""
    return "cpu"


def synchronize(device=None) -> None:
    """A no-op: CPU work is synchronous."""
