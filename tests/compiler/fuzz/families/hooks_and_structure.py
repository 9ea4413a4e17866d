"""Hooks and module structure around compiled code: tensor hooks (``register_hook`` on
arguments, parameters and intermediates, ``register_post_accumulate_grad_hook``), module full
backward (pre-)hooks, forward (pre-)hooks with kwargs / prepend / always_call, hooks added
and removed between calls; ModuleList / ModuleDict / Sequential / ParameterList /
ParameterDict indexed, sliced, iterated and measured inside the function and appended,
replaced or deleted between calls; ``load_state_dict``, ``train()/eval()`` and
``requires_grad_(False)`` freezing between calls, gradients compared after a backward."""

from __future__ import annotations

from ..choice import Chooser
from ..scenario import Scenario
from .common import AFTER_BACKWARD, between_block, chain, indent, schedule, source

KINDS = {}


def kind(fn):
    KINDS[fn.__name__] = fn
    return fn


TENSOR_HOOK_BODIES = [
    # hooks on tensors made inside the function
    ["h = {y}", "h.register_hook(lambda g: g * 2.0)", "return h * W"],
    ["h = {y}", "h.register_hook(lambda g: g.clamp(-0.1, 0.1))", "return (h * W).sum(0)"],
    ["h = {y}", "h.register_hook(lambda g: LOG.append(float(g.sum())))", "return h * W"],
    ["h = {y}", "h.retain_grad()", "(h * W).sum().backward()", "return h.grad * 1.0"],
    ["h = {y}", "h.register_hook(lambda g: g + 1.0)", "(h * W).sum().backward()",
     "return h.detach()"],
    # a hook on the argument (outlives the call in eager: one more per call)
    ["x.register_hook(lambda g: g * 3.0)", "return {y} * W"],
    ["h = {y} * W", "h.backward(gt.ones_like(h))", "return W.grad * 1.0"],
]


@kind
def tensor_hooks(ch: Chooser) -> Scenario:
    """``register_hook`` / ``retain_grad`` on intermediates and arguments inside the function
    (backward after or inside the call); hooks on a captured parameter registered and
    removed between calls, also post-accumulate-grad hooks."""
    calls = ch.integer(2, 4)
    lines = [line.format(y=chain(ch, "x", 2)) for line in ch.choice(TENSOR_HOOK_BODIES)]
    changes = {}
    for c in schedule(ch, calls, min_changes=0):
        changes[c] = [ch.choice([
            "HANDLES.append(W.register_hook(lambda g: g * 0.5))",
            "HANDLES.append(W.register_hook(lambda g: LOG.append(g.shape) or g))",
            "HANDLES.append(W.register_post_accumulate_grad_hook("
            "lambda p: p.grad.mul_(2.0)))",
            "HANDLES.pop(0).remove() if HANDLES else None",
            "W.grad = None",
        ])]
    return Scenario("", "", source(
        "LOG = []", "HANDLES = []", "W = gt.randn(3, 4, requires_grad=True)",
        "def target(x):\n" + indent(lines),
        "def make_args(call):\n    return (gt.randn(3, 4, requires_grad=True),)",
        AFTER_BACKWARD, between_block(changes) if changes else "",
        "def observe():\n    return {'W': W, 'LOG': list(LOG)}"), calls=calls)


BACKWARD_HOOKS = [
    "model[0].register_full_backward_hook(lambda m, gin, gout: None if gin[0] is None "
    "else (gin[0] * 0.5,))",
    "model[2].register_full_backward_hook(lambda m, gin, gout: LOG.append(len(gout)))",
    "model[2].register_full_backward_pre_hook(lambda m, gout: (gout[0].clamp(-0.05, 0.05),))",
    "model.register_full_backward_hook(lambda m, gin, gout: None)",
    "model[1].register_full_backward_pre_hook(lambda m, gout: (gout[0] * 2.0,))",
]


