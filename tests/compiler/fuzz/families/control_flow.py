"""Data-dependent Python control flow, composed: chains of ``if``/``elif`` on values read
from tensors (``.item()``, ``bool(t)``, ``float``, ``int``, ``.tolist()``, ``any``/``all``),
early returns, nested branches, loops whose trip count depends on values (``while`` on a
tensor, ``range(int(...))``, iteration over rows and over ``.tolist()``), exceptions raised
by the function on some calls or caught inside it, and ``gt.cond`` / ``gt.while_loop`` /
``gt.scan`` with predicates that flip. The arguments are shifted per call so that branches
and trip counts change between calls: a compiled call must take eager's path (recompile,
run eagerly, or evaluate the branch in the graph), never replay a stale one; a backward
follows when the result needs grad."""

from __future__ import annotations

from ..choice import Chooser
from ..scenario import Scenario
from .common import chain, indent, source

KINDS = {}


def kind(fn):
    KINDS[fn.__name__] = fn
    return fn


# Predicates on a (3, 4) float tensor {x}; comparisons against {c} (about -2..2).
PREDICATES = [
    "{x}.sum().item() > {c}", "bool(({x} > {c}).any())", "bool(({x} > {c}).all())",
    "{x}.max() > {c}", "float({x}.mean()) < {c}", "{x}.tolist()[0][0] > {c}",
    "int({x}.argmax()) % 2 == 0", "{x}.norm() > abs({c}) + 3", "({x}[0] > {c}).sum() >= 2",
    "{x}.abs().max().item() > 2", "{x}.min() < {c} < {x}.max()", "bool({x}.mean() > 0)",
]
BODIES = [
    "{x} * 2.0", "{x} - 1.0", "{x}.tanh()", "{x}.flip(0)", "{x}.relu() + 0.5", "{x} * {x}",
    "{x}.cumsum(1)", "{x}.softmax(-1)", "{x}.t().t() * -1.0",
    "{x}[:, :2].sum(1, keepdim=True) * {x}",
]
# per call: the shift added to a fresh randn argument (big shifts make predicates flip)
SHIFTS = ["[3.0, -3.0, 3.0, 0.0]", "[0.0, 4.0, -4.0, 4.0]", "[-2.0, -2.0, 2.0, 2.0]",
          "[1.0, -1.0, 1.0, -1.0]", "[0.0, 0.0, 0.0, 0.0]"]


def _pred(ch: Chooser, x: str) -> str:
    return ch.choice(PREDICATES).format(x=x, c=ch.choice(["0", "0.5", "-1", "1.5", "-0.25"]))


def _body(ch: Chooser, x: str) -> str:
    return chain(ch, ch.choice(BODIES).format(x=x), 1)


def _args(ch: Chooser, grad: bool) -> str:
    flag = ", requires_grad=True" if grad else ""
    return f"def make_args(call):\n    return (gt.randn(3, 4{flag}) + {ch.choice(SHIFTS)}[call],)"


BACKWARD = "def after(call, out):\n    out.sum().backward() if out.requires_grad else None"


def _if_chain(ch: Chooser, x: str, depth: int = 0) -> list[str]:
    """An if/elif/else (maybe nested, maybe returning early) that assigns `x`."""
    lines = [f"if {_pred(ch, x)}:"]
    if depth == 0 and ch.integer(0, 3) == 0:
        lines += ["    " + line for line in _if_chain(ch, x, 1)]
    elif ch.integer(0, 3) == 0:
        lines.append(f"    return {_body(ch, x)}")
    else:
        lines.append(f"    {x} = {_body(ch, x)}")
    for _ in range(ch.integer(0, 2)):
        lines += [f"elif {_pred(ch, x)}:", f"    {x} = {_body(ch, x)}"]
    if ch.boolean():
        lines += ["else:", f"    {x} = {_body(ch, x)}"]
    return lines


@kind
def branches(ch: Chooser) -> Scenario:
    """One to three if/elif/else chains on values read from the argument, nested branches
    and early returns; the argument shifts per call so the path changes."""
    lines = [f"h = {chain(ch, 'x', 1)}"]
    for _ in range(ch.integer(1, 3)):
        lines += _if_chain(ch, "h")
    lines.append(f"return {_body(ch, 'h')}")
    grad = ch.boolean()
    return Scenario("", "", source(
        "def target(x):\n" + indent(lines), _args(ch, grad), BACKWARD if grad else ""),
        calls=ch.integer(3, 4), compile_kwargs=ch.choice([{}, {}, {"dynamic": True}]))


LOOPS = [
    # (lines, uses the counter n)
    ["n = 0", "while h.abs().sum() > {t} and n < 6:", "    h = h * 0.5", "    n += 1",
     "h = h + n"],
    ["for i in range(int(h[0, 0].abs().item() * 2) % 4):", "    h = h.roll(1, 1) + i"],
    ["acc = gt.zeros(4)", "for row in h:", "    if row.sum() > {c}:", "        acc = acc + row",
     "    else:", "        acc = acc - 0.5 * row", "h = h + acc"],
    ["s = 0.0", "for v in h.flatten().tolist():", "    if v > {c}:", "        s += v",
     "h = h * s"],
    ["k = 0", "while bool((h > {c}).any()) and k < 4:", "    h = h - 1.0", "    k = k + 1"],
    ["for i in range(h.shape[0]):", "    if h[i].mean() > {c}:", "        continue",
     "    h = h + i"],
    ["for _ in range(3):", "    if h.max() > 4:", "        break", "    h = h * 1.5"],
]


