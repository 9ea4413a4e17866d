"""Convolution, pooling and normalization functions with PyTorch's signatures and errors.

`__all__` holds what PyTorch exports at top level (torch.conv2d, torch.batch_norm, ...);
`FUNCTIONAL` maps each torch.nn.functional name implemented here to its function. Module
names follow F where torch.* differs: batch_norm/instance_norm accept both argument orders,
adaptive_max_pool1d is F's (torch's is torch_adaptive_max_pool1d). Running statistics are
updated in place under no_grad.
"""

from __future__ import annotations

from ..autograd.grad_mode import no_grad
from ..dtypes import scalar_type_name
from ..ops import conv as conv_ops
from ..ops import normalization as normalization_ops
from ..ops import pooling as pooling_ops
from ..ops.dispatch import call, meta_of
from ._wrap import accepts_out, check_tensor
from .creation import empty

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "convolution", "max_pool1d", "max_pool2d", "max_pool3d",
           "max_pool1d_with_indices", "avg_pool1d", "adaptive_avg_pool1d",
           "batch_norm", "instance_norm", "layer_norm", "group_norm",
           "rms_norm", "native_batch_norm", "native_layer_norm"]

# --- convolution ----------------------------------------------------------------------------

def _run_conv(x, w, b, stride, pads, dilation, groups, transposed=False, output_padding=None):
    attrs = dict(stride=stride, padding=pads, dilation=dilation, groups=int(groups))
    if transposed:
        attrs.update(transposed=True, output_padding=output_padding)
    conv_ops.CONVOLUTION.infer(meta_of(x), meta_of(w), None if b is None else meta_of(b), **attrs)
    return call(conv_ops.CONVOLUTION, x, w, b, **attrs)


