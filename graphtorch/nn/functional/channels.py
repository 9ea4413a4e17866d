"""Cross-channel ops in `gt.nn.functional`: local_response_norm (AlexNet's LRN) and
channel_shuffle (ShuffleNet), both composed from existing ops as PyTorch composes them, and
cross_map_lrn2d, the legacy LRN behind `nn.CrossMapLRN2d` (not a PyTorch functional)."""

from __future__ import annotations

import numpy as np

from ...functions._wrap import check_tensor
from ...functions.creation import tensor
from ...functions.movement import pad
from ...functions.nn_ops import avg_pool2d, avg_pool3d

__all__ = ["channel_shuffle", "local_response_norm", "native_channel_shuffle"]


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """Divide each value by (k + alpha * mean of squares over `size` neighbouring channels)
    ** beta; channels are dim 1 of a 3-D or higher input.

    >>> F.local_response_norm(gt.ones(1, 3, 2), 2).shape
    torch.Size([1, 3, 2])
    """
    dim = input.dim()
    if dim < 3:
        raise ValueError("Expected 3D or higher dimensionality                          "
                         f"input (got {dim} dimensions)")
    if input.numel() == 0:
        return input
    div = input.mul(input)
    if dim == 3:  # the channel window is a (size, 1) average over (C, L)
        div = pad(div.unsqueeze(1), (0, 0, size // 2, (size - 1) // 2))
        div = avg_pool2d(div, (size, 1), stride=1).squeeze(1)
    else:  # flatten the spatial dims, then a (size, 1, 1) average over (C, H, rest)
        sizes = input.size()
        div = div.view(sizes[0], 1, sizes[1], sizes[2], -1)
        div = pad(div, (0, 0, 0, 0, size // 2, (size - 1) // 2))
        div = avg_pool3d(div, (size, 1, 1), stride=1).squeeze(1).view(sizes)
    div = div.mul(alpha).add(k).pow(beta)
    return input / div


def _cross_map_window(channels: int, size: int) -> np.ndarray:
    """0/1 matrix: row c marks the channels whose squares PyTorch's CrossMapLRN2d sums for c.

    The window is c +- (size - 1) // 2, plus channel 0: PyTorch's running sum starts removing
    channels one step late, so channel 0 is never removed. Reproduced, quirk included."""
    pre_pad = int((size - 1) / 2 + 1)
    window = np.zeros((channels, channels))
    for c in range(channels):
        window[c, 0] = 1
        window[c, max(1, c - pre_pad + 1):min(c + pre_pad - 1, channels - 1) + 1] = 1
    return window


def cross_map_lrn2d(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """The legacy (Lua Torch) cross-channel LRN of `nn.CrossMapLRN2d` on (N, C, H, W):
    input * (k + alpha / size * windowed sum of squares) ** -beta.

    >>> cross_map_lrn2d(gt.ones(1, 3, 2, 2), 3).shape
    torch.Size([1, 3, 2, 2])
    """
    if input.dim() != 4:
        raise ValueError(f"CrossMapLRN2d: Expected input to be 4D, got {input.dim()}D instead.")
    window = tensor(_cross_map_window(input.shape[1], size), dtype=input.dtype,
                    device=input.device)
    sums = (input * input).movedim(1, -1).matmul(window.t()).movedim(-1, 1)
    return input * sums.mul(alpha / size).add(k).pow(-beta)


def channel_shuffle(input, groups):
    """Split the C channels of (N, C, *) into `groups` groups and interleave them:
    (N, g, C/g, *) -> (N, C/g, g, *), the shape kept.

    >>> F.channel_shuffle(gt.arange(4.).view(1, 4, 1), 2).flatten()
    tensor([0., 2., 1., 3.])
    """
    check_tensor(input, "channel_shuffle")
    if not isinstance(groups, int) or isinstance(groups, bool):
        raise TypeError("channel_shuffle(): argument 'groups' (position 2) must be int, not "
                        f"{type(groups).__name__}")
    if input.ndim <= 2:
        raise RuntimeError("channel_shuffle expects input with > 2 dims, but got input with "
                           f"sizes {list(input.shape)}")
    if groups <= 0:
        raise RuntimeError("Number of groups to divide channels in must be positive. Value of "
                           f"groups:{groups}")
    n, c, *rest = input.shape
    if c % groups:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels "
                           f"and {groups} groups.")
    if input.numel() == 0:
        return input.clone()
    x = input.reshape(n, groups, c // groups, *rest).transpose(1, 2)
    return x.reshape(input.shape)


native_channel_shuffle = channel_shuffle