@kind
def loops(ch: Chooser) -> Scenario:
    """Loops whose trip count or per-iteration branch depends on values: while on a tensor,
    range(int(...)), rows, .tolist(), break and continue."""
    c = ch.choice(["0", "0.5", "-1", "1"])
    t = ch.choice(["1.0", "5.0", "12.0"])
    lines = [f"h = {chain(ch, 'x', 1)}"]
    for _ in range(ch.integer(1, 2)):
        lines += [line.format(c=c, t=t) for line in ch.choice(LOOPS)]
    lines.append(f"return {_body(ch, 'h')}")
    grad = ch.boolean()
    return Scenario("", "", source(
        "def target(x):\n" + indent(lines), _args(ch, grad), BACKWARD if grad else ""),
        calls=ch.integer(3, 4), compile_kwargs=ch.choice([{}, {}, {"dynamic": True}]))


@kind
def exceptions(ch: Chooser) -> Scenario:
    """Exceptions: raised by the function on a value-dependent condition (eager raises on
    some call: compiled must raise the same there), or raised by an op and caught inside
    (a view of a non-contiguous argument, an index read from a value)."""
    style = ch.choice(["raise", "catch_view", "catch_index", "catch_user"])
    grad = ch.boolean()
    if style == "raise":
        calls = 4
        body = ["h = x * 2.0", f"if {_pred(ch, 'h')}:", "    h = h + 1.0",
                "if h.sum().item() > 30:",
                "    raise ValueError('too large: ' + str(round(h.sum().item())))",
                f"return {_body(ch, 'h')}"]
        args = "def make_args(call):\n    return (gt.randn(3, 4" + \
            (", requires_grad=True" if grad else "") + ") + [0.0, 1.0, -1.0, 6.0][call],)"
        return Scenario("", "", source(
            "def target(x):\n" + indent(body), args, BACKWARD if grad else ""),
            calls=calls, expect_eager_error="ValueError")
    if style == "catch_view":
        body = ["try:", "    v = x.view(-1)", "except RuntimeError:",
                "    v = x.reshape(-1) * 2.0", f"return {chain(ch, 'v', 1)}"]
        args = "def make_args(call):\n    x = gt.randn(4, 3) if call % 2 else gt.randn(3, 4)" \
               "\n    return (x.t() if call % 2 else x,)"
        return Scenario("", "", source("def target(x):\n" + indent(body), args),
                        calls=ch.integer(3, 4))
    if style == "catch_index":
        body = ["WEIGHTS = [0.5, 2.0, -1.0]", "try:",
                "    w = WEIGHTS[int(x.argmax()) % 4]", "except IndexError:", "    w = 10.0",
                f"return {_body(ch, 'x')} * w"]
    else:
        body = ["def check(t):", f"    if {_pred(ch, 't')}:", "        raise KeyError('branch')",
                "    return t", "try:", "    h = check(x) * 2.0", "except KeyError:",
                f"    h = {_body(ch, 'x')}", "return h.sum(0)"]
    return Scenario("", "", source(
        "def target(x):\n" + indent(body), _args(ch, grad), BACKWARD if grad else ""),
        calls=ch.integer(3, 4))


@kind
def control_ops(ch: Chooser) -> Scenario:
    """gt.cond with a tensor predicate that flips between calls (backward through it),
    gt.while_loop with a value-dependent trip count, gt.scan over rows."""
    style = ch.choice(["cond", "while_loop", "scan", "cond_in_scan"])
    grad = style in ("cond", "scan") and ch.boolean()
    if style == "cond":
        pred = ch.choice(["x.sum() > 0", "(x > 1).any()", "x.mean() < 0.5", "x[0, 0] > 0"])
        lines = [(f"return gt.cond({pred}, lambda t: {_body(ch, 't')}, "
                  f"lambda t: {_body(ch, 't')}, (x,))")]
    elif style == "while_loop":
        lines = ["n, h = gt.while_loop(lambda c: (c[1].abs().sum() > 2.0) & (c[0] < 8),",
                 "                     lambda c: (c[0] + 1, c[1] * 0.5), (gt.tensor(0), x))",
                 "return h * (n + 1)"]
    elif style == "scan":
        act = ch.choice(["tanh", "sin", "relu"])
        lines = ["h0 = gt.zeros(4)", f"h, hs = gt.scan(lambda h, r: ((h + r).{act}(),) * 2, h0, x)",
                 "return h + hs.sum(0)"]
    else:
        lines = ["def step(h, r):",
                 "    h = gt.cond(r.sum() > 0, lambda a, b: a + b, lambda a, b: a - b, (h, r))",
                 "    return h, h.sum()",
                 "h, sums = gt.scan(step, gt.zeros(4), x)", "return h * sums.sum()"]
    return Scenario("", "", source(
        "def target(x):\n" + indent(lines), _args(ch, grad), BACKWARD if grad else ""),
        calls=ch.integer(3, 4), compile_kwargs=ch.choice([{}, {"dynamic": True}]))
