"""`gt.cuda.amp` (PyTorch's deprecated `torch.cuda.amp`): `autocast` and `GradScaler`,
which warn (FutureWarning) and forward to `gt.amp` with device "cuda"."""

from __future__ import annotations

from .legacy import CudaAutocast as autocast
from .legacy import CudaGradScaler as GradScaler
from .autocast_mode import custom_bwd, custom_fwd

__all__ = ["autocast", "GradScaler", "custom_fwd", "custom_bwd"]
