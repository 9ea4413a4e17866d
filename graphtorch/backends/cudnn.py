"""`gt.backends.cudnn`: PyTorch's cuDNN switches, kept so that reproducibility code such as
``torch.backends.cudnn.deterministic = True`` runs unchanged. graphtorch uses no cuDNN;
its kernels are deterministic, so the flags change nothing."""

from __future__ import annotations

deterministic = False
benchmark = False
enabled = True
allow_tf32 = True


def is_available() -> bool:
    """False: graphtorch does not use cuDNN."""
    return False


def version():
    return None
