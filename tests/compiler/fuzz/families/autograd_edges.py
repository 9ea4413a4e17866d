"""Autograd edge cases: in-place into a tensor without grad from an operand with grad,
std/var over a size-1 dim, backward (and ``autograd.grad``) inside the compiled function
with ``.grad`` of arguments read and accumulated across calls, ``gt.cond`` with an operand
the taken branch ignores, detach / no_grad / set_grad_enabled regions (enable_grad blocks
reaching a captured weight included), and calls made under ``gt.no_grad()``."""

from __future__ import annotations

from ..choice import Chooser
from ..scenario import Scenario
from .common import AFTER_BACKWARD, chain, indent, source

KINDS = {}


def kind(fn):
    KINDS[fn.__name__] = fn
    return fn


@kind
def inplace_into_no_grad(ch: Chooser) -> Scenario:
    """``acc = zeros; acc += x``, ``a.mul_(w)`` on an argument without grad, an intermediate
    without grad updated from one with grad; backward after."""
    calls = ch.integer(2, 3)
    body = ch.choice([
        ["acc = gt.zeros(3, 4)", "acc += x", "return acc"],
        ["acc = gt.zeros(3, 4)", "for i in range(2):", "    acc = acc + x * i",
         "acc.add_(x)", "return acc * 2.0"],
        ["a.mul_(x)", "return a"],
        ["a.add_(x.sum())", "return a.sum()"],
        ["t = a * 1.0", "t.copy_(x)", "return t"],
        ["t = gt.ones(3, 4)", "t[0] = x[0]", "return t"],
        ["t = gt.zeros(3, 4)", "t[:, 1:].addcmul_(x[:, 1:], x[:, 1:])", "return t.sum()"],
        ["t = a.clone()", "t.masked_scatter_(a > 0, x)", "return t"],
    ])
    return Scenario("", "", source(
        "def target(x, a):\n" + indent(body),
        "def make_args(call):\n    return (gt.randn(3, 4, requires_grad=True), gt.randn(3, 4))",
        AFTER_BACKWARD), calls=calls, expect_eager_error="RuntimeError")


@kind
def reductions_size_one(ch: Chooser) -> Scenario:
    """std/var (and their unbiased forms) over a dim of size 1 with grad: NaN, not a crash,
    forward and backward."""
    calls = ch.integer(2, 3)
    op = ch.choice(["x.std(dim=1)", "x.var(dim=1)", "x.std(dim=1, keepdim=True)",
                    "gt.std(x, 1, correction=0)", "x.var(1, unbiased=True)",
                    "gt.var_mean(x, dim=1)[0]", "gt.std_mean(x, dim=1)[0]", "x.std()"])
    shape = ch.choice(["(3, 1)", "(1, 1)", "(2, 1, 3)"])
    return Scenario("", "", source(
        f"def target(x):\n    return {op} * 2.0",
        f"def make_args(call):\n    return (gt.randn{shape}.requires_grad_(),)",
        AFTER_BACKWARD), calls=calls)


@kind
def backward_inside(ch: Chooser) -> Scenario:
    """``y.backward(g)`` (or ``loss.backward()``, ``autograd.grad``) inside the compiled
    function; ``.grad`` of arguments read after the call, accumulated across calls, reset
    to None or zeroed between calls."""
    calls = ch.integer(2, 4)
    y = chain(ch, "a", 2)
    style = ch.choice(["backward_g", "backward_loss", "autograd_grad", "grad_read"])
    body = {
        "backward_g": [f"y = {y}", "y.backward(g)", "return y.detach()"],
        "backward_loss": [f"y = {y}", "(y * g).sum().backward()", "return y.detach(), a.grad"],
        "autograd_grad": [f"y = {y}", "(ga,) = gt.autograd.grad((y * g).sum(), a)",
                          "return ga * 1.0"],
        "grad_read": [f"y = {y}", "y.backward(g)", "return a.grad * 2.0"],
    }[style]
    reset = ch.choice(["", "A.grad = None", "A.grad.zero_() if A.grad is not None else None"])
    first = ch.choice(["A", "gt.randn(3, 4, requires_grad=True)"])
    return Scenario("", "", source(
        "A = gt.randn(3, 4, requires_grad=True)",
        "def target(a, g):\n" + indent(body),
        f"def make_args(call):\n    return ({first}, gt.randn(3, 4))",
        f"def between(call):\n    {reset or 'pass'}",
        "def observe():\n    return {'A': A}"), calls=calls)


