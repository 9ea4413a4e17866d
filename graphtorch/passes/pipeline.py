"""The pass pipeline: named graph -> graph functions run in one explicit order.

`run_passes` copies the graph, then runs each pass of `DEFAULT_PIPELINE` (or the names
given) in order. Debugging switches, as arguments or environment variables:
``GRAPHTORCH_DISABLE_PASSES=cse,fuse`` skips passes, ``GRAPHTORCH_DUMP_AFTER=fuse`` (or
``all``) prints the graph after them to stderr, ``GRAPHTORCH_VERIFY_PASSES=1`` runs
`Graph.verify` after every pass (always on under pytest).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable

from ..ir.graph import Graph, GraphError
from ..ir.rewrite import copy_graph
from .constant_folding import fold_constants
from .cse import eliminate_common_subexpressions
from .dce import eliminate_dead_code
from .fusion import fuse_elementwise
from .memory_planning import plan_memory
from .simplify import simplify


PASSES: dict[str, Callable[[Graph], Graph]] = {
    "simplify": simplify,
    "cse": eliminate_common_subexpressions,
    "constant_folding": fold_constants,
    "dce": eliminate_dead_code,
    "fuse": fuse_elementwise,
    "memory_plan": plan_memory,
}
DEFAULT_PIPELINE = ("simplify", "cse", "constant_folding", "dce", "fuse", "memory_plan")


def _names(value, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = value.split(",")
    names = tuple(n.strip() for n in value if n.strip())
    allowed = set(PASSES) | ({"all"} if what == "dump_after" else set())
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise ValueError(f"{what}: unknown pass name(s) {', '.join(map(repr, unknown))}; "
                         f"valid names: {', '.join(PASSES)}")
    return names


def verify_enabled() -> bool:
    """Whether passes are verified: GRAPHTORCH_VERIFY_PASSES=1, or running under pytest."""
    flag = os.environ.get("GRAPHTORCH_VERIFY_PASSES", "")
    if flag:
        return flag not in ("0", "false", "False")
    return "PYTEST_CURRENT_TEST" in os.environ


def graph_text(graph: Graph) -> str:
    """The graph's printed form, followed by its memory plan (``# ...`` lines) if any."""
    text = str(graph)
    plan = getattr(graph, "memory_plan", None)
    if plan is not None and plan.format():
        text += "\n" + "\n".join("# " + line for line in plan.format().splitlines())
    return text


def run_passes(graph: Graph, passes: Iterable[str] | None = None, *,
               disable: Iterable[str] | str = (), dump_after: Iterable[str] | str | None = None,
               record: list | None = None) -> Graph:
    """Run `passes` (default `DEFAULT_PIPELINE`) on a copy of `graph`; returns the copy.

    disable: pass names to skip (also from GRAPHTORCH_DISABLE_PASSES, comma-separated).
    dump_after: pass names (or "all") after which "=== after <pass> ===" and the graph
        are printed to stderr (also from GRAPHTORCH_DUMP_AFTER).
    record: a list that gets ``(pass name, graph_text)`` after every pass that ran.
    Unknown names raise ValueError listing the valid ones. The "fuse" pass is skipped
    (not recorded) while the fusion module does not exist. Subgraphs held by nodes
    (cond/while_loop/scan bodies) are optimised first with the same passes (except
    memory planning; their inputs and outputs, the node's interface, never change).

    >>> optimized = run_passes(gt.trace(fn, x).graph, disable=("fuse",))
    """
    order = _names(DEFAULT_PIPELINE if passes is None else passes, "passes")
    skip = set(_names(disable, "disable")) | \
        set(_names(os.environ.get("GRAPHTORCH_DISABLE_PASSES"), "GRAPHTORCH_DISABLE_PASSES"))
    dump = set(_names(dump_after, "dump_after")) | \
        set(_names(os.environ.get("GRAPHTORCH_DUMP_AFTER"), "dump_after"))
    verify = verify_enabled()
    graph = copy_graph(graph)
    _optimize_subgraphs(graph, [n for n in order if n not in skip and n != "memory_plan"])
    for name in order:
        if name in skip:
            continue
        if name != "memory_plan" and getattr(graph, "memory_plan", None) is not None:
            graph.memory_plan = None  # positions would go stale
        result = PASSES[name](graph)
        if not isinstance(result, Graph):
            raise TypeError(f"pass {name!r} returned {type(result).__name__}, not a Graph")
        graph = result
        if verify:
            try:
                graph.verify()
            except GraphError as exc:
                raise GraphError(f"the graph is malformed after pass {name!r}: {exc}") from exc
        if record is not None or name in dump or "all" in dump:
            text = graph_text(graph)
            if record is not None:
                record.append((name, text))
            if name in dump or "all" in dump:
                print(f"=== after {name} ===\n{text}", file=sys.stderr)
    return graph


def _optimize_subgraphs(graph: Graph, passes: list[str]) -> None:
    """Replace every Graph-valued attr of `graph`'s nodes by its optimised copy."""
    for node in graph.nodes:
        for key, value in list(node.attrs.items()):
            if isinstance(value, Graph):
                node.attrs[key] = run_passes(value, passes, disable=())
