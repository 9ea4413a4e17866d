"""`gt.cuda`: availability queries and seeding, backed by CuPy when it is installed."""

from __future__ import annotations

from .device import _cupy_or_reason


def is_available() -> bool:
    """True when CuPy is installed and sees at least one CUDA GPU."""
    return _cupy_or_reason()[0] is not None


def device_count() -> int:
    cupy = _cupy_or_reason()[0]
    return 0 if cupy is None else int(cupy.cuda.runtime.getDeviceCount())


def current_device() -> int:
    from .device import cupy_module

    return int(cupy_module().cuda.Device().id)


def synchronize(device=None) -> None:
    cupy = _cupy_or_reason()[0]
    if cupy is not None:
        cupy.cuda.Device().synchronize()


def manual_seed(seed: int) -> None:
    """Seed CuPy's generator (a no-op without CUDA, as in PyTorch)."""
    cupy = _cupy_or_reason()[0]
    if cupy is not None:
        cupy.random.seed(seed)


manual_seed_all = manual_seed
