"""Functional losses (re-exported by `gt.nn.functional`): thin wrappers over the loss
primitives in `graphtorch.ops.losses`, plus decompositions (cross_entropy = log_softmax +
nll_loss, label smoothing, l1, smooth_l1, huber, kl_div)."""

from __future__ import annotations

import warnings

from ..ops import losses as L
from ..ops.dispatch import call

__all__ = ["nll_loss", "cross_entropy", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "mse_loss", "l1_loss", "smooth_l1_loss",
           "huber_loss", "kl_div"]


def _legacy_reduction(size_average, reduce, reduction):
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    return "none" if not reduce else "mean" if size_average else "sum"


def _reduce(losses, reduction):
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    if reduction == "mean":
        return losses.mean()
    raise ValueError(f"{reduction} is not a valid value for reduction")


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """Negative log-likelihood of `target` classes given log-probabilities `input`."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    return call(L.NLL_LOSS, input, target, weight, reduction=reduction,
                ignore_index=ignore_index)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100,
                  reduce=None, reduction="mean", label_smoothing=0.0):
    """log_softmax over dim 1 followed by nll_loss; targets are class indices or
    class probabilities (same shape as input)."""
    from . import functional as F

    reduction = _legacy_reduction(size_average, reduce, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    class_dim = 0 if input.ndim == 1 else 1
    logp = F.log_softmax(input, class_dim)
    classes = input.shape[class_dim]
    if target.is_floating_point():  # probabilities
        if tuple(target.shape) != tuple(input.shape):
            raise RuntimeError("Expected target size to match input size for class "
                               "probabilities")
        if label_smoothing > 0:
            target = target * (1 - label_smoothing) + label_smoothing / classes
        w = _class_weight_view(weight, input.ndim, class_dim)
        losses = -(logp * target * w).sum(class_dim) if w is not None else \
            -(logp * target).sum(class_dim)
        if reduction == "mean":
            batch = input.numel() // classes if input.ndim > 1 else 1
            return losses.sum() / batch
        return _reduce(losses, reduction)
    nll = call(L.NLL_LOSS, logp, target, weight, reduction=reduction,
               ignore_index=ignore_index)
    if label_smoothing == 0:
        return nll
    w = _class_weight_view(weight, input.ndim, class_dim)
    smooth = -(logp * w).sum(class_dim) if w is not None else -logp.sum(class_dim)
    valid = target != ignore_index
    smooth = smooth * valid.to(smooth.dtype)
    if reduction == "mean":
        if weight is not None:
            safe = _where(valid, target, target.new_zeros(()))
            denom = (weight[safe] * valid.to(weight.dtype)).sum()
        else:
            denom = valid.sum().to(smooth.dtype)
        smooth = smooth.sum() / denom
    else:
        smooth = _reduce(smooth, reduction)
    return (1 - label_smoothing) * nll + (label_smoothing / classes) * smooth


def _class_weight_view(weight, ndim, class_dim):
    if weight is None:
        return None
    shape = [1] * ndim
    shape[class_dim] = weight.shape[0]
    return weight.reshape(shape)


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    """-(y log p + (1 - y) log(1 - p)) for probabilities p in [0, 1]."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if weight is not None and tuple(weight.shape) != tuple(input.shape):
        weight = weight.expand(*input.shape)
    return call(L.BINARY_CROSS_ENTROPY, input, target, weight, reduction=reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None,
                                     reduce=None, reduction="mean", pos_weight=None):
    """Binary cross entropy on logits, computed stably; pos_weight weighs positives."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    return call(L.BINARY_CROSS_ENTROPY_WITH_LOGITS, input, target, weight, pos_weight,
                reduction=reduction)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean squared error."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if tuple(input.shape) != tuple(target.shape):
        warnings.warn(f"Using a target size ({target.shape}) that is different to the input "
                      f"size ({input.shape}). This will likely lead to incorrect results due to "
                      "broadcasting. Please ensure they have the same size.", UserWarning,
                      stacklevel=2)
    return call(L.MSE_LOSS, input, target, reduction=reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean absolute error."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    return _reduce((input - target).abs(), reduction)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean",
                   beta=1.0):
    """Huber-like loss: 0.5 d^2 / beta below beta, |d| - beta/2 above."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    d = (input - target).abs()
    if beta == 0:
        return _reduce(d, reduction)
    losses = _where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta)
    return _reduce(losses, reduction)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """0.5 d^2 below delta, delta (|d| - delta/2) above."""
    d = (input - target).abs()
    return _reduce(_where(d < delta, 0.5 * d * d, delta * (d - 0.5 * delta)), reduction)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean",
           log_target=False):
    """KL divergence with `input` as log-probabilities."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if log_target:
        losses = target.exp() * (target - input)
    else:
        losses = _where(target > 0, target * (target.clamp(min=1e-38).log() - input),
                        target * 0)
    if reduction == "batchmean":
        return losses.sum() / input.shape[0] if input.ndim else losses.sum()
    return _reduce(losses, reduction)


def _where(cond, a, b):
    from ..functions.math import where

    return where(cond, a, b)

