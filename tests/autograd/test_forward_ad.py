"""`gt.autograd.forward_ad` against torch 2.13's forward-mode AD: tangents of ops (float64),
a small MLP, in-place ops and views, custom Functions with `jvp`, the API's errors, the
forward-AD tutorial, and gt.compile with dual tensors."""

from __future__ import annotations

import logging

import numpy as np
import pytest

import graphtorch as gt

torch = pytest.importorskip("torch")


def _tangent_out(lib, fn, primals, tangents):
    """fn's outputs' tangents (numpy) with dual `primals` (numpy arrays) in `lib`."""
    fwad = lib.autograd.forward_ad
    with fwad.dual_level():
        duals = [fwad.make_dual(lib.tensor(p), lib.tensor(t)) for p, t in zip(primals, tangents)]
        out = fn(lib, *duals)
        outs = out if isinstance(out, tuple) else (out,)
        result = []
        for o in outs:
            primal, tangent = fwad.unpack_dual(o)
            result.append((primal.detach().numpy().copy(),
                           None if tangent is None else tangent.detach().numpy().copy()))
    return result


def _check_against_torch(fn, *shapes, seed=0):
    rng = np.random.default_rng(seed)
    primals = [rng.standard_normal(s) for s in shapes]
    tangents = [rng.standard_normal(s) for s in shapes]
    expected = _tangent_out(torch, fn, primals, tangents)
    got = _tangent_out(gt, fn, primals, tangents)
    assert len(got) == len(expected)
    for (gp, gtan), (ep, etan) in zip(got, expected):
        np.testing.assert_allclose(gp, ep, rtol=1e-10, atol=1e-12)
        assert (gtan is None) == (etan is None)
        if etan is not None:
            assert gtan.shape == etan.shape
            np.testing.assert_allclose(gtan, etan, rtol=1e-9, atol=1e-11)


