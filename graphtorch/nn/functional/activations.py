"""Activations, softmax, dropout, linear and distances of `gt.nn.functional`.

Activations with a registered primitive (relu, leaky_relu, elu, softplus, hardtanh, silu,
gelu) call it, so grad_fn names match PyTorch; the rest are short compositions of existing
ops. Dropout masks come from graphtorch's generator (`bernoulli_`), scaled by 1/(1-p).
The package's __init__ imports every functional name from its part.
"""

from __future__ import annotations

import math
import warnings

from ... import dtypes
from ...dtypes import scalar_type_name
from ...functions._wrap import accepts_out, check_tensor
from ...functions.creation import full_like, ones_like, zeros, zeros_like
from ...functions.math import div, where
from ...functions.shape import broadcast_tensors
from ...functions.statistics import log_softmax as _log_softmax
from ...functions.statistics import softmax as _softmax
from ...ops import unary_math as unary_math_ops
from ...ops.dispatch import call, call_inplace, meta_of
from ...ops.matmul import ADDMM
from ...ops.random_ops import BERNOULLI_MASK
from ...ops.shape_rules import normalize_dim, split_operands
from ...ops.sorting import not_implemented
from ...ops.views import UNSAFE_VIEW
from ...random import default_generator
from ...tensor import Tensor

__all__ = [
    "threshold", "threshold_", "relu", "relu_", "relu6", "elu", "elu_", "selu", "selu_",
    "celu", "celu_", "leaky_relu", "leaky_relu_", "prelu", "rrelu", "rrelu_", "glu", "gelu",
    "logsigmoid", "hardshrink", "tanhshrink",
    "softsign", "softplus", "softmin", "softmax", "log_softmax", "softshrink", "tanh",
    "sigmoid", "hardsigmoid", "silu", "mish", "hardtanh", "hardtanh_", "hardswish",
    "dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
    "feature_alpha_dropout", "linear", "bilinear", "normalize", "cosine_similarity",
    "pairwise_distance",
]

def _float_only(input, kernel_name):
    if not (input.is_floating_point() or input.is_complex()):
        raise not_implemented(kernel_name, input.dtype)


def _apply(op, input, inplace, **attrs):
    check_tensor(input, op.name)
    return call_inplace(op, input, **attrs) if inplace else call(op, input, **attrs)


def _composed(fn, input, inplace):
    """A composed activation; in place, it reads a clone so that the tensors its backward
    saved are not the ones overwritten."""
    return input.copy_(fn(input.clone())) if inplace else fn(input)


# --- pointwise activations -----------------------------------------------------------------

def threshold(input, threshold, value, inplace=False):
    """`input` where it is greater than `threshold`, else `value`."""
    if input.dtype.name == "bool":
        raise not_implemented("threshold_cpu", input.dtype)

    return _composed(lambda x: where(x > threshold, x, full_like(x, value)), input, inplace)


_threshold = threshold  # for threshold_, whose argument is named `threshold` too


def relu(input, inplace=False):
    """max(input, 0)."""
    check_tensor(input, "relu")  # F.relu([1, 2]) is PyTorch's TypeError, not AttributeError
    if input.dtype.name == "bool":
        raise RuntimeError("Boolean inputs not supported for relu")
    return _apply(unary_math_ops.RELU, input, inplace)


def relu_(input):
    """In-place relu."""
    return relu(input, inplace=True)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """Clamp to [min_val, max_val] (gradient 1 strictly inside)."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    if input.dtype.name == "bool":
        raise RuntimeError("Bool inputs not supported for hardtanh")
    return _apply(unary_math_ops.HARDTANH, input, inplace, min_val=min_val, max_val=max_val)


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    """In-place hardtanh."""
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input, inplace=False):
    """min(max(input, 0), 6) (PyTorch computes it as hardtanh(0, 6))."""
    return hardtanh(input, 0.0, 6.0, inplace)


def elu(input, alpha=1.0, inplace=False):
    """input if positive, else alpha * (exp(input) - 1)."""
    _float_only(input, "elu_cpu")
    return _apply(unary_math_ops.ELU, input, inplace, alpha=alpha)


def elu_(input, alpha=1.0):
    """In-place elu."""
    return elu(input, alpha, inplace=True)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(input, inplace=False):
    """scale * elu(input, alpha) with the self-normalising constants."""
    _float_only(input, "elu_cpu")
    return _composed(lambda x: call(unary_math_ops.ELU, x, alpha=_SELU_ALPHA) * _SELU_SCALE, input,
                     inplace)


def celu(input, alpha=1.0, inplace=False):
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1))."""
    _float_only(input, "elu_cpu")
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError")

    def fn(x):
        # exp of the clamped input only: the unused branch must not overflow into NaN grads.
        return where(x > 0, x, (x.clamp(max=0) / alpha).expm1() * alpha)

    return _composed(fn, input, inplace)


