"""Python numbers flowing in and out of compiled code: int/float/bool/complex and NumPy
scalar arguments and globals that change between calls to values Python calls equal but
ops treat differently (``2``, ``2.0``, ``True``, ``np.int64(2)``; ``0.0`` and ``-0.0``;
``nan``, ``inf``), Python arithmetic on them (``//``, ``%``, ``**``, ``math``, ``round``)
before they reach a tensor, ``.item()``/``int()``/``float()``/``.tolist()`` results
computed on in Python and fed back into tensors (values, sizes, fill values), Python numbers
returned, and integer tensors with Python ints (floor division and remainder of negatives,
wrap-around in narrow dtypes, shifts and bitwise ops).

Every program is valid for the values it is given; where an op rejects a combination
(``-`` on bool tensors, an int tensor to a negative int power) eager raises RuntimeError and
compiled must raise it too (``expect_eager_error``).
"""

from __future__ import annotations

from ..choice import Chooser
from ..scenario import Scenario
from .common import between_block, indent, source

KINDS = {}


def kind(fn):
    KINDS[fn.__name__] = fn
    return fn


NUMPY_IMPORTS = "import math\nimport numpy as np"

# Groups of values Python calls equal (or NaN-like) that ops may still tell apart: a call
# sequence drawn from one group traps guards that compare with `==` only.
CONFUSABLE = [
    ["2", "2.0", "True", "np.int64(2)", "np.float32(2.0)", "np.float64(2.0)", "2"],
    ["1", "1.0", "True", "np.bool_(True)", "np.int32(1)", "1"],
    ["0.0", "-0.0", "np.float64(-0.0)", "0", "False", "0.0"],
    ["float('nan')", "float('inf')", "float('-inf')", "float('nan')", "1e308", "-1e-310"],
    ["1.5", "np.float32(1.5)", "np.float64(1.5)", "1.5", "2.5"],
    ["3", "-3", "2**31 + 1", "2**40", "-(2**62)", "3"],
    ["(1+2j)", "1j", "complex(2.0, -0.0)", "(1+2j)", "2.0"],
    ["0.1", "0.1 + 0.2", "0.3", "1e-30", "1e30"],
]

# Whether a value of the group may meet a tensor of an integer dtype without an error.
FLOAT_SPECIAL = {3, 7}  # nan/inf: int(k) raises; 1e30: an int past int64 (ValueError)
COMPLEX = {6}
BIG_INTS = {5}
NUMPY_BOOL = {1}


def _sequence(ch: Chooser, calls: int) -> tuple[int, list[str]]:
    group = ch.integer(0, len(CONFUSABLE) - 1)
    values = CONFUSABLE[group]
    return group, [ch.choice(values) if ch.integer(0, 2) else values[i % len(values)]
                   for i in range(calls)]


# How the number {k} meets a tensor {x}; (template, needs a float tensor)
USES = [
    ("{x} * {k}", False), ("{x} + {k}", False), ("{x} - {k}", False), ("{x} / {k}", False),
    ("{k} * {x}.sum()", False), ("{k} - {x}", False), ("gt.full_like({x}, {k})", True),
    ("gt.where({x} > 0, {x}, {k})", True), ("{x}.masked_fill({x} < 0, {k})", True),
    ("gt.tensor({k}) * {x}", False), ("gt.tensor([{k}, 1.0]).sum() + {x}", False),
    ("{x}.clone().fill_({k})", True), ("{x}.new_full((2,), {k})", True),
    ("gt.clamp({x}, min={k})", True), ("{x} * gt.as_tensor({k})", False),
    ("({x} > {k}).float()", True), ("({x} == {k})", True), ("{x}.pow({k})", True),
    ("{x}.mul({k}).sum().item()", False), ("gt.full((2,), {k})", False),
]

# Python arithmetic on {k} before it reaches a tensor; (template, finite values only,
# real values only)
ARITHMETIC = [
    ("{k}", False, False), ("{k} * 2 + 1", False, False), ("-{k}", False, False),
    ("abs({k})", False, False), ("{k} // 2", False, True), ("{k} % 3", False, True),
    ("{k} ** 2", False, False), ("min({k}, 1.5)", False, True),
    ("max({k}, -1)", False, True), ("float({k})", False, True),
    ("int({k})", True, True), ("round({k})", True, True), ("math.floor({k})", True, True),
    ("math.copysign(1.0, {k})", False, True), ("math.isnan({k}) + 0.5", False, True),
    ("{k} / 4", False, False), ("1 / ({k} + 0.5)", True, True), ("bool({k}) * 3", False, False),
    ("math.fmod({k}, 2.0)", True, True), ("{k} if {k} == {k} else 0.0", False, False),
]

