"""`Cauchy(loc, scale)` and `HalfCauchy(scale)` (`torch.distributions`): draws equal
PyTorch's for a seed (its CPU `cauchy_`: tan(pi (u - 1/2)) for one 53-bit uniform u each)."""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..functions.creation import full, tensor
from ..random import default_generator
from ..tensor import Size, Tensor
from . import constraints
from .distribution import Distribution
from .half import Half
from .utils import broadcast_all

__all__ = ["Cauchy", "HalfCauchy"]


def _standard_cauchy(shape, dtype, device) -> Tensor:
    """Standard Cauchy draws as PyTorch's `empty(shape).cauchy_()` on the CPU generator."""
    unit = default_generator.uniform(int(np.prod(shape, dtype=np.int64)), 0.0, 1.0, np.float64)
    values = np.fromiter((math.tan(math.pi * (u - 0.5)) for u in unit.tolist()),
                         dtype=np.float64, count=unit.size)
    return tensor(values.reshape(tuple(shape)), dtype=dtype, device=device)


class Cauchy(Distribution):
    """The Cauchy (Lorentz) distribution with median `loc` and half width `scale`.

    >>> gt.manual_seed(0)
    >>> Cauchy(gt.tensor([0.0]), gt.tensor([1.0])).sample()
    tensor([10.5977])
    """

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        scalar = isinstance(loc, numbers.Number) and isinstance(scale, numbers.Number)
        super().__init__(Size() if scalar else self.loc.size(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expanded(Cauchy, batch_shape, _instance, "loc", "scale")

    @property
    def mean(self) -> Tensor:
        return full(self._extended_shape(), math.nan, dtype=self.loc.dtype,
                    device=self.loc.device)

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        return full(self._extended_shape(), math.inf, dtype=self.loc.dtype,
                    device=self.loc.device)

    def rsample(self, sample_shape=Size()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        eps = _standard_cauchy(shape, self.loc.dtype, self.loc.device)
        return self.loc + eps * self.scale

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return (-math.log(math.pi) - self.scale.log()
                - (((value - self.loc) / self.scale) ** 2).log1p())

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return ((value - self.loc) / self.scale).atan() / math.pi + 0.5

    def icdf(self, value):
        return (math.pi * (value - 0.5)).tan() * self.scale + self.loc

    def entropy(self):
        return math.log(4 * math.pi) + self.scale.log()


class HalfCauchy(Half):
    """|X| for X ~ Cauchy(0, scale).

    >>> HalfCauchy(gt.tensor([1.0])).log_prob(gt.tensor([0.0]))
    tensor([-0.4516])
    """

    base_cls = Cauchy

    @property
    def mean(self) -> Tensor:
        return full(self._extended_shape(), math.inf, dtype=self.scale.dtype,
                    device=self.scale.device)

    @property
    def variance(self) -> Tensor:
        return self.base_dist.variance
