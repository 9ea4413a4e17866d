"""Backends that run graphs (NumPy code generation, CuPy kernels, an op-by-op interpreter),
`cudnn` and `cuda`, PyTorch's `torch.backends.cudnn`/`cuda` switches for code that sets
them, and `mps`, PyTorch's `torch.backends.mps` queries for code that picks a device, and
the `mkl`/`openmp`/`mkldnn`/`cpu`/`opt_einsum` build queries."""

from . import cuda, cudnn, mps  # noqa: F401
from .cpu_libraries import cpu, mkl, mkldnn, openmp, opt_einsum  # noqa: F401
