"""`gt.fft`: PyTorch's torch.fft namespace on three unnormalized DFT primitives.

Each function follows torch._refs.fft: promote the dtype (integers to the default float,
float32 to complex64, never up to complex128), resize the transformed dims (zero-pad or
truncate), run `fft_c2c`/`fft_r2c`/`fft_c2r` (ops/fft.py) and scale for `norm`
("backward", "ortho", "forward"). Resizing and scaling are ordinary ops, so gradients and
compiled graphs are those of PyTorch.

>>> import graphtorch as gt
>>> gt.fft.irfft(gt.fft.rfft(gt.tensor([1.0, 2.0, 3.0, 4.0]))).tolist()
[1.0, 2.0, 3.0, 4.0]
"""

from __future__ import annotations

import math

from . import dtypes
from .dtypes import scalar_type_name
from .functions._wrap import finish
from .functions.creation import arange
from .functions.movement import cat, roll
from .ops.dispatch import call
from .ops.fft import FFT_C2C, FFT_C2R, FFT_R2C
from .ops.movement import CONSTANT_PAD_ND
from .tensor import Tensor

__all__ = ["fft", "fft2", "fftfreq", "fftn", "fftshift", "hfft", "hfft2", "hfftn", "ifft", "ifft2",
           "ifftn", "ifftshift", "ihfft", "ihfft2", "ihfftn", "irfft", "irfft2", "irfftn", "rfft",
           "rfft2", "rfftfreq", "rfftn"]

_NORMS = (None, "backward", "ortho", "forward")


# --- argument handling ------------------------------------------------------------------

def _check_tensor(x, fname):
    if not isinstance(x, Tensor):
        raise TypeError(f"fft_{fname}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(x).__name__}")


def _dim(ndim: int, dim: int) -> int:
    """torch's canonicalize_dim(wrap_scalar=False): a 0-d tensor has no dim to transform."""
    if ndim == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    if not -ndim <= dim < ndim:
        raise IndexError(f"Dimension out of range (expected to be in range of "
                         f"[{-ndim}, {ndim - 1}], but got {dim})")
    return dim % ndim


def _promote(x: Tensor, require_complex: bool) -> Tensor:
    dtype = x.dtype
    if dtype.is_complex:
        return x
    if not dtype.is_floating_point:
        dtype = dtypes.get_default_dtype()
    if dtype not in (dtypes.float32, dtypes.float64):
        raise RuntimeError(f"Unsupported dtype {scalar_type_name(dtype)}")
    if require_complex:
        dtype = dtype.to_complex()
    return x if dtype is x.dtype else x.to(dtype)


def _check_real(x: Tensor, fname: str) -> None:
    if x.dtype.is_complex:
        raise RuntimeError(f"{fname} expects a real input tensor, but got "
                           f"{scalar_type_name(x.dtype)}")


def _check_size(n: int) -> None:
    if n < 1:
        raise RuntimeError(f"Invalid number of data points ({n}) specified")


def _resize(x: Tensor, dims, sizes) -> Tensor:
    """Zero-pad or truncate (from the start) each dim in `dims` to its size in `sizes`."""
    pad = [0] * (2 * x.ndim)
    padded = False
    for d, size in zip(dims, sizes):
        if x.shape[d] > size:
            x = x.narrow(d, 0, size)
        elif x.shape[d] < size:
            pad[2 * (x.ndim - 1 - d) + 1] = size - x.shape[d]
            padded = True
    return call(CONSTANT_PAD_ND, x, pad=tuple(pad), value=0) if padded else x


def _scale(x: Tensor, norm, numel: int, forward: bool) -> Tensor:
    """Apply `norm` to an unnormalized transform of `numel` points in direction `forward`."""
    if norm not in _NORMS:
        raise RuntimeError(f'Invalid normalization mode: "{norm}"')
    if norm == "ortho":
        return x * (1 / math.sqrt(numel))
    by_n = (norm == "forward") if forward else norm in (None, "backward")
    return x * (1 / numel) if by_n else x


def _shape_and_dims(x: Tensor, s, dim):
    """torch's _canonicalize_fft_shape_and_dim_args: (sizes, dims), neither optional."""
    if dim is not None:
        dim = (dim,) if isinstance(dim, int) else tuple(dim)
        dims = tuple(_dim(x.ndim, d) for d in dim)
        if len(set(dims)) != len(dims):
            raise RuntimeError("FFT dims must be unique")
    if s is not None:
        s = (s,) if isinstance(s, int) else tuple(s)
        if dim is not None and len(dim) != len(s):
            raise RuntimeError("When given, dim and shape arguments must have the same length")
        if len(s) > x.ndim:
            raise RuntimeError(f"Got shape with {len(s)} values but input tensor only has "
                               f"{x.ndim} dimensions.")
        if dim is None:
            dims = tuple(range(x.ndim - len(s), x.ndim))
        sizes = tuple(n if n != -1 else x.shape[d] for n, d in zip(s, dims))
    elif dim is None:
        dims, sizes = tuple(range(x.ndim)), tuple(x.shape)
    else:
        sizes = tuple(x.shape[d] for d in dims)
    for n in sizes:
        _check_size(n)
    return sizes, dims