def _conv(nsp, input, weight, bias, stride, padding, dilation, groups):
    fname = f"conv{nsp}d"
    check_tensor(input, fname)
    check_tensor(weight, fname, "weight")
    conv_ops.check_conv_rank(input, nsp, fname)
    batched = input.ndim == nsp + 2
    x = input if batched else input.unsqueeze(0)
    stride = conv_ops.conv_param("stride", stride, nsp)
    dilation = conv_ops.conv_param("dilation", dilation, nsp)
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise RuntimeError(f"Invalid padding string: '{padding}'")
        if padding == "same" and any(s != 1 for s in stride):
            raise RuntimeError("padding='same' is not supported for strided convolutions")
        conv_ops.check_param_lengths(weight, nsp, stride=stride, dilation=dilation)
        if padding == "valid":
            pads = ((0, 0),) * nsp
        else:  # PyTorch puts the odd extra element of an even kernel's padding on the right
            totals = [d * (k - 1) for d, k in zip(dilation, weight.shape[2:])]
            pads = tuple((t // 2, t - t // 2) for t in totals)
    else:
        padding = conv_ops.conv_param("padding", padding, nsp)
        conv_ops.check_param_lengths(weight, nsp, stride=stride, padding=padding, dilation=dilation)
        pads = tuple((p, p) for p in padding)
    out = _run_conv(x, weight, bias, stride, pads, dilation, groups)
    return out if batched else out.squeeze(0)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D cross-correlation of (N, C, L) or (C, L) input with (O, C/groups, K) weight."""
    return _conv(1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation of (N, C, H, W) or (C, H, W) input; padding may be an int, a
    tuple, 'valid' or 'same'."""
    return _conv(2, input, weight, bias, stride, padding, dilation, groups)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D cross-correlation of (N, C, D, H, W) or (C, D, H, W) input."""
    return _conv(3, input, weight, bias, stride, padding, dilation, groups)


def _conv_transpose(nsp, input, weight, bias, stride, padding, output_padding, groups,
                    dilation):
    fname = f"conv_transpose{nsp}d"
    check_tensor(input, fname)
    check_tensor(weight, fname, "weight")
    if isinstance(padding, str):
        raise TypeError(f"{fname}(): argument 'padding' must be tuple of ints, not str")
    conv_ops.check_conv_rank(input, nsp, fname)
    batched = input.ndim == nsp + 2
    x = input if batched else input.unsqueeze(0)
    stride = conv_ops.conv_param("stride", stride, nsp)
    padding = conv_ops.conv_param("padding", padding, nsp)
    output_padding = conv_ops.conv_param("output_padding", output_padding, nsp)
    dilation = conv_ops.conv_param("dilation", dilation, nsp)
    conv_ops.check_param_lengths(weight, nsp, stride=stride, padding=padding, dilation=dilation)
    conv_ops.check_output_padding(nsp, output_padding, stride, dilation)
    out = _run_conv(x, weight, bias, stride, tuple((p, p) for p in padding), dilation, groups,
                    True, output_padding)
    return out if batched else out.squeeze(0)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """1-D transposed convolution; weight is (C_in, C_out/groups, K)."""
    return _conv_transpose(1, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """2-D transposed convolution (the input-gradient of conv2d); weight (C_in, C_out/g, kH,
    kW)."""
    return _conv_transpose(2, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """3-D transposed convolution; weight (C_in, C_out/groups, kD, kH, kW)."""
    return _conv_transpose(3, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


def convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding,
                groups):
    """torch.convolution: the batched N-d (transposed) convolution behind conv*d."""
    nsp = weight.ndim - 2
    stride = conv_ops.conv_param("stride", stride, nsp)
    dilation = conv_ops.conv_param("dilation", dilation, nsp)
    pads = tuple((p, p) for p in conv_ops.conv_param("padding", padding, nsp))
    output_padding = conv_ops.conv_param("output_padding", output_padding, nsp)
    return _run_conv(input, weight, bias, stride, pads, dilation, groups, bool(transposed),
                     output_padding)


# --- pooling ------------------------------------------------------------------------------

def _batched(input, nsp):
    return (input, True) if input.ndim == nsp + 2 else (input.unsqueeze(0), False)


def _unbatch(out, batched):
    if batched:
        return out
    if isinstance(out, tuple):
        return tuple(o.squeeze(0) for o in out)
    return out.squeeze(0)




def _max_pool(nsp, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    fname = f"max_pool{nsp}d"
    check_tensor(input, fname)
    own_1d = nsp == 1 and not return_indices  # PyTorch's own 1-d kernel (see ops/pooling)
    kernel = pooling_ops.pool_param(fname, "kernel_size", kernel_size, nsp, own_1d=own_1d)
    stride = pooling_ops.pool_param(fname, "stride", stride, nsp, default=kernel, own_1d=own_1d)
    padding = pooling_ops.pool_param(fname, "padding", padding, nsp, own_1d=own_1d)
    dilation = pooling_ops.pool_param(fname, "dilation", dilation, nsp, own_1d=own_1d)
    pooling_ops.check_pool_input(input, nsp, "max", own_1d)
    dt = input.dtype
    if dt.name == "bool" or dt.is_complex:
        which = "max_pool1d_impl" if own_1d else f"max_pool{max(nsp, 2)}d"
        raise NotImplementedError(f"\"{which}\" not implemented for '{scalar_type_name(dt)}'")
    if own_1d and not dt.is_floating_point:
        raise NotImplementedError(f"\"max_pool1d_impl\" not implemented for "
                                  f"'{scalar_type_name(dt)}'")
    x, batched = _batched(input, nsp)
    pooling_ops.check_pool_args("max", x.shape, kernel, stride, padding, dilation, bool(ceil_mode),
                      own_1d)
    values, indices = call(pooling_ops.MAX_POOL, x, kernel=kernel, stride=stride, padding=padding,
                           dilation=dilation, ceil_mode=bool(ceil_mode))
    if return_indices:
        return _unbatch((values, indices), batched)
    return _unbatch(values, batched)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """1-D max pooling over (N, C, L) or (C, L); `return_indices` adds int64 argmax positions."""
    return _max_pool(1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """2-D max pooling; indices are positions in the flattened H*W plane, as PyTorch's."""
    return _max_pool(2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """3-D max pooling over (N, C, D, H, W) or (C, D, H, W)."""
    return _max_pool(3, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=False):
    """(values, indices) of 1-D max pooling."""
    return _max_pool(1, input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=False):
    """(values, indices) of 2-D max pooling."""
    return _max_pool(2, input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=False):
    """(values, indices) of 3-D max pooling."""
    return _max_pool(3, input, kernel_size, stride, padding, dilation, ceil_mode, True)


def _avg_pool(nsp, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override):
    fname = f"avg_pool{nsp}d"
    check_tensor(input, fname)
    kernel = pooling_ops.pool_param(fname, "kernel_size", kernel_size, nsp)
    stride = pooling_ops.pool_param(fname, "stride", stride, nsp, default=kernel)
    padding = pooling_ops.pool_param(fname, "padding", padding, nsp)
    pooling_ops.check_pool_input(input, nsp, "avg")
    dt = input.dtype
    if dt.name == "bool" or dt.is_complex:
        raise NotImplementedError(f"\"avg_pool{max(nsp, 2)}d\" not implemented for "
                                  f"'{scalar_type_name(dt)}'")
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    x, batched = _batched(input, nsp)
    pooling_ops.check_pool_args("avg", x.shape, kernel, stride, padding, (1,) * nsp,
                                bool(ceil_mode))
    out = call(pooling_ops.AVG_POOL, x, kernel=kernel, stride=stride, padding=padding,
               ceil_mode=bool(ceil_mode), count_include_pad=bool(count_include_pad),
               divisor_override=None if divisor_override is None else int(divisor_override))
    return _unbatch(out, batched)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    """1-D average pooling over (N, C, L) or (C, L)."""
    return _avg_pool(1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """2-D average pooling; `divisor_override` replaces the window size as the divisor."""
    return _avg_pool(2, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """3-D average pooling over (N, C, D, H, W) or (C, D, H, W)."""
    if getattr(getattr(input, "dtype", None), "name", "") == "bfloat16":  # as PyTorch's CPU
        raise NotImplementedError("\"avg_pool3d_out_frame\" not implemented for 'BFloat16'")
    return _avg_pool(3, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


def _adaptive_avg(nsp, input, output_size):
    check_tensor(input, f"adaptive_avg_pool{nsp}d")
    fname = pooling_ops.check_adaptive_input("avg", nsp, input)
    sizes = pooling_ops.adaptive_output_sizes(fname, output_size, input, nsp)
    if any(s < 0 for s in sizes):
        shown = ((1,) + sizes) if nsp == 1 else sizes
        raise RuntimeError(f"adaptive_avg_pool{max(nsp, 2)}d: elements of output_size must be "
                           f"greater than or equal to 0 but received "
                           f"{{{', '.join(map(str, shown))}}}")
    x, batched = _batched(input, nsp)
    return _unbatch(call(pooling_ops.ADAPTIVE_AVG_POOL, x, output_size=sizes), batched)


def adaptive_avg_pool1d(input, output_size):
    """1-D adaptive average pooling to `output_size` positions."""
    return _adaptive_avg(1, input, output_size)


def adaptive_avg_pool2d(input, output_size):
    """2-D adaptive average pooling; a None entry of output_size keeps that input size."""
    return _adaptive_avg(2, input, output_size)


def adaptive_avg_pool3d(input, output_size):
    """3-D adaptive average pooling."""
    return _adaptive_avg(3, input, output_size)


def _adaptive_max(nsp, input, output_size, return_indices):
    check_tensor(input, f"adaptive_max_pool{nsp}d")
    fname = pooling_ops.check_adaptive_input("max", nsp, input)
    sizes = pooling_ops.adaptive_output_sizes(fname, output_size, input, nsp)
    x, batched = _batched(input, nsp)
    if any(s < 0 for s in sizes):
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(sizes)}: "
                           f"{list(x.shape[:2]) + list(sizes)}")
    out = call(pooling_ops.ADAPTIVE_MAX_POOL, x, output_size=sizes)
    return _unbatch(out if return_indices else out[0], batched)


def torch_adaptive_max_pool1d(input, output_size):
    """torch.adaptive_max_pool1d: always (values, indices) of 1-D adaptive max pooling."""
    return _adaptive_max(1, input, output_size, True)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """F.adaptive_max_pool1d: values, or (values, indices) with return_indices (torch's
    top-level function of this name is `torch_adaptive_max_pool1d`)."""
    return _adaptive_max(1, input, output_size, return_indices)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """2-D adaptive max pooling; a None entry of output_size keeps that input size."""
    return _adaptive_max(2, input, output_size, return_indices)


def adaptive_max_pool3d(input, output_size, return_indices=False):
    """3-D adaptive max pooling."""
    return _adaptive_max(3, input, output_size, return_indices)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=False):
    """(values, indices) of 1-D adaptive max pooling."""
    return _adaptive_max(1, input, output_size, True)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=False):
    """(values, indices) of 2-D adaptive max pooling."""
    return _adaptive_max(2, input, output_size, True)


def adaptive_max_pool3d_with_indices(input, output_size, return_indices=False):
    """(values, indices) of 3-D adaptive max pooling."""
    return _adaptive_max(3, input, output_size, True)


# --- normalization ------------------------------------------------------------------------

def _unbiased(var, n):
    return var * (n / (n - 1) if n > 1 else float("nan"))


def _update(running, batch_value, momentum):
    """running = (1 - momentum) * running + momentum * batch, in place (a buffer)."""
    if running is not None:
        with no_grad():
            running.mul_(1 - momentum).add_(batch_value, alpha=momentum)


def _eval_norm(input, weight, bias, mean, var, eps):
    """(x - mean) / sqrt(var + eps) * weight + bias with per-channel statistics, as PyTorch's
    inference kernel: x * scale + shift."""
    shape = (1, -1) + (1,) * (input.ndim - 2)
    scale = (var + eps).rsqrt()
    if weight is not None:
        scale = scale * weight
    shift = -mean * scale
    if bias is not None:
        shift = shift + bias
    return input * scale.reshape(shape) + shift.reshape(shape)


def _batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps,
                natives=False):
    check_tensor(input, "batch_norm")
    if isinstance(momentum, bool) or not isinstance(momentum, (int, float)):
        raise TypeError(f"batch_norm(): argument 'momentum' (position 7) must be float, not "
                        f"{type(momentum).__name__}")
    c = input.shape[1] if input.ndim > 1 else 0
    if not training:
        for t, name in ((running_mean, "running_mean"), (running_var, "running_var")):
            if t is None:
                raise RuntimeError(f"{name} must be defined in evaluation mode")
    for t, name in ((running_mean, "running_mean"), (running_var, "running_var"),
                    (weight, "weight"), (bias, "bias")):
        if t is not None and t.numel() != c:
            raise RuntimeError(f"{name} should contain {c} elements not {t.numel()}")
    normalization_ops.check_float_input(input, "batch_norm")
    normalization_ops.check_param_dtypes(input, (weight, bias, running_mean, running_var))
    if not training:
        out = _eval_norm(input, weight, bias, running_mean, running_var, eps)
        if natives:
            return out, empty(0, dtype=input.dtype), empty(0, dtype=input.dtype)
        return out
    if input.numel() == 0:
        return input.clone()
    out, mean, invstd, var = call(normalization_ops.BATCH_NORM, input, weight, bias, eps=float(eps))
    _update(running_mean, mean, momentum)
    _update(running_var, _unbiased(var, input.numel() // c), momentum)
    return (out, mean, invstd) if natives else out


def torch_batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps,
                     cudnn_enabled=True):
    """torch.batch_norm: batch statistics (and an in-place running-stat update, unbiased
    variance) when training, running statistics otherwise."""
    return _batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps)


def batch_norm(input, *args, **kwargs):
    """torch.batch_norm(input, weight, bias, running_mean, running_var, training, momentum,
    eps, cudnn_enabled) or F.batch_norm(input, running_mean, running_var, weight=None,
    bias=None, training=False, momentum=0.1, eps=1e-5).

    One name serves both orders: torch's form always passes `cudnn_enabled` (its 9th
    argument), F's never has it.
    """
    if len(args) == 8 or "cudnn_enabled" in kwargs:
        return torch_batch_norm(input, *args, **kwargs)
    return functional_batch_norm(input, *args, **kwargs)


def functional_batch_norm(input, running_mean, running_var, weight=None, bias=None,
                          training=False, momentum=0.1, eps=1e-5):
    """F.batch_norm over (N, C, *): normalizes each channel; see torch.batch_norm."""
    if training:
        size = input.shape
        n = size[0]
        for s in size[2:]:
            n *= s
        if n == 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input "
                             f"size {size}")
    return _batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps)


