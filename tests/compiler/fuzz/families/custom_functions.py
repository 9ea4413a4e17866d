"""Custom differentiation inside compiled functions: ``gt.autograd.Function`` subclasses
(saved tensors and outputs, ctx attributes, non-tensor arguments, ``needs_input_grad``,
``mark_non_differentiable``, ``mark_dirty``, ``set_materialize_grads``, ``setup_context``
style, ``once_differentiable``, backwards that differ from the forward's true derivative),
``gt.func`` transforms (grad, grad_and_value, vmap, jacrev, functional_call),
``autograd.grad`` with create_graph / retain_graph / allow_unused / grad_outputs, and
``utils.checkpoint``; the backward runs inside the call, after it, or not at all."""

from __future__ import annotations

from ..choice import Chooser
from ..scenario import Scenario
from .common import AFTER_BACKWARD, chain, indent, source

KINDS = {}


def kind(fn):
    KINDS[fn.__name__] = fn
    return fn


# name -> (class source, how to apply it to `{x}` (a float tensor of shape (3, 4)) giving
# one differentiable tensor of the same shape). Several backwards are deliberately not
# the forward's derivative: a compiled backward derived from the forward would be wrong.
FUNCTIONS = {
    "exp_saved_output": ("""\
class ExpFn(gt.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        y = x.clamp(-3.0, 3.0).exp()
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_out):
        (y,) = ctx.saved_tensors
        return grad_out * y""", "ExpFn.apply({x})"),
    "scale_attribute": ("""\
class ScaleFn(gt.autograd.Function):
    @staticmethod
    def forward(ctx, x, scale, shift=0.0):
        ctx.scale = scale
        return x * scale + shift

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out * ctx.scale, None, None""", "ScaleFn.apply({x}, {s}, 0.25)"),
    "straight_through": ("""\
class RoundSTE(gt.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return (x * 2.0).round() / 2.0

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out""", "RoundSTE.apply({x})"),
    "clip_grad": ("""\
class ClipGrad(gt.autograd.Function):
    @staticmethod
    def forward(ctx, x, bound):
        ctx.bound = bound
        return x.clone()

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out.clamp(-ctx.bound, ctx.bound) * 3.0, None""", "ClipGrad.apply({x}, 0.1)"),
    "needs_input_grad": ("""\
class MulFn(gt.autograd.Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad_out):
        a, b = ctx.saved_tensors
        grad_a = grad_out * b if ctx.needs_input_grad[0] else None
        grad_b = grad_out * a * 2.0 if ctx.needs_input_grad[1] else None
        return grad_a, grad_b""", "MulFn.apply({x}, W)"),
    "setup_context": ("""\
class Cube(gt.autograd.Function):
    @staticmethod
    def forward(x, k):
        return x * x * x * k

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, k = inputs
        ctx.save_for_backward(x)
        ctx.k = k

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * 3.0 * x * x * ctx.k + 0.5, None""", "Cube.apply({x}, {s})"),
    "once_differentiable": ("""\
class SinOnce(gt.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.sin()

    @staticmethod
    @gt.autograd.function.once_differentiable
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * x.cos()""", "SinOnce.apply({x})"),
    "non_differentiable_output": ("""\
class SplitSign(gt.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        sign = (x > 0).float()
        ctx.mark_non_differentiable(sign)
        ctx.save_for_backward(sign)
        return x.abs(), sign

    @staticmethod
    def backward(ctx, grad_abs, grad_sign):
        (sign,) = ctx.saved_tensors
        return grad_abs * (2.0 * sign - 1.0)""", "(lambda p: p[0] + p[1])(SplitSign.apply({x}))"),
    "materialize_off": ("""\
class TwoOut(gt.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.set_materialize_grads(False)
        return x * 2.0, x * 3.0

    @staticmethod
    def backward(ctx, grad_a, grad_b):
        grad = gt.zeros_like(grad_a if grad_a is not None else grad_b)
        if grad_a is not None:
            grad = grad + grad_a * 2.0
        if grad_b is not None:
            grad = grad + grad_b * 3.0
        return grad""", "TwoOut.apply({x})[0]"),
    "mark_dirty": ("""\
class DoubleInPlace(gt.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        x.mul_(2.0)
        ctx.mark_dirty(x)
        return x

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out * 2.0""", "DoubleInPlace.apply({x} * 1.0)"),
    "int_argument_grad": ("""\
class PowFn(gt.autograd.Function):
    @staticmethod
    def forward(ctx, x, n):
        ctx.save_for_backward(x)
        ctx.n = n
        return x ** n

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * ctx.n * x ** (ctx.n - 1), None""", "PowFn.apply({x}, 2)"),
}


def _apply(ch: Chooser, name: str, x: str) -> str:
    return FUNCTIONS[name][1].format(x=x, s=ch.choice(["1.5", "-0.5", "2.0"]))


