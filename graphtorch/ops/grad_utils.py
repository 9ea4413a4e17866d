"""Small helpers that vjp rules share, written with graphtorch ops (so they trace too).

The vocabulary of vjp rules: these helpers, the fills of `ops.factories` (`zeros_like`,
`ones`, `arange`, `eye`, ...), `elementwise.where` and `einsum.einsum`, and any op through
`dispatch.call(OP, ...)`; Tensor methods and operators work too. A vjp never imports the
public functions (`import graphtorch`): they sit in a higher layer.
"""

from __future__ import annotations

import numpy as np

from ..autograd import grad_mode
from ..tensor import Tensor
from ..trace_state import STATE as _TRACE_STATE
from .factories import zeros, zeros_for_meta

_ndarray = np.ndarray
_GRAD = grad_mode.STATE


def unbroadcast(grad, meta):
    """Sum `grad` down to the shape of the input described by `meta` (None: a scalar)."""
    if meta is None or grad is None:
        return None
    if type(grad._data) is _ndarray and grad._data.shape == meta.shape:
        return grad  # eager, same shape: the common case, checked without building Sizes
    shape = tuple(meta.shape)
    if grad.ndim == len(shape) and tuple(grad.shape) == shape:  # ranks first: a symbolic
        return grad                                             # size is never compared
    lead = grad.ndim - len(shape)
    dims = list(range(lead))
    dims += [lead + i for i, s in enumerate(shape) if s == 1 and grad.shape[lead + i] != 1]
    if dims:
        grad = grad.sum(dim=tuple(dims), keepdim=True)
    return grad.reshape(shape)


def zeros_for(meta, like=None):
    """Zeros with `meta`'s shape and dtype, on the device of the tensor `like` (a gradient
    of the same node) when given: autograd's input metas record no device."""
    if like is None or not like.is_cuda:
        return zeros_for_meta(meta)
    return zeros(meta.shape, dtype=meta.dtype, device=like.device)


def conj(x):
    """Complex conjugate of a tensor or Python number (identity for real values)."""
    if type(x) is Tensor:
        return x.conj() if x._data.dtype.kind == "c" else x
    if isinstance(x, complex):
        return x.conjugate()
    return x.conj() if hasattr(x, "is_complex") and x.is_complex() else x


def numpy_arrays(*tensors):
    """The tensors' NumPy arrays when a vjp may compute its gradient with NumPy directly -
    eager backward without create_graph (grad mode off), every tensor on a NumPy array, no
    trace recording - else None (the vjp's graphtorch ops run: they record a graph, trace,
    or run on CuPy). A vjp's NumPy twin must give the ops' values."""
    if _GRAD.enabled or _TRACE_STATE.__dict__.get("tracer") is not None:
        return None
    arrays = []
    for t in tensors:
        a = t._data
        if type(a) is not _ndarray:
            return None
        arrays.append(a)
    return arrays


def wrap(array):
    """A Tensor on `array` (a vjp's NumPy result)."""
    return Tensor._wrap(array)


def real_if_needed(grad, meta):
    """A real input's gradient is real even when the computation went complex."""
    if meta is not None and grad is not None and grad.is_complex() and \
            not meta.dtype.is_complex:
        return grad.real
    return grad
