"""Tensor `repr` exactly as PyTorch prints it, and the print options that steer it.

Large tensors are summarised first (only the `edgeitems` corners are copied to the host and
formatted), so printing costs O(printed elements) whatever the tensor's size. Column widths,
integer/scientific modes and line wrapping follow `torch._tensor_str` rule for rule.

Subclass hook: a Tensor subclass may define the class attribute ``_repr_prefix`` (a string
printed before the tensor, e.g. ``"Parameter containing:\\n"`` on ``nn.Parameter``). The class
that defines it prints its body as ``tensor(...)``; a further subclass prints as
``Parameter(Sub(...))``, as PyTorch does. Other subclasses print as ``ClassName(...)``.
graphtorch's ``nn.Parameter`` counts as such a class even if it adds the prefix itself.
"""

from __future__ import annotations

import contextlib
import math
import sys

import numpy as np

from . import dtypes
from .meta import MetaArray
from .device import host_array
from .tensor import Tensor


class _PrintOptions:
    """The current options; module-global, as PyTorch's ``PRINT_OPTS``."""

    __slots__ = ("precision", "threshold", "edgeitems", "linewidth", "sci_mode")

    def __init__(self):
        self.precision = 4
        self.threshold = 1000
        self.edgeitems = 3
        self.linewidth = 80
        self.sci_mode = None


PRINT_OPTS = _PrintOptions()

_PROFILES = {
    "default": dict(precision=4, threshold=1000, edgeitems=3, linewidth=80),
    "short": dict(precision=2, threshold=1000, edgeitems=2, linewidth=80),
    "full": dict(precision=4, threshold=math.inf, edgeitems=3, linewidth=80),
}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None) -> None:
    """Set options for printing tensors, as `torch.set_printoptions`.

    ``profile`` (``"default"``, ``"short"`` or ``"full"``) is applied first, then the explicit
    options. As in PyTorch, ``sci_mode`` is always reset: omitting it restores automatic
    choice of scientific notation.
    """
    if profile in _PROFILES:  # PyTorch silently ignores unknown profiles
        for name, value in _PROFILES[profile].items():
            setattr(PRINT_OPTS, name, value)
    for name, value in (("precision", precision), ("threshold", threshold),
                        ("edgeitems", edgeitems), ("linewidth", linewidth)):
        if value is not None:
            setattr(PRINT_OPTS, name, value)
    PRINT_OPTS.sci_mode = sci_mode


def get_printoptions() -> dict:
    """The current print options, as keyword arguments for `set_printoptions`."""
    return {name: getattr(PRINT_OPTS, name) for name in _PrintOptions.__slots__}


@contextlib.contextmanager
def printoptions(**kwargs):
    """Temporarily change the print options (same arguments as `set_printoptions`)."""
    old = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**old)


# --- element formatting ------------------------------------------------------------------
class _Formatter:
    """Formats every element of one (already summarised) real array to a common width."""

    def __init__(self, values: np.ndarray):
        self.floating = dtypes.is_float_array(values.dtype)
        self.int_mode = True
        self.sci_mode = False
        if not self.floating:
            # bool and integers: str() of the Python value, width over all elements
            self.strings = [str(v) for v in values.ravel().tolist()]
            self.width = max([1] + [len(s) for s in self.strings])
            self._pad()
            return
        flat = values.ravel().astype(np.float64)
        nonzero_finite = np.isfinite(flat) & (flat != 0)
        chosen = flat[nonzero_finite]
        if chosen.size:
            magnitudes = np.abs(chosen)
            lo, hi = float(magnitudes.min()), float(magnitudes.max())
            self.int_mode = bool(np.all(chosen == np.ceil(chosen)))
            auto = hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4
            self.sci_mode = auto if PRINT_OPTS.sci_mode is None else PRINT_OPTS.sci_mode
        p = PRINT_OPTS.precision
        if self.sci_mode:
            fmt = f"{{:.{p}e}}".format
        elif self.int_mode:
            def fmt(v):
                s = f"{v:.0f}"
                # the trailing '.' marks a floating dtype; nan and inf get none
                return s if math.isinf(v) or math.isnan(v) else s + "."
        else:
            fmt = f"{{:.{p}f}}".format
        self.strings = [fmt(v) for v in flat.tolist()]
        # Only nonzero finite values set the width (zeros, nan and inf may overhang).
        widths = [len(s) for s, keep in zip(self.strings, nonzero_finite.tolist()) if keep]
        self.width = max([1] + widths)
        self._pad()

    def _pad(self) -> None:
        w = self.width
        self.strings = [s.rjust(w) for s in self.strings]


def _element_strings(values: np.ndarray):
    """Formatted elements (flat, row-major) and the width one element takes on a line."""
    if values.dtype.kind != "c":
        f = _Formatter(values)
        return f.strings, f.width + 2
    real, imag = _Formatter(values.real), _Formatter(values.imag)
    out = []
    for r, i in zip(real.strings, imag.strings):
        i = (i + "j").lstrip()
        # a sign already separates the parts (also for +0.0/-0.0); otherwise add '+'
        out.append(r + i if i[0] in "+-" else r + "+" + i)
    return out, real.width + 2 + imag.width + 1


