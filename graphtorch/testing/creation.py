"""`gt.testing.make_tensor`, as PyTorch's `torch.testing.make_tensor`: a random tensor of a
shape and dtype with PyTorch's value ranges per dtype ([-9, 9) floating, [-9, 10) integral,
clamped to the dtype's range), its argument checks and its noncontiguous layout."""

from __future__ import annotations

import collections.abc
import math
import warnings

from .. import dtypes
from ..functions.creation import empty, randint
from ..functions.shape import view_as_real
from ..tensor import Tensor

__all__ = ["make_tensor"]

_INTEGRAL = (dtypes.bool_, dtypes.uint8, dtypes.int8, dtypes.int16, dtypes.int32, dtypes.int64)


def make_tensor(*shape, dtype, device, low=None, high=None, requires_grad=False,
                noncontiguous=False, exclude_zero=False, memory_format=None) -> Tensor:
    """Values drawn uniformly from [low, high) (defaults per dtype, as PyTorch's).

    >>> make_tensor(2, 3, dtype=gt.float32, device="cpu", low=0, high=1).shape
    torch.Size([2, 3])
    """
    if len(shape) == 1 and isinstance(shape[0], collections.abc.Sequence):
        shape = shape[0]
    shape = tuple(shape)
    if noncontiguous and memory_format is not None:
        raise ValueError(f"The parameters `noncontiguous` and `memory_format` are mutually "
                         f"exclusive, but got {noncontiguous=} and {memory_format=}")
    if requires_grad and dtype in _INTEGRAL:
        raise ValueError(f"`requires_grad=True` is not supported for boolean and integral "
                         f"dtypes, but got {dtype=}")
    noncontiguous = noncontiguous and math.prod(shape) > 1
    if noncontiguous:  # twice as long in the last dim, then every other element
        shape = (*shape[:-1], 2 * shape[-1])
    result = _draw(shape, dtype, device, low, high)
    if noncontiguous:
        result = result[..., 1::2]
    elif memory_format is not None:
        result = result.clone(memory_format=memory_format)
    if exclude_zero:
        result[result == 0] = 1 if dtype in _INTEGRAL else dtypes.finfo(dtype).tiny
    if dtype.is_floating_point or dtype.is_complex:
        result.requires_grad = requires_grad
    return result


def _draw(shape, dtype, device, low, high) -> Tensor:
    if dtype is dtypes.bool_:
        low, high = _low_high(dtype, low, high, 0, 2, 0, 2)
        return randint(low, high, shape, device=device, dtype=dtype)
    if dtype in _INTEGRAL:
        info = dtypes.iinfo(dtype)
        highest = info.max + (1 if dtype is not dtypes.int64 else 0)
        low, high = _low_high(dtype, low, high, info.min, highest, -9, 10)
        return randint(low, high, shape, device=device, dtype=dtype)
    if dtype.is_floating_point or dtype.is_complex:
        info = dtypes.finfo(dtype)
        low, high = _low_high(dtype, low, high, info.min, info.max, -9, 9)
        result = empty(shape, device=device, dtype=dtype)  # float8: empty raises (no kernels)
        _uniform(view_as_real(result) if dtype.is_complex else result, low, high, info.max)
        return result
    raise TypeError(f"The requested dtype '{dtype}' is not supported by "
                    f"torch.testing.make_tensor(). To request support, file an issue at: "
                    f"https://github.com/pytorch/pytorch/issues")


def _uniform(t: Tensor, low: float, high: float, largest: float) -> None:
    if high - low >= largest:  # uniform_ needs high - low finite: draw half, then double
        t.uniform_(low / 2, high / 2).mul_(2)
    else:
        t.uniform_(low, high)


def _low_high(dtype, low, high, lowest_inclusive, highest_exclusive, default_low,
              default_high):
    """PyTorch's defaults, checks and clamping of `low` and `high`."""
    low = default_low if low is None else low
    high = default_high if high is None else high
    if any(isinstance(v, float) and math.isnan(v) for v in (low, high)):
        raise ValueError(f"`low` and `high` cannot be NaN, but got {low=} and {high=}")
    if low == high and dtype not in _INTEGRAL:
        warnings.warn("Passing `low==high` to `torch.testing.make_tensor` for floating or "
                      "complex types is deprecated since 2.1 and will be removed in 2.3. Use "
                      "`torch.full(...)` instead.", FutureWarning, stacklevel=4)
    elif low >= high:
        raise ValueError(f"`low` must be less than `high`, but got {low} >= {high}")
    elif high < lowest_inclusive or low >= highest_exclusive:
        raise ValueError(f"The value interval specified by `low` and `high` is [{low}, {high}), "
                         f"but {dtype} only supports [{lowest_inclusive}, {highest_exclusive})")
    low = min(max(low, lowest_inclusive), highest_exclusive)
    high = min(max(high, lowest_inclusive), highest_exclusive)
    if dtype in _INTEGRAL:
        return math.ceil(low), math.ceil(high)
    return low, high
