"""`gt.cuda`: availability queries, synchronisation and seeding, backed by CuPy.

Without CuPy (or without a GPU) every query answers as PyTorch built without CUDA does:
`is_available()` is False, `device_count()` is 0, seeding is a no-op, and anything that
needs a device raises a RuntimeError that says why.
"""

from __future__ import annotations

from .device import _cupy_or_reason, as_device, cupy_module


def is_available() -> bool:
    """True when CuPy is installed and sees at least one CUDA GPU."""
    return _cupy_or_reason()[0] is not None


def is_initialized() -> bool:
    return is_available()


def device_count() -> int:
    """The number of CUDA GPUs CuPy sees (0 without CuPy)."""
    cupy = _cupy_or_reason()[0]
    return 0 if cupy is None else int(cupy.cuda.runtime.getDeviceCount())


def current_device() -> int:
    return int(cupy_module().cuda.Device().id)


def set_device(device) -> None:
    """Make `device` (an index, "cuda:N" or a gt.device) the current CUDA device."""
    index = device if isinstance(device, int) else as_device(device).index
    if index is not None and index >= 0:
        cupy_module().cuda.Device(index).use()


def get_device_name(device=None) -> str:
    """The GPU's name, e.g. 'NVIDIA H100 80GB HBM3'."""
    cupy = cupy_module()
    index = _index(device)
    name = cupy.cuda.runtime.getDeviceProperties(index)["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def synchronize(device=None) -> None:
    """Wait for every kernel queued on the device (a no-op without CUDA)."""
    cupy = _cupy_or_reason()[0]
    if cupy is not None:
        with cupy.cuda.Device(_index(device)):
            cupy.cuda.Device().synchronize()


def empty_cache() -> None:
    """Give CuPy's cached, unused GPU memory back to the driver."""
    cupy = _cupy_or_reason()[0]
    if cupy is not None:
        cupy.get_default_memory_pool().free_all_blocks()


def memory_allocated(device=None) -> int:
    """Bytes of GPU memory held by tensors (CuPy's memory pool in use)."""
    cupy = _cupy_or_reason()[0]
    return 0 if cupy is None else int(cupy.get_default_memory_pool().used_bytes())


def manual_seed(seed: int) -> None:
    """Seed CuPy's generator on the current device (a no-op without CUDA, as in PyTorch)."""
    cupy = _cupy_or_reason()[0]
    if cupy is not None:
        cupy.random.seed(int(seed) & 0xFFFF_FFFF_FFFF_FFFF)


def manual_seed_all(seed: int) -> None:
    """Seed CuPy's generator on every GPU (a no-op without CUDA)."""
    cupy = _cupy_or_reason()[0]
    if cupy is None:
        return
    for index in range(device_count()):
        with cupy.cuda.Device(index):
            cupy.random.seed(int(seed) & 0xFFFF_FFFF_FFFF_FFFF)


def _index(device) -> int:
    if device is None:
        cupy = _cupy_or_reason()[0]
        return 0 if cupy is None else int(cupy.cuda.Device().id)
    if isinstance(device, int):
        return device

    d = as_device(device)
    return d.index if d.index is not None else _index(None)
