"""Type promotion between tensors of every dtype, 0-d tensors and Python scalars (``alpha=``
and in-place forms included), called several times: compiled equals eager, and both equal
PyTorch. PyTorch's answer (dtype and values, or the exception class it raises) is computed
when the scenario is generated and written into the source as constants that ``after``
asserts; an eager result that differs is then an EAGER_ERROR (e.g. issue 12's cached
promotion: ``gt.add(bool_tensor, True, alpha=2)`` is bool the first time, int64 later).
Without torch installed only eager-vs-compiled is checked."""

from __future__ import annotations

from ..choice import Chooser
from ..scenario import Scenario
from .common import source

KINDS = {}


def kind(fn):
    KINDS[fn.__name__] = fn
    return fn


TENSORS = {  # dtype: literal values (non-zero, so divisions are defined)
    "bool": "[True, False, True]",
    "uint8": "[1, 2, 3]",
    "int8": "[1, -2, 3]",
    "int32": "[4, -5, 6]",
    "int64": "[7, 8, -9]",
    "float16": "[0.5, -1.5, 2.0]",
    "float32": "[1.25, -0.5, 3.0]",
    "float64": "[-2.5, 0.75, 1.0]",
}
SCALARS = ["True", "False", "2", "-3", "1.5", "-0.25"]

OPS = [
    "gt.add({a}, {b})", "gt.add({a}, {b}, alpha=2)", "gt.sub({a}, {b})",
    "gt.sub({a}, {b}, alpha=3)", "gt.mul({a}, {b})", "gt.div({a}, {b})",
    "gt.maximum({a}, {b})", "gt.where({a} > 0, {a}, {b})", "{a} + {b}", "{a} * {b}",
    "{a} - {b}", "{a} / {b}", "{a} // {b}", "{a} % {b}", "gt.pow({a}, {b})",
    "{a}.clone().add_({b})", "{a}.clone().mul_({b})", "gt.eq({a}, {b})",
    "gt.bitwise_and({a}, {b})", "gt.true_divide({a}, {b})",
]


def _operand(ch: Chooser, allow_scalar: bool) -> str:
    style = ch.choice(["tensor", "tensor", "zero_dim", "scalar"] if allow_scalar else
                      ["tensor", "zero_dim"])
    dtype = ch.choice(list(TENSORS))
    if style == "scalar":
        return ch.choice(SCALARS)
    values = TENSORS[dtype]
    if style == "zero_dim":
        values = values[1:].split(",")[0]
    return f"gt.tensor({values}, dtype=gt.{dtype})"


def pytorch_answer(expr: str) -> tuple[str, object] | None:
    """("ok", (dtype text, values)) or ("error", exception class name) from PyTorch, or
    None when torch is not installed."""
    try:
        import torch
    except ImportError:
        return None
    try:
        out = eval(expr.replace("gt.", "torch."), {"torch": torch})
    except Exception as exc:  # noqa: BLE001 - PyTorch's refusal is the expected answer
        return "error", type(exc).__name__
    return "ok", (str(out.dtype), out.tolist())


CHECK = '''\
def _flat(v):
    return [x for item in v for x in _flat(item)] if isinstance(v, list) else [v]
def after(call, out):
    if EXPECTED is None:
        return
    if EXPECTED[0] == "error":
        raise AssertionError(f"PyTorch raises {EXPECTED[1]} here; got {out!r}")
    dtype, values = EXPECTED[1]
    assert str(out.dtype) == dtype, f"dtype {out.dtype}, PyTorch gives {dtype}"
    got = _flat(out.tolist())
    want = _flat(values)
    assert len(got) == len(want) and all(
        g == w or (g != g and w != w) or abs(float(g) - float(w)) <= 2e-3 * max(1.0, abs(float(w)))
        for g, w in zip(got, want)), f"values {got}, PyTorch gives {want}"'''


@kind
def promotion(ch: Chooser) -> Scenario:
    """One op on two operands of random dtypes and kinds (tensor, 0-d tensor, scalar)."""
    a = _operand(ch, allow_scalar=False)
    b = _operand(ch, allow_scalar=True)
    op = ch.choice(OPS)
    if op in ("{a} // {b}", "{a} % {b}") and ("bool" in b or b == "False"):
        b = "2"  # integer division by zero: PyTorch raises, eager returns 0 (not issue 12)
    expr = op.format(a=a, b=b)
    answer = pytorch_answer(expr)
    expect = answer[1] if answer is not None and answer[0] == "error" else None
    return Scenario("", "", source(
        f"nan, inf = float('nan'), float('inf')\nEXPECTED = {answer!r}",
        f"def target(a):\n    return {op.format(a='a', b=b)}",
        f"def make_args(call):\n    return ({a},)", CHECK),
        calls=3, expect_eager_error=expect)
