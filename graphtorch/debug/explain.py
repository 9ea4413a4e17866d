"""`gt.explain`: one report on what `gt.compile` did with a function and why.

For each compiled variant: the captured graph's size, what it specialised on (its guards,
Python values baked in), op counts, fused groups with their member ops, and the tensors
saved for backward with their sizes and the lines that produced them. Then the graph breaks
with their lines and reasons, and the recompile ledger: the guard that failed, its old and
new value, the seconds the recompile cost, and a suggested fix.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from ..compiler import compile as gt_compile
from ..compiler.sources import GuardKind
from ..ir.graph import Graph, NodeKind
from ..ops.fused import is_fused
from ..symbolic import hint
from .evaluate import where
from .target import StateSnapshot, resolve


@dataclass
class Recompile:
    """One recompile: which guard failed, old and new values, its cost, a suggested fix."""

    guard: str
    old: object
    new: object
    seconds: float
    suggestion: str

    def __str__(self):
        return (f"guard failed: {self.guard}: was {self.old!r}, now {self.new!r} "
                f"({self.seconds:.3f} s)\n     fix: {self.suggestion}")


@dataclass
class Saved:
    """A tensor the forward saves for backward (a residual)."""

    producer: str        # op name, or "input x" / "param fc1.weight"
    shape: tuple
    dtype: str
    nbytes: int
    line: str


@dataclass
class VariantReport:
    """What one compiled variant captured and produced."""

    guards: list                                        # one line per guard, in words
    compile_seconds: float
    python_values: list = field(default_factory=list)   # Python values the graph depends on
    graph_break: str = ""
    captured_ops: int = 0
    forward_ops: int = 0
    backward_ops: int = 0
    op_counts: dict = field(default_factory=dict)
    fused_groups: list = field(default_factory=list)   # (members, shape, line)
    saved: list = field(default_factory=list)          # Saved

    @property
    def baked(self) -> list:
        """The Python values the graph depends on (arguments, values read while tracing,
        with their lines): a new value recompiles."""
        return self.python_values


@dataclass
class Explanation:
    """The report of `explain`; print it, or read its fields."""

    name: str
    variants: list = field(default_factory=list)
    graph_breaks: list = field(default_factory=list)
    recompiles: list = field(default_factory=list)
    compiles: int = 0
    eager_calls: int = 0

    def __str__(self):
        summary = (f"{self.name}: {self.compiles} compiled variant(s), "
                   f"{len(self.graph_breaks)} graph break(s), {len(self.recompiles)} "
                   f"recompile(s), {self.eager_calls} eager call(s)")
        lines = [summary]
        for i, v in enumerate(self.variants, 1):
            lines += _variant_lines(i, v)
        if self.graph_breaks:
            lines.append("graph breaks (these calls run eagerly):")
            lines += [f"  - {reason}" for reason in self.graph_breaks]
        if self.recompiles:
            lines.append("recompiles:")
            lines += [f"  {i}. {r}" for i, r in enumerate(self.recompiles, 1)]
        return "\n".join(lines)


def _variant_lines(i: int, v: VariantReport) -> list[str]:
    if v.graph_break:
        return [f"variant {i}: runs eagerly (graph break)", f"  {v.graph_break}"]
    lines = [f"variant {i}: compiled in {v.compile_seconds:.3f} s; captured {v.captured_ops} "
             f"ops -> forward {v.forward_ops} ops" +
             (f", backward {v.backward_ops} ops" if v.backward_ops else ""),
             "  specialised on (guards):"]
    lines += [f"    - {_short(g)}" for g in v.guards]
    if v.baked:
        lines.append("  Python values the graph depends on (a new value recompiles):")
        lines += [f"    - {g}" for g in v.baked]
    counts = ", ".join(f"{op} x{n}" for op, n in sorted(v.op_counts.items(),
                                                         key=lambda kv: (-kv[1], kv[0])))
    lines.append(f"  op counts (captured): {counts}")
    if v.fused_groups:
        lines.append(f"  fused groups ({len(v.fused_groups)}):")
        lines += [f"    - {' -> '.join(m)} : {s}   # {line}" for m, s, line in v.fused_groups]
    if v.saved:
        total = sum(s.nbytes for s in v.saved)
        lines.append(f"  saved for backward: {len(v.saved)} tensor(s), {_size(total)}")
        lines += [f"    - {s.dtype}{list(s.shape)} {_size(s.nbytes)} from {s.producer}   "
                  f"# {s.line}" for s in v.saved]
    return lines


def _short(text: str, limit: int = 150) -> str:
    return text if len(text) <= limit else text[:limit - 5] + " ...)"


def _size(nbytes: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if nbytes < 1024 or unit == "GiB":
            return f"{nbytes:.0f} {unit}" if unit == "B" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024
    return ""


def suggest_fix(guard: str, old, new) -> str:
    """A suggested change that avoids recompiling when `guard` changes from old to new."""
    if "(shape, dtype, device, requires_grad)" in guard and isinstance(old, tuple) and \
            isinstance(new, tuple):
        if guard.startswith("parameters"):
            return "a parameter changed shape, dtype or requires_grad; keep them fixed " \
                   "between calls"
        if old[0] != new[0]:
            dims = [d for d, (a, b) in enumerate(zip(old[0], new[0])) if a != b] \
                if len(old[0]) == len(new[0]) else []
            which = f"dimension {', '.join(map(str, dims))}" if dims else "the rank"
            return (f"{which} changed ({old[0]} -> {new[0]}): mark it dynamic "
                    "(gt.mark_dynamic - not available yet), or pad/bucket inputs to a few "
                    "fixed sizes (e.g. drop_last=True in the DataLoader)")
        if old[1] != new[1]:
            return f"the dtype changed ({old[1]} -> {new[1]}): cast inputs to one dtype"
        if old[3] != new[3]:
            return "requires_grad changed: call with inputs that consistently require grad " \
                   "(or not)"
        return "the device changed: keep inputs on one device"
    if "baked into the graph" in guard:
        return "a Python number is a constant in the graph: pass it as a tensor " \
               "(gt.tensor(value)) so it becomes a graph input"
    if guard.startswith(("global ", "closure variable ", "builtin ")) or "." in guard.split(
            " ")[0] or "[" in guard:
        return ("the function read this Python value while tracing: pass it as an argument "
                "(a tensor, if it changes often) instead of reading it from outside")
    if guard.startswith("module ") and "unchanged" in guard:
        return ("a module's attribute, submodule, parameter or hook changed (or train()/"
                "eval() switched): one variant per configuration is expected")
    if guard == "grad mode enabled":
        return "the function is called with and without gt.no_grad(): expected one variant " \
               "per mode, or compile two functions"
    if "training flags" in guard:
        return "train()/eval() switched: one variant per mode is expected"
    if "refers to the same object" in guard:
        return "the name was rebound to a new object: reuse the same module/optimizer"
    if "is the same object" in guard:
        return "a non-tensor argument is a new object each call: pass tensors or the same object"
    if guard == "number of arguments":
        return "call with the same number of arguments"
    if "hyper-parameters" in guard:
        return "optimizer hyper-parameters other than lr are baked in: keep them fixed"
    if ".grad" in guard:
        return "expected once: the first backward creates .grad"
    return "keep this value fixed between calls"


def _op_counts(graph: Graph) -> dict:
    return dict(Counter(n.op.name for n in graph.op_nodes))


def _fused_groups(graph: Graph | None) -> list:
    out = []
    for n in (graph.op_nodes if graph is not None else ()):
        if is_fused(n.op) and "graph" in n.attrs:
            members = [m.op.name for m in n.attrs["graph"].op_nodes]
            shape = ", ".join(f"{v.meta.dtype.name}{list(v.meta.shape)}" for v in n.outputs)
            out.append((members, shape, where(n)))
    return out


def _saved(exe) -> list:
    if not exe.differentiable:
        return []
    split = exe.split
    values = list(split.forward.outputs)[split.num_outputs:]
    out = []
    for v, node in zip(values, split.residual_sources):
        meta = v.meta
        # symbolic sizes count at the sizes seen when tracing
        nbytes = int(np.prod([hint(s) for s in meta.shape], dtype=np.int64)) * \
            meta.dtype.np_dtype.itemsize
        producer = node.op.name if node.kind is NodeKind.OP else \
            f"{node.kind.value} {node.name}"
        grad_of = getattr(node, "grad_of", None)
        if grad_of is not None:
            producer += f" (in the backward of {grad_of.op.name})"
        out.append(Saved(producer, tuple(meta.shape), meta.dtype.name, nbytes, where(node)))
    return out


def _python_values(guards) -> list:
    out = []
    for g in guards.guards:
        if g.kind is GuardKind.EQUAL and ("baked into the graph" in g.description or g.where):
            out.append(f"{g.description} = {g.expected!r}"
                       + (f"   # read at {g.where}" if g.where else ""))
    return out


def variant_report(variant) -> VariantReport:
    """The report of one `CompiledFunction` variant."""
    report = VariantReport(variant.guards.describe(), variant.compile_seconds,
                           _python_values(variant.guards))
    exe = variant.executable
    if exe is None:
        report.graph_break = variant.reason
        return report
    captured = exe.capture.graph
    report.captured_ops = len(captured.op_nodes)
    report.forward_ops = len(exe.forward_graph.op_nodes)
    report.backward_ops = len(exe.backward_graph.op_nodes) if exe.backward_graph else 0
    report.op_counts = _op_counts(captured)
    report.fused_groups = _fused_groups(exe.forward_graph) + _fused_groups(exe.backward_graph)
    report.saved = _saved(exe)
    return report


def explain(fn, *args) -> Explanation:
    """Explain what `gt.compile` does with `fn`: call it on `args` (compiled; state it
    changes is restored) and report every variant, graph break and recompile so far.

    `fn` is a compiled function or module (its history is included) or a plain one
    (compiled here). Without `args` the compiled function's history is reported as is.

    >>> step = gt.compile(train_step)
    >>> step(x8, y8); step(x5, y5)            # a new batch size recompiles
    >>> print(gt.explain(step))               # ... guard failed: x: ... fix: mark it dynamic
    """
    target = resolve(fn)
    compiled = target.compiled
    if compiled is None:
        compiled = gt_compile(fn)
        compiled = getattr(compiled, "_compiled", compiled)  # an OptimizedModule's
    if args:
        snapshot = StateSnapshot(target.fn)
        try:
            compiled(*args)
        finally:
            snapshot.restore()
    stats = compiled.stats
    result = Explanation(compiled._name(), compiles=stats.compiles,
                         eager_calls=stats.eager_calls)
    result.variants = [variant_report(v) for v in compiled.variants]
    result.graph_breaks = list(stats.graph_breaks)
    result.recompiles = [Recompile(e.guard, e.old, e.new, e.seconds,
                                   suggest_fix(e.guard, e.old, e.new))
                         for e in stats.recompiles]
    return result
