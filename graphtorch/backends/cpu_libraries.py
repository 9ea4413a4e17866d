"""`gt.backends.mkl`, `openmp` and `mkldnn`: PyTorch's build queries, answered for
graphtorch. MKL: whether `graphtorch.blas` can multiply with it (``graphtorch[mkl]``);
OpenMP: whether the native kernels can be built with it (a C compiler); oneDNN: never."""

from __future__ import annotations

import shutil
import types

from .. import blas


def _mkl_available() -> bool:
    return blas.backend() == "mkl" or any(
        "/" in path for path in blas._library_paths())  # noqa: SLF001  (its installed paths)


mkl = types.ModuleType("graphtorch.backends.mkl", "Is MKL there for matrix products?")
mkl.is_available = _mkl_available
openmp = types.ModuleType("graphtorch.backends.openmp",
                          "Are the native kernels built with OpenMP?")
openmp.is_available = lambda: shutil.which("cc") is not None or shutil.which("gcc") is not None
mkldnn = types.ModuleType("graphtorch.backends.mkldnn", "oneDNN: graphtorch has none.")
mkldnn.is_available = lambda: False
mkldnn.enabled = False
