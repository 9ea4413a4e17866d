"""Storages read once and shared: the tensors of one file view them, as in PyTorch.

A storage is read (after its declared size matched the zip directory), checked, decoded and
moved by `map_location` the first time a tensor refers to it; every later tensor on the same
storage is a view of the same memory. So a file can never make the loader allocate more
than the members it holds, and a view saved with its base comes back sharing its memory.
"""

from __future__ import annotations

import hashlib

from ..tensor import Tensor
from . import storage_types
from .errors import CheckpointError
from .locations import restore
from .views import build_view, check_view


class StorageTable:
    """The storages of one archive, keyed by the name the file gives them."""

    def __init__(self, archive, map_location, big_endian: bool = False):
        self.archive = archive
        self.name = archive.name
        self.map_location = map_location
        self.big_endian = big_endian
        self._roots: dict = {}

    def storage(self, key, member: str, dtype_name: str, numel: int, location: str,
                sha256: str | None = None) -> Tensor:
        """The 1-d tensor of storage `key` (read on first use)."""
        where = f"{self.name}: storage {member!r:.100}"
        declared = (member, dtype_name, numel, location)
        if key in self._roots:
            root, seen = self._roots[key]
            if seen != declared:
                raise CheckpointError(f"{where} is declared twice with different types, "
                                      f"sizes or locations: {seen} and {declared}")
            return root
        itemsize = storage_types.element_size(where, dtype_name)
        if not isinstance(numel, int) or isinstance(numel, bool) or numel < 0:
            raise CheckpointError(f"{where}: invalid element count {numel!r:.100}")
        raw = self.archive.read_array(member, numel * itemsize)
        if sha256 is not None and hashlib.sha256(raw).hexdigest() != sha256:
            raise CheckpointError(f"{where} does not match its checksum (the file was "
                                  "altered or damaged)")
        flat = storage_types.decode(where, raw, dtype_name, self.big_endian)
        root = restore(Tensor._wrap(flat), location, self.map_location, self.name)
        self._roots[key] = (root, declared)
        return root

    def tensor(self, root: Tensor, offset, size, stride, where: str) -> Tensor:
        """A tensor viewing `root`, after PyTorch's bounds checks."""
        data = root._data
        check_view(where, int(data.size), int(data.itemsize), offset, size, stride)
        try:
            view = build_view(data, offset, size, stride)
        except (ValueError, OverflowError, TypeError) as exc:  # the array module's own limits
            raise CheckpointError(f"{where}: cannot view the storage as sizes {list(size)}, "
                                  f"strides {list(stride)} ({exc})") from None
        t = Tensor._wrap(view)
        t._base = root  # shares the storage's memory and version counter
        t._view_ops = None  # an alias, not an autograd view
        return t
