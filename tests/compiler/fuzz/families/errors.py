"""Programs whose eager run raises, at the first call or at a later one (after the graph was
compiled from valid calls): indices out of range with the traced shapes (a compiled graph
must check the values at every call), shapes that stop broadcasting or multiplying, dtype
mismatches, invalid values (probabilities outside [0, 1], classes out of range, singular
matrices), and autograd misuse (in-place on a leaf, backward twice, a non-scalar backward).
The compiled call must raise the exception type eager raises (`Scenario.expect_eager_error`).
"""

from __future__ import annotations

from ..choice import Chooser
from ..scenario import Scenario
from .common import chain, source

KINDS = {}


def kind(fn):
    KINDS[fn.__name__] = fn
    return fn


# (expression on x: f32 (5, 3) and i: int64 (3,), eager's error for an index out of range)
INDEXING = [
    ("x[i]", "IndexError"),
    ("x[i, 0]", "IndexError"),
    ("x[:, 0][i]", "IndexError"),
    ("gt.gather(x, 0, i.view(-1, 1).expand(-1, 3))", "RuntimeError"),
    ("x.index_select(0, i)", "IndexError"),
    ("EMB(i)", "IndexError"),
    ("gt.nn.functional.embedding(i, x)", "IndexError"),
    ("gt.nn.functional.one_hot(i, 5).float()", "RuntimeError"),
    ("gt.nn.functional.cross_entropy(x[:3], i).expand(3)", "IndexError"),
    ("gt.nn.functional.nll_loss(x[:3].log_softmax(-1), i, reduction='none')", "IndexError"),
    ("gt.zeros(5, 3).scatter(0, i.view(-1, 1).expand(-1, 3), 1.0) + x", "RuntimeError"),
    ("gt.zeros(5, 3).index_add(0, i, x[:3]) * 2.0", "RuntimeError"),
    ("x.clone().index_fill(0, i, -1.0)", "IndexError"),
    ("x.clone().index_put_((i,), gt.tensor(1.0))", "IndexError"),
    ("x[i.clamp(max=4)] + x[i]", "IndexError"),
]


@kind
def index_out_of_range(ch: Chooser) -> Scenario:
    """Indexing ops compiled from in-range indices, then called with an index out of range
    (too large or too negative) of the same shape and dtype: eager raises."""
    calls = ch.integer(2, 4)
    expr, error = ch.choice(INDEXING)
    bad_call = ch.integer(0, calls - 1)
    bad = ch.choice(["[0, 7, 1]", "[0, 5, 1]", "[4, 2, 9]", "[0, -9, 2]"])
    good = ch.choice(["[0, 2, 4]", "[1, 1, 3]", "[4, 0, 2]"])
    x = chain(ch, "x", 1)
    return Scenario("", "", source(
        "EMB = nn.Embedding(5, 3)",
        f"def target(x, i):\n    x = {x}\n    return {expr}",
        "def make_args(call):\n"
        f"    i = gt.tensor({bad} if call == {bad_call} else {good})\n"
        "    return (gt.randn(5, 3), i)"), calls=calls, expect_eager_error=error)


# (expression on x (5, 3) and y, y's good shape, its bad shape, eager's error)
SHAPES = [
    ("x + y", "(5, 3)", "(4, 3)", "RuntimeError"),
    ("x * y", "(3,)", "(2,)", "RuntimeError"),
    ("x @ y", "(3, 2)", "(4, 2)", "RuntimeError"),
    ("gt.cat([x, y])", "(2, 3)", "(2, 4)", "RuntimeError"),
    ("gt.stack([x, y])", "(5, 3)", "(5, 4)", "RuntimeError"),
    ("gt.nn.functional.mse_loss(x, y)", "(5, 3)", "(5, 2)", "RuntimeError"),
    ("gt.nn.functional.linear(x, y)", "(2, 3)", "(2, 4)", "RuntimeError"),
    ("gt.where(x > 0, x, y)", "(3,)", "(4,)", "RuntimeError"),
    ("x.masked_fill(y > 0, 0.0)", "(5, 3)", "(4, 3)", "RuntimeError"),
    ("x.view(-1, y.shape[0])", "(3,)", "(4,)", "RuntimeError"),
    ("x.reshape(y.shape[0], -1)", "(5,)", "(7,)", "RuntimeError"),
    ("x.softmax(dim=y.dim())", "(3,)", "(1, 1, 1)", "IndexError"),
    ("x.sum(y.shape[0])", "(1,)", "(2,)", "IndexError"),
    ("x.narrow(0, y.shape[0], 2)", "(1,)", "(4,)", "RuntimeError"),
    ("x[y.shape[0]]", "(2,)", "(5,)", "IndexError"),
    ("x.expand(y.shape[0], 5, 3)", "(2,)", "(2, 2)", "RuntimeError"),
    ("gt.nn.functional.layer_norm(x, y.shape)", "(3,)", "(4,)", "RuntimeError"),
    ("x.add_(y)", "(5, 3)", "(1, 5, 3)", "RuntimeError"),
    ("x.topk(y.shape[0])", "(2,)", "(4,)", "RuntimeError"),
    ("x.split([2, y.shape[0]])", "(3,)", "(2,)", "RuntimeError"),
]


