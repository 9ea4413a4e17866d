"""Functional losses (found through `gt.nn.functional`): PyTorch's argument parsing, checks
and warnings around the loss primitives of `graphtorch.ops.losses`, plus the
decompositions PyTorch itself uses (cross_entropy = log_softmax + nll_loss, label
smoothing, class-probability targets, l1_loss, kl_div), so values, gradients and
grad_fn names agree.
"""

from __future__ import annotations

import warnings

from ... import dtypes
from ...autograd import grad_mode
from ...dtypes import promote_types, scalar_type_name
from ...functions.math import where
from ...functions.shape import broadcast_tensors
from ...ops import losses as losses_ops
from ...ops.dispatch import call, meta_of
from ...ops.shape_rules import broadcast_shapes

__all__ = ["nll_loss", "cross_entropy", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "mse_loss", "l1_loss", "smooth_l1_loss",
           "huber_loss", "kl_div"]

_SIZE_WARNING = ("Using a target size ({}) that is different to the input size ({}). This "
                 "will likely lead to incorrect results due to broadcasting. Please ensure they "
                 "have the same size.")


def _legacy_reduction(size_average, reduce, reduction="mean", emit_warning=True):
    """PyTorch's `_Reduction.legacy_get_string` (with its deprecation warning)."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    ret = "mean" if size_average and reduce else "sum" if reduce else "none"
    if emit_warning:
        warnings.warn("size_average and reduce args will be deprecated, please use "
                      f"reduction='{ret}' instead.", stacklevel=3)
    return ret


def _reduce(losses, reduction):
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    if reduction == "mean":
        return losses.mean()
    raise ValueError(f"{reduction} is not a valid value for reduction")


def _broadcast(input, target):
    return broadcast_tensors(input, target)


def _floating_only(t, kernel):
    if not (t.is_floating_point() or t.is_complex()):
        raise NotImplementedError(f'"{kernel}" not implemented for '
                                  f"'{losses_ops.scalar_name(t.dtype)}'")


def _cast_to_input(target, input, name):
    """huber_loss computes in the input's dtype (PyTorch writes into an input-typed result)."""
    if target.dtype is input.dtype:
        return target
    result = dtypes.promote_types(input.dtype, target.dtype)
    if not dtypes.can_cast(result, input.dtype):
        raise RuntimeError(f"result type {scalar_type_name(result)} can't be cast to the desired "
                           f"output "
                           f"type {scalar_type_name(input.dtype)}")
    return target.to(input.dtype)


def _promoted(a, b):
    """Both operands in PyTorch's result type (float32 input, int64 target -> float32):
    the loss kernels would otherwise follow NumPy's promotion (float64)."""
    if a.dtype is b.dtype:
        return a, b
    target = dtypes.promote_types(a.dtype, b.dtype)
    return a.to(target), b.to(target)


def _not_differentiable(function, name, tensor):
    """PyTorch refuses a requires-grad tensor for an argument its kernel cannot
    differentiate (class weights, pos_weight)."""
    if tensor is not None and tensor.requires_grad and grad_mode.is_grad_enabled():
        raise RuntimeError(f"The function '{function}' is not differentiable with respect to "
                           f"argument '{name}'. This input cannot have requires_grad True.")


def _where(cond, a, b):
    return where(cond, a, b)


# --- classification ------------------------------------------------------------------------

