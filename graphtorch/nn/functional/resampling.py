"""Resampling in `gt.nn.functional`: pixel_shuffle/pixel_unshuffle and interpolate (nearest,
nearest-exact, (bi/tri)linear, bicubic, area; anti-aliased bilinear and bicubic).

Everything is composed from existing ops, so gradients, tracing and compilation come for
free: pixel (un)shuffle is reshape-permute-reshape; interpolate resamples one spatial dim at
a time (last dim first, as PyTorch's CPU kernels nest their loops) with `index_select` of
precomputed source indices and a weighted sum. The indices and weights are computed in NumPy
with PyTorch's formulas in its arithmetic precision (float for float32 inputs), so the
sampled positions are the same ones PyTorch picks; an exact integer upscale by nearest is an
expand + reshape (its backward a sum, not a scatter).
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from ... import dtypes
from ...functions._wrap import check_tensor
from ...functions.creation import tensor
from ...functions.shape import keep_channels_last
from ...functions.nn_ops import adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d
from ...ops.sorting import not_implemented

__all__ = [
    "interpolate",
    "pixel_shuffle",
    "pixel_unshuffle",
    "upsample",
    "upsample_bilinear",
    "upsample_nearest",
]


# --- pixel shuffle ---------------------------------------------------------------------------

def pixel_shuffle(input, upscale_factor):
    """Rearrange (*, C*r*r, H, W) into (*, C, H*r, W*r) (sub-pixel convolution's upscale).

    >>> F.pixel_shuffle(gt.arange(8.).reshape(1, 4, 1, 2), 2).shape
    torch.Size([1, 1, 2, 4])
    """
    check_tensor(input, "pixel_shuffle")
    r = int(upscale_factor)
    if input.ndim < 3:
        raise RuntimeError(f"pixel_shuffle expects input to have at least 3 dimensions, but "
                           f"got input with {input.ndim} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_shuffle expects a positive upscale_factor, but got {r}")
    *batch, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be "
                           f"divisible by the square of upscale_factor, but input.size(-3)={c} "
                           f"is not divisible by {r * r}")
    nb = len(batch)
    x = input.reshape(*batch, c // (r * r), r, r, h, w)
    x = x.permute(*range(nb), nb, nb + 3, nb + 1, nb + 4, nb + 2)
    return x.reshape(*batch, c // (r * r), h * r, w * r)


def pixel_unshuffle(input, downscale_factor):
    """Rearrange (*, C, H*r, W*r) into (*, C*r*r, H, W): the inverse of pixel_shuffle.

    >>> F.pixel_unshuffle(gt.zeros(1, 1, 4, 4), 2).shape
    torch.Size([1, 4, 2, 2])
    """
    check_tensor(input, "pixel_unshuffle")
    r = int(downscale_factor)
    if input.ndim < 3:
        raise RuntimeError(f"pixel_unshuffle expects input to have at least 3 dimensions, but "
                           f"got input with {input.ndim} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_unshuffle expects a positive downscale_factor, but got {r}")
    *batch, c, h, w = input.shape
    if h % r:
        raise RuntimeError(f"pixel_unshuffle expects height to be divisible by "
                           f"downscale_factor, but input.size(-2)={h} is not divisible by {r}")
    if w % r:
        raise RuntimeError(f"pixel_unshuffle expects width to be divisible by "
                           f"downscale_factor, but input.size(-1)={w} is not divisible by {r}")
    nb = len(batch)
    x = input.reshape(*batch, c, h // r, r, w // r, r)
    x = x.permute(*range(nb), nb, nb + 2, nb + 4, nb + 1, nb + 3)
    return x.reshape(*batch, c * r * r, h // r, w // r)


# --- interpolate: argument handling as torch.nn.functional.interpolate ----------------------

_MODES = "nearest | linear | bilinear | bicubic | trilinear | lanczos | area | nearest-exact"
_LINEAR_BY_RANK = {3: "linear", 4: "bilinear", 5: "trilinear"}


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resample the spatial dims of (N, C, *spatial) `input` to `size` or by `scale_factor`.

    mode: "nearest" (PyTorch's floor rule), "nearest-exact", "linear" (3-D), "bilinear"
    (4-D), "trilinear" (5-D), "bicubic" (4-D, A = -0.75) or "area" (adaptive average);
    `antialias=True` (bilinear, bicubic) filters over the downscaled footprint as PyTorch's
    (and torchvision's Resize). Differentiable with respect to `input`.

    >>> F.interpolate(gt.tensor([[[1., 2.]]]), scale_factor=2, mode="linear")
    tensor([[[1.0000, 1.2500, 1.7500, 2.0000]]])
    """
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating "
                             "modes: linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    dim = input.dim() - 2  # (a non-tensor fails here with PyTorch's AttributeError)
    output_size, scale_factors = _sizes_and_scales(input, dim, size, scale_factor)
    if recompute_scale_factor and size is not None:
        raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
    if mode == "area" and output_size is None:
        recompute_scale_factor = True
    if recompute_scale_factor:
        output_size = [math.floor(input.shape[i + 2] * scale_factors[i]) for i in range(dim)]
        scale_factors = None
    if antialias and not (mode in ("bilinear", "bicubic", "lanczos") and input.ndim == 4):
        raise ValueError("Anti-alias option is restricted to bilinear, bicubic, and lanczos "
                         "modes and requires a 4-D tensor as input")
    if antialias and mode == "lanczos":
        raise NotImplementedError("interpolate(mode='lanczos') is not supported by graphtorch "
                                  "yet")
    if antialias:
        return _resample(input, output_size, scale_factors, mode, align_corners, antialias=True)
    if mode in ("nearest", "nearest-exact") and input.ndim in (3, 4, 5):
        return _resample(input, output_size, scale_factors, mode, None)
    if mode == "area" and input.ndim in (3, 4, 5):
        pool = (adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d)[dim - 1]
        return pool(input, output_size)
    if _LINEAR_BY_RANK.get(input.ndim) == mode or (mode == "bicubic" and input.ndim == 4):
        return _resample(input, output_size, scale_factors, mode, align_corners)
    if mode == "lanczos" and input.ndim == 4:
        if align_corners:
            raise ValueError("Lanczos mode does not support align_corners=True")
        raise ValueError("Lanczos mode requires antialias=True")
    for wanted_rank, name in _LINEAR_BY_RANK.items():
        if mode == name and input.ndim in (3, 4, 5):
            raise NotImplementedError(f"Got {input.ndim}D input, but {name} mode needs "
                                      f"{wanted_rank}D input")
    raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got "
                              f"{input.ndim}D) for the modes: {_MODES} (got {mode})")


