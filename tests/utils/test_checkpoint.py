"""`gt.utils.checkpoint` against `torch.utils.checkpoint`: gradients equal the plain run's
(dropout included), the forward really runs again in backward from saved inputs only,
PyTorch's warning and errors, and checkpointing inside gt.compile."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import graphtorch as gt
from tests.autograd.diff import raises_like_torch, same

TOL = dict(atol=1e-5, rtol=1e-5)


def _model(T):
    return T.nn.Sequential(T.nn.Linear(6, 8), T.nn.ReLU(), T.nn.Dropout(0.5),
                           T.nn.Linear(8, 8), T.nn.Tanh(), T.nn.Dropout(0.3),
                           T.nn.Linear(8, 2))


def _train(T, mode, reentrant):
    T.manual_seed(0)
    model = _model(T)
    x = T.randn(4, 6, requires_grad=True)
    if mode == "plain":
        y = model(x)
    elif mode == "checkpoint":
        y = T.utils.checkpoint.checkpoint(lambda a: model[3:](model[:3](a)), x,
                                          use_reentrant=reentrant)
    else:
        y = T.utils.checkpoint.checkpoint_sequential(model, 3, x, use_reentrant=reentrant)
    loss = (y ** 2).sum()
    loss.backward()
    after = T.rand(2)  # the generator ends where the plain run leaves it
    return [loss, x.grad, after] + [p.grad for p in model.parameters()]


@pytest.mark.parametrize("reentrant", [True, False])
@pytest.mark.parametrize("mode", ["checkpoint", "sequential"])
def test_gradients_match_torch_and_the_plain_run(mode, reentrant):
    same(lambda T: _train(T, mode, reentrant), **TOL)
    plain = _train(gt, "plain", reentrant)
    ckpt = _train(gt, mode, reentrant)
    for a, b in zip(plain, ckpt):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), **TOL)


@pytest.mark.parametrize("reentrant", [True, False])
def test_backward_recomputes_from_saved_inputs(reentrant):
    calls = []
    lin = gt.nn.Linear(3, 3)

    def segment(a):
        calls.append(1)
        return (lin(a).tanh() * 3).sin()

    x = gt.randn(2, 3, requires_grad=True)
    y = gt.utils.checkpoint.checkpoint(segment, x, use_reentrant=reentrant)
    forward_calls = len(calls)
    node = y.grad_fn
    # the checkpoint node keeps only the segment's inputs (and captured leaves)
    saved = node.ctx.saved_tensors
    assert all(t is x or any(t is p for p in lin.parameters()) for t in saved)
    y.sum().backward()
    assert len(calls) == forward_calls + 1
    ref_x = x.detach().requires_grad_()
    lin.zero_grad()
    g = lin.weight.grad
    segment(ref_x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), ref_x.grad.numpy(), **TOL)
    assert g is None


def test_non_reentrant_autograd_grad_reaches_captured_parameters():
    def program(T):
        T.manual_seed(0)
        lin = T.nn.Linear(3, 2)
        x = T.randn(4, 3)
        y = T.utils.checkpoint.checkpoint(lin, x, use_reentrant=False)
        return T.autograd.grad(y.pow(2).sum(), list(lin.parameters()))

    same(program, **TOL)


@pytest.mark.parametrize("reentrant", [True, False])
def test_parameter_used_several_times(reentrant):
    def program(T):
        T.manual_seed(0)
        lin = T.nn.Linear(3, 3)
        x = T.randn(2, 3, requires_grad=True)
        y = T.utils.checkpoint.checkpoint(lambda a: lin(lin(a)) + lin.weight.sum(), x,
                                          use_reentrant=reentrant)
        y.sum().backward()
        return lin.weight.grad, lin.bias.grad, x.grad

    same(program, **TOL)


def test_tuple_outputs_and_kwargs():
    def program(T):
        T.manual_seed(0)
        x = T.randn(3, requires_grad=True)

        def fn(a, scale=1.0):
            return a.sin() * scale, "tag", a.exp()

        out = T.utils.checkpoint.checkpoint(fn, x, use_reentrant=False, scale=2.0)
        (out[0].sum() + out[2].sum()).backward()
        return out[0], out[1], out[2], x.grad

    same(program, **TOL)


def test_missing_use_reentrant_warns_as_torch():
    def program(T):
        x = T.randn(3, requires_grad=True)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            T.utils.checkpoint.checkpoint(lambda a: a * 2, x)
        return [(c.category.__name__, str(c.message)) for c in caught]

    same(program)


@pytest.mark.parametrize("case", ["kwargs_reentrant", "context_fn_reentrant",
                                  "determinism", "no_requires_grad_backward"])
def test_errors(case):
    def program(T):
        x = T.randn(3, requires_grad=True)
        if case == "kwargs_reentrant":
            return T.utils.checkpoint.checkpoint(lambda a, b=1: a, x, use_reentrant=True, b=2)
        if case == "context_fn_reentrant":
            return T.utils.checkpoint.checkpoint(lambda a: a, x, use_reentrant=True,
                                                 debug=True)
        if case == "determinism":
            return T.utils.checkpoint.checkpoint(lambda a: a, x, use_reentrant=False,
                                                 determinism_check="x")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            y = T.utils.checkpoint.checkpoint(lambda a: a * 2, T.randn(3), use_reentrant=True)
        return y.sum().backward()

    raises_like_torch(program)


@pytest.mark.parametrize("reentrant", [True, False])
def test_checkpoint_inside_compile_gives_eager_results(reentrant):
    def step(model, x):
        y = gt.utils.checkpoint.checkpoint(model, x, use_reentrant=reentrant)
        return (y ** 2).sum()

    gt.manual_seed(0)
    model = gt.nn.Sequential(gt.nn.Linear(4, 4), gt.nn.Tanh(), gt.nn.Linear(4, 1))
    x = gt.randn(3, 4, requires_grad=True)
    eager = step(model, x)
    eager.backward()
    grads = [p.grad.clone() for p in model.parameters()] + [x.grad.clone()]
    model.zero_grad()
    x.grad = None
    compiled = gt.compile(step)
    for _ in range(2):
        model.zero_grad()
        x.grad = None
        out = compiled(model, x)
        out.backward()
        np.testing.assert_allclose(out.item(), eager.item(), rtol=1e-5)
        for a, b in zip(grads, [p.grad for p in model.parameters()] + [x.grad]):
            np.testing.assert_allclose(a.numpy(), b.numpy(), **TOL)


def test_compiled_reentrant_checkpoint_without_grad_inputs_has_no_history():
    """Eager's reentrant forward runs under no_grad: without an input that requires grad
    the output has no history even though the module's parameters require grad."""
    gt.manual_seed(0)
    block = gt.nn.Linear(4, 4)

    def step(x):
        return gt.utils.checkpoint.checkpoint(block, x, use_reentrant=True)

    compiled = gt.compile(step)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(2):
            x = gt.randn(3, 4)
            eager, out = step(x), compiled(x)
            assert out.requires_grad is eager.requires_grad is False
            np.testing.assert_allclose(out.numpy(), eager.numpy(), **TOL)


