"""Pass-by-pass views: the text diff each optimisation pass made to a compiled graph.

The graph as traced (and differentiated) is run through the pipeline with a record of the
graph after every pass (`passes.pipeline.run_passes(record=...)`); consecutive texts are
diffed with difflib. Value ids survive passes that keep a node, so a diff shows exactly the
nodes a pass removed, added or rewrote.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from ..passes.pipeline import graph_text, run_passes
from .target import build, pipeline, reference_graphs, resolve


@dataclass
class PassDiff:
    """What one pass changed: `diff` is a unified diff of the graph text ("" if nothing)."""

    name: str
    diff: str
    before: str
    after: str

    @property
    def changed(self) -> bool:
        return bool(self.diff)

    def __str__(self):
        if not self.diff:
            return f"=== {self.name}: no change ==="
        return f"=== {self.name} ===\n{self.diff}"


def diff_record(start_text: str, record: list) -> list[PassDiff]:
    """PassDiffs from a starting graph text and ``[(pass name, text after it), ...]``."""
    out = []
    before = start_text
    for name, after in record:
        lines = difflib.unified_diff(before.splitlines(), after.splitlines(),
                                     f"before {name}", f"after {name}", lineterm="", n=1)
        out.append(PassDiff(name, "\n".join(lines), before, after))
        before = after
    return out


def pass_diffs(fn, *args, passes=None, phase: str = "forward") -> list[PassDiff]:
    """The diff each pass made to `fn`'s graph for `args` (`phase` "forward" or "backward").

    >>> for d in gt.debug.pass_diffs(step, x, y):
    ...     print(d)            # === cse === / -%7 = mul(%0, 2) ... / +...
    """
    if phase not in ("forward", "backward"):
        raise ValueError(f"pass_diffs: phase must be 'forward' or 'backward', not {phase!r}")
    target = resolve(fn, passes)
    exe, _ = build(target, args)
    forward, backward = reference_graphs(exe)
    graph = forward if phase == "forward" else backward
    if graph is None:
        raise ValueError("pass_diffs: this call has no backward graph (nothing requires grad)")
    record: list = []
    run_passes(graph, pipeline(target), record=record)
    return diff_record(graph_text(graph), record)
