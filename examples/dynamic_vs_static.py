"""Dynamic vs static graphs, as the seed notes contrast them, side by side in graphtorch.

1. A data-dependent `while` loop: plain Python in eager mode; `gt.while_loop` when compiled
   (one graph node holding the condition and body subgraphs, whatever the trip count).
2. An LSTM over sequences of different lengths: eager runs any length; traced, the Python
   time loop either unrolls (graph size grows with the length) or becomes one `gt.scan` node
   (nn.LSTM's trace: the graph size stays the same). The table shows graph size and compile
   time against sequence length for both.

3. The compiled LSTM over batches of different sizes and lengths: static shapes compile one
   variant per shape; `dynamic=True` compiles one graph whose sizes are symbols (s0, s1).

Run: python3 examples/dynamic_vs_static.py
"""

from __future__ import annotations

import time

import numpy as np

import graphtorch as gt
from graphtorch import nn


def grow_eager(x):
    """The seed notes' example of a dynamic graph: a Python while loop on a value."""
    while x.norm() < 1000:
        x = x * 2
    return x


def grow_static(x):
    """The same loop as a structured op: traced into one while_loop node."""
    return gt.while_loop(lambda x: x.norm() < 1000, lambda x: x * 2, x)


class UnrolledLSTM(nn.Module):
    """An LSTM written with a Python loop over time: tracing unrolls it."""

    def __init__(self, n_in, hidden):
        super().__init__()
        self.cell = nn.LSTMCell(n_in, hidden)
        self.fc = nn.Linear(hidden, 3)

    def forward(self, x):  # x: (batch, time, features)
        h = c = gt.zeros(x.shape[0], self.cell.hidden_size)
        for t in range(x.shape[1]):
            h, c = self.cell(x[:, t], (h, c))
        return self.fc(h)


class ScanLSTM(nn.Module):
    """nn.LSTM: traced, its time loop is one gt.scan node."""

    def __init__(self, n_in, hidden):
        super().__init__()
        self.lstm = nn.LSTM(n_in, hidden, batch_first=True)
        self.fc = nn.Linear(hidden, 3)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.fc(out[:, -1])


def section(title):
    print(f"\n=== {title} ===")


def main():
    gt.manual_seed(0)
    section("1. a data-dependent while loop")
    compiled_grow = gt.compile(grow_static)
    for start in (gt.ones(3), gt.full((3,), 0.01), gt.full((3,), 300.0)):
        eager, compiled = grow_eager(start), compiled_grow(start)
        print(f"start {start[0].item():>7.2f}: eager {eager[0].item():.2f}  compiled "
              f"{compiled[0].item():.2f} (each of 3 elements)")
    print(f"compiled {compiled_grow.compile_count} time(s) for three different trip counts; "
          f"the graph:")
    print(compiled_grow.graph)
    try:
        gt.compile(grow_eager, fullgraph=True)(gt.ones(3))
    except gt.TracingError as exc:
        print(f"\nthe Python while loop cannot be captured (fullgraph=True):\n  {exc}")

    section("2. an LSTM over sequences of different lengths")
    unrolled, scanned = UnrolledLSTM(8, 16), ScanLSTM(8, 16)
    c_unrolled = gt.compile(unrolled, dynamic=False)  # the loop unrolls: one graph per length
    c_scan = gt.compile(scanned, dynamic=True)        # one scan node, symbolic length
    print(f"{'length':>6} | {'unrolled: nodes':>15} {'compiles':>8} {'compile s':>9} | "
          f"{'scan: nodes':>11} {'compiles':>8} {'compile s':>9}")
    for length in (5, 17, 50, 100):
        x = gt.randn(4, length, 8)
        row = [f"{length:>6}"]
        for compiled in (c_unrolled, c_scan):
            before = compiled._compiled.compile_count
            start = time.perf_counter()
            compiled(x)
            seconds = time.perf_counter() - start
            inner = compiled._compiled
            new = inner.compile_count > before
            nodes = len(inner.variants[-1].executable.capture.graph.op_nodes)
            row.append(f"| {nodes:>15} {inner.compile_count:>8} "
                       f"{seconds if new else 0.0:>9.3f}")
        print(" ".join(row))
    print("\nthe scan version's graph (its body printed nested):")
    print(gt.trace(scanned, gt.randn(4, 5, 8)).graph)

    section("3. eager takes any batch size and length; compiled: static vs dynamic sizes")
    static = gt.compile(scanned, dynamic=False)
    dynamic = gt.compile(scanned, dynamic=True)
    print(f"{'batch':>5} {'length':>6} {'max |static - eager|':>21} "
          f"{'max |dynamic - eager|':>22}")
    for batch, length in ((3, 5), (8, 17), (3, 50), (8, 5)):
        x = gt.randn(batch, length, 8)
        eager = scanned(x).detach().numpy()
        d_static = np.abs(static(x).detach().numpy() - eager).max()
        d_dynamic = np.abs(dynamic(x).detach().numpy() - eager).max()
        print(f"{batch:>5} {length:>6} {d_static:>21.1e} {d_dynamic:>22.1e}")
    print(f"compiles: static {static._compiled.compile_count}, "
          f"dynamic {dynamic._compiled.compile_count}")
    print("the dynamic graph's input and first nodes (sizes are symbols):")
    print("\n".join(str(dynamic._compiled.graph).splitlines()[:3]))


if __name__ == "__main__":
    main()
