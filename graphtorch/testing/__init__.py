"""`gt.testing.assert_close`, as ``torch.testing.assert_close``: tensors, NumPy arrays,
Python numbers and nested sequences/mappings of them compared with PyTorch's default
tolerances per dtype and its failure messages."""

from __future__ import annotations

from .comparison import assert_close

__all__ = ["assert_close"]
