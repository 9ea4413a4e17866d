"""Random compositions of nn layers trained for a few steps, compiled vs eager from identical
initial states: Conv1d/2d, BatchNorm (train/eval toggled between calls), Dropout under the
per-call seed, LayerNorm/GroupNorm/InstanceNorm, Embedding with padding_idx, GRU/LSTM with
and without an initial state, MultiheadAttention with attention and key-padding masks,
TransformerEncoderLayer, pooling; the whole step compiled (forward, backward, optimizer
step) or the module compiled with backward and step outside; optimizers with schedulers.
Parameters, buffers (running statistics), gradients, optimizer state and losses are
compared after every call."""

from __future__ import annotations

from ..choice import Chooser
from ..scenario import Scenario
from .common import between_block, indent, source

KINDS = {}


def kind(fn):
    KINDS[fn.__name__] = fn
    return fn


# Shape-preserving blocks: (constructor, forward lines on `h` calling the block as `M`).
# Sequences are (4, 5, 8) batch-first; images (4, 3, 6, 6).
SEQ_BLOCKS = [
    ("nn.Linear(8, 8)", ["h = M(h)"]),
    ("nn.LayerNorm(8)", ["h = M(h)"]),
    ("nn.Dropout(0.3)", ["h = M(h)"]),
    ("nn.GELU()", ["h = M(h)"]),
    ("nn.GRU(8, 8, batch_first=True)", ["h = M(h)[0]"]),
    ("nn.GRU(8, 4, batch_first=True, bidirectional=True)", ["h, _ = M(h, H0_BI)"]),
    ("nn.LSTM(8, 8, batch_first=True)", ["h, (hn, cn) = M(h)", "h = h + hn[-1].unsqueeze(1)"]),
    ("nn.LSTM(8, 8, num_layers=2, batch_first=True, dropout=0.2)",
     ["h = M(h, (H0_2, C0_2))[0]"]),
    ("nn.MultiheadAttention(8, 2, batch_first=True)", ["h = M(h, h, h, attn_mask=CAUSAL)[0]"]),
    ("nn.MultiheadAttention(8, 2, batch_first=True, dropout=0.1)",
     ["h, w = M(h, h, h, key_padding_mask=PADDING)", "h = h + w.sum(-1, keepdim=True)"]),
    ("nn.Conv1d(8, 8, 3, padding=1)", ["h = M(h.transpose(1, 2)).transpose(1, 2)"]),
    ("nn.BatchNorm1d(8)", ["h = M(h.transpose(1, 2)).transpose(1, 2)"]),
    ("nn.TransformerEncoderLayer(8, 2, 16, dropout=0.1, batch_first=True)",
     ["h = M(h, src_key_padding_mask=PADDING)"]),
    ("nn.MaxPool1d(3, 1, 1)", ["h = M(h.transpose(1, 2)).transpose(1, 2)"]),
]
IMG_BLOCKS = [
    ("nn.Conv2d(3, 3, 3, padding=1)", ["h = M(h)"]),
    ("nn.Conv2d(3, 3, 3, padding=1, groups=3, bias=False)", ["h = M(h)"]),
    ("nn.BatchNorm2d(3)", ["h = M(h)"]),
    ("nn.BatchNorm2d(3, momentum=None)", ["h = M(h)"]),
    ("nn.ReLU()", ["h = M(h)"]),
    ("nn.MaxPool2d(3, 1, 1)", ["h = M(h)"]),
    ("nn.AvgPool2d(3, 1, 1)", ["h = M(h)"]),
    ("nn.Dropout2d(0.2)", ["h = M(h)"]),
    ("nn.GroupNorm(3, 3)", ["h = M(h)"]),
    ("nn.InstanceNorm2d(3, affine=True)", ["h = M(h)"]),
    ("nn.Conv2d(3, 6, 3, padding=1)", ["h = M(h)[:, :3] * M(h)[:, 3:].sigmoid()"]),
]
INPUTS = {
    "seq": ("gt.randn(4, 5, 8)", "h.mean(1)", SEQ_BLOCKS, "8"),
    "tokens": ("gt.randint(0, 10, (4, 5))", "h.mean(1)", SEQ_BLOCKS, "8"),
    "img": ("gt.randn(4, 3, 6, 6)", "h.mean((2, 3))", IMG_BLOCKS, "3"),
}
GLOBALS = """\
CAUSAL = gt.ones(5, 5).triu(1).bool()
PADDING = gt.tensor([[False] * 5, [False] * 3 + [True] * 2, [False] * 4 + [True], [False] * 5])
H0_BI = gt.randn(2, 4, 4)
H0_2, C0_2 = gt.randn(2, 4, 8), gt.randn(2, 4, 8)"""
# eps=1e-6: Adam's first step is lr * g / (|g| + eps), which turns a rounding difference in
# a gradient element as small as eps (1e-8 by default) into a visible parameter difference
OPTIMIZERS = ["gt.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)",
              "gt.optim.Adam(model.parameters(), lr=0.01, eps=1e-6)",
              "gt.optim.AdamW(model.parameters(), lr=0.01, weight_decay=0.1, eps=1e-6)",
              "gt.optim.RMSprop(model.parameters(), lr=0.01, eps=1e-6)"]