TENSORS = ["gt.randn(3, 4)", "gt.randn(3, 4, dtype=gt.float64)", "gt.randint(-5, 6, (3, 4))",
           "gt.randint(-5, 6, (3, 4), dtype=gt.int32)", "gt.randn(3, 4) > 0",
           "gt.randn(4)"]


def _arith(ch: Chooser, group: int) -> str:
    options = [t for t, finite, real in ARITHMETIC
               if not (finite and group in FLOAT_SPECIAL | COMPLEX)
               and not (real and group in COMPLEX)
               # past int64 or float range: Python's own OverflowError
               and not (group in BIG_INTS and "*" in t)
               and not (group in FLOAT_SPECIAL and "**" in t)]
    if group in NUMPY_BOOL:  # np.bool_ has no -, round, //, % of its own
        options = ["{k}", "float({k})", "bool({k}) * 3", "int({k}) + 1"]
    expr = "k"
    for _ in range(ch.integer(0, 1 if group in BIG_INTS else 2)):
        expr = ch.choice(options).format(k=f"({expr})" if expr != "k" else expr)
    return expr


def _use(ch: Chooser, tensor: str, x: str, k: str, group: int) -> str:
    floating = "randn" in tensor and "> 0" not in tensor
    options = [t for t, needs_float in USES if floating or not needs_float]
    if group in COMPLEX:  # complex numbers have no order: comparisons and clamp raise
        options = [t for t in options if not any(op in t for op in (">", "<", "clamp"))]
    return ch.choice(options).format(x=x, k=k)


@kind
def scalar_argument(ch: Chooser) -> Scenario:
    """A Python/NumPy number argument drawn per call from a group of values Python calls
    equal (2, 2.0, True, np.int64(2); 0.0, -0.0; nan, inf), through Python arithmetic, into
    an op with a tensor of a random dtype; the result also reduced to a Python number."""
    calls = ch.integer(3, 5)
    group, values = _sequence(ch, calls)
    tensor = ch.choice(TENSORS)
    lines = [f"j = {_arith(ch, group)}", f"y = {_use(ch, tensor, 'x', 'j', group)}"]
    if ch.boolean():
        lines.append(f"y = {_use(ch, tensor, 'x', 'j', group)} if isinstance(j, float) else y")
    lines.append(ch.choice(["return y", "return y, j", "return (y, type(j).__name__)",
                            "return y, k"]))
    return Scenario("", "", source(
        NUMPY_IMPORTS, f"VALUES = [{', '.join(values)}]",
        "def target(x, k):\n" + indent(lines),
        f"def make_args(call):\n    return ({tensor}, VALUES[call])"),
        calls=calls, expect_eager_error="RuntimeError")


# Where the number lives between calls; {v} is the new value.
STATE = {
    "global": ("K = {v0}", "K", "K = {v}", "K"),
    "tuple": ("T = ({v0}, 1)", "T[0]", "T = ({v}, 1)", "T"),
    "class": ("class Cfg:\n    k = {v0}", "Cfg.k", "Cfg.k = {v}", ""),
    "instance": ("class Cfg:\n    k = {v0}\ncfg = Cfg()", "cfg.k", "cfg.k = {v}", ""),
    "dict": ("D = {{'k': {v0}}}", "D['k']", "D['k'] = {v}", ""),
    "list": ("L = [{v0}, 2]", "L[0] * L[1]", "L[0] = {v}", ""),
    "default": ("def scale(k={v0}):\n    return k", "scale()",
                "scale.__defaults__ = ({v},)", ""),
    "closure": ("def make(k):\n    return lambda: k\nread = make({v0})", "read()",
                "read = make({v})", "read"),
    "module": ("import types\nMOD = types.SimpleNamespace(k={v0})", "MOD.k", "MOD.k = {v}", ""),
}


