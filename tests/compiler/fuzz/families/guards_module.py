"""Guard traps on modules and optimizers: attributes, hooks, submodules, parameters and
captured tensors changed between calls of a compiled function (or compiled module), and
optimizer learning rates changed by a scheduler, by hand, or after ``load_state_dict``.
"""

from __future__ import annotations

from ..choice import Chooser
from ..scenario import Scenario
from .common import between_block, chain, randn, schedule, source

KINDS = {}


def kind(fn):
    KINDS[fn.__name__] = fn
    return fn


def _target(ch: Chooser, model: str = "model") -> str:
    """The compiled object: the module itself or a function calling it."""
    style = ch.choice(["module", "function", "function_post"])
    if style == "module":
        return f"target = {model}"
    if style == "function":
        return f"def target(x):\n    return {model}(x)"
    return f"def target(x):\n    return {chain(ch, f'{model}(x)')}"


def _args(shape=(5, 4), requires_grad: bool = False) -> str:
    return f"def make_args(call):\n    return ({randn(shape, requires_grad=requires_grad)},)"


NET = """\
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 3)
        self.scale = 1.5
        self.use_act = True
        self.mode = 'tanh'
        self.calls = 0

    def forward(self, x):
        y = self.lin(x) * self.scale
        if self.use_act:
            y = getattr(gt, self.mode)(y)
        return y

model = Net()"""


@kind
def module_attribute(ch: Chooser) -> Scenario:
    """Plain float/bool/str attributes of a user module used in forward, changed between
    calls; or a counter attribute forward increments itself."""
    calls = ch.integer(3, 5)
    net = NET
    if ch.integer(0, 3) == 0:
        net = net.replace("        y = self.lin(x) * self.scale",
                          "        self.calls += 1\n        y = self.lin(x) * self.calls")
        changes = {}
    else:
        options = ["model.scale = {f}", "model.use_act = not model.use_act",
                   "model.mode = 'sigmoid'", "model.mode = 'relu'", "model.scale = 1.5"]
        changes = {c: [ch.choice(options).format(f=ch.real(-2, 2))]
                   for c in schedule(ch, calls)}
    return Scenario("", "", source(
        net, _target(ch), _args(), between_block(changes) if changes else "",
        "def observe():\n    return {'model': model, 'calls': model.calls}"), calls=calls)


BUILTIN_ATTRIBUTES = {
    # layer: (constructor, [changes]); {m} is the layer's path
    "dropout": ("nn.Dropout(0.5)", ["{m}.p = 0.0", "{m}.p = 0.25", "{m}.p = 0.9",
                                     "{m}.eval()", "{m}.train()"]),
    "leaky": ("nn.LeakyReLU(0.1)", ["{m}.negative_slope = 0.5", "{m}.negative_slope = -1.0"]),
    "softmax": ("nn.Softmax(dim=1)", ["{m}.dim = 0", "{m}.dim = -1", "{m}.dim = 1"]),
    "logsoftmax": ("nn.LogSoftmax(dim=1)", ["{m}.dim = 0"]),
    "elu": ("nn.ELU(alpha=1.0)", ["{m}.alpha = 0.25", "{m}.alpha = 2.0"]),
    "hardtanh": ("nn.Hardtanh(-1.0, 1.0)", ["{m}.min_val = -0.1", "{m}.max_val = 0.2"]),
    "softplus": ("nn.Softplus(beta=1.0)", ["{m}.beta = 3.0", "{m}.threshold = 0.5"]),
    "batchnorm": ("nn.BatchNorm1d(6)", ["{m}.eps = 0.5", "{m}.momentum = 0.9",
                                         "{m}.momentum = None", "{m}.eval()", "{m}.train()"]),
    "rrelu": ("nn.RReLU(0.1, 0.3)", ["{m}.lower = 0.0", "{m}.upper = 0.5", "{m}.eval()"]),
    "threshold": ("nn.Threshold(0.1, 20.0)", ["{m}.threshold = -0.5", "{m}.value = 0.0"]),
    "train_eval": ("nn.Dropout(0.3)", ["model.eval()", "model.train()"]),
}


