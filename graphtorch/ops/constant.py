"""`constant`: a zero-input op whose output is a fixed tensor (made by constant folding).

The value lives in the ``value`` attribute as a `ConstantValue` (a read-only NumPy array
with a short repr, so graph dumps stay one line per node). The op is not in `REGISTRY`:
user code never calls it; passes create it and `graphtorch.ir.export` knows it by name.
"""

from __future__ import annotations

import numpy as np

from ..dtypes import from_numpy_dtype, short_name
from .registry import Category, OpDef, TensorMeta

_SHOWN_ELEMENTS = 8


class ConstantValue:
    """A NumPy array held by a `constant` node, printed briefly:
    ``array(f32[3, 4])``, or the values for at most 8 elements: ``array([1., 2.], f32)``.

    >>> ConstantValue(np.zeros((3, 4), np.float32))
    array(f32[3, 4])
    """

    __slots__ = ("array",)

    def __init__(self, array):
        array = np.array(array, copy=True)
        array.flags.writeable = False  # shared by graph copies: nobody may write into it
        self.array = array

    def _dtype_text(self) -> str:
        try:
            return short_name(from_numpy_dtype(self.array.dtype))
        except (TypeError, KeyError, ValueError):
            return str(self.array.dtype)

    def __repr__(self):
        a = self.array
        if a.size <= _SHOWN_ELEMENTS:
            values = np.array2string(a, separator=", ").replace("\n", "")
            return f"array({values}, {self._dtype_text()})"
        return f"array({self._dtype_text()}[{', '.join(str(s) for s in a.shape)}])"

    def __eq__(self, other):
        if not isinstance(other, ConstantValue):
            return NotImplemented
        a, b = self.array, other.array
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()

    def __hash__(self):
        a = self.array
        return hash((a.dtype.str, a.shape, a.tobytes()[:256]))


def _array(value):
    return value.array if isinstance(value, ConstantValue) else np.asarray(value)


def _constant_kernel(xp, value):
    return xp.array(_array(value), copy=True)  # a fresh, writeable array per run


def _constant_infer(value):
    a = _array(value)
    return TensorMeta(tuple(int(s) for s in a.shape), from_numpy_dtype(a.dtype))


CONSTANT = OpDef("constant", Category.OPAQUE, _constant_kernel, _constant_infer,
                 doc="a fixed tensor (attribute `value`, a ConstantValue); made by constant "
                     "folding, not in the registry")


def constant_array(value) -> np.ndarray:
    """The NumPy array of a `constant` node's ``value`` attribute (read-only)."""
    return _array(value)