def _sizes_and_scales(input, dim, size, scale_factor):
    """(output_size, scale_factors): exactly one is a list of `dim` entries."""
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        if isinstance(size, (list, tuple)):
            if len(size) != dim:
                raise ValueError(
                    f"Input and output must have the same number of spatial dimensions, but "
                    f"got input with spatial dimensions of {list(input.shape[2:])} and output "
                    f"size of {size}. Please provide input tensor in (N, C, d1, d2, ...,dK) "
                    "format and output size in (o1, o2, ...,oK) format.")
            if not all(isinstance(s, numbers.Integral) for s in size):
                raise TypeError("expected size to be one of int or Tuple[int] or Tuple[int, "
                                "int] or Tuple[int, int, int], but got size with types "
                                f"{[type(s) for s in size]}")
            return [int(s) for s in size], None
        return [int(size)] * dim, None
    if scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    if isinstance(scale_factor, (list, tuple)):
        if len(scale_factor) != dim:
            raise ValueError(
                f"Input and scale_factor must have the same number of spatial dimensions, but "
                f"got input with spatial dimensions of {list(input.shape[2:])} and "
                f"scale_factor of shape {scale_factor}. Please provide input tensor in (N, C, "
                "d1, d2, ...,dK) format and scale_factor in (s1, s2, ...,sK) format.")
        return None, [float(s) for s in scale_factor]
    return None, [float(scale_factor)] * dim


# --- interpolate: the resampling itself -----------------------------------------------------

_KERNEL_NAMES = {"nearest": "upsample_nearest{}d", "nearest-exact": "_upsample_nearest_exact{}d",
                 "linear": "upsample_linear1d", "bilinear": "upsample_bilinear2d",
                 "trilinear": "upsample_trilinear3d", "bicubic": "compute_indices_weights_cubic"}


