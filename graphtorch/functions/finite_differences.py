"""`gt.gradient`: PyTorch's torch.gradient, second-order central differences in the interior
and first- or second-order one-sided differences at the edges (as numpy.gradient).

Spacing is one number for every dim, one number per dim, or one 1-D tensor of sample
coordinates per dim (unevenly spaced samples). Each result is a short composition of slices
and elementwise ops (ATen's gradient_helper and gradient_helper_float), so gradients and
compiled graphs follow from those ops.

>>> import graphtorch as gt
>>> gt.gradient(gt.tensor([1.0, 4.0, 9.0, 16.0]))[0].tolist()
[3.0, 4.0, 6.0, 7.0]
"""

from __future__ import annotations

from numbers import Number

from .. import dtypes
from ..ops.shape_rules import normalize_dim
from ..tensor import Tensor
from ._wrap import check_tensor
from .movement import cat

__all__ = ["gradient"]

_OVERLOADS = (
    " * (Tensor input, *, tuple of ints dim, int edge_order = 1)\n"
    " * (Tensor input, *, Number spacing, tuple of ints dim, int edge_order = 1)\n"
    " * (Tensor input, *, Number spacing = None, int dim = None, int edge_order = 1)\n"
    " * (Tensor input, *, tuple of Scalars spacing, int dim = None, int edge_order = 1)\n"
    " * (Tensor input, *, tuple of Scalars spacing, tuple of ints dim, int edge_order = 1)\n"
    " * (Tensor input, *, tuple of Tensors spacing, int dim = None, int edge_order = 1)\n"
    " * (Tensor input, *, tuple of Tensors spacing, tuple of ints dim, int edge_order = 1)\n")


def _bad_arguments(input, spacing, dim):
    got = ", ".join(["Tensor"] + (["dim=" + type(dim).__name__] if dim is not None else []) +
                    ["spacing=" + type(spacing).__name__])
    return TypeError(f"gradient() received an invalid combination of arguments - got ({got}), "
                     f"but expected one of:\n{_OVERLOADS}")


def _slice(x, d, start, stop=None):
    """x[..., start:stop, ...] along dim d (Python's slice semantics, negatives included)."""
    index = [slice(None)] * x.ndim
    index[d] = slice(start, stop)
    return x[tuple(index)]


def _check(input, spacing_len, dims_given, dims, edge_order):
    """ATen's pre_check_gradient."""
    if input.dtype is dtypes.uint8:
        raise RuntimeError("torch.gradient does not support uint8 input.")
    if spacing_len is not None and not dims_given and spacing_len != input.ndim:
        raise RuntimeError(
            "torch.gradient expected spacing to be unspecified, a scalar, or a list of length "
            f"equal to 'self.dim() = {input.ndim}', since dim argument was not given, but got "
            f"a list of length {spacing_len}")
    if spacing_len is not None and dims_given and spacing_len != len(dims):
        raise RuntimeError(
            "torch.gradient expected spacing to be unspecified, a scalar or it's spacing and "
            f"dim arguments to have the same length, but got a spacing argument of length "
            f"{spacing_len} and a dim argument of length {len(dims)}.")
    if edge_order not in (1, 2):
        raise RuntimeError("torch.gradient only supports edge_order=1 and edge_order=2.")
    wrapped = [normalize_dim(d, input.ndim) for d in dims]
    for d in wrapped:
        if wrapped.count(d) > 1:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    for d in wrapped:
        if input.shape[d] < edge_order + 1:
            raise RuntimeError("torch.gradient expected each dimension size to be at least "
                               "edge_order+1")
    return wrapped


