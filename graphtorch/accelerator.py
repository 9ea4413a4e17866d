"""`gt.accelerator`: the device-generic queries of `torch.accelerator`.

graphtorch's one accelerator is CUDA through CuPy. With CuPy installed, graphtorch answers
as a PyTorch built with CUDA: `current_accelerator()` is ``device(type='cuda')`` and the
other calls ask CuPy (so `is_available()` is False without a GPU). Without CuPy it answers
as PyTorch's CPU build: no accelerator, and calls that need one raise its RuntimeError.

    device = gt.accelerator.current_accelerator() if gt.accelerator.is_available() else "cpu"
"""

from __future__ import annotations

import importlib.util
import warnings

from . import cuda, dtypes
from .device import cupy_module, device

__all__ = ["Graph", "current_accelerator", "current_device_idx", "current_device_index",
           "current_stream", "device_count", "device_index", "empty_cache", "empty_host_cache",
           "get_device_capability", "get_memory_info", "is_available", "max_memory_allocated",
           "max_memory_reserved", "memory_allocated", "memory_reserved", "memory_stats",
           "reset_accumulated_memory_stats", "reset_peak_memory_stats", "set_device_idx",
           "set_device_index", "set_stream", "synchronize"]

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


def current_device_idx() -> int:
    """Deprecated alias of `current_device_index` (PyTorch warns the same way)."""
    warnings.warn("Use `current_device_index` instead.", FutureWarning, stacklevel=2)
    return current_device_index()


def set_device_idx(device, /) -> None:
    """Deprecated alias of `set_device_index`."""
    warnings.warn("Use `set_device_index` instead.", FutureWarning, stacklevel=2)
    set_device_index(device)


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


def current_stream(device=None, /):
    """The current stream of `device` (CuPy's current ``cupy.cuda.Stream``)."""
    _require()
    with cupy_module().cuda.Device(cuda._index(device)):
        return cupy_module().cuda.get_current_stream()


def set_stream(stream, /) -> None:
    """Make `stream` (a ``cupy.cuda.Stream``) current on its device."""
    _require()
    stream.use()


def get_device_capability(device=None, /) -> dict:
    """``{"supported_dtypes": {...}}``: the dtypes tensors on the device can hold."""
    _require()
    return {"supported_dtypes": {d for d in vars(dtypes).values()
                                 if isinstance(d, dtypes.DType)}}


def get_memory_info(device=None, /) -> tuple[int, int]:
    """``(free, total)`` bytes of the device's memory, as the driver reports them."""
    _require()
    with cupy_module().cuda.Device(cuda._index(device)):
        free, total = cupy_module().cuda.runtime.memGetInfo()
    return int(free), int(total)


def memory_reserved(device_index=None, /) -> int:
    """Bytes held by graphtorch's caching allocator (CuPy's memory pool), used or not."""
    _require()
    return int(cupy_module().get_default_memory_pool().total_bytes())


def memory_stats(device_index=None, /) -> dict[str, int]:
    """The allocator's current counters, under PyTorch's key names. CuPy's pool keeps no
    peaks or totals, so only the ``.current`` entries are present."""
    _require()
    pool = cupy_module().get_default_memory_pool()
    return {"allocated_bytes.all.current": int(pool.used_bytes()),
            "reserved_bytes.all.current": int(pool.total_bytes())}


def empty_host_cache() -> None:
    """Give cached pinned host memory back (CuPy's pinned memory pool)."""
    _require()
    cupy_module().get_default_pinned_memory_pool().free_all_blocks()


def _no_peaks(name: str):
    def unsupported(device_index=None, /):
        _require()
        raise NotImplementedError(
            f"gt.accelerator.{name}: graphtorch's allocator (CuPy's memory pool) keeps no "
            "peak or accumulated statistics; use memory_allocated() / memory_reserved()")
    unsupported.__name__ = unsupported.__qualname__ = name
    unsupported.__doc__ = f"PyTorch's `torch.accelerator.{name}`: raises, as CuPy keeps no peaks."
    return unsupported


max_memory_allocated = _no_peaks("max_memory_allocated")
max_memory_reserved = _no_peaks("max_memory_reserved")
reset_peak_memory_stats = _no_peaks("reset_peak_memory_stats")
reset_accumulated_memory_stats = _no_peaks("reset_accumulated_memory_stats")


class Graph:
    """`torch.accelerator.Graph` (capture and replay). graphtorch has no user-level graph
    capture (`gt.compile` captures CUDA graphs of compiled programs itself), so
    constructing one raises."""

    def __init__(self, keep_graph: bool = False, *, pool=None,
                 capture_error_mode: str = "default") -> None:
        _require()
        raise NotImplementedError("gt.accelerator.Graph: graphtorch does not capture device "
                                  "graphs on request; gt.compile(fn) captures and replays "
                                  "CUDA graphs of compiled programs itself")
