"""`max_unpool1d/2d/3d`: the partial inverse of max pooling. Each input value is written at
the flat spatial position its index names (as returned by `max_pool*d(return_indices=True)`)
in an output of zeros; positions no index names stay zero.

Written as one `scatter` per call, so the gradient is PyTorch's (a gather of the output
gradient at the indices) and compiled code traces it like any other.
"""

from __future__ import annotations

import math

from ... import dtypes
from ...functions.creation import zeros
from ...trace_state import current_tracer

__all__ = ["max_unpool1d", "max_unpool2d", "max_unpool3d"]


def _tuple(value, n: int) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * n


def _unpool_output_size(input, kernel_size, stride, padding, output_size) -> list:
    """PyTorch's default size ((in - 1) * stride + kernel - 2 * padding) or the requested
    one, which must lie strictly within one stride of the default."""
    n = len(kernel_size)
    default = [(input.size(-n + d) - 1) * stride[d] + kernel_size[d] - 2 * padding[d]
               for d in range(n)]
    if output_size is None:
        size = default
    else:
        output_size = list(output_size)
        if len(output_size) == n + 2:
            output_size = output_size[2:]
        if len(output_size) != n:
            raise ValueError(f"output_size should be a sequence containing {n} or {n + 2} "
                             f"elements, but it has a length of '{len(output_size)}'")
        for d in range(n):
            low, high = default[d] - stride[d], default[d] + stride[d]
            if not low < output_size[d] < high:
                raise ValueError(f'invalid output_size "{output_size}" (dim {d} must be '
                                 f"between {low} and {high})")
        size = output_size
    for d in range(n):
        if size[d] < 0:
            raise ValueError("max_unpooling: output_size must contain non-negative spatial "
                             f"dimensions, but got output_size[{d}]={size[d]}")
    return size


def _max_unpool(input, indices, kernel_size, stride, padding, output_size, n: int,
                shown_size):
    kernel_size = _tuple(kernel_size, n)
    stride = kernel_size if stride is None else _tuple(stride, n)
    size = _unpool_output_size(input, kernel_size, stride, _tuple(padding, n), output_size)
    if indices.dtype != dtypes.int64:
        raise RuntimeError("elements in indices should be type int64 but got: "
                           f"{dtypes.scalar_type_name(indices.dtype)}")
    if tuple(indices.shape) != tuple(input.shape):
        raise RuntimeError("Expected shape of indices to be same as that of the input tensor "
                           f"({list(input.shape)}) but got indices tensor with shape: "
                           f"{list(indices.shape)}")
    volume = math.prod(size)
    lead = tuple(input.shape[:input.dim() - n])
    flat_indices = indices.reshape(*lead, -1)
    if current_tracer() is None and flat_indices.numel():
        # a traced graph cannot read index values; scatter itself rejects out-of-range ones
        low, high = int(flat_indices.min()), int(flat_indices.max())
        bad = high if high >= volume else low if low < 0 else None
        if bad is not None:
            raise RuntimeError(f"Found an invalid max index: {bad} (output volumes are of size "
                               f"{'x'.join(str(s) for s in shown_size(size))})")
    out = zeros(*lead, volume, dtype=input.dtype, device=input.device)
    out = out.scatter(-1, flat_indices, input.reshape(*lead, -1))
    return out.reshape(*lead, *size)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of `max_pool1d` over (N, C, L) or (C, L) inputs.

    >>> out, idx = F.max_pool1d(gt.tensor([[[1., 3., 2., 0.]]]), 2, return_indices=True)
    >>> F.max_unpool1d(out, idx, 2)
    tensor([[[0., 3., 2., 0.]]])
    """
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 1,
                       lambda size: (*size, 1))  # PyTorch runs it as a 2-d unpool


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of `max_pool2d` over (N, C, H, W) or (C, H, W) inputs."""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 2,
                       lambda size: size)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of `max_pool3d` over (N, C, D, H, W) or (C, D, H, W) inputs."""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 3,
                       lambda size: size)
