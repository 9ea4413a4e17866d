"""`gt.distributions`: probability distributions as `torch.distributions` defines them.

Parameters are validated against constraints (PyTorch's ValueErrors), `rsample` is
differentiable (the reparameterisation trick), and seeded draws equal PyTorch's: samplers
call the same generator routines in the same order (`gt.normal`, `gt.rand`,
`gt.bernoulli`, `gt.multinomial`).
"""

from __future__ import annotations

from . import constraints
from .bernoulli import Bernoulli
from .categorical import Categorical
from .distribution import Distribution
from .independent import Independent
from .kl import kl_divergence, register_kl
from .normal import Normal
from .uniform import Uniform

__all__ = ["Bernoulli", "Categorical", "Distribution", "Independent", "Normal", "Uniform",
           "constraints", "kl_divergence", "register_kl"]
