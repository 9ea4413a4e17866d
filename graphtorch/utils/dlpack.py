"""`gt.utils.dlpack`, as PyTorch's `torch.utils.dlpack`: tensors exchanged with other
libraries (PyTorch, CuPy, NumPy, JAX) through DLPack capsules, sharing memory."""

from __future__ import annotations

from ..functions.conversion import from_dlpack
from ..tensor import Tensor

__all__ = ["from_dlpack", "to_dlpack"]


def to_dlpack(tensor: Tensor):
    """A DLPack capsule sharing `tensor`'s memory; any DLPack consumer (``torch.from_dlpack``,
    ``gt.from_dlpack``) reads it once.

    >>> gt.from_dlpack(to_dlpack(gt.arange(3)))
    tensor([0, 1, 2])
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"to_dlpack(): argument 'tensor' must be Tensor, not "
                        f"{type(tensor).__name__}")
    return tensor.__dlpack__()
