"""`gt.cpu.amp` (PyTorch's deprecated `torch.cpu.amp`): `autocast` and `GradScaler`, which
warn (FutureWarning) and forward to `gt.amp` with device "cpu"."""

from __future__ import annotations

from ..amp.legacy import CpuAutocast as autocast
from ..amp.legacy import CpuGradScaler as GradScaler

__all__ = ["autocast", "GradScaler"]
