"""Eager per-op overhead: small ops (8x8 add and mul) in graphtorch vs PyTorch, one process.

Run: python benchmarks/eager_overhead.py  (unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE first)
Prints microseconds per op for each library and the ratio graphtorch / PyTorch.
"""

from __future__ import annotations

import argparse
import timeit

import numpy as np


def _per_op_us(stmt, number: int, repeat: int) -> float:
    times = timeit.repeat(stmt, number=number, repeat=repeat)
    return min(times) / number * 1e6


def measure(lib, requires_grad: bool, op: str, number: int, repeat: int) -> float:
    data = np.random.default_rng(0).standard_normal((8, 8)).astype(np.float32)
    a = lib.tensor(data, requires_grad=requires_grad)
    b = lib.tensor(data * 2, requires_grad=requires_grad)
    fn = {"add": lambda: a + b, "mul": lambda: a * b,
          "add+mul+sum backward": None}[op]
    if fn is None:
        def fn():
            (a * b + a).sum().backward()
    return _per_op_us(fn, number, repeat)


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--number", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)

    import torch

    import graphtorch as gt

    torch.set_num_threads(1)
    rows = []
    print(f"{'case':34} {'graphtorch us':>14} {'torch us':>10} {'ratio':>7}")
    for op in ("add", "mul", "add+mul+sum backward"):
        for requires_grad in (False, True):
            if op.endswith("backward") and not requires_grad:
                continue
            number = args.number if not op.endswith("backward") else args.number // 10
            ours = measure(gt, requires_grad, op, number, args.repeat)
            theirs = measure(torch, requires_grad, op, number, args.repeat)
            label = f"8x8 {op}" + (" (requires_grad)" if requires_grad else "")
            rows.append({"case": label, "graphtorch_us": ours, "torch_us": theirs,
                         "ratio": ours / theirs})
            print(f"{label:34} {ours:14.2f} {theirs:10.2f} {ours / theirs:7.2f}")
    return rows


if __name__ == "__main__":
    main()