@kind
def scalar_state(ch: Chooser) -> Scenario:
    """A number read from state (global, tuple item, class or instance attribute, dict or
    list entry, default argument, closure, module-like namespace) and changed between calls
    to values Python calls equal (2 -> 2.0 -> True, 0.0 -> -0.0, nan -> nan)."""
    calls = ch.integer(3, 5)
    group, values = _sequence(ch, calls)
    where = ch.choice(list(STATE))
    init, read, change, global_name = STATE[where]
    tensor = ch.choice(TENSORS)
    body = ["k = " + read, f"j = {_arith(ch, group)}", f"return {_use(ch, tensor, 'x', 'j', group)}"]
    changes = {c: [change.format(v=values[c + 1])] for c in range(calls - 1) if ch.integer(0, 3)}
    return Scenario("", "", source(
        NUMPY_IMPORTS, init.format(v0=values[0]),
        "def target(x):\n" + indent(body),
        f"def make_args(call):\n    return ({tensor},)",
        between_block(changes, global_name) if changes else ""),
        calls=calls, expect_eager_error="RuntimeError")


# Reads of a tensor into Python; {x} is a float tensor
ITEM_READS = ["{x}.sum().item()", "float({x}.max())", "int({x}.argmax())", "{x}.mean().item()",
              "{x}.tolist()[0][1]", "bool(({x} > 0).any())", "{x}.abs().max().item()",
              "{x}[1, 2].item()", "len({x}.nonzero())", "{x}.numel() + {x}.shape[1]",
              "int(({x} > 0).sum())"]
# Python computation on the read {a} (finite: .item() of randn data)
ITEM_MATH = ["{a} * 2.0 + 1", "{a} // 1", "{a} % 1.5", "math.floor({a})", "math.ceil({a})",
             "round({a}, 2)", "abs({a}) ** 0.5", "math.exp(min({a}, 3.0))", "-{a}",
             "math.sqrt(abs({a}) + 1)", "max({a}, 0)", "int({a}) % 3", "math.tanh({a})",
             "{a} > 0.5", "math.pi * {a}", "math.atan2({a}, 1.0)"]
# How the Python result {p} goes back into tensors ({x} the argument)
ITEM_BACK = ["{x} * {p}", "{x} + gt.tensor({p})", "gt.full((2, 2), {p})", "{x} - {p} * {x}.mean()",
             "gt.arange(max(1, min(6, int(abs({p})) + 1))) * 1.0",
             "{x}[: max(1, min(3, int(abs({p})) + 1))]", "gt.tensor([{p}, {p} * 2])",
             "{x}.clamp(max={p})", "{x}.masked_fill({x} > 0, {p})",
             "{x}.reshape(-1)[: 2 + int(abs({p})) % 5]", "{x}.roll(int({p}), 1)"]


@kind
def item_roundtrip(ch: Chooser) -> Scenario:
    """``.item()``, ``float()``, ``int()``, ``.tolist()``, ``len(nonzero())`` of a tensor,
    Python (``math``, ``//``, ``%``, ``round``) on it, and the result back into tensors as a
    factor, a fill value, a size or a slice bound; the values change every call."""
    calls = ch.integer(3, 5)
    lines = [f"y = {_chain('x', ch)}"]
    p = ch.choice(ITEM_MATH).format(a=ch.choice(ITEM_READS).format(x="y"))
    lines.append(f"p = {p}")
    if ch.boolean():
        lines.append(f"p = {ch.choice(ITEM_MATH).format(a='p')}")
    lines.append(f"z = {ch.choice(ITEM_BACK).format(x='y', p='p')}")
    lines.append(ch.choice(["return z", "return z, p", "return z.sum() * p",
                            "return (z, type(p).__name__)"]))
    dtype = ch.choice(["", ", dtype=gt.float64"]) + \
        ch.choice(["", ", requires_grad=True"])
    return Scenario("", "", source(
        NUMPY_IMPORTS, "def target(x):\n" + indent(lines),
        f"def make_args(call):\n    return (gt.randn(3, 4{dtype}) * (call + 1),)",
        "def after(call, out):\n    t = out[0] if isinstance(out, tuple) else out\n"
        "    t.sum().backward() if t.requires_grad else None"),
        calls=calls, expect_eager_error="RuntimeError")


def _chain(x: str, ch: Chooser) -> str:
    return ch.choice([x, f"{x} * 1.5", f"gt.tanh({x})", f"{x}.cos() + {x}", f"{x}.relu()"])