def selu_(input):
    """In-place selu."""
    return selu(input, inplace=True)


def celu_(input, alpha=1.0):
    """In-place celu."""
    return celu(input, alpha, inplace=True)


def threshold_(input, threshold, value):
    """In-place threshold: values not greater than `threshold` become `value`."""
    return _threshold(input, threshold, value, inplace=True)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """input if positive, else negative_slope * input."""
    _float_only(input, "leaky_relu_cpu")
    return _apply(unary_math_ops.LEAKY_RELU, input, inplace, negative_slope=negative_slope)


def leaky_relu_(input, negative_slope=0.01):
    """In-place leaky_relu."""
    return leaky_relu(input, negative_slope, inplace=True)


def prelu(input, weight):
    """leaky_relu with a learnt slope per channel (dim 1) or one shared slope."""
    _float_only(input, "prelu_cpu")
    if weight.numel() != 1:
        channels = input.shape[1] if input.ndim >= 2 else 1
        if weight.numel() != channels:
            raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found "
                               f"parameter numbers = {weight.numel()} and channel size = "
                               f"{channels}.")
        if input.ndim >= 2:
            weight = weight.reshape((channels,) + (1,) * (input.ndim - 2))
    elif input.ndim:
        weight = weight.reshape(())
    return where(input > 0, input, weight * input)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    """Randomised leaky relu: slopes ~ U(lower, upper) in training, their mean otherwise."""
    return _rrelu(input, lower, upper, training, inplace, default_generator)


def _rrelu(input, lower, upper, training, inplace, generator):
    _float_only(input, "leaky_relu_cpu")
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)
    import numpy as np


    # PyTorch draws one double U(lower, upper) per non-positive element, in memory order.
    data = np.asarray(input.detach().numpy(force=True))  # force: bfloat16 too
    negative = data <= 0
    noise = np.ones(data.shape, dtype=data.dtype)
    noise[negative] = generator.uniform(int(negative.sum()), lower, upper,
                                        np.float64).astype(data.dtype)
    slopes = Tensor._wrap(noise).to(input.device)
    return _composed(lambda x: x * slopes, input, inplace)


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False, generator=None):
    """In-place rrelu (training: slopes drawn from `generator`, else the global one)."""
    return _rrelu(input, lower, upper, training, True,
                  default_generator if generator is None else generator)


def glu(input, dim=-1):
    """The gated linear unit: a * sigmoid(b) for the two halves a, b of `input` along dim."""
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    _float_only(input, "glu_cpu")

    d = normalize_dim(dim, input.ndim)
    if input.shape[d] % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {d} is size "
                           f"{input.shape[d]}")
    half = input.shape[d] // 2  # (narrow, not chunk: an empty dim is two empty halves)
    return input.narrow(d, 0, half) * input.narrow(d, half, half).sigmoid()


def gelu(input, approximate="none"):
    """x * Phi(x), exactly (erf) or with the tanh approximation."""
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    check_tensor(input, "gelu")
    _float_only(input, "GeluKernelImpl")
    return call(unary_math_ops.GELU, input, approximate=approximate)


def silu(input, inplace=False):
    """x * sigmoid(x) (swish)."""
    _float_only(input, "silu_cpu")
    return _apply(unary_math_ops.SILU, input, inplace)


