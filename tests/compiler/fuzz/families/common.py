"""Pieces shared by the scenario families: source assembly, random elementwise chains,
change schedules and argument makers."""

from __future__ import annotations

import textwrap

from ..choice import Chooser
from ..scenario import HEADER

# `after`: a backward from every output that requires grad (kept for a second one)
AFTER_BACKWARD = """\
def after(call, out):
    outs = [t for t in (out if isinstance(out, (tuple, list)) else (out,))
            if isinstance(t, gt.Tensor) and t.requires_grad]
    for t in outs:
        t.sum().backward(retain_graph=True)"""

UNARY_TEMPLATES = [
    "gt.tanh({x})", "({x} * {c})", "({x} + {c})", "gt.relu({x})", "gt.sigmoid({x})",
    "{x}.clamp(-2.0, 2.0)", "gt.nn.functional.gelu({x})", "({x} - {x}.mean())", "{x}.cos()",
    "gt.exp({x}.clamp(-3.0, 3.0))", "gt.sin({x})", "({x}.abs() + 0.5).sqrt()",
]


def chain(ch: Chooser, x: str, max_ops: int = 2) -> str:
    """`x` through 0..max_ops random elementwise ops (shape and dtype preserved)."""
    expr = x if x.isidentifier() else f"({x})"
    for _ in range(ch.integer(0, max_ops)):
        template = ch.choice(UNARY_TEMPLATES)
        expr = template.format(x=expr, c=ch.choice(["0.5", "1.5", "-0.75", "2.0"]))
    return expr


def source(*blocks: str) -> str:
    """The module source: the common imports, then each block dedented."""
    return HEADER + "\n".join(textwrap.dedent(b).strip("\n") + "\n" for b in blocks if b)


def indent(lines, spaces: int = 4) -> str:
    pad = " " * spaces
    return "\n".join(pad + line for line in lines) if lines else pad + "pass"


def schedule(ch: Chooser, calls: int, min_changes: int = 1) -> list[int]:
    """The calls after which state changes (indices < calls - 1, at least one)."""
    return sorted(ch.subset(list(range(calls - 1)), min_size=min(min_changes, calls - 1)))


def between_block(changes: dict[int, list[str]], globals_: str = "") -> str:
    """``def between(call)`` running each call's statements (``global`` line first); a
    statement may span lines, indented relative to its first line."""
    lines = [f"global {globals_}"] if globals_ else []
    for call, stmts in sorted(changes.items()):
        lines.append(f"if call == {call}:")
        lines.extend("    " + line for s in stmts for line in s.split("\n"))
    return "def between(call):\n" + indent(lines)


def shape_literal(shape: tuple) -> str:
    return ", ".join(str(n) for n in shape) if shape else ""


def randn(shape: tuple, dtype: str = "float32", requires_grad: bool = False) -> str:
    """Source of a fresh random tensor."""
    extra = f", dtype=gt.{dtype}" if dtype != "float32" else ""
    extra += ", requires_grad=True" if requires_grad else ""
    return f"gt.randn({shape_literal(shape) or '()'}{extra})"


def pick_dtype(ch: Chooser) -> str:
    return "float64" if ch.integer(0, 3) == 0 else "float32"
