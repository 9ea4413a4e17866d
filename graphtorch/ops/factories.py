"""Tensors made from NumPy data: the core of `gt.zeros`, `gt.arange`, ... and of the fills
that vjp rules use (`zeros_like`, `ones`, `eye`, ...).

A tensor made while a trace runs becomes a graph constant (`Tracer.constant`); one whose
shape holds symbolic sizes is a scalar expanded by a graph node (`Tracer.full`). The
public creation functions (`graphtorch.functions.creation`) parse PyTorch's arguments and
call these; vjps call the short forms below instead of the public functions, which sit in
a higher layer.
"""

from __future__ import annotations

import math

import numpy as np

from .. import dtypes
from ..device import cupy_module, factory_device
from ..symbolic import SymInt
from ..meta import MetaArray
from ..tensor import Tensor
from ..trace_state import current_tracer


def from_array(array, device=None, requires_grad=False) -> Tensor:
    """A tensor holding `array`, moved to `device` (a graph constant inside a trace)."""
    device = factory_device(device)
    if device.type == "cuda":
        array = cupy_module().asarray(array)
    elif device.type == "meta":  # shape and dtype only (graphtorch/meta.py)
        array = MetaArray(array.shape, array.dtype)
    elif device.type != "cpu":
        raise RuntimeError(f"graphtorch cannot allocate tensors on device {device}")
    tracer = current_tracer()
    t = Tensor._wrap(array) if tracer is None else tracer.constant(array)
    if requires_grad:
        if not dtypes.is_inexact_array(array.dtype):
            raise RuntimeError("Only Tensors of floating point and complex dtype can require "
                               "gradients")
        t._requires_grad = True
    return t


def np_dtype(dtype, default=None, fname=""):
    """The NumPy dtype of a dtype argument (None: `default`, else the default dtype)."""
    if dtype is None:
        return (default or dtypes.get_default_dtype()).np_dtype
    return dtypes.dtype_argument(dtype, fname).np_dtype


def filled(shape: tuple, value, array_dtype, device=None, requires_grad=False) -> Tensor:
    """A tensor of `shape` (sizes may be SymInts) filled with `value`."""
    if any(type(s) is SymInt for s in shape):
        out = current_tracer().full(shape, np.asarray(value, dtype=array_dtype))
        return out.requires_grad_() if requires_grad else out
    if factory_device(device).type == "meta":  # no memory to fill
        return from_array(MetaArray(shape, array_dtype), device, requires_grad)
    return from_array(np.full(shape, value, dtype=array_dtype), device, requires_grad)


def zeros_for_meta(meta, device=None) -> Tensor:
    """Zeros with a TensorMeta's shape and dtype (used by autograd), on `device` (CPU when
    None)."""
    if any(type(s) is SymInt for s in meta.shape):
        return current_tracer().full(meta.shape, np.zeros((), dtype=meta.dtype.np_dtype))
    array = np.zeros(meta.shape, dtype=meta.dtype.np_dtype)
    if device is not None and device.type == "cuda":
        return from_array(array, device)
    return Tensor._wrap(array)


# --- the fills vjp rules use (graphtorch.ops must not import the public functions) -----

def _shape(size) -> tuple:
    return (size,) if isinstance(size, (int, SymInt)) else tuple(size)


def zeros(size, dtype=None, device=None) -> Tensor:
    """`gt.zeros(size, dtype=dtype, device=device)`."""
    return filled(_shape(size), 0, np_dtype(dtype, fname="zeros"), device)


def ones(size, dtype=None, device=None) -> Tensor:
    """`gt.ones(size, dtype=dtype, device=device)`."""
    return filled(_shape(size), 1, np_dtype(dtype, fname="ones"), device)


def zeros_like(x: Tensor, dtype=None) -> Tensor:
    """`gt.zeros_like(x, dtype=dtype)`."""
    return zeros(x.shape, dtype if dtype is not None else x.dtype, x.device)


def ones_like(x: Tensor, dtype=None) -> Tensor:
    """`gt.ones_like(x, dtype=dtype)`."""
    return ones(x.shape, dtype if dtype is not None else x.dtype, x.device)


def full_like(x: Tensor, value) -> Tensor:
    """`gt.full_like(x, value)`."""
    return filled(tuple(x.shape), value, np_dtype(x.dtype, fname="full"), x.device)


def arange(n, device=None) -> Tensor:
    """`gt.arange(n, device=device)`: int64 values 0 .. n - 1."""
    count = max(0, math.ceil((n - 0) / 1))
    return from_array(np.arange(count, dtype=np.int64), device)


def eye(n: int, dtype=None, device=None) -> Tensor:
    """`gt.eye(n, dtype=dtype, device=device)`."""
    return from_array(np.eye(n, None, dtype=np_dtype(dtype, fname="eye")), device)
