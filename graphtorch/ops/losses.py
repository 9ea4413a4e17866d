"""Loss primitives with PyTorch's grad_fn names: nll_loss (1-D/2-D input), nll_loss2d
(4-D input), binary_cross_entropy (+ with_logits), mse_loss, smooth_l1_loss, huber_loss.

`reduction` is "none", "mean" or "sum". nll: class weights and ignore_index follow
PyTorch (the weighted mean divides by the summed weight of the counted targets; nan when
it is zero). The checks shared by `infer` and `graphtorch.nn.functional.losses` raise
PyTorch's exceptions; data-dependent ones (target bounds, probabilities) are in kernels.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from .elementwise import where
from .factories import arange, full_like, ones, ones_like, zeros_like
from .grad_utils import numpy_arrays, unbroadcast, wrap
from .registry import Category, OpDef, TensorMeta, register
from .shape_rules import broadcast_shapes

OPAQUE = Category.OPAQUE
_REDUCTIONS = ("none", "mean", "sum")


def scalar_name(dtype) -> str:
    """PyTorch's scalar type name of a dtype: Float, Double, Long, Byte, ..."""
    return (dtype.legacy_name or dtype.name.capitalize()).replace("Tensor", "")


def check_reduction(reduction) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _reduced_meta(shape, dtype, reduction):
    return TensorMeta(tuple(shape) if reduction == "none" else (), dtype)


def _mean(xp, losses):
    # an empty mean is nan, as in PyTorch (no NumPy warning)
    if losses.size == 0:
        return xp.asarray(float("nan"), dtype=losses.dtype)
    return xp.asarray(losses.sum() / losses.size, dtype=losses.dtype)


def _reduce(xp, losses, reduction):
    if reduction == "none":
        return losses
    if reduction == "sum":
        return xp.asarray(losses.sum(), dtype=losses.dtype)
    return _mean(xp, losses)


def _scale_grad(grad, reduction, numel):
    return grad / numel if reduction == "mean" and numel else grad


# --- nll_loss / nll_loss2d --------------------------------------------------------------

def check_nll(logp, target, weight, reduction, spatial: bool) -> None:
    """PyTorch's nll_loss (1-D/2-D) or nll_loss2d (4-D) checks on TensorMetas."""
    check_reduction(reduction)
    shape, tshape = tuple(logp.shape), tuple(target.shape)
    if spatial:
        if len(tshape) != 3:
            raise RuntimeError("only batches of spatial targets supported (3D tensors) but got "
                               f"targets of dimension: {len(tshape)}")
        if len(shape) != 4:
            raise RuntimeError("only batches of spatial inputs supported (4D tensors), but got "
                               f"input of dimension: {len(shape)}")
        if weight is not None and _numel(weight.shape) != shape[1]:
            raise RuntimeError("weight tensor should be defined either for all or no classes")
        if (shape[0], shape[2], shape[3]) != tshape:
            raise RuntimeError(f"size mismatch (got input: {list(shape)} , target: "
                               f"{list(tshape)}")
    else:
        if not 0 < len(shape) <= 2:
            raise RuntimeError("input tensor should be 1D or 2D")
        if len(tshape) > 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        no_batch = len(shape) == 1 and len(tshape) == 0
        if not (no_batch or shape[0] == (tshape[0] if tshape else 1)):
            raise RuntimeError(f"size mismatch (got input: {list(shape)}, target: "
                               f"{list(tshape)})")
        classes = shape[-1]
        if weight is not None and not (len(weight.shape) == 1 and weight.shape[0] == classes):
            raise RuntimeError(f"weight tensor should be defined either for all {classes} "
                               "classes or no classes but got weight tensor of shape: "
                               f"{list(weight.shape)}")
    if target.dtype not in (dtypes.int64, dtypes.uint8):
        raise RuntimeError("expected target dtype to be Long or Byte, but got "
                           f"{scalar_name(target.dtype)}")
    if weight is not None and weight.dtype != logp.dtype:
        raise RuntimeError(f"expected scalar type {scalar_name(logp.dtype)} but found "
                           f"{scalar_name(weight.dtype)}")