@accepts_out
def native_batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps):
    """torch.native_batch_norm: (output, save_mean, save_invstd); empty stats in eval mode."""
    return _batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps,
                       natives=True)


def _instance_norm(input, weight, bias, running_mean, running_var, use_input_stats, momentum,
                   eps):
    check_tensor(input, "instance_norm")
    if not use_input_stats:
        return _batch_norm(input, weight, bias, running_mean, running_var, False, momentum, eps)
    n, c = input.shape[0], input.shape[1]
    # PyTorch's formulation: batch norm of (1, N*C, *) with the affine parameters repeated
    x = input.reshape((1, n * c) + tuple(input.shape[2:]))
    w = None if weight is None else weight.expand(n, c).reshape(n * c)
    b = None if bias is None else bias.expand(n, c).reshape(n * c)
    normalization_ops.check_float_input(input, "batch_norm")
    normalization_ops.check_param_dtypes(input, (weight, bias, running_mean, running_var))
    if input.numel() == 0:
        return input.clone()
    out, mean, _, var = call(normalization_ops.BATCH_NORM, x, w, b, eps=float(eps))
    spatial = input.numel() // (n * c)
    _update(running_mean, mean.reshape(n, c).mean(0), momentum)
    _update(running_var, _unbiased(var, spatial).reshape(n, c).mean(0), momentum)
    return out.reshape(tuple(input.shape))


