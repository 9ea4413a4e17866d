"""Regression trained with optim.LBFGS (closure, strong-Wolfe line search), as PyTorch
programs write it: graphtorch's losses and weights equal PyTorch's step by step, eagerly
and with the model's loss compiled by gt.compile."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from tests.autograd.diff import torch


def _data():
    rng = np.random.default_rng(3)
    x = rng.uniform(-2, 2, size=(64, 1))
    y = np.sin(2 * x) + 0.3 * x ** 2 + 0.05 * rng.standard_normal((64, 1))
    return x, y


def train(lib, line_search_fn="strong_wolfe", compiled=False, steps=4):
    lib.manual_seed(0)
    nn = lib.nn
    model = nn.Sequential(nn.Linear(1, 16), nn.Tanh(), nn.Linear(16, 1)).double()
    x, y = (lib.from_numpy(a) for a in _data())
    optimizer = lib.optim.LBFGS(model.parameters(), lr=1, max_iter=10, history_size=5,
                                line_search_fn=line_search_fn)

    def loss_of(inputs, targets):
        return nn.functional.mse_loss(model(inputs), targets)

    loss_fn = lib.compile(loss_of) if compiled else loss_of

    def closure():
        optimizer.zero_grad()
        loss = loss_fn(x, y)
        loss.backward()
        return loss

    losses = [optimizer.step(closure).item() for _ in range(steps)]
    state = optimizer.state[next(iter(model.parameters()))]
    if compiled:  # one graph, compiled once, run for every closure evaluation
        assert not loss_fn.stats.graph_breaks and loss_fn.compile_count == 1
    return losses, [p.detach().numpy().copy() for p in model.parameters()], \
        (state["func_evals"], state["n_iter"])


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_regression_eager_matches_pytorch(line_search_fn):
    ours = train(gt, line_search_fn)
    theirs = train(torch, line_search_fn)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-9)
    assert ours[0][-1] < 0.5 * ours[0][0]
    for a, b in zip(ours[1], theirs[1]):  # float64; BLAS sums in a CPU-dependent order
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-8)
    assert ours[2] == theirs[2]


def test_lbfgs_regression_compiled_matches_pytorch():
    ours = train(gt, compiled=True)
    theirs = train(torch)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-9)
    for a, b in zip(ours[1], theirs[1]):  # float64; BLAS sums in a CPU-dependent order
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-8)
    assert ours[2] == theirs[2]
