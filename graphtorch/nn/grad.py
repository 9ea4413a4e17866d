"""`gt.nn.grad`: a convolution's gradients with respect to its input and its weight, as
PyTorch's `torch.nn.grad` (used by custom `autograd.Function`s such as the "fuse conv and
batch norm" tutorial's). A convolution is linear in each of them, so each gradient is the
vector-Jacobian product at zero; it stays differentiable when grad mode is on."""

from __future__ import annotations

from ..autograd import grad as _autograd_grad
from ..autograd.grad_mode import enable_grad, is_grad_enabled
from ..functions.creation import zeros
from .functional import conv1d, conv2d, conv3d

__all__ = ["conv1d_input", "conv1d_weight", "conv2d_input", "conv2d_weight",
           "conv3d_input", "conv3d_weight"]


def _input_grad(conv, name, input_size, weight, grad_output, stride, padding, dilation,
                groups):
    if input_size is None:
        raise ValueError(f"grad.{name}: input_size must be given, got None")
    keep_graph = is_grad_enabled() and (weight.requires_grad or grad_output.requires_grad)
    with enable_grad():
        input = zeros(tuple(input_size), dtype=grad_output.dtype, device=grad_output.device,
                      requires_grad=True)
        output = conv(input, weight, None, stride, padding, dilation, groups)
        _check_grad_output(name, output, grad_output)
        (grad_input,) = _autograd_grad(output, input, grad_output, create_graph=keep_graph)
    return grad_input


def _weight_grad(conv, name, input, weight_size, grad_output, stride, padding, dilation,
                 groups):
    keep_graph = is_grad_enabled() and (input.requires_grad or grad_output.requires_grad)
    with enable_grad():
        weight = zeros(tuple(weight_size), dtype=grad_output.dtype, device=grad_output.device,
                       requires_grad=True)
        output = conv(input, weight, None, stride, padding, dilation, groups)
        _check_grad_output(name, output, grad_output)
        (grad_weight,) = _autograd_grad(output, weight, grad_output, create_graph=keep_graph)
    return grad_weight


def _check_grad_output(name, output, grad_output):
    if tuple(output.shape) != tuple(grad_output.shape):
        raise RuntimeError(f"grad.{name}: grad_output has shape {list(grad_output.shape)}, "
                           f"but the convolution's output has shape {list(output.shape)}")


def conv1d_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1):
    """The gradient of `conv1d` with respect to an input of shape `input_size`."""
    return _input_grad(conv1d, "conv1d_input", input_size, weight, grad_output, stride,
                       padding, dilation, groups)


def conv1d_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1):
    """The gradient of `conv1d` with respect to a weight of shape `weight_size`."""
    return _weight_grad(conv1d, "conv1d_weight", input, weight_size, grad_output, stride,
                        padding, dilation, groups)


def conv2d_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1):
    """The gradient of `conv2d` with respect to an input of shape `input_size`.

    >>> gt.nn.grad.conv2d_input((1, 1, 3, 3), gt.ones(1, 1, 2, 2), gt.ones(1, 1, 2, 2)).sum()
    tensor(16.)
    """
    return _input_grad(conv2d, "conv2d_input", input_size, weight, grad_output, stride,
                       padding, dilation, groups)


def conv2d_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1):
    """The gradient of `conv2d` with respect to a weight of shape `weight_size`."""
    return _weight_grad(conv2d, "conv2d_weight", input, weight_size, grad_output, stride,
                        padding, dilation, groups)


def conv3d_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1):
    """The gradient of `conv3d` with respect to an input of shape `input_size`."""
    return _input_grad(conv3d, "conv3d_input", input_size, weight, grad_output, stride,
                       padding, dilation, groups)


def conv3d_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1):
    """The gradient of `conv3d` with respect to a weight of shape `weight_size`."""
    return _weight_grad(conv3d, "conv3d_weight", input, weight_size, grad_output, stride,
                        padding, dilation, groups)
