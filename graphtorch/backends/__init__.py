"""Backends that run graphs (NumPy code generation, CuPy kernels, an op-by-op interpreter),
and `cudnn`, PyTorch's `torch.backends.cudnn` switches for code that sets them."""

from . import cudnn  # noqa: F401
