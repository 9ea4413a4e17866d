"""PyTorch's window factories: `hann_window`, `hamming_window`, `bartlett_window`,
`blackman_window`, `kaiser_window` (ATen's TensorFactories, periodic by default).

Each follows ATen's formula step by step (arange, then scalar ops in the window's dtype), so
float32 values round as PyTorch's do. The result is a leaf: `requires_grad=True` marks it
without recording the construction, as ATen's factories do. `graphtorch.signal.windows`
holds the scipy-style windows (symmetric by default).

>>> import graphtorch as gt
>>> gt.hann_window(4).tolist()
[0.0, 0.5, 1.0, 0.5]
"""

from __future__ import annotations

import math

from .. import dtypes
from ..autograd.grad_mode import no_grad
from ..layout import strided
from ..special import i0
from .creation import arange, empty, ones
from .movement import cat

__all__ = ["bartlett_window", "blackman_window", "hamming_window", "hann_window",
           "kaiser_window"]

# The C++ type names PyTorch prints in TensorOptions.
_CPP_TYPES = {"float32": "float", "float64": "double", "float16": "c10::Half",
              "bfloat16": "c10::BFloat16", "int64": "long int", "int32": "int",
              "int16": "short int", "int8": "signed char", "uint8": "unsigned char",
              "bool": "bool", "complex64": "c10::complex<float>",
              "complex128": "c10::complex<double>"}


def _options(dtype, given: bool, layout_name: str, requires_grad: bool) -> str:
    """ATen's printed TensorOptions, as its window errors show them."""
    dtype_text = _CPP_TYPES.get(dtype.name, dtype.name) + ("" if given else " (default)")
    grad = "true" if requires_grad else "false (default)"
    return (f"TensorOptions(dtype={dtype_text}, device=cpu, layout={layout_name}, "
            f"requires_grad={grad}, pinned_memory=false, memory_format=(nullopt))")


def _checked_dtype(name, window_length, dtype, layout, requires_grad):
    """ATen's window_function_checks; returns the dtype to build in."""
    if type(window_length) is not int:
        raise TypeError(f"{name}(): argument 'window_length' (position 1) must be int, not "
                        f"{type(window_length).__name__}")
    given = dtype is not None
    dtype = dtype if given else dtypes.get_default_dtype()
    if layout is not None and layout is not strided:
        raise RuntimeError(f"{name} is not implemented for sparse types, got: "
                           f"{_options(dtype, given, 'Sparse', requires_grad)}")
    if not (dtype.is_floating_point or dtype.is_complex):
        raise RuntimeError(f"{name} expects floating point dtypes, got: "
                           f"{_options(dtype, given, 'Strided (default)', requires_grad)}")
    if dtype.is_complex:
        raise NotImplementedError(f"\"arange_cpu\" not implemented for "
                                  f"'{dtypes.scalar_type_name(dtype)}'")
    if window_length < 0:
        raise RuntimeError(f"{name} requires non-negative window_length, got "
                           f"window_length={window_length}")
    return dtype


def _window(name, window_length, periodic, dtype, layout, device, requires_grad, formula):
    """Checks, the 0- and 1-point cases, and the periodic window as the first N of N + 1."""
    dtype = _checked_dtype(name, window_length, dtype, layout, requires_grad)
    if window_length == 0:
        return empty(0, dtype=dtype, device=device, requires_grad=requires_grad)
    if window_length == 1:
        return ones(1, dtype=dtype, device=device, requires_grad=requires_grad)
    n = window_length + 1 if periodic else window_length
    with no_grad():
        window = formula(arange(n, dtype=dtype, device=device), n)
        if periodic:
            window = window[:-1].contiguous()
    return window.requires_grad_(requires_grad)


def hamming_window(window_length, periodic=True, alpha=0.54, beta=0.46, *, dtype=None,
                   layout=None, device=None, pin_memory=False, requires_grad=False):
    """alpha - beta * cos(2 pi n / (N - 1)) (N is window_length + 1 when periodic).

    >>> gt.hamming_window(3, periodic=False).tolist()  # doctest: +ELLIPSIS
    [0.08..., 1.0, 0.08...]
    """
    def formula(k, n):
        return (k * (2.0 * math.pi / (n - 1))).cos() * (-beta) + alpha

    return _window("hamming_window", window_length, periodic, dtype, layout, device,
                   requires_grad, formula)


def hann_window(window_length, periodic=True, *, dtype=None, layout=None, device=None,
                pin_memory=False, requires_grad=False):
    """The Hann window 0.5 - 0.5 cos(2 pi n / (N - 1)): hamming_window with alpha = beta = 0.5."""
    def formula(k, n):
        return (k * (2.0 * math.pi / (n - 1))).cos() * -0.5 + 0.5

    return _window("hann_window", window_length, periodic, dtype, layout, device,
                   requires_grad, formula)


def bartlett_window(window_length, periodic=True, *, dtype=None, layout=None, device=None,
                    pin_memory=False, requires_grad=False):
    """The triangular window 1 - |2n / (N - 1) - 1|, written as ATen builds it."""
    def formula(k, n):
        window = k * (2.0 / (n - 1))
        first_half = (n - 1) // 2 + 1
        return cat((window[:first_half], window[first_half:] * -1 + 2))

    return _window("bartlett_window", window_length, periodic, dtype, layout, device,
                   requires_grad, formula)


def blackman_window(window_length, periodic=True, *, dtype=None, layout=None, device=None,
                    pin_memory=False, requires_grad=False):
    """0.42 - 0.5 cos(2 pi n / (N - 1)) + 0.08 cos(4 pi n / (N - 1))."""
    def formula(k, n):
        w = k * (math.pi / (n - 1))
        return (w * 4).cos() * 0.08 - (w * 2).cos() * 0.5 + 0.42

    return _window("blackman_window", window_length, periodic, dtype, layout, device,
                   requires_grad, formula)


def kaiser_window(window_length, periodic=True, beta=12.0, *, dtype=None, layout=None,
                  device=None, pin_memory=False, requires_grad=False):
    """I0(beta sqrt(1 - ((n - a) / a)^2)) / I0(beta) with a = (N - 1) / 2."""
    def formula(k, n):
        alpha = (n - 1) / 2.0
        ratio = (k - alpha) / alpha
        return i0((1 - ratio * ratio).abs().sqrt() * beta) / i0(k.new_tensor(beta))

    return _window("kaiser_window", window_length, periodic, dtype, layout, device,
                   requires_grad, formula)
