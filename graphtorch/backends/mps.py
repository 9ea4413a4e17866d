"""`gt.backends.mps`: PyTorch's `torch.backends.mps` queries, kept so that device selection
such as ``use_mps = torch.backends.mps.is_available()`` (the PyTorch examples' idiom) runs
unchanged. graphtorch has no Metal backend: both answers are False, as in a PyTorch build
without MPS."""

from __future__ import annotations


def is_available() -> bool:
    """False: graphtorch has no MPS (Apple Metal) device."""
    return False


def is_built() -> bool:
    """False: graphtorch is not built with MPS support."""
    return False
