"""`gt.accelerator`: the device-generic queries of `torch.accelerator`.

graphtorch's one accelerator is CUDA through CuPy. With CuPy installed, graphtorch answers
as a PyTorch built with CUDA: `current_accelerator()` is ``device(type='cuda')`` and the
other calls ask CuPy (so `is_available()` is False without a GPU). Without CuPy it answers
as PyTorch's CPU build: no accelerator, and calls that need one raise its RuntimeError.

    device = gt.accelerator.current_accelerator() if gt.accelerator.is_available() else "cpu"
"""

from __future__ import annotations

import importlib.util

from . import cuda
from .device import device

__all__ = ["current_accelerator", "current_device_index", "device_count", "device_index",
           "empty_cache", "is_available", "memory_allocated", "set_device_index",
           "synchronize"]

_NONE_AVAILABLE = "Cannot access accelerator device when none is available."


def _cupy_installed() -> bool:
    return importlib.util.find_spec("cupy") is not None


def current_accelerator(check_available: bool = False):
    """``device(type='cuda')`` when graphtorch can drive CUDA (CuPy is installed; with
    `check_available`, a GPU must also be visible), else None.

    >>> gt.accelerator.current_accelerator()   # on a machine without CuPy
    """
    if not _cupy_installed() or (check_available and not cuda.is_available()):
        return None
    return device("cuda")


def is_available() -> bool:
    """Whether an accelerator is usable now (CuPy installed and a CUDA GPU visible).

    >>> gt.accelerator.is_available()
    False
    """
    return current_accelerator() is not None and cuda.is_available()


def device_count() -> int:
    """The number of accelerator devices (0 without one)."""
    return cuda.device_count() if current_accelerator() is not None else 0


def _require() -> None:
    if not is_available():
        raise RuntimeError(_NONE_AVAILABLE)


def current_device_index() -> int:
    """The index of the current accelerator device."""
    _require()
    return cuda.current_device()


def set_device_index(device, /) -> None:
    """Make `device` (an index, "cuda:N" or a gt.device) the current accelerator device."""
    _require()
    cuda.set_device(device)


def synchronize(device=None, /) -> None:
    """Wait for every kernel queued on the device."""
    _require()
    cuda.synchronize(device)


def empty_cache() -> None:
    """Give cached, unused accelerator memory back to the driver."""
    _require()
    cuda.empty_cache()


def memory_allocated(device_index=None, /) -> int:
    """Bytes of accelerator memory held by tensors."""
    _require()
    return cuda.memory_allocated(device_index)


class device_index:  # noqa: N801  (PyTorch's name)
    """Context manager making device `device` current inside the block (None: no change).

    >>> with gt.accelerator.device_index(None):
    ...     pass
    """

    def __init__(self, device, /) -> None:
        self.idx = device
        self.prev_idx = -1

    def __enter__(self) -> None:
        if self.idx is not None:
            self.prev_idx = current_device_index()
            set_device_index(self.idx)

    def __exit__(self, *exc_info) -> None:
        if self.idx is not None:
            set_device_index(self.prev_idx)
