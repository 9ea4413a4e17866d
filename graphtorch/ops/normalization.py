"""Normalization primitives with batch statistics: batch, layer and group norm.

Each returns (output, mean, inverse std[, biased variance]) like PyTorch's native_* ops;
only the output is differentiable. The shared vjp is written in graphtorch ops: it reuses
the saved statistics when no graph is being built and recomputes them differentiably
under create_graph, so double backward is exact. Running statistics are updated by the
public functions (they are buffers, not op inputs).
"""

from __future__ import annotations

from ..autograd import grad_mode
from ..dtypes import scalar_type_name
from ..layout import contiguous_format, suggested_format
from .registry import Category, OpDef, ResultLayout, TensorMeta, register, row_major_results

OPAQUE = Category.OPAQUE


def _stats(xp, x, axes, count):
    """Mean and biased variance over `axes` (keepdims) without NumPy's empty-slice
    warnings; sums are taken in float64 for float32/float16 input, as PyTorch accumulates
    in a wider type."""
    acc = xp.float64 if x.dtype.itemsize < 8 else x.dtype
    n = max(count, 0)
    s = xp.sum(x, axis=axes, keepdims=True, dtype=acc)
    mean = s / n if n else xp.full(s.shape, xp.nan, dtype=acc)
    centered = x - mean.astype(x.dtype)
    var = xp.sum(centered * centered, axis=axes, keepdims=True, dtype=acc)
    var = var / n if n else xp.full(s.shape, xp.nan, dtype=acc)
    return mean.astype(x.dtype), var.astype(x.dtype)


def _affine(xp, x, mean, invstd, w, b, param_shape):
    """(x - mean) * invstd * w + b with the per-element work done as one multiply-add."""
    scale = invstd if w is None else invstd * w.reshape(param_shape)
    shift = -mean * scale
    if b is not None:
        shift = shift + b.reshape(param_shape)
    out = x * scale
    out += shift
    return out.astype(x.dtype, copy=False)


def _check_float(x, name):
    if x.dtype.kind != "f":
        raise ValueError(f"{name} needs floating input")


# --- batch norm (training statistics) -------------------------------------------------------

def _bn_axes(ndim):
    return (0,) + tuple(range(2, ndim))


def _bn_kernel(xp, x, weight, bias, eps):
    _check_float(x, "batch_norm")
    axes = _bn_axes(x.ndim)
    count = x.size // x.shape[1] if x.shape[1] else 0
    mean, var = _stats(xp, x, axes, count)
    invstd = (1 / xp.sqrt(var + eps)).astype(x.dtype, copy=False)
    shape = (1, -1) + (1,) * (x.ndim - 2)
    out = _affine(xp, x, mean, invstd, weight, bias, shape)
    if not out.flags.c_contiguous and \
            suggested_format(x.shape, x.strides) is contiguous_format:
        out = xp.ascontiguousarray(out)  # PyTorch keeps only a channels-last layout
    flat = (x.shape[1],)
    return out, mean.reshape(flat), invstd.reshape(flat), var.reshape(flat)


def _bn_infer(x, weight, bias, eps):
    c = TensorMeta((x.shape[1],), x.dtype)
    return TensorMeta(tuple(x.shape), x.dtype), c, c, c


def normalized_grad(x, grad_hat, mean, rstd, dims):
    """Gradient through xhat = (x - mean) * rstd (statistics over `dims`), given the
    gradient with respect to xhat; returns (grad_x, xhat)."""
    xhat = (x - mean) * rstd
    m1 = grad_hat.mean(dim=dims, keepdim=True)
    m2 = (grad_hat * xhat).mean(dim=dims, keepdim=True)
    return (grad_hat - m1 - xhat * m2) * rstd, xhat


def _live_stats(x, dims, eps):
    mean = x.mean(dim=dims, keepdim=True)
    return mean, (x.var(dim=dims, correction=0, keepdim=True) + eps).rsqrt()


def _building_graph():
    return grad_mode.is_grad_enabled()


