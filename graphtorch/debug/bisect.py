"""Which pass breaks it: run the pipeline's prefixes and compare each with eager.

For k = 0, 1, ..., n the graph as traced (and differentiated) is optimised by the first k
passes, run op by op and as generated code, and compared with its eager twin (values,
gradients). The first k that diverges names the pass; a pass that raises is named too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import random
from ..compiler.executable import make_program
from ..passes.pipeline import run_passes
from .compare import Comparison, Divergence, _cotangents, _outputs_divergence, _scan
from .evaluate import evaluate
from .target import (
    GraphBreak,
    StateSnapshot,
    Target,
    build,
    forward_inputs,
    pipeline,
    reference_graphs,
    resolve,
)


@dataclass
class BisectStep:
    """The result of running the first `index` passes (`passes` lists them)."""

    index: int
    passes: tuple
    divergence: Divergence | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.divergence is None and not self.error


@dataclass
class BisectResult:
    """`culprit`: the first pass after which compiled differs from eager (None: none)."""

    culprit: str | None
    steps: list = field(default_factory=list)
    graph_break: str = ""

    @property
    def divergence(self) -> Divergence | None:
        """What went wrong after the culprit ran."""
        for s in self.steps:
            if not s.ok:
                return s.divergence
        return None

    def __str__(self):
        if self.graph_break:
            return f"graph break, nothing compiled: {self.graph_break}"
        lines = []
        for s in self.steps:
            last = s.passes[-1] if s.passes else "(no passes)"
            status = "ok" if s.ok else f"DIVERGES: {s.error or s.divergence.where}"
            lines.append(f"{s.index:2d} {last:<20} {status}")
        lines.append(f"culprit: {self.culprit}" if self.culprit else
                     "no pass makes the result diverge")
        if self.divergence is not None:
            lines.append(str(self.divergence))
        return "\n".join(lines)


def _check(exe, graphs, refs, inputs, cots, backend, rtol, atol) -> Divergence | None:
    ref_fwd, ref_bwd = refs
    fwd, bwd = graphs
    rng = random.get_rng_state()
    ref_env, _, ref_out = evaluate(ref_fwd, inputs)
    random.set_rng_state(rng)
    _, order, _ = evaluate(fwd, inputs)
    found = _scan("forward", ref_fwd, fwd, ref_env, order, rtol, atol, Comparison())
    bwd_inputs = None
    if found is None and ref_bwd is not None:
        n_res = exe.num_residuals
        names = [n.name for n in ref_bwd.inputs[:n_res]]
        bwd_inputs = dict(zip(names, ref_out[len(ref_out) - n_res:]), **cots)
        bref_env, _, _ = evaluate(ref_bwd, bwd_inputs)
        _, border, _ = evaluate(bwd, bwd_inputs)
        found = _scan("backward", ref_bwd, bwd, bref_env, border, rtol, atol, Comparison())
    if found is None:
        random.set_rng_state(rng)
        outs = make_program(fwd, backend, "forward")(*[inputs[n.name] for n in fwd.nodes
                                                        if n.kind.value in ("input", "param")])
        found = _outputs_divergence("output", ref_out, outs, "the generated forward code "
                                    "differs", rtol, atol, list(fwd.outputs))
    if found is None and bwd_inputs is not None:
        ref_grads = evaluate(ref_bwd, bwd_inputs)[2]
        grads = make_program(bwd, backend, "backward")(*[bwd_inputs[n.name]
                                                         for n in bwd.inputs])
        found = _outputs_divergence("output", ref_grads, grads, "the generated backward code "
                                    "differs", rtol, atol, list(bwd.outputs))
    return found


def bisect_passes(fn, *args, passes=None, rtol=None, atol=None) -> BisectResult:
    """Compile `fn(*args)` with ever longer prefixes of its pass pipeline and name the first
    pass after which the result (values or gradients) diverges from eager.

    >>> print(gt.debug.bisect_passes(step, x, y))   # ... culprit: fuse
    """
    target = resolve(fn, passes)
    order = pipeline(target)
    snapshot = StateSnapshot(target.fn)
    try:
        try:
            exe, leaves = build(Target(target.fn, None, target.backend, ()), args)
        except GraphBreak as exc:
            return BisectResult(None, graph_break=exc.reason)
        refs = reference_graphs(exe)
        inputs = forward_inputs(exe, leaves)
        cots = {}
        if refs[1] is not None:
            cots = _cotangents(refs[1], len(refs[1].inputs) - exe.num_residuals)
        result = BisectResult(None)
        for k in range(len(order) + 1):
            step = BisectStep(k, order[:k])
            try:
                graphs = tuple(run_passes(g, order[:k]) if g is not None else None
                               for g in refs)
                step.divergence = _check(exe, graphs, refs, inputs, cots, target.backend,
                                         rtol, atol)
            except Exception as exc:  # noqa: BLE001 - a pass that crashes is a culprit too
                step.error = f"{type(exc).__name__}: {exc}"
            result.steps.append(step)
            if not step.ok:
                result.culprit = order[k - 1] if k else "(tracing: no passes ran)"
                break
        return result
    finally:
        snapshot.restore()
