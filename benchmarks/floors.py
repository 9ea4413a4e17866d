"""What this host can do at best on issue 13's workloads: the floor under any implementation.

- W2 (GELU on 4M float32, forward or forward+backward): one pass that reads 16 MB and writes
  16 MB, a copy into a fresh output split over two threads (NumPy's copy loop releases the
  GIL). No kernel that reads x and writes a result of x's size can beat it.
- W3 (MLP 784-512-512-10, batch 128): the step's eight matrix products alone (three forward,
  three weight gradients, two input gradients; ~410 MFLOP) through `graphtorch.blas`, i.e.
  MKL where installed, with nothing between them.

No floor is given for W5: its 100 small recurrent products, called one by one from Python,
take as long as the whole compiled step (whose kernel calls the BLAS from its own loop), so
they bound nothing.

Each floor is a median over `runs` calls, measured in the same process as the workloads.

    python3 benchmarks/floors.py     (env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE)
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise

import numpy as np
from timing import median_time


def _median_ms(fn, runs: int) -> float:
    return median_time(fn, runs, warmup=5) * 1e3


def copy_floor_ms(runs: int, n: int = 4 << 20, threads: int = 2) -> float:
    """A copy of n float32 into a fresh array, split over `threads` threads."""
    x = np.random.default_rng(0).standard_normal(n).astype(np.float32)
    bounds = np.linspace(0, n, threads + 1).astype(int)
    with ThreadPoolExecutor(threads) as pool:
        def copy():
            out = np.empty_like(x)
            parts = [pool.submit(np.copyto, out[a:b], x[a:b])
                     for a, b in pairwise(bounds)]
            for part in parts:
                part.result()
            return out
        return _median_ms(copy, runs)


def _products_ms(pairs, runs: int) -> float:
    from graphtorch import blas  # the matrix products graphtorch itself runs
    blas.load()

    def products():
        for a, b, count in pairs:
            for _ in range(count):
                blas.matmul(a, b)
    return _median_ms(products, runs)


def mlp_gemm_floor_ms(runs: int, batch: int = 128) -> float:
    """The eight products of one MLP 784-512-512-10 training step."""
    rng = np.random.default_rng(0)

    def f(*shape):
        return rng.standard_normal(shape).astype(np.float32)
    x, w1, w2, w3 = f(batch, 784), f(512, 784), f(512, 512), f(10, 512)
    h1, h2, g1, g2, g3 = f(batch, 512), f(batch, 512), f(batch, 512), f(batch, 512), f(batch, 10)
    pairs = [(x, w1.T, 1), (h1, w2.T, 1), (h2, w3.T, 1),          # forward
             (g3.T, h2, 1), (g2.T, h1, 1), (g1.T, x, 1),          # weight gradients
             (g3, w3, 1), (g2, w2, 1)]                            # input gradients
    return _products_ms(pairs, runs)


def floors(runs: int) -> dict:
    """Floor per workload row of `workloads.py` (ms)."""
    copy = copy_floor_ms(runs)
    return {"W2 tanh-GELU forward, 4M f32 (ms)": copy,
            "W2 GELU forward+backward (ms)": copy,
            "W3 MLP 784-512-512-10 b128 SGD-momentum step (ms)": mlp_gemm_floor_ms(runs)}


if __name__ == "__main__":
    for row, ms in floors(100).items():
        print(f"{row}: {ms:.3g} ms")
