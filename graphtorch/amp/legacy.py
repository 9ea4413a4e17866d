"""The deprecated device namespaces of mixed precision: `torch.cpu.amp` and
`torch.cuda.amp` (`autocast`, `GradScaler`), which warn (FutureWarning) and forward to
`gt.amp`, as PyTorch's do."""

from __future__ import annotations

import warnings

from .. import dtypes
from .autocast_mode import autocast as _autocast
from .grad_scaler import GradScaler as _GradScaler


def _deprecated(namespace: str, name: str, device: str) -> None:
    warnings.warn(f"`torch.{namespace}.amp.{name}(args...)` is deprecated. Please use "
                  f"`torch.amp.{name}('{device}', args...)` instead.", FutureWarning,
                  stacklevel=3)


class CpuAutocast(_autocast):
    """`torch.cpu.amp.autocast(enabled=True, dtype=torch.bfloat16, cache_enabled=True)`."""

    def __init__(self, enabled: bool = True, dtype=dtypes.bfloat16,
                 cache_enabled: bool = True):
        _deprecated("cpu", "autocast", "cpu")
        super().__init__("cpu", enabled=enabled, dtype=dtype, cache_enabled=cache_enabled)


class CudaAutocast(_autocast):
    """`torch.cuda.amp.autocast(enabled=True, dtype=torch.float16, cache_enabled=True)`."""

    def __init__(self, enabled: bool = True, dtype=dtypes.float16,
                 cache_enabled: bool = True):
        _deprecated("cuda", "autocast", "cuda")
        super().__init__("cuda", enabled=enabled, dtype=dtype, cache_enabled=cache_enabled)


class CpuGradScaler(_GradScaler):
    """`torch.cpu.amp.GradScaler(...)`: `gt.amp.GradScaler("cpu", ...)`."""

    def __init__(self, init_scale: float = 2.0 ** 16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000,
                 enabled: bool = True) -> None:
        _deprecated("cpu", "GradScaler", "cpu")
        super().__init__("cpu", init_scale, growth_factor, backoff_factor, growth_interval,
                         enabled)


class CudaGradScaler(_GradScaler):
    """`torch.cuda.amp.GradScaler(...)`: `gt.amp.GradScaler("cuda", ...)` (disabled, with
    PyTorch's warning, when CUDA is not available)."""

    def __init__(self, init_scale: float = 2.0 ** 16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000,
                 enabled: bool = True) -> None:
        _deprecated("cuda", "GradScaler", "cuda")
        super().__init__("cuda", init_scale, growth_factor, backoff_factor, growth_interval,
                         enabled)