def _bn_vjp(ctx, grad, *unused):
    x, w = ctx.inputs[0], ctx.inputs[1]
    bm = ctx.input_metas[2]
    nd = x.ndim
    dims = _bn_axes(nd)
    shape = (1, -1) + (1,) * (nd - 2)
    if _building_graph():
        mean, rstd = _live_stats(x, dims, ctx.attrs["eps"])
    else:
        mean, rstd = ctx.outputs[1].reshape(shape), ctx.outputs[2].reshape(shape)
    grad_hat = grad if w is None else grad * w.reshape(shape)
    gx, xhat = normalized_grad(x, grad_hat, mean, rstd, dims)
    gw = None if w is None else (grad * xhat).sum(dim=dims)
    gb = None if bm is None else grad.sum(dim=dims)
    return gx, gw, gb


BATCH_NORM = register(OpDef(
    "native_batch_norm", OPAQUE, _bn_kernel, _bn_infer, _bn_vjp, save_inputs=(0, 1),
    save_output=(1, 2), num_outputs=4, backward_name="NativeBatchNormBackward0",
    doc="batch norm with batch statistics over (N, *spatial): (out, mean, invstd, biased "
        "var); running statistics are updated by the caller"))


# --- layer norm ---------------------------------------------------------------------------

def _ln_kernel(xp, x, weight, bias, normalized_ndim, eps):
    _check_float(x, "layer_norm")
    axes = tuple(range(x.ndim - normalized_ndim, x.ndim))
    count = 1
    for d in axes:
        count *= x.shape[d]
    mean, var = _stats(xp, x, axes, count)
    rstd = (1 / xp.sqrt(var + eps)).astype(x.dtype, copy=False)
    param_shape = x.shape[x.ndim - normalized_ndim:]
    return _affine(xp, x, mean, rstd, weight, bias, param_shape), mean, rstd


def _ln_infer(x, weight, bias, normalized_ndim, eps):
    stat = tuple(x.shape[:len(x.shape) - normalized_ndim]) + (1,) * normalized_ndim
    return (TensorMeta(tuple(x.shape), x.dtype), TensorMeta(stat, x.dtype),
            TensorMeta(stat, x.dtype))


def _ln_vjp(ctx, grad, *unused):
    x, w = ctx.inputs[0], ctx.inputs[1]
    bm = ctx.input_metas[2]
    k = ctx.attrs["normalized_ndim"]
    dims = tuple(range(x.ndim - k, x.ndim))
    lead = tuple(range(x.ndim - k))
    if _building_graph():
        mean, rstd = _live_stats(x, dims, ctx.attrs["eps"])
    else:
        mean, rstd = ctx.outputs[1], ctx.outputs[2]
    grad_hat = grad if w is None else grad * w
    gx, xhat = normalized_grad(x, grad_hat, mean, rstd, dims)
    gw = None if w is None else _sum_lead(grad * xhat, lead)
    gb = None if bm is None else _sum_lead(grad, lead)
    return gx, gw, gb


def _sum_lead(t, lead):
    return t.sum(dim=lead) if lead else t


LAYER_NORM = register(OpDef(
    "native_layer_norm", OPAQUE, row_major_results(_ln_kernel), _ln_infer, _ln_vjp,
    save_inputs=(0, 1), save_output=(1, 2), num_outputs=3,
    backward_name="NativeLayerNormBackward0", result_layout=ResultLayout.CONTIGUOUS,
    doc="layer norm over the last `normalized_ndim` dims: (out, mean, rstd)"))


# --- group norm ---------------------------------------------------------------------------

