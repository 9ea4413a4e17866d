"""Gamma, Beta, Dirichlet and MultivariateNormal against `torch.distributions`: seeded
samples (the generator's state after them too), rsample gradients, log_prob, entropy,
moments, shapes, expand and validation errors."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from tests.autograd.diff import raises_like_torch, same

COV = [[2.0, 0.3, 0.1], [0.3, 1.0, 0.2], [0.1, 0.2, 0.5]]


def _make(lib, name):
    """(distribution, the leaf tensors its parameters were made from)."""
    D = lib.distributions
    leaves = []

    def leaf(values):
        leaves.append(lib.tensor(values, requires_grad=True))
        return leaves[-1]

    if name == "Gamma":
        d = D.Gamma(leaf([[0.5, 2.0, 3.0], [7.0, 1.0, 0.2]]), leaf([1.0, 0.5, 2.0]))
    elif name == "GammaScalar":
        d = D.Gamma(2.5, 1.5)
    elif name == "GammaFloat64":
        d = D.Gamma(leaf([0.05, 30.0, 9.0]).double(), 2.0)
    elif name == "Beta":
        d = D.Beta(leaf([0.5, 2.0, 8.0]), leaf([1.0, 3.0, 9.0]))
    elif name == "BetaScalar":
        d = D.Beta(2.0, 0.7)
    elif name == "Dirichlet":
        d = D.Dirichlet(leaf([[0.5, 2.0, 3.0], [8.0, 9.0, 10.0]]))
    elif name == "MVNCovariance":
        d = D.MultivariateNormal(leaf([[0.1, -0.2, 0.3], [1.0, 2.0, 3.0]]),
                                 covariance_matrix=leaf(COV))
    elif name == "MVNPrecision":
        d = D.MultivariateNormal(leaf([0.1, -0.2, 0.3]), precision_matrix=leaf(COV))
    elif name == "MVNScaleTril":
        d = D.MultivariateNormal(
            leaf([0.0, 1.0, 0.0]),
            scale_tril=leaf(np.linalg.cholesky(np.array(COV)).tolist()).unsqueeze(0))
    else:
        raise KeyError(name)
    return d, leaves


NAMES = ["Gamma", "GammaScalar", "GammaFloat64", "Beta", "BetaScalar", "Dirichlet",
         "MVNCovariance", "MVNPrecision", "MVNScaleTril"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("sample_shape", [(), (4,), (2, 3)], ids=str)
def test_seeded_samples_equal_torch(name, sample_shape):
    def fn(lib):
        lib.manual_seed(3)
        d, _ = _make(lib, name)
        return d.sample(sample_shape), d.sample(), lib.rand(2)

    same(fn, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", NAMES)
def test_rsample_gradients_equal_torch(name):
    def fn(lib):
        lib.manual_seed(1)
        d, leaves = _make(lib, name)
        x = d.rsample((3,))
        weights = lib.arange(float(x.numel())).reshape(x.shape).to(x.dtype) / x.numel()
        grads = lib.autograd.grad((x * weights).sum(), leaves) if leaves else ()
        return x, grads, d.has_rsample

    same(fn, rtol=2e-5, atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_statistics_equal_torch(name):
    def fn(lib):
        lib.manual_seed(2)
        d, leaves = _make(lib, name)
        value = d.sample((3,))
        log_prob = d.log_prob(value)
        out = {"log_prob": log_prob, "entropy": d.entropy(), "mean": d.mean,
               "variance": d.variance, "batch_shape": d.batch_shape,
               "event_shape": d.event_shape, "repr": repr(d),
               "grads": lib.autograd.grad(log_prob.sum() + d.entropy().sum(), leaves)
               if leaves else ()}
        if not name.startswith("Beta"):  # NaN modes (concentration < 1) compare unequal
            out["mode"] = d.mode
        return out

    same(fn, rtol=2e-5, atol=1e-6)


def test_mvn_matrices_and_expand():
    def fn(lib):
        d, _ = _make(lib, "MVNPrecision")
        e = d.expand((4,))
        return (d.covariance_matrix, d.precision_matrix, d.scale_tril, e.batch_shape,
                e.log_prob(lib.zeros(4, 3)), e.sample().shape,
                _make(lib, "Dirichlet")[0].expand((5, 2)).batch_shape,
                _make(lib, "Beta")[0].expand((2, 3)).mean,
                _make(lib, "Gamma")[0].expand((2, 2, 3)).variance)

    same(fn, rtol=1e-5, atol=1e-6)


def test_beta_and_dirichlet_modes():
    same(lambda lib: lib.distributions.Dirichlet(
        lib.tensor([[0.5, 0.2, 0.9], [2.0, 3.0, 4.0]])).mode, rtol=1e-6)
    same(lambda lib: lib.distributions.Beta(lib.tensor([2.0, 3.0]),
                                            lib.tensor([5.0, 1.5])).mode, rtol=1e-6)


@pytest.mark.parametrize("case", [
    lambda D, lib: D.Gamma(lib.tensor([-1.0]), lib.tensor([1.0])),
    lambda D, lib: D.Gamma(lib.tensor([1.0]), lib.tensor([1.0])).log_prob(lib.tensor([-1.0])),
    lambda D, lib: D.Beta(lib.tensor([0.0]), lib.tensor([1.0])),
    lambda D, lib: D.Beta(2.0, 2.0).log_prob(lib.tensor(1.5)),
    lambda D, lib: D.Dirichlet(lib.tensor(1.0)),
    lambda D, lib: D.Dirichlet(lib.tensor([1.0, -1.0])),
    lambda D, lib: D.Dirichlet(lib.tensor([1.0, 1.0])).log_prob(lib.tensor([0.2, 0.2])),
    lambda D, lib: D.MultivariateNormal(lib.tensor(0.0), lib.eye(1)),
    lambda D, lib: D.MultivariateNormal(lib.zeros(2)),
    lambda D, lib: D.MultivariateNormal(lib.zeros(2), lib.eye(2), scale_tril=lib.eye(2)),
    lambda D, lib: D.MultivariateNormal(lib.zeros(2), lib.ones(2)),
    lambda D, lib: D.MultivariateNormal(lib.zeros(2), lib.tensor([[1.0, 2.0], [2.0, 1.0]])),
    lambda D, lib: D.MultivariateNormal(lib.zeros(2), lib.tensor([[1.0, 0.5], [0.0, 1.0]])),
    lambda D, lib: D.MultivariateNormal(lib.zeros(2), scale_tril=lib.tensor([[1.0, 1.0],
                                                                             [0.0, 1.0]])),
], ids=lambda f: "")
def test_validation_errors_match_torch(case):
    raises_like_torch(lambda lib: case(lib.distributions, lib))


def test_samples_are_refused_inside_a_trace():
    d = gt.distributions.Gamma(gt.tensor([2.0]), gt.tensor([1.0]))
    with pytest.raises(gt.TracingError):
        gt.trace(lambda x: d.rsample() * x, gt.ones(1))
