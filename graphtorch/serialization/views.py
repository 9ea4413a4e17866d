"""Tensors as (storage, offset, size, stride), checked as PyTorch's `set_` checks them.

Loading: `check_view` refuses any geometry that would reach outside its storage (negative
or non-integer values, int64 overflow, more bytes than the storage holds) before
`build_view` makes an array view of it, so a crafted file can never read memory it does
not own. Saving: `storage_of` places a view inside the memory of the tensor it views, so
that views saved with their base share one storage again after loading, as in PyTorch.
"""

from __future__ import annotations

import numpy as np

from .errors import CheckpointError

_INT64_MAX = 2 ** 63 - 1


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_view(where: str, storage_numel: int, itemsize: int, offset, size, stride) -> None:
    """Raise CheckpointError unless the view fits its storage (PyTorch's rules: sizes,
    strides and offset are non-negative int64 values; an empty view may have any offset)."""
    if not isinstance(size, (tuple, list)) or not isinstance(stride, (tuple, list)):
        raise CheckpointError(f"{where}: size and stride must be sequences of integers, got "
                              f"{type(size).__name__} and {type(stride).__name__}")
    if len(size) != len(stride):
        raise CheckpointError(f"{where}: unequal size length ({len(size)}) and stride length "
                              f"({len(stride)})")
    if not _is_int(offset) or not all(_is_int(v) for v in (*size, *stride)):
        raise CheckpointError(f"{where}: size, stride and storage offset must be integers")
    if offset < 0 or offset > _INT64_MAX:
        raise CheckpointError(f"{where}: invalid storage offset {offset}")
    if any(s < 0 for s in size):
        raise CheckpointError(f"{where}: negative dimension in size {list(size)}")
    if any(s < 0 for s in stride):
        raise CheckpointError(f"{where}: negative stride in {list(stride)}")
    if any(s > _INT64_MAX for s in size) or any(s * itemsize > _INT64_MAX for s in stride):
        raise CheckpointError(f"{where}: size or stride overflows int64: sizes={list(size)} "
                              f"and strides={list(stride)}")
    numel = 1
    for s in size:
        numel *= s
    if numel > _INT64_MAX:
        raise CheckpointError(f"{where}: numel: integer multiplication overflow (size "
                              f"{list(size)})")
    if numel == 0:
        return  # reads no memory: PyTorch accepts any offset here
    span = 1 + sum(st * (sz - 1) for sz, st in zip(size, stride))
    if span * itemsize > _INT64_MAX:
        raise CheckpointError(f"{where}: Storage size calculation overflowed with "
                              f"sizes={list(size)} and strides={list(stride)}")
    needed = (offset + span) * itemsize
    if needed > storage_numel * itemsize:
        raise CheckpointError(
            f"{where}: sizes {list(size)}, strides {list(stride)}, storage offset {offset}, and "
            f"itemsize {itemsize} requiring a storage size of {needed} are out of bounds for "
            f"storage of size {storage_numel * itemsize}")


def build_view(flat, offset: int, size, stride):
    """A view of the 1-d array `flat` (checked by `check_view` first). NumPy views keep
    `flat` as their base, so saving them again finds the shared storage."""
    size = tuple(int(s) for s in size)
    if 0 in size:
        return flat[:0].reshape(size)
    item = flat.itemsize
    strides = tuple(int(s) * item for s in stride)
    if type(flat) is np.ndarray:  # np.ndarray re-checks the bounds itself
        return np.ndarray(size, flat.dtype, buffer=flat, offset=int(offset) * item,
                          strides=strides)
    return type(flat)(size, flat.dtype, memptr=flat.data + int(offset) * item, strides=strides)


def storage_of(array, root):
    """(element offset, element strides) of `array` inside `root`, the memory of the tensor it
    views, or None when it cannot be described that way (then it is saved as a copy)."""
    if root.dtype != array.dtype or not (root.flags.c_contiguous or root.flags.f_contiguous):
        return None
    item = array.itemsize
    delta = _pointer(array) - _pointer(root)
    if array.size == 0 or root.size == 0 or delta % item or \
            any(s % item or s < 0 for s in array.strides):
        return None
    offset, strides = delta // item, tuple(s // item for s in array.strides)
    span = 1 + sum(st * (sz - 1) for sz, st in zip(array.shape, strides))
    if offset < 0 or offset + span > root.size:
        return None
    return offset, strides


def _pointer(array) -> int:
    if type(array) is np.ndarray:
        return array.__array_interface__["data"][0]
    return array.data.ptr


def contiguous_strides(size) -> list[int]:
    strides, acc = [], 1
    for s in reversed(size):
        strides.append(acc)
        acc *= max(s, 1)
    return strides[::-1]
