"""`gt.backends.mkl`, `openmp`, `mkldnn`, `cpu` and `opt_einsum`: PyTorch's build queries,
answered for graphtorch. MKL: whether `graphtorch.blas` can multiply with it
(``graphtorch[mkl]``); OpenMP: whether the native kernels can be built with it (a C
compiler); oneDNN: never; the CPU's vector capability; einsum contracts in NumPy's
optimised order."""

from __future__ import annotations

import shutil
import types

import numpy as np

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
cpu = types.ModuleType("graphtorch.backends.cpu", "The CPU's vector capability.")


def _cpu_capability() -> str:
    """"AVX512", "AVX2" or "DEFAULT", as PyTorch names its CPU kernel builds."""
    umath = getattr(getattr(np, "_core", None), "_multiarray_umath", None)
    features = {name for name, on in getattr(umath, "__cpu_features__", {}).items() if on}
    if {"AVX512F", "AVX512BW", "AVX512VL"} <= features:
        return "AVX512"
    return "AVX2" if "AVX2" in features else "DEFAULT"


cpu.get_cpu_capability = _cpu_capability
opt_einsum = types.ModuleType("graphtorch.backends.opt_einsum",
                              "einsum's contraction order: NumPy's optimize='optimal' path.")
opt_einsum.enabled = True
opt_einsum.strategy = "auto"
opt_einsum.is_available = lambda: True
