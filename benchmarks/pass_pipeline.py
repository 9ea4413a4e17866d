"""How the pass pipeline scales with graph size: seconds per pass for 600 to 2,400 nodes.

Run: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/pass_pipeline.py
The graphs are traced from a block of mixed ops (elementwise chains that simplify and fuse,
matmuls, views, reductions, repeated subexpressions) repeated until the graph has the wanted
size; each pass of the default pipeline is timed on its own copy (best of `--repeat`), and
so is the whole pipeline. Linear passes keep us/node flat as the graph grows.
"""

from __future__ import annotations

import argparse
import time

import graphtorch as gt
from graphtorch.ir.rewrite import copy_graph
from graphtorch.passes.pipeline import DEFAULT_PIPELINE, PASSES, run_passes


def _block(x, w):
    y = (x * 1 + 0).neg().neg()                   # identities simplify removes
    z = (y @ w).relu() * 2 + (y @ w).relu()         # a repeated subexpression (CSE)
    v = z.permute(1, 0).transpose(0, 1).reshape(-1).view(8, 8)  # chains that fold
    t = (v @ w).t() + v ** 2                        # rewrites that insert nodes
    return (t.exp() * 0.5 + t.sin()).tanh() + t.sum(dim=1, keepdim=True) / 8


def traced_graph(nodes: int):
    x, w = gt.randn(8, 8), gt.randn(8, 8)
    per_block = len(gt.trace(_block, x, w, optimize=False).graph.op_nodes)
    blocks = max(1, nodes // per_block)

    def program(x, w):
        for _ in range(blocks):
            x = _block(x, w)
        return x

    return gt.trace(program, x, w, optimize=False).graph


def _best(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="*", default=[600, 1200, 2400])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    rows = []
    for size in args.sizes:
        graph = traced_graph(size)
        n = len(graph.op_nodes)
        row = {"nodes": n}
        current = copy_graph(graph)
        for name in DEFAULT_PIPELINE:  # each pass on the graph the previous ones left
            seconds = _best(lambda: PASSES[name](copy_graph(current)), args.repeat)
            row[name] = seconds
            current = PASSES[name](copy_graph(current))
        row["pipeline"] = _best(lambda: run_passes(graph), args.repeat)
        rows.append(row)
        parts = "  ".join(f"{k} {v * 1e3:7.1f}" for k, v in row.items() if k != "nodes")
        print(f"{n:5d} op nodes (ms): {parts}   ({row['pipeline'] / n * 1e6:.0f} us/node)")
    return rows


if __name__ == "__main__":
    main()
