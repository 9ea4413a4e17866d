"""The distributions built on transforms, Gamma, Cauchy and uniform draws against
`torch.distributions`: seeded samples, rsample gradients, log_prob, entropy, moments,
cdf/icdf, shapes, expand, validation errors, transforms and KL divergences."""

from __future__ import annotations

import functools

import pytest

import graphtorch as gt
from tests.autograd.diff import raises_like_torch, same, torch


def _make(lib, name):
    """(distribution, the leaf tensors its parameters were made from)."""
    D = lib.distributions
    leaves = []

    def leaf(values):
        leaves.append(lib.tensor(values, requires_grad=True))
        return leaves[-1]

    makers = {
        "LogNormal": lambda: D.LogNormal(leaf([[0.1, -0.5, 1.0]]), leaf([0.5, 1.0, 2.0])),
        "LogNormalScalar": lambda: D.LogNormal(0.3, 0.7),
        "HalfNormal": lambda: D.HalfNormal(leaf([0.5, 1.0, 3.0])),
        "Cauchy": lambda: D.Cauchy(leaf([0.0, 1.0, -2.0]), leaf([1.0, 0.5, 3.0])),
        "CauchyFloat64": lambda: D.Cauchy(leaf([0.0, 1.0]).double(), 2.0),
        "HalfCauchy": lambda: D.HalfCauchy(leaf([1.0, 0.5, 3.0])),
        "Gumbel": lambda: D.Gumbel(leaf([0.0, 1.0, -2.0]), leaf([1.0, 0.5, 3.0])),
        "GumbelScalar": lambda: D.Gumbel(1.0, 2.0),
        "Weibull": lambda: D.Weibull(leaf([1.0, 0.5, 3.0]), leaf([0.8, 2.0, 5.0])),
        "Pareto": lambda: D.Pareto(leaf([1.0, 0.5, 3.0]), leaf([0.8, 2.5, 5.0])),
        "Kumaraswamy": lambda: D.Kumaraswamy(leaf([1.5, 0.5, 3.0]), leaf([2.0, 2.5, 0.7])),
        "Chi2": lambda: D.Chi2(leaf([1.0, 2.5, 7.0])),
        "StudentT": lambda: D.StudentT(leaf([3.0, 1.5, 0.8]), leaf([0.0, 1.0, -1.0]),
                                       leaf([1.0, 2.0, 0.5])),
        "FisherSnedecor": lambda: D.FisherSnedecor(leaf([3.0, 1.5, 8.0]), leaf([5.0, 3.0, 9.0])),
        "Geometric": lambda: D.Geometric(leaf([0.2, 0.5, 0.9])),
        "GeometricLogits": lambda: D.Geometric(logits=leaf([-1.0, 0.0, 2.0])),
        "Poisson": lambda: D.Poisson(leaf([[0.5, 4.0, 12.0], [0.0, 30.0, 9.5]])),
        "Binomial": lambda: D.Binomial(lib.tensor([5.0, 40.0, 100.0]),
                                       leaf([0.3, 0.6, 0.95])),
        "BinomialLogits": lambda: D.Binomial(8, logits=leaf([-1.0, 0.5, 3.0])),
        "NegativeBinomial": lambda: D.NegativeBinomial(leaf([2.0, 5.0, 0.5]),
                                                       leaf([0.3, 0.6, 0.9])),
        "Multinomial": lambda: D.Multinomial(6, leaf([[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]])),
        "ContinuousBernoulli": lambda: D.ContinuousBernoulli(leaf([0.2, 0.4995, 0.9])),
        "ContinuousBernoulliLogits": lambda: D.ContinuousBernoulli(logits=leaf([-2.0, 1.0])),
        "RelaxedBernoulli": lambda: D.RelaxedBernoulli(leaf([0.7]), leaf([0.1, 0.5, 0.9])),
        "RelaxedBernoulliLogits": lambda: D.RelaxedBernoulli(lib.tensor(2.0),
                                                             logits=leaf([-1.0, 2.0])),
        "RelaxedOneHotCategorical": lambda: D.RelaxedOneHotCategorical(
            leaf([0.5]), leaf([[0.1, 0.2, 0.7], [0.3, 0.3, 0.4]])),
        "LogisticNormal": lambda: D.LogisticNormal(leaf([[0.1, -0.5], [1.0, 0.3]]),
                                                   leaf([0.5, 1.5])),
        "LowRankMVN": lambda: D.LowRankMultivariateNormal(
            leaf([[0.1, -0.2, 0.3], [1.0, 2.0, 3.0]]),
            leaf([[1.0, 0.2], [0.3, -0.5], [0.0, 0.7]]), leaf([0.5, 1.0, 2.0])),
        "MixtureNormal": lambda: D.MixtureSameFamily(
            D.Categorical(leaf([[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]])),
            D.Normal(leaf([[-1.0, 0.0, 2.0], [0.5, 1.0, -3.0]]), leaf([0.5, 1.0, 0.3]))),
        "MixtureMVN": lambda: D.MixtureSameFamily(
            D.Categorical(logits=leaf([0.1, 0.5])),
            D.Independent(D.Normal(leaf([[0.0, 1.0], [2.0, -1.0]]), 1.0), 1)),
        "VonMises": lambda: D.VonMises(leaf([0.5, -2.0, 3.0]), leaf([0.05, 1.0, 20.0])),
    }
    return makers[name](), leaves