# Python results: {x} a float tensor argument, {n} a Python int argument
RESULTS = ["{x}.sum().item()", "{x}.shape[0] * {n}", "{x}.numel() // {n}", "{x}.dim() + 0.5",
           "{n} / 2", "{n} // 3", "-{n} % 4", "{n} ** 2", "float({x}.max())",
           "int({x}.argmin())", "bool({x}.sum() > 0)", "complex({n}, 1)",
           "{x}.size(1) / {x}.size(0)", "divmod({n}, 3)", "({n} > 2, {n} * 1.0)",
           "math.isqrt(abs({n}))", "{x}.tolist()[0]", "{x}.stride()", "{x}.shape",
           "len({x}) * 1j", "{x}.mean().item() > {n}", "round({x}.std().item(), 3)",
           "math.gcd({n}, 12)", "{n} & 6", "{n} >> 1", "sum({x}.tolist()[1])"]


@kind
def python_results(ch: Chooser) -> Scenario:
    """Python numbers, bools, complex numbers, tuples of them, sizes and strides returned
    (alone or next to tensors), from Python arithmetic on an int argument and from tensor
    reads; compiled must return the same types and values every call."""
    calls = ch.integer(3, 5)
    picks = [ch.choice(RESULTS).format(x="y", n="n") for _ in range(ch.integer(1, 3))]
    if ch.boolean():
        picks.append("y * 2.0")
    ints = [ch.choice(["3", "-7", "2**40", "1", "True", "5"]) for _ in range(calls)]
    x = ch.choice(["gt.randn(3, 4)", "gt.randn(4, 3).t()", "gt.randn(2, 5)[:, ::2]"])
    return Scenario("", "", source(
        NUMPY_IMPORTS, f"INTS = [{', '.join(ints)}]",
        "def target(x, n):\n    y = x * 1.0\n    return (" + ", ".join(picks) + ",)",
        f"def make_args(call):\n    return ({x}, INTS[call])"), calls=calls)


# Integer tensors meeting Python ints; {x} int tensor, {k} a nonzero int
INT_OPS = ["{x} // {k}", "{x} % {k}", "{x} / {k}", "gt.div({x}, {k}, rounding_mode='floor')",
           "gt.div({x}, {k}, rounding_mode='trunc')", "gt.remainder({x}, {k})",
           "gt.fmod({x}, {k})", "{x} * {k}", "{x} + {k}", "-{x}", "{x}.abs()", "{x} ** 2",
           "{x} & {k}", "{x} | {k}", "{x} ^ {k}", "{x} << 2", "{x} >> 1", "~{x}",
           "{x}.sum()", "{x}.cumsum(0)", "{x}.prod(1)", "{x} * {x}", "{x}.max() - {x}.min()",
           "{x}.float() / {k}", "gt.floor_divide({x}, {k})", "{x}.clamp(-3, {k})"]
INT_DTYPES = ["int8", "int16", "int32", "int64", "uint8"]


@kind
def int_semantics(ch: Chooser) -> Scenario:
    """Integer tensors of every width with Python ints: floor division, remainder, fmod and
    trunc division of negatives, wrap-around of narrow dtypes (``int8 * 100``, uint8
    negation), bitwise ops and shifts; the divisor and the factor change between calls."""
    calls = ch.integer(3, 4)
    dtype = ch.choice(INT_DTYPES)
    low = 0 if dtype == "uint8" else -100
    ks = [ch.choice(["3", "-3", "2", "7", "-1", "100", "1"]) for _ in range(calls)]
    lines = ["y = x"]
    ops = INT_OPS
    for _ in range(ch.integer(1, 3)):
        op = ch.choice(ops)
        lines.append(f"y = {op.format(x='y', k='k')}")
        if "prod(1)" in op or "sum()" in op or "max()" in op:  # fewer dims: no second one
            ops = [o for o in ops if not any(r in o for r in ("prod(1)", "cumsum(0)"))]
        if "/ " in op or "float" in op:  # a float tensor: bitwise ops raise (PyTorch too:
            ops = [o for o in INT_OPS if not any(b in o for b in "~&|^<>")]  # not RuntimeError)
    lines.append(ch.choice(["return y", "return y, x", "return y.tolist()"]))
    return Scenario("", "", source(
        NUMPY_IMPORTS, f"KS = [{', '.join(ks)}]",
        "def target(x, k):\n" + indent(lines),
        f"def make_args(call):\n    return (gt.randint({low}, 100, (3, 4), dtype=gt.{dtype}), "
        "KS[call])"), calls=calls, expect_eager_error="RuntimeError")