@kind
def backward_hooks(ch: Chooser) -> Scenario:
    """Module full backward hooks and backward pre-hooks (changing gradients, or only
    logging), registered before compiling or between calls, removed between calls; the
    backward inside the compiled step or after the call."""
    calls = ch.integer(3, 5)
    initial = ch.subset(BACKWARD_HOOKS)[:1]
    changes = {}
    for c in schedule(ch, calls):
        if ch.boolean():
            changes[c] = [f"HANDLES.append({ch.choice(BACKWARD_HOOKS)})"]
        else:
            changes[c] = ["HANDLES.pop(0).remove() if HANDLES else None"]
    inside = ch.boolean()
    if inside:
        target = ("def target(x):\n    model.zero_grad()\n    out = model(x)\n"
                  "    out.pow(2).sum().backward()\n    return out.detach()")
        after = ""
    else:
        target = "target = model" if ch.boolean() else \
            "def target(x):\n    return model(x) * 2.0"
        after = AFTER_BACKWARD
    return Scenario("", "", source(
        "LOG = []",
        "model = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 3))",
        "HANDLES = [" + ", ".join(initial) + "]", target,
        f"def make_args(call):\n    return (gt.randn(6, 4, requires_grad={ch.boolean()}),)",
        after, between_block(changes),
        "def observe():\n    return {'model': model, 'LOG': list(LOG)}"), calls=calls)


FORWARD_HOOKS = [
    "model.lin.register_forward_hook(lambda m, args, kwargs, out: out * kwargs.get('k', 1.0),"
    " with_kwargs=True)",
    "model.register_forward_pre_hook(lambda m, args, kwargs: ((args[0] * 2.0,), "
    "{**kwargs, 'k': 0.5}), with_kwargs=True)",
    "model.register_forward_hook(lambda m, args, out: out + 1.0, prepend=True)",
    "model.register_forward_hook(lambda m, args, out: out * -1.0)",
    "model.register_forward_hook(lambda m, args, out: LOG.append(out.shape[0]), "
    "always_call=True)",
    "model.lin.register_forward_pre_hook(lambda m, args: None)",
    "model.register_forward_hook(lambda m, args, kwargs, out: out.sum(-1, keepdim=True) "
    "if kwargs.get('k') == 0.5 else None, with_kwargs=True)",
]


@kind
def forward_hooks_kwargs(ch: Chooser) -> Scenario:
    """Forward hooks and pre-hooks with ``with_kwargs=True`` (reading and replacing kwargs),
    ``prepend=True``, ``always_call=True``, registered before compiling or added and removed
    between calls; the module called with a keyword argument."""
    calls = ch.integer(3, 5)
    initial = ch.subset(FORWARD_HOOKS)[:2]
    changes = {}
    for c in schedule(ch, calls):
        changes[c] = [f"HANDLES.append({ch.choice(FORWARD_HOOKS)})" if ch.boolean()
                      else "HANDLES.pop(0).remove() if HANDLES else None"]
    k = ch.choice(["1.5", "0.5", "-1.0"])
    call = ch.choice([f"model(x, k={k})", "model(x)", f"model(x, k={k}) * 2.0"])
    return Scenario("", "", source(
        """\
        LOG = []
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.lin = nn.Linear(4, 3)

            def forward(self, x, k=1.0):
                return gt.tanh(self.lin(x)) * k

        model = Net()""",
        "HANDLES = [" + ", ".join(initial) + "]",
        f"def target(x):\n    return {call}",
        f"def make_args(call):\n    return (gt.randn(5, 4, requires_grad={ch.boolean()}),)",
        AFTER_BACKWARD, between_block(changes),
        "def observe():\n    return {'model': model, 'LOG': list(LOG)}"), calls=calls)