def mish(input, inplace=False):
    """x * tanh(softplus(x))."""
    _float_only(input, "mish_cpu")
    return _composed(lambda x: x * call(unary_math_ops.SOFTPLUS, x).tanh(), input, inplace)


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(beta * x)) / beta, linear above `threshold`."""
    _float_only(input, "softplus_cpu")
    return call(unary_math_ops.SOFTPLUS, input, beta=beta, threshold=threshold)


def logsigmoid(input):
    """log(sigmoid(x)) = -softplus(-x), computed stably."""
    _float_only(input, "log_sigmoid_cpu")
    return (-call(unary_math_ops.SOFTPLUS, -input)).contiguous()  # row-major, as PyTorch's


def sigmoid(input):
    """1 / (1 + exp(-x))."""
    return input.sigmoid()


def tanh(input):
    """Hyperbolic tangent."""
    return input.tanh()


def softsign(input):
    """x / (1 + |x|)."""
    return input / (input.abs() + 1)


def tanhshrink(input):
    """x - tanh(x)."""
    return input - input.tanh()


def hardsigmoid(input, inplace=False):
    """relu6(x + 3) / 6."""
    _float_only(input, "hardsigmoid_cpu")
    return _composed(lambda x: call(unary_math_ops.HARDTANH, x + 3, min_val=0.0, max_val=6.0) / 6,
                     input,
                     inplace)


def hardswish(input, inplace=False):
    """x * relu6(x + 3) / 6."""
    _float_only(input, "hardswish_cpu")
    def hardswish_of(x):
        return x * call(unary_math_ops.HARDTANH, x + 3, min_val=0.0, max_val=6.0) / 6

    return _composed(hardswish_of, input, inplace)


def softshrink(input, lambd=0.5):
    """x - lambd above lambd, x + lambd below -lambd, 0 in between."""
    _float_only(input, "softshrink_check")
    if lambd < 0:
        raise RuntimeError(f"lambda must be greater or equal to 0, but found to be {lambd}.")

    return where(input > lambd, input - lambd, where(input < -lambd, input + lambd,
                                                     zeros_like(input)))


@accepts_out
def hardshrink(input, lambd=0.5):
    """x where |x| > lambd, else 0."""
    _float_only(input, "hardshrink_cpu")

    return where((input > lambd) | (input < -lambd), input, zeros_like(input))


# --- softmax family ------------------------------------------------------------------------

def _softmax_dim(name, ndim, stacklevel):
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call "
                  "to include dim=X as an argument.", stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """exp(x) / sum(exp(x)) along `dim` (`dtype` casts the input first)."""
    if dim is None:
        dim = _softmax_dim("softmax", input.ndim, _stacklevel)
    return _softmax(input, dim, dtype)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    """softmax(-x) along `dim`."""
    if dim is None:
        dim = _softmax_dim("softmin", input.ndim, _stacklevel)
    return _softmax(-input, dim, dtype)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """log(softmax(x)) along `dim`, computed stably."""
    if dim is None:
        dim = _softmax_dim("log_softmax", input.ndim, _stacklevel)
    return _log_softmax(input, dim, dtype)


# --- dropout -------------------------------------------------------------------------------

def _check_p(p):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _memory_order(input):
    """The dims of `input` from outermost to innermost in memory, or None where that is the
    logical order (or ambiguous: an expanded dim). PyTorch's dropout noise is
    `empty_like(input)`, which keeps the input's layout, and `bernoulli_` fills it in memory
    order, so a transposed input (an attention output) gets its draws in that order."""
    strides, shape = input.stride(), input.shape
    if any(st == 0 and n > 1 for st, n in zip(strides, shape)):
        return None
    dims = [d for d in range(input.ndim) if shape[d] > 1]
    ordered = sorted(dims, key=lambda d: -strides[d])
    if ordered == dims:
        return None
    size_one = [d for d in range(input.ndim) if shape[d] <= 1]
    return tuple(size_one + ordered)


def _noise(input, shape, p):
    """Bernoulli(1 - p) keep-mask of `shape` in the input's dtype (PyTorch's `noise`, drawn
    in the input's memory order); a registry op, so a traced dropout draws a fresh mask on
    every run."""
    shape = tuple(shape)
    order = _memory_order(input) if shape == tuple(input.shape) else None
    if order is None:
        mask = call(BERNOULLI_MASK, shape=shape, p=1 - p, dtype=input.dtype)
    else:
        drawn = call(BERNOULLI_MASK, shape=tuple(shape[d] for d in order), p=1 - p,
                     dtype=input.dtype)
        mask = drawn.permute(*sorted(range(len(order)), key=order.__getitem__))
    return mask if input.is_cpu else mask.to(input.device)


def _dropout(input, p, training, inplace, shape=None, alpha=False):
    """PyTorch's _dropout_impl: identity when off, zeros when p == 1, else input * mask."""
    if p == 0 or not training or input.numel() == 0:
        return input
    if p == 1:
        zero = zeros((), dtype=input.dtype, device=input.device)
        return input.mul_(zero) if inplace else input * zero
    noise = _noise(input, tuple(input.shape) if shape is None else shape, p)
    if not alpha:
        noise = noise.div_(1 - p)
        return input.mul_(noise) if inplace else input * noise
    a_const = 1.7580993408473766  # -SELU's negative saturation value
    a = 1.0 / math.sqrt((a_const * a_const * p + 1) * (1 - p))
    b = (noise - 1) * (a_const * a) + a_const * a * p
    noise = noise * a
    return input.mul_(noise).add_(b) if inplace else input * noise + b


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability p and scale the rest by 1 / (1 - p)."""
    _check_p(p)
    return _dropout(input, p, training, inplace)


def _feature_shape(input):
    if input.ndim < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    return tuple(input.shape[:2]) + (1,) * (input.ndim - 2)


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, L) or (C, L) inputs with probability p."""
    _check_p(p)
    if input.ndim not in (2, 3):
        raise RuntimeError(
            f"dropout1d: Expected 2D or 3D input, but received a {input.ndim}D input. Note that "
            "dropout1d exists to provide channel-wise dropout on inputs with 1 spatial "
            "dimension, a channel dimension, and an optional batch dimension (i.e. 2D or 3D "
            "inputs).")
    return _feature_dropout_unbatched(input, p, training, inplace, input.ndim == 3)


