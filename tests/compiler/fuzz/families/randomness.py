"""Random numbers drawn inside compiled code: with the same seeds, compiled draws equal eager
draws call after call (reseeded before every call, or one stream continuing across calls),
from the default generator or an explicit `gt.Generator`, and the generators' states after
each call match (later draws of the user's program depend on them)."""

from __future__ import annotations

from ..choice import Chooser
from ..scenario import Scenario
from .common import chain, indent, source

KINDS = {}


def kind(fn):
    KINDS[fn.__name__] = fn
    return fn


# Draws of shape (3, 4) (or broadcastable to it); {x} is a (3, 4) float tensor, {g} the
# generator keyword (empty or ", generator=G").
DRAWS = [
    "gt.randn(3, 4{g})", "gt.rand(3, 4{g})", "gt.randint(0, 5, (3, 4){g}).float()",
    "gt.randn_like({x})", "gt.rand_like({x})", "gt.randint_like({x}, 0, 3)",
    "gt.normal(0.0, 2.0, size=(3, 4){g})", "gt.normal({x}.detach(), 0.5{g})",
    "gt.bernoulli(gt.sigmoid({x}.detach()){g})", "gt.nn.functional.dropout({x}, p=0.3)",
    "gt.empty(3, 4).uniform_(-1.0, 1.0{g})", "{x}.detach().clone().normal_({g0})",
    "gt.zeros(3, 4).bernoulli_(0.3{g})", "gt.empty(3, 4).exponential_({g0})",
    "gt.randperm(4{g}).float()", "gt.empty(3, 4).random_(0, 10{g})",
    "gt.nn.functional.dropout2d({x}.unsqueeze(0), p=0.5).squeeze(0)",
    "gt.nn.functional.alpha_dropout({x}, p=0.2, training=True)",
]


def _draw(ch: Chooser, x: str, generator: bool) -> str:
    template = ch.choice(DRAWS)
    g = ", generator=G" if generator and "{g" in template else ""
    return template.format(x=x, g=g, g0=g[2:])


@kind
def draws(ch: Chooser) -> Scenario:
    """1-3 draws combined with the input (some depend on its shape or values)."""
    calls = ch.integer(2, 4)
    generator = ch.integer(0, 3) == 0
    lines = [f"y = {chain(ch, 'x', 1)}"]
    for i in range(ch.integer(1, 3)):
        lines.append(f"r{i} = {_draw(ch, 'y', generator)}")
        lines.append(f"y = y {ch.choice(['*', '+', '-'])} r{i}")
    lines.append(f"return {ch.choice(['y', '(y, r0)', 'y.sum()', '[r0, y * 2.0]'])}")
    grad = ch.boolean()
    return Scenario("", "", source(
        "G = gt.Generator().manual_seed(7)",
        "def target(x):\n" + indent(lines),
        f"def make_args(call):\n    return (gt.randn(3, 4, requires_grad={grad}),)",
        "def after(call, out):\n    leaves = out if isinstance(out, (tuple, list)) else (out,)\n"
        "    grads = [t.sum() for t in leaves if t.requires_grad]\n"
        "    if grads:\n        sum(grads).backward()",
        "def observe():\n    return {'G': G.get_state()}"),
        calls=calls, reseed_each_call=ch.boolean())


@kind
def dropout_module(ch: Chooser) -> Scenario:
    """A model with Dropout layers in training mode, compiled as a module or through a
    function, with backward: masks must be drawn as eager draws them."""
    calls = ch.integer(2, 4)
    p = ch.choice([0.1, 0.5, 0.8])
    style = ch.choice(["module", "function"])
    target = "target = model" if style == "module" else \
        "def target(x):\n    return model(x).sum() * 1.0"
    return Scenario("", "", source(
        f"model = nn.Sequential(nn.Linear(4, 8), nn.Dropout({p}), nn.ReLU(), "
        f"nn.Linear(8, 3), nn.Dropout({ch.choice([0.0, 0.3])}))",
        target,
        "def make_args(call):\n    return (gt.randn(5, 4),)",
        "def after(call, out):\n    out.sum().backward()",
        "def observe():\n    return {'model': model}"),
        calls=calls, reseed_each_call=ch.boolean())


@kind
def reparameterization(ch: Chooser) -> Scenario:
    """A VAE-style reparameterisation ``mu + std * eps`` with gradients to mu and logvar,
    and noise injection into a layer's input."""
    calls = ch.integer(2, 4)
    noise = ch.choice(["gt.randn_like(std)", "gt.randn(std.shape)",
                       "gt.empty_like(std).normal_()", "gt.rand_like(std) - 0.5"])
    return Scenario("", "", source(
        "enc = nn.Linear(4, 6)\ndec = nn.Linear(3, 4)",
        f"""\
        def target(x):
            h = enc(x + 0.1 * gt.randn_like(x))
            mu, logvar = h[:, :3], h[:, 3:]
            std = gt.exp(0.5 * logvar)
            z = mu + std * {noise}
            recon = dec(z)
            kl = -0.5 * gt.sum(1 + logvar - mu.pow(2) - logvar.exp())
            return ((recon - x) ** 2).sum() + kl""",
        "def make_args(call):\n    return (gt.randn(5, 4),)",
        "def after(call, out):\n    out.backward()",
        "def observe():\n    return {'enc': enc, 'dec': dec}"),
        calls=calls, reseed_each_call=ch.boolean())
