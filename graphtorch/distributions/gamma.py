"""`Gamma(concentration, rate)` (`torch.distributions.Gamma`): draws equal PyTorch's for a
seed, and `rsample` carries PyTorch's reparameterised gradient to `concentration`."""

from __future__ import annotations

import numbers

import numpy as np

from ..autograd.function import Function
from ..functions.creation import tensor
from ..functions.math_extra import xlogy
from ..random import default_generator
from ..tensor import Size, Tensor
from . import constraints
from . import gamma_kernels as kernels
from .distribution import Distribution
from .utils import broadcast_all

__all__ = ["Gamma", "standard_gamma"]


def _host(t: Tensor) -> np.ndarray:
    return np.asarray(t.detach().cpu().numpy())


class _StandardGamma(Function):
    """Gamma(alpha, 1) draws; backward d x / d alpha as ATen's `_standard_gamma_grad`."""

    @staticmethod
    def forward(ctx, alpha):
        draws = tensor(kernels.standard_gamma(_host(alpha), default_generator),
                       device=alpha.device)
        ctx.save_for_backward(alpha, draws)
        return draws

    @staticmethod
    def backward(ctx, grad_output):
        alpha, draws = ctx.saved_tensors
        slope = kernels.standard_gamma_grad(_host(alpha), _host(draws))
        return grad_output * tensor(slope, device=alpha.device)


def standard_gamma(alpha: Tensor) -> Tensor:
    """`torch._standard_gamma`: one Gamma(alpha, 1) draw per element, differentiable."""
    return _StandardGamma.apply(alpha)


class Gamma(Distribution):
    """Gamma with shape `concentration` and inverse scale `rate`.

    >>> gt.manual_seed(0)
    >>> Gamma(gt.tensor([1.0]), gt.tensor([1.0])).sample()
    tensor([2.8824])
    """

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    _mean_carrier_measure = 0

    def __init__(self, concentration, rate, validate_args=None):
        self.concentration, self.rate = broadcast_all(concentration, rate)
        scalar = isinstance(concentration, numbers.Number) and isinstance(rate, numbers.Number)
        super().__init__(Size() if scalar else self.concentration.size(),
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expanded(Gamma, batch_shape, _instance, "concentration", "rate")

    @property
    def mean(self) -> Tensor:
        return self.concentration / self.rate

    @property
    def mode(self) -> Tensor:
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self) -> Tensor:
        return self.concentration / self.rate.pow(2)

    def rsample(self, sample_shape=Size()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        value = standard_gamma(self.concentration.expand(shape)) / self.rate.expand(shape)
        tiny = float(np.finfo(value.detach().numpy().dtype).tiny)
        value.detach().clamp_(min=tiny)  # do not record in autograd graph
        return value

    def log_prob(self, value):
        if not isinstance(value, Tensor):
            value = tensor(value, dtype=self.rate.dtype, device=self.rate.device)
        if self._validate_args:
            self._validate_sample(value)
        return (xlogy(self.concentration, self.rate) + xlogy(self.concentration - 1, value)
                - self.rate * value - self.concentration.lgamma())

    def entropy(self):
        return (self.concentration - self.rate.log() + self.concentration.lgamma()
                + (1.0 - self.concentration) * self.concentration.digamma())