@kind
def builtin_module_attribute(ch: Chooser) -> Scenario:
    """Attributes of PyTorch's own layers (Dropout.p, LeakyReLU.negative_slope, Softmax.dim,
    BatchNorm eps/momentum, train/eval, ...) changed between calls."""
    calls = ch.integer(3, 5)
    name = ch.choice(list(BUILTIN_ATTRIBUTES))
    ctor, options = BUILTIN_ATTRIBUTES[name]
    changes = {c: [ch.choice(options).format(m="model[1]")] for c in schedule(ch, calls)}
    return Scenario("", "", source(
        f"model = nn.Sequential(nn.Linear(4, 6), {ctor}, nn.Linear(6, 3))",
        _target(ch), _args(requires_grad=ch.boolean()), between_block(changes),
        "def after(call, out):\n    out.sum().backward() if out.requires_grad else None",
        "def observe():\n    return {'model': model}"), calls=calls)


HOOKS = [
    "model[0].register_forward_hook(lambda m, inp, out: out * 2.0)",
    "model.register_forward_hook(lambda m, inp, out: out + 1.0)",
    "model[2].register_forward_pre_hook(lambda m, args: (args[0].clamp(-0.1, 0.1),))",
    "model.register_forward_pre_hook(lambda m, args: (args[0] * -1.0,))",
    "model[0].register_forward_hook(lambda m, inp, out: LOG.append(tuple(out.shape)))",
]


@kind
def hooks(ch: Chooser) -> Scenario:
    """Forward hooks and pre-hooks registered before compiling, added after compiling, or
    removed between calls (also hooks with Python side effects)."""
    calls = ch.integer(3, 5)
    initial = ch.subset(HOOKS[:2] + HOOKS[4:])[:1]
    changes = {}
    for c in schedule(ch, calls):
        if ch.boolean():
            changes[c] = [f"HANDLES.append({ch.choice(HOOKS)})"]
        else:
            changes[c] = ["HANDLES.pop(0).remove() if HANDLES else None"]
    return Scenario("", "", source(
        "LOG = []\nmodel = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 3))",
        "HANDLES = [" + ", ".join(initial) + "]",
        _target(ch), _args(), between_block(changes),
        "def observe():\n    return {'model': model, 'LOG': list(LOG)}"), calls=calls)


SWAPS = [
    "model.lin = nn.Linear(4, 3)",
    "model.act = nn.Sigmoid()",
    "model.act = nn.Identity()",
    "model.lin = nn.Sequential(nn.Linear(4, 2), nn.Linear(2, 3))",
    "model.extra = nn.Linear(3, 3)",
    "del model.extra",
]


@kind
def submodule_swap(ch: Chooser) -> Scenario:
    """A submodule replaced (``m.lin = nn.Linear(...)``), added or deleted between calls."""
    calls = ch.integer(3, 5)
    changes = {}
    has_extra = False
    for c in schedule(ch, calls):
        stmt = ch.choice(SWAPS)
        if stmt == "del model.extra" and not has_extra:
            stmt = "model.extra = nn.Linear(3, 3)"
        has_extra = stmt.startswith("model.extra") or (has_extra and "del" not in stmt)
        changes[c] = [stmt]
    return Scenario("", "", source(
        """\
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.lin = nn.Linear(4, 3)
                self.act = nn.Tanh()

            def forward(self, x):
                y = self.act(self.lin(x))
                if hasattr(self, 'extra'):
                    y = self.extra(y)
                return y

        model = Net()""",
        _target(ch), _args(), between_block(changes),
        "def observe():\n    return {'model': model}"), calls=calls)


PARAM_CHANGES = [
    "model.lin.weight = nn.Parameter(gt.randn(3, 4))",
    "model.lin.weight.data = gt.randn(3, 4)",
    "model.lin.bias = None",
    "model.lin.bias = nn.Parameter(gt.ones(3))",
    "with gt.no_grad():\n    model.lin.weight.mul_(2.0)",
    "model.lin.weight.data.fill_(0.5)",
    # strict=False: after `bias = None` the new state dict's bias is an unexpected key
    "model.lin.load_state_dict(nn.Linear(4, 3).state_dict(), strict=False)",
    "model.lin.weight.requires_grad_(False)",
    "model.lin.weight.requires_grad_(True)",
]


@kind
def parameter_swap(ch: Chooser) -> Scenario:
    """A parameter replaced, its ``.data`` reassigned or mutated, loaded from a state dict,
    or its requires_grad flipped between calls; gradients are compared too."""
    calls = ch.integer(3, 5)
    changes = {c: [ch.choice(PARAM_CHANGES)] for c in schedule(ch, calls)}
    return Scenario("", "", source(
        """\
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.lin = nn.Linear(4, 3)

            def forward(self, x):
                return gt.tanh(self.lin(x))

        model = Net()""",
        _target(ch), _args(),
        "def after(call, out):\n    out.sum().backward() if out.requires_grad else None",
        between_block(changes), "def observe():\n    return {'model': model}"), calls=calls)