@kind
def function_apply(ch: Chooser) -> Scenario:
    """One or two custom Functions applied in the compiled function (to an argument, a
    captured weight, or an intermediate), backward after the call or inside it, grads of
    the argument and the weight compared; some calls under no_grad."""
    calls = ch.integer(2, 4)
    names = ch.subset(list(FUNCTIONS), min_size=1)[:2]
    classes = [FUNCTIONS[n][0] for n in names]
    y = chain(ch, "x", 1)
    for name in names:
        y = chain(ch, _apply(ch, name, y), 1)
    style = ch.choice(["after", "inside", "inside_grad", "none"])
    body = {
        "after": [f"y = {y}", "return y * W.sum()" if ch.boolean() else "return y"],
        "inside": [f"y = {y}", "(y * G).sum().backward()", "return y.detach(), x.grad"],
        "inside_grad": [f"y = {y}", "gx, gw = gt.autograd.grad((y * G).sum(), (x, W))",
                        "return gx * 1.0, gw + 0.0"],
        "none": [f"y = {y}", "return y.detach()"],
    }[style]
    invoke = ""
    if style in ("after", "none") and ch.integer(0, 3) == 0:
        invoke = "def invoke(fn, args):\n    with gt.no_grad():\n        return fn(*args)"
    return Scenario("", "", source(
        "W = gt.randn(3, 4, requires_grad=True)", "G = gt.randn(3, 4)", *classes,
        "def target(x):\n" + indent(body),
        "def make_args(call):\n    return (gt.randn(3, 4, requires_grad=True),)",
        invoke, AFTER_BACKWARD if style == "after" else "",
        "def observe():\n    return {'W': W}"), calls=calls,
        expect_eager_error="RuntimeError")


@kind
def function_in_module(ch: Chooser) -> Scenario:
    """A module whose forward calls a custom Function on its parameter and input, in a
    compiled training step (zero_grad, forward, backward, SGD step) or compiled alone."""
    calls = ch.integer(3, 5)
    name = ch.choice([n for n in FUNCTIONS if n not in ("mark_dirty", "needs_input_grad")])
    applied = _apply(ch, name, "self.lin(x)")
    net = f"""\
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 4)

    def forward(self, x):
        return {chain(ch, applied, 1)}

model = Net()
opt = gt.optim.SGD(model.parameters(), lr=0.1)"""
    whole_step = ch.boolean()
    if whole_step:
        target = ("def target(x):\n    opt.zero_grad()\n    loss = (model(x) ** 2).mean()\n"
                  "    loss.backward()\n    opt.step()\n    return loss.detach()")
        after = ""
    else:
        target = "target = model"
        after = ("def after(call, out):\n    opt.zero_grad()\n    (out ** 2).mean().backward()"
                 "\n    opt.step()")
    return Scenario("", "", source(
        FUNCTIONS[name][0], net, target,
        "def make_args(call):\n    return (gt.randn(3, 4),)", after,
        "def observe():\n    return {'model': model}"), calls=calls)


FUNC_TRANSFORMS = [
    # (lines computing `r` from x (3, 4) and captured W (4,), M (4, 3))
    ["r = gt.func.grad(lambda w: ((x * w).sin().sum()))(W)"],
    ["g, v = gt.func.grad_and_value(lambda w: (x @ w).tanh().sum())(W)", "r = g * v"],
    ["r = gt.func.vmap(lambda row: (row * W).sum())(x)"],
    ["r = gt.func.vmap(lambda row, w: row @ w, in_dims=(0, None))(x, M)"],
    ["r = gt.func.vmap(gt.func.grad(lambda row: (row * W).cos().sum()))(x)"],
    ["r = gt.func.jacrev(lambda v: (v * W).tanh())(x[0])"],
    ["r = gt.func.grad(lambda w, b: ((x @ w) + b).pow(2).mean(), argnums=(0, 1))(M, B)",
     "r = r[0].sum() + r[1]"],
    ["params = {'weight': M.t() * 2.0, 'bias': B}",
     "r = gt.func.functional_call(LAYER, params, (x,))"],
    ["r = gt.func.functional_call(LAYER, dict(LAYER.named_parameters()), (x * 2.0,))"],
    ["r = gt.func.hessian(lambda v: (v ** 3).sum())(x[1])"],
]


@kind
def func_transforms(ch: Chooser) -> Scenario:
    """``gt.func`` transforms inside the compiled function: grad (argnums), grad_and_value,
    vmap (in_dims, of grad), jacrev, hessian, functional_call with replaced or the module's
    own parameters; the result may feed a backward after the call."""
    calls = ch.integer(2, 4)
    lines = list(ch.choice(FUNC_TRANSFORMS))
    lines.append(f"return {chain(ch, 'r', 1)}")
    between = ""
    if ch.boolean():
        between = "def between(call):\n    with gt.no_grad():\n        W.mul_(0.5)\n" \
                  "        LAYER.weight.add_(0.25)"
    return Scenario("", "", source(
        "W = gt.randn(4, requires_grad=True)", "M = gt.randn(4, 3)", "B = gt.randn(3)",
        "LAYER = nn.Linear(4, 3)",
        "def target(x):\n" + indent(lines),
        f"def make_args(call):\n    return (gt.randn(3, 4, requires_grad={ch.boolean()}),)",
        AFTER_BACKWARD, between,
        "def observe():\n    return {'W': W, 'LAYER': LAYER}"), calls=calls)


