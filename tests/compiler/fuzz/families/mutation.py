"""Mutation and aliasing: in-place ops on arguments and intermediates through every view kind,
views taken before and after the update of their base, mutated arguments returned, one
tensor passed twice, an argument that is a view of another, returns that alias inputs,
parameters or each other, ``out=``, and in-place shape changes (``t_``, ``unsqueeze_``) of
arguments, intermediates and views.

Arguments that require grad are passed as ``LEAF * 1.0`` (a non-leaf, so in-place updates are
legal) with the leaf kept in a global and observed, or as the leaf itself (then PyTorch's
"leaf Variable ... in-place" error is the expected eager result). Invalid programs (in-place
on an expanded view, an in-place update of a value backward needs) must raise the same
exception class compiled as eager: ``expect_eager_error`` is RuntimeError here.
"""

from __future__ import annotations

from ..choice import Chooser
from ..scenario import Scenario
from .common import chain, indent, source

KINDS = {}


def kind(fn):
    KINDS[fn.__name__] = fn
    return fn


# Views of a (3, 4) tensor {b}: PyTorch gives views for all but the ones marked as copies.
VIEWS = [
    "{b}[1:]", "{b}[:, 1:3]", "{b}[::2]", "{b}[0]", "{b}[:, -1]", "{b}.select(1, 2)",
    "{b}.narrow(1, 1, 2)", "{b}.view(-1)", "{b}.view(4, 3)", "{b}.view(2, 6)",
    "{b}.reshape(-1)", "{b}.reshape(6, 2)", "{b}.flatten()", "{b}.t()", "{b}.transpose(0, 1)",
    "{b}.permute(1, 0)", "{b}.unsqueeze(0)", "{b}.unsqueeze(-1)", "{b}[None]",
    "{b}.unsqueeze(1).squeeze(1)", "{b}.diagonal()", "{b}.diagonal(1)", "{b}.unbind(0)[1]",
    "{b}.split(2, dim=1)[1]", "{b}.chunk(2, 1)[0]", "{b}.chunk(3)[2]", "{b}.detach()",
    "{b}.data", "{b}.t()[1]", "{b}.view_as({b})", "{b}.expand(3, 4)", "{b}.mT",
    "{b}.movedim(0, 1)", "{b}[..., 1:]", "{b}[1:].t()[::2]", "{b}.view(-1)[2:5]",
    "{b}.T.reshape(2, 6)",                  # a copy (non-contiguous reshape)
    "{b}.t().contiguous().view(-1)",        # a copy
    "{b}[[0, 2]]",                          # a copy (advanced indexing)
    "{b}[:1].expand(3, 4)",                 # writes to it are an error
]

# In-place updates of {v}; {o} is an operand that may require grad.
UPDATES = [
    "{v}.add_({o})", "{v}.mul_({o})", "{v}.sub_({o}, alpha=0.5)", "{v}.div_(2.0)",
    "{v}.clamp_(-0.3, 0.3)", "{v}.zero_()", "{v}.fill_(1.5)",
    "{v}.copy_(gt.zeros_like({v}) + {o})", "{v}.relu_()",
    "{v}.neg_()", "{v}.masked_fill_({v} > 0, 0.0)", "{v}[...] = 2.0", "{v} += {o}",
    "{v} *= 1.5", "{v}.sigmoid_()",
    "{v}.addcmul_({v}, gt.zeros_like({v}) + {o}, value=0.5)",
    "gt.add({v}, {o}, out={v})", "{v}.tanh_()", "{v}.pow_(2)", "{v}.lerp_({v} * 0.0, 0.5)",
]

OPERANDS = ["1.5", "x1.sum() * 0.1", "x1.mean()", "x1.max()", "gt.tensor(0.25)"]


def _leaf_args(ch: Chooser, grads: tuple, shapes: tuple, as_leaf: bool = False) -> tuple:
    """make_args source and observe source for arguments x0, x1 (leaves in globals)."""
    lines = ["global LEAVES", "LEAVES = []", "args = []"]
    for flag, shape in zip(grads, shapes):
        dims = ", ".join(map(str, shape))
        if flag:
            lines.append(f"leaf = gt.randn({dims}, requires_grad=True)")
            lines.append("LEAVES.append(leaf)")
            lines.append("args.append(leaf)" if as_leaf else "args.append(leaf * 1.0)")
        else:
            lines.append(f"args.append(gt.randn({dims}))")
    lines.append("return tuple(args)")
    return ("LEAVES = []\ndef make_args(call):\n" + indent(lines),
            "def observe():\n    return {'leaves': list(LEAVES)}")


