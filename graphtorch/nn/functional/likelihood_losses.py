"""Negative log-likelihood losses of distributions (found through `gt.nn.functional`):
poisson_nll_loss and gaussian_nll_loss, PyTorch's decompositions written with existing
graphtorch ops (autograd and the compiled mode need nothing new).
"""

from __future__ import annotations

import math

from ...dtypes import scalar_type_name
from ...functions.creation import ones_like
from ...functions.reduce import any as any_of
from ...ops import losses as losses_ops
from ...tensor import Tensor
from .losses import _legacy_reduction, _reduce

__all__ = ["gaussian_nll_loss", "poisson_nll_loss"]


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8,
                     reduce=None, reduction="mean"):
    """exp(input) - target * input (log_input) or input - target * log(input + eps); full
    adds Stirling's approximation of log(target!) where target > 1.

    >>> F.poisson_nll_loss(gt.tensor([0.]), gt.tensor([1.]))
    tensor(1.)
    """
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce)
    losses_ops.check_reduction(reduction)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        stirling = (target * target.log() - target
                    + 0.5 * (2 * math.pi * target).log())
        loss = loss + stirling.masked_fill(target <= 1, 0)
    return _reduce(loss, reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """0.5 * (log(var) + (input - target)^2 / var) (+ 0.5 log(2 pi) when full), var clamped
    at eps; var has input's shape, or one dim of size 1 / one trailing dim fewer
    (a variance shared over that dim).

    >>> F.gaussian_nll_loss(gt.tensor([1.]), gt.tensor([1.]), gt.tensor([1.]))
    tensor(0.)
    """
    if isinstance(var, float):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = var * ones_like(input)
    elif not isinstance(var, Tensor):
        # PyTorch reaches torch.any(var < 0) with a Python bool
        raise TypeError(f"any() received an invalid combination of arguments - got "
                        f"({type(var < 0).__name__})")
    elif bool(any_of(var < 0)):
        raise ValueError("var has negative entry/entries")
    if tuple(var.shape) != tuple(input.shape):
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif not (input.dim() == var.dim()
                  and sum(y for x, y in zip(input.shape, var.shape) if x != y) == 1):
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    if not var.is_floating_point():
        # PyTorch's in-place clamp at a float eps cannot write into an integer var
        raise RuntimeError(f"result type Float can't be cast to the desired output type "
                           f"{scalar_type_name(var.dtype)}")
    # PyTorch clamps a clone under no_grad: the value is clamped, the gradient flows as if
    # it were not.
    var = var + (var.clamp_min(eps) - var).detach()
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)
