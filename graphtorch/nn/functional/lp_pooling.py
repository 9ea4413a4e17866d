"""`lp_pool1d/2d/3d`: power-average pooling, (sum over the window of x^p)^(1/p), as PyTorch
computes it: an average pool of x^p times the window size, then the 1/p power (its sign
kept through relu so a zero window has a zero gradient); p = +-inf is a max pool of |x|.
"""

from __future__ import annotations

import math

from ...functions.nn_ops import (
    avg_pool1d,
    avg_pool2d,
    avg_pool3d,
    max_pool1d,
    max_pool2d,
    max_pool3d,
)
from .activations import relu

__all__ = ["lp_pool1d", "lp_pool2d", "lp_pool3d"]

_POOLS = {1: (avg_pool1d, max_pool1d), 2: (avg_pool2d, max_pool2d),
          3: (avg_pool3d, max_pool3d)}


def _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, n: int, window: int):
    avg_pool, max_pool = _POOLS[n]
    if isinstance(norm_type, (int, float)) and math.isinf(norm_type):
        if norm_type > 0:
            return max_pool(input.abs(), kernel_size, stride, 0, 1, ceil_mode)
        return -max_pool(-input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    if stride is not None:
        out = avg_pool(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    else:
        out = avg_pool(input.pow(norm_type), kernel_size, padding=0, ceil_mode=ceil_mode)
    return (out.sign() * relu(out.abs())).mul(window).pow(1.0 / norm_type)


def _window(kernel_size, n: int) -> int:
    return math.prod(kernel_size if isinstance(kernel_size, (tuple, list))
                     else (kernel_size,) * n)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling over (N, C, L) inputs.

    >>> F.lp_pool1d(gt.tensor([[[3., 4., 1., 1.]]]), 2, 2)
    tensor([[[5.0000, 1.4142]]])
    """
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 1, kernel_size)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling over (N, C, H, W) inputs."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 2,
                    _window(kernel_size, 2))


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling over (N, C, D, H, W) inputs."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 3,
                    _window(kernel_size, 3))