def _feature_dropout_unbatched(input, p, training, inplace, batched):
    if batched:
        return _dropout(input, p, training, inplace, _feature_shape(input))
    # (C, ...) is one sample: the mask is (C, 1, ...), broadcast over the spatial dims.
    shape = (input.shape[0],) + (1,) * (input.ndim - 1)
    return _dropout(input, p, training, inplace, shape)


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, H, W) inputs with probability p."""
    _check_p(p)
    if input.ndim not in (3, 4):
        warnings.warn(
            f"dropout2d: Received a {input.ndim}-D input to dropout2d, which is deprecated and "
            "will result in an error in a future release. To retain the behavior and silence "
            "this warning, please use dropout instead. Note that dropout2d exists to provide "
            "channel-wise dropout on inputs with 2 spatial dimensions, a channel dimension, "
            "and an optional batch dimension (i.e. 3D or 4D inputs).", stacklevel=2)
    if input.ndim == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D "
            "dropout behavior is desired - input is interpreted as shape (N, C, L), where C "
            "is the channel dim. This behavior will change in a future release to interpret "
            "the input as one without a batch dimension, i.e. shape (C, H, W). To maintain "
            "the 1D channel-wise dropout behavior, please switch to using dropout1d instead.",
            stacklevel=2)
    return _dropout(input, p, training, inplace, _feature_shape(input))


def dropout3d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) inputs with probability p."""
    _check_p(p)
    if input.ndim not in (4, 5):
        warnings.warn(
            f"dropout3d: Received a {input.ndim}-D input to dropout3d, which is deprecated and "
            "will result in an error in a future release. To retain the behavior and silence "
            "this warning, please use dropout instead. Note that dropout3d exists to provide "
            "channel-wise dropout on inputs with 3 spatial dimensions, a channel dimension, "
            "and an optional batch dimension (i.e. 4D or 5D inputs).", stacklevel=2)
    return _feature_dropout_unbatched(input, p, training, inplace, input.ndim == 5)


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Dropout that keeps SELU's self-normalisation (mean 0, variance 1)."""
    _check_p(p)
    return _dropout(input, p, training, inplace, alpha=True)


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Channel-wise alpha dropout."""
    _check_p(p)
    if p == 0 or not training or input.numel() == 0:
        return input
    return _dropout(input, p, training, inplace, _feature_shape(input), alpha=True)


# --- linear maps ---------------------------------------------------------------------------

def linear(input, weight, bias=None):
    """input @ weight.T + bias, computed as one 2-D product (PyTorch's folding)."""
    if input.ndim == 0 or weight.ndim == 0:
        raise RuntimeError(f"both arguments to linear need to be at least 1D, but they are "
                           f"{input.ndim}D and {weight.ndim}D")
    if weight.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                           f"{weight.ndim}D")
    if weight.ndim == 1:
        out = input.matmul(weight)
        return out if bias is None else out + bias
    lead = tuple(input.shape[:-1])
    rows = math.prod(lead)
    if input.shape[-1] != weight.shape[1]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x"
                           f"{input.shape[-1]} and {weight.shape[1]}x{weight.shape[0]})")
    flat = input.reshape(rows, input.shape[-1]) if input.ndim != 2 else input
    if bias is not None:  # one addmm, as PyTorch (grad_fn AddmmBackward0)
        out = call(ADDMM, bias, flat, weight.t())
    else:
        out = flat.matmul(weight.t())
    if input.ndim == 2:
        return out
    if input.ndim == 1 and bias is None:
        return out.squeeze_(0)  # PyTorch's matmul squeezes in place: SqueezeBackward4
    if bias is None:  # the fresh product is reshaped without view tracking, as PyTorch
        return call(UNSAFE_VIEW, out, shape=lead + (weight.shape[0],))
    return out.reshape(lead + (weight.shape[0],))


