"""Run generated CUDA kernel bodies on the CPU, so their numbers are checked without a GPU.

The body and device helpers of each `CudaKernel` (the same text `cupy.ElementwiseKernel`
and the flat kernel run) are compiled as C++ with g++, with a small shim for CUDA's
device-only intrinsics, inside a host loop over pre-broadcast operands. What this checks:
the expression each rendering writes (NaN handling, shifts, rounding, helper algorithms)
against eager graphtorch. What it does not: CUDA's own math library (the host's libm
stands in for it, within its documented ulp bounds) and the launch code (tests/gpu).
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path

import numpy as np

from graphtorch.backends.cuda_codegen import CTYPES, CudaKernel
from graphtorch.backends.native_shim import SHIM



def host_source(kernels: list[CudaKernel]) -> str:
    """One C++ file: the shim, every kernel's helpers, and ``host_<k>(void **ptrs, n)``
    functions running kernel k's body over n pre-broadcast elements."""
    parts = [SHIM]
    for k, kernel in enumerate(kernels):
        parts.append(kernel.preamble)
        lines = [f'extern "C" void host_{k}(void **ptrs, long long n) {{']
        params = kernel.inputs + kernel.outputs
        for j, (name, dtype, is_out) in enumerate(params):
            const = "" if is_out else "const "
            lines.append(f"    {const}{CTYPES[dtype]}* {name}_ptr = "
                         f"({const}{CTYPES[dtype]}*)ptrs[{j}];")
        lines.append("    for (long long i = 0; i < n; ++i) {")
        lines += [f"        const {CTYPES[d]} {name} = {name}_ptr[i];"
                  for name, d, _ in kernel.inputs]
        lines += [f"        {line}" for line in kernel.body.splitlines()]
        lines += [f"        o{j}_ptr[i] = {v};" for j, v in kernel.stores]
        lines += ["    }", "}"]
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


class HostKernels:
    """The kernels compiled into one shared library; ``run(k, inputs)`` returns outputs."""

    def __init__(self, kernels: list[CudaKernel], workdir: Path):
        self.kernels = kernels
        source = workdir / "kernels_on_host.cpp"
        source.write_text(host_source(kernels))
        library = workdir / "kernels_on_host.so"
        done = subprocess.run(["g++", "-O1", "-shared", "-fPIC", "-w", "-o", str(library),
                               str(source)], capture_output=True, text=True, timeout=600)
        if done.returncode:
            raise RuntimeError(f"g++ failed:\n{done.stderr[-4000:]}")
        self.lib = ctypes.CDLL(str(library))

    def run(self, k: int, inputs: list[np.ndarray], shape: tuple) -> list[np.ndarray]:
        kernel = self.kernels[k]
        ins = [np.ascontiguousarray(np.broadcast_to(np.asarray(a, dtype=d), shape))
               for a, (_, d, _) in zip(inputs, kernel.inputs)]
        outs = [np.empty(shape, dtype=d) for _, d, _ in kernel.outputs]
        arrays = ins + outs
        ptrs = (ctypes.c_void_p * len(arrays))(*[a.ctypes.data for a in arrays])
        getattr(self.lib, f"host_{k}")(ptrs, ctypes.c_longlong(int(np.prod(shape))))
        return outs


def have_compiler() -> bool:
    return shutil.which("g++") is not None
