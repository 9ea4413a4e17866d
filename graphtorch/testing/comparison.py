"""`assert_close`: PyTorch's comparison rules (see ``torch.testing.assert_close``).

Default tolerances (rtol, atol) by dtype: float16 (1e-3, 1e-5), bfloat16 (1.6e-2, 1e-5),
float32/complex64 (1.3e-6, 1e-5), float64/complex128 (1e-7, 1e-7), integers and bool exact;
Python floats compare as float64. Shapes, devices and dtypes must match (unless
`check_device` / `check_dtype` is False); `check_stride` compares strides too.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence

import numpy as np

from .. import dtypes
from ..tensor import Tensor

_TOLERANCES = {"float16": (1e-3, 1e-5), "bfloat16": (1.6e-2, 1e-5), "float32": (1.3e-6, 1e-5),
               "float64": (1e-7, 1e-7), "complex32": (1e-3, 1e-5),
               "complex64": (1.3e-6, 1e-5), "complex128": (1e-7, 1e-7)}


class _Mismatch(Exception):
    """A comparison failed: `kind` is the exception type to raise, with `text`."""

    def __init__(self, kind, text: str):
        super().__init__(text)
        self.kind, self.text = kind, text


def assert_close(actual, expected, *, allow_subclasses: bool = True, rtol=None, atol=None,
                 equal_nan: bool = False, check_device: bool = True, check_dtype: bool = True,
                 check_layout: bool = True, check_stride: bool = False, msg=None) -> None:
    """Raise AssertionError unless `actual` and `expected` are close: for each element
    ``|actual - expected| <= atol + rtol * |expected|`` (NaNs equal only with `equal_nan`).
    `msg` replaces the message (a str) or rewrites it (a callable taking it)."""
    if (rtol is None) != (atol is None):
        raise ValueError(f"Both 'rtol' and 'atol' must be either specified or omitted, but "
                         f"got no {'atol' if atol is None else 'rtol'}.")
    options = dict(rtol=rtol, atol=atol, equal_nan=equal_nan, check_device=check_device,
                   check_dtype=check_dtype, check_stride=check_stride)
    try:
        _compare(actual, expected, (), options)
    except _Mismatch as failure:
        text = failure.text
        if failure.kind is AssertionError and msg is not None:
            text = msg(text) if callable(msg) else msg
        raise failure.kind(text) from None


def _compare(actual, expected, path: tuple, options: dict) -> None:
    try:
        if _tensor_like(actual) and _tensor_like(expected):
            return _compare_tensors(_as_tensor(actual), _as_tensor(expected), options)
        if _number(actual) and _number(expected):
            return _compare_numbers(actual, expected, options)
        if actual is None and expected is None:
            return None
    except _Mismatch as failure:
        if path and failure.kind is AssertionError:
            failure.text += "\n\nThe failure occurred for item " + "".join(
                f"[{p!r}]" for p in path)
        raise
    if _sequence(actual) and _sequence(expected):
        if len(actual) != len(expected):
            raise _Mismatch(AssertionError, f"The length of the sequences mismatch: "
                                            f"{len(actual)} != {len(expected)}")
        for i, (a, e) in enumerate(zip(actual, expected)):
            _compare(a, e, path + (i,), options)
        return None
    if isinstance(actual, Mapping) and isinstance(expected, Mapping):
        missing = [k for k in expected if k not in actual]
        extra = [k for k in actual if k not in expected]
        if missing or extra:
            raise _Mismatch(AssertionError, "The keys of the mappings do not match:\n"
                            f"Missing keys in the actual mapping: {sorted(missing, key=str)}\n"
                            f"Additional keys in the actual mapping: "
                            f"{sorted(extra, key=str)}")
        for k in expected:
            _compare(actual[k], expected[k], path + (k,), options)
        return None
    raise _Mismatch(TypeError, f"No comparison pair was able to handle inputs of type "
                               f"{_type_name(actual)} and {_type_name(expected)}.")


def _tensor_like(x) -> bool:
    return isinstance(x, (Tensor, np.ndarray))


def _number(x) -> bool:
    return isinstance(x, (numbers.Number, np.generic)) and not isinstance(x, np.ndarray)


def _sequence(x) -> bool:
    return isinstance(x, Sequence) and not isinstance(x, (str, bytes))


def _type_name(x) -> str:
    return "<class 'torch.Tensor'>" if isinstance(x, Tensor) else str(type(x))


def _as_tensor(x) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor._wrap(np.asarray(x))


def _compare_tensors(actual: Tensor, expected: Tensor, options: dict) -> None:
    _same_attribute("shape", actual.shape, expected.shape)
    if options["check_device"]:
        _same_attribute("device", actual.device, expected.device)
    if options["check_dtype"]:
        _same_attribute("dtype", actual.dtype, expected.dtype)
    if options["check_stride"] and actual.numel() > 1:
        _same_attribute("stride()", actual.stride(), expected.stride())
    rtol, atol = _tolerances(options, actual.dtype, expected.dtype)
    a, e = _host(actual), _host(expected)
    common = np.result_type(a.dtype, e.dtype)
    a, e = a.astype(common, copy=False), e.astype(common, copy=False)
    mismatched = ~_isclose(a, e, rtol, atol, options["equal_nan"])
    if not mismatched.any():
        return None
    scalar = a.ndim == 0
    noun = "Scalars" if scalar else "Tensor-likes"
    verb = "equal" if rtol == 0 and atol == 0 else "close"
    abs_diff, rel_diff = _differences(a, e)
    if scalar:
        raise _Mismatch(AssertionError, _scalar_text(noun, verb, a.item(), e.item(),
                                                     abs_diff.item(), rel_diff.item(),
                                                     rtol, atol))
    n, total = int(mismatched.sum()), mismatched.size
    abs_at, rel_at = _argmax(abs_diff), _argmax(rel_diff)
    lines = [f"{noun} are not {verb}!", "", f"Mismatched elements: {n} / {total} "
             f"({n / total:.1%})",
             f"Greatest absolute difference: {abs_diff[abs_at].item()} at index {abs_at}"
             + (f" (up to {atol} allowed)" if verb == "close" else ""),
             f"Greatest relative difference: {rel_diff[rel_at].item()} at index {rel_at}"
             + (f" (up to {rtol} allowed)" if verb == "close" else "")]
    raise _Mismatch(AssertionError, "\n".join(lines))


def _compare_numbers(actual, expected, options: dict) -> None:
    kinds = [dtypes.float64 if isinstance(x, float) else dtypes.complex128
             if isinstance(x, complex) else dtypes.bool_ if isinstance(x, bool)
             else dtypes.int64 for x in (actual, expected)]
    if options["check_dtype"] and type(actual) is not type(expected) and \
            not (isinstance(actual, np.generic) or isinstance(expected, np.generic)):
        _same_attribute("type", type(actual), type(expected))
    rtol, atol = _tolerances(options, *kinds)
    a, e = np.asarray(actual), np.asarray(expected)
    common = np.result_type(a.dtype, e.dtype, np.float64 if kinds[0].is_floating_point
                            else a.dtype)
    a, e = a.astype(common), e.astype(common)
    if _isclose(a, e, rtol, atol, options["equal_nan"]):
        return None
    verb = "equal" if rtol == 0 and atol == 0 else "close"
    abs_diff, rel_diff = _differences(a, e)
    raise _Mismatch(AssertionError, _scalar_text("Scalars", verb, actual, expected,
                                                 abs_diff.item(), rel_diff.item(), rtol, atol))


def _scalar_text(noun, verb, actual, expected, abs_diff, rel_diff, rtol, atol) -> str:
    allowed = verb == "close"
    return "\n".join([f"{noun} are not {verb}!", "",
                      f"Expected {expected} but got {actual}.",
                      f"Absolute difference: {abs_diff}" +
                      (f" (up to {atol} allowed)" if allowed else ""),
                      f"Relative difference: {rel_diff}" +
                      (f" (up to {rtol} allowed)" if allowed else "")])


def _same_attribute(name: str, actual, expected) -> None:
    if actual != expected:
        show = (lambda v: f"torch.Size({list(v)})") if name == "shape" else str
        raise _Mismatch(AssertionError, f"The values for attribute '{name}' do not match: "
                                        f"{show(actual)} != {show(expected)}.")


def _tolerances(options: dict, *kinds) -> tuple:
    if options["rtol"] is not None:
        return options["rtol"], options["atol"]
    pairs = [_TOLERANCES.get(str(k).replace("torch.", ""), (0.0, 0.0)) for k in kinds]
    return max(p[0] for p in pairs), max(p[1] for p in pairs)


def _host(t: Tensor) -> np.ndarray:
    a = np.asarray(t.detach().cpu().numpy(force=True))
    # bfloat16 compares through float32 (exact), as NumPy's isclose has no bfloat16 loop
    return a.astype(np.float32) if a.dtype is dtypes.BFLOAT16_NP else a


def _isclose(a, e, rtol, atol, equal_nan):
    if a.dtype == np.bool_:
        return a == e
    if a.dtype.kind in "iu":
        diff = np.abs(a.astype(np.float64) - e.astype(np.float64))
        return diff <= atol + rtol * np.abs(e.astype(np.float64))
    close = np.isclose(a, e, rtol=rtol, atol=atol, equal_nan=equal_nan)
    # PyTorch: infinities are close only when equal
    return close | ((a == e) & ~np.isnan(a))


def _differences(a, e):
    """|a - e| and |a - e| / |e|, in the compared dtype (integers: int64, and float32 for
    the relative one, as PyTorch computes them)."""
    if a.dtype == np.bool_:
        a, e = a.astype(np.int64), e.astype(np.int64)
    if a.dtype.kind in "iu":
        abs_diff = np.abs(a.astype(np.int64) - e.astype(np.int64))
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = abs_diff.astype(np.float32) / np.abs(e).astype(np.float32)
        return abs_diff, rel
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        abs_diff = np.abs(a - e)
        rel = abs_diff / np.abs(e)
    return abs_diff, rel


def _argmax(values: np.ndarray) -> tuple:
    """The index of the greatest value (the first NaN if there is one), as a tuple."""
    flat = values.reshape(-1)
    nans = np.isnan(flat) if flat.dtype.kind in "fc" else None
    k = int(np.argmax(nans)) if nans is not None and nans.any() else int(np.argmax(flat))
    return tuple(int(i) for i in np.unravel_index(k, values.shape))


