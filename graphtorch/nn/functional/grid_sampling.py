"""Spatial transformers in `gt.nn.functional`: affine_grid and grid_sample (2-D and 3-D).

Both are composed from existing ops, so gradients (to the input and to the grid or theta),
tracing and compilation come for free: affine_grid is a constant base grid times theta
(`bmm`, as PyTorch's generator); grid_sample maps the grid to source coordinates, applies
the padding mode to them, and sums the `gather`ed corner values of the flattened input times
weights written as PyTorch's kernels write them (so the values agree to rounding). A corner
outside the input contributes zero through a mask, as PyTorch's bounds checks do.
"""

from __future__ import annotations

import itertools
import math
import warnings

from ... import dtypes
from ...functions._wrap import check_tensor
from ...functions.creation import linspace, ones
from ...functions.math import where
from ...functions.movement import stack
from ...ops.sorting import not_implemented

__all__ = ["affine_grid", "grid_sample"]

_ALIGN_WARNING = ("Default grid_sample and affine_grid behavior has changed to "
                  "align_corners=False since 1.3.0. Please specify align_corners=True if the "
                  "old behavior is desired. See the documentation of grid_sample for details.")
_CUBIC_A = -0.75  # PyTorch's (and OpenCV's) cubic convolution coefficient


# --- affine_grid ------------------------------------------------------------------------------

def affine_grid(theta, size, align_corners=None):
    """The sampling grid of an affine transform `theta` (N x 2 x 3, or N x 3 x 4 for 5-D
    `size`) in grid_sample's normalised [-1, 1] coordinates.

    >>> theta = gt.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
    >>> F.affine_grid(theta, (1, 1, 2, 2), align_corners=True)[0, 0]
    tensor([[-1., -1.],
            [ 1., -1.]])
    """
    check_tensor(theta, "affine_grid")
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=2)
        align_corners = False
    if not theta.is_floating_point():
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    size = [int(s) for s in size]
    if len(size) == 4:
        if theta.dim() != 3 or theta.shape[-2] != 2 or theta.shape[-1] != 3:
            raise ValueError(f"Expected a batch of 2D affine matrices of shape Nx2x3 for size "
                             f"{_size_repr(size)}. Got {theta.shape}.")
    elif len(size) == 5:
        if theta.dim() != 3 or theta.shape[-2] != 3 or theta.shape[-1] != 4:
            raise ValueError(f"Expected a batch of 3D affine matrices of shape Nx3x4 for size "
                             f"{_size_repr(size)}. Got {theta.shape}.")
    else:
        raise NotImplementedError(f"affine_grid only supports 4D and 5D sizes, for 2D and 3D "
                                  f"affine transforms, respectively. Got size "
                                  f"{_size_repr(size)}.")
    spatial = size[2:]
    if align_corners and min(spatial) == 1:
        warnings.warn("Since version 1.3.0, affine_grid behavior has changed for unit-size "
                      "grids when align_corners=True. This is not an intended use case of "
                      "affine_grid. See the documentation of affine_grid for details.",
                      stacklevel=2)
    elif min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {_size_repr(size)}")
    n = size[0]
    # Base grid columns: x (the last spatial dim) first, then y (and z), then ones.
    axes = [_linspace_from_neg_one(theta, s, align_corners) for s in spatial]
    nd = len(spatial)
    columns = []
    for k in reversed(range(nd)):
        shape = [1] * nd
        shape[k] = spatial[k]
        columns.append(axes[k].reshape(shape).expand(*spatial))
    columns.append(ones(*spatial, dtype=theta.dtype, device=theta.device))
    base = stack(columns, -1).reshape(1, math.prod(spatial), nd + 1)
    grid = base.expand(n, math.prod(spatial), nd + 1).bmm(theta.transpose(1, 2))
    return grid.reshape(n, *spatial, nd)


def _linspace_from_neg_one(theta, steps, align_corners):
    if steps <= 1:
        return linspace(0, 0, 1, dtype=theta.dtype, device=theta.device)
    grid = linspace(-1, 1, steps, dtype=theta.dtype, device=theta.device)
    if not align_corners:
        grid = grid * (steps - 1) / steps
    return grid


