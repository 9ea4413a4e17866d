"""`fractional_max_pool2d/3d` (Graham, Fractional Max-Pooling): max pools over windows whose
starts advance by a pseudo-random mix of floor(alpha) and ceil(alpha) steps, as PyTorch's
kernels place them.

Per plane and spatial dim, with u its sample in [0, 1) (``_random_samples`` (N, C, dims),
drawn with gt.rand in the input's dtype when not given) and alpha = (in - k) / (out - 1),
window i starts at int((i + u) alpha) - int(u alpha), the last at in - k, computed in the
input's dtype as PyTorch's kernel does. The pool itself is a gather of every window and a
max over it, so gradients and compiled graphs come from those ops.
"""

from __future__ import annotations

import numpy as np

from ... import dtypes
from ...functions.creation import arange, full, rand
from ...functions.math import where
from ...functions.movement import cat

__all__ = ["fractional_max_pool2d", "fractional_max_pool2d_with_indices",
           "fractional_max_pool3d", "fractional_max_pool3d_with_indices"]

_DIM_NAMES = {2: ("height", "width"), 3: ("time", "height", "width")}
# which column of _random_samples each spatial dim reads (PyTorch's kernels: W first in 2-D)
_SAMPLE_COLUMN = {2: (1, 0), 3: (0, 1, 2)}


def _tuple(value, n: int) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * n


def _window_starts(sample, in_size: int, out_size: int, kernel: int, dtype):
    """(N, C, out_size) int64 window starts for the (N, C, 1) `sample`s."""
    last = full(tuple(sample.shape[:2]) + (1,), in_size - kernel, dtype=dtypes.int64,
                device=sample.device)
    if out_size <= 1:
        return last[..., :out_size]
    # PyTorch rounds alpha to the input's dtype; reduced-precision products run in float32
    np_type = dtype.np_dtype.type if dtype in (dtypes.float16, dtypes.float32,
                                               dtypes.float64) else np.float32
    alpha = float(np_type(in_size - kernel) / np_type(out_size - 1))
    if dtype not in (dtypes.float32, dtypes.float64):
        sample, dtype = sample.float(), dtypes.float32
    steps = arange(out_size - 1, dtype=dtype, device=sample.device)
    starts = ((steps + sample) * alpha).trunc().long() - (sample * alpha).trunc().long()
    return cat([starts, last], dim=-1)