CASES = {
    "mul_add_pow": (lambda lib, x, y: x * y + x ** 3 - 2.0 * y, (3, 4), (3, 4)),
    "broadcast_div": (lambda lib, x, y: x / (y.exp() + 1), (3, 4), (4,)),
    "unary": (lambda lib, x: lib.tanh(x).sin() + lib.sigmoid(x) * x.abs(), (5, 3)),
    "matmul": (lambda lib, a, b: a @ b, (3, 4), (4, 2)),
    "batched_matmul": (lambda lib, a, b: lib.matmul(a, b), (2, 3, 4), (4, 5)),
    "sum_mean": (lambda lib, x: (x.sum(dim=1), x.mean(), x.var(dim=0)), (4, 5)),
    "max_amax": (lambda lib, x: (x.max(dim=1).values, x.amax(), x.max(dim=0).indices),
                 (4, 5)),
    "views": (lambda lib, x: x.t()[1:, ::2].reshape(-1).unsqueeze(0).expand(3, -1) * 1.0,
              (4, 5)),
    "view_alone": (lambda lib, x: x.transpose(0, 1)[2], (4, 5)),
    "indexing": (lambda lib, x: x[lib.tensor([0, 2, 2])] + x[:3, 1:2], (4, 3)),
    "gather_cat": (lambda lib, x, y: lib.cat([x, y.gather(1, lib.tensor([[0, 1], [1, 0]]))],
                                             dim=1), (2, 3), (2, 2)),
    "softmax": (lambda lib, x: (lib.softmax(x, dim=-1), lib.log_softmax(x, dim=0)), (3, 6)),
    "conv2d": (lambda lib, x, w, b: lib.nn.functional.conv2d(x, w, b, padding=1, stride=2),
               (2, 3, 7, 7), (4, 3, 3, 3), (4,)),
    "where_clamp": (lambda lib, x: lib.where(x > 0, x, x * 0.1).clamp(-0.5, 0.7), (6,)),
    "mse_loss": (lambda lib, x, y: lib.nn.functional.mse_loss(x, y), (4, 3), (4, 3)),
    "floor_zero_tangent": (lambda lib, x: lib.floor(x), (5,)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_op_tangents_match_torch(name):
    fn, *shapes = CASES[name]
    _check_against_torch(fn, *shapes)


def test_small_mlp_matches_torch():
    def mlp(lib, x, w1, b1, w2, b2):
        h = lib.nn.functional.relu(lib.nn.functional.linear(x, w1, b1))
        out = lib.nn.functional.linear(lib.tanh(h), w2, b2)
        target = lib.tensor([0, 2, 1, 1])
        return lib.nn.functional.cross_entropy(out, target), out

    _check_against_torch(mlp, (4, 6), (8, 6), (8,), (3, 8), (3,))


def test_inplace_and_views_match_torch():
    def fn(lib, x, y):
        z = x.clone()
        z.mul_(y)
        z[1:].add_(x[1:])
        w = lib.zeros(4, 3, dtype=lib.float64)
        w.copy_(z)
        v = w[:, 0]
        w.add_(1.0)  # v's tangent is a view of w's
        return z, w, v * 1.0

    _check_against_torch(fn, (4, 3), (4, 3))


def test_api_semantics():
    fwad = gt.autograd.forward_ad
    p, t = gt.randn(3, dtype=gt.float64), gt.randn(3, dtype=gt.float64)
    with pytest.raises(RuntimeError, match="no level exists"):
        fwad.make_dual(p, t)
    assert fwad.unpack_dual(p) == (p, None)
    with fwad.dual_level() as level:
        assert level == 0
        d = fwad.make_dual(p, t)
        assert not d.requires_grad and d.grad_fn is None and d._base is p
        unpacked = fwad.unpack_dual(d)
        assert type(unpacked).__name__ == "UnpackedDualTensor"
        assert unpacked.tangent is t and unpacked.primal._base is p
        assert fwad.unpack_dual(fwad.make_dual(p, gt.randn(3, 1).t().reshape(3))).tangent \
            is not None
        assert fwad.unpack_dual(p).tangent is None
        out = d * 2
        assert not out.requires_grad and out.grad_fn is None
        assert fwad.unpack_dual(d > 0).tangent is None
        with gt.no_grad():  # grad mode does not switch forward AD off, as in PyTorch
            assert fwad.unpack_dual(d * 2).tangent is not None
        with pytest.raises(RuntimeError, match="Nested forward mode AD"):
            fwad.enter_dual_level()
        with pytest.raises(RuntimeError, match="already has a forward gradient"):
            fwad.make_dual(d, t)
        with pytest.raises(RuntimeError, match="different size"):
            fwad.make_dual(p, gt.randn(4, dtype=gt.float64))
        with pytest.raises(ValueError, match="Expected primal to be floating point"):
            fwad.make_dual(gt.arange(3), t)
    assert fwad.unpack_dual(out).tangent is None  # the level's tangents are gone
    with pytest.raises(RuntimeError, match="Dual level must be a positive number"):
        fwad.exit_dual_level()
    level = fwad.enter_dual_level()
    with pytest.raises(RuntimeError, match="not the last one"):
        fwad.exit_dual_level(level=level + 1)
    fwad.exit_dual_level(level=level)


def test_no_hooks_outside_a_level():
    from graphtorch.autograd import function
    from graphtorch.ops import dispatch, interpose

    with gt.autograd.forward_ad.dual_level():
        assert interpose.installed()
    assert not interpose.installed()
    assert dispatch.forward_ad_inplace[0] is None and function.forward_ad_apply[0] is None


def test_custom_function_jvp():
    class Fn(gt.autograd.Function):
        @staticmethod
        def forward(ctx, x, scale):
            inner = gt.autograd.forward_ad.unpack_dual(x).tangent
            ctx.inner_was_dual = inner is not None
            ctx.result = gt.exp(x) * scale
            return ctx.result

        @staticmethod
        def jvp(ctx, x_t, scale_t):
            return x_t * ctx.result + scale_t * ctx.result / 2

    fwad = gt.autograd.forward_ad
    x, t = gt.randn(3, dtype=gt.float64), gt.randn(3, dtype=gt.float64)
    two = gt.full((3,), 2.0, dtype=gt.float64)
    with fwad.dual_level():
        out = Fn.apply(fwad.make_dual(x, t), two)
        tangent = fwad.unpack_dual(out).tangent
    np.testing.assert_allclose(tangent.numpy(), (t * 2 * x.exp()).numpy(), rtol=1e-12)

    class NoJvp(gt.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

    with fwad.dual_level():
        with pytest.raises(NotImplementedError, match="must implement the jvp"):
            NoJvp.apply(fwad.make_dual(x, t))
        assert NoJvp.apply(x) is not None  # no dual input: jvp is not needed


def test_underivable_op_raises_naming_it(monkeypatch):
    """A vjp computed outside graphtorch's ops gives no tangent: NotImplementedError."""
    from graphtorch.ops import elementwise

    op = gt.ops.registry.get_op("sin") if hasattr(gt, "ops") else None
    op = op or elementwise.SIN
    original = op.vjp

    def opaque_vjp(ctx, grad_out):
        (x,) = ctx.inputs
        return (gt.Tensor._wrap(grad_out._data * np.cos(x._data)),)

    object.__setattr__(op, "vjp", opaque_vjp)
    try:
        fwad = gt.autograd.forward_ad
        with fwad.dual_level():
            d = fwad.make_dual(gt.randn(4, dtype=gt.float64), gt.randn(4, dtype=gt.float64))
            with pytest.raises(NotImplementedError, match="sin"):
                gt.sin(d)
    finally:
        object.__setattr__(op, "vjp", original)


def test_compiled_function_runs_eagerly_with_dual_tensors(caplog):
    fwad = gt.autograd.forward_ad

    @gt.compile
    def f(x):
        return (x.sin() * x).sum()

    x, t = gt.randn(5, dtype=gt.float64), gt.randn(5, dtype=gt.float64)
    f(x)  # compiled outside any level
    with caplog.at_level(logging.INFO, logger="graphtorch"), fwad.dual_level():
        out = f(fwad.make_dual(x, t))
        tangent = fwad.unpack_dual(out).tangent
    assert tangent is not None
    expected = ((x.cos() * x + x.sin()) * t).sum()
    np.testing.assert_allclose(tangent.numpy(), expected.numpy(), rtol=1e-12)
    assert any("forward-AD" in r.getMessage() for r in caplog.records)


# The tutorial's code; its imports become names bound from `torch` (graphtorch or torch).
TUTORIAL = '''
fwAD = torch.autograd.forward_ad
nn = torch.nn
functional_call = torch.func.functional_call

torch.manual_seed(0)
primal = torch.randn(10, 10)
tangent = torch.randn(10, 10)

def fn(x, y):
    return x ** 2 + y ** 2

with fwAD.dual_level():
    dual_input = fwAD.make_dual(primal, tangent)
    assert fwAD.unpack_dual(dual_input).tangent is tangent
    dual_input_alt = fwAD.make_dual(primal, tangent.T)
    assert fwAD.unpack_dual(dual_input_alt).tangent is not tangent
    plain_tensor = torch.randn(10, 10)
    dual_output = fn(dual_input, plain_tensor)
    jvp = fwAD.unpack_dual(dual_output).tangent
    print(jvp[0, :3])
assert fwAD.unpack_dual(dual_output).tangent is None

model = nn.Linear(5, 5)
input = torch.randn(16, 5)
params = {name: p for name, p in model.named_parameters()}
tangents = {name: torch.rand_like(p) for name, p in params.items()}
with fwAD.dual_level():
    for name, p in params.items():
        delattr(model, name)
        setattr(model, name, fwAD.make_dual(p, tangents[name]))
    out = model(input)
    jvp = fwAD.unpack_dual(out).tangent
    print(jvp[0])

model = nn.Linear(5, 5)
dual_params = {}
with fwAD.dual_level():
    for name, p in params.items():
        dual_params[name] = fwAD.make_dual(p, tangents[name])
    out = functional_call(model, dual_params, input)
    jvp = fwAD.unpack_dual(out).tangent
    print(jvp[0])

class Fn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, foo):
        result = torch.exp(foo)
        ctx.result = result
        return result

    @staticmethod
    def jvp(ctx, gI):
        gO = gI * ctx.result
        del ctx.result
        return gO

fn = Fn.apply
primal = torch.randn(10, 10, dtype=torch.double, requires_grad=True)
tangent = torch.randn(10, 10)
with fwAD.dual_level():
    dual_input = fwAD.make_dual(primal, tangent)
    dual_output = fn(dual_input)
    jvp = fwAD.unpack_dual(dual_output).tangent
    print(jvp[0, :3])
print(torch.autograd.gradcheck(Fn.apply, (primal,), check_forward_ad=True,
                               check_backward_ad=False, check_undefined_grad=False,
                               check_batched_grad=False))

primal0 = torch.randn(10, 10)
tangent0 = torch.randn(10, 10)
primal1 = torch.randn(10, 10)
tangent1 = torch.randn(10, 10)

def fn(x, y):
    return x ** 2 + y ** 2

primal_out, tangent_out = torch.func.jvp(fn, (primal0, primal1), (tangent0, tangent1))
print(tangent_out[0, :3])

model = nn.Linear(5, 5)
input = torch.randn(16, 5)
params = {name: p.detach() for name, p in model.named_parameters()}
def func(params):
    return functional_call(model, params, input)
_, jvp_out = torch.func.jvp(func, (params,), (tangents,))
print(jvp_out[0])
'''


def test_tutorial_prints_what_pytorch_prints(capsys):
    def run(module):
        code = compile(TUTORIAL, "<tutorial>", "exec")
        exec(code, {"__name__": "tutorial", "torch": module})  # noqa: S102 - the test's own text
        return capsys.readouterr().out

    expected = run(torch)
    assert run(gt) == expected


def test_gradcheck_check_forward_ad():
    class Exp(gt.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.result = gt.exp(x)
            return ctx.result

        @staticmethod
        def jvp(ctx, x_t):
            return x_t * ctx.result

    class WrongJvp(Exp):
        @staticmethod
        def jvp(ctx, x_t):
            return x_t * ctx.result * 2

    x = gt.randn(3, 2, dtype=gt.float64, requires_grad=True)
    assert gt.autograd.gradcheck(Exp.apply, (x,), check_forward_ad=True,
                                 check_backward_ad=False, check_undefined_grad=False,
                                 check_batched_grad=False)
    assert gt.autograd.gradcheck(lambda a: (a.sin() @ a.t()).softmax(0), (x,),
                                 check_forward_ad=True)
    with pytest.raises(gt.autograd.gradcheck.__globals__["GradcheckError"],
                       match="Jacobian computed with forward mode mismatch"):
        gt.autograd.gradcheck(WrongJvp.apply, (x,), check_forward_ad=True,
                              check_backward_ad=False)
