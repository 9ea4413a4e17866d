"""`gumbel_softmax`: differentiable samples of a categorical distribution (the Gumbel-
softmax / Concrete relaxation, with the straight-through `hard` form), drawn from the
global RNG exactly as PyTorch draws them (one exponential per element)."""

from __future__ import annotations

import warnings

from ...functions.creation import empty_like, zeros_like

__all__ = ["gumbel_softmax"]


def gumbel_softmax(logits, tau=1, hard=False, eps=1e-10, dim=-1):
    """softmax((logits + g) / tau) along `dim`, g ~ Gumbel(0, 1) (-log of an exponential
    draw). hard=True: the one-hot argmax forward, the soft sample's gradient backward.

    >>> F.gumbel_softmax(gt.zeros(2, 3), hard=True).sum(-1)
    tensor([1., 1.])
    """
    if eps != 1e-10:
        warnings.warn("`eps` parameter is deprecated and has no effect.", stacklevel=2)
    gumbels = -empty_like(logits).exponential_().log()
    y_soft = ((logits + gumbels) / tau).softmax(dim)
    if not hard:
        return y_soft
    index = y_soft.max(dim, keepdim=True)[1]
    y_hard = zeros_like(logits).scatter_(dim, index, 1.0)
    return y_hard - y_soft.detach() + y_soft  # straight through
