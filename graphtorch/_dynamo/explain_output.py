"""`torch._dynamo.explain(fn)(*args)`: `gt.explain`'s report in PyTorch's `ExplainOutput`
shape (graph and break counts, reasons with their lines, ops per graph, guards)."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from ..compiler import compile as gt_compile
from ..debug.explain import explain as gt_explain


@dataclass
class BreakReason:
    """Why one call ran eagerly; `user_stack` holds the user's ``file:line in fn``."""

    reason: str
    user_stack: list = field(default_factory=list)


@dataclass
class ExplainOutput:
    """What `explain` found, field for field as PyTorch's. `explanation` is graphtorch's
    own, fuller report (`gt.explain`)."""

    graphs: list
    graph_count: int
    graph_break_count: int
    break_reasons: list
    op_count: int
    ops_per_graph: list
    out_guards: list
    compile_times: str
    explanation: object = None

    def __str__(self):
        lines = [f"Graph Count: {self.graph_count}",
                 f"Graph Break Count: {self.graph_break_count}",
                 f"Op Count: {self.op_count}", "Break Reasons:"]
        for i, br in enumerate(self.break_reasons, 1):
            lines += [f"  Break Reason {i}:", f"    Reason: {br.reason}", "    User Stack:"]
            lines += [f"      {frame}" for frame in br.user_stack]
        lines.append("Ops per Graph:")
        for i, ops in enumerate(self.ops_per_graph, 1):
            lines.append(f"  Ops {i}:")
            lines += [f"    {op}" for op in ops]
        lines.append("Out Guards:")
        lines += [f"  Guard {i}: {g}" for i, g in enumerate(self.out_guards, 1)]
        lines.append(f"Compile Times: {self.compile_times}")
        return "\n".join(lines)


def explain(fn, *extra_args, **extra_kwargs):
    """``explain(fn)(*args)``: compile `fn` afresh, call it on `args` (state it changes is
    restored) and return an `ExplainOutput`."""
    if extra_args or extra_kwargs:  # PyTorch's deprecated explain(fn, *args)
        return explain(fn)(*extra_args, **extra_kwargs)

    def inner(*args, **kwargs):
        fn_ = functools.partial(fn, **kwargs) if kwargs else fn
        compiled = gt_compile(fn_)
        report = gt_explain(compiled, *args)
        inner_fn = getattr(compiled, "_compiled", compiled)
        return _output(report, inner_fn)
    return inner


def _output(report, compiled) -> ExplainOutput:
    graphs, ops_per_graph, guards, times = [], [], [], []
    for variant in compiled.variants:
        guards += variant.guards.describe()
        if variant.executable is None:
            continue
        graph = variant.executable.capture.graph
        graphs.append(graph)
        ops_per_graph.append([node.op.name for node in graph.op_nodes])
        times.append(variant.compile_seconds)
    reasons = [BreakReason(r, [r.split(": ", 1)[0]] if ": " in r else []) for r in
               report.graph_breaks]
    return ExplainOutput(graphs, len(graphs), len(reasons), reasons,
                         sum(len(ops) for ops in ops_per_graph), ops_per_graph, guards,
                         "compile: " + ", ".join(f"{t:.4f} s" for t in times), report)