def _resample(input, output_size, scale_factors, mode, align_corners, antialias=False):
    dim = input.ndim - 2
    in_sizes = list(input.shape[2:])
    if output_size is None:
        output_size = [math.floor(s * f) for s, f in zip(in_sizes, scale_factors)]
    if any(s <= 0 for s in in_sizes) or any(s <= 0 for s in output_size):
        names = "DHW"[3 - dim:]
        ins = ", ".join(f"{n}: {s}" for n, s in zip(names, in_sizes))
        outs = ", ".join(f"{n}: {s}" for n, s in zip(names, output_size))
        raise RuntimeError(f"Input and output sizes should be greater than 0, but got input "
                           f"({ins}) output ({outs})")
    nearest = mode in ("nearest", "nearest-exact")
    if antialias and input.dtype == dtypes.uint8:
        raise NotImplementedError("interpolate(antialias=True) on uint8 images is not "
                                  "supported by graphtorch yet; convert them to float")
    if not (input.is_floating_point() or (nearest and input.dtype == dtypes.uint8)):
        raise not_implemented(_KERNEL_NAMES[mode].format(dim), input.dtype)
    # PyTorch computes source positions in the input's "opmath" type: double for float64,
    # float otherwise; nearest always uses float.
    real = np.float64 if input.dtype == dtypes.float64 and not nearest else np.float32
    out = input
    for i in reversed(range(dim)):  # last dim first: PyTorch's innermost interpolation
        if antialias and in_sizes[i] == output_size[i]:
            continue  # PyTorch's separable anti-aliased kernel skips unresized dims
        scale = None if scale_factors is None else scale_factors[i]
        out = _resample_dim(out, 2 + i, in_sizes[i], output_size[i], scale, mode,
                            align_corners, real, antialias)
    return keep_channels_last(out, input)


