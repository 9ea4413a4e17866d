"""Tracing time: seconds per `gt.trace` of (a) a chain of 1,000 cheap elementwise ops on a
small tensor and (b) the seed notes' LeNet (`examples/lenet.py`'s Net, 1x1x32x32 input).

Run: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 benchmarks/trace_time.py
Prints the best of --repeat traces for each case (issue target: < 0.5 s for 1,000 ops).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples"))


def chain(n: int):
    """A function of one tensor applying `n` cheap elementwise ops (add, mul, relu, neg)."""
    def fn(x):
        for i in range(n // 4):
            x = x + 1.0
            x = x * 0.5
            x = x.relu()
            x = -x
        for _ in range(n % 4):
            x = x + 1.0
        return x
    return fn


def best_of(fn, inputs, repeat: int) -> tuple[float, int]:
    import graphtorch as gt

    best, nodes = float("inf"), 0
    for _ in range(repeat):
        start = time.perf_counter()
        traced = gt.trace(fn, *inputs)
        best = min(best, time.perf_counter() - start)
        nodes = len(traced.graph.op_nodes)
    return best, nodes


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ops", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)

    from lenet import Net

    import graphtorch as gt

    gt.manual_seed(0)
    net = Net().eval()
    cases = [(f"{args.ops}-op elementwise chain, f32[8, 8]", chain(args.ops), (gt.randn(8, 8),)),
             ("LeNet (examples/lenet.py), f32[1, 1, 32, 32]", net, (gt.randn(1, 1, 32, 32),))]
    rows = []
    print(f"{'case':<48} {'op nodes':>8} {'s/trace':>9} {'us/node':>8}")
    for name, fn, inputs in cases:
        seconds, nodes = best_of(fn, inputs, args.repeat)
        rows.append({"case": name, "nodes": nodes, "seconds": seconds})
        print(f"{name:<48} {nodes:>8} {seconds:>9.4f} {seconds / nodes * 1e6:>8.1f}")
    return rows


if __name__ == "__main__":
    main()
