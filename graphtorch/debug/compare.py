"""`gt.debug.compare`: find the first node where compiled code departs from eager.

The eager twin is the graph as traced (and differentiated), before any pass: run op by op
through eager dispatch it computes what eager code computes. The optimised graph runs op by
op as well, fused groups opened member by member, and each value is compared with its twin
(same value id, or the same op on matched inputs for values a pass rebuilt, which maps fused
members back to their ops). The first value outside tolerance is reported with its op,
shape, errors and the user line that created it; backward nodes name the forward op they
differentiate. The generated code's outputs, and the original Python run eagerly, are also
compared with the twin's outputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import random
from ..compiler import disable
from ..ir.graph import Node, NodeKind
from ..ops.fused import is_fused
from ..tensor import Tensor
from .evaluate import Evaluated, evaluate, finite, match_values, where
from .target import GraphBreak, StateSnapshot, build, forward_inputs, reference_graphs, resolve

TOLERANCES = {"f": {2: (1e-2, 1e-3), 4: (1e-4, 1e-5), 8: (1e-7, 1e-9)}}


def tolerance(dtype, rtol=None, atol=None) -> tuple[float, float]:
    """(rtol, atol) for a NumPy dtype: the given ones, else a default by precision."""
    dtype = np.dtype(dtype)
    if dtype.kind in "fc":
        r, a = TOLERANCES["f"].get(dtype.itemsize if dtype.kind == "f" else dtype.itemsize // 2,
                                   (1e-4, 1e-5))
    else:
        r, a = 0.0, 0.0
    return (r if rtol is None else rtol, a if atol is None else atol)


def errors(expected, actual) -> tuple[float, float, bool]:
    """(max abs error, max relative error, NaN/Inf pattern differs) of two arrays."""
    e = np.asarray(expected)
    a = np.asarray(actual)
    if e.shape != a.shape:
        return float("inf"), float("inf"), True
    if e.dtype.kind not in "fciub" or e.size == 0:
        return 0.0, 0.0, False
    e64 = e.astype(np.complex128 if e.dtype.kind == "c" else np.float64)
    a64 = a.astype(e64.dtype)
    bad_e, bad_a = ~np.isfinite(e64), ~np.isfinite(a64)
    pattern = False
    if bad_e.any() or bad_a.any():
        same = (e64[bad_e] == a64[bad_e]) | (np.isnan(e64[bad_e]) & np.isnan(a64[bad_e]))
        pattern = bool((bad_e != bad_a).any() or not same.all())
    ok = ~(bad_e | bad_a)
    if not ok.any():
        return (float("inf") if pattern else 0.0), (float("inf") if pattern else 0.0), pattern
    diff = np.abs(e64[ok] - a64[ok])
    rel = diff / np.maximum(np.abs(e64[ok]), np.finfo(np.float64).tiny)
    max_abs, max_rel = float(diff.max()), float(rel.max())
    if pattern:
        max_abs = max_rel = float("inf")
    return max_abs, max_rel, pattern


def close(expected, actual, rtol=None, atol=None) -> tuple[bool, float, float]:
    """(within tolerance, max abs error, max relative error)."""
    e = np.asarray(expected)
    r, a = tolerance(e.dtype, rtol, atol)
    max_abs, max_rel, pattern = errors(expected, actual)
    if pattern or np.shape(expected) != np.shape(actual):
        return False, max_abs, max_rel
    if e.dtype.kind not in "fc":
        return bool(np.array_equal(e, np.asarray(actual))), max_abs, max_rel
    e64 = e.astype(np.float64 if e.dtype.kind == "f" else np.complex128)
    diff_ok = np.abs(e64 - np.asarray(actual).astype(e64.dtype)) <= a + r * np.abs(e64)
    diff_ok |= ~np.isfinite(e64)
    return bool(diff_ok.all()), max_abs, max_rel


@dataclass
class Divergence:
    """The first value of the compiled code outside tolerance of its eager twin."""

    phase: str                    # "forward", "backward", or "output" (generated code/eager)
    node: Node | None             # the op node in the optimised graph (a fused member)
    eager_node: Node | None       # its twin in the graph before passes
    shape: tuple
    max_abs: float
    max_rel: float
    fused: Node | None = None     # the fused node holding `node`
    note: str = ""

    @property
    def op(self) -> str:
        return self.node.op.name if self.node is not None else "?"

    @property
    def eager_op(self) -> str:
        return self.eager_node.op.name if self.eager_node is not None and \
            self.eager_node.kind is NodeKind.OP else self.op

    @property
    def grad_of(self) -> Node | None:
        """For a backward node: the forward node it differentiates."""
        for n in (self.node, self.eager_node):
            if n is not None and getattr(n, "grad_of", None) is not None:
                return n.grad_of
        return None

    @property
    def source(self) -> tuple | None:
        """(file, line, function) of the user code that created the node."""
        for n in (self.node, self.eager_node, self.grad_of):
            if n is not None and n.source:
                return n.source
        return None

    @property
    def where(self) -> str:
        """``file:line in function`` of `source`."""
        return where(self) if self.source else "<unknown line>"

    def __str__(self):
        op = self.op if self.eager_op == self.op else f"{self.op} (eager: {self.eager_op})"
        text = (f"first divergence ({self.phase}): {op} -> {list(self.shape)}, "
                f"max abs error {self.max_abs:.3g}, max rel error {self.max_rel:.3g}\n"
                f"  created at {self.where}")
        if self.grad_of is not None:
            text += f"\n  gradient of {self.grad_of.op.name} ({where(self.grad_of)})"
        if self.fused is not None:
            members = [n.op.name for n in self.fused.attrs["graph"].op_nodes]
            text += f"\n  inside a fused group of: {', '.join(members)}"
        if self.note:
            text += f"\n  {self.note}"
        return text


@dataclass
class Comparison:
    """What `compare` found (print it for the report)."""

    divergence: Divergence | None = None
    compared: int = 0             # values compared with their twin
    unmatched: int = 0            # values made by passes with no twin
    nonfinite: dict = field(default_factory=dict)  # phase -> first non-finite op line
    graph_break: str = ""

    @property
    def ok(self) -> bool:
        """Whether the compiled code matched eager everywhere it was compared."""
        return self.divergence is None

    def __str__(self):
        if self.graph_break:
            return f"graph break: the function runs eagerly, nothing to compare\n  " \
                   f"{self.graph_break}"
        lines = [str(self.divergence) if self.divergence else
                 f"compiled matches eager: {self.compared} values compared "
                 f"({self.unmatched} made by passes had no eager twin)"]
        for phase, text in self.nonfinite.items():
            lines.append(f"first non-finite value ({phase}): {text}")
        return "\n".join(lines)


def _first_nonfinite(order: list[Evaluated]) -> str | None:
    for rec in order:
        if not all(finite(a) for a in rec.arrays):
            grad_of = getattr(rec.node, "grad_of", None)
            text = f"{rec.node.op.name} at {where(rec.node)}"
            if grad_of is not None:
                text += f" (gradient of {grad_of.op.name})"
            return text
    return None


def _scan(phase, reference, optimised, ref_env, order, rtol, atol, result: Comparison):
    matches = match_values(reference, optimised, order)
    producer = {v.id: n for n in reference.nodes for v in n.outputs}
    unknown: set = set()
    fused_of = {id(rec.node): rec.fused for rec in order if rec.fused is not None}
    for pos, rec in enumerate(order):
        ids = matches.get(pos)
        if ids is None:
            result.unmatched += 1
            unknown.add(id(rec.node))
            continue
        for rid, arr in zip(ids, rec.arrays):
            if rid not in ref_env:
                continue
            result.compared += 1
            ok, max_abs, max_rel = close(ref_env[rid], arr, rtol, atol)
            if not ok:
                return Divergence(phase, rec.node, producer.get(rid), np.shape(arr), max_abs,
                                  max_rel, rec.fused, _upstream_note(rec.node, unknown,
                                                                     fused_of))
    return None


def _producers(node: Node, fused_of: dict) -> list[Node]:
    """The op nodes whose values `node` reads, seen through fused groups."""
    out = []
    fused = fused_of.get(id(node))
    for v in node.tensor_inputs():
        p = v.node
        if p.kind is NodeKind.INPUT and fused is not None:  # a fused group's input
            v = fused.inputs[fused.attrs["graph"].inputs.index(p)]
            p = v.node
        elif p.kind is not NodeKind.OP:
            continue
        if is_fused(p.op) and "graph" in p.attrs:
            sub = p.attrs["graph"]
            p = sub.outputs[list(p.outputs).index(v)].node if v in p.outputs else p
        if p.kind is NodeKind.OP:
            out.append(p)
    return out


def _upstream_note(node: Node, unknown: set, fused_of: dict) -> str:
    """Name the values without an eager twin (made by passes) that `node` depends on."""
    fresh, seen = [], set()
    stack = [p for p in _producers(node, fused_of) if id(p) in unknown]
    while stack:
        p = stack.pop()
        if id(p) in seen:
            continue
        seen.add(id(p))
        fresh.append(p)
        stack.extend(q for q in _producers(p, fused_of) if id(q) in unknown)
    if not fresh:
        return ""
    fresh.reverse()
    return "its inputs depend on values made by passes (no eager twin), the cause may be " \
        "there: " + ", ".join(f"{n.op.name} at {where(n)}" for n in fresh)


def _outputs_divergence(phase, expected, actual, note, rtol, atol, nodes) -> Divergence | None:
    for i, (e, a) in enumerate(zip(expected, actual)):
        ok, max_abs, max_rel = close(e, a, rtol, atol)
        if not ok:
            v = nodes[i] if i < len(nodes) else None
            node = v.node if v is not None and not v.is_const else None
            return Divergence(phase, node if node is not None and node.kind is NodeKind.OP
                              else None, None, np.shape(a), max_abs, max_rel,
                              note=f"{note} (output {i})")
    return None


def _cotangents(graph, count):
    cots = {}
    for n in graph.inputs[len(graph.inputs) - count:]:
        meta = n.outputs[0].meta
        cots[n.name] = np.ones(meta.shape, meta.dtype.np_dtype)
    return cots


def compare(fn, *args, rtol: float | None = None, atol: float | None = None,
            passes=None) -> Comparison:
    """Run `fn(*args)` compiled and eagerly; return a `Comparison` naming the first value
    (forward, then gradients) where they differ beyond tolerance, with its user line.

    `fn` is a function or Module, compiled or not; `passes` overrides its pass pipeline.
    Gradients use cotangent ones for each differentiable output. State the function
    changes (parameters, optimizer state, ``.grad``, the random generator) is restored.

    >>> report = gt.debug.compare(step, x, y)
    >>> print(report)          # first divergence (forward): add -> [4, 8] ... model.py:12
    """
    target = resolve(fn, passes)
    snapshot = StateSnapshot(target.fn)
    result = Comparison()
    try:
        try:
            exe, leaves = build(target, args)
        except GraphBreak as exc:
            result.graph_break = exc.reason
            return result
        ref_fwd, ref_bwd = reference_graphs(exe)
        inputs = forward_inputs(exe, leaves)
        rng = random.get_rng_state()
        ref_env, ref_order, ref_out = evaluate(ref_fwd, inputs)
        random.set_rng_state(rng)
        _, opt_order, _ = evaluate(exe.forward_graph, inputs)
        result.divergence = _scan("forward", ref_fwd, exe.forward_graph, ref_env, opt_order,
                                  rtol, atol, result)
        nonfinite = _first_nonfinite(ref_order)
        if nonfinite:
            result.nonfinite["forward"] = nonfinite
        cots = {}
        if ref_bwd is not None:
            n_res = exe.num_residuals
            res_names = [n.name for n in ref_bwd.inputs[:n_res]]
            cots = _cotangents(ref_bwd, len(ref_bwd.inputs) - n_res)
            bwd_inputs = dict(zip(res_names, ref_out[len(ref_out) - n_res:]), **cots)
            bref_env, bref_order, _ = evaluate(ref_bwd, bwd_inputs)
            _, bopt_order, _ = evaluate(exe.backward_graph, bwd_inputs)
            if result.divergence is None:
                result.divergence = _scan("backward", ref_bwd, exe.backward_graph, bref_env,
                                          bopt_order, rtol, atol, result)
            nonfinite = _first_nonfinite(bref_order)
            if nonfinite:
                result.nonfinite["backward"] = nonfinite
        if result.divergence is None:
            result.divergence = _check_programs(exe, leaves, ref_out, ref_fwd, ref_bwd, cots,
                                                rtol, atol, rng)
        if result.divergence is None:
            result.divergence = _check_eager(target, args, snapshot, exe, ref_out, rtol, atol)
    finally:
        snapshot.restore()
    return result


def _check_programs(exe, leaves, ref_out, ref_fwd, ref_bwd, cots, rtol, atol, rng):
    """The generated code (what compiled calls really run) against the twin's outputs."""
    random.set_rng_state(rng)
    outs = exe.forward_program(*exe._arrays(leaves))
    found = _outputs_divergence("output", ref_out, outs, "the generated forward code differs "
                                "from the graph it was generated from", rtol, atol,
                                list(exe.forward_graph.outputs))
    if found is not None or ref_bwd is None:
        return found
    n_res = exe.num_residuals
    residuals = list(ref_out[len(ref_out) - n_res:])
    ref_grads = evaluate(ref_bwd, dict(zip([n.name for n in ref_bwd.inputs[:n_res]],
                                           residuals), **cots))[2]
    grads = exe.backward_program(*residuals, *cots.values())
    return _outputs_divergence("output", ref_grads, grads, "the generated backward code "
                               "differs from the graph it was generated from", rtol, atol,
                               list(exe.backward_graph.outputs))


def _check_eager(target, args, snapshot, exe, ref_out, rtol, atol):
    """The original Python run eagerly against the traced graph (a capture problem)."""
    snapshot.restore()
    with disable():
        out = target.fn(*args)
    outs = (out,) if isinstance(out, Tensor) else tuple(out)
    arrays = [t.detach()._data for t in outs]
    return _outputs_divergence("output", ref_out[:len(arrays)], arrays, "the traced graph "
                               "differs from the original Python run eagerly", rtol, atol,
                               list(exe.capture.graph.outputs))