def torch_instance_norm(input, weight, bias, running_mean, running_var, use_input_stats,
                        momentum, eps, cudnn_enabled=True):
    """torch.instance_norm: per-sample, per-channel normalization over the spatial dims."""
    return _instance_norm(input, weight, bias, running_mean, running_var, use_input_stats,
                          momentum, eps)


def instance_norm(input, *args, **kwargs):
    """torch.instance_norm(input, weight, bias, running_mean, running_var, use_input_stats,
    momentum, eps, cudnn_enabled) or F.instance_norm(input, running_mean=None,
    running_var=None, weight=None, bias=None, use_input_stats=True, momentum=0.1, eps=1e-5),
    told apart like `batch_norm` by torch's `cudnn_enabled`."""
    if len(args) == 8 or "cudnn_enabled" in kwargs:
        return torch_instance_norm(input, *args, **kwargs)
    return functional_instance_norm(input, *args, **kwargs)


def functional_instance_norm(input, running_mean=None, running_var=None, weight=None,
                             bias=None, use_input_stats=True, momentum=0.1, eps=1e-5):
    """F.instance_norm: normalizes each (sample, channel) over its spatial elements."""
    if use_input_stats:
        n = 1
        for s in input.shape[2:]:
            n *= s
        if n == 1:
            raise ValueError(f"Expected more than 1 spatial element when training, got input "
                             f"size {input.shape}")
    return _instance_norm(input, weight, bias, running_mean, running_var, use_input_stats,
                          momentum, eps)


