"""`gt.distributions` against `torch.distributions`: seeded samples, rsample gradients,
log_prob/entropy/moments, shapes, validation errors and KL divergences."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from tests.autograd.diff import raises_like_torch, same, torch


def _params(lib, name):
    """Parameters for each distribution, requiring grad where rsample can use them."""
    if name == "Normal":
        return lib.distributions.Normal(lib.tensor([[0.5, -1.0, 2.0]], requires_grad=True),
                                        lib.tensor([1.5, 0.2, 3.0], requires_grad=True))
    if name == "Uniform":
        return lib.distributions.Uniform(lib.tensor([-1.0, 0.0, 2.0], requires_grad=True),
                                         lib.tensor([1.0, 0.5, 7.0], requires_grad=True))
    if name == "Bernoulli":
        return lib.distributions.Bernoulli(lib.tensor([0.1, 0.5, 0.9, 0.0]))
    if name == "BernoulliLogits":
        return lib.distributions.Bernoulli(logits=lib.tensor([[-2.0, 0.0, 3.0]]))
    if name == "Categorical":
        return lib.distributions.Categorical(lib.tensor([[0.1, 0.2, 0.7], [1.0, 1.0, 2.0]]))
    if name == "CategoricalLogits":
        return lib.distributions.Categorical(logits=lib.tensor([0.3, -1.0, 2.0, 0.0]))
    if name == "NormalScalar":
        return lib.distributions.Normal(0.5, 2.0)
    if name == "Exponential":
        return lib.distributions.Exponential(lib.tensor([0.5, 2.0, 3.0], requires_grad=True))
    if name == "Laplace":
        return lib.distributions.Laplace(lib.tensor([0.5, -1.0], requires_grad=True),
                                         lib.tensor([1.5, 0.2], requires_grad=True))
    if name == "OneHotCategorical":
        return lib.distributions.OneHotCategorical(lib.tensor([[0.1, 0.2, 0.7],
                                                               [1.0, 1.0, 2.0]]))
    if name == "Independent":
        return lib.distributions.Independent(
            lib.distributions.Normal(lib.zeros(2, 3), lib.ones(2, 3) * 0.5), 1)
    raise KeyError(name)


NAMES = ["Normal", "Uniform", "Bernoulli", "BernoulliLogits", "Categorical",
         "CategoricalLogits", "NormalScalar", "Independent", "Exponential", "Laplace",
         "OneHotCategorical"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("sample_shape", [(), (5,), (2, 4)], ids=str)
def test_seeded_samples_equal_torch(name, sample_shape):
    def fn(lib):
        lib.manual_seed(3)
        d = _params(lib, name)
        return d.sample(sample_shape), d.sample(), lib.rand(2)
    # Laplace maps equal uniforms through log1p, whose float32 kernels differ in the last bit
    same(fn, rtol=1e-6 if name == "Laplace" else 0.0)


@pytest.mark.parametrize("name", ["Normal", "Uniform", "Independent", "Exponential",
                                  "Laplace"])
def test_rsample_and_its_gradients(name):
    def fn(lib):
        lib.manual_seed(1)
        d = _params(lib, name)
        x = d.rsample((4,))
        leaves = [getattr(d, k) for k in ("loc", "scale", "low", "high", "rate")
                  if hasattr(d, k)]
        leaves = [t for t in leaves if t.requires_grad]
        grads = lib.autograd.grad((x * x).sum(), leaves) if leaves else ()
        return x, grads, d.has_rsample
    same(fn, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_statistics_equal_torch(name):
    def fn(lib):
        lib.manual_seed(2)
        d = _params(lib, name)
        value = d.sample((3,))
        out = {"log_prob": d.log_prob(value), "entropy": d.entropy(),
               "batch_shape": d.batch_shape, "event_shape": d.event_shape,
               "repr": repr(d)}
        for stat in ("mean", "variance", "stddev", "mode"):
            try:
                out[stat] = getattr(d, stat)
            except NotImplementedError:
                out[stat] = "NotImplemented"
        return out
    same(fn, rtol=1e-6, atol=1e-6)


def test_log_prob_gradients():
    def fn(lib):
        loc = lib.tensor([0.5, -1.0], requires_grad=True)
        scale = lib.tensor([1.5, 0.2], requires_grad=True)
        probs = lib.tensor([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]], requires_grad=True)
        lp = lib.distributions.Normal(loc, scale).log_prob(lib.tensor([0.0, 1.0])).sum()
        lp = lp + lib.distributions.Categorical(probs).log_prob(lib.tensor([2, 0])).sum()
        lp = lp + lib.distributions.Categorical(probs).entropy().sum()
        return lib.autograd.grad(lp, (loc, scale, probs))
    same(fn, rtol=1e-6, atol=1e-6)


def test_cdf_icdf_enumerate_expand():
    def fn(lib):
        D = lib.distributions
        n = D.Normal(lib.tensor([0.0, 1.0]), lib.tensor([1.0, 2.0]))
        u = D.Uniform(lib.tensor([0.0]), lib.tensor([4.0]))
        c = D.Categorical(lib.tensor([[0.5, 0.5], [0.1, 0.9]]))
        b = D.Bernoulli(lib.tensor([0.2, 0.7]))
        e = n.expand((3, 2))
        return (n.cdf(lib.tensor([0.5, 0.5])), n.icdf(lib.tensor([0.2, 0.9])),
                u.cdf(lib.tensor([1.0])), u.icdf(lib.tensor([0.25])),
                c.enumerate_support(), c.enumerate_support(expand=False),
                b.enumerate_support(), e.batch_shape, e.log_prob(lib.zeros(3, 2)),
                c.expand((4, 2)).batch_shape, n.perplexity())
    same(fn, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("case", [
    lambda D, lib: D.Normal(lib.zeros(2), lib.tensor([1.0, -1.0])),
    lambda D, lib: D.Normal(lib.tensor([float("nan")]), lib.ones(1)),
    lambda D, lib: D.Uniform(lib.tensor([1.0]), lib.tensor([0.0])),
    lambda D, lib: D.Bernoulli(lib.tensor([1.5])),
    lambda D, lib: D.Bernoulli(),
    lambda D, lib: D.Bernoulli(lib.tensor([0.5]), lib.tensor([0.0])),
    lambda D, lib: D.Categorical(lib.tensor([-0.5, 1.5])),
    lambda D, lib: D.Categorical(lib.tensor(0.5)),
    lambda D, lib: D.Normal(lib.zeros(2), lib.ones(2)).log_prob(lib.zeros(3)),
    lambda D, lib: D.Normal(lib.zeros(2), lib.ones(2)).log_prob([0.0, 0.0]),
    lambda D, lib: D.Bernoulli(lib.tensor([0.5])).log_prob(lib.tensor([0.5])),
    lambda D, lib: D.Categorical(lib.tensor([0.5, 0.5])).log_prob(lib.tensor(2)),
    lambda D, lib: D.Uniform(0.0, 1.0).log_prob(lib.tensor(2.0)),
    lambda D, lib: D.Independent(D.Normal(lib.zeros(2), 1.0), 2),
    lambda D, lib: D.kl_divergence(D.Normal(0.0, 1.0), D.Bernoulli(0.5)),
    lambda D, lib: D.Exponential(lib.tensor([-1.0])),
    lambda D, lib: D.Exponential(lib.tensor([1.0])).log_prob(lib.tensor([-1.0])),
    lambda D, lib: D.Laplace(0.0, 0.0),
    lambda D, lib: D.OneHotCategorical(lib.tensor([0.5, 0.5])).log_prob(lib.tensor([1.0, 1.0])),
], ids=lambda f: "")
def test_validation_errors_as_torch(case):
    raises_like_torch(lambda lib: case(lib.distributions, lib))


def test_validation_messages():
    same(lambda lib: lib.distributions.Normal(lib.zeros(2), lib.tensor([1.0, -1.0])),
         match=r"Expected parameter scale \(Tensor of shape \(2,\)\) of distribution "
               r"Normal\(loc: torch.Size\(\[2\]\), scale: torch.Size\(\[2\]\)\) to satisfy "
               r"the constraint GreaterThan\(lower_bound=0.0\), but found invalid values")
    same(lambda lib: lib.distributions.Bernoulli(lib.tensor([0.5])).log_prob(
        lib.tensor([0.5])), match=r"to be within the support \(Boolean\(\)\)")


def test_validate_args_off():
    def fn(lib):
        d = lib.distributions.Normal(lib.zeros(1), lib.tensor([-1.0]), validate_args=False)
        return d.log_prob(lib.tensor([0.0]))
    same(fn)
    try:
        for lib in (torch, gt):
            lib.distributions.Distribution.set_default_validate_args(False)
            lib.distributions.Uniform(1.0, 0.0)  # no error
    finally:
        for lib in (torch, gt):
            lib.distributions.Distribution.set_default_validate_args(True)


@pytest.mark.parametrize("pair", [
    lambda D, lib: (D.Normal(lib.tensor([0.0, 1.0]), lib.tensor([1.0, 0.5])),
                    D.Normal(lib.tensor([1.0, 1.0]), lib.tensor([2.0, 0.5]))),
    lambda D, lib: (D.Bernoulli(lib.tensor([0.0, 0.3, 1.0])),
                    D.Bernoulli(lib.tensor([0.5, 0.0, 0.5]))),
    lambda D, lib: (D.Categorical(lib.tensor([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])),
                    D.Categorical(lib.tensor([[0.25, 0.25, 0.5], [0.0, 0.5, 0.5]]))),
    lambda D, lib: (D.Uniform(lib.tensor([0.0, -1.0]), lib.tensor([1.0, 1.0])),
                    D.Uniform(lib.tensor([-1.0, 0.0]), lib.tensor([2.0, 1.0]))),
    lambda D, lib: (D.Independent(D.Normal(lib.zeros(2, 3), lib.ones(2, 3)), 1),
                    D.Independent(D.Normal(lib.ones(2, 3), lib.ones(2, 3) * 2), 1)),
    lambda D, lib: (D.Exponential(lib.tensor([0.5, 2.0])), D.Exponential(lib.tensor([1.0, 1.5]))),
    lambda D, lib: (D.Laplace(lib.tensor([0.0, 1.0]), lib.tensor([1.0, 0.5])),
                    D.Laplace(lib.tensor([1.0, 1.0]), lib.tensor([2.0, 0.5]))),
    lambda D, lib: (D.OneHotCategorical(lib.tensor([0.5, 0.25, 0.25])),
                    D.OneHotCategorical(lib.tensor([0.2, 0.3, 0.5]))),
], ids=["normal", "bernoulli", "categorical", "uniform", "independent", "exponential",
        "laplace", "onehot"])
def test_kl_divergence(pair):
    def fn(lib):
        p, q = pair(lib.distributions, lib)
        return lib.distributions.kl_divergence(p, q)
    same(fn, rtol=1e-6, atol=1e-6)


def test_register_kl_and_subclass_lookup():
    D = gt.distributions

    class MyNormal(D.Normal):
        pass

    assert float(D.kl_divergence(MyNormal(0.0, 1.0), D.Normal(1.0, 1.0))) == pytest.approx(0.5)

    class Point(D.Distribution):
        arg_constraints: dict = {}

    @D.register_kl(Point, Point)
    def _kl_point(p, q):
        return gt.tensor(0.0)

    assert float(D.kl_divergence(Point(), Point())) == 0.0
    with pytest.raises(TypeError):
        D.register_kl(int, Point)


def test_constraints():
    C = gt.distributions.constraints
    x = gt.tensor([-1.0, 0.0, 0.5, 1.0, float("nan")])
    np.testing.assert_array_equal(C.positive.check(x).numpy(), [0, 0, 1, 1, 0])
    np.testing.assert_array_equal(C.unit_interval.check(x).numpy(), [0, 1, 1, 1, 0])
    np.testing.assert_array_equal(C.real.check(x).numpy(), [1, 1, 1, 1, 0])
    np.testing.assert_array_equal(C.boolean.check(x).numpy(), [0, 1, 0, 1, 0])
    assert C.simplex.check(gt.tensor([[0.2, 0.8], [0.5, 0.6]])).tolist() == [True, False]
    assert repr(C.integer_interval(0, 3)) == "IntegerInterval(lower_bound=0, upper_bound=3)"
    assert repr(C.real_vector) == repr(torch.distributions.constraints.real_vector)
    assert C.is_dependent(C.dependent) and not C.is_dependent(C.real)
