"""`gt.testing.assert_close`, as ``torch.testing.assert_close``: tensors, NumPy arrays,
Python numbers and nested sequences/mappings of them compared with PyTorch's default
tolerances per dtype and its failure messages; `gt.testing.make_tensor`, random tensors with
PyTorch's value ranges per dtype."""

from __future__ import annotations

from .comparison import assert_close
from .creation import make_tensor

__all__ = ["assert_close", "make_tensor"]
