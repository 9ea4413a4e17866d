"""Dynamic sizes with backward: ``dynamic=True`` and the automatic mode after a size change,
through reshape(-1, k), view(len(x), -1), slicing, cat, stack and recurrent layers before a
backward (inside the compiled function or after it); and data-dependent shapes
(``x[x > 0]``, masked_select, nonzero) with backward; views of an argument sized by its
dynamic dims, written through after the call."""

from __future__ import annotations

from ..choice import Chooser
from ..scenario import Scenario
from .common import chain, indent, source

KINDS = {}


def kind(fn):
    KINDS[fn.__name__] = fn
    return fn


def _sizes(ch: Chooser, calls: int) -> list[int]:
    """Batch sizes per call: repeats (the same graph must serve), growth and a smaller last
    batch (the classic crash), sizes of 1 now and then (a specialisation boundary)."""
    sizes = [ch.choice([4, 6])]
    for _ in range(calls - 1):
        sizes.append(ch.choice([sizes[-1], sizes[-1], 2, 3, 5, 7, 8, 1]))
    return sizes


# Ops between the input (n, 6) and the model (in features 6, or 3 after `half`).
SHAPE_OPS = [
    ("x.reshape(-1, 6)", 6), ("x.view(len(x), -1)", 6), ("x.reshape(-1, 3).view(-1, 6)", 6),
    ("x[:, 1:4]", 3), ("x[1:]", 6), ("gt.cat([x, x * 2.0], 0)", 6),
    ("gt.cat([x[:, :3], x[:, 3:]], 1)", 6), ("gt.stack([x, x.flip(0)], 0).sum(0)", 6),
    ("x.unsqueeze(1).reshape(x.shape[0], 6)", 6), ("x.t().reshape(6, -1).t()", 6),
    ("x.view(x.size(0), 2, 3).sum(1)", 3), ("x[x.shape[0] // 2:]", 6),
    ("x.reshape(x.shape[0] * 2, 3).view(-1, 6)", 6), ("x.expand(2, -1, -1).mean(0)", 6),
]


@kind
def shapes_with_backward(ch: Chooser) -> Scenario:
    """A model on size-dependent reshapes/slices/cats of a batch whose size changes, with
    backward inside the compiled function or after it."""
    calls = ch.integer(3, 5)
    sizes = _sizes(ch, calls)
    op, features = ch.choice(SHAPE_OPS)
    inside = ch.boolean()
    lines = [f"h = {op}", "y = model(h)", f"loss = {chain(ch, 'y', 1)}.pow(2).mean()"]
    if inside:
        lines += ["loss.backward()", "return loss.detach(), y.shape[0]"]
    else:
        lines += ["return loss"]
    mode = ch.choice([{"dynamic": True}, {}, {}])
    return Scenario("", "", source(
        f"model = nn.Sequential(nn.Linear({features}, 5), nn.Tanh(), nn.Linear(5, 2))",
        f"SIZES = {sizes}",
        "def target(x):\n" + indent(lines),
        "def make_args(call):\n    return (gt.randn(SIZES[call], 6, requires_grad=True),)",
        "" if inside else "def after(call, out):\n    out.backward()",
        "def observe():\n    return {'model': model}"), calls=calls, compile_kwargs=mode)


@kind
def recurrent_lengths(ch: Chooser) -> Scenario:
    """An RNN/LSTM/GRU classifier whose batch size and sequence length change (the last
    batch smaller), trained with SGD inside the compiled step."""
    calls = ch.integer(3, 5)
    cell = ch.choice(["RNN", "LSTM", "GRU"])
    batch = _sizes(ch, calls)
    lengths = [ch.choice([3, 4, 5]) for _ in range(calls)]
    out = "out, _ = rnn(x)" if cell != "LSTM" else "out, (h, c) = rnn(x)"
    mode = ch.choice([{"dynamic": True}, {}])
    return Scenario("", "", source(
        f"rnn = nn.{cell}(3, 4, batch_first=True)\nhead = nn.Linear(4, 2)",
        "opt = gt.optim.SGD(list(rnn.parameters()) + list(head.parameters()), lr=0.1)",
        f"BATCH = {batch}\nLENGTHS = {lengths}",
        f"""\
        def target(x, y):
            opt.zero_grad()
            {out}
            logits = head(out[:, -1])
            loss = nn.functional.cross_entropy(logits, y)
            loss.backward()
            opt.step()
            return loss""",
        "def make_args(call):\n    return (gt.randn(BATCH[call], LENGTHS[call], 3), "
        "gt.randint(0, 2, (BATCH[call],)))",
        "def observe():\n    return {'rnn': rnn, 'head': head, 'opt': opt}"),
        calls=calls, compile_kwargs=mode)