def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """Negative log-likelihood of `target` classes given log-probabilities `input`
    ((C,), (N, C) or (N, C, d1, ...); class weights, ignore_index)."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce)
    return _nll_loss_nd(input, target, weight, reduction, ignore_index)


def _nll_loss_nd(input, target, weight, reduction, ignore_index):
    """ATen's nll_loss_nd: 1-D/2-D -> nll_loss, 4-D -> nll_loss2d, other ranks are viewed
    as (N, C, 1, -1) for nll_loss2d."""
    losses_ops.check_reduction(reduction)
    if input.dim() < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {input.dim()})")
    if input.dim() != 1 and target.dim() >= 1 and input.shape[0] != target.shape[0]:
        raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target "
                         f"batch_size ({target.shape[0]}).")
    attrs = {"reduction": reduction, "ignore_index": ignore_index}
    if input.dim() in (1, 2):
        losses_ops.check_nll(meta_of(input), meta_of(target), meta_of(weight), reduction, False)
        _not_differentiable("nll_loss_forward", "weight", weight)
        return call(losses_ops.NLL_LOSS, input, target, weight, **attrs)
    if input.dim() == 4:
        losses_ops.check_nll(meta_of(input), meta_of(target), meta_of(weight), reduction, True)
        _not_differentiable("nll_loss2d_forward", "weight", weight)
        return call(losses_ops.NLL_LOSS2D, input, target, weight, **attrs)
    n, c = input.shape[0], input.shape[1]
    out_size = [n, *input.shape[2:]]
    if list(target.shape[1:]) != list(input.shape[2:]):
        raise RuntimeError(f"Expected target size {out_size}, got {list(target.shape)}")
    input4 = input.reshape(n, c, 1, -1) if input.numel() > 0 else input.reshape(n, c, 0, 0)
    target3 = target.reshape(n, 1, -1) if target.numel() > 0 else target.reshape(n, 0, 0)
    losses_ops.check_nll(meta_of(input4), meta_of(target3), meta_of(weight), reduction, True)
    _not_differentiable("nll_loss2d_forward", "weight", weight)
    out = call(losses_ops.NLL_LOSS2D, input4, target3, weight, **attrs)
    return out.view(out_size) if reduction == "none" else out


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100,
                  reduce=None, reduction="mean", label_smoothing=0.0):
    """log_softmax over the class dim followed by nll_loss; a target of the input's shape
    holds class probabilities. label_smoothing mixes in the uniform distribution."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce)
    losses_ops.check_reduction(reduction)
    class_dim = 0 if input.dim() == 1 else 1
    if tuple(input.shape) == tuple(target.shape):
        if not target.is_floating_point():
            raise RuntimeError("Expected floating point type for target with class "
                               f"probabilities, got {losses_ops.scalar_name(target.dtype)}")
        if ignore_index >= 0:
            raise RuntimeError("ignore_index is not supported for floating point target")
        return _cross_entropy_prob_target(input, target, weight, reduction, label_smoothing,
                                          class_dim)
    if label_smoothing > 0.0:
        if label_smoothing > 1.0:
            raise RuntimeError("label_smoothing must be between 0.0 and 1.0. Got: "
                               f"{label_smoothing}")
        return _cross_entropy_label_smoothing(input, target, weight, reduction, ignore_index,
                                              label_smoothing, class_dim)
    return _nll_loss_nd(input.log_softmax(class_dim), target, weight, reduction, ignore_index)


def _class_weight_view(weight, ndim, class_dim):
    shape = [1] * ndim
    shape[class_dim] = weight.shape[0]
    return weight.view(shape)


