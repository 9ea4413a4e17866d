"""`Dirichlet(concentration)` (`torch.distributions.Dirichlet`): draws equal PyTorch's for a
seed, and `rsample` carries PyTorch's reparameterised gradient (ATen's `_dirichlet_grad`)."""

from __future__ import annotations

from ..autograd.function import Function
from ..functions.creation import tensor
from ..functions.math_extra import xlogy
from ..functions.movement import one_hot
from ..random import default_generator
from ..tensor import Size, Tensor
from . import constraints
from . import gamma_kernels as kernels
from .distribution import Distribution
from .gamma import _host

__all__ = ["Dirichlet"]


class _Dirichlet(Function):
    @staticmethod
    def forward(ctx, concentration):
        draws = tensor(kernels.dirichlet(_host(concentration), default_generator),
                       device=concentration.device)
        ctx.save_for_backward(draws, concentration)
        return draws

    @staticmethod
    def backward(ctx, grad_output):
        draws, concentration = ctx.saved_tensors
        alpha = _host(concentration)
        total = alpha.sum(-1, keepdims=True)
        slope = tensor(kernels.dirichlet_grad(_host(draws), alpha, total),
                       device=concentration.device)
        return slope * (grad_output - (draws * grad_output).sum(-1, True))


class Dirichlet(Distribution):
    """Distributions over the simplex: `concentration`'s last dim is the event.

    >>> gt.manual_seed(0)
    >>> Dirichlet(gt.tensor([0.5, 0.5])).sample()
    tensor([0.0176, 0.9824])
    """

    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration, validate_args=None):
        if concentration.dim() < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        super().__init__(concentration.shape[:-1], concentration.shape[-1:],
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Dirichlet, _instance)
        batch_shape = Size(batch_shape)
        new.concentration = self.concentration.expand(batch_shape + self.event_shape)
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def rsample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        return _Dirichlet.apply(self.concentration.expand(shape))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return (xlogy(self.concentration - 1.0, value).sum(-1)
                + self.concentration.sum(-1).lgamma() - self.concentration.lgamma().sum(-1))

    @property
    def mean(self) -> Tensor:
        return self.concentration / self.concentration.sum(-1, True)

    @property
    def mode(self) -> Tensor:
        minus_one = (self.concentration - 1).clamp(min=0.0)
        mode = minus_one / minus_one.sum(-1, True)
        mask = (self.concentration < 1).all(dim=-1)
        if bool(mask.any()):  # every concentration below 1: a vertex of the simplex
            mode[mask] = one_hot(mode[mask].argmax(dim=-1), minus_one.shape[-1]).to(mode)
        return mode

    @property
    def variance(self) -> Tensor:
        total = self.concentration.sum(-1, True)
        return (self.concentration * (total - self.concentration)
                / (total.pow(2) * (total + 1)))

    def entropy(self):
        k = self.concentration.size(-1)
        total = self.concentration.sum(-1)
        return (self.concentration.lgamma().sum(-1) - total.lgamma()
                - (k - total) * total.digamma()
                - ((self.concentration - 1.0) * self.concentration.digamma()).sum(-1))