def _model(ch: Chooser, data: str) -> tuple[str, list[str]]:
    """(module-level source building `model` and `blocks`, forward lines on x)."""
    _, pool_expr, blocks, width = INPUTS[data]
    chosen = [ch.choice(blocks) for _ in range(ch.integer(1, 3))]
    ctors = [c for c, _ in chosen]
    lines = []
    if data == "tokens":
        ctors.insert(0, "nn.Embedding(10, 8, padding_idx=0)")
        lines.append("h = model[0](x)")
    else:
        lines.append("h = x")
    first = 1 if data == "tokens" else 0
    for k, (_, forward) in enumerate(chosen):
        lines += [line.replace("M(", f"model[{first + k}](") for line in forward]
    lines.append(f"return model[-1]({pool_expr})")
    ctors.append(f"nn.Linear({width}, 3)")
    build = "model = nn.ModuleList([\n" + indent([c + "," for c in ctors]) + "\n])"
    return build, lines


def _toggles(ch: Chooser, calls: int) -> dict[int, list[str]]:
    changes: dict[int, list[str]] = {}
    for c in range(calls - 1):
        picks = []
        if ch.integer(0, 2) == 0:
            picks.append(ch.choice(["model.eval()", "model.train()",
                                    "model[0].train(not model[0].training)"]))
        if ch.integer(0, 3) == 0:
            picks.append("opt.param_groups[0]['lr'] *= 0.5")
        if picks:
            changes[c] = picks
    return changes


@kind
def layer_stacks(ch: Chooser) -> Scenario:
    """A random stack of layers behind a head, trained: the whole step compiled, or the
    model's forward compiled with backward and the optimizer step outside."""
    data = ch.choice(list(INPUTS))
    build, forward = _model(ch, data)
    calls = ch.integer(3, 5)
    whole_step = ch.boolean()
    x_src = INPUTS[data][0]
    forward_def = "def forward(x):\n" + indent(forward)
    if whole_step:
        target = ("def target(x, y):\n    opt.zero_grad()\n    out = forward(x)\n"
                  "    loss = nn.functional.cross_entropy(out, y)\n    loss.backward()\n"
                  "    opt.step()\n    return loss.detach(), out.detach()")
        after = ""
    else:
        target = "def target(x, y):\n    return forward(x)"
        after = ("def after(call, out):\n    opt.zero_grad()\n"
                 "    nn.functional.cross_entropy(out, Y[call]).backward()\n    opt.step()")
    return Scenario("", "", source(
        GLOBALS, build, f"opt = {ch.choice(OPTIMIZERS)}", forward_def, target,
        f"Y = [gt.randint(0, 3, (4,)) for _ in range({calls})]",
        f"def make_args(call):\n    return ({x_src}, Y[call])", after,
        between_block(_toggles(ch, calls)),
        "def observe():\n    return {'model': model, 'opt': opt}"),
        calls=calls, compile_kwargs=ch.choice([{}, {}, {"dynamic": True}]))


@kind
def compiled_module(ch: Chooser) -> Scenario:
    """`gt.compile(module)` on a Sequential-like module of random layers, mode toggled
    between calls, backward and an SGD step after each call."""
    data = ch.choice(["seq", "img"])
    build, forward = _model(ch, data)
    calls = ch.integer(3, 5)
    return Scenario("", "", source(
        GLOBALS, build, f"opt = {ch.choice(OPTIMIZERS)}",
        "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.model = model\n    def forward(self, x):\n" +
        indent([line.replace("model", "self.model") for line in forward], 8),
        "target = Net()",
        f"def make_args(call):\n    return ({INPUTS[data][0]},)",
        "def after(call, out):\n    opt.zero_grad()\n    out.pow(2).mean().backward()\n"
        "    opt.step()",
        between_block(_toggles(ch, calls)),
        "def observe():\n    return {'model': model, 'opt': opt}"),
        calls=calls)
