"""tanh-GELU on 64M float32 on the GPU: the compiled graph (one generated CUDA kernel, the
CuPy backend) against PyTorch eager on the same GPU in one process, and against the device's
measured copy bandwidth (a device-to-device copy: bytes read + written over time).

    python3 benchmarks/gpu_gelu.py            # needs CuPy, a CUDA GPU, and torch with CUDA

The bar (issue 6): the compiled kernel reaches at least 70% of the copy bandwidth.
"""

from __future__ import annotations

import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import graphtorch as gt
from graphtorch.backends.cupy_backend import BLOCK, CupyProgram, FusedLauncher, cupy_module
from graphtorch.passes.pipeline import run_passes

N = 64 * 1024 * 1024
C = math.sqrt(2 / math.pi)


def gelu(x):
    return 0.5 * x * (1 + gt.tanh(C * (x + 0.044715 * x ** 3)))


def gpu_ms(cp, fn, repeat=20) -> float:
    """Median milliseconds of `fn()` between CUDA events (after two warm-up runs)."""
    fn()
    fn()
    times = []
    for _ in range(repeat):
        start, stop = cp.cuda.Event(), cp.cuda.Event()
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(cp.cuda.get_elapsed_time(start, stop))
    return float(np.median(times))


def main():
    cp = cupy_module()
    name = cp.cuda.runtime.getDeviceProperties(cp.cuda.Device().id)["name"]
    name = name.decode() if isinstance(name, bytes) else name
    graph = run_passes(gt.trace(gelu, gt.zeros(N)).graph)
    program = CupyProgram(graph)
    (kernel,) = program.kernels.values()
    x = cp.random.standard_normal(N, dtype=cp.float32)
    out = cp.empty_like(x)
    nbytes = 2 * x.nbytes  # read x, write the result

    copy_kernel_ms = gpu_ms(cp, lambda: cp.copyto(out, x))
    memcpy_ms = gpu_ms(cp, lambda: out.data.copy_from_device(x.data, x.nbytes))
    copy_ms = min(copy_kernel_ms, memcpy_ms)
    compiled_ms = gpu_ms(cp, lambda: program(x))
    launcher = next(v for v in program.fn.__globals__.values() if isinstance(v, FusedLauncher))
    default_grid = launcher._grid
    sms = cp.cuda.Device().attributes["MultiProcessorCount"]
    grids = {}
    for blocks in (sms * 4, sms * 8, sms * 16, sms * 64, -(-N // BLOCK)):
        launcher._grid = (blocks,)
        grids[blocks] = gpu_ms(cp, lambda: program(x))
    launcher._grid = default_grid

    import torch

    xt = torch.from_dlpack(x)
    torch_fused_ms = gpu_ms(cp, lambda: torch.nn.functional.gelu(xt, approximate="tanh"))
    torch_eager_ms = gpu_ms(cp, lambda: 0.5 * xt * (1 + torch.tanh(C * (xt + 0.044715 * xt ** 3))))
    ref = torch.nn.functional.gelu(xt, approximate="tanh")
    (got,) = program(x)
    err = float((torch.from_dlpack(got) - ref).abs().max())

    def gbs(ms):
        return nbytes / (ms * 1e-3) / 1e9

    print(f"tanh-GELU, {N // 2**20}M float32, {name}; median of 20 (CUDA events)")
    print(f"  device copy bandwidth      : {gbs(copy_ms):7.0f} GB/s  (cupy.copyto "
          f"{gbs(copy_kernel_ms):.0f}, cudaMemcpy D2D {gbs(memcpy_ms):.0f})")
    print(f"  compiled (1 CUDA kernel)   : {compiled_ms:7.3f} ms  {gbs(compiled_ms):7.0f} GB/s  "
          f"= {copy_ms / compiled_ms:.0%} of copy bandwidth   [{kernel.name}]")
    print(f"  PyTorch F.gelu(tanh)       : {torch_fused_ms:7.3f} ms  "
          f"{gbs(torch_fused_ms):7.0f} GB/s  "
          f"(compiled is {torch_fused_ms / compiled_ms:.2f}x its speed)")
    print(f"  PyTorch eager formula      : {torch_eager_ms:7.3f} ms  "
          f"(compiled is {torch_eager_ms / compiled_ms:.2f}x faster)")
    print(f"  max |compiled - F.gelu|    : {err:.2e}")
    print(f"  grid sweep (blocks of {BLOCK}; default {default_grid[0]}): " + ", ".join(
        f"{b}: {copy_ms / ms:.0%}" for b, ms in grids.items()))
    print(f"  torch {torch.__version__}, cupy {cp.__version__}")


if __name__ == "__main__":
    main()
