"""`Poisson(rate)` (`torch.distributions.Poisson`): draws equal PyTorch's for a seed
(`count_kernels.poisson` is ATen's CPU sampler)."""

from __future__ import annotations

import numbers

from ..autograd.grad_mode import no_grad
from ..functions.creation import tensor
from ..random import default_generator
from ..tensor import Size, Tensor
from . import constraints
from . import count_kernels as kernels
from .distribution import Distribution
from .gamma import _host
from .utils import broadcast_all

__all__ = ["Poisson", "poisson"]


def poisson(input: Tensor, generator=None) -> Tensor:
    """`torch.poisson` (``gt.poisson``): one Poisson(rate) draw per element of `input`, in
    its dtype, without gradient.

    >>> gt.manual_seed(0); gt.poisson(gt.tensor([1.0, 4.0, 20.0]))
    tensor([ 2.,  5., 17.])
    """
    with no_grad():
        return tensor(kernels.poisson(_host(input), generator or default_generator),
                      device=input.device)


class Poisson(Distribution):
    """Counts with mean `rate`: P(k) = rate^k exp(-rate) / k!.

    >>> gt.manual_seed(0)
    >>> Poisson(gt.tensor([4.0])).sample()
    tensor([7.])
    """

    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer

    def __init__(self, rate, validate_args=None):
        (self.rate,) = broadcast_all(rate)
        scalar = isinstance(rate, numbers.Number)
        super().__init__(Size() if scalar else self.rate.size(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expanded(Poisson, batch_shape, _instance, "rate")

    @property
    def mean(self) -> Tensor:
        return self.rate

    @property
    def mode(self) -> Tensor:
        return self.rate.floor()

    @property
    def variance(self) -> Tensor:
        return self.rate

    def sample(self, sample_shape=Size()):
        return poisson(self.rate.expand(self._extended_shape(sample_shape)))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        rate, value = broadcast_all(self.rate, value)
        return value.xlogy(rate) - rate - (value + 1).lgamma()
