"""Public reductions: `sum mean max min amax amin argmax argmin std var all any`.

`max`/`min` follow PyTorch's overloads: no dim -> a 0-d tensor; a dim -> a
`(values, indices)` named tuple; a tensor -> the elementwise maximum.
"""

from __future__ import annotations

from collections import namedtuple

from .. import dtypes
from ..ops import reduction as reduction_ops
from ..ops.dispatch import call
from ..tensor import Tensor
from ._wrap import accepts_out, check_tensor, finish, name_as
from .creation import zeros_like
from .math import maximum, minimum, where

__all__ = ["sum", "mean", "max", "min", "amax", "amin", "argmax", "argmin", "var", "std",
           "var_mean", "std_mean", "all", "any", "nansum", "nanmean", "count_nonzero"]


class _ReturnTypeFactory:
    """`torch.return_types.max(values=..., indices=...)` look-alikes."""

    def __init__(self):
        self._types = {}

    def get(self, name, fields=("values", "indices")):
        if name not in self._types:
            base = namedtuple(name, fields)

            def __repr__(self, _name=name, _fields=fields):
                parts = ",\n".join(f"{f}={getattr(self, f)!r}" for f in _fields)
                return f"torch.return_types.{_name}(\n{parts})"

            self._types[name] = type(name, (base,), {"__repr__": __repr__, "__slots__": ()})
        return self._types[name]


return_types = _ReturnTypeFactory()


def _dims(dim):
    if dim is None:
        return None
    if isinstance(dim, (list, tuple)):
        return tuple(dim) if len(dim) else None
    return (dim,)


def sum(input, dim=None, keepdim=False, *, dtype=None, out=None):
    """Sum over `dim` (all dims by default); integers sum to int64."""
    check_tensor(input, "sum")
    attrs = {"dims": _dims(dim), "keepdim": keepdim}
    if dtype is not None:
        attrs["dtype"] = dtypes.dtype_argument(dtype)
    return finish(call(reduction_ops.SUM, input, **attrs), out)


@accepts_out
def nansum(input, dim=None, keepdim=False, *, dtype=None):
    """Sum treating NaN as zero."""
    return sum(where(input.isnan(), zeros_like(input), input), dim, keepdim, dtype=dtype)


def mean(input, dim=None, keepdim=False, *, dtype=None, out=None):
    """Arithmetic mean over `dim` (floating dtypes only, as PyTorch)."""
    check_tensor(input, "mean")
    attrs = {"dims": _dims(dim), "keepdim": keepdim}
    if dtype is not None:
        attrs["dtype"] = dtypes.dtype_argument(dtype)
    return finish(call(reduction_ops.MEAN, input, **attrs), out)


@accepts_out
def nanmean(input, dim=None, keepdim=False, *, dtype=None):
    """Mean ignoring NaN."""
    keep = ~input.isnan()
    return nansum(input, dim, keepdim, dtype=dtype) / keep.sum(dim, keepdim).to(input.dtype)


def _correction(unbiased, correction):
    if correction is not None:
        return correction
    return 1 if unbiased is None or unbiased else 0


def _var_args(dim, unbiased, keepdim, correction):
    if isinstance(dim, bool):  # var(input, unbiased)
        dim, unbiased = None, dim
    return {"dims": _dims(dim), "correction": _correction(unbiased, correction),
            "keepdim": keepdim}


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None, out=None):
    """Variance; `correction=1` (default) is Bessel's unbiased estimate."""
    check_tensor(input, "var")
    return finish(call(reduction_ops.VAR, input, **_var_args(dim, unbiased, keepdim, correction)),
                  out)


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None, out=None):
    """Standard deviation, sqrt(var)."""
    result = var(input, dim, unbiased, keepdim, correction=correction).sqrt()
    return finish(name_as(result, "StdBackward0"), out)


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return (name_as(var(input, dim, unbiased, keepdim, correction=correction),
                    "VarMeanBackward0"),
            name_as(mean(input, dim if not isinstance(dim, bool) else None, keepdim),
                    "VarMeanBackward0"))


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return (name_as(std(input, dim, unbiased, keepdim, correction=correction),
                    "StdMeanBackward0"),
            name_as(mean(input, dim if not isinstance(dim, bool) else None, keepdim),
                    "StdMeanBackward0"))


def amax(input, dim=(), keepdim=False, *, out=None):
    """Max over dims (gradient shared among ties)."""
    return finish(call(reduction_ops.AMAX, input, dims=_dims(dim), keepdim=keepdim), out)


def amin(input, dim=(), keepdim=False, *, out=None):
    """Min over dims (gradient shared among ties)."""
    return finish(call(reduction_ops.AMIN, input, dims=_dims(dim), keepdim=keepdim), out)


def _extreme(name, reduce_op, dim_op, elementwise):
    def fn(input, dim=None, keepdim=False, *, out=None, other=None):
        check_tensor(input, name)
        if other is not None:
            return elementwise(input, other, out=out)
        if isinstance(dim, Tensor):
            return elementwise(input, dim, out=out)
        if dim is None:
            if input.numel() == 0:
                raise RuntimeError(f"{name}(): Expected reduction dim to be specified for "
                                   "input.numel() == 0. Specify the reduction dim with the "
                                   "'dim' argument.")
            result = call(reduce_op, input, dims=None, keepdim=False)
            return finish(name_as(result, f"{name.capitalize()}Backward1"), out)
        values, indices = call(dim_op, input, dim=dim, keepdim=keepdim)
        if out is not None:
            finish(values, out[0])
            finish(indices, out[1])
            values, indices = out
        return return_types.get(name)(values, indices)
    fn.__name__ = name
    fn.__doc__ = (f"{name}(input) -> 0-d tensor; {name}(input, dim, keepdim) -> (values, "
                  f"indices); {name}(input, other) -> elementwise.")
    return fn


def _maximum(a, b, out=None):
    return maximum(a, b, out=out)


def _minimum(a, b, out=None):
    return minimum(a, b, out=out)


max = _extreme("max", reduction_ops.AMAX, reduction_ops.MAX_DIM, _maximum)
min = _extreme("min", reduction_ops.AMIN, reduction_ops.MIN_DIM, _minimum)


@accepts_out
def argmax(input, dim=None, keepdim=False):
    """Index of the maximum (over the flattened tensor when dim is None)."""
    return call(reduction_ops.ARGMAX, input, dim=dim, keepdim=keepdim)


@accepts_out
def argmin(input, dim=None, keepdim=False):
    """Index of the minimum."""
    return call(reduction_ops.ARGMIN, input, dim=dim, keepdim=keepdim)


def all(input, dim=None, keepdim=False, *, out=None):
    """True where all elements (over dim) are non-zero."""
    return finish(call(reduction_ops.ALL, input, dims=_dims(dim), keepdim=keepdim), out)


def any(input, dim=None, keepdim=False, *, out=None):
    """True where any element (over dim) is non-zero."""
    return finish(call(reduction_ops.ANY, input, dims=_dims(dim), keepdim=keepdim), out)


def count_nonzero(input, dim=None):
    """Number of non-zero elements over dim."""
    return sum(input != 0, dim)