CAPTURED_CHANGES = [
    "{w}.mul_(2.0)", "{w}.copy_(gt.randn(4))", "{w}[0] = 5.0", "{w}.data = gt.randn(4)",
    "{w}.add_(1.0)", "{w}.zero_()", "{w}.data.fill_(-1.0)", "{w}.clamp_(max=0.1)",
]


@kind
def captured_tensor(ch: Chooser) -> Scenario:
    """A tensor captured by the function (global, closure, dict entry, plain module
    attribute or registered buffer) mutated in place (or its ``.data`` reassigned)."""
    calls = ch.integer(3, 5)
    where = ch.choice(["global", "closure", "dict", "attribute", "buffer"])
    read = {"global": "W", "closure": "w", "dict": "TABLE['w']", "attribute": "model.w",
            "buffer": "model.b"}[where]
    use = ch.choice(["{x} * {w}.sum()", "{x} * {w}", "{x} @ {w}", "{x} + {w}.max()"])
    y = chain(ch, "x")
    body = use.format(x=y, w=read)
    state = {
        "global": f"W = gt.ones(4)\ndef target(x):\n    return {body}",
        "closure": f"def make():\n    w = gt.ones(4)\n    def target(x):\n"
                   f"        return {body}\n    return target, w\ntarget, w = make()",
        "dict": f"TABLE = {{'w': gt.ones(4)}}\ndef target(x):\n    return {body}",
        "attribute": "model = nn.Module()\nmodel.w = gt.ones(4)\n"
                     f"def target(x):\n    return {body}",
        "buffer": "model = nn.Module()\nmodel.register_buffer('b', gt.ones(4))\n"
                  f"def target(x):\n    return {body}",
    }[where]
    changes = {c: [ch.choice(CAPTURED_CHANGES).format(w=read)] for c in schedule(ch, calls)}
    return Scenario("", "", source(
        state, _args((3, 4)), between_block(changes),
        f"def observe():\n    return {{'captured': {read}}}"), calls=calls)


LR_CHANGES = [
    "opt.param_groups[0]['lr'] = {lr}",
    "SCHED.step()",
    "opt.load_state_dict(SAVED)",
    "opt.load_state_dict(opt.state_dict())",
    "for g in opt.param_groups:\n    g['lr'] *= 0.5",
    "opt.param_groups[0]['momentum'] = 0.5",
    "opt.param_groups[0]['weight_decay'] = 0.1",
]


@kind
def optimizer_lr(ch: Chooser) -> Scenario:
    """A compiled SGD step whose learning rate (and other hyper-parameters) change by a
    scheduler, by hand, and after ``opt.load_state_dict`` (later changes must still count)."""
    calls = ch.integer(4, 6)
    momentum = ch.choice([0.0, 0.9])
    sched = ch.choice(["gt.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)",
                       "gt.optim.lr_scheduler.ExponentialLR(opt, gamma=0.7)",
                       "gt.optim.lr_scheduler.LambdaLR(opt, lambda e: 1.0 / (e + 1))"])
    changes = {}
    for c in schedule(ch, calls, min_changes=2):
        stmts = [ch.choice(LR_CHANGES).format(lr=ch.real(0.01, 0.5))]
        if ch.boolean():
            stmts.append(ch.choice(LR_CHANGES[:2]).format(lr=ch.real(0.01, 0.5)))
        changes[c] = stmts
    return Scenario("", "", source(
        "model = nn.Linear(4, 2)",
        f"opt = gt.optim.SGD(model.parameters(), lr=0.1, momentum={momentum})",
        f"SCHED = {sched}",
        "SAVED = opt.state_dict()",
        """\
        def target(x, y):
            opt.zero_grad()
            loss = ((model(x) - y) ** 2).mean()
            loss.backward()
            opt.step()
            return loss""",
        "def make_args(call):\n    return (gt.randn(6, 4), gt.randn(6, 2))",
        between_block(changes),
        "def observe():\n    return {'model': model, 'opt': opt, 'sched': SCHED}"), calls=calls)
