"""`gt.stft` and `gt.istft` (also Tensor methods): the short-time Fourier transform and its
inverse, as ATen's SpectralOps.cpp computes them.

Both are compositions of ordinary ops: `pad` (center), `unfold` (frames), a window product,
`gt.fft.rfft`/`fft` (or `irfft`/`ifft`) and, for istft, an overlap-add (`index_add` of the
frames into the signal) divided by the overlap-added squared window, which the op
`istft_envelope_check` (ops/checks.py) checks inside compiled graphs too. Gradients to the
input and the window, and compiled graphs, follow from those ops.

>>> import graphtorch as gt
>>> x = gt.arange(16.0)
>>> w = gt.hann_window(8)
>>> spec = gt.stft(x, 8, window=w, return_complex=True)
>>> spec.shape
torch.Size([5, 9])
>>> gt.istft(spec, 8, window=w, length=16).allclose(x, atol=1e-4)
True
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import fft as gt_fft
from ..ops.checks import ISTFT_ENVELOPE_CHECK
from ..ops.dispatch import call
from ..tensor import Tensor
from .creation import ones, tensor, zeros
from .movement import pad as _pad
from .shape import view_as_real

__all__ = ["istft", "stft"]

_WARNED = set()  # TORCH_WARN_ONCE: each warning once per process


def _warn_once(key, message):
    if key not in _WARNED:
        _WARNED.add(key)
        warnings.warn(message, UserWarning, stacklevel=3)


_LEGACY_TYPES = {"float32": "torch.FloatTensor", "float64": "torch.DoubleTensor",
                 "float16": "torch.HalfTensor", "bfloat16": "torch.BFloat16Tensor",
                 "int64": "torch.LongTensor", "int32": "torch.IntTensor",
                 "int16": "torch.ShortTensor", "int8": "torch.CharTensor",
                 "uint8": "torch.ByteTensor", "bool": "torch.BoolTensor",
                 "complex64": "CPUComplexFloatType", "complex128": "CPUComplexDoubleType"}


def _type_string(x: Tensor) -> str:
    """ATen's Tensor::toString (the legacy type name) as its stft messages print it."""
    return _LEGACY_TYPES.get(x.dtype.name, x.dtype.name)


def _window_text(window) -> str:
    return "None" if window is None else f"{_type_string(window)}{{{list(window.shape)}}}"


def _opt(value) -> str:
    """A c10::optional<bool/int> as ATen writes it (bools as 0/1)."""
    return "None" if value is None else str(int(value))


# --- stft ---------------------------------------------------------------------------------