def _layer_norm(input, normalized_shape, weight, bias, eps):
    check_tensor(input, "layer_norm")
    shape = normalization_ops.check_normalized_shape("layer_norm", input, normalized_shape,
                              ((weight, "weight"), (bias, "bias")))
    normalization_ops.check_float_input(input, "LayerNormKernelImpl")
    normalization_ops.check_param_dtypes(input, (weight, bias))
    return call(normalization_ops.LAYER_NORM, input, weight, bias, normalized_ndim=len(shape),
                eps=float(eps))


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5, cudnn_enable=True):
    """Normalize over the trailing `normalized_shape` dims, then scale by weight and shift by
    bias (both of shape normalized_shape)."""
    return _layer_norm(input, normalized_shape, weight, bias, eps)[0]


def native_layer_norm(input, normalized_shape, weight, bias, eps):
    """torch.native_layer_norm: (output, mean, rstd), statistics keep the normalized dims."""
    return _layer_norm(input, normalized_shape, weight, bias, eps)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5, cudnn_enabled=True):
    """Normalize (N, C, *) over each group of C/num_groups channels (and all spatial
    elements), then apply the per-channel weight and bias."""
    check_tensor(input, "group_norm")
    normalization_ops.check_group_norm(input, num_groups, weight, bias)
    normalization_ops.check_float_input(input, "GroupNormKernelImpl")
    normalization_ops.check_param_dtypes(input, (weight, bias))
    if input.numel() == 0:
        return input.clone()
    return call(normalization_ops.GROUP_NORM, input, weight, bias, num_groups=int(num_groups),
                eps=float(eps))[0]


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """x / sqrt(mean(x**2 over the trailing normalized_shape dims) + eps) * weight; eps
    defaults to the dtype's machine epsilon."""
    check_tensor(input, "rms_norm")
    shape = normalization_ops.check_normalized_shape("rms_norm", input, normalized_shape,
                                                     ((weight, "weight"),),
                              sep="")
    normalization_ops.check_float_input(input, "rms_norm")
    if eps is None:
        import numpy as np

        eps = float(np.finfo(input.dtype.np_dtype).eps)
    dims = tuple(range(input.ndim - len(shape), input.ndim))
    out = input * ((input * input).mean(dim=dims, keepdim=True) + eps).rsqrt()
    return out if weight is None else out * weight