def _uniform(x, d, h, edge_order):
    """Differences along d for sample spacing h (a number): gradient_helper_float."""
    center = (_slice(x, d, 2) - _slice(x, d, 0, -2)) / h
    if edge_order == 1:
        first = (_slice(x, d, 1, 2) - _slice(x, d, 0, 1)) / h
        last = (_slice(x, d, -1) - _slice(x, d, -2, -1)) / h
    else:
        first = (_slice(x, d, 0, 1) * -1.5 + _slice(x, d, 1, 2) * 2
                 - _slice(x, d, 2, 3) * 0.5) / h
        last = (_slice(x, d, -3, -2) * 0.5 + _slice(x, d, -2, -1) * -2
                + _slice(x, d, -1) * 1.5) / h
    return cat((first, center / 2, last), d)


def _coordinates(x, d, coords, edge_order):
    """Differences along d for samples at `coords` (a 1-D tensor): gradient_helper."""
    if coords.ndim != 1:
        raise RuntimeError("torch.gradient expected each element of spacing to have one "
                           f"dimension, but got an element with {coords.ndim} dimensions!")
    shape = [1] * x.ndim
    shape[d] = -1
    dx = coords.diff()
    dx1, dx2 = dx[:-1], dx[1:]
    a = (-dx2 / (dx1 * (dx1 + dx2))).reshape(shape)
    b = ((dx2 - dx1) / (dx1 * dx2)).reshape(shape)
    c = (dx1 / (dx2 * (dx1 + dx2))).reshape(shape)
    center = a * _slice(x, d, 0, -2) + b * _slice(x, d, 1, -1) + c * _slice(x, d, 2)
    if edge_order == 1:
        first = (_slice(x, d, 1, 2) - _slice(x, d, 0, 1)) / dx[0]
        last = (_slice(x, d, -1) - _slice(x, d, -2, -1)) / dx[-1]
    else:
        h0, h1 = dx[0], dx[1]
        first = (-(2.0 * h0 + h1) / (h0 * (h0 + h1)) * _slice(x, d, 0, 1)
                 + (h0 + h1) / (h0 * h1) * _slice(x, d, 1, 2)
                 + (-h0) / (h1 * (h0 + h1)) * _slice(x, d, 2, 3))
        g1, g2 = dx[-1], dx[-2]
        last = (g1 / (g2 * (g1 + g2)) * _slice(x, d, -3, -2)
                - (g1 + g2) / (g1 * g2) * _slice(x, d, -2, -1)
                + (2 * g1 + g2) / (g1 * (g1 + g2)) * _slice(x, d, -1))
    return cat((first, center, last), d)


def gradient(input, *, spacing=1, dim=None, edge_order=1):
    """The derivative of `input` sampled on a grid, along each dim in `dim` (default all):
    a tuple with one tensor per dim.

    >>> x = gt.tensor([[1.0, 2.0, 4.0], [2.0, 5.0, 9.0]])
    >>> [g.tolist() for g in gt.gradient(x, spacing=2.0, dim=1)]
    [[[0.5, 0.75, 1.0], [1.5, 1.75, 2.0]]]
    """
    check_tensor(input, "gradient")
    if isinstance(spacing, Tensor):
        raise _bad_arguments(input, spacing, dim)
    dims_given = dim is not None
    dims = (list(range(input.ndim)) if dim is None else
            [dim] if isinstance(dim, int) else list(dim))
    if spacing is None or isinstance(spacing, Number):
        h = 1 if spacing is None else spacing
        spacing = [h] * len(dims)
        spacing_len = None
    else:
        spacing = list(spacing)
        spacing_len = len(spacing)
        if spacing and isinstance(spacing[0], Tensor):
            for i, h in enumerate(spacing):
                if not isinstance(h, Tensor):
                    raise TypeError(f"expected Tensor as element {i} in argument 1, but got "
                                    f"{type(h).__name__}")
    wrapped = _check(input, spacing_len, dims_given, dims, edge_order)
    results = []
    for d, h in zip(wrapped, spacing):
        if isinstance(h, Tensor):
            results.append(_coordinates(input, d, h, edge_order))
        else:
            results.append(_uniform(input, d, h, edge_order))
    return tuple(results)
