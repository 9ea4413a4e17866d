"""Loss primitives with PyTorch's grad_fn names: nll_loss, binary_cross_entropy (+ logits),
mse_loss. `reduction` is "none", "mean" or "sum"; class weights and ignore_index follow
PyTorch (the weighted mean divides by the sum of the weights of counted targets)."""

from __future__ import annotations

from .. import dtypes
from .grad_utils import unbroadcast
from .registry import Category, OpDef, TensorMeta, register

OPAQUE = Category.OPAQUE
_REDUCTIONS = ("none", "mean", "sum")


def _check_reduction(reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _reduced_meta(shape, dtype, reduction):
    return TensorMeta(tuple(shape) if reduction == "none" else (), dtype)


# --- nll_loss: input (N, C, d1...) or (C,), target (N, d1...) or () ---------------------

def _nll_parts(xp, logp, target, weight, ignore_index):
    """Per-element picked log-probabilities, weights and the class axis."""
    if logp.ndim == 1:
        logp, target = logp[None], target[None]
    classes = logp.shape[1]
    valid = target != ignore_index
    safe = xp.where(valid, target, 0)
    if xp.any((safe < 0) | (safe >= classes)):
        bad = int(safe[(safe < 0) | (safe >= classes)].reshape(-1)[0])
        raise IndexError(f"Target {bad} is out of bounds.")
    picked = xp.take_along_axis(logp, xp.expand_dims(safe, 1), axis=1).squeeze(1)
    w = weight[safe] if weight is not None else xp.ones(safe.shape, dtype=logp.dtype)
    w = xp.where(valid, w, 0).astype(logp.dtype)
    return picked, w


def _nll_kernel(xp, logp, target, weight=None, reduction="mean", ignore_index=-100):
    picked, w = _nll_parts(xp, logp, target, weight, ignore_index)
    losses = -picked * w
    if reduction == "none":
        return losses.reshape(target.shape)
    if reduction == "sum":
        return losses.sum()
    return losses.sum() / w.sum()


def _nll_infer(logp, target, weight=None, reduction="mean", ignore_index=-100):
    _check_reduction(reduction)
    if target.dtype.category != dtypes.Category.INT or target.dtype is dtypes.bool_:
        raise RuntimeError(f"expected scalar type Long but found {target.dtype}")
    batch = () if len(logp.shape) == 1 else (logp.shape[0],) + tuple(logp.shape[2:])
    if tuple(target.shape) != batch:
        if len(logp.shape) >= 2 and target.shape and target.shape[0] != logp.shape[0]:
            raise ValueError(f"Expected input batch_size ({logp.shape[0]}) to match target "
                             f"batch_size ({target.shape[0]}).")
        raise RuntimeError(f"expected target of shape {list(batch)}, got {list(target.shape)}")
    return _reduced_meta(target.shape, logp.dtype, reduction)


def _nll_vjp(ctx, grad):
    import graphtorch as gt

    logp_meta = ctx.input_metas[0]
    target, weight = ctx.inputs[1], ctx.inputs[2]
    reduction = ctx.attrs.get("reduction", "mean")
    ignore_index = ctx.attrs.get("ignore_index", -100)
    one_d = len(logp_meta.shape) == 1
    t = target.unsqueeze(0) if one_d else target
    classes = logp_meta.shape[0] if one_d else logp_meta.shape[1]
    valid = t != ignore_index
    safe = gt.where(valid, t, gt.zeros_like(t))
    w = weight[safe] if weight is not None else gt.ones(t.shape, dtype=grad.dtype)
    w = gt.where(valid, w, gt.zeros_like(w))
    if reduction == "none":
        scale = -(grad.reshape(t.shape)) * w
    elif reduction == "sum":
        scale = -grad * w
    else:
        scale = -grad * w / w.sum()
    one_hot = (gt.arange(classes).reshape((1, classes) + (1,) * (t.ndim - 1))
               == safe.unsqueeze(1)).to(grad.dtype)
    grad_logp = one_hot * scale.unsqueeze(1)
    if one_d:
        grad_logp = grad_logp.squeeze(0)
    return grad_logp, None, None


NLL_LOSS = register(OpDef("nll_loss", OPAQUE, _nll_kernel, _nll_infer, _nll_vjp,
                          save_inputs=(1, 2), backward_name="NllLossBackward0",
                          doc="negative log-likelihood of target classes"))


# --- binary cross entropy ------------------------------------------------------------------

def _bce_kernel(xp, p, y, weight=None, reduction="mean"):
    if xp.any((p < 0) | (p > 1)):
        raise RuntimeError("all elements of input should be between 0 and 1")
    # PyTorch clamps the logs at -100 so that p = 0 or 1 gives a finite loss.
    log_p = xp.maximum(xp.log(p), -100)
    log_q = xp.maximum(xp.log1p(-p), -100)
    losses = -(y * log_p + (1 - y) * log_q)
    if weight is not None:
        losses = losses * weight
    return _reduce(xp, losses.astype(p.dtype), reduction)


def _reduce(xp, losses, reduction):
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    return losses.mean()


def _pair_infer(p, y, weight=None, reduction="mean", **_):
    _check_reduction(reduction)
    if tuple(p.shape) != tuple(y.shape):
        raise ValueError(f"Using a target size ({_size(y.shape)}) that is different to the input "
                         f"size ({_size(p.shape)}) is deprecated. Please ensure they have the "
                         "same size.")
    return _reduced_meta(p.shape, p.dtype, reduction)


def _size(shape):
    return f"torch.Size({list(shape)})"


def _scale_grad(grad, reduction, numel):
    if reduction == "mean":
        return grad / max(numel, 1)
    return grad


def _bce_vjp(ctx, grad):
    p, y, weight = ctx.inputs
    reduction = ctx.attrs.get("reduction", "mean")
    g = _scale_grad(grad, reduction, p.numel())
    eps = 1e-12
    d_p = g * (p - y) / ((1 - p) * p).clamp(min=eps)
    d_y = g * ((1 - p).clamp(min=eps).log() - p.clamp(min=eps).log())
    if weight is not None:
        d_p, d_y = d_p * weight, d_y * weight
    return d_p, d_y, None


BINARY_CROSS_ENTROPY = register(OpDef(
    "binary_cross_entropy", OPAQUE, _bce_kernel, _pair_infer, _bce_vjp,
    save_inputs=(0, 1, 2), backward_name="BinaryCrossEntropyBackward0",
    doc="-(y log p + (1-y) log(1-p)), logs clamped at -100"))


def _bce_logits_kernel(xp, x, y, weight=None, pos_weight=None, reduction="mean"):
    # log(1 + exp(-|x|)) + max(-x, 0) is log(1 + exp(-x)) without overflow.
    softplus_neg = xp.log1p(xp.exp(-xp.abs(x))) + xp.maximum(-x, 0)
    if pos_weight is not None:
        coeff = 1 + (pos_weight - 1) * y
        losses = (1 - y) * x + coeff * softplus_neg
    else:
        losses = (1 - y) * x + softplus_neg
    if weight is not None:
        losses = losses * weight
    return _reduce(xp, losses.astype(x.dtype), reduction)


def _bce_logits_vjp(ctx, grad):
    x, y, weight, pos_weight = ctx.inputs
    reduction = ctx.attrs.get("reduction", "mean")
    g = _scale_grad(grad, reduction, x.numel())
    s = x.sigmoid()
    if pos_weight is not None:
        # loss = (1-y) x + c softplus(-x) with c = 1 + (pw-1) y; softplus(-x)' = s - 1
        coeff = 1 + (pos_weight - 1) * y
        d_x = g * ((1 - y) + coeff * (s - 1))
        d_y = g * (-x + (pos_weight - 1) * _softplus_neg(x))
    else:
        d_x = g * (s - y)
        d_y = -g * x
    if weight is not None:
        d_x, d_y = d_x * weight, d_y * weight
    d_x, d_y = unbroadcast(d_x, ctx.input_metas[0]), unbroadcast(d_y, ctx.input_metas[1])
    grad_pw = None
    if ctx.input_metas[3] is not None:
        full = g * y * _softplus_neg(x)
        if weight is not None:
            full = full * weight
        grad_pw = unbroadcast(full, ctx.input_metas[3])
    grad_w = None
    if ctx.input_metas[2] is not None:
        grad_w = unbroadcast(g * _bce_logits_losses(x, y, pos_weight), ctx.input_metas[2])
    return d_x, d_y, grad_w, grad_pw


def _softplus_neg(x):
    return (-x.abs()).exp().log1p() + (-x).clamp(min=0)


def _bce_logits_losses(x, y, pos_weight):
    sp = _softplus_neg(x)
    if pos_weight is not None:
        return (1 - y) * x + (1 + (pos_weight - 1) * y) * sp
    return (1 - y) * x + sp


BINARY_CROSS_ENTROPY_WITH_LOGITS = register(OpDef(
    "binary_cross_entropy_with_logits", OPAQUE, _bce_logits_kernel, _pair_infer,
    _bce_logits_vjp, save_inputs=(0, 1, 2, 3),
    backward_name="BinaryCrossEntropyWithLogitsBackward0",
    doc="binary cross entropy on logits (stable), optional weight and pos_weight"))


def _mse_kernel(xp, a, b, reduction="mean"):
    diff = a - b
    return _reduce(xp, diff * diff, reduction)


def _mse_infer(a, b, reduction="mean"):
    _check_reduction(reduction)
    from .shape_rules import broadcast_shapes

    shape = broadcast_shapes(a.shape, b.shape)
    return _reduced_meta(shape, a.dtype, reduction)


def _mse_vjp(ctx, grad):
    a, b = ctx.inputs
    reduction = ctx.attrs.get("reduction", "mean")
    diff = a - b
    g = _scale_grad(grad, reduction, diff.numel()) * 2 * diff
    return unbroadcast(g, ctx.input_metas[0]), unbroadcast(-g, ctx.input_metas[1])


MSE_LOSS = register(OpDef("mse_loss", OPAQUE, _mse_kernel, _mse_infer, _mse_vjp,
                          save_inputs=(0, 1), backward_name="MseLossBackward0",
                          doc="mean (or sum) of squared differences"))