@kind
def cond_unused_operand(ch: Chooser) -> Scenario:
    """A traced ``gt.cond`` on a tensor predicate whose taken branch ignores one operand:
    that operand's ``.grad`` stays None as in eager."""
    calls = ch.integer(2, 4)
    t_branch = ch.choice(["lambda a, b: a * 2.0", "lambda a, b: a.sin() + 1.0",
                          "lambda a, b: a * b"])
    f_branch = ch.choice(["lambda a, b: b * 3.0", "lambda a, b: b.cos()",
                          "lambda a, b: a - a"])
    pred = ch.choice(["x.sum() > 0", "y.mean() < 0", "(x > 0).all()"])
    return Scenario("", "", source(
        f"def target(x, y):\n    return gt.cond({pred}, {t_branch}, {f_branch}, (x, y))",
        "def make_args(call):\n    return (gt.randn(4, requires_grad=True), "
        "gt.randn(4, requires_grad=True))",
        AFTER_BACKWARD), calls=calls)


@kind
def cond_step_with_parameters(ch: Chooser) -> Scenario:
    """A training step whose ``gt.cond`` branches read captured tensors that require grad
    (the same or different ones), with the backward inside the compiled function: eager
    leaves ``.grad`` None for what the taken branch does not reach."""
    calls = ch.integer(2, 4)
    t_branch = ch.choice(["lambda x: (x * W1).sum()", "lambda x: (x * W1 * W2).sum()",
                          "lambda x: (x - W1).exp().sum()"])
    f_branch = ch.choice(["lambda x: (x * W2).sum()", "lambda x: (x + W1 + W2).sum()",
                          "lambda x: (x * W1).sin().sum()"])
    pred = ch.choice(["x.sum() > 0", "x[0] < 0", "flag"])
    reset = ch.choice(["W1.grad = W2.grad = None", "pass"])
    return Scenario("", "", source(
        "W1 = gt.randn(4, requires_grad=True)",
        "W2 = gt.randn(4, requires_grad=True)",
        "def target(x, flag):\n"
        f"    {reset}\n"
        f"    y = gt.cond({pred}, {t_branch}, {f_branch}, (x,))\n"
        "    y.backward()\n"
        "    return y.detach()",
        "def make_args(call):\n    return (gt.randn(4), gt.tensor(call % 2 == 0))",
        "def observe():\n    return {'W1': W1, 'W2': W2, 'g1': W1.grad, 'g2': W2.grad}"),
        calls=calls)


@kind
def grad_regions(ch: Chooser) -> Scenario:
    """detach(), ``with gt.no_grad()``, ``gt.set_grad_enabled(False)``, ``gt.enable_grad``
    inside no_grad, and calls made under ``gt.no_grad()`` or with grad enabled."""
    calls = ch.integer(2, 4)
    body = ch.choice([
        ["y = x.detach() * 3.0 + x", "return y"],
        ["with gt.no_grad():", "    z = x * 2.0", "return z * x"],
        ["with gt.set_grad_enabled(False):", "    z = x.exp()", "return z + x"],
        ["with gt.no_grad():", "    with gt.enable_grad():", "        z = x * x",
         "    w = z * 2.0", "return z + w"],
        ["z = x * 2.0", "z.requires_grad_(False) if not z.requires_grad else None",
         "return z.detach().requires_grad_() * x"],
        ["with gt.no_grad():", "    x.mul_(1.0)", "return x * 2.0"],
        ["return x.detach().requires_grad_(True)"],
        # a captured weight differentiated in an enable_grad block of a no_grad call
        ["with gt.enable_grad():", "    z = (x * W).sum(0)", "return z, x * 2.0"],
        ["with gt.no_grad():", "    y = x * W", "with gt.enable_grad():", "    z = y * W",
         "return z"],
    ])
    invoke = ch.choice(["", "never", "odd", "all"])
    invoke_src = {
        "": "",
        "never": "def invoke(fn, args):\n    with gt.enable_grad():\n        return fn(*args)",
        "odd": "def invoke(fn, args):\n    with gt.set_grad_enabled(len(CALLS) % 2 == 0):\n"
               "        CALLS.append(1)\n        return fn(*args)",
        "all": "def invoke(fn, args):\n    with gt.no_grad():\n        return fn(*args)",
    }[invoke]
    return Scenario("", "", source(
        "CALLS = []", "W = gt.randn(4, requires_grad=True)",
        "def target(x):\n" + indent(body),
        "def make_args(call):\n    return (gt.randn(3, 4, requires_grad=True),)",
        invoke_src, AFTER_BACKWARD, "def observe():\n    return {'W': W}"), calls=calls)
