"""`gt.amp`: automatic mixed precision (`autocast`, `GradScaler`), as `torch.amp`.

See `autocast_mode` for the CPU op policies and what is supported (bfloat16 and float16
autocast on the CPU), `grad_scaler` for the loss scaler.
"""

from __future__ import annotations

from .autocast_mode import (autocast, custom_bwd, custom_fwd, get_autocast_dtype,
                            is_autocast_available, is_autocast_enabled)
from .grad_scaler import GradScaler

__all__ = ["autocast", "GradScaler", "custom_fwd", "custom_bwd", "is_autocast_available",
           "is_autocast_enabled", "get_autocast_dtype"]