DATA_DEPENDENT = [
    "x[x > 0]", "gt.masked_select(x, x > 0.5)", "x[gt.nonzero(x > 0, as_tuple=True)]",
    "x.view(-1)[gt.nonzero(x.view(-1) < 0).squeeze(1)]", "x[(x > 0).any(dim=1)]",
    "gt.where(x > 0)[0].float() * x.sum()",
]


@kind
def data_dependent(ch: Chooser) -> Scenario:
    """Shapes that depend on values, followed by more ops and a backward."""
    calls = ch.integer(2, 4)
    op = ch.choice(DATA_DEPENDENT)
    tail = ch.choice(["s.sum()", "(s * 2.0).mean() if s.numel() else s.sum()", "s.pow(2).sum()",
                      "gt.cat([s, s]).sum()", "s.sum() + s.shape[0]", "s"])
    return Scenario("", "", source(
        f"def target(x):\n    s = {op}\n    return {tail}",
        "def make_args(call):\n    return (gt.randn(3 + call, 4, requires_grad=True),)",
        "def after(call, out):\n    out.sum().backward() if out.requires_grad else None"),
        calls=calls, compile_kwargs=ch.choice([{}, {"dynamic": True}]))


# Views of the input (n, 6) whose view arguments depend on n: eager returns views sharing
# the argument's memory (a write through them reaches it), whatever the size.
SIZED_VIEWS = [
    "x[: x.shape[0] // 2 + 1]", "x.view(x.shape[0] * 2, 3)", "x.narrow(0, 1, x.shape[0] - 1)",
    "x.view(-1)[: x.numel() // 2]", "x.reshape(x.shape[0], 2, 3)", "x[x.shape[0] - 1]",
    "x.t()[:, : len(x) - 1]", "x.unflatten(1, (2, 3))[:, 1]", "x.expand(2, x.shape[0], 6)",
]


@kind
def sized_views(ch: Chooser) -> Scenario:
    """Views of an argument sized by its dynamic dims, returned (with an op on them), then
    written through after the call: the argument must see the write as eager's does."""
    calls = ch.integer(3, 4)
    sizes = _sizes(ch, calls)
    view = ch.choice(SIZED_VIEWS)
    # an op's result on a permuted view with dynamic sizes keeps the program's layout, not
    # eager's (the known gap `compiler.outputs.UNKNOWN_LAYOUT` names): returned views only
    ret = ch.choice(["v", "(v.sum(), v)", "[v, x]"] + ([] if ".t()" in view else ["(v, v * 2.0)"]))
    write = "" if "expand" in view else ch.choice(
        ["outs[0].mul_(0.5)", "outs[0].add_(1.0)", "outs[0].zero_()"])
    return Scenario("", "", source(
        f"SIZES = {sizes}",
        f"def target(x):\n    v = {view}\n    return {ret}",
        "ARGS = []",
        "def make_args(call):\n    x = gt.randn(SIZES[call], 6)\n    ARGS.append(x)\n"
        "    return (x,)",
        "def after(call, out):\n    outs = [t for t in (out if isinstance(out, (tuple, list)) "
        "else (out,)) if t.dim() > 0]\n    " + (write or "pass"),
        "def observe():\n    return {'args': list(ARGS)}"),
        calls=calls, compile_kwargs=ch.choice([{}, {"dynamic": True}]))
