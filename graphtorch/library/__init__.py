"""`gt.library`, as PyTorch's `torch.library`: Python functions made operators
(`custom_op`) with fake, autograd and per-device registrations, `gt.ops.<ns>.<name>` access,
and `opcheck`. Under gt.compile a custom op is a graph break: it runs eagerly."""

from __future__ import annotations

from .custom_ops import CustomOpDef, custom_op, register_fake
from .opcheck import OpCheckError, opcheck

__all__ = ["CustomOpDef", "OpCheckError", "custom_op", "opcheck", "register_fake"]