def _size_repr(size):
    return "torch.Size([" + ", ".join(str(s) for s in size) + "])"


# --- grid_sample ------------------------------------------------------------------------------

def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    """Sample `input` (N, C, H, W) or (N, C, D, H, W) at the normalised positions in `grid`
    (N, H', W', 2) or (N, D', H', W', 3), with `mode` 'bilinear', 'nearest' or 'bicubic' and
    `padding_mode` 'zeros', 'border' or 'reflection'.

    >>> x = gt.arange(4.).reshape(1, 1, 2, 2)
    >>> F.grid_sample(x, gt.zeros(1, 1, 1, 2), align_corners=True)
    tensor([[[[1.5000]]]])
    """
    check_tensor(input, "grid_sample")
    check_tensor(grid, "grid_sample")
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(f"nn.functional.grid_sample(): expected mode to be 'bilinear', "
                         f"'nearest' or 'bicubic', but got: '{mode}'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(f"nn.functional.grid_sample(): expected padding_mode to be 'zeros', "
                         f"'border', or 'reflection', but got: '{padding_mode}'")
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=2)
        align_corners = False
    _check_grid_sample(input, grid, mode)
    n, c, *spatial = input.shape
    nd = len(spatial)
    out_spatial = list(grid.shape[1:-1])
    count = math.prod(out_spatial)
    flat = input.reshape(n, c, math.prod(spatial))
    grid = grid.reshape(n, count, nd)
    # coords[k] is the position along spatial dim k: grid's last entry is x (the last dim).
    # PyTorch's CPU kernels round differently in 2-D (vectorised) and 3-D (scalar); follow
    # each, since a position that lands on a pixel decides which neighbour the gradient uses.
    coords = [_unnormalize(grid[..., nd - 1 - k], spatial[k], align_corners, nd == 2)
              for k in range(nd)]
    if mode == "bicubic":
        out = _sample_bicubic(flat, coords, spatial, padding_mode, align_corners)
    else:
        coords = [_pad_coordinates(x, size, padding_mode, align_corners)
                  for x, size in zip(coords, spatial)]
        if mode == "nearest":
            out = _gather_masked(flat, [x.round() for x in coords], spatial)
        else:
            out = _sample_linear(flat, coords, spatial, nd == 2)
    return out.reshape(n, c, *out_spatial)


def _check_grid_sample(input, grid, mode):
    if input.dtype != grid.dtype:
        raise RuntimeError(f"expected scalar type {_type_name(input.dtype)} but found "
                           f"{_type_name(grid.dtype)}")
    if input.dim() not in (4, 5) or grid.dim() != input.dim():
        dims = f"{input.dim()}D" if input.dim() in (4, 5) else "4D or 5D"
        raise RuntimeError(f"grid_sampler(): expected {dims} input and grid with same number "
                           f"of dimensions, but got input with sizes {list(input.shape)} and "
                           f"grid with sizes {list(grid.shape)}")
    if input.shape[0] != grid.shape[0]:
        raise RuntimeError(f"grid_sampler(): expected grid and input to have same batch size, "
                           f"but got input with sizes {list(input.shape)} and grid with sizes "
                           f"{list(grid.shape)}")
    nd = input.dim() - 2
    if grid.shape[-1] != nd:
        raise RuntimeError(f"grid_sampler(): expected grid to have size {nd} in last "
                           f"dimension, but got grid with sizes {list(grid.shape)}")
    for d in range(2, input.dim()):
        if input.shape[d] <= 0:
            raise RuntimeError(f"grid_sampler(): expected input to have non-empty spatial "
                               f"dimensions, but input has sizes {list(input.shape)} with "
                               f"dimension {d} being empty")
    if mode == "bicubic" and nd != 2:
        raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
    if not input.is_floating_point():
        kernel = "grid_sampler_2d_cpu_kernel_impl" if nd == 2 else "grid_sampler_3d_cpu"
        raise not_implemented(kernel, input.dtype)


def _type_name(dtype):
    return {dtypes.float32: "Float", dtypes.float64: "Double", dtypes.float16: "Half",
            dtypes.bfloat16: "BFloat16"}.get(dtype, str(dtype))


