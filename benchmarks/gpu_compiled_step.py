"""gt.compile end to end on the GPU: the MLP training step (784-512-512-10, batch 128, SGD
momentum) with CUDA tensors, against PyTorch eager CUDA, same GPU, one process.

    python3 benchmarks/gpu_compiled_step.py     # needs CuPy, a CUDA GPU, torch with CUDA
"""

from __future__ import annotations

import time

import numpy as np
from compiled_step import make_step, mlp  # benchmarks/ is on sys.path when run


def per_step_ms(step, x, y, sync, steps=200, warmup=20):
    for _ in range(warmup):
        step(x, y)
    sync()
    start = time.perf_counter()
    for _ in range(steps):
        step(x, y)
    sync()
    return (time.perf_counter() - start) / steps * 1e3


def main():
    import cupy
    import torch

    import graphtorch as gt

    rng = np.random.default_rng(0)
    x_np = rng.standard_normal((128, 784)).astype(np.float32)
    y_np = rng.integers(0, 10, 128)
    torch.manual_seed(0)
    t_model = mlp(torch).cuda()
    t_ms = per_step_ms(make_step(torch, t_model), torch.from_numpy(x_np).cuda(),
                       torch.from_numpy(y_np).cuda(), torch.cuda.synchronize)
    gt.manual_seed(0)
    g_model = mlp(gt).to("cuda")
    gx, gy = gt.from_numpy(x_np).cuda(), gt.from_numpy(y_np).cuda()
    eager_ms = per_step_ms(make_step(gt, g_model), gx, gy, cupy.cuda.Device().synchronize,
                           steps=50, warmup=5)
    gt.manual_seed(0)
    c_model = mlp(gt).to("cuda")
    step = gt.compile(make_step(gt, c_model))
    c_ms = per_step_ms(step, gx, gy, cupy.cuda.Device().synchronize)
    print(f"device: {cupy.cuda.runtime.getDeviceProperties(0)['name'].decode()}")
    print(f"PyTorch {torch.__version__} eager CUDA: {t_ms:.3f} ms/step")
    print(f"graphtorch eager CUDA:          {eager_ms:.3f} ms/step")
    print(f"graphtorch gt.compile CUDA:     {c_ms:.3f} ms/step  "
          f"({t_ms / c_ms:.2f}x PyTorch eager; {step.compile_count} compile)")
    program = step._latest().forward_program
    print("CUDA graph:", getattr(getattr(program, "replay", None), "status", "n/a"))
    import cProfile
    import pstats

    cProfile.runctx("for _ in range(50): step(gx, gy)", globals(), locals(), "/tmp/gpu.prof")
    cupy.cuda.Device().synchronize()
    pstats.Stats("/tmp/gpu.prof").sort_stats("tottime").print_stats(12)


if __name__ == "__main__":
    main()