def _backward_after(ch: Chooser) -> str:
    """Backward through every returned tensor that requires grad, with fixed weights."""
    return """\
        def after(call, out):
            outs = [t for t in (out if isinstance(out, (tuple, list)) else (out,))
                    if isinstance(t, gt.Tensor) and t.requires_grad]
            if outs:
                loss = sum(((t * gt.linspace(-1.0, 1.0, t.numel()).view(t.shape)).sum()
                            for t in outs), gt.tensor(0.0))
                loss.backward()"""


@kind
def view_inplace(ch: Chooser) -> Scenario:
    """An in-place update through a random view (chain) of an argument or an intermediate,
    with views taken before and after the update, returning any mix of them."""
    calls = ch.integer(2, 4)
    grads = (ch.boolean(), ch.boolean())
    base_is_arg = ch.boolean()
    lines = []
    if base_is_arg:
        lines.append("b = x0")
    else:
        lines.append(f"b = {ch.choice(['x0 * 1.0', 'x0.clone()', chain(ch, 'x0', 1) + ' * 1.0'])}")
    early = ch.choice(VIEWS)
    if ch.boolean():
        lines.append(f"w = {early.format(b='b')}")
    else:
        lines.append("w = b[0]")
    view = ch.choice(VIEWS).format(b="b")
    if ch.boolean():   # a view of a view
        view = ch.choice(["{b}[0]", "{b}.t()", "{b}.view(-1)" if "[::2]" not in view else "{b}",
                          "{b}.unsqueeze(0)", "{b}.reshape(-1)", "{b}.detach()"]).format(
            b=f"({view})")
    lines.append(f"v = {view}")
    for _ in range(ch.integer(1, 2)):
        update = ch.choice(UPDATES).format(v="v", o=ch.choice(OPERANDS))
        lines.append(update)
    lines.append(f"u = {ch.choice(VIEWS).format(b='b')}")
    picks = ch.subset(["b", "v", "w", "u", "x0", "b * 2.0", "v.sum()", "x1"], min_size=1)
    ret = picks[0] if len(picks) == 1 else "(" + ", ".join(picks) + ")"
    lines.append(f"return {ret}")
    make_args, observe = _leaf_args(ch, grads, ((3, 4), (4,)))
    return Scenario("", "", source(
        "def target(x0, x1):\n" + indent(lines), make_args, observe, _backward_after(ch)),
        calls=calls, expect_eager_error="RuntimeError")


@kind
def argument_mutation(ch: Chooser) -> Scenario:
    """An argument updated in place (fresh tensors every call, or the same global tensor
    every call), then returned, returned as a view, returned twice, or not returned."""
    calls = ch.integer(2, 4)
    view = ch.choice(["x", "x[0]", "x.view(-1)", "x.t()", "x.reshape(-1)", "x.detach()",
                      "x.data"])
    update = ch.choice(UPDATES).format(v="v", o=ch.choice(["1.5", "y.sum() * 0.1", "y.mean()"]))
    ret = ch.choice(["x", "x * 2", "(x, x)", "x[1]", "x.view(-1)", "(x, y)", "y + x",
                     "[x, x.t()]", "None", "x.sum()"])
    persistent = ch.boolean()
    grad_y = ch.boolean()
    first = "A" if persistent else "gt.randn(3, 4)"
    args = f"({first}, gt.randn(4, requires_grad={grad_y}) * 1.0)"
    return Scenario("", "", source(
        "A = gt.randn(3, 4)",
        f"def target(x, y):\n    v = {view}\n    {update}\n    return {ret}",
        f"def make_args(call):\n    return {args}",
        "def observe():\n    return {'A': A}", _backward_after(ch)),
        calls=calls, expect_eager_error="RuntimeError")


@kind
def shared_arguments(ch: Chooser) -> Scenario:
    """The same tensor passed twice, or an argument that is a view of another argument,
    with an in-place update through one and a read through the other."""
    calls = ch.integer(2, 4)
    pair = ch.choice(["(A, A)", "(A, A[0])", "(A, A.t())", "(A, A.view(-1))", "(A, A[:, 1])",
                      "(A, A.detach())", "(A[0], A[1])", "(A, B)"])
    update = ch.choice(["a.add_(1.0)", "b.mul_(2.0)", "a.zero_()", "b.fill_(3.0)",
                        "a[0] = 7.0", "b.copy_(b * 0.0 + 0.5)", "a.clamp_(-0.1, 0.1)"])
    ret = ch.choice(["a + b.sum()", "(a, b)", "b * 1.0", "a.sum() + b.sum()", "b",
                     "(b * 2.0, a)"])
    return Scenario("", "", source(
        "A = gt.randn(3, 4)\nB = gt.randn(3, 4)",
        f"def target(a, b):\n    {update}\n    return {ret}",
        f"def make_args(call):\n    return {pair}",
        "def observe():\n    return {'A': A, 'B': B}"), calls=calls)


