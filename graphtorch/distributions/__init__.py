"""`gt.distributions`: probability distributions as `torch.distributions` defines them.

Parameters are validated against constraints (PyTorch's ValueErrors), `rsample` is
differentiable (the reparameterisation trick), and seeded draws equal PyTorch's: samplers
call the same generator routines in the same order (`gt.normal`, `gt.rand`,
`gt.bernoulli`, `gt.multinomial`; Gamma, Beta and Dirichlet run ATen's Marsaglia-Tsang
sampler on the same stream, `gamma_kernels.py`).
"""

from __future__ import annotations

from . import constraints
from .bernoulli import Bernoulli
from .beta import Beta
from .categorical import Categorical
from .dirichlet import Dirichlet
from .distribution import Distribution
from .exponential import Exponential
from .gamma import Gamma
from .independent import Independent
from .kl import kl_divergence, register_kl
from .laplace import Laplace
from .multivariate_normal import MultivariateNormal
from .normal import Normal
from .one_hot_categorical import OneHotCategorical
from .uniform import Uniform

__all__ = ["Bernoulli", "Beta", "Categorical", "Dirichlet", "Distribution", "Exponential",
           "Gamma", "Independent", "Laplace", "MultivariateNormal", "Normal",
           "OneHotCategorical", "Uniform", "constraints", "kl_divergence", "register_kl"]
