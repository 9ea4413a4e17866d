"""Discrete Fourier transforms: PyTorch's three FFT primitives, unnormalized.

`fft_c2c` (complex to complex, either sign), `fft_r2c` (real to complex, forward sign,
optionally one-sided along the last transformed dim) and `fft_c2r` (a one-sided Hermitian
spectrum to real, inverse sign). `gt.fft` resizes inputs and applies the norm= scaling with
ordinary ops, as torch._refs.fft does, so each vjp is another unnormalized transform with
PyTorch's conventions (aten/src/ATen/native/SpectralOps.cpp's backward formulas).
"""

from __future__ import annotations

from .dispatch import call
from .movement import CAT
from .registry import Category, OpDef, TensorMeta, register

OPAQUE = Category.OPAQUE


def _c2c_kernel(xp, a, dims, forward):
    if not dims:
        return a.copy()
    # NumPy's "forward" norm leaves the inverse transform unscaled
    out = xp.fft.fftn(a, axes=dims) if forward else xp.fft.ifftn(a, axes=dims, norm="forward")
    return out.astype(a.dtype, copy=False)


def _c2c_infer(a, dims, forward):
    return TensorMeta(a.shape, a.dtype)


def _c2c_vjp(ctx, grad):
    # the adjoint of an unnormalized DFT is the unnormalized DFT of the opposite sign
    return (call(FFT_C2C, grad, dims=ctx.attrs["dims"], forward=not ctx.attrs["forward"]),)


FFT_C2C = register(OpDef("fft_c2c", OPAQUE, _c2c_kernel, _c2c_infer, _c2c_vjp,
                         backward_name="FftC2CBackward0",
                         doc="unnormalized complex DFT over dims (forward: e^-i sign)"))


def _complex_of(xp, a):
    return xp.complex64 if a.dtype == xp.float32 else xp.complex128


def _r2c_kernel(xp, a, dims, onesided):
    out = xp.fft.rfftn(a, axes=dims) if onesided else xp.fft.fftn(a, axes=dims)
    return out.astype(_complex_of(xp, a), copy=False)


def _r2c_infer(a, dims, onesided):
    shape = list(a.shape)
    if onesided:
        shape[dims[-1]] = shape[dims[-1]] // 2 + 1
    return TensorMeta(tuple(shape), a.dtype.to_complex())


def _r2c_vjp(ctx, grad):
    """Re(F^H g), with the one-sided g zero-padded to the full length first."""
    dims, shape = ctx.attrs["dims"], ctx.input_metas[0].shape
    if ctx.attrs["onesided"]:
        last = dims[-1]
        missing = shape[last] - grad.shape[last]
        if missing > 0:
            zeros_shape = list(grad.shape)
            zeros_shape[last] = missing
            grad = call(CAT, (grad, grad.new_zeros(tuple(zeros_shape))), dim=last)
    return (call(FFT_C2C, grad, dims=dims, forward=False).real,)


FFT_R2C = register(OpDef("fft_r2c", OPAQUE, _r2c_kernel, _r2c_infer, _r2c_vjp,
                         backward_name="FftR2CBackward0",
                         doc="unnormalized forward DFT of a real tensor over dims; onesided: "
                             "the last dim keeps n // 2 + 1 frequencies"))


def _c2r_kernel(xp, a, dims, last_dim_size):
    sizes = [a.shape[d] for d in dims[:-1]] + [last_dim_size]
    out = xp.fft.irfftn(a, s=sizes, axes=dims, norm="forward")
    return out.astype(xp.float32 if a.dtype == xp.complex64 else xp.float64, copy=False)


def _c2r_infer(a, dims, last_dim_size):
    shape = list(a.shape)
    shape[dims[-1]] = last_dim_size
    return TensorMeta(tuple(shape), a.dtype.to_real())


def _c2r_vjp(ctx, grad):
    """PyTorch's: the one-sided forward DFT of the gradient, with the frequencies that stand
    for two (a conjugate pair) counted twice."""
    dims = ctx.attrs["dims"]
    last = dims[-1]
    spectrum = call(FFT_R2C, grad, dims=dims, onesided=True)
    twice = grad.shape[last] - spectrum.shape[last]
    if twice <= 0:
        return (spectrum,)
    rest = spectrum.shape[last] - 1 - twice
    parts = [spectrum.narrow(last, 0, 1), spectrum.narrow(last, 1, twice) * 2]
    if rest:
        parts.append(spectrum.narrow(last, 1 + twice, rest))
    return (call(CAT, tuple(parts), dim=last),)


FFT_C2R = register(OpDef("fft_c2r", OPAQUE, _c2r_kernel, _c2r_infer, _c2r_vjp,
                         backward_name="FftC2RBackward0",
                         doc="unnormalized inverse DFT of a one-sided Hermitian spectrum over "
                             "dims, to real; the last dim becomes last_dim_size"))