def _numel(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def _nll_kernel(xp, logp, target, weight=None, reduction="mean", ignore_index=-100):
    """Class axis 1 (0 for 1-D input); out-of-range targets raise IndexError."""
    one_d = logp.ndim == 1
    if one_d:
        logp, target = logp[None], target.reshape(1)
    target = target.astype(xp.int64)
    classes = logp.shape[1]
    if xp is np and weight is None and not one_d and logp.ndim == 2 and target.size \
            and logp.dtype in _EXACT_COUNT:
        fast = _nll_all_valid(logp, target, reduction, ignore_index)
        if fast is not None:
            return fast
    valid = target != ignore_index
    if xp is np:
        bad = valid & ((target < 0) | (target >= classes))
        if bad.any():
            raise IndexError(f"Target {int(target[bad].reshape(-1)[0])} is out of bounds.")
        safe = xp.where(valid, target, 0)
    else:  # on a GPU the check would sync with the host every step (PyTorch's CUDA kernel
        # asserts on the device instead); out-of-range targets are clipped
        safe = xp.clip(xp.where(valid, target, 0), 0, classes - 1)
    picked = xp.take_along_axis(logp, xp.expand_dims(safe, 1), axis=1).squeeze(1)
    w = weight[safe] if weight is not None else xp.ones(safe.shape, dtype=logp.dtype)
    w = xp.where(valid, w, 0).astype(logp.dtype)
    losses = xp.where(valid, -picked * w, 0).astype(logp.dtype)
    if reduction == "none":
        return losses.reshape(()) if one_d else losses
    total = losses.sum()
    if reduction == "sum":
        return xp.asarray(total, dtype=logp.dtype)
    return xp.asarray(total / w.sum(), dtype=logp.dtype)  # nan when every target is ignored


_EXACT_COUNT = (np.dtype(np.float32), np.dtype(np.float64))  # a batch's size is exact in them


def _nll_all_valid(logp, target, reduction, ignore_index):
    """The usual batch (2-D, no class weights, every target a class, none ignored) with the
    general path's values bit for bit (each weight is 1, the mean divides by the count),
    in a quarter of its NumPy calls; None when a target is out of range or ignored."""
    lo, hi = int(target.min()), int(target.max())
    if lo < 0 or hi >= logp.shape[1] or (lo <= ignore_index <= hi
                                         and (target == ignore_index).any()):
        return None
    losses = -logp[np.arange(target.shape[0]), target]
    if reduction == "none":
        return losses
    total = losses.sum()
    if reduction == "sum":
        return np.asarray(total, dtype=logp.dtype)
    return np.asarray(total / logp.dtype.type(target.shape[0]), dtype=logp.dtype)


def _nll_infer(logp, target, weight=None, reduction="mean", ignore_index=-100):
    check_nll(logp, target, weight, reduction, spatial=False)
    if len(logp.shape) == 1:
        return TensorMeta((), logp.dtype)
    return _reduced_meta(target.shape, logp.dtype, reduction)


def _nll2d_infer(logp, target, weight=None, reduction="mean", ignore_index=-100):
    check_nll(logp, target, weight, reduction, spatial=True)
    return _reduced_meta(target.shape, logp.dtype, reduction)


def _nll_vjp(ctx, grad):
    logp_meta = ctx.input_metas[0]
    target, weight = ctx.inputs[1], ctx.inputs[2]
    reduction = ctx.attrs.get("reduction", "mean")
    ignore_index = ctx.attrs.get("ignore_index", -100)
    if weight is None:
        arrays = numpy_arrays(grad, target)
        if arrays is not None:
            return _nll_grad_numpy(*arrays, logp_meta, reduction, ignore_index), None, None
    one_d = len(logp_meta.shape) == 1
    t = target.reshape(1).long() if one_d else target.long()
    classes = logp_meta.shape[0] if one_d else logp_meta.shape[1]
    valid = t != ignore_index
    safe = where(valid, t, zeros_like(t))
    w = weight[safe] if weight is not None else ones(t.shape, dtype=grad.dtype,
                                                         device=grad.device)
    w = where(valid, w, zeros_like(w))
    if reduction == "none":
        scale = -grad.reshape(t.shape) * w
    elif reduction == "sum":
        scale = -grad * w
    else:
        total = w.sum()
        # all targets ignored: nothing receives a gradient (no 0/0)
        total = where(total == 0, ones_like(total), total)
        scale = -grad * w / total
    one_hot = (arange(classes, device=grad.device).reshape((1, classes) + (1,) * (t.ndim - 1))
               == safe.unsqueeze(1)).to(grad.dtype)
    grad_logp = one_hot * scale.unsqueeze(1)
    if one_d:
        grad_logp = grad_logp.squeeze(0)
    return grad_logp, None, None


def _nll_grad_numpy(grad, target, logp_meta, reduction, ignore_index):
    """`_nll_vjp`'s ops without class weights, in NumPy (eager backward): -grad (divided
    by the count of targets not ignored, for "mean") at each target's class, 0 elsewhere;
    the same values (a weight of 1 multiplies exactly, the count is exact in float)."""
    dtype = logp_meta.dtype.np_dtype
    shape = tuple(logp_meta.shape)
    t = target.reshape(1) if len(shape) == 1 else target
    t = t.astype(np.int64, copy=False)
    valid = t != ignore_index
    if reduction == "none":
        scale = -grad.reshape(t.shape).astype(dtype, copy=False)
    elif reduction == "sum":
        scale = np.broadcast_to(-grad.astype(dtype, copy=False), t.shape)
    else:
        total = dtype.type(max(int(np.count_nonzero(valid)), 1))
        scale = np.broadcast_to((-grad.astype(dtype, copy=False)) / total, t.shape)
    out = np.zeros((1,) + shape if len(shape) == 1 else shape, dtype=dtype)
    classes = np.where(valid, t, 0)
    # out[n, classes[n, ...], ...] = scale[n, ...] where valid
    np.put_along_axis(out, np.expand_dims(classes, 1),
                      np.expand_dims(np.where(valid, scale, dtype.type(0)), 1), axis=1)
    return wrap(out[0] if len(shape) == 1 else out)


NLL_LOSS = register(OpDef("nll_loss", OPAQUE, _nll_kernel, _nll_infer, _nll_vjp,
                          save_inputs=(1, 2), backward_name="NllLossBackward0",
                          doc="negative log-likelihood of target classes, 1-D or 2-D input"))
NLL_LOSS2D = register(OpDef("nll_loss2d", OPAQUE, _nll_kernel, _nll2d_infer, _nll_vjp,
                            save_inputs=(1, 2), backward_name="NllLoss2DBackward0",
                            doc="negative log-likelihood of target classes, (N, C, H, W)"))


# --- binary cross entropy ------------------------------------------------------------------

def _bce_kernel(xp, p, y, weight=None, reduction="mean"):
    if xp.any((p < 0) | (p > 1)):
        raise RuntimeError("all elements of input should be between 0 and 1")
    if xp.any((y < 0) | (y > 1)):
        raise RuntimeError("all elements of target should be between 0 and 1")
    # PyTorch clamps the logs at -100 so that p = 0 or 1 gives a finite loss.
    log_p = xp.maximum(xp.log(p), -100)
    log_q = xp.maximum(xp.log1p(-p), -100)
    losses = ((y - 1) * log_q - y * log_p).astype(p.dtype)
    if weight is not None:
        losses = (losses * weight).astype(p.dtype)
    return _reduce(xp, losses, reduction)


def _pair_infer(p, y, weight=None, reduction="mean", **_):
    check_reduction(reduction)
    shape = broadcast_shapes(tuple(p.shape), tuple(y.shape))
    if weight is not None:
        shape = broadcast_shapes(shape, tuple(weight.shape))
    return _reduced_meta(shape, p.dtype, reduction)


def _bce_vjp(ctx, grad):
    p, y, weight = ctx.inputs
    reduction = ctx.attrs.get("reduction", "mean")
    numel = _numel(broadcast_shapes(*(tuple(m.shape) for m in ctx.input_metas
                                      if m is not None)))
    g = _scale_grad(grad, reduction, numel)
    # d/dp = (p - y) / max(p (1 - p), eps); d/dy = -logit(p)  (PyTorch's formulas)
    d_p = g * (p - y) / ((1 - p) * p).clamp(min=1e-12)
    d_y = g * ((1 - p).log() - p.log())
    if weight is not None:
        d_p, d_y = d_p * weight, d_y * weight
    return unbroadcast(d_p, ctx.input_metas[0]), unbroadcast(d_y, ctx.input_metas[1]), None


BINARY_CROSS_ENTROPY = register(OpDef(
    "binary_cross_entropy", OPAQUE, _bce_kernel, _pair_infer, _bce_vjp,
    save_inputs=(0, 1, 2), backward_name="BinaryCrossEntropyBackward0",
    doc="-(y log p + (1-y) log(1-p)), logs clamped at -100"))


def _bce_logits_kernel(xp, x, y, weight=None, pos_weight=None, reduction="mean"):
    # log_sigmoid(x) = min(x, 0) - log1p(exp(-|x|)), without overflow
    log_sig = xp.minimum(x, 0) - xp.log1p(xp.exp(-xp.abs(x)))
    if pos_weight is not None:
        log_sig = log_sig * ((pos_weight - 1) * y + 1)
    losses = ((1 - y) * x - log_sig)
    if weight is not None:
        losses = losses * weight
    return _reduce(xp, xp.asarray(losses).astype(x.dtype), reduction)


def _bce_logits_infer(x, y, weight=None, pos_weight=None, reduction="mean"):
    check_reduction(reduction)
    shape = broadcast_shapes(tuple(x.shape), tuple(y.shape))
    for extra in (weight, pos_weight):
        if extra is not None:
            shape = broadcast_shapes(shape, tuple(extra.shape))
    return _reduced_meta(shape, x.dtype, reduction)


def _softplus_neg(x):
    """softplus(-x) = -log_sigmoid(x), stable."""
    return (-x.abs()).exp().log1p() + (-x).clamp(min=0)


def _bce_logits_vjp(ctx, grad):
    x, y, weight, pos_weight = ctx.inputs
    reduction = ctx.attrs.get("reduction", "mean")
    numel = _numel(broadcast_shapes(*(tuple(m.shape) for m in ctx.input_metas
                                      if m is not None)))
    g = _scale_grad(grad, reduction, numel)
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
    return (unbroadcast(d_x, ctx.input_metas[0]), unbroadcast(d_y, ctx.input_metas[1]),
            None, None)


BINARY_CROSS_ENTROPY_WITH_LOGITS = register(OpDef(
    "binary_cross_entropy_with_logits", OPAQUE, _bce_logits_kernel, _bce_logits_infer,
    _bce_logits_vjp, save_inputs=(0, 1, 2, 3),
    backward_name="BinaryCrossEntropyWithLogitsBackward0",
    doc="binary cross entropy on logits (stable), optional weight and pos_weight"))


# --- regression losses -----------------------------------------------------------------------

def _diff_infer(a, b, reduction="mean", **_):
    check_reduction(reduction)
    return _reduced_meta(broadcast_shapes(tuple(a.shape), tuple(b.shape)), a.dtype, reduction)


def _mse_kernel(xp, a, b, reduction="mean"):
    diff = a - b
    return _reduce(xp, diff * diff, reduction)


def _diff_grads(ctx, g_a):
    return unbroadcast(g_a, ctx.input_metas[0]), unbroadcast(-g_a, ctx.input_metas[1])


def _numel_of(ctx):
    return _numel(broadcast_shapes(tuple(ctx.input_metas[0].shape),
                                   tuple(ctx.input_metas[1].shape)))


def _mse_vjp(ctx, grad):
    a, b = ctx.inputs
    g = _scale_grad(grad, ctx.attrs.get("reduction", "mean"), _numel_of(ctx))
    return _diff_grads(ctx, g * 2 * (a - b))


MSE_LOSS = register(OpDef("mse_loss", OPAQUE, _mse_kernel, _diff_infer, _mse_vjp,
                          save_inputs=(0, 1), backward_name="MseLossBackward0",
                          doc="mean (or sum) of squared differences"))


def _smooth_l1_kernel(xp, a, b, reduction="mean", beta=1.0):
    z = xp.abs(a - b)
    losses = xp.where(z < beta, 0.5 * z * z / beta, z - 0.5 * beta).astype(z.dtype)
    return _reduce(xp, losses, reduction)


def _smooth_l1_vjp(ctx, grad):
    a, b = ctx.inputs
    beta = ctx.attrs.get("beta", 1.0)
    g = _scale_grad(grad, ctx.attrs.get("reduction", "mean"), _numel_of(ctx))
    d = a - b
    # d/da: sign(d) beyond beta, d / beta inside (PyTorch's branch order)
    inner = d / beta
    return _diff_grads(ctx, g * where(d < -beta, -ones_like(d),
                                         where(d > beta, ones_like(d), inner)))


SMOOTH_L1_LOSS = register(OpDef("smooth_l1_loss", OPAQUE, _smooth_l1_kernel, _diff_infer,
                                _smooth_l1_vjp, save_inputs=(0, 1),
                                backward_name="SmoothL1LossBackward0",
                                doc="0.5 d^2 / beta below beta, |d| - beta / 2 above"))


def _huber_kernel(xp, a, b, reduction="mean", delta=1.0):
    z = xp.abs(a - b)
    losses = xp.where(z < delta, 0.5 * z * z, delta * (z - 0.5 * delta)).astype(z.dtype)
    return _reduce(xp, losses, reduction)


def _huber_vjp(ctx, grad):
    a, b = ctx.inputs
    delta = ctx.attrs.get("delta", 1.0)
    g = _scale_grad(grad, ctx.attrs.get("reduction", "mean"), _numel_of(ctx))
    d = a - b
    clipped = where(d < -delta, full_like(d, -delta),
                       where(d > delta, full_like(d, delta), d))
    return _diff_grads(ctx, g * clipped)


HUBER_LOSS = register(OpDef("huber_loss", OPAQUE, _huber_kernel, _diff_infer, _huber_vjp,
                            save_inputs=(0, 1), backward_name="HuberLossBackward0",
                            doc="0.5 d^2 below delta, delta (|d| - delta / 2) above"))