def _resample_dim(x, d, in_size, out_size, scale, mode, align_corners, real,
                  antialias=False):
    if antialias:
        indices, weights = _antialias_taps(in_size, out_size, scale, align_corners, real,
                                           mode == "bicubic")
    elif mode in ("nearest", "nearest-exact"):
        index = _nearest_indices(in_size, out_size, scale, mode == "nearest-exact")
        factor = out_size // in_size
        if factor * in_size == out_size and np.array_equal(index,
                                                           np.arange(out_size) // factor):
            return _repeat_each(x, d, factor)
        return x.index_select(d, tensor(index, device=x.device))
    elif mode == "bicubic":
        indices, weights = _cubic_taps(in_size, out_size, scale, align_corners, real)
    else:
        indices, weights = _linear_taps(in_size, out_size, scale, align_corners, real)
    shape = (out_size,) + (1,) * (x.ndim - d - 1)
    out = None
    for index, weight in zip(indices, weights):
        term = x.index_select(d, tensor(index, device=x.device)) * \
            tensor(weight.reshape(shape), dtype=x.dtype, device=x.device)
        out = term if out is None else out + term
    return out


def _repeat_each(x, d, factor):
    """Each slice along d repeated `factor` times (nearest at an integer scale)."""
    if factor == 1:
        return x
    shape = tuple(x.shape)
    wide = x.unsqueeze(d + 1).expand(*shape[:d + 1], factor, *shape[d + 1:])
    return wide.reshape(*shape[:d], shape[d] * factor, *shape[d + 1:])


def _scale_value(scale, in_size, out_size, real):
    """compute_scales_value: 1/scale_factor when given, else in/out, in `real` precision."""
    if scale is not None and scale > 0:
        return real(1.0 / scale)
    return real(in_size) / real(out_size)


def _nearest_indices(in_size, out_size, scale, exact):
    dst = np.arange(out_size)
    if not exact:
        if out_size == in_size:
            return dst
        if out_size == 2 * in_size:
            return dst >> 1
    s = _scale_value(scale, in_size, out_size, np.float32)
    offset = np.float32(0.5) if exact else np.float32(0.0)
    src = np.floor((dst.astype(np.float32) + offset) * s).astype(np.int64)
    return np.minimum(src, in_size - 1)


def _source_positions(in_size, out_size, scale, align_corners, real, cubic):
    """area_pixel_compute_source_index for every output position."""
    dst = np.arange(out_size).astype(real)
    if align_corners:
        s = real(in_size - 1) / real(out_size - 1) if out_size > 1 else real(0)
        return s * dst
    s = _scale_value(scale, in_size, out_size, real)
    src = s * (dst + real(0.5)) - real(0.5)
    return src if cubic else np.maximum(src, real(0))


def _guard(src, in_size, real):
    """guard_index_and_lambda: the floor index (at most in_size-1) and the clamped fraction."""
    index = np.minimum(np.floor(src).astype(np.int64), in_size - 1)
    lam = np.clip(src - index.astype(real), real(0), real(1)).astype(real)
    return index, lam


def _linear_taps(in_size, out_size, scale, align_corners, real):
    src = _source_positions(in_size, out_size, scale, align_corners, real, cubic=False)
    i0, lam1 = _guard(src, in_size, real)
    i1 = i0 + (i0 < in_size - 1)
    return (i0, i1), (real(1) - lam1, lam1)


_CUBIC_A = -0.75


def _cubic_taps(in_size, out_size, scale, align_corners, real):
    """Four clamped taps and the cubic-convolution weights (A = -0.75) per output."""
    src = _source_positions(in_size, out_size, scale, align_corners, real, cubic=True)
    i0, t = _guard(src, in_size, real)
    a = real(_CUBIC_A)

    def near(x):  # cubic_convolution1, |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # cubic_convolution2, 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    one = real(1)
    weights = (far(t + one), near(t), near(one - t), far((one - t) + one))
    indices = tuple(np.clip(i0 - 1 + j, 0, in_size - 1) for j in range(4))
    return indices, tuple(w.astype(real) for w in weights)


def _antialias_taps(in_size, out_size, scale, align_corners, real, cubic):
    """ATen's `_compute_weights_aa`: per output, the taps of a triangle (bilinear) or cubic
    (A = -0.5) filter stretched by the downscale factor, normalised to sum 1; taps past a
    window's end weigh 0."""
    if align_corners:
        s = real(in_size - 1) / real(out_size - 1) if out_size > 1 else real(0)
    else:
        s = _scale_value(scale, in_size, out_size, real)
    half = real(2.0 if cubic else 1.0)  # interp_size * 0.5
    support = half * s if s >= 1 else half
    taps = math.ceil(support) * 2 + 1
    invscale = real(1) / s if s >= 1 else real(1)
    center = s * (np.arange(out_size).astype(real) + real(0.5))
    # C++'s static_cast<int64_t> truncates toward zero, as astype does
    xmin = np.maximum((center - support + real(0.5)).astype(np.int64), 0)
    xsize = np.minimum((center + support + real(0.5)).astype(np.int64), in_size) - xmin
    offsets = np.arange(taps)
    x = np.abs(((offsets[None, :] + xmin[:, None]).astype(real) - center[:, None]
                + real(0.5)) * invscale).astype(real)
    if cubic:
        a = real(-0.5)
        w = np.where(x < 1, ((a + 2) * x - (a + 3)) * x * x + 1,
                     np.where(x < 2, (((x - 5) * x + 8) * x - 4) * a, real(0)))
    else:
        w = np.where(x < 1, real(1) - x, real(0))
    w = np.where(offsets[None, :] < xsize[:, None], w, real(0)).astype(real)
    total = np.zeros(out_size, real)
    for j in range(taps):  # ATen adds the weights one by one
        total = (total + w[:, j]).astype(real)
    w = np.where(total[:, None] != 0, w / np.where(total == 0, real(1), total)[:, None], w)
    indices = tuple(np.minimum(xmin + j, in_size - 1) for j in range(taps))
    return indices, tuple(w[:, j].astype(real) for j in range(taps))


# --- deprecated spellings -------------------------------------------------------------------

def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Deprecated alias of interpolate (warns as PyTorch does)."""
    warnings.warn("`nn.functional.upsample` is deprecated. Use `nn.functional.interpolate` "
                  "instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    """Deprecated: interpolate(mode="nearest")."""
    warnings.warn("`nn.functional.upsample_nearest` is deprecated. Use "
                  "`nn.functional.interpolate` instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    """Deprecated: interpolate(mode="bilinear", align_corners=True)."""
    warnings.warn("`nn.functional.upsample_bilinear` is deprecated. Use "
                  "`nn.functional.interpolate` instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)