def test_compiled_checkpoint_without_preserved_rng_runs_eagerly(caplog):
    """preserve_rng_state=False: eager's backward recomputes dropout with fresh numbers,
    advancing the generator; a compiled call runs eagerly with a logged reason."""
    def run(compiled):
        gt.manual_seed(0)
        block = gt.nn.Sequential(gt.nn.Linear(4, 4), gt.nn.Dropout(0.5))

        def step(x):
            return gt.utils.checkpoint.checkpoint(block, x, use_reentrant=False,
                                                  preserve_rng_state=False)

        fn = gt.compile(step) if compiled else step
        grads = []
        for _ in range(2):
            fn(gt.randn(3, 4)).sum().backward()
            grads.append(block[0].weight.grad.clone())
        return grads, gt.randn(2)

    with caplog.at_level("INFO", logger="graphtorch"):
        (eager, eager_next), (compiled, compiled_next) = run(False), run(True)
    for a, b in zip(eager, compiled):
        np.testing.assert_allclose(a.numpy(), b.numpy(), **TOL)
    np.testing.assert_array_equal(eager_next.numpy(), compiled_next.numpy())
    assert "preserve_rng_state=False" in caplog.text


def test_docstrings():
    assert gt.utils.checkpoint.checkpoint.__doc__
    assert gt.utils.checkpoint.checkpoint_sequential.__doc__