GRAD_BODIES = [
    # create_graph: a gradient penalty differentiated again after the call
    ["y = {y}", "(g,) = gt.autograd.grad(y.sum(), x, create_graph=True)",
     "return (g * g).sum() + y.sum()"],
    ["y = {y}", "(g,) = gt.autograd.grad(y, x, grad_outputs=gt.ones_like(y) * 2.0, "
     "create_graph=True)", "return g"],
    # retain_graph: two gradients of one graph
    ["y = {y}", "(g1,) = gt.autograd.grad(y.sum(), x, retain_graph=True)",
     "(g2,) = gt.autograd.grad((y * y).sum(), x)", "return g1 + g2"],
    # allow_unused: a None gradient returned
    ["y = {y}", "g1, g2 = gt.autograd.grad(y.sum(), (x, U), allow_unused=True)",
     "return g1, g2"],
    ["y = {y}", "g1, g2 = gt.autograd.grad(y.sum(), (x, U), allow_unused=True, "
     "materialize_grads=True)", "return g1, g2"],
    # a gradient with respect to a captured weight, then backward into both
    ["y = ({y}) * W", "(gw,) = gt.autograd.grad(y.sum(), W, create_graph=True)",
     "return gw.pow(2).sum() + y.mean()"],
    # second derivative inside the call
    ["y = {y}", "(g,) = gt.autograd.grad(y.sum(), x, create_graph=True)",
     "(h,) = gt.autograd.grad(g.sum(), x)", "return h"],
    ["y = {y}", "y.sum().backward(create_graph=True)", "r = x.grad * 1.0", "x.grad = None",
     "return r"],
]


@kind
def autograd_grad_options(ch: Chooser) -> Scenario:
    """``autograd.grad`` with create_graph (the result differentiated again after the call),
    retain_graph, allow_unused (None results), materialize_grads and grad_outputs; double
    backward inside the call; ``backward(create_graph=True)``."""
    calls = ch.integer(2, 4)
    y = chain(ch, ch.choice(["x * x", "x.sin() * x", "x.exp().clamp(max=5.0)", "x ** 3",
                             "gt.tanh(x) * 2.0"]), 1)
    lines = [line.format(y=y) for line in ch.choice(GRAD_BODIES)]
    return Scenario("", "", source(
        "W = gt.randn(3, 4, requires_grad=True)", "U = gt.randn(3, requires_grad=True)",
        "def target(x):\n" + indent(lines),
        "def make_args(call):\n    return (gt.randn(3, 4, requires_grad=True),)",
        AFTER_BACKWARD, "def observe():\n    return {'W': W, 'U': U}"), calls=calls)


@kind
def checkpointed(ch: Chooser) -> Scenario:
    """``utils.checkpoint.checkpoint`` (reentrant or not, with dropout under the preserved
    RNG state) and ``checkpoint_sequential`` inside the compiled function, backward after
    the call or inside it; parameters' gradients compared."""
    calls = ch.integer(2, 4)
    reentrant = ch.choice(["False", "True"])
    block = ch.choice(["nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 4))",
                       "nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Dropout(0.3), "
                       "nn.Linear(6, 4))",
                       "nn.Sequential(nn.Linear(4, 4), nn.GELU(), nn.LayerNorm(4))"])
    use = ch.choice([
        f"h = gt.utils.checkpoint.checkpoint(BLOCK, {chain(ch, 'x', 1)}, "
        f"use_reentrant={reentrant})",
        "h = gt.utils.checkpoint.checkpoint(lambda a, b: BLOCK(a) * b, x, x.sigmoid(), "
        f"use_reentrant={reentrant})",
        f"h = gt.utils.checkpoint.checkpoint_sequential(BLOCK, 2, x, "
        f"use_reentrant={reentrant})",
        f"h = gt.utils.checkpoint.checkpoint(BLOCK, x, use_reentrant={reentrant}, "
        "preserve_rng_state=False) * 0.0 + BLOCK(x).detach()",
    ])
    where = ch.choice(["after", "inside"])
    lines = [use, "h = " + chain(ch, "h", 1)]
    if where == "inside":
        lines += ["BLOCK.zero_grad()", "h.pow(2).mean().backward()",
                  "return h.detach(), BLOCK[0].weight.grad * 1.0"]
    else:
        lines.append("return h")
    return Scenario("", "", source(
        f"BLOCK = {block}",
        "def target(x):\n" + indent(lines),
        # inside: x requires grad (a reentrant checkpoint's output has no history without)
        "def make_args(call):\n    return (gt.randn(5, 4, requires_grad="
        f"{where == 'inside' or ch.boolean()}),)",
        AFTER_BACKWARD if where == "after" else "",
        "def observe():\n    return {'BLOCK': BLOCK}"), calls=calls)