def stft(input, n_fft, hop_length=None, win_length=None, window=None, center=True,
         pad_mode="reflect", normalized=False, onesided=None, return_complex=None,
         align_to_window=None):
    """The STFT of a 1-D (L) or 2-D (B, L) signal: (B?, freqs, frames) complex.

    Frames start every `hop_length` (default n_fft // 4) samples, each multiplied by
    `window` (length `win_length`, default n_fft, zero-padded to n_fft at both sides).
    `center` pads n_fft // 2 samples at both ends with `pad_mode` first.
    """
    if center and align_to_window is not None:
        raise RuntimeError("stft align_to_window should only be set when center = false")
    if center:
        signal_dim = input.ndim
        extended = [1] * (3 - signal_dim) + list(input.shape)
        half = int(n_fft // 2)
        input = _pad(input.view(extended), [half, half], pad_mode)
        input = input.view(input.shape[-signal_dim:])
    hop_length = n_fft >> 2 if hop_length is None else hop_length
    win_length = n_fft if win_length is None else win_length

    def fail(text):
        raise RuntimeError(
            f"stft({_type_string(input)}{list(input.shape)}, n_fft={n_fft}, "
            f"hop_length={hop_length}, win_length={win_length}, window={_window_text(window)}, "
            f"normalized={int(normalized)}, onesided={_opt(onesided)}, "
            f"return_complex={_opt(return_complex)}, align_to_window={_opt(align_to_window)}) "
            f": {text}")

    if window is None:
        _warn_once("stft_window", (
            "A window was not provided. A rectangular window will be applied,which is known to "
            "cause spectral leakage. Other windows such as torch.hann_window or "
            "torch.hamming_window are recommended to reduce spectral leakage.To suppress this "
            "warning and use a rectangular window, explicitly set "
            "`window=torch.ones(n_fft, device=<device>)`."))
    complex_default = input.is_complex() or (window is not None and window.is_complex())
    if not (complex_default if return_complex is None else return_complex):
        if return_complex is None:
            raise RuntimeError("stft requires the return_complex parameter be given for real "
                               "inputs, and will further require that return_complex=True in "
                               "a future PyTorch release.")
        _warn_once("stft_real", (
            "stft with return_complex=False is deprecated. In a future pytorch release, stft "
            "will return complex tensors for all inputs, and return_complex=False will raise "
            "an error.\nNote: you can still call torch.view_as_real on the complex output to "
            "recover the old return format."))
    if not (input.dtype.is_floating_point or input.is_complex()):
        fail("expected a tensor of floating point or complex values")
    if input.ndim not in (1, 2):
        fail("expected a 1D or 2D tensor")
    signal = input.unsqueeze(0) if input.ndim == 1 else input
    length = signal.shape[1]
    if n_fft <= 0 or n_fft > length:  # ATen prints win_length as "n_fft" here
        fail(f"expected 0 < n_fft < {length}, but got n_fft={win_length}")
    if hop_length <= 0:
        fail(f"expected hop_length > 0, but got hop_length={hop_length}")
    if win_length <= 0 or win_length > n_fft:
        fail(f"expected 0 < win_length <= n_fft, but got win_length={win_length}")
    if window is not None and (window.ndim != 1 or window.shape[0] != win_length):
        fail(f"expected a 1D window tensor of size equal to win_length={win_length}, but got "
             f"window with size {list(window.shape)}")

    left = (n_fft - win_length) // 2
    if align_to_window:
        # frames of the window's length, starting where the window starts
        frames = signal.unfold(-1, win_length, hop_length)
        if window is not None:
            frames = frames * window
        frames = _pad(frames, [left, n_fft - win_length - left])
    else:
        frames = signal.unfold(-1, n_fft, hop_length)
        if window is not None or win_length < n_fft:
            frames = frames * _centered_window(window, win_length, n_fft, input)

    side = not frames.is_complex() if onesided is None else onesided
    norm = "ortho" if normalized else "backward"
    if frames.is_complex():
        if side:
            raise RuntimeError("Cannot have onesided output if window or input is complex")
        spectrum = gt_fft.fft(frames, norm=norm)
    else:
        spectrum = gt_fft.rfft(frames, norm=norm) if side else gt_fft.fft(frames, norm=norm)
    spectrum = spectrum.transpose(1, 2)
    if input.ndim == 1:
        spectrum = spectrum.squeeze(0)
    if return_complex is None or return_complex:
        return spectrum
    return view_as_real(spectrum.resolve_conj())


def _centered_window(window, win_length, n_fft, like):
    """`window` (ones when None) zero-padded on both sides to n_fft, as ATen centres it."""
    if window is None:
        window = ones(win_length, dtype=like.dtype.to_real(), device=like.device)
    if win_length == n_fft:
        return window
    left = (n_fft - win_length) // 2
    return _pad(window, [left, n_fft - win_length - left])


_ENVELOPE_FAILURE = "1\n[ CPUBoolType{} ]"  # ATen prints the failed check's bool tensor


# --- istft --------------------------------------------------------------------------------

def _overlap_add(frames, hop_length, signal_length):
    """Sum (B, frames, n_fft) frames placed every hop_length samples into (B, length):
    ATen's unfold_backward, here one index_add over all frame samples."""
    n_frames, n_fft = frames.shape[-2:]
    positions = (np.arange(n_frames)[:, None] * hop_length + np.arange(n_fft)).reshape(-1)
    index = tensor(positions, device=frames.device)
    out = zeros(frames.shape[0], signal_length, dtype=frames.dtype, device=frames.device)
    return out.index_add(1, index, frames.reshape(frames.shape[0], n_frames * n_fft))


def istft(input, n_fft, hop_length=None, win_length=None, window=None, center=True,
          normalized=False, onesided=None, length=None, return_complex=False):
    """The inverse of `stft`: overlap-add of the windowed inverse DFTs of the frames, divided
    by the overlap-added squared window (which must not vanish anywhere it is kept)."""
    hop_length = n_fft >> 2 if hop_length is None else hop_length
    win_length = n_fft if win_length is None else win_length

    def describe(text, sep=" : "):
        return (f"istft({_type_string(input)}{list(input.shape)}, n_fft={n_fft}, "
                f"hop_length={hop_length}, win_length={win_length}, "
                f"window={_window_text(window)}, center={int(center)}, "
                f"normalized={int(normalized)}, onesided={_opt(onesided)}, "
                f"length={'None' if length is None else length}, "
                f"return_complex={int(return_complex)}){sep}{text}")

    def fail(text, sep=" : "):
        raise RuntimeError(describe(text, sep))

    if window is None:
        _warn_once("istft_window", (
            "A window was not provided. A rectangular window will be applied.Please provide the "
            "same window used by stft to make the inversion lossless.To suppress this warning "
            "and use a rectangular window, explicitly set "
            "`window=torch.ones(n_fft, device=<device>)`."))
    if not input.is_complex():
        raise RuntimeError("istft requires a complex-valued input tensor matching the output "
                           "from stft with return_complex=True.")
    if input.numel() == 0:
        fail("input tensor cannot be empty.")
    if input.ndim not in (2, 3):
        fail(f"expected a tensor with 3 or 4 dimensions, but got {input.ndim + 1}")
    n_frames, fft_size = input.shape[-1], input.shape[-2]
    side = fft_size != n_fft if onesided is None else onesided
    if side and n_fft // 2 + 1 != fft_size:
        fail("expected the frequency dimension (3rd to the last) of the input tensor to match "
             f"n_fft / 2 + 1 when onesided=True, but got {fft_size}")
    if not side and n_fft != fft_size:
        fail("expected the frequency dimension (3rd to the last) of the input tensor to match "
             f"n_fft when onesided=False, but got {fft_size}")
    if not 0 < hop_length <= win_length:
        fail("expected 0 < hop_length <= win_length")
    if not 0 < win_length <= n_fft:
        fail("expected 0 < win_length <= n_fft")
    if window is not None and (window.ndim != 1 or window.shape[0] != win_length):
        fail("Invalid window shape. window has to be 1D and length of `win_length`")

    real_dtype = input.dtype.to_real()
    window_full = _centered_window(window, win_length, n_fft,
                                   ones(0, dtype=real_dtype, device=input.device))
    spectra = (input.unsqueeze(0) if input.ndim == 2 else input).transpose(1, 2)
    norm = "ortho" if normalized else "backward"
    if return_complex:
        if side:
            raise RuntimeError("Cannot have onesided output if window or input is complex")
        frames = gt_fft.ifft(spectra, norm=norm)
    else:
        if window is not None and window.is_complex():
            raise RuntimeError("Complex windows are incompatible with return_complex=False")
        if not side:
            spectra = spectra.narrow(-1, 0, n_fft // 2 + 1)
        frames = gt_fft.irfft(spectra, n=n_fft, norm=norm)

    expected_length = n_fft + hop_length * (n_frames - 1)
    signal = _overlap_add(frames * window_full, hop_length, expected_length)
    squared = (window_full * window_full).expand(1, n_frames, n_fft)
    envelope = _overlap_add(squared, hop_length, expected_length)

    start = n_fft // 2 if center else 0
    if length is not None:
        end = start + length
    else:
        end = expected_length - n_fft // 2 if center else expected_length
    end_kept = min(end, expected_length)
    signal = signal[:, start:end_kept]
    envelope = envelope[:, start:end_kept]
    if window is None:  # a known window: check without reading tensor values
        _check_ones_envelope(win_length, n_fft, hop_length, n_frames, start, end_kept, fail)
    else:  # an op, so that compiled code checks too (no graph break)
        envelope = call(ISTFT_ENVELOPE_CHECK, envelope, message=describe(
            _ENVELOPE_FAILURE, " window overlap add min: "))
    signal = signal / envelope
    if input.ndim == 2:
        signal = signal.squeeze(0)
    if end > expected_length:
        _warn_once("istft_length", (
            "The length of signal is shorter than the length parameter. Result is being padded "
            "with zeros in the tail. Please check your center and hop_length settings."))
        signal = _pad(signal, [0, end - expected_length])
    return signal


def _check_ones_envelope(win_length, n_fft, hop_length, n_frames, start, end, fail):
    """The envelope check for the rectangular window, computed from the sizes alone."""
    left = (n_fft - win_length) // 2
    covered = np.zeros(n_fft + hop_length * (n_frames - 1))
    for t in range(n_frames):
        covered[t * hop_length + left:t * hop_length + left + win_length] = 1
    if covered[start:end].size and covered[start:end].min() < 1e-11:
        fail(_ENVELOPE_FAILURE, sep=" window overlap add min: ")