CONTAINER_NET = """\
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(4, 4) for _ in range(3)])
        self.heads = nn.ModuleDict({'a': nn.Linear(4, 2), 'b': nn.Linear(4, 2)})
        self.seq = nn.Sequential(nn.Tanh(), nn.Linear(4, 4), nn.Sigmoid())
        self.scales = nn.ParameterList([nn.Parameter(gt.ones(4) * (i + 1)) for i in range(2)])
        self.extra = nn.ParameterDict({'shift': nn.Parameter(gt.zeros(4))})
        self.head = 'a'
        self.factors = [1.0, 0.5]          # plain Python containers, mutated in place
        self.offsets = {'a': gt.zeros(4)}

    def forward(self, x):
%s

model = Net()"""

CONTAINER_BODIES = [
    ["for layer in self.layers:", "    x = gt.tanh(layer(x))", "return self.heads[self.head](x)"],
    ["for i, layer in enumerate(self.layers[1:]):", "    x = layer(x) * self.scales[i % "
     "len(self.scales)]", "return self.heads['b'](x)"],
    ["x = self.layers[-1](x) + self.seq[1:](x)", "for name, head in self.heads.items():",
     "    x = x + head(x).sum(-1, keepdim=True) * (1.0 if name == 'a' else -1.0)",
     "return x * len(self.layers)"],
    ["x = self.seq(x)", "for p in self.scales:", "    x = x * p",
     "return x + self.extra['shift']"],
    ["for layer, scale in zip(self.layers, self.scales):", "    x = layer(x) * scale",
     "x = self.seq[:-1](x)", "return x[:, :len(self.heads)]"],
    ["x = self.layers[len(self.layers) - 1](x)", "for key in sorted(self.extra.keys()):",
     "    x = x + self.extra[key]", "return self.seq[-1](x)"],
    ["for f in self.factors:", "    x = self.layers[0](x) * f",
     "for name, off in self.offsets.items():", "    x = x + off", "return x"],
    ["for i, (f, layer) in enumerate(zip(reversed(self.factors), self.layers)):",
     "    x = layer(x) * f + i", "return x + sum(self.offsets.values())"],
]

CONTAINER_CHANGES = [
    "model.layers.append(nn.Linear(4, 4))",
    "model.layers[0] = nn.Linear(4, 4)",
    "del model.layers[1]",
    "model.layers.insert(0, nn.Identity())",
    "model.heads['c'] = nn.Linear(4, 2)",
    "model.heads['a'] = nn.Linear(4, 2, bias=False)",
    "model.head = 'b'",
    "model.seq[1] = nn.Linear(4, 4)",
    "model.seq.append(nn.ReLU())",
    "model.scales.append(nn.Parameter(gt.full((4,), 0.5)))",
    "model.scales[0] = nn.Parameter(gt.randn(4))",
    "model.extra['bias'] = nn.Parameter(gt.ones(4))",
    "model.extra['shift'] = nn.Parameter(gt.full((4,), 2.0))",
    "model.layers.extend([nn.Tanh(), nn.Linear(4, 4)])",
    "model.factors.append(2.0)",
    "model.factors[0] = -1.0",
    "model.factors.pop()",
    "model.offsets['b'] = gt.ones(4)",
    "model.offsets['a'].add_(1.0)",
    "model.offsets['a'] = gt.full((4,), 3.0)",
]


@kind
def containers(ch: Chooser) -> Scenario:
    """ModuleList / ModuleDict / Sequential / ParameterList / ParameterDict indexed (also
    negative), sliced, iterated, zipped and measured with ``len`` in forward; items
    appended, inserted, replaced or deleted between calls."""
    calls = ch.integer(3, 5)
    body = ch.choice(CONTAINER_BODIES)
    changes = {c: [ch.choice(CONTAINER_CHANGES)] for c in schedule(ch, calls)}
    return Scenario("", "", source(
        CONTAINER_NET % indent(body, 8), "target = model" if ch.boolean() else
        "def target(x):\n    return model(x)",
        "def make_args(call):\n    return (gt.randn(5, 4),)",
        AFTER_BACKWARD, between_block(changes),
        "def observe():\n    return {'model': model}"), calls=calls)


