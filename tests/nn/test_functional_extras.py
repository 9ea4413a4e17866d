"""F.gumbel_softmax (the same draws as PyTorch), F.pdist, and the in-place activations
F.selu_ / celu_ / rrelu_ / threshold_ (and their torch.* forms) against PyTorch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import graphtorch as gt

from . import close, same_error, torch

RNG = np.random.default_rng(4)


@pytest.mark.parametrize("hard", [False, True])
@pytest.mark.parametrize("tau,dim", [(1, -1), (0.5, 0), (2.0, 1)], ids=str)
def test_gumbel_softmax_draws_values_and_grads(hard, tau, dim):
    x = RNG.standard_normal((4, 5, 3)).astype(np.float32)
    cot = RNG.standard_normal((4, 5, 3)).astype(np.float32)
    outs = []
    for lib in (torch, gt):
        lib.manual_seed(3)
        logits = lib.tensor(x, requires_grad=True)
        y = lib.nn.functional.gumbel_softmax(logits, tau=tau, hard=hard, dim=dim)
        (y * lib.tensor(cot)).sum().backward()
        outs.append((y, logits.grad, lib.rand(2)))  # the RNG stream continues alike
    for what, g, t in zip(("sample", "grad", "next draws"), outs[1], outs[0]):
        close(g, t, 1e-5, 1e-6, what)


def test_gumbel_softmax_eps_is_deprecated():
    for lib in (torch, gt):
        with pytest.warns(UserWarning, match="`eps` parameter is deprecated"):
            lib.nn.functional.gumbel_softmax(lib.zeros(2, 3), eps=1e-3)


@pytest.mark.parametrize("p", [2, 1, 0, 3.5, float("inf")])
def test_pdist(p):
    x = RNG.standard_normal((5, 3))
    outs = []
    for lib in (torch, gt):
        t = lib.tensor(x, requires_grad=True)
        y = lib.nn.functional.pdist(t, p)
        y.sum().backward()
        outs.append((y, t.grad))
    close(outs[1][0], outs[0][0], 1e-10, 1e-12)
    close(outs[1][1], outs[0][1], 1e-9, 1e-11)


INPLACE = [
    ("selu_", (), {}),
    ("celu_", (), {}),
    ("celu_", (2.0,), {}),
    ("threshold_", (0.3, -2.0), {}),
    ("threshold_", (), {"threshold": 0.1, "value": 0.0}),
    ("rrelu_", (), {}),
    ("rrelu_", (0.1, 0.2, True), {}),  # training: random slopes, the same draws as PyTorch
]


@pytest.mark.parametrize("name,args,kwargs", INPLACE, ids=str)
@pytest.mark.parametrize("namespace", ["F", "torch"])
def test_inplace_activations(name, args, kwargs, namespace):
    x = RNG.standard_normal((4, 5))
    outs = []
    for lib in (torch, gt):
        lib.manual_seed(0)
        fn = getattr(lib.nn.functional if namespace == "F" else lib, name)
        t = lib.tensor(x)
        out = fn(t, *args, **kwargs)
        assert out is t
        outs.append(t)
    close(outs[1], outs[0], 1e-12, 1e-12)


@pytest.mark.parametrize("apply", [lambda F, y: F.celu_(y, 0.7),
                                   lambda F, y: F.threshold_(y, 0.2, -1.0),
                                   lambda F, y: F.selu_(y),
                                   lambda F, y: F.rrelu_(y)])
def test_inplace_activations_backward_through_a_non_leaf(apply):
    x = RNG.standard_normal((3, 4))
    grads = []
    for lib in (torch, gt):
        leaf = lib.tensor(x, requires_grad=True)
        y = leaf * 1.5
        apply(lib.nn.functional, y)
        (y * y).sum().backward()
        grads.append(leaf.grad)
    # PyTorch's in-place elu family differentiates through its output (out + alpha)
    close(grads[1], grads[0], 1e-7, 1e-9)


def test_rrelu_inplace_with_a_generator():
    x = RNG.standard_normal((3, 5))
    outs = []
    for lib in (torch, gt):
        t = lib.tensor(x)
        lib.nn.functional.rrelu_(t, 0.1, 0.3, True, generator=lib.Generator().manual_seed(7))
        outs.append(t)
    close(outs[1], outs[0], 1e-12, 1e-12)


@pytest.mark.parametrize("fn", [
    lambda F, lib: F.selu_(lib.arange(3)),
    lambda F, lib: F.rrelu_(lib.arange(3)),
    lambda F, lib: F.selu_(lib.zeros(2, requires_grad=True)),
])
def test_inplace_activation_errors(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        same_error(lambda lib: fn(lib.nn.functional, lib), match="")
