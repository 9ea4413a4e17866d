"""Margin and embedding losses (found through `gt.nn.functional`): margin_ranking,
hinge_embedding, cosine_embedding, triplet_margin (also with any distance function),
soft_margin, multilabel_soft_margin.

Each is the decomposition ATen uses for it, written with existing graphtorch ops, so values
and gradients agree with PyTorch and the compiled mode traces them like any other code.
"""

from __future__ import annotations

from ...functions.creation import zeros_like
from ...functions.math import where
from ...ops import losses as losses_ops
from .activations import logsigmoid, pairwise_distance
from .losses import _legacy_reduction, _not_differentiable, _reduce

__all__ = ["cosine_embedding_loss", "hinge_embedding_loss", "margin_ranking_loss",
           "multilabel_soft_margin_loss", "soft_margin_loss", "triplet_margin_loss",
           "triplet_margin_with_distance_loss"]

# ATen's cosine_embedding_loss adds this to both squared norms before dividing.
_COSINE_EPSILON = 1e-12


def _reduction(size_average, reduce, reduction):
    """The reduction string, checked up front as PyTorch's `_Reduction.get_enum` does."""
    if size_average is not None or reduce is not None:
        return _legacy_reduction(size_average, reduce, emit_warning=True)
    losses_ops.check_reduction(reduction)
    return reduction


def margin_ranking_loss(input1, input2, target, margin=0, size_average=None, reduce=None,
                        reduction="mean"):
    """max(0, -target * (input1 - input2) + margin); target holds 1 or -1.

    >>> F.margin_ranking_loss(gt.tensor([1., 2.]), gt.tensor([2., 0.]), gt.tensor([1., 1.]))
    tensor(0.5000)
    """
    reduction = _reduction(size_average, reduce, reduction)
    if input1.dim() != input2.dim() or input1.dim() != target.dim():
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension "
                           f"but got sizes: input1: {input1.size()}, input2: {input2.size()}, "
                           f"target: {target.size()} ")
    return _reduce((-target * (input1 - input2) + margin).clamp_min(0), reduction)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None,
                         reduction="mean"):
    """input where target is 1, max(0, margin - input) where target is -1.

    >>> F.hinge_embedding_loss(gt.tensor([0.3, 2.0]), gt.tensor([1., -1.]))
    tensor(0.1500)
    """
    reduction = _reduction(size_average, reduce, reduction)
    zeros = zeros_like(input)
    margin_clamp = (margin - input).clamp_min(0)
    # ATen's two masks: a target that is neither 1 nor -1 contributes to both terms
    output = where(target != 1, margin_clamp, zeros) + where(target != -1, input, zeros)
    return _reduce(output, reduction)


def cosine_embedding_loss(input1, input2, target, margin=0, size_average=None, reduce=None,
                          reduction="mean"):
    """1 - cos(x1, x2) where target is 1, max(0, cos(x1, x2) - margin) where it is -1; the
    cosine is taken along the last dim of (N, D) or (D,) inputs.

    >>> F.cosine_embedding_loss(gt.tensor([[1., 0.]]), gt.tensor([[0., 1.]]), gt.tensor([1]))
    tensor(1.)
    """
    reduction = _reduction(size_average, reduce, reduction)
    target_dim = target.dim()
    if target_dim not in (0, 1):
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if target_dim == 1 and not (input1.dim() == 2 and input2.dim() == 2):
        raise RuntimeError(f"1D target tensor expects 2D input tensors, but found inputs with "
                           f"sizes {list(input1.shape)} and {list(input2.shape)}.")
    if target_dim == 0 and not (input1.dim() == 1 and input2.dim() == 1):
        raise RuntimeError(f"0D target tensor expects 1D input tensors, but found inputs with "
                           f"sizes {list(input1.shape)} and {list(input2.shape)}.")
    prod_sum = (input1 * input2).sum(target_dim)
    mag_square1 = (input1 * input1).sum(target_dim) + _COSINE_EPSILON
    mag_square2 = (input2 * input2).sum(target_dim) + _COSINE_EPSILON
    cos = prod_sum / (mag_square1 * mag_square2).sqrt()
    zeros = zeros_like(cos)
    output = (where(target == 1, 1 - cos, zeros)
              + where(target == -1, (cos - margin).clamp_min(0), zeros))
    return _reduce(output, reduction)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False,
                        size_average=None, reduce=None, reduction="mean"):
    """max(0, d(anchor, positive) - d(anchor, negative) + margin) with d the pairwise
    p-distance; swap uses min(d(a, n), d(p, n)) as the negative distance.

    >>> a = gt.tensor([[0., 0.]])
    >>> F.triplet_margin_loss(a, gt.tensor([[1., 0.]]), gt.tensor([[3., 0.]]))
    tensor(0.)
    """
    reduction = _reduction(size_average, reduce, reduction)
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    a_dim, p_dim, n_dim = anchor.dim(), positive.dim(), negative.dim()
    if not a_dim == p_dim == n_dim:
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the "
                           f"same number of dimensions, but got: anchor {a_dim}D, positive "
                           f"{p_dim}D, and negative {n_dim}D inputs")
    dist_pos = pairwise_distance(anchor, positive, p, eps)
    dist_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        dist_neg = dist_neg.minimum(pairwise_distance(positive, negative, p, eps))
    return _reduce((margin + dist_pos - dist_neg).clamp_min(0), reduction)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None,
                                      margin=1.0, swap=False, reduction="mean"):
    """`triplet_margin_loss` with any distance: distance_function(x1, x2) gives one distance
    per sample (default: `pairwise_distance`).

    >>> a = gt.tensor([[0., 0.]])
    >>> F.triplet_margin_with_distance_loss(a, gt.tensor([[1., 0.]]), gt.tensor([[1.5, 0.]]))
    tensor(0.5000)
    """
    losses_ops.check_reduction(reduction)
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    a_dim, p_dim, n_dim = anchor.ndim, positive.ndim, negative.ndim
    if not a_dim == p_dim == n_dim:
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the "
                           f"same number of dimensions, but got: anchor {a_dim}D, positive "
                           f"{p_dim}D, and negative {n_dim}D inputs")
    distance = pairwise_distance if distance_function is None else distance_function
    dist_pos = distance(anchor, positive)
    dist_neg = distance(anchor, negative)
    if swap:
        dist_neg = dist_neg.minimum(distance(positive, negative))
    return _reduce((margin + dist_pos - dist_neg).clamp_min(0), reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """log(1 + exp(-target * input)), the two-class logistic loss with targets 1 / -1.

    >>> F.soft_margin_loss(gt.tensor([0.]), gt.tensor([1.]))
    tensor(0.6931)
    """
    reduction = _reduction(size_average, reduce, reduction)
    # a native op in PyTorch, with a derivative for `input` only
    _not_differentiable("soft_margin_loss", "target", target)
    return _reduce((-input * target).exp().log1p(), reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,
                                reduction="mean"):
    """Per-class logistic loss -(y log sigmoid(x) + (1 - y) log sigmoid(-x)) (optionally
    weighted), averaged over the classes of the last dim.

    >>> F.multilabel_soft_margin_loss(gt.tensor([[0., 0.]]), gt.tensor([[1., 0.]]))
    tensor(0.6931)
    """
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    class_dim = input.dim() - 1
    loss = loss.sum(dim=class_dim) / input.size(class_dim)
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    return _reduce(loss, reduction)
