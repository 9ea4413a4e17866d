"""`gt.distributions`: probability distributions as `torch.distributions` defines them.

Parameters are validated against constraints (PyTorch's ValueErrors), `rsample` is
differentiable (the reparameterisation trick), and seeded draws equal PyTorch's: samplers
call the same generator routines in the same order (`gt.normal`, `gt.rand`,
`gt.bernoulli`, `gt.multinomial`; Gamma, Beta and Dirichlet run ATen's Marsaglia-Tsang
sampler on the same stream, `gamma_kernels.py`; Poisson and Binomial ATen's samplers,
`count_kernels.py`). Many families are a base distribution pushed through `transforms`
(`TransformedDistribution`), exactly as PyTorch defines them, so their draws match too.
"""

from __future__ import annotations

# kl_cross_family and kl_families register their KL closed forms when imported.
from . import constraints, kl_cross_family, kl_families, transforms
from .bernoulli import Bernoulli
from .beta import Beta
from .binomial import Binomial, NegativeBinomial
from .categorical import Categorical
from .cauchy import Cauchy, HalfCauchy
from .continuous_bernoulli import ContinuousBernoulli
from .dirichlet import Dirichlet
from .distribution import Distribution
from .exponential import Exponential
from .gamma import Gamma
from .geometric import Geometric
from .gumbel import Gumbel
from .independent import Independent
from .kl import kl_divergence, register_kl
from .kumaraswamy import Kumaraswamy
from .laplace import Laplace
from .log_normal import HalfNormal, LogNormal
from .logistic_normal import LogisticNormal
from .lowrank_multivariate_normal import LowRankMultivariateNormal
from .mixture_same_family import MixtureSameFamily
from .multinomial import Multinomial
from .multivariate_normal import MultivariateNormal
from .normal import Normal
from .one_hot_categorical import OneHotCategorical
from .poisson import Poisson
from .relaxed import (
                      ExpRelaxedCategorical,
                      LogitRelaxedBernoulli,
                      RelaxedBernoulli,
                      RelaxedOneHotCategorical,
)
from .student_t import Chi2, FisherSnedecor, StudentT
from .transformed_distribution import TransformedDistribution
from .transforms import (
                      AbsTransform,
                      AffineTransform,
                      ComposeTransform,
                      ExpTransform,
                      PowerTransform,
                      SigmoidTransform,
                      SoftmaxTransform,
                      StickBreakingTransform,
                      TanhTransform,
                      Transform,
)
from .uniform import Uniform
from .von_mises import VonMises
from .weibull import Pareto, Weibull

__all__ = ["AbsTransform", "AffineTransform", "Bernoulli", "Beta", "Binomial", "Categorical",
           "Cauchy", "Chi2", "ComposeTransform", "ContinuousBernoulli", "Dirichlet",
           "Distribution", "ExpRelaxedCategorical", "ExpTransform", "Exponential",
           "FisherSnedecor", "Gamma", "Geometric", "Gumbel", "HalfCauchy", "HalfNormal",
           "Independent", "Kumaraswamy", "Laplace", "LogNormal", "LogisticNormal",
           "LogitRelaxedBernoulli", "LowRankMultivariateNormal", "MixtureSameFamily",
           "Multinomial", "MultivariateNormal", "NegativeBinomial", "Normal",
           "OneHotCategorical", "Pareto", "Poisson", "PowerTransform", "RelaxedBernoulli",
           "RelaxedOneHotCategorical", "SigmoidTransform", "SoftmaxTransform",
           "StickBreakingTransform", "StudentT", "TanhTransform", "Transform",
           "TransformedDistribution", "Uniform", "VonMises", "Weibull", "constraints",
           "kl_divergence", "register_kl", "transforms"]
