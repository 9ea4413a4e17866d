"""Multi-class hinge losses (found through `gt.nn.functional`): multi_margin_loss (one
target class per sample) and multilabel_margin_loss (a -1-terminated list of target classes
per sample).

Both are written with existing ops (gather, masks, relu), summing exactly the terms ATen's
CPU kernels sum, so values and gradients agree with PyTorch (no gradient where a margin term
is exactly zero) and the compiled mode traces them. The class-index range checks read the
targets, so they run eagerly only.
"""

from __future__ import annotations

from ... import dtypes
from ...functions.creation import arange, zeros_like
from ...functions.math import where
from ...ops.sorting import not_implemented
from ...trace_state import current_tracer
from .activations import relu
from .margin_losses import _reduction
from .losses import _reduce

__all__ = ["multi_margin_loss", "multilabel_margin_loss"]


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None,
                      reduce=None, reduction="mean"):
    """sum over classes i != y of w[y] * max(0, margin - x[y] + x[i]) ** p, divided by the
    number of classes; input (N, C) or (C,), target (N,) or () class indices.

    >>> F.multi_margin_loss(gt.tensor([[0.1, 0.2, 0.4, 0.8]]), gt.tensor([3]))
    tensor(0.3250)
    """
    reduction = _reduction(size_average, reduce, reduction)
    if p != 1 and p != 2:
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight.dim() != 1:
        raise ValueError("weight must be one-dimensional")
    x, classes, frames = _as_matrix(input, "multi_margin_loss_cpu_kernel")
    _check_long(target)
    if target.dim() > 1 or target.numel() != frames:
        raise RuntimeError("multi_margin_loss: target tensor should be 1-D with size equal to "
                           "the number of input samples (batch size). Expected target size "
                           f"[{frames}], but got {list(target.shape)}. Input has shape "
                           f"{list(input.shape)}.")
    if weight is not None and weight.numel() != classes:
        raise RuntimeError(f"inconsistent weight size, expected {classes} but got "
                           f"{list(weight.shape)}")
    y = target.reshape(frames, 1)
    if current_tracer() is None and frames and bool(((y < 0) | (y >= classes)).any()):
        raise RuntimeError("target out of range")
    z = relu(margin - x.gather(1, y) + x)
    if p == 2:
        z = z * z
    if weight is not None:
        z = z * weight.to(x.dtype)[y]
    other = arange(classes, device=x.device).reshape(1, classes) != y
    losses = where(other, z, zeros_like(z)).sum(1) / classes
    if input.dim() <= 1:
        losses = losses.reshape(target.shape)
    return _reduce(losses, reduction)


def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """sum over target classes j and non-target classes i of max(0, 1 - (x[j] - x[i])),
    divided by the number of classes; each target row lists class indices up to the first
    negative entry. input and target (N, C) or (C,).

    >>> F.multilabel_margin_loss(gt.tensor([[0.1, 0.2, 0.4, 0.8]]),
    ...                          gt.tensor([[3, 0, -1, 1]]))
    tensor(0.8500)
    """
    reduction = _reduction(size_average, reduce, reduction)
    x, classes, frames = _as_matrix(input, "multilabel_margin_loss_forward_out_frame")
    _check_long(target)
    if (target.dim() != input.dim() if input.dim() > 0 else target.numel() != 1) \
            or target.numel() != frames * classes:
        raise RuntimeError(f"inconsistent target size: {list(target.shape)} for input of "
                           f"size: {list(input.shape)}")
    t = target.reshape(frames, classes)
    listed = (t >= 0).to(dtypes.int64).cumprod(1).to(dtypes.bool_)  # the prefix before -1
    index = where(listed, t, zeros_like(t))
    if current_tracer() is None and frames and bool((listed & (t >= classes)).any()):
        raise RuntimeError("argument #2 'target' is out of range")
    is_target = zeros_like(x, dtype=dtypes.int64).scatter_add(1, index, listed.to(dtypes.int64))
    is_target = is_target > 0
    # pairs (listed target j, class i): 1 - x[target j] + x[i], kept where i is no target
    z = relu(1 - x.gather(1, index).unsqueeze(2) + x.unsqueeze(1))
    keep = listed.unsqueeze(2) & ~is_target.unsqueeze(1)
    losses = where(keep, z, zeros_like(z)).sum((1, 2)) / classes
    if input.dim() <= 1:
        losses = losses.reshape(())
    return _reduce(losses, reduction)


def _as_matrix(input, kernel_name):
    """(input as (frames, classes), classes, frames), with ATen's shape and dtype errors."""
    if input.dim() > 2 or (input.dim() > 0 and input.size(-1) == 0):
        raise RuntimeError("Expected non-empty vector or matrix with optional 0-dim batch "
                           f"size, but got: {list(input.shape)}")
    if not input.is_floating_point():
        raise not_implemented(kernel_name, input.dtype)
    classes = input.size(-1) if input.dim() > 0 else 1
    frames = input.size(0) if input.dim() == 2 else 1
    return input.reshape(frames, classes), classes, frames


def _check_long(target):
    if target.dtype != dtypes.int64:
        raise RuntimeError(f"expected scalar type Long but found "
                           f"{dtypes.scalar_type_name(target.dtype)}")
