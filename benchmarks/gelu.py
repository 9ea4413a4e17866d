"""tanh-GELU on 4M float32: plain NumPy, NumPy with out= buffers, the fused kernel that
`fuse_elementwise` + `numpy_fused` build from a traced graphtorch function, PyTorch eager,
and torch.compile (skipped when compiling takes over 60 s). One process; best of N runs.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 benchmarks/gelu.py
"""

from __future__ import annotations

import math
import os
import sys
import threading
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import graphtorch as gt
from graphtorch.backends import numpy_fused
from graphtorch.ops.fused import is_fused
from graphtorch.passes.fusion import fuse_elementwise

N = 4 * 1024 * 1024
C = math.sqrt(2 / math.pi)


def best_ms(fn, repeat=15) -> float:
    fn()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best * 1e3


def numpy_pow(x):
    return 0.5 * x * (1 + np.tanh(C * (x + 0.044715 * x ** 3)))


def numpy_cube(x):
    return 0.5 * x * (1 + np.tanh(C * (x + 0.044715 * (x * x * x))))


def numpy_out(x, out, tmp):
    np.multiply(x, x, out=tmp)
    np.multiply(tmp, x, out=tmp)
    np.multiply(tmp, 0.044715, out=tmp)
    np.add(tmp, x, out=tmp)
    np.multiply(tmp, C, out=tmp)
    np.tanh(tmp, out=tmp)
    np.add(tmp, 1, out=tmp)
    np.multiply(x, 0.5, out=out)
    np.multiply(out, tmp, out=out)
    return out


def gelu(x):
    return 0.5 * x * (1 + gt.tanh(C * (x + 0.044715 * x ** 3)))


def fused_kernel(x):
    graph = gt.trace(gelu, gt.tensor(x)).graph
    fuse_elementwise(graph)
    (node,) = [n for n in graph.op_nodes if is_fused(n.op)]
    fn, _ = numpy_fused.compile_fused(node, "fused_gelu")
    return fn


def torch_compiled(torch, xt):
    result = {}

    def build():
        try:
            fn = torch.compile(lambda t: 0.5 * t * (1 + torch.tanh(C * (t + 0.044715 * t ** 3))))
            fn(xt)
            result["fn"] = fn
        except Exception as exc:  # noqa: BLE001 - report and skip
            result["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:80]}"

    worker = threading.Thread(target=build, daemon=True)
    start = time.perf_counter()
    worker.start()
    worker.join(60)
    if worker.is_alive():
        return None, "compiling took over 60 s"
    if "fn" not in result:
        return None, result["error"]
    return result["fn"], f"compiled in {time.perf_counter() - start:.1f} s"


def main() -> None:
    x = np.random.default_rng(0).standard_normal(N).astype(np.float32)
    out, tmp = np.empty_like(x), np.empty_like(x)
    fused = fused_kernel(x)
    rows = [("numpy x**3", lambda: numpy_pow(x)),
            ("numpy x*x*x", lambda: numpy_cube(x)),
            ("numpy out= buffers", lambda: numpy_out(x, out, tmp)),
            ("fused (threads)", lambda: fused(x, out=out))]
    threads = gt.get_num_threads()

    def fused_one_thread():
        gt.set_num_threads(1)
        try:
            fused(x, out=out)
        finally:
            gt.set_num_threads(threads)

    rows.append(("fused (1 thread)", fused_one_thread))
    notes = []
    try:
        import torch

        xt = torch.from_numpy(x)
        rows.append((f"torch {torch.__version__} eager ({torch.get_num_threads()} threads)",
                     lambda: 0.5 * xt * (1 + torch.tanh(C * (xt + 0.044715 * xt ** 3)))))
        compiled, note = torch_compiled(torch, xt)
        notes.append(f"torch.compile: {note}")
        if compiled is not None:
            rows.append(("torch.compile", lambda: compiled(xt)))
    except ImportError:
        notes.append("torch not installed")
    reference = numpy_cube(x)
    error = float(np.max(np.abs(fused(x) - reference)))
    times = [(name, best_ms(fn)) for name, fn in rows]
    base = times[0][1]
    cube = times[1][1]
    print(f"tanh-GELU, {N:,} float32, {os.cpu_count()} CPUs, best of 15")
    print(f"{'variant':40s} {'ms':>9s} {'vs x**3':>9s} {'vs x*x*x':>9s}")
    for name, ms in times:
        print(f"{name:40s} {ms:9.2f} {base / ms:8.2f}x {cube / ms:8.2f}x")
    for note in notes:
        print(note)
    print(f"fused vs numpy x*x*x: max abs difference {error:.2e}")


if __name__ == "__main__":
    main()