STATE_CHANGES = [
    "model.load_state_dict(SAVED)",
    "model.load_state_dict(OTHER.state_dict())",
    "model[0].load_state_dict(nn.Linear(4, 6).state_dict())",
    "model.eval()",
    "model.train()",
    "model[2].eval()",
    "model[0].requires_grad_(False)",
    "model.requires_grad_(True)",
    "model[3].weight.requires_grad_(False)",
    "model.zero_grad()",
    "model.zero_grad(set_to_none=False)",
    "model.float() if model[0].weight.dtype == gt.float64 else model.double()",
]


@kind
def state_changes(ch: Chooser) -> Scenario:
    """``load_state_dict`` (saved, another model's, a submodule's), ``train()/eval()`` of the
    whole model or one layer, ``requires_grad_(False)`` freezing and unfreezing, zero_grad
    between calls of a compiled forward (or training step); gradients accumulate."""
    calls = ch.integer(3, 5)
    changes = {c: [ch.choice(STATE_CHANGES)] for c in schedule(ch, calls)}
    step = ch.boolean()
    if step:
        target = ("def target(x):\n    out = model(x)\n    loss = out.pow(2).mean()\n"
                  "    loss.backward()\n    with gt.no_grad():\n"
                  "        for p in model.parameters():\n"
                  "            if p.grad is not None:\n                p.sub_(0.1 * p.grad)\n"
                  "    return loss.detach()")
        after = ""
    else:
        target = "target = model" if ch.boolean() else \
            "def target(x):\n    return model(x).sum(-1)"
        after = AFTER_BACKWARD
    return Scenario("", "", source(
        "def build():\n    return nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Dropout(0.4), "
        "nn.Linear(6, 3), nn.BatchNorm1d(3))",
        "model = build()", "OTHER = build()",
        "SAVED = {k: v.clone() for k, v in model.state_dict().items()}",
        target,
        "def make_args(call):\n    x = gt.randn(6, 4)\n"
        "    return (x if model[0].weight.dtype == gt.float32 else x.double(),)",
        after, between_block(changes),
        "def observe():\n    return {'model': model}"), calls=calls)


PATCHES = [
    "Net.forward = lambda self, x: self.lin(x) * 3.0",
    "Net.forward = FORWARD",
    "Net.helper = lambda self, h: h - 1.0",
    "Net.scale = -2.0",
    "model.forward = lambda x: model.lin(x).sin()",
    "if 'forward' in vars(model):\n    del model.forward",
    "model.helper = lambda h: h * 0.0",
    "if 'helper' in vars(model):\n    del model.helper",
]


@kind
def method_patches(ch: Chooser) -> Scenario:
    """The module's class patched between calls (``Net.forward = ...``, a helper method, a
    class attribute), or one instance's forward / helper replaced and restored; the
    compiled object is the module or a function calling it."""
    calls = ch.integer(3, 5)
    changes = {c: [ch.choice(PATCHES)] for c in schedule(ch, calls)}
    return Scenario("", "", source(
        """\
        class Net(nn.Module):
            scale = 1.0

            def __init__(self):
                super().__init__()
                self.lin = nn.Linear(4, 3)

            def helper(self, h):
                return h * self.scale

            def forward(self, x):
                return self.helper(gt.tanh(self.lin(x)))

        FORWARD = Net.forward
        model = Net()""",
        "target = model" if ch.boolean() else
        f"def target(x):\n    return {chain(ch, 'model(x)', 1)}",
        f"def make_args(call):\n    return (gt.randn(5, 4, requires_grad={ch.boolean()}),)",
        AFTER_BACKWARD, between_block(changes),
        "def observe():\n    return {'model': model}"), calls=calls)
