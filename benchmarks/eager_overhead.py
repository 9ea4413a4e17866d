"""Eager per-op overhead: small ops in graphtorch vs PyTorch, one process.

Run: python benchmarks/eager_overhead.py  (unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE first)
Prints microseconds per op for each library and the ratio graphtorch / PyTorch:

- issue 13's W1 rows, on 8x8 float32 (`b` never requires grad):
  `a * b` without grad; `a * b` recorded for autograd (`a` requires grad); and an op with its
  backward: a chain of 50 `y = y * b` from `a`, then `y.sum().backward()`, per op;
- the older rows (add, mul, `(a*b + a).sum().backward()` with both inputs requiring grad);
- `x ** 3` on 1M float32 (milliseconds), which PyTorch strength-reduces to multiplies.

Times are the best of `--repeat` runs of CPU time (`time.process_time`), which a shared
machine disturbs less than wall time; `--wall` uses wall time.
"""

from __future__ import annotations

import argparse
import time
import timeit

import numpy as np

CHAIN = 50  # ops per backward in W1's "op + its backward" row


def _per_op_us(stmt, number: int, repeat: int, timer, ops: int = 1) -> float:
    times = timeit.repeat(stmt, number=number, repeat=repeat, timer=timer)
    return min(times) / number / ops * 1e6


def _data():
    return np.random.default_rng(0).standard_normal((8, 8)).astype(np.float32)


def w1_case(lib, case: str):
    """(fn, ops per call) for one of W1's rows."""
    data = _data()
    a = lib.tensor(data, requires_grad=case != "op")
    b = lib.tensor(data * 0.5)
    if case == "op":
        return (lambda: a * b), 1
    if case == "recorded":
        return (lambda: a * b), 1

    def chain():
        y = a
        for _ in range(CHAIN):
            y = y * b
        y.sum().backward()

    return chain, CHAIN


def legacy_case(lib, requires_grad: bool, op: str):
    data = _data()
    a = lib.tensor(data, requires_grad=requires_grad)
    b = lib.tensor(data * 2, requires_grad=requires_grad)
    if op == "add":
        return lambda: a + b
    if op == "mul":
        return lambda: a * b

    def fn():
        (a * b + a).sum().backward()

    return fn


def cube_ms(lib, repeat: int, timer) -> float:
    x = lib.tensor(np.random.default_rng(1).standard_normal(1 << 20).astype(np.float32))
    return _per_op_us(lambda: x ** 3, 20, repeat, timer) / 1e3


W1_ROWS = [("op", "W1 op, 8x8, no grad"), ("recorded", "W1 op recorded for autograd"),
           ("backward", f"W1 op + its backward ({CHAIN}-op chain)")]


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--number", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--wall", action="store_true", help="time wall clock, not CPU time")
    args = parser.parse_args(argv)
    timer = time.perf_counter if args.wall else time.process_time

    import torch

    import graphtorch as gt

    torch.set_num_threads(1)
    rows = []

    def report(label, ours, theirs, unit="us"):
        rows.append({"case": label, f"graphtorch_{unit}": ours, f"torch_{unit}": theirs,
                     "ratio": ours / theirs})
        print(f"{label:44} {ours:14.2f} {theirs:10.2f} {ours / theirs:7.2f}")

    print(f"{'case (us per op)':44} {'graphtorch':>14} {'torch':>10} {'ratio':>7}")
    for case, label in W1_ROWS:
        number = args.number if case != "backward" else max(args.number // CHAIN, 10)
        results = []
        for lib in (gt, torch):
            fn, ops = w1_case(lib, case)
            results.append(_per_op_us(fn, number, args.repeat, timer, ops))
        report(label, *results)
    for op in ("add", "mul", "add+mul+sum backward"):
        for requires_grad in (False, True):
            if op.endswith("backward") and not requires_grad:
                continue
            number = args.number if not op.endswith("backward") else args.number // 10
            ours, theirs = (_per_op_us(legacy_case(lib, requires_grad, op), number,
                                       args.repeat, timer) for lib in (gt, torch))
            report(f"8x8 {op}" + (" (requires_grad)" if requires_grad else ""), ours, theirs)
    print(f"{'case (ms)':44}")
    report("x ** 3, 1M float32", cube_ms(gt, args.repeat, timer),
           cube_ms(torch, args.repeat, timer), unit="ms")
    return rows


if __name__ == "__main__":
    main()