def _c2r_shape_and_dims(fname: str, x: Tensor, s, dim):
    """The half-spectrum sizes to resize to, the dims, and the real output's last size."""
    sizes, dims = _shape_and_dims(x, s, dim)
    if not sizes:
        raise RuntimeError(f"{fname} must transform at least one axis")
    s_last = None if s is None else ((s,) if isinstance(s, int) else tuple(s))[-1]
    last = 2 * (x.shape[dims[-1]] - 1) if s_last in (None, -1) else sizes[-1]
    _check_size(last)
    return sizes[:-1] + (last // 2 + 1,), dims, last


# --- one-dimensional transforms ------------------------------------------------------------

def _c2c_1d(fname, x, n, dim, norm, forward):
    dims = (_dim(x.ndim, dim),)
    size = n if n is not None else x.shape[dims[0]]
    _check_size(size)
    if n is not None:
        x = _resize(x, dims, (n,))
    out = call(FFT_C2C, x, dims=dims, forward=forward)
    return _scale(out, norm, size, forward)


def _r2c_1d(fname, x, n, dim, norm, forward, onesided):
    _check_real(x, fname)
    x = _promote(x, require_complex=False)
    dims = (_dim(x.ndim, dim),)
    size = n if n is not None else x.shape[dims[0]]
    _check_size(size)
    if n is not None:
        x = _resize(x, dims, (n,))
    out = _scale(call(FFT_R2C, x, dims=dims, onesided=onesided), norm, size, forward)
    return out if forward else out.conj()


def _c2r_1d(fname, x, n, dim, norm, forward):
    x = _promote(x, require_complex=True)
    dims = (_dim(x.ndim, dim),)
    last = n if n is not None else 2 * (x.shape[dims[0]] - 1)
    _check_size(last)
    if n is not None:
        x = _resize(x, dims, (last // 2 + 1,))
    if forward:
        x = x.conj()
    out = call(FFT_C2R, x, dims=dims, last_dim_size=last)
    return _scale(out, norm, last, forward)


def fft(input, n=None, dim=-1, norm=None, *, out=None):
    """The 1-D discrete Fourier transform along `dim` (real input gives a complex result).

    >>> gt.fft.fft(gt.tensor([1.0, 0.0, 0.0, 0.0])).tolist()
    [(1+0j), (1+0j), (1+0j), (1+0j)]
    """
    _check_tensor(input, "fft")
    if input.dtype.is_complex:
        result = _c2c_1d("fft", input, n, dim, norm, True)
    else:
        result = _r2c_1d("fft", input, n, dim, norm, True, onesided=False)
    return finish(result, out)


def ifft(input, n=None, dim=-1, norm=None, *, out=None):
    """The 1-D inverse discrete Fourier transform along `dim`."""
    _check_tensor(input, "ifft")
    if input.dtype.is_complex:
        result = _c2c_1d("ifft", input, n, dim, norm, False)
    else:
        result = _r2c_1d("ifft", input, n, dim, norm, False, onesided=False)
    return finish(result, out)


def rfft(input, n=None, dim=-1, norm=None, *, out=None):
    """The 1-D DFT of a real signal: the n // 2 + 1 non-negative frequencies."""
    _check_tensor(input, "rfft")
    return finish(_r2c_1d("rfft", input, n, dim, norm, True, onesided=True), out)


def irfft(input, n=None, dim=-1, norm=None, *, out=None):
    """The inverse of `rfft`: a real signal of length n (default 2 * (size - 1))."""
    _check_tensor(input, "irfft")
    return finish(_c2r_1d("irfft", input, n, dim, norm, False), out)


def hfft(input, n=None, dim=-1, norm=None, *, out=None):
    """The DFT of a Hermitian-symmetric signal given by its first half: a real result."""
    _check_tensor(input, "hfft")
    return finish(_c2r_1d("hfft", input, n, dim, norm, True), out)


def ihfft(input, n=None, dim=-1, norm=None, *, out=None):
    """The inverse of `hfft`: the one-sided inverse DFT of a real signal."""
    _check_tensor(input, "ihfft")
    return finish(_r2c_1d("ihfft", input, n, dim, norm, False, onesided=True), out)


# --- n-dimensional transforms --------------------------------------------------------------

def _product(sizes) -> int:
    return math.prod(sizes)


def fftn(input, s=None, dim=None, norm=None, *, out=None):
    """The N-D discrete Fourier transform over `dim` (default: all dims, or the last len(s))."""
    _check_tensor(input, "fftn")
    sizes, dims = _shape_and_dims(input, s, dim)
    x = _resize(_promote(input, require_complex=True), dims, sizes)
    result = _scale(call(FFT_C2C, x, dims=dims, forward=True), norm, _product(sizes), True)
    return finish(result, out)


def ifftn(input, s=None, dim=None, norm=None, *, out=None):
    """The N-D inverse discrete Fourier transform."""
    _check_tensor(input, "ifftn")
    sizes, dims = _shape_and_dims(input, s, dim)
    x = _resize(_promote(input, require_complex=True), dims, sizes)
    result = _scale(call(FFT_C2C, x, dims=dims, forward=False), norm, _product(sizes), False)
    return finish(result, out)


def rfftn(input, s=None, dim=None, norm=None, *, out=None):
    """The N-D DFT of a real signal, one-sided along the last transformed dim."""
    _check_tensor(input, "rfftn")
    _check_real(input, "rfftn")
    sizes, dims = _shape_and_dims(input, s, dim)
    x = _resize(_promote(input, require_complex=False), dims, sizes)
    result = call(FFT_R2C, x, dims=dims, onesided=True) if dims else x.to(x.dtype.to_complex())
    return finish(_scale(result, norm, _product(sizes), True), out)


def irfftn(input, s=None, dim=None, norm=None, *, out=None):
    """The inverse of `rfftn`: a real signal (last transformed size default 2 * (n - 1))."""
    _check_tensor(input, "irfftn")
    sizes, dims, last = _c2r_shape_and_dims("irfftn", input, s, dim)
    x = _resize(_promote(input, require_complex=True), dims, sizes)
    result = call(FFT_C2R, x, dims=dims, last_dim_size=last)
    return finish(_scale(result, norm, _product(sizes[:-1]) * last, False), out)


def hfftn(input, s=None, dim=None, norm=None, *, out=None):
    """The N-D DFT of a Hermitian-symmetric signal given by its one-sided half."""
    _check_tensor(input, "hfftn")
    sizes, dims, last = _c2r_shape_and_dims("hfftn", input, s, dim)
    x = _resize(_promote(input, require_complex=True), dims, sizes)
    if len(dims) > 1:
        x = call(FFT_C2C, x, dims=dims[:-1], forward=True)
    x = _scale(x, norm, _product(sizes[:-1]), True).conj()
    result = call(FFT_C2R, x, dims=dims[-1:], last_dim_size=last)
    return finish(_scale(result, norm, last, True), out)


def ihfftn(input, s=None, dim=None, norm=None, *, out=None):
    """The inverse of `hfftn`: a real signal to its one-sided spectrum."""
    _check_tensor(input, "ihfftn")
    _check_real(input, "ihfftn")
    sizes, dims = _shape_and_dims(input, s, dim)
    if not dims:
        raise RuntimeError("ihfftn must transform at least one axis")
    x = _resize(_promote(input, require_complex=False), dims, sizes)
    half = call(FFT_R2C, x, dims=dims[-1:], onesided=True)
    half = _scale(half, norm, sizes[-1], False).conj()
    if len(dims) > 1:
        half = _scale(call(FFT_C2C, half, dims=dims[:-1], forward=False), norm,
                      _product(sizes[:-1]), False)
    return finish(half, out)


def fft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    """`fftn` over the last two dims."""
    return fftn(input, s, dim, norm, out=out)


def ifft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    """`ifftn` over the last two dims."""
    return ifftn(input, s, dim, norm, out=out)


def rfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    """`rfftn` over the last two dims."""
    return rfftn(input, s, dim, norm, out=out)


def irfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    """`irfftn` over the last two dims."""
    return irfftn(input, s, dim, norm, out=out)


def hfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    """`hfftn` over the last two dims."""
    return hfftn(input, s, dim, norm, out=out)


def ihfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    """`ihfftn` over the last two dims."""
    return ihfftn(input, s, dim, norm, out=out)


# --- frequencies and shifts ----------------------------------------------------------------

def fftfreq(n, d=1.0, *, out=None, dtype=None, layout=None, device=None, requires_grad=False,
            pin_memory=False):
    """The sample frequencies of an n-point DFT: [0, 1, ..., -(n // 2), ..., -1] / (d * n).

    >>> gt.fft.fftfreq(4).tolist()
    [0.0, 0.25, -0.5, -0.25]
    """
    positive = arange((n + 1) // 2, dtype=dtype, device=device)
    negative = arange(-(n // 2), 0, dtype=dtype, device=device)
    result = (cat((positive, negative)) * (1.0 / (d * n))).requires_grad_(requires_grad)
    return finish(result, out)


def rfftfreq(n, d=1.0, *, out=None, dtype=None, layout=None, device=None, requires_grad=False,
             pin_memory=False):
    """The sample frequencies of `rfft` of n points: [0, 1, ..., n // 2] / (d * n)."""
    result = arange(n // 2 + 1, dtype=dtype, device=device) * (1.0 / (d * n))
    return finish(result.requires_grad_(requires_grad), out)


def _all_dims(dim, x):
    if dim is None:
        return list(range(x.ndim))
    return [dim] if isinstance(dim, int) else list(dim)


def fftshift(input, dim=None):
    """Move the zero frequency to the centre of `dim` (default: every dim)."""
    dims = _all_dims(dim, input)
    return roll(input, [input.shape[d] // 2 for d in dims], dims)


def ifftshift(input, dim=None):
    """The inverse of `fftshift`."""
    dims = _all_dims(dim, input)
    return roll(input, [(input.shape[d] + 1) // 2 for d in dims], dims)