@kind
def return_aliases(ch: Chooser) -> Scenario:
    """Returns that alias an input, a view of an input, a parameter, a buffer, or each other
    (object identity and shared memory must be as eager)."""
    calls = ch.integer(2, 3)
    ret = ch.choice(["x", "(x, x)", "x.view(-1)", "x[0]", "model.weight", "(y, y)",
                     "(y, y.view(-1))", "(x, y, x)", "{'a': x, 'b': y, 'c': y}",
                     "model.running", "x.detach()", "(model.weight, model(x))", "x.data",
                     "[x, x.t()]", "x.reshape(3, 4)", "x.contiguous()", "x.to(gt.float32)",
                     "x.float()", "x.clone()", "x.expand(3, 4)", "y.reshape(-1)"])
    return Scenario("", "", source(
        "model = nn.Linear(4, 4)\nmodel.register_buffer('running', gt.zeros(4))",
        f"def target(x):\n    y = {chain(ch, 'x', 1)} + 0.0\n    return {ret}",
        f"def make_args(call):\n    return (gt.randn(3, 4, requires_grad={ch.boolean()}),)",
        "def observe():\n    return {'model': model}"), calls=calls)


@kind
def out_argument(ch: Chooser) -> Scenario:
    """``out=`` into an argument, into an intermediate, or aliasing an input."""
    calls = ch.integer(2, 3)
    op = ch.choice(["gt.add(x, 1.0, out={o})", "gt.mul(x, y, out={o})",
                    "gt.tanh(x, out={o})", "gt.matmul(x, y.t(), out={o})",
                    "gt.sum(x, 1, out={o})", "gt.clamp(x, -0.5, 0.5, out={o})"])
    shape = {"matmul": "(3, 3)", "sum": "(3,)"}
    out_shape = next((s for k, s in shape.items() if k in op), "(3, 4)")
    dest = ch.choice(["buf", "tmp", "x" if out_shape == "(3, 4)" else "tmp"])
    ret = ch.choice([dest, f"{dest} * 2.0", f"(x, {dest})"])
    lines = [f"tmp = gt.empty{out_shape}" if dest == "tmp" else "", op.format(o=dest),
             f"return {ret}"]
    lines = [x for x in lines if x]
    return Scenario("", "", source(
        "def target(x, y, buf):\n" + indent(lines),
        f"def make_args(call):\n    return (gt.randn(3, 4), gt.randn(3, 4), "
        f"gt.zeros{out_shape})"), calls=calls)


@kind
def leaf_inplace(ch: Chooser) -> Scenario:
    """In-place updates of leaves that require grad (an error in eager and PyTorch), of
    their ``.data``/``detach()`` aliases (allowed, no autograd record), and under no_grad."""
    calls = ch.integer(2, 3)
    body = ch.choice(["x.add_(1.0)", "x.data.mul_(2.0)", "x.detach().clamp_(-0.3, 0.3)",
                      "with gt.no_grad():\n        x.mul_(0.5)", "x[0] = 1.0",
                      "x.detach()[0] = 1.0", "x.data[1:] = 0.0"])
    make_args, observe = _leaf_args(ch, (True, False), ((3, 4), (4,)), as_leaf=True)
    return Scenario("", "", source(
        f"def target(x0, x1):\n    x = x0\n    {body}\n    return x * x1",
        make_args, observe, _backward_after(ch)),
        calls=calls, expect_eager_error="RuntimeError")


# In-place shape changes of {v}: eager changes that very tensor object's shape and strides.
METADATA_UPDATES = ["{v}.t_()", "{v}.transpose_(0, 1)", "{v}.unsqueeze_(0)", "{v}.squeeze_()",
                    "{v}.unsqueeze_(-1)", "{v}.t_().t_()"]


@kind
def metadata_inplace(ch: Chooser) -> Scenario:
    """``t_``/``transpose_``/``unsqueeze_``/``squeeze_`` on an argument, an intermediate or a
    view of either, then ops on it and on the base; the argument's new shape is observed."""
    calls = ch.integer(2, 3)
    target = ch.choice(["x0", "x0 * 1.0", "x0[:, 1:]", "(x0 * 1.0)[:, :2]", "x0.t()[1:]"])
    lines = [f"v = {target}", ch.choice(METADATA_UPDATES).format(v="v")]
    if ch.boolean():
        lines.append(ch.choice(["v.mul_(2.0)", "v.add_(x1.sum())", "v.zero_()"]))
    picks = ch.subset(["v", "v + 0.0", "v.sum(0)", "x0", "x0 * 2.0", "v.shape[0]"], min_size=1)
    lines.append(f"return ({', '.join(picks)},)")
    make_args, observe = _leaf_args(ch, (ch.boolean(), ch.boolean()), ((3, 4), (4,)))
    return Scenario("", "", source(
        "def target(x0, x1):\n" + indent(lines), make_args, observe, _backward_after(ch)),
        calls=calls, expect_eager_error="RuntimeError")
