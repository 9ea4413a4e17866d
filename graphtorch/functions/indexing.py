"""`Tensor.__getitem__` / `__setitem__`.

Basic indexing (ints, slices, None, Ellipsis) becomes a chain of view ops (select, slice,
unsqueeze), so results share memory, as in PyTorch. Any tensor, list or bool index makes
it advanced indexing: one `index` op that copies. Assignment writes through a view
(`copy_`) or with `index_put`.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..dtypes import scalar_type_name
from ..ops import views as views_ops
from ..ops.dispatch import call, call_inplace
from ..ops.indexing import INDEX, INDEX_PUT
from ..symbolic import SymInt
from ..tensor import Tensor, legacy_type_name
from ._wrap import as_operand, int_scalar_for
from .creation import tensor


def _normalize(index) -> tuple:
    if not isinstance(index, tuple):
        index = (index,)
    return index


def _is_basic(item) -> bool:
    if item is None or item is Ellipsis or isinstance(item, slice):
        return True
    if isinstance(item, bool):
        return False
    if isinstance(item, numbers.Integral):
        return True
    if isinstance(item, Tensor) and item.ndim == 0 and item.dtype.name in (
            "int64", "int32", "int16", "int8", "uint8"):
        return True
    return False


def _int_of(item):
    return int(item.item()) if isinstance(item, Tensor) else int(item)


def _bound_of(item):
    """A slice bound as an int; a symbolic size stays symbolic (`x[:n]` with n traced
    from a dynamic size slices without specialising the graph to n's current value)."""
    return item if isinstance(item, SymInt) else _int_of(item)


def _count_dims(items) -> int:
    return sum(1 for i in items if i is not None and i is not Ellipsis and
               not isinstance(i, bool))


def _expand_ellipsis(items, ndim):
    if sum(1 for i in items if i is Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    used = sum(_dims_used(i) for i in items)
    if used > ndim:
        raise IndexError(f"too many indices for tensor of dimension {ndim}")
    out = []
    for i in items:
        if i is Ellipsis:
            out.extend([slice(None)] * (ndim - used))
        else:
            out.append(i)
    return out


def _dims_used(item):
    if item is None or item is Ellipsis or isinstance(item, bool):
        return 0
    if isinstance(item, Tensor) and item.dtype.name == "bool":
        return item.ndim
    if isinstance(item, np.ndarray) and item.dtype == bool:
        return item.ndim
    return 1


def _basic_getitem(self, items):
    items = _expand_ellipsis(items, self.ndim)
    out = self
    dim = 0
    changed = False
    for item in items:
        if item is None:
            out = call(views_ops.UNSQUEEZE, out, dim=dim)
            dim += 1
            changed = True
        elif isinstance(item, slice):
            if item.step is not None and _int_of(item.step) <= 0:
                raise ValueError("step must be greater than zero")
            if item != slice(None):
                start = None if item.start is None else _bound_of(item.start)
                stop = None if item.stop is None else _bound_of(item.stop)
                step = 1 if item.step is None else _int_of(item.step)
                out = call(views_ops.SLICE, out, dim=dim, start=start, stop=stop, step=step)
                changed = True
            dim += 1
        else:
            index = _int_of(item)
            size = out.shape[dim]
            if not -size <= index < size:
                raise IndexError(f"index {index} is out of bounds for dimension {dim} with "
                                 f"size {size}")
            out = call(views_ops.SELECT, out, dim=dim, index=index)
            changed = True
    return out if changed else call(views_ops.ALIAS, self)


def _advanced_spec(self, items):
    spec, tensors = [], []
    for item in items:
        if item is None:
            spec.append(("none",))
        elif item is Ellipsis:
            spec.append(("ellipsis",))
        elif isinstance(item, slice):
            spec.append(("slice", None if item.start is None else _int_of(item.start),
                         None if item.stop is None else _int_of(item.stop),
                         None if item.step is None else _int_of(item.step)))
            if item.step is not None and _int_of(item.step) <= 0:
                raise ValueError("step must be greater than zero")
        elif isinstance(item, numbers.Integral) and not isinstance(item, bool):
            spec.append(("int", int(item)))
        else:
            if not isinstance(item, Tensor):
                item = tensor(item)
            if item.device != self.device:
                item = item.to(self.device)
            spec.append(("tensor", len(tensors)))
            tensors.append(item)
    return tuple(spec), tensors


def _as_index_tuple(index) -> tuple:
    """PyTorch's reading of a list index: a list holding sequences, slices, None or
    Ellipsis is (deprecated) shorthand for a tuple; any other list is an index tensor."""
    if isinstance(index, list) and any(
            i is None or i is Ellipsis or isinstance(i, (slice, list, tuple, Tensor, np.ndarray))
            for i in index):
        import warnings

        warnings.warn("Using a non-tuple sequence for multidimensional indexing is deprecated "
                      "and will be changed in pytorch 2.9; use x[tuple(seq)] instead of x[seq]. "
                      "In pytorch 2.9 this will be interpreted as tensor index, "
                      "x[torch.tensor(seq)], which will result either in an error or a "
                      "different result", UserWarning, stacklevel=3)
        return tuple(index)
    return _normalize(index)


def _split_advanced(self, items):
    """PyTorch applies ints, slices and None as views first, then indexes the view with the
    tensors (so an int never counts as an advanced index, unlike NumPy).

    Returns (view, remaining items for the `index` op)."""
    basic, rest, needs_view = [], [], False
    for item in items:
        if item is Ellipsis:
            basic.append(item)
            rest.append(item)
        elif item is None or isinstance(item, slice):
            basic.append(item)
            rest.append(slice(None))
            needs_view = needs_view or item != slice(None)
        elif _is_basic(item):  # an int or a 0-d integer tensor
            basic.append(item)
            needs_view = True
        elif isinstance(item, bool):
            rest.append(item)
        else:
            basic.extend([slice(None)] * _dims_used(item))
            rest.append(item)
    if not needs_view:
        return self, items
    return _basic_getitem(self, basic), tuple(rest)


def getitem(self, index):
    """`self[index]` with PyTorch semantics (views for basic indexing)."""
    if type(index) is int and self._data.ndim:  # x[i], the commonest index: a select
        size = self.shape[0]
        if not -size <= index < size:
            raise IndexError(f"index {index} is out of bounds for dimension 0 with size {size}")
        return call(views_ops.SELECT, self, dim=0, index=index)
    items = _as_index_tuple(index)
    if all(_is_basic(i) for i in items):
        if self.ndim == 0 and _count_dims(items) > 0:
            raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
                             "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number")
        return _basic_getitem(self, items)
    view, items = _split_advanced(self, items)
    spec, tensors = _advanced_spec(view, items)
    return call(INDEX, view, *tensors, spec=spec)


def _check_value(self, value):
    if not isinstance(value, (Tensor, numbers.Number)):
        module = type(value).__module__
        name = type(value).__name__ if module == "builtins" else f"{module}.{type(value).__name__}"

        raise TypeError(f"can't assign a {name} to a {legacy_type_name(self.dtype)}")


def _check_put_dtype(self, value):
    if isinstance(value, Tensor) and value.dtype is not self.dtype:
        raise RuntimeError(f"Index put requires the source and destination dtypes match, got "
                           f"{scalar_type_name(self._data.dtype)} for the destination and "
                           f"{scalar_type_name(value._data.dtype)} for the source.")


def _without_leading_ones(value):
    """`value` viewed without its leading size-1 dims, as PyTorch's setitem assigns it
    (``slicePrefix1sSize``: ``a[0] = b.reshape(1, -1)`` works; ``a[0].copy_(...)`` not)."""
    if not isinstance(value, Tensor) or not value.ndim or value.shape[0] != 1:
        return value
    shape = tuple(value.shape)
    lead = 0
    while lead < len(shape) and shape[lead] == 1:
        lead += 1
    return value.view(shape[lead:])


def setitem(self, index, value):
    """`self[index] = value`: written in place (through a view, or by index_put)."""
    _check_value(self, value)
    value = as_operand(value)
    items = _as_index_tuple(index)
    if all(_is_basic(i) for i in items):
        target = self if len(items) == 1 and items[0] is Ellipsis else _basic_getitem(self, items)
        if isinstance(value, Tensor) and value.shape != target.shape:
            value = _without_leading_ones(value)
        target.copy_(value)
        return
    value = _without_leading_ones(value)
    _check_put_dtype(self, value)
    value = int_scalar_for(self._data.dtype, value)
    view, items = _split_advanced(self, items)
    spec, tensors = _advanced_spec(view, items)
    if isinstance(value, Tensor) and value.device != self.device:
        value = value.to(self.device)
    call_inplace(INDEX_PUT, view, value, *tensors, spec=spec)


def index_put(input, indices, values, accumulate=False):
    """A copy of input with input[indices] = values (or += with accumulate)."""
    _check_put_dtype(input, values)
    spec = tuple(("tensor", k) for k in range(len(indices)))
    return call(INDEX_PUT, input, as_operand(values), *indices, spec=spec,
                accumulate=accumulate)


def index_put_(self, indices, values, accumulate=False):
    """In-place `index_put`."""
    _check_put_dtype(self, values)
    spec = tuple(("tensor", k) for k in range(len(indices)))
    return call_inplace(INDEX_PUT, self, as_operand(values), *indices, spec=spec,
                        accumulate=accumulate)