FUNCTIONAL = {
    "conv1d": conv1d, "conv2d": conv2d, "conv3d": conv3d, "conv_transpose1d": conv_transpose1d,
    "conv_transpose2d": conv_transpose2d, "conv_transpose3d": conv_transpose3d,
    "max_pool1d": max_pool1d, "max_pool2d": max_pool2d, "max_pool3d": max_pool3d,
    "max_pool1d_with_indices": max_pool1d_with_indices,
    "max_pool2d_with_indices": max_pool2d_with_indices,
    "max_pool3d_with_indices": max_pool3d_with_indices,
    "avg_pool1d": avg_pool1d, "avg_pool2d": avg_pool2d, "avg_pool3d": avg_pool3d,
    "adaptive_avg_pool1d": adaptive_avg_pool1d, "adaptive_avg_pool2d": adaptive_avg_pool2d,
    "adaptive_avg_pool3d": adaptive_avg_pool3d,
    "adaptive_max_pool1d": adaptive_max_pool1d,
    "adaptive_max_pool2d": adaptive_max_pool2d, "adaptive_max_pool3d": adaptive_max_pool3d,
    "adaptive_max_pool1d_with_indices": adaptive_max_pool1d_with_indices,
    "adaptive_max_pool2d_with_indices": adaptive_max_pool2d_with_indices,
    "adaptive_max_pool3d_with_indices": adaptive_max_pool3d_with_indices,
    "batch_norm": functional_batch_norm, "instance_norm": functional_instance_norm,
    "layer_norm": layer_norm, "group_norm": group_norm, "rms_norm": rms_norm,
}