def _gn_kernel(xp, x, weight, bias, num_groups, eps):
    _check_float(x, "group_norm")
    n, c = x.shape[:2]
    xg = x.reshape(n, num_groups, -1)
    count = xg.shape[2]
    mean, var = _stats(xp, xg, (2,), count)
    rstd = (1 / xp.sqrt(var + eps)).astype(x.dtype, copy=False)
    # per (n, c) scale and shift, then one multiply-add over the full input
    per_c = (n, num_groups, c // num_groups if num_groups else 0)
    scale = xp.broadcast_to(rstd, per_c).reshape(n, c)
    mean_c = xp.broadcast_to(mean, per_c).reshape(n, c)
    if weight is not None:
        scale = scale * weight
    shift = -mean_c * scale
    if bias is not None:
        shift = shift + bias
    shape = (n, c) + (1,) * (x.ndim - 2)
    out = x * scale.reshape(shape)
    out += shift.reshape(shape)
    return out.astype(x.dtype, copy=False), mean.reshape(n, num_groups), \
        rstd.reshape(n, num_groups)


def _gn_infer(x, weight, bias, num_groups, eps):
    stat = TensorMeta((x.shape[0], num_groups), x.dtype)
    return TensorMeta(tuple(x.shape), x.dtype), stat, stat


def _gn_vjp(ctx, grad, *unused):
    x, w = ctx.inputs[0], ctx.inputs[1]
    bm = ctx.input_metas[2]
    g = ctx.attrs["num_groups"]
    shape = tuple(x.shape)
    n, c = shape[0], shape[1]
    xg = x.reshape(n, g, -1)
    if _building_graph():
        mean, rstd = _live_stats(xg, (2,), ctx.attrs["eps"])
    else:
        mean, rstd = ctx.outputs[1].unsqueeze(-1), ctx.outputs[2].unsqueeze(-1)
    pshape = (1, c) + (1,) * (len(shape) - 2)
    grad_hat = grad if w is None else grad * w.reshape(pshape)
    gx, xhat = normalized_grad(xg, grad_hat.reshape(n, g, -1), mean, rstd, (2,))
    dims = (0,) + tuple(range(2, len(shape)))
    gw = None if w is None else (grad * xhat.reshape(shape)).sum(dim=dims)
    gb = None if bm is None else grad.sum(dim=dims)
    return gx.reshape(shape), gw, gb


GROUP_NORM = register(OpDef(
    "native_group_norm", OPAQUE, _gn_kernel, _gn_infer, _gn_vjp, save_inputs=(0, 1),
    save_output=(1, 2), num_outputs=3, backward_name="NativeGroupNormBackward0",
    doc="group norm of (N, C, *) over (C/G, *) per group: (out, mean, rstd) of shape (N, G)"))


# --- argument checks for the public functions ---------------------------------------------

def check_float_input(x, kernel_name):
    if not x.dtype.is_floating_point:
        raise NotImplementedError(f"\"{kernel_name}\" not implemented for "
                                  f"'{scalar_type_name(x.dtype)}'")


def check_param_dtypes(x, params):
    for t in params:
        if t is not None and t.dtype is not x.dtype:
            if x.dtype.itemsize <= 4:
                raise RuntimeError("mixed dtype (CPU): expect parameter to have scalar type of "
                                   "Float")
            raise RuntimeError("mixed dtype (CPU): all inputs must share same datatype.")


def check_normalized_shape(fname, input, normalized_shape, params, sep=", "):
    if not isinstance(normalized_shape, (tuple, list)):
        raise TypeError(f"{fname}(): argument 'normalized_shape' (position 2) must be tuple of "
                        f"ints, not {type(normalized_shape).__name__}")
    shape = tuple(int(s) for s in normalized_shape)
    if not shape:
        raise RuntimeError("Expected normalized_shape to be at least 1-dimensional, i.e., "
                           "containing at least one element, but got normalized_shape = []")
    for t, name in params:
        if t is not None and tuple(t.shape) != shape:
            raise RuntimeError(f"Expected {name} to be of same shape as normalized_shape, but "
                               f"got {name} of shape {list(t.shape)} and normalized_shape = "
                               f"{list(shape)}")
    if input.ndim < len(shape) or tuple(input.shape[input.ndim - len(shape):]) != shape:
        raise RuntimeError(f"Given normalized_shape={list(shape)}, expected input with shape "
                           f"[*{sep}{', '.join(map(str, shape))}], but got input of size"
                           f"{list(input.shape)}")
    return shape


def check_group_norm(input, num_groups, weight, bias):
    """F.group_norm's checks, in PyTorch's order and words."""
    if input.ndim < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received "
                           f"{input.ndim}")
    size = [input.shape[0] * input.shape[1] // num_groups, num_groups] + list(input.shape[2:])
    values = size[0]
    for s in size[2:]:
        values *= s
    if values == 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input "
                         f"size {size}")
    c = input.shape[1]
    if c % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by "
                           f"num_groups, but got input of shape {list(input.shape)} and "
                           f"num_groups={num_groups}")
    # PyTorch's bias message shows the weight's shape ([0] without a weight); kept as is
    weight_shape = list(weight.shape) if weight is not None else [0]
    for t, name in ((weight, "weight"), (bias, "bias")):
        if t is not None and (t.ndim != 1 or t.numel() != c):
            raise RuntimeError(f"Expected {name} to be a vector of size equal to the number of "
                               f"channels in input, but got {name} of shape {weight_shape} and "
                               f"input of shape {list(input.shape)}")