@kind
def shape_mismatch(ch: Chooser) -> Scenario:
    """Ops compiled for matching shapes, then called with an argument whose shape no longer
    broadcasts, multiplies, concatenates, views or indexes (or at every call)."""
    calls = ch.integer(2, 4)
    expr, good, bad, error = ch.choice(SHAPES)
    bad_call = ch.integer(0, calls - 1)
    dynamic = ch.choice([{}, {"dynamic": True}, {"dynamic": False}])
    return Scenario("", "", source(
        f"def target(x, y):\n    x = {chain(ch, 'x', 1)}\n    return {expr}",
        "def make_args(call):\n"
        f"    return (gt.randn(5, 3), gt.randn{bad} if call == {bad_call} else gt.randn{good})"),
        calls=calls, compile_kwargs=dynamic, expect_eager_error=error)


# (statement(s) building r from x (4, 3) float and n (4,) int64, eager's error); `bad` is a
# Python bool argument (a recompile), or the values of x or n make it fail.
VALUES = [
    ("r = gt.bernoulli(x.sigmoid() * (2.0 if bad else 1.0))", "RuntimeError"),
    ("r = gt.multinomial(x.exp() * (0.0 if bad else 1.0), 1)", "RuntimeError"),
    ("r = gt.nn.functional.binary_cross_entropy(x.sigmoid() + (1.0 if bad else 0.0), "
     "gt.ones(4, 3))", "RuntimeError"),
    ("r = gt.nn.functional.one_hot(n + (3 if bad else 0), 5)", "RuntimeError"),
    ("r = gt.nn.functional.cross_entropy(x, n * (2 if bad else 1))", "IndexError"),
    ("r = gt.linalg.inv(x[:3] * (0.0 if bad else 1.0) + gt.eye(3) * (0.0 if bad else 3.0))",
     "LinAlgError"),
    ("r = gt.linalg.cholesky(x[:3] @ x[:3].t() * (-1.0 if bad else 1.0) + gt.eye(3) * "
     "(-1.0 if bad else 1.0))", "LinAlgError"),
    ("r = x.repeat_interleave(n - (5 if bad else 0), dim=0)", "RuntimeError"),
    ("r = gt.ones(4, 3, dtype=gt.int64)\nr.add_(x if bad else n.view(4, 1))", "RuntimeError"),
    ("r = x @ (n.view(4, 1)[:3] if bad else x.t())", "RuntimeError"),
    ("r = x[x[:, 0] if bad else n.clamp(0, 3)]", "IndexError"),
    ("r = gt.nn.functional.dropout(x, p=1.5 if bad else 0.0)", "ValueError"),
]


@kind
def invalid_values(ch: Chooser) -> Scenario:
    """Ops compiled for valid values, then called where eager raises on the values or on a
    flag: probabilities outside [0, 1], classes out of range, singular or non-positive-
    definite matrices, negative repeats, mixed dtypes, float indices."""
    calls = ch.integer(2, 4)
    stmt, error = ch.choice(VALUES)
    bad_call = ch.integer(0, calls - 1)
    body = "\n".join("    " + line for line in stmt.split("\n"))
    return Scenario("", "", source(
        f"def target(x, n, bad):\n{body}\n    return r",
        "def make_args(call):\n"
        f"    return (gt.randn(4, 3), gt.randint(0, 3, (4,)), call == {bad_call})"),
        calls=calls, expect_eager_error=error)


AUTOGRAD_MISUSE = [
    # (body lines on x (3, 4) requiring grad, W captured leaf requiring grad; `bad` flag)
    ["y = (x * W).sum()", "y.backward()", "if bad:", "    y.backward()", "return W.grad * 1.0"],
    ["if bad:", "    W.add_(1.0)", "return x * W"],
    ["y = x.exp()", "if bad:", "    y.add_(1.0)", "return y.sum()"],   # exp saves its output
    ["y = x * W", "y.backward(None if bad else gt.ones_like(y))", "return W.grad * 1.0"],
    ["y = (x.sigmoid() * W)", "z = y.sum()", "if bad:", "    x.data.mul_(2.0)",
     "    y.sin_()", "z.backward()", "return W.grad + 0.0"],
    ["g = gt.autograd.grad((x * 2.0).sum(), W if bad else x)", "return g[0]"],
    ["y = x.detach() if bad else x", "(g,) = gt.autograd.grad((y * W).sum(), x)", "return g"],
    ["y = (x * W).sum()", "gt.autograd.grad(y, x, retain_graph=not bad)",
     "(g,) = gt.autograd.grad(y, W)", "return g"],
    ["y = x.numpy() if bad else x.detach().numpy()", "return gt.from_numpy(y.copy()) * 2.0"],
]


@kind
def autograd_misuse(ch: Chooser) -> Scenario:
    """Autograd errors eager raises at a flagged call: a second backward without
    retain_graph, an in-place write to a leaf requiring grad or to a tensor saved for
    backward, a non-scalar backward without gradient, autograd.grad of an unused or
    detached input, numpy() of a tensor requiring grad."""
    calls = ch.integer(2, 4)
    lines = ch.choice(AUTOGRAD_MISUSE)
    bad_call = ch.integer(0, calls - 1)
    return Scenario("", "", source(
        "W = gt.randn(3, 4, requires_grad=True)",
        "def target(x, bad):\n" + "\n".join("    " + line for line in lines),
        "def make_args(call):\n"
        f"    return (gt.randn(3, 4, requires_grad=True), call == {bad_call})",
        "def observe():\n    return {'W': W}"),
        calls=calls, expect_eager_error="RuntimeError")
