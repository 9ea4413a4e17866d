"""Pytree outputs and inputs: nested tuples, lists (that must stay lists), dicts (key order
kept), namedtuples, None, Python numbers, strings, sizes and dtypes returned; nested
arguments; modules returning ``(out, (h, c))`` or ``(logits, None)``; returned losses that
require grad."""

from __future__ import annotations

from ..choice import Chooser
from ..scenario import Scenario
from .common import chain, source

KINDS = {}


def kind(fn):
    KINDS[fn.__name__] = fn
    return fn


LEAVES = ["y", "y * 2.0", "x", "y.sum()", "y[0]", "y.detach()", "None", "3", "2.5", "True",
          "'tag'", "y.shape", "y.dtype", "z", "-1", "x.shape[0]", "y.sum().item()",
          "(y > 0).any()", "y.argmax(dim=1)", "len(x)", "z.t()", "y.mean(dim=0)"]


def _tree(ch: Chooser, depth: int) -> str:
    if depth == 0 or ch.integer(0, 2) == 0:
        return ch.choice(LEAVES)
    n = ch.integer(0, 3)
    items = [_tree(ch, depth - 1) for _ in range(n)]
    shape = ch.choice(["tuple", "list", "dict", "namedtuple"])
    if shape == "tuple":
        return "(" + "".join(f"{i}, " for i in items) + ")"
    if shape == "list":
        return "[" + ", ".join(items) + "]"
    if shape == "namedtuple":
        items = (items + ["None", "None"])[:2]
        return f"Pair({items[0]}, {items[1]})"
    return "{" + ", ".join(f"'k{i}': {v}" for i, v in enumerate(items)) + "}"


@kind
def nested_output(ch: Chooser) -> Scenario:
    """A random pytree of tensors (inputs, views, intermediates) and Python values."""
    calls = ch.integer(2, 3)
    tree = _tree(ch, 3)
    grad = ch.boolean()
    return Scenario("", "", source(
        "import collections\nPair = collections.namedtuple('Pair', ['first', 'second'])",
        f"def target(x):\n    y = {chain(ch, 'x')} * 1.0\n    z = gt.tanh(y)\n"
        f"    return {tree}",
        f"def make_args(call):\n    return (gt.randn(3, 4, requires_grad={grad}),)"),
        calls=calls)


@kind
def nested_input(ch: Chooser) -> Scenario:
    """Nested arguments: lists and tuples of tensors and numbers, a dict of tensors."""
    calls = ch.integer(2, 3)
    style = ch.choice(["list", "tuple", "dict", "mixed"])
    args = {
        "list": "([gt.randn(3, 4), gt.randn(4)],)",
        "tuple": "((gt.randn(3, 4), (gt.randn(4), 0.5 * (call + 1))),)",
        "dict": "({'a': gt.randn(3, 4), 'b': gt.randn(4)},)",
        "mixed": "([gt.randn(3, 4), {'b': gt.randn(4)}, 2],)",
    }[style]
    read = {
        "list": "xs[0] * xs[1]", "tuple": "xs[0] * xs[1][0] + xs[1][1]",
        "dict": "xs['a'] + xs['b']", "mixed": "xs[0] * xs[1]['b'] * xs[2]",
    }[style]
    ret = ch.choice(["y", "(y, xs)", "[y, y.sum()]", "{'y': y, 'n': len(xs)}"])
    return Scenario("", "", source(
        f"def target(xs):\n    y = {chain(ch, read)}\n    return {ret}",
        f"def make_args(call):\n    return {args}"), calls=calls)


@kind
def module_outputs(ch: Chooser) -> Scenario:
    """Modules returning structured outputs: ``nn.LSTM`` ``(out, (h, c))``, a GPT-style
    ``(logits, None)`` / ``(logits, loss)``, a dict of heads."""
    calls = ch.integer(2, 3)
    style = ch.choice(["lstm", "gpt", "heads", "gru"])
    if style in ("lstm", "gru"):
        model = f"model = nn.{style.upper()}(4, 5, batch_first=True)"
        args = "(gt.randn(2, 3, 4),)"
    elif style == "gpt":
        model = """\
            class GPT(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.emb = nn.Embedding(10, 4)
                    self.head = nn.Linear(4, 10)

                def forward(self, idx, targets=None):
                    logits = self.head(self.emb(idx))
                    loss = None
                    if targets is not None:
                        loss = nn.functional.cross_entropy(logits.view(-1, 10), targets.view(-1))
                    return logits, loss

            model = GPT()"""
        args = ch.choice(["(gt.randint(0, 10, (2, 3)),)",
                          "(gt.randint(0, 10, (2, 3)), gt.randint(0, 10, (2, 3)))"])
    else:
        model = """\
            class Heads(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.a = nn.Linear(4, 2)
                    self.b = nn.Linear(4, 3)

                def forward(self, x):
                    return {'a': self.a(x), 'b': [self.b(x), None], 'n': x.shape[0]}

            model = Heads()"""
        args = "(gt.randn(5, 4),)"
    target = ch.choice(["target = model", "def target(*args):\n    return model(*args)"])
    return Scenario("", "", source(
        model, target, f"def make_args(call):\n    return {args}",
        """\
        def after(call, out):
            def leaves(t):
                if isinstance(t, gt.Tensor):
                    yield t
                elif isinstance(t, (tuple, list)):
                    for item in t:
                        yield from leaves(item)
                elif isinstance(t, dict):
                    for item in t.values():
                        yield from leaves(item)
            total = sum((t.float().sum() for t in leaves(out) if t.requires_grad),
                        gt.tensor(0.0))
            if total.requires_grad:
                total.backward()""",
        "def observe():\n    return {'model': model}"), calls=calls)
