"""autograd.graph.saved_tensors_hooks / save_on_cpu against PyTorch (the "Hooks for saved
tensors" tutorial): pack called when an op saves, unpack at backward (again after
retain_graph), innermost hooks only, no version check on hooked tensors, lossy hooks change
gradients as in PyTorch, custom Functions, double backward, errors; nothing is packed
outside the context; compiled functions run eagerly (and re-guard) under hooks."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt

from .diff import same


def _leaves(lib, n=2, size=4):
    lib.manual_seed(0)
    return [lib.randn(size, requires_grad=True) for _ in range(n)]


def _recording_hooks(calls):
    def pack(t):
        calls.append(("pack", tuple(t.shape), t.grad_fn is not None))
        return t

    def unpack(t):
        calls.append(("unpack", tuple(t.shape)))
        return t

    return pack, unpack


def test_pack_at_save_unpack_at_backward():
    def run(lib):
        a, b = _leaves(lib)
        calls = []
        with lib.autograd.graph.saved_tensors_hooks(*_recording_hooks(calls)):
            w = (a * b).exp().sin().sum()  # mul saves a, b; exp its result; sin its input
        forward_calls = list(calls)
        w.backward()
        return forward_calls, calls[len(forward_calls):], a.grad, b.grad

    same(run, rtol=1e-6)


def test_retain_graph_unpacks_each_backward():
    def run(lib):
        a, b = _leaves(lib)
        calls = []
        with lib.autograd.graph.saved_tensors_hooks(*_recording_hooks(calls)):
            y = (a * b).sum()
        y.backward(retain_graph=True)
        y.backward()
        with pytest.raises(RuntimeError, match="second time"):
            y.backward()
        return calls, a.grad

    same(run)


def test_no_pack_without_autograd_and_innermost_hooks_only():
    def run(lib):
        a, b = _leaves(lib)
        calls = []

        def tagged(tag):
            return lambda t: (calls.append(tag), t)[1], lambda t: t

        with lib.autograd.graph.saved_tensors_hooks(*tagged("outer")):
            lib.randn(3).sin()  # nothing requires grad: nothing saved
            with lib.no_grad():
                a.sin()
            with lib.autograd.graph.saved_tensors_hooks(*tagged("inner")):
                a * b
            a.sin()
        a.cos()  # outside: no hook
        return calls

    same(run)


def test_hooked_tensors_skip_the_version_check_and_lossy_hooks_change_gradients():
    def run(lib):
        a, b = _leaves(lib)
        with lib.autograd.graph.saved_tensors_hooks(lambda t: t.clone(), lambda t: t):
            y = a * 1
            z = y.sin()
        y.add_(1)  # would raise without hooks; the packed clone is used instead
        z.sum().backward()
        with lib.autograd.graph.saved_tensors_hooks(lambda t: t * 2, lambda t: t):
            w = (a * b).sum()
        w.backward()
        return a.grad, b.grad

    same(run, rtol=1e-6)


def test_save_on_cpu_and_custom_function():
    def run(lib):
        a, b = _leaves(lib)

        class Square(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * x

            @staticmethod
            def backward(ctx, grad):
                (x,) = ctx.saved_tensors
                return 2 * x * grad

        calls = []
        with lib.autograd.graph.save_on_cpu():
            y = (lib.nn.functional.relu(a * b) + Square.apply(b)).sum()
        y.backward()
        with lib.autograd.graph.saved_tensors_hooks(*_recording_hooks(calls)):
            Square.apply(a).sum().backward()
        return a.grad, b.grad, calls

    same(run, rtol=1e-6)


def test_double_backward_through_hooked_nodes():
    def run(lib):
        (x,) = _leaves(lib, 1)
        with lib.autograd.graph.saved_tensors_hooks(lambda t: t.detach().clone(), lambda t: t):
            y = (x.exp() * x.sin()).sum()
        (g,) = lib.autograd.grad(y, x, create_graph=True)
        g.sum().backward()
        return g, x.grad

    same(run, rtol=1e-6)


def test_unpack_must_return_a_tensor():
    def run(lib):
        a, b = _leaves(lib)
        with lib.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: 5):
            y = (a * b).sum()
        y.backward()

    same(run, match="expected to be a Tensor but got result of type int")


def test_hooks_are_removed_on_exit_even_after_an_error():
    from graphtorch.ops import dispatch

    with pytest.raises(ValueError), gt.autograd.graph.saved_tensors_hooks(lambda t: t,
                                                                          lambda t: t):
        raise ValueError
    assert not gt.autograd.graph._saved_tensors_hooks and not dispatch.op_hooks


def _loss(a, b):
    return (a * b).sin().sum()


def test_compiled_function_runs_eagerly_under_hooks():
    a, b = _leaves(gt)
    step = gt.compile(_loss)
    step(a, b), step(a, b)  # compiled outside any hooks
    assert step.stats.compiles == 1
    packed = []
    with gt.autograd.graph.saved_tensors_hooks(lambda t: (packed.append(t), t * 0.5)[1],
                                               lambda t: t):
        y = step(a, b)
    y.backward()
    assert len(packed) == 3  # the hooks ran: eager, not the compiled graph
    a_grad = a.grad.numpy().copy()
    a.grad = None
    with gt.autograd.graph.saved_tensors_hooks(lambda t: t * 0.5, lambda t: t):
        _loss(a, b).backward()
    np.testing.assert_allclose(a_grad, a.grad.numpy(), rtol=1e-6)
    assert any("saved_tensors_hooks" in r for r in step.stats.graph_breaks)
    assert step.stats.recompiles[-1].guard == "saved_tensors_hooks active"
