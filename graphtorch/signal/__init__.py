"""`gt.signal`: PyTorch's torch.signal namespace (its `windows` module)."""

from . import windows

__all__ = ["windows"]
