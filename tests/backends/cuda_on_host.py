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

SHIM = r"""
#include <cmath>
#include <cstring>
#include <math.h>
#define __device__
#define __forceinline__ inline
using std::isnan; using std::isinf; using std::isfinite; using std::signbit;

static inline float __int_as_float(int x) { float f; std::memcpy(&f, &x, 4); return f; }
static inline double __longlong_as_double(long long x) {
    double d; std::memcpy(&d, &x, 8); return d;
}
// CUDA's erfinv/erfinvf are device-only: Newton steps on erf stand in on the host.
static inline double erfinv(double y) {
    if (y != y || y < -1.0 || y > 1.0) return NAN;
    if (y == 1.0) return INFINITY;
    if (y == -1.0) return -INFINITY;
    double w = -std::log((1.0 - y) * (1.0 + y)), x;
    if (w < 5.0) { w -= 2.5; x = 2.81022636e-08; x = 3.43273939e-07 + x * w;
        x = -3.5233877e-06 + x * w; x = -4.39150654e-06 + x * w; x = 0.00021858087 + x * w;
        x = -0.00125372503 + x * w; x = -0.00417768164 + x * w; x = 0.246640727 + x * w;
        x = 1.50140941 + x * w; }
    else { w = std::sqrt(w) - 3.0; x = -0.000200214257; x = 0.000100950558 + x * w;
        x = 0.00134934322 + x * w; x = -0.00367342844 + x * w; x = 0.00573950773 + x * w;
        x = -0.0076224613 + x * w; x = 0.00943887047 + x * w; x = 1.00167406 + x * w;
        x = 2.83297682 + x * w; }
    x *= y;
    for (int k = 0; k < 4; ++k)
        x -= (std::erf(x) - y) / (1.1283791670955126 * std::exp(-x * x));
    return x;
}
static inline float erfinvf(float y) { return (float)erfinv((double)y); }
"""


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