def _fractional_max_pool(input, kernel_size, output_size, output_ratio, random_samples,
                         n: int):
    name = f"fractional_max_pool{n}d"
    if output_size is None and output_ratio is None:
        raise ValueError(f"{name} requires specifying either an output_size or an "
                         "output_ratio")
    if input.dim() not in (n + 1, n + 2):
        raise RuntimeError(f"{name}(): Expected {n + 1}D or {n + 2}D tensor, but got: "
                           f"{list(input.shape)}")
    if output_size is None:
        if n == 2 and isinstance(output_ratio, (tuple, list)) and len(output_ratio) > 2:
            raise ValueError(f"{name} requires output_ratio to either be a single Int or "
                             "tuple of Ints.")
        ratio = _tuple(output_ratio, n)
        output_size = [int(input.size(i - n) * ratio[i]) for i in range(n)]
    kernel, output_size = _tuple(kernel_size, n), _tuple(output_size, n)
    batched = input.dim() == n + 2
    for i in range(1 if batched else 0, input.dim()):
        if input.size(i) == 0:
            raise RuntimeError(f"{name}(): Expected input to have non-zero size for "
                               f"non-batch dimensions, but got{list(input.shape)} with "
                               f"dimension {i} being empty.")
    x = input if batched else input.unsqueeze(0)
    batch, channels, spatial = x.size(0), x.size(1), tuple(x.shape[2:])
    # PyTorch's checks: 2-D allows the windows to reach the input's end, 3-D does not (and
    # checks time, width, height in that order)
    for d in (0, 1) if n == 2 else (0, 2, 1):
        size, k, out = spatial[d], kernel[d], output_size[d]
        if out + k - 1 > size or (n == 3 and out + k - 1 == size):
            what = _DIM_NAMES[n][d]
            suffix = "()" if n == 2 else "_out()"
            raise RuntimeError(f"fractional_max_pool{n}d{suffix}: pool {what} {k} too large "
                               f"relative to input {what} {size}")
    if random_samples is None:
        random_samples = rand(batch, channels, n, dtype=input.dtype, device=input.device)
    if random_samples.dtype != input.dtype:
        raise RuntimeError("Expect _random_samples to have the same dtype as input")
    if random_samples.size(2) != n:
        raise RuntimeError(f"Expect _random_samples.size(2) equals to {n}; got "
                           f"{random_samples.size(2)}.")
    if random_samples.size(0) < batch:
        raise RuntimeError("Expect _random_samples.size(0) no less then input batch size.")
    samples = random_samples[:batch].detach()
    # flat (row-major) spatial index of every window element, (N, C, *out, *kernel)
    index = None
    stride = 1
    for d in reversed(range(n)):
        column = _SAMPLE_COLUMN[n][d]
        starts = _window_starts(samples[:, :, column:column + 1], spatial[d],
                                output_size[d], kernel[d], input.dtype)
        positions = starts.unsqueeze(-1) + arange(kernel[d], device=input.device)
        shape = [batch, channels] + [1] * (2 * n)
        shape[2 + d], shape[2 + n + d] = output_size[d], kernel[d]
        term = positions.reshape(shape) * stride
        index = term if index is None else index + term
        stride *= spatial[d]
    windows = int(np.prod(kernel))
    index = index.expand(batch, channels, *output_size, *kernel).reshape(
        batch, channels, -1)
    values = x.reshape(batch, channels, -1).gather(2, index)
    values = values.reshape(batch, channels, *output_size, windows)
    arg = values.detach().argmax(dim=-1, keepdim=True)
    # PyTorch's kernel keeps the first maximum, but the last NaN of a window with NaNs
    is_nan = values.detach().isnan()
    last_nan = (windows - 1) - is_nan.flip(-1).to(dtypes.uint8).argmax(dim=-1, keepdim=True)
    arg = where(is_nan.any(dim=-1, keepdim=True), last_nan, arg)
    output = values.gather(-1, arg).squeeze(-1)
    indices = index.reshape(batch, channels, *output_size, windows).gather(-1, arg).squeeze(-1)
    if not batched:
        output, indices = output.squeeze(0), indices.squeeze(0)
    return output, indices


def fractional_max_pool2d_with_indices(input, kernel_size, output_size=None,
                                       output_ratio=None, return_indices=False,
                                       _random_samples=None):
    """(output, indices) of a 2-D fractional max pool of (N, C, H, W) or (C, H, W) `input`
    to `output_size` (or `output_ratio` of the input size); indices are flat h * W + w.

    >>> out, idx = F.fractional_max_pool2d_with_indices(gt.randn(1, 2, 9, 9), 2, (4, 4))
    """
    return _fractional_max_pool(input, kernel_size, output_size, output_ratio,
                                _random_samples, 2)


def fractional_max_pool2d(input, kernel_size, output_size=None, output_ratio=None,
                          return_indices=False, _random_samples=None):
    """2-D fractional max pool; (output, indices) when `return_indices`.

    >>> F.fractional_max_pool2d(gt.randn(1, 2, 9, 9), 3, output_ratio=(0.5, 0.5)).shape
    torch.Size([1, 2, 4, 4])
    """
    output, indices = fractional_max_pool2d_with_indices(
        input, kernel_size, output_size, output_ratio, return_indices, _random_samples)
    return (output, indices) if return_indices else output


def fractional_max_pool3d_with_indices(input, kernel_size, output_size=None,
                                       output_ratio=None, return_indices=False,
                                       _random_samples=None):
    """(output, indices) of a 3-D fractional max pool of (N, C, T, H, W) or (C, T, H, W)
    `input`; indices are flat (t * H + h) * W + w.

    >>> out, idx = F.fractional_max_pool3d_with_indices(gt.randn(1, 2, 5, 5, 5), 2, 3)
    """
    return _fractional_max_pool(input, kernel_size, output_size, output_ratio,
                                _random_samples, 3)


def fractional_max_pool3d(input, kernel_size, output_size=None, output_ratio=None,
                          return_indices=False, _random_samples=None):
    """3-D fractional max pool; (output, indices) when `return_indices`.

    >>> F.fractional_max_pool3d(gt.randn(1, 2, 6, 6, 6), 2, output_size=3).shape
    torch.Size([1, 2, 3, 3, 3])
    """
    output, indices = fractional_max_pool3d_with_indices(
        input, kernel_size, output_size, output_ratio, return_indices, _random_samples)
    return (output, indices) if return_indices else output