# --- layout ---------------------------------------------------------------------------------
def _summarize(array, edge: int):
    """Keep the first and last `edge` entries of every axis longer than 2 * edge.

    Returns the (smaller) array and, per axis, whether it was cut (an ellipsis goes there).
    """
    cut = [n > 2 * edge for n in array.shape]
    if not any(cut):
        return array, cut
    xp = np
    if type(array) is not np.ndarray:
        # lazy: looked up per call, tests stand a fake CuPy in for device.cupy_module
        from .device import cupy_module

        xp = cupy_module()
    for axis, is_cut in enumerate(cut):
        if is_cut:
            n = array.shape[axis]
            head = (slice(None),) * axis + (slice(0, edge),)
            tail = (slice(None),) * axis + (slice(n - edge, n),)
            array = xp.concatenate([array[head], array[tail]], axis=axis)
    return array, cut


def _layout(strings, shape, cut, edge, indent, element_len) -> str:
    """Nest the flat element strings into PyTorch's bracketed, indented text."""
    ndim = len(shape)
    if ndim == 0:
        return strings[0]
    if ndim == 1:
        items = list(strings)
        if cut[0]:
            items = items[:edge] + [" ..."] + items[edge:]
        per_line = max(1, math.floor((PRINT_OPTS.linewidth - indent) / element_len))
        lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    step = len(strings) // shape[0]
    rows = [_layout(strings[i * step:(i + 1) * step], shape[1:], cut[1:], edge, indent + 1,
                    element_len) for i in range(shape[0])]
    if cut[0]:
        rows = rows[:edge] + ["..."] + rows[edge:]
    return "[" + ("," + "\n" * (ndim - 1) + " " * (indent + 1)).join(rows) + "]"


def tensor_str(array, indent: int) -> str:
    """The bracketed body of a tensor's repr (no ``tensor(`` prefix or suffixes)."""
    if array.size == 0:
        return "[]"
    summarize = array.size > PRINT_OPTS.threshold
    edge = PRINT_OPTS.edgeitems
    if summarize and not edge and array.ndim:
        return "[...]"
    if summarize:
        array, cut = _summarize(array, edge)
    else:
        cut = [False] * array.ndim
    array = host_array(array)
    strings, element_len = _element_strings(array)
    return _layout(strings, array.shape, cut, edge, indent, element_len)


def _add_suffixes(text: str, suffixes, indent: int) -> str:
    """Append ``, key=value`` suffixes, wrapping onto a new line past `linewidth`."""
    parts = [text]
    # PyTorch's measure: the last line's length plus 2 (the ", " to come)
    last_len = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last_len + len(suffix) + 2 > PRINT_OPTS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last_len = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_len += len(suffix) + 2
    parts.append(")")
    return "".join(parts)


def _hook_owner(cls):
    """The class in `cls`'s MRO that defines ``_repr_prefix`` (or is graphtorch's
    ``nn.Parameter``, which may instead override ``__repr__`` to add its prefix), or None."""
    parameter = getattr(sys.modules.get("graphtorch.nn.parameter"), "Parameter", None)
    for klass in cls.__mro__:
        if "_repr_prefix" in vars(klass) or klass is parameter:
            return klass
    return None


def tensor_repr(t, *, tensor_contents: str | None = None) -> str:
    """``repr(t)`` exactly as PyTorch writes it (values, dtype, device and autograd info).

    `tensor_contents`, when given, replaces the printed values (PyTorch's keyword of the
    same name).
    """
    cls = type(t)
    owner = _hook_owner(cls)
    plain = cls is Tensor or cls is owner
    prefix = "tensor(" if plain else f"{cls.__name__}("
    indent = len(prefix)
    suffixes = []

    device = t.device
    if device.type != "cpu":
        suffixes.append(f"device='{device}'")

    dtype = t.dtype
    default = dtypes.get_default_dtype()
    default_complex = dtypes.complex128 if default is dtypes.float64 else dtypes.complex64
    data = t._data
    if type(data) is MetaArray:  # no values to print, as PyTorch
        suffixes.append(f"size={tuple(data.shape)}")
        if dtype not in (default, default_complex, dtypes.int64, dtypes.bool_):
            suffixes.append(f"dtype={dtype}")
        body = "..."
    elif data.size == 0:
        # Shape (0,) is implied by "[]"; an empty tensor gives no hint of its dtype.
        if data.ndim != 1:
            suffixes.append(f"size={tuple(data.shape)}")
        if dtype is not default:
            suffixes.append(f"dtype={dtype}")
        body = "[]"
    else:
        if not PRINT_OPTS.edgeitems:
            suffixes.append(f"size={tuple(data.shape)}")
        if dtype not in (default, default_complex, dtypes.int64, dtypes.bool_):
            suffixes.append(f"dtype={dtype}")
        body = tensor_str(data, indent) if tensor_contents is None else None
    if tensor_contents is not None:
        body = tensor_contents

    try:
        grad_fn = t.grad_fn
        grad_fn_name = None if grad_fn is None else grad_fn.name().rsplit("::", 1)[-1]
    except RuntimeError:  # a view whose history can no longer be rebuilt
        grad_fn_name = "Invalid"
    if grad_fn_name is not None:
        suffixes.append(f"grad_fn=<{grad_fn_name}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")

    text = _add_suffixes(prefix + body, suffixes, indent)
    if owner is not None:
        if not plain:
            text = f"{owner.__name__}({text})"
        text = getattr(owner, "_repr_prefix", "") + text
    return text