def _cross_entropy_prob_target(input, target, weight, reduction, label_smoothing, class_dim):
    classes = input.shape[class_dim]
    if weight is not None and not (weight.dim() == 1 and weight.numel() == classes):
        raise RuntimeError(f"cross_entropy: weight tensor should be defined either for all "
                           f"{classes} classes or no classes but got weight tensor of shape: "
                           f"{list(weight.shape)}")
    logp = input.log_softmax(class_dim)
    if label_smoothing > 0.0:
        if label_smoothing > 1.0:
            raise RuntimeError("label_smoothing must be between 0.0 and 1.0. Got: "
                               f"{label_smoothing}")
        target = target * (1 - label_smoothing) + (label_smoothing / classes)
    terms = logp * target
    if weight is not None:
        terms = terms * (_class_weight_view(weight, logp.dim(), class_dim)
                         if logp.dim() > 1 else weight)
    if reduction == "mean":
        if logp.numel() == 0:
            return -terms.sum().fill_(float("nan"))
        return -terms.sum() / (logp.numel() // classes)
    if reduction == "sum":
        return -terms.sum()
    return -terms.sum(class_dim)


def _cross_entropy_label_smoothing(input, target, weight, reduction, ignore_index,
                                   label_smoothing, class_dim):
    logp = input.log_softmax(class_dim)
    nll = _nll_loss_nd(logp, target, weight, reduction, ignore_index)
    classes = logp.shape[class_dim]
    if weight is not None:
        smooth = -(logp * _class_weight_view(weight, logp.dim(), class_dim)).sum(class_dim)
    else:
        smooth = -logp.sum(class_dim)
    ignore_mask = target == ignore_index
    smooth = smooth.masked_fill(ignore_mask, 0.0)
    if reduction == "mean":
        if weight is not None:
            ret = smooth.sum() / weight.gather(0, target.masked_select(~ignore_mask)
                                               .flatten()).sum()
        else:
            ret = smooth.sum() / (~ignore_mask).sum()
    elif reduction == "sum":
        ret = smooth.sum()
    else:
        ret = smooth
    return (1 - label_smoothing) * nll + ret * (label_smoothing / classes)


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    """-(y log p + (1 - y) log(1 - p)) for probabilities p in [0, 1] (logs clamped at
    -100); `weight` rescales each element."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce)
    losses_ops.check_reduction(reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Using a target size ({target.size()}) that is different to the input "
                         f"size ({input.size()}) is deprecated. Please ensure they have the "
                         "same size.")
    if target.dtype != input.dtype:
        raise RuntimeError(f"Found dtype {losses_ops.scalar_name(target.dtype)} but expected "
                           f"{losses_ops.scalar_name(input.dtype)}")
    if weight is not None:
        weight = weight.expand(broadcast_shapes(tuple(target.shape), tuple(weight.shape)))
    _not_differentiable("binary_cross_entropy", "weight", weight)
    return call(losses_ops.BINARY_CROSS_ENTROPY, input, target, weight, reduction=reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None,
                                     reduce=None, reduction="mean", pos_weight=None):
    """Binary cross entropy on logits, computed stably; pos_weight weighs the positive
    term (per class, broadcast over the batch)."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce)
    losses_ops.check_reduction(reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Target size ({target.size()}) must be the same as input size "
                         f"({input.size()})")
    if not (target.is_floating_point() or target.is_complex()):
        result = promote_types(input.dtype, target.dtype)
        raise RuntimeError(f"result type {losses_ops.scalar_name(result)} can't be cast to the "
                           f"desired "
                           f"output type {losses_ops.scalar_name(target.dtype)}")
    _not_differentiable("binary_cross_entropy_with_logits", "weight", weight)
    _not_differentiable("binary_cross_entropy_with_logits", "pos_weight", pos_weight)
    return call(losses_ops.BINARY_CROSS_ENTROPY_WITH_LOGITS, input, target, weight, pos_weight,
                reduction=reduction)


# --- regression ------------------------------------------------------------------------------

def _warn_size(input, target):
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(_SIZE_WARNING.format(target.size(), input.size()), stacklevel=3)


def _weighted(losses, weight, reduction, input, mean_by_weight=True):
    if tuple(weight.shape) != tuple(input.shape):
        raise ValueError("Weights and input must have the same size.")
    weighted = losses * weight
    if reduction == "none":
        return weighted
    if reduction == "sum":
        return weighted.sum()
    if reduction == "mean":
        return weighted.sum() / weight.sum() if mean_by_weight else weighted.mean()
    raise ValueError(f"Invalid reduction mode: {reduction}. Expected one of 'none', 'mean', "
                     "'sum'.")


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean squared error (optionally weighted per element)."""
    _warn_size(input, target)
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce)
    a, b = _broadcast(input, target)
    if weight is not None:
        return _weighted((a - b).pow(2), weight, reduction, input)
    losses_ops.check_reduction(reduction)
    a, b = _promoted(a, b)
    if not (a.is_floating_point() or a.is_complex()):
        raise NotImplementedError(f'"mse_cpu" not implemented for '
                                  f"'{losses_ops.scalar_name(a.dtype)}'")
    return call(losses_ops.MSE_LOSS, a, b, reduction=reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean absolute error (optionally weighted per element)."""
    _warn_size(input, target)
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce)
    a, b = _broadcast(input, target)
    if weight is not None:
        return _weighted((a - b).abs(), weight, reduction, input)
    losses_ops.check_reduction(reduction)
    return _reduce((a - b).abs(), reduction)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean",
                   beta=1.0):
    """0.5 d^2 / beta where |d| < beta, else |d| - beta / 2 (l1_loss when beta = 0)."""
    _warn_size(input, target)
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce)
    a, b = _broadcast(input, target)
    losses_ops.check_reduction(reduction)
    if beta == 0.0:
        return _reduce((a - b).abs(), reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    a, b = _promoted(a, b)
    _floating_only(a, "smooth_l1_cpu")
    return call(losses_ops.SMOOTH_L1_LOSS, a, b, reduction=reduction, beta=float(beta))


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """0.5 d^2 where |d| < delta, else delta (|d| - delta / 2) (optionally weighted)."""
    _warn_size(input, target)
    a, b = _broadcast(input, target)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    b = _cast_to_input(b, a, "huber_loss")
    _floating_only(a, "huber_cpu")
    if weight is None:
        losses_ops.check_reduction(reduction)
        return call(losses_ops.HUBER_LOSS, a, b, reduction=reduction, delta=float(delta))
    losses = call(losses_ops.HUBER_LOSS, a, b, reduction="none", delta=float(delta))
    return _weighted(losses, weight, reduction, input, mean_by_weight=False)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean",
           log_target=False):
    """Pointwise KL divergence target * (log target - input) with `input` as
    log-probabilities (`target` too when log_target); 'batchmean' divides by the batch."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce)
    else:
        if reduction == "mean":
            warnings.warn("reduction: 'mean' divides the total loss by both the batch size and "
                          "the support size.'batchmean' divides only by the batch size, and "
                          "aligns with the KL div math definition.'mean' will be changed to "
                          "behave the same as 'batchmean' in the next major release.",
                          stacklevel=2)
        if reduction != "batchmean":
            losses_ops.check_reduction(reduction)
    if input.is_complex() or target.is_complex():
        raise RuntimeError("kl_div: Complex inputs not supported.")
    if not input.is_floating_point() or not target.is_floating_point():
        raise RuntimeError("kl_div: Integral inputs not supported.")
    if log_target:
        losses = target.exp() * (target - input)
    else:
        # xlogy(target, target) - target * input, with 0 log 0 = 0
        xlogy = _where(target == 0, target.new_zeros(()), target * target.log())
        losses = xlogy - target * input
    reduced = _reduce(losses, "sum" if reduction == "batchmean" else reduction)
    if reduction == "batchmean" and input.dim() != 0:
        reduced = reduced / input.size()[0]
    return reduced
