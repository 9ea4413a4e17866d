"""Sliding local blocks in `gt.nn.functional`: unfold (im2col) and fold (col2im).

Both are one indexing op over the zero-padded image flattened to (N, C, Hp * Wp): the flat
position of every (kernel row, kernel col, block row, block col) is computed once in NumPy,
unfold gathers them with `index_select` and fold sums them back with `index_add` (so each
one is the other's backward, and tracing/compilation need nothing new). Column layout as
PyTorch: dim 1 is c * kh * kw + ki * kw + kj, dim 2 the block index row-major.
"""

from __future__ import annotations

import numpy as np

from ... import dtypes
from ...functions._wrap import check_tensor
from ...functions.creation import tensor
from ...functions.movement import pad
from ...ops.sorting import not_implemented

__all__ = ["fold", "unfold"]


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Extract sliding kernel_size blocks of a (N, C, H, W) or (C, H, W) input as columns:
    (N, C * kh * kw, L) with L the number of blocks.

    >>> F.unfold(gt.ones(1, 2, 3, 3), 2).shape
    torch.Size([1, 8, 4])
    """
    check_tensor(input, "im2col")
    kernel, dil, pads, strides = (_pair(v, name) for v, name in (
        (kernel_size, "kernel_size"), (dilation, "dilation"), (padding, "padding"),
        (stride, "stride")))
    _check_arguments(kernel, dil, pads, strides)
    _check_dtype(input, "im2col_out_cpu")
    if input.ndim < 3:  # PyTorch reads the size of dim `ndim` before checking the rank
        if input.ndim == 0:
            raise IndexError("Dimension specified as 1 but tensor has no dimensions")
        raise IndexError(f"Dimension out of range (expected to be in range of [{-input.ndim}, "
                         f"{input.ndim - 1}], but got {input.ndim})")
    if input.ndim not in (3, 4) or any(s == 0 for s in input.shape[-3:]):
        raise RuntimeError("Expected 3D or 4D (batch mode) tensor with possibly 0 batch size "
                           "and other non-zero dimensions for input, but got: "
                           f"{list(input.shape)}")
    batched = input.ndim == 4
    x = input if batched else input.unsqueeze(0)
    n, c, h, w = x.shape
    blocks = _blocks((h, w), kernel, dil, pads, strides)
    if blocks[0] < 1 or blocks[1] < 1:
        raise RuntimeError(f"Given input with spatial size ({h}, {w}), kernel_size="
                           f"{kernel}, dilation={dil}, padding={pads}, calculated shape of "
                           f"the array of sliding blocks as ({blocks[0]}, {blocks[1]}), but "
                           "its components must be at least one.")
    if pads != (0, 0):
        x = pad(x, (pads[1], pads[1], pads[0], pads[0]))
    hp, wp = h + 2 * pads[0], w + 2 * pads[1]
    index = tensor(_positions(wp, kernel, dil, strides, blocks), device=input.device)
    cols = x.reshape(n, c, hp * wp).index_select(2, index)
    cols = cols.reshape(n, c * kernel[0] * kernel[1], blocks[0] * blocks[1])
    return cols if batched else cols.squeeze(0)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Sum columns (N, C * kh * kw, L) of sliding blocks back into a (N, C, *output_size)
    image (overlapping blocks add up): the adjoint of `unfold`.

    >>> F.fold(gt.ones(1, 4, 4), (3, 3), 2)[0, 0]
    tensor([[1., 2., 1.],
            [2., 4., 2.],
            [1., 2., 1.]])
    """
    check_tensor(input, "col2im")
    size, kernel, dil, pads, strides = (_pair(v, name) for v, name in (
        (output_size, "output_size"), (kernel_size, "kernel_size"), (dilation, "dilation"),
        (padding, "padding"), (stride, "stride")))
    _check_arguments(kernel, dil, pads, strides)
    _check_dtype(input, "col2im_out_cpu")
    if input.ndim not in (2, 3) or any(s == 0 for s in input.shape[-2:]):
        raise RuntimeError("Expected 2D or 3D (batch mode) tensor for input with possibly 0 "
                           "batch size and non-zero dimensions for input, but got: "
                           f"{list(input.shape)}")
    batched = input.ndim == 3
    cols = input if batched else input.unsqueeze(0)
    n, ckk, length = cols.shape
    kk = kernel[0] * kernel[1]
    if ckk % kk:
        raise RuntimeError("Expected size of input's dimension 1 to be divisible by the "
                           f"product of kernel_size, but got input.size(1)={ckk} and "
                           f"kernel_size={kernel}.")
    blocks = _blocks(size, kernel, dil, pads, strides)
    if blocks[0] < 1 or blocks[1] < 1 or blocks[0] * blocks[1] != length:
        shown = [max(b, 0) for b in blocks]
        raise RuntimeError(f"Given output_size={size}, kernel_size={kernel}, dilation={dil}, "
                           f"padding={pads}, stride={strides}, expected size of input's "
                           "dimension 2 to match the calculated number of sliding blocks "
                           f"{shown[0]} * {shown[1]} = {shown[0] * shown[1]}, but got "
                           f"input.size(2)={length}.")
    c = ckk // kk
    hp, wp = size[0] + 2 * pads[0], size[1] + 2 * pads[1]
    index = tensor(_positions(wp, kernel, dil, strides, blocks), device=input.device)
    image = cols.new_zeros((n, c, hp * wp)).index_add(2, index, cols.reshape(n, c, kk * length))
    image = image.reshape(n, c, hp, wp)
    image = image[:, :, pads[0]:pads[0] + size[0], pads[1]:pads[1] + size[1]]
    return image if batched else image.squeeze(0)


def _pair(value, name: str) -> tuple[int, int]:
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise RuntimeError(f"It is expected {name} equals to 2, but got size {len(value)}")
        return int(value[0]), int(value[1])
    return int(value), int(value)


def _check_arguments(kernel, dilation, padding, stride) -> None:
    """PyTorch's im2col/col2im argument checks, in its order."""
    for (a, b), what, word, low in ((kernel, "kernel size", "kernel", 1),
                                    (dilation, "dilation", "dilation", 1),
                                    (padding, "padding", "pad", 0),
                                    (stride, "stride", "stride", 1)):
        if a < low or b < low:
            bound = "greater than zero" if low else "non-negative"
            raise RuntimeError(f"{what} should be {bound}, but got {word}_height: {a} "
                               f"{word}_width: {b}")


def _check_dtype(input, kernel_name: str) -> None:
    dtype = input.dtype
    if not (dtype.is_floating_point or dtype.is_complex or dtype == dtypes.bool_):
        raise not_implemented(kernel_name, dtype)


def _blocks(size, kernel, dilation, padding, stride) -> tuple[int, int]:
    """Number of block positions along each spatial dim."""
    return tuple((size[i] + 2 * padding[i] - dilation[i] * (kernel[i] - 1) - 1) // stride[i] + 1
                 for i in range(2))


def _positions(padded_width, kernel, dilation, stride, blocks) -> np.ndarray:
    """Flat positions in the padded image, ordered (ki, kj, block row, block col)."""
    ki = np.arange(kernel[0]).reshape(-1, 1, 1, 1) * dilation[0]
    kj = np.arange(kernel[1]).reshape(1, -1, 1, 1) * dilation[1]
    rows = np.arange(blocks[0]).reshape(1, 1, -1, 1) * stride[0]
    cols = np.arange(blocks[1]).reshape(1, 1, 1, -1) * stride[1]
    return ((rows + ki) * padded_width + cols + kj).reshape(-1).astype(np.int64)