def bilinear(input1, input2, weight, bias=None):
    """y = x1^T A x2 + b for weight A of shape (out, in1, in2)."""
    if weight.ndim != 3:
        raise RuntimeError(f"bilinear(): weight must be 3-dimensional, but got "
                           f"{weight.ndim}-dimensional")
    out_f, in1, in2 = weight.shape
    if input1.shape[-1] != in1 or input2.shape[-1] != in2:
        raise RuntimeError(f"bilinear(): input sizes ({input1.shape[-1]}, {input2.shape[-1]}) "
                           f"do not match weight sizes ({in1}, {in2})")
    mixed = input1.matmul(weight.permute(1, 0, 2).reshape(in1, out_f * in2))
    mixed = mixed.reshape(tuple(mixed.shape[:-1]) + (out_f, in2))
    out = (mixed * input2.unsqueeze(-2)).sum(-1)
    return out if bias is None else out + bias


# --- norms and distances -------------------------------------------------------------------

def _vector_norm(x, p, dim, keepdim):
    """The p-norm over `dim`, with a zero (not NaN) gradient at the zero vector."""
    if not (x.is_floating_point() or x.is_complex()):
        raise RuntimeError("linalg.vector_norm: Expected a floating point or complex tensor as "
                           f"input. Got {scalar_type_name(x.dtype)}")

    a = x.abs()
    if p == math.inf:
        return a.amax(dim, keepdim=keepdim)
    if p == -math.inf:
        return a.amin(dim, keepdim=keepdim)
    if p == 0:
        return (a != 0).to(a.dtype).sum(dim, keepdim=keepdim)
    if p == 1:
        return a.sum(dim, keepdim=keepdim)
    # x * x (not |x| * |x|) keeps the second derivative right at exact zeros.
    square = x * x if p == 2 and not x.is_complex() else None
    total = (square if square is not None else a ** p).sum(dim, keepdim=keepdim)
    positive = total > 0
    safe = where(positive, total, ones_like(total))
    root = safe.sqrt() if p == 2 else safe ** (1.0 / p)
    return where(positive, root, zeros_like(root))


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """input / max(||input||_p over dim, eps)."""
    denom = _vector_norm(input, p, dim, True).clamp_min(eps).expand_as(input)
    if out is not None:
        return div(input, denom, out=out)
    return input / denom


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """sum(x1 * x2) / (max(||x1||, eps) * max(||x2||, eps)) along dim (broadcasting)."""
    common = dtypes.result_type(*split_operands([meta_of(x1), meta_of(x2)]))
    if not common.is_floating_point:
        raise RuntimeError(f"expected common dtype to be floating point, yet common dtype is "
                           f"{scalar_type_name(common)}")
    x1, x2 = broadcast_tensors(x1.to(common), x2.to(common))
    n1, n2 = _vector_norm(x1, 2, dim, True), _vector_norm(x2, 2, dim, True)
    # PyTorch clamps the norms without recording it: the gradient flows through the norm.
    n1 = n1 + (n1.clamp_min(eps) - n1).detach()
    n2 = n2 + (n2.clamp_min(eps) - n2).detach()
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """||x1 - x2 + eps||_p over the last dim."""
    diff = x1 - x2 + eps
    if diff.ndim == 0:
        diff = diff.reshape(1)
    return _vector_norm(diff, p, -1, keepdim)
