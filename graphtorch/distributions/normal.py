"""`Normal(loc, scale)` (`torch.distributions.Normal`): draws equal PyTorch's for a seed."""

from __future__ import annotations

import math
import numbers

from ..autograd.grad_mode import no_grad
from ..functions.creation import normal as _normal
from ..tensor import Size, Tensor
from .loc_scale import LocScale
from .utils import _standard_normal

__all__ = ["Normal"]


class Normal(LocScale):
    """The normal (Gaussian) distribution with mean `loc` and standard deviation `scale`.

    >>> gt.manual_seed(0)
    >>> Normal(gt.tensor([0.0]), gt.tensor([1.0])).sample()
    tensor([1.5410])
    """

    @property
    def stddev(self) -> Tensor:
        return self.scale

    @property
    def variance(self) -> Tensor:
        return self.stddev.pow(2)

    def sample(self, sample_shape=Size()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        with no_grad():
            return _normal(self.loc.expand(shape), self.scale.expand(shape))

    def rsample(self, sample_shape=Size()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        eps = _standard_normal(shape, dtype=self.loc.dtype, device=self.loc.device)
        return self.loc + eps * self.scale

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        var = self.scale ** 2
        log_scale = math.log(self.scale) if isinstance(self.scale, numbers.Number) \
            else self.scale.log()
        return -((value - self.loc) ** 2) / (2 * var) - log_scale - \
            math.log(math.sqrt(2 * math.pi))

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return 0.5 * (1 + ((value - self.loc) * self.scale.reciprocal() / math.sqrt(2)).erf())

    def icdf(self, value):
        return self.loc + self.scale * (2 * value - 1).erfinv() * math.sqrt(2)

    def entropy(self):
        return 0.5 + 0.5 * math.log(2 * math.pi) + self.scale.log()