def _same_values(fn, **tolerances):
    """`same`, but a raise on both sides fails: these cases must compute."""
    result = same(fn, **tolerances)
    assert not isinstance(result, Exception), f"both raised: {result!r}"
    return result


NAMES = ["LogNormal", "LogNormalScalar", "HalfNormal", "Cauchy", "CauchyFloat64",
         "HalfCauchy", "Gumbel", "GumbelScalar", "Weibull", "Pareto", "Kumaraswamy", "Chi2",
         "StudentT", "FisherSnedecor", "Geometric", "GeometricLogits", "Poisson", "Binomial",
         "BinomialLogits", "NegativeBinomial", "Multinomial", "ContinuousBernoulli",
         "ContinuousBernoulliLogits", "RelaxedBernoulli", "RelaxedBernoulliLogits",
         "RelaxedOneHotCategorical", "LogisticNormal", "LowRankMVN", "MixtureNormal",
         "MixtureMVN", "VonMises"]
DISCRETE = ["Geometric", "GeometricLogits", "Poisson", "Binomial", "BinomialLogits",
            "NegativeBinomial", "Multinomial", "MixtureNormal", "MixtureMVN", "VonMises"]
RSAMPLE = [n for n in NAMES if n not in DISCRETE]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("sample_shape", [(), (4,), (2, 3)], ids=str)
def test_seeded_samples_equal_torch(name, sample_shape):
    def fn(lib):
        lib.manual_seed(3)
        d, _ = _make(lib, name)
        return d.sample(sample_shape), d.sample(), lib.rand(2)

    _same_values(fn, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", RSAMPLE)
def test_rsample_gradients_equal_torch(name):
    def fn(lib):
        lib.manual_seed(1)
        d, leaves = _make(lib, name)
        x = d.rsample((3,))
        weights = lib.arange(float(x.numel())).reshape(x.shape).to(x.dtype) / x.numel()
        grads = lib.autograd.grad((x * weights).sum(), leaves) if leaves else ()
        return x, grads, d.has_rsample

    _same_values(fn, rtol=2e-5, atol=1e-6)


def _attempt(fn):
    """fn()'s result, or the name of the exception it raised (PyTorch leaves some
    statistics unimplemented; both libraries must then raise the same)."""
    try:
        return fn()
    except (NotImplementedError, ValueError) as error:
        return type(error).__name__


@pytest.mark.parametrize("name", NAMES)
def test_statistics_equal_torch(name):
    def fn(lib):
        lib.manual_seed(2)
        d, leaves = _make(lib, name)
        value = d.sample((3,))
        log_prob = d.log_prob(value)
        entropy = _attempt(d.entropy)
        differentiable = log_prob.sum() + (entropy.sum() if hasattr(entropy, "sum") else 0)
        expanded = d.expand((2,) + tuple(d.batch_shape))
        return {"log_prob": log_prob, "entropy": entropy, "mean": _attempt(lambda: d.mean),
                "mode": _attempt(lambda: d.mode), "variance": _attempt(lambda: d.variance),
                "batch_shape": d.batch_shape, "event_shape": d.event_shape,
                "support": repr(d.support),
                "grads": lib.autograd.grad(differentiable, leaves) if leaves else (),
                "expanded": (expanded.batch_shape, expanded.log_prob(value[:2]).shape,
                             expanded.sample().shape)}

    _same_values(fn, rtol=2e-5, atol=1e-6)


CDF_NAMES = ["LogNormal", "HalfNormal", "Cauchy", "HalfCauchy", "Gumbel", "Weibull", "Pareto",
             "Kumaraswamy", "ContinuousBernoulli"]


@pytest.mark.parametrize("name", CDF_NAMES)
def test_cdf_and_icdf_equal_torch(name):
    def fn(lib):
        lib.manual_seed(4)
        d, leaves = _make(lib, name)
        value = d.sample((2,))
        cdf = d.cdf(value)
        icdf = d.icdf(lib.tensor([0.1, 0.5, 0.8]).to(cdf.dtype))
        return cdf, icdf, lib.autograd.grad(cdf.sum() + icdf.sum(), leaves)

    _same_values(fn, rtol=2e-5, atol=1e-6)


@pytest.mark.parametrize("case", [
    lambda D, lib: D.LogNormal(lib.tensor([0.0]), lib.tensor([-1.0])),
    lambda D, lib: D.LogNormal(0.0, 1.0).log_prob(lib.tensor(-1.0)),
    lambda D, lib: D.HalfNormal(lib.tensor([0.0])),
    lambda D, lib: D.HalfNormal(1.0).log_prob(lib.tensor(-1.0)),
    lambda D, lib: D.Cauchy(lib.tensor([0.0]), lib.tensor([0.0])),
    lambda D, lib: D.HalfCauchy(lib.tensor([-1.0])),
    lambda D, lib: D.Gumbel(lib.tensor([0.0]), lib.tensor([-2.0])),
    lambda D, lib: D.Weibull(lib.tensor([1.0]), lib.tensor([0.0])),
    lambda D, lib: D.Weibull(1.0, 1.0).log_prob(lib.tensor(-1.0)),
    lambda D, lib: D.Pareto(lib.tensor([1.0]), lib.tensor([-1.0])),
    lambda D, lib: D.Pareto(lib.tensor([2.0]), lib.tensor([1.0])).log_prob(lib.tensor([1.0])),
    lambda D, lib: D.Kumaraswamy(lib.tensor([1.0]), lib.tensor([0.0])),
    lambda D, lib: D.Kumaraswamy(2.0, 2.0).log_prob(lib.tensor(1.5)),
    lambda D, lib: D.Chi2(lib.tensor([-1.0])),
    lambda D, lib: D.StudentT(lib.tensor([0.0])),
    lambda D, lib: D.StudentT(lib.tensor([1.0]), scale=lib.tensor([-1.0])),
    lambda D, lib: D.FisherSnedecor(lib.tensor([1.0]), lib.tensor([0.0])),
    lambda D, lib: D.Geometric(lib.tensor([0.0])),
    lambda D, lib: D.Geometric(lib.tensor([1.5])),
    lambda D, lib: D.Geometric(lib.tensor([0.5]), logits=lib.tensor([0.0])),
    lambda D, lib: D.Geometric(lib.tensor([0.5])).log_prob(lib.tensor([0.5])),
    lambda D, lib: D.TransformedDistribution(D.Normal(0.0, 1.0), 3),
    lambda D, lib: D.TransformedDistribution(D.Normal(0.0, 1.0), [3]),
    lambda D, lib: D.Poisson(lib.tensor([-1.0])),
    lambda D, lib: D.Poisson(lib.tensor([2.0])).log_prob(lib.tensor([1.5])),
    lambda D, lib: D.Binomial(lib.tensor([3.0]), lib.tensor([1.5])),
    lambda D, lib: D.Binomial(lib.tensor([2.5]), lib.tensor([0.5])),
    lambda D, lib: D.Binomial(4, lib.tensor([0.5])).log_prob(lib.tensor([5.0])),
    lambda D, lib: D.Binomial(lib.tensor([3.0, 4.0]), lib.tensor([0.5, 0.5])).entropy(),
    lambda D, lib: D.NegativeBinomial(lib.tensor([-1.0]), lib.tensor([0.5])),
    lambda D, lib: D.NegativeBinomial(lib.tensor([1.0]), lib.tensor([1.0])),
    lambda D, lib: D.Multinomial(lib.tensor(3), lib.tensor([0.5, 0.5])),
    lambda D, lib: D.Multinomial(3, lib.tensor([0.5, 0.5])).log_prob(lib.tensor([-1.0, 4.0])),
    lambda D, lib: D.ContinuousBernoulli(lib.tensor([1.5]), validate_args=True),
    lambda D, lib: D.RelaxedBernoulli(lib.tensor(1.0), lib.tensor([0.5]),
                                      logits=lib.tensor([0.0])),
    lambda D, lib: D.RelaxedOneHotCategorical(lib.tensor(1.0), lib.tensor([0.5, -0.5])),
    lambda D, lib: D.LogisticNormal(lib.zeros(2), lib.tensor([1.0, -1.0])),
    lambda D, lib: D.LowRankMultivariateNormal(lib.tensor(0.0), lib.ones(1, 1), lib.ones(1)),
    lambda D, lib: D.LowRankMultivariateNormal(lib.zeros(2), lib.ones(2), lib.ones(2)),
    lambda D, lib: D.LowRankMultivariateNormal(lib.zeros(2), lib.ones(3, 1), lib.ones(2)),
    lambda D, lib: D.LowRankMultivariateNormal(lib.zeros(2), lib.ones(2, 1), lib.ones(3)),
    lambda D, lib: D.LowRankMultivariateNormal(lib.zeros(2), lib.ones(2, 1), -lib.ones(2)),
    lambda D, lib: D.MixtureSameFamily(D.Normal(0.0, 1.0), D.Normal(lib.zeros(2), 1.0)),
    lambda D, lib: D.MixtureSameFamily(D.Categorical(lib.ones(3)), D.Normal(lib.zeros(2), 1.0)),
    lambda D, lib: D.VonMises(lib.tensor([0.0]), lib.tensor([-1.0])),
    lambda D, lib: D.Cauchy(0.0, 1.0).log_prob(lib.tensor(float("nan"))),
], ids=lambda f: "")
def test_validation_errors_match_torch(case):
    raises_like_torch(lambda lib: case(lib.distributions, lib))


def _transform(lib, name):
    T = lib.distributions.transforms
    return {
        "Exp": lambda: T.ExpTransform(),
        "Affine": lambda: T.AffineTransform(lib.tensor([0.5, -1.0, 2.0]),
                                            lib.tensor([2.0, -0.5, 1.5])),
        "AffineScalar": lambda: T.AffineTransform(1.0, -3.0),
        "AffineEvent": lambda: T.AffineTransform(0.5, lib.tensor([2.0, 0.5, 3.0]), event_dim=1),
        "Sigmoid": lambda: T.SigmoidTransform(),
        "Tanh": lambda: T.TanhTransform(),
        "Power": lambda: T.PowerTransform(lib.tensor([0.5, 2.0, -1.5])),
        "StickBreaking": lambda: T.StickBreakingTransform(),
        "Compose": lambda: T.ComposeTransform([T.AffineTransform(0.1, 2.0), T.TanhTransform(),
                                               T.AffineTransform(1.0, 3.0), T.ExpTransform()]),
        "ComposeEvent": lambda: T.ComposeTransform([T.ExpTransform(),
                                                    T.StickBreakingTransform()]),
        "InverseExp": lambda: T.ExpTransform().inv,
        "InverseCompose": lambda: T.ComposeTransform([T.SigmoidTransform(),
                                                      T.AffineTransform(0.0, 4.0)]).inv,
    }[name]()


TRANSFORMS = ["Exp", "Affine", "AffineScalar", "AffineEvent", "Sigmoid", "Tanh", "Power",
              "StickBreaking", "Compose", "ComposeEvent", "InverseExp", "InverseCompose"]


@pytest.mark.parametrize("name", TRANSFORMS)
def test_transforms_equal_torch(name):
    def fn(lib):
        t = _transform(lib, name)
        x = lib.tensor([[0.3, 0.7, 1.2], [0.1, 0.5, 0.9]], requires_grad=True)
        y = t(x)
        x_back = t.inv(y)
        ladj = t.log_abs_det_jacobian(x, y)
        sign = _attempt(lambda: t.sign)
        return {"y": y, "x_back": x_back, "ladj": ladj, "bijective": t.bijective,
                "sign": sign, "domain": repr(t.domain), "codomain": repr(t.codomain),
                "domain_event_dim": t.domain.event_dim,
                "forward_shape": tuple(t.forward_shape((4, 2, 3))),
                "inverse_shape": tuple(t.inverse_shape(tuple(y.shape))),
                "grad": lib.autograd.grad(ladj.sum() + y.sum(), x)}

    _same_values(fn, rtol=2e-5, atol=1e-6)


def test_non_injective_transforms_and_inverse_identity():
    def fn(lib):
        T = lib.distributions.transforms
        x = lib.tensor([[-1.0, 0.5, 2.0]])
        t = T.ExpTransform()
        return (T.AbsTransform()(x), T.AbsTransform().inv(x), T.SoftmaxTransform()(x),
                T.SoftmaxTransform().inv(T.SoftmaxTransform()(x)), t.inv.inv is t,
                T.ExpTransform() == T.ExpTransform(), T.SoftmaxTransform().bijective,
                repr(T.SoftmaxTransform().codomain))

    _same_values(fn, rtol=1e-6, atol=1e-7)


def test_transformed_distribution_equals_torch():
    def fn(lib):
        D, T = lib.distributions, lib.distributions.transforms
        lib.manual_seed(7)
        loc = lib.tensor([[0.1, -0.3], [0.4, 0.2]], requires_grad=True)
        d = D.TransformedDistribution(
            D.Normal(loc, 1.0), [T.AffineTransform(0.5, 2.0), T.StickBreakingTransform()])
        decreasing = D.TransformedDistribution(D.Exponential(lib.tensor([2.0])),
                                               [T.AffineTransform(1.0, -1.0)])
        x = d.rsample((3,))
        log_prob = d.log_prob(x)
        e = d.expand((5, 2))
        return {"x": x, "log_prob": log_prob, "shapes": (d.batch_shape, d.event_shape),
                "support": repr(d.support), "has_rsample": d.has_rsample,
                "expanded": (e.batch_shape, e.sample().shape),
                "cdf": decreasing.cdf(lib.tensor([0.5, -1.0])),
                "icdf": decreasing.icdf(lib.tensor([0.2, 0.9])),
                "grad": lib.autograd.grad(log_prob.sum() + x.sum(), loc)}

    _same_values(fn, rtol=2e-5, atol=1e-6)


def _kl_pair(lib, name):
    D = lib.distributions
    t = lib.tensor
    cov = t([[2.0, 0.3, 0.1], [0.3, 1.0, 0.2], [0.1, 0.2, 0.5]])
    lowrank = (t([0.1, -0.2, 0.3]), t([[1.0, 0.2], [0.3, -0.5], [0.0, 0.7]]), t([0.5, 1.0, 2.0]))
    lowrank_q = (t([[0.0, 0.5, 0.1]]), t([[0.4], [0.1], [-0.3]]), t([1.0, 0.7, 1.5]))
    return {
        "Beta": (D.Beta(t([0.5, 2.0]), t([1.0, 3.0])), D.Beta(t([2.0, 1.5]), t([0.7, 4.0]))),
        "Gamma": (D.Gamma(t([0.5, 2.0]), t([1.0, 3.0])), D.Gamma(t([2.0, 1.5]), t([0.7, 4.0]))),
        "Chi2Gamma": (D.Chi2(t([3.0, 5.0])), D.Gamma(t([2.0, 1.5]), t([0.7, 4.0]))),
        "Dirichlet": (D.Dirichlet(t([0.5, 2.0, 1.0])), D.Dirichlet(t([[2.0, 1.5, 0.3]]))),
        "MVN": (D.MultivariateNormal(t([0.1, -0.2, 0.3]), cov),
                D.MultivariateNormal(t([[1.0, 0.0, 0.0]]), scale_tril=cov.tril())),
        "LowRank": (D.LowRankMultivariateNormal(*lowrank),
                    D.LowRankMultivariateNormal(*lowrank_q)),
        "MVNLowRank": (D.MultivariateNormal(t([0.1, -0.2, 0.3]), cov),
                       D.LowRankMultivariateNormal(*lowrank_q)),
        "LowRankMVN": (D.LowRankMultivariateNormal(*lowrank),
                       D.MultivariateNormal(t([[1.0, 0.0, 0.0]]), cov)),
        "Binomial": (D.Binomial(t([5.0, 7.0]), t([0.3, 0.6])),
                     D.Binomial(t([5.0, 4.0]), t([0.5, 0.2]))),
        "ContinuousBernoulli": (D.ContinuousBernoulli(t([0.2, 0.4999, 0.9])),
                                D.ContinuousBernoulli(t([0.6, 0.3, 0.5]))),
        "Gumbel": (D.Gumbel(t([0.0, 1.0]), t([1.0, 2.0])), D.Gumbel(t([0.5, -1.0]), 1.5)),
        "Geometric": (D.Geometric(t([0.2, 0.7])), D.Geometric(t([0.5, 0.1]))),
        "HalfNormal": (D.HalfNormal(t([1.0, 2.0])), D.HalfNormal(t([0.5, 3.0]))),
        "Pareto": (D.Pareto(t([1.0, 2.0]), t([3.0, 1.5])), D.Pareto(t([1.5, 1.0]), 2.0)),
        "Poisson": (D.Poisson(t([1.0, 4.0])), D.Poisson(t([2.0, 0.5]))),
        "LogNormal": (D.LogNormal(t([0.0, 1.0]), t([1.0, 0.5])),
                      D.LogNormal(t([0.5, 0.0]), t([2.0, 1.0]))),
        "Cauchy": (D.Cauchy(t([0.0, 1.0]), t([1.0, 0.5])), D.Cauchy(t([0.5, 0.0]), 2.0)),
    }[name]


KL_PAIRS = ["Beta", "Gamma", "Chi2Gamma", "Dirichlet", "MVN", "LowRank", "MVNLowRank",
            "LowRankMVN", "Binomial", "ContinuousBernoulli", "Gumbel", "Geometric", "HalfNormal",
            "Pareto", "Poisson", "LogNormal", "Cauchy"]


@pytest.mark.parametrize("name", KL_PAIRS)
def test_kl_divergence_equals_torch(name):
    _same_values(lambda lib: lib.distributions.kl_divergence(*_kl_pair(lib, name)),
                 rtol=2e-5, atol=1e-6)


def test_kl_between_differently_transformed_distributions_is_not_implemented():
    raises_like_torch(lambda lib: lib.distributions.kl_divergence(
        lib.distributions.LogNormal(0.0, 1.0), lib.distributions.Weibull(1.0, 2.0)))


def _kl_family(lib, name):
    D, t = lib.distributions, lib.tensor
    return {
        "Bernoulli": lambda: D.Bernoulli(t([0.3, 0.8])),
        "Beta": lambda: D.Beta(t([0.5, 2.0]), t([1.5, 3.0])),
        "Binomial": lambda: D.Binomial(t([4.0, 6.0]), t([0.3, 0.6])),
        "ContinuousBernoulli": lambda: D.ContinuousBernoulli(t([0.2, 0.7])),
        "Exponential": lambda: D.Exponential(t([0.5, 2.0])),
        "Gamma": lambda: D.Gamma(t([0.5, 2.0]), t([1.0, 3.0])),
        "Gumbel": lambda: D.Gumbel(t([0.0, 1.0]), t([1.0, 2.0])),
        "Laplace": lambda: D.Laplace(t([0.0, 1.0]), t([1.0, 0.5])),
        "Normal": lambda: D.Normal(t([0.3, -1.0]), t([1.0, 2.0])),
        "Pareto": lambda: D.Pareto(t([0.5, 1.0]), t([3.0, 1.5])),
        "Poisson": lambda: D.Poisson(t([1.0, 3.0])),
        "Uniform": lambda: D.Uniform(t([0.2, 1.5]), t([0.7, 4.0])),
    }[name]()


KL_FAMILIES = ["Bernoulli", "Beta", "Binomial", "ContinuousBernoulli", "Exponential", "Gamma",
               "Gumbel", "Laplace", "Normal", "Pareto", "Poisson", "Uniform"]


@pytest.mark.parametrize("p_name", KL_FAMILIES)
def test_kl_across_families_equals_torch(p_name):
    def fn(lib):
        p = _kl_family(lib, p_name)
        out = {}
        for q_name in KL_FAMILIES:
            q = _kl_family(lib, q_name)
            out[q_name] = _attempt(functools.partial(lib.distributions.kl_divergence, p, q))
        return out

    results = _same_values(fn, rtol=2e-5, atol=1e-6)
    assert any(not isinstance(value, str) for value in results.values())


@pytest.mark.parametrize("make", [
    lambda D: D.Cauchy(gt.tensor([0.0]), gt.tensor([1.0])),
    lambda D: D.Poisson(gt.tensor([3.0])),
    lambda D: D.Binomial(5, gt.tensor([0.5])),
    lambda D: D.StudentT(gt.tensor([3.0])),
], ids=["Cauchy", "Poisson", "Binomial", "StudentT"])
def test_samples_are_refused_inside_a_trace(make):
    d = make(gt.distributions)
    with pytest.raises(gt.TracingError):
        gt.trace(lambda x: d.sample() * x, gt.ones(1))


def test_count_samplers_equal_torch_in_float64_and_at_extreme_parameters():
    """Poisson's and Binomial's rejection branches (rate >= 10, count * p >= 10, p > 1/2)
    and the small-parameter loops consume the stream as ATen's samplers do."""
    def fn(lib):
        D, f64 = lib.distributions, lib.float64
        lib.manual_seed(11)
        return (D.Poisson(lib.tensor([0.3, 15.0, 200.0], dtype=f64)).sample((5,)),
                D.Binomial(lib.tensor([3.0, 50.0, 1000.0], dtype=f64),
                           lib.tensor([0.1, 0.55, 0.999], dtype=f64)).sample((5,)),
                D.NegativeBinomial(lib.tensor([2.0, 30.0]),
                                   logits=lib.tensor([0.5, -1.0])).sample((4,)),
                D.Geometric(lib.tensor([0.01, 0.999], dtype=f64)).sample((4,)),
                lib.rand(2))

    _same_values(fn)


def test_torch_poisson_function_draws_as_pytorch():
    """`gt.poisson` (torch.poisson): the input's dtype, the default or a given generator."""
    draws = []
    for lib in (torch, gt):
        lib.manual_seed(0)
        a = lib.poisson(lib.tensor([1.0, 4.0, 20.0, 0.5]))
        b = lib.poisson(lib.full((3,), 2.0, dtype=lib.float64),
                        generator=lib.Generator().manual_seed(3))
        draws.append((a.tolist(), str(a.dtype), b.tolist(), str(b.dtype), lib.rand(1).item()))
    assert draws[0] == draws[1]
