"""The memory order of results whose layout the tracer does not track (dynamic sizes).

With symbolic sizes the tracer keeps no strides for a permuted view or for a result computed
from one (`SymbolicArray.layout_unknown`). Eager code lays such a result out in the same
memory order at every size of a dynamic dim (sizes 0 and 1 stay static), so the op is run
once on zero-filled stand-ins with the sizes seen while tracing (the hints) and the inputs'
layouts at those sizes; the result's strides there (`SymbolicArray.hint_strides`, in
elements) give its order, from which `compiler.outputs` lays out a returned result as eager
does at any size.
"""

from __future__ import annotations

import numpy as np

from ..symbolic import SymInt
from ..tensor import Tensor
from ..trace_state import SymbolicArray, _hints, array_with_strides


def hinted(value):
    """`value` with every SymInt replaced by its hint (in tuples, lists and dicts too)."""
    if isinstance(value, SymInt):
        return value.hint
    if isinstance(value, (tuple, list)):
        return type(value)(hinted(v) for v in value)
    if isinstance(value, dict):
        return {k: hinted(v) for k, v in value.items()}
    return value


def hint_stand_in(x):
    """A zero-filled array laid out as tensor `x` at the hint sizes (other values hinted);
    raises TypeError when its layout there is not known."""
    if isinstance(x, Tensor):
        data = x._data
        if type(data) is np.ndarray:
            return data
        if type(data) is not SymbolicArray:
            raise TypeError("not on the CPU")
        shape = _hints(data.shape)
        if data.layout_unknown:
            strides = data.hint_strides
            if strides is None:
                raise TypeError("layout unknown at the hints too")
            strides = tuple(st * data.dtype.itemsize for st in strides)
        elif data._strides is not None:
            strides = _hints(data._strides)
        else:
            return np.zeros(shape, data.dtype)
        if any(st < 0 for st in strides):
            raise TypeError("negative strides")
        return array_with_strides(shape, data.dtype, strides, zeroed=True, writeable=False)
    if isinstance(x, (list, tuple)) and any(isinstance(t, Tensor) for t in x):
        return [hint_stand_in(t) for t in x]
    return hinted(x)


# Stand-ins larger than this (elements, all inputs) are not built: the trace would spend
# too long running the op; such a result's layout stays unknown.
MAX_STAND_IN_ELEMENTS = 1 << 22


def _elements(x) -> int:
    if isinstance(x, np.ndarray):
        return x.size
    if isinstance(x, list):
        return sum(_elements(a) for a in x)
    return 0


def hint_layouts(op, inputs, attrs) -> list | None:
    """Per result of `op`, its strides in elements at the hint sizes (None for a result
    that is not an array), or None when the op cannot run on stand-ins (a random op would
    draw from the generator: never run)."""
    if op.random:
        return None
    try:
        arrays = [hint_stand_in(x) for x in inputs]
        if sum(_elements(a) for a in arrays) > MAX_STAND_IN_ELEMENTS:
            return None
        with np.errstate(all="ignore"):
            out = op.kernel(np, *arrays, **hinted(attrs))
    except Exception:  # noqa: BLE001 - the layout stays unknown, as before
        return None
    outs = out if isinstance(out, tuple) else (out,)
    return [tuple(st // o.itemsize for st in o.strides) if isinstance(o, np.ndarray) else None
            for o in outs]
