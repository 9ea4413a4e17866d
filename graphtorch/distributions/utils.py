"""Helpers shared by the distributions (`torch.distributions.utils`): broadcasting of
parameters, probability/logit conversions, and `lazy_property`."""

from __future__ import annotations

import functools
import numbers

from .. import dtypes
from ..autograd.grad_mode import enable_grad
from ..functions.creation import empty, tensor
from ..functions.shape import broadcast_tensors
from ..nn.functional import softmax
from ..tensor import Size, Tensor

__all__ = ["broadcast_all", "clamp_probs", "lazy_property", "logits_to_probs",
           "probs_to_logits"]

euler_constant = 0.57721566490153286060


def broadcast_all(*values):
    """Broadcast tensors and numbers together; numbers become tensors of the first tensor's
    dtype (the default dtype when all are numbers).

    >>> loc, scale = broadcast_all(gt.zeros(3), 1.0)
    >>> scale
    tensor([1., 1., 1.])
    """
    if not all(isinstance(v, (Tensor, numbers.Number)) for v in values):
        raise ValueError("Input arguments must all be instances of Number, torch.Tensor or "
                         "objects implementing __torch_function__.")
    if not all(isinstance(v, Tensor) for v in values):
        options = {"dtype": dtypes.get_default_dtype()}
        for value in values:
            if isinstance(value, Tensor):
                options = {"dtype": value.dtype, "device": value.device}
                break
        values = [v if isinstance(v, Tensor) else tensor(v, **options) for v in values]
    return tuple(broadcast_tensors(*values))


def _standard_normal(shape, dtype, device) -> Tensor:
    """N(0, 1) draws as PyTorch's reparameterised samplers take them (`normal_` in place)."""
    return empty(shape, dtype=dtype, device=device).normal_()


def _sum_rightmost(value: Tensor, dim: int) -> Tensor:
    """Sum out the `dim` rightmost dimensions."""
    if dim == 0:
        return value
    return value.reshape(tuple(value.shape[:-dim]) + (-1,)).sum(-1)


def logits_to_probs(logits: Tensor, is_binary: bool = False) -> Tensor:
    """Probabilities from log-odds (binary) or unnormalised log-probabilities (last dim)."""
    return logits.sigmoid() if is_binary else softmax(logits, dim=-1)


def clamp_probs(probs: Tensor) -> Tensor:
    """Clamp probabilities into [eps, 1 - eps] for the dtype's machine epsilon."""
    eps = dtypes.finfo(probs.dtype).eps
    return probs.clamp(min=eps, max=1 - eps)


def probs_to_logits(probs: Tensor, is_binary: bool = False) -> Tensor:
    """Log-odds (binary) or log-probabilities from probabilities, clamped away from 0 and 1."""
    clamped = clamp_probs(probs)
    if is_binary:
        return clamped.log() - (-clamped).log1p()
    return clamped.log()


class lazy_property:  # noqa: N801  (PyTorch's name)
    """A property computed on first access (with grad enabled) and then stored on the
    instance, so `Categorical(probs=...)` derives `logits` only when asked."""

    def __init__(self, wrapped):
        self.wrapped = wrapped
        functools.update_wrapper(self, wrapped)

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        with enable_grad():
            value = self.wrapped(instance)
        setattr(instance, self.wrapped.__name__, value)
        return value


class BinaryProbs:
    """Mixin of the distributions parametrised by `probs` or `logits` of one binary event
    (Bernoulli, Binomial, Geometric, ...): the other is derived on first use, and `expand`
    carries whichever the instance holds."""

    @lazy_property
    def logits(self) -> Tensor:
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self) -> Tensor:
        return logits_to_probs(self.logits, is_binary=True)

    @property
    def param_shape(self):
        return self._param.size()

    def _set_param(self, probs, logits) -> Size:
        """Keep whichever of `probs` / `logits` was given (exactly one, as PyTorch checks) as
        a tensor; returns the batch shape (empty for a Python number)."""
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            (self.probs,) = broadcast_all(probs)
            self._param = self.probs
        else:
            (self.logits,) = broadcast_all(logits)
            self._param = self.logits
        given = probs if probs is not None else logits
        return Size() if isinstance(given, numbers.Number) else self._param.size()

    def _expand_param(self, new, batch_shape) -> None:
        """Give `new` (an `expand` result) this instance's probs and/or logits."""
        if "probs" in self.__dict__:
            new.probs = new._param = self.probs.expand(batch_shape)
        if "logits" in self.__dict__:
            new.logits = new._param = self.logits.expand(batch_shape)
