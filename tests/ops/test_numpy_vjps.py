"""vjps with an eager NumPy twin (`grad_utils.numpy_arrays`: nll_loss, log_softmax, softmax,
addmm, 2-d matmul) give the values of their graphtorch-op form (run under create_graph=True,
which records a graph and so takes the ops) and of PyTorch, for random shapes, reductions,
ignored targets and operands that do or do not require grad."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import graphtorch as gt
from tests.autograd.diff import torch


def _grads(lib, build, leaves, create_graph):
    out = build(lib, leaves)
    wanted = [x for x in leaves if x.requires_grad]
    grads = lib.autograd.grad(out, wanted, create_graph=create_graph)
    return [g.detach().numpy() for g in grads]


def _check(build, arrays, requires):
    results = []
    for lib, create_graph in ((gt, False), (gt, True), (torch, False)):
        leaves = [lib.tensor(a, requires_grad=r) for a, r in zip(arrays, requires)]
        results.append(_grads(lib, build, leaves, create_graph))
    numpy_twin, ops_form, expected = results
    for a, b, c in zip(numpy_twin, ops_form, expected):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(a, c, rtol=1e-5, atol=1e-6)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.integers(1, 6), st.integers(2, 7), st.sampled_from(["mean", "sum", "none"]),
       st.booleans(), st.booleans(), st.integers(0, 1000), st.sampled_from(["float32", "float64"]))
def test_nll_and_log_softmax(n, c, reduction, ignore_some, one_d, seed, dtype):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(c,) if one_d else (n, c)).astype(dtype)
    target = rng.integers(0, c, size=() if one_d else (n,))
    if ignore_some and not one_d:
        target = np.where(rng.random(n) < 0.4, -100, target)
    w = rng.normal(size=() if reduction != "none" or one_d else (n,)).astype(dtype)

    def build(lib, leaves):
        (x,) = leaves
        logp = lib.log_softmax(x, -1)
        loss = lib.nn.functional.nll_loss(logp, lib.tensor(target), reduction=reduction)
        return (loss * lib.tensor(w)).sum()

    _check(build, [x], [True])


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.integers(1, 5), st.integers(1, 6), st.integers(0, 1), st.integers(0, 1000))
def test_softmax(n, c, dim, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, c)).astype(np.float32)
    w = rng.normal(size=(n, c)).astype(np.float32)

    def build(lib, leaves):
        return (lib.softmax(leaves[0], dim) * lib.tensor(w)).sum()

    _check(build, [x], [True])


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.integers(1, 5), st.integers(1, 6), st.integers(1, 5),
       st.tuples(st.booleans(), st.booleans(), st.booleans()).filter(any),
       st.booleans(), st.integers(0, 1000))
def test_linear_and_matmul(n, k, m, requires, bias_row, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, k)).astype(np.float32)
    weight = rng.normal(size=(m, k)).astype(np.float32)
    bias = rng.normal(size=(1, m) if bias_row else (m,)).astype(np.float32)
    w = rng.normal(size=(n, m)).astype(np.float32)

    def build(lib, leaves):
        x, weight, bias = leaves
        y = lib.nn.functional.linear(x, weight, bias.reshape(-1))  # addmm
        z = x @ weight.t()                                            # 2-d matmul
        return ((y + z + bias) * lib.tensor(w)).sum()

    _check(build, [x, weight, bias], list(requires))


def test_twins_step_aside_for_create_graph_and_traces():
    """Under create_graph the gradient has a graph (the ops ran); compiled code traces."""
    x = gt.randn(3, 4, requires_grad=True)
    target = gt.tensor([0, 2, 1])
    loss = gt.nn.functional.cross_entropy(x, target)
    (g,) = gt.autograd.grad(loss, x, create_graph=True)
    assert g.requires_grad and g.grad_fn is not None
    (g.sum() ** 2).backward()

    @gt.compile
    def step(x):
        return gt.autograd.grad(gt.nn.functional.cross_entropy(x, target), x)[0]

    expected = gt.autograd.grad(gt.nn.functional.cross_entropy(x, target), x)[0]
    np.testing.assert_allclose(step(x.detach().requires_grad_()).numpy(), expected.numpy(),
                               rtol=1e-6)


@pytest.mark.parametrize("shape", [(5,), (2, 5)])
def test_all_targets_ignored_gives_zero_gradient(shape):
    for lib in (gt, torch):
        x = lib.zeros(shape, requires_grad=True)
        target = lib.tensor(-100 if len(shape) == 1 else [-100, -100])
        lib.nn.functional.nll_loss(x, target).backward()
        assert not x.grad.numpy().any()
