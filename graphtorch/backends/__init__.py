"""Backends that run graphs (NumPy code generation, CuPy kernels, an op-by-op interpreter),
`cudnn`, PyTorch's `torch.backends.cudnn` switches for code that sets them, and `mps`,
PyTorch's `torch.backends.mps` queries for code that picks a device, and the
`mkl`/`openmp`/`mkldnn` build queries."""

from . import cudnn, mps  # noqa: F401
from .cpu_libraries import mkl, mkldnn, openmp  # noqa: F401