def _unnormalize(coord, size, align_corners, vectorised):
    if vectorised:
        if align_corners:
            return (coord + 1) * ((size - 1) / 2)
        return (coord + 1) * (size / 2) - 0.5
    if align_corners:
        return (coord + 1) / 2 * (size - 1)
    return ((coord + 1) * size - 1) / 2


def _pad_coordinates(coord, size, padding_mode, align_corners):
    if padding_mode == "border":
        return coord.clamp(0, size - 1)
    if padding_mode == "reflection":
        if align_corners:
            coord = _reflect(coord, 0, 2 * (size - 1))
        else:
            coord = _reflect(coord, -1, 2 * size - 1)
        return coord.clamp(0, size - 1)
    return coord


def _reflect(coord, twice_low, twice_high):
    """Reflect `coord` into [twice_low / 2, twice_high / 2] as often as needed."""
    if twice_low == twice_high:
        return coord * 0
    low = twice_low / 2
    span = (twice_high - twice_low) / 2
    coord = (coord - low).abs()
    extra = coord.fmod(span)
    flips = (coord / span).floor()
    return where(flips.fmod(2) == 0, extra + low, span - extra + low)


def _sample_linear(flat, coords, spatial, vectorised):
    """Sum over the 2**nd corners around each position, weights as PyTorch forms them:
    the 2-D kernel from the fraction (1 - w, w), the 3-D one as (ix_bse - ix) * ..."""
    lows = [x.floor() for x in coords]
    if vectorised:
        highs = [x - low for x, low in zip(coords, lows)]
        factors = [(1 - high, high) for high in highs]
    else:
        factors = [(low + 1 - x, x - low) for x, low in zip(coords, lows)]
    out = None
    for corner in itertools.product((0, 1), repeat=len(spatial)):
        index = [low + bit for low, bit in zip(lows, corner)]
        weight = None
        for k in reversed(range(len(spatial))):  # the x factor first
            factor = factors[k][corner[k]]
            weight = factor if weight is None else weight * factor
        term = _gather_masked(flat, index, spatial) * weight.unsqueeze(1)
        out = term if out is None else out + term
    return out


def _sample_bicubic(flat, coords, spatial, padding_mode, align_corners):
    """4 x 4 taps of cubic convolution; each tap's integer position takes the padding mode."""
    x, y = coords[1], coords[0]
    x0, y0 = x.floor(), y.floor()
    wx, wy = _cubic_weights(x - x0), _cubic_weights(y - y0)
    out = None
    for i in range(4):
        row = None
        ty = _pad_coordinates(y0 + (i - 1), spatial[0], padding_mode, align_corners)
        for j in range(4):
            tx = _pad_coordinates(x0 + (j - 1), spatial[1], padding_mode, align_corners)
            term = _gather_masked(flat, [ty, tx], spatial) * wx[j].unsqueeze(1)
            row = term if row is None else row + term
        term = row * wy[i].unsqueeze(1)
        out = term if out is None else out + term
    return out


def _cubic_weights(t):
    a = _CUBIC_A
    rest = 1 - t

    def inner(d):
        return ((a + 2) * d - (a + 3)) * d * d + 1

    def outer(d):
        return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a

    return [outer(t + 1), inner(t), inner(rest), outer(rest + 1)]


def _gather_masked(flat, index, spatial):
    """flat[n, :, index] where every integer coordinate is inside the input, else zero."""
    n, c, _ = flat.shape
    inside = None
    position = None
    for k, (coord, size) in enumerate(zip(index, spatial)):
        ok = (coord >= 0) & (coord <= size - 1)
        inside = ok if inside is None else inside & ok
        # Zero stands in for a position outside (NaN too) so the cast stays defined.
        term = where(ok, coord, 0).to(dtypes.int64)
        stride = math.prod(spatial[k + 1:])
        term = term * stride if stride != 1 else term
        position = term if position is None else position + term
    values = flat.gather(2, position.unsqueeze(1).expand(n, c, position.shape[-1]))
    return where(inside.unsqueeze(1), values, 0)
