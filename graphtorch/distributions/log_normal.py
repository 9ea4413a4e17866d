"""`LogNormal(loc, scale)` and `HalfNormal(scale)` (`torch.distributions`): a Normal pushed
through exp and |.|, as PyTorch defines them, so seeded draws equal PyTorch's."""

from __future__ import annotations

import math

from ..tensor import Tensor
from . import constraints
from .normal import Normal
from .half import Half
from .transformed_distribution import TransformedDistribution
from .transforms import ExpTransform

__all__ = ["HalfNormal", "LogNormal"]


class LogNormal(TransformedDistribution):
    """exp(X) for X ~ Normal(loc, scale).

    >>> gt.manual_seed(0)
    >>> LogNormal(gt.tensor([0.0]), gt.tensor([1.0])).sample()
    tensor([4.6692])
    """

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        super().__init__(Normal(loc, scale, validate_args=validate_args), ExpTransform(),
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(LogNormal, _instance)
        return super().expand(batch_shape, _instance=new)

    @property
    def loc(self) -> Tensor:
        return self.base_dist.loc

    @property
    def scale(self) -> Tensor:
        return self.base_dist.scale

    @property
    def mean(self) -> Tensor:
        return (self.loc + self.scale.pow(2) / 2).exp()

    @property
    def mode(self) -> Tensor:
        return (self.loc - self.scale.square()).exp()

    @property
    def variance(self) -> Tensor:
        scale_sq = self.scale.pow(2)
        return scale_sq.expm1() * (2 * self.loc + scale_sq).exp()

    def entropy(self):
        return self.base_dist.entropy() + self.loc


class HalfNormal(Half):
    """|X| for X ~ Normal(0, scale).

    >>> HalfNormal(gt.tensor([1.0])).mean
    tensor([0.7979])
    """

    base_cls = Normal

    @property
    def mean(self) -> Tensor:
        return self.scale * math.sqrt(2 / math.pi)

    @property
    def variance(self) -> Tensor:
        return self.scale.pow(2) * (1 - 2 / math.pi)
