"""`gt.save`: graphtorch's checkpoint format (version 2).

A zip archive of: `format`; `manifest.json` (storages, tensors as views of them, and the
object tree) with `manifest.sha256`; one raw little-endian member per storage with its
SHA-256. Plain trees of containers, numbers, strings and tensors are written as JSON, so
loading them never unpickles anything. Anything else (a whole `nn.Module`, user classes,
containers shared or containing themselves) is pickled into `data.pkl`, as `torch.save`
would, with every tensor replaced by a reference into the same checked storage table.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import pickle
import zipfile
from collections import OrderedDict

import numpy as np

from .. import dtypes
from ..device import device
from ..nn.parameter import Parameter
from ..sparse import SparseTensor, sparse_parts
from ..tensor import Size, Tensor
from .atomic import write_atomically
from .views import contiguous_strides, storage_of

MAGIC = "graphtorch-checkpoint"
VERSION = 2
DEFAULT_PROTOCOL = 2  # torch.save's
MAX_TREE_DEPTH = 32  # deeper objects are pickled (JSON parsers recurse)
# fixed member dates: saving the same object twice gives the same bytes
_EPOCH = (1980, 1, 1, 0, 0, 0)


class _NeedsPickle(Exception):
    """The object is not a plain tree that JSON can hold."""


class Writer:
    """Collects the storages and tensors of one save."""

    def __init__(self):
        self.storages: list[dict] = []
        self.tensors: list[dict] = []
        self.arrays: list = []  # host memory of each storage, in memory order
        self._storage_index: dict = {}
        self._tensor_index: dict = {}
        self._keep: list = []  # ids above stay valid while saving

    # --- tensors ---------------------------------------------------------------------
    def tensor(self, t: Tensor) -> int:
        key = id(t)
        if key in self._tensor_index:
            return self._tensor_index[key]
        data = t._data
        if type(data).__name__ == "SymbolicArray":
            raise RuntimeError("gt.save cannot store a tensor being traced (inside gt.trace or "
                               "gt.compile); save after the call")
        # PyTorch's storage of a tensor: its base's memory for a view, else its own.
        root = t._base._data if t._base is not None else data
        placed = storage_of(data, root) if root is not data else None
        if placed is None:
            root = data if _contiguous(data) else data.copy()
            placed = 0, contiguous_strides(data.shape) if root.flags.c_contiguous or \
                not root.size else [s // root.itemsize for s in root.strides]
        offset, strides = placed
        index = len(self.tensors)
        self.tensors.append({"storage": self._storage(root, t.device), "offset": int(offset),
                             "shape": [int(s) for s in data.shape],
                             "stride": [int(s) for s in strides],
                             "requires_grad": bool(t.requires_grad),
                             "parameter": isinstance(t, Parameter)})
        self._tensor_index[key] = index
        self._keep.append(t)
        return index

    def sparse(self, t: SparseTensor) -> dict:
        """The JSON node of a sparse tensor: its layout, size and dense parts (index tensors,
        then the values)."""
        parts = sparse_parts(t)
        return {"t": "sparse", "layout": str(t.layout).removeprefix("torch."),
                "size": [int(s) for s in t.shape], "coalesced": t.is_sparse and t.is_coalesced(),
                "requires_grad": bool(t.requires_grad),
                "parts": [self.tensor(p.detach()) for p in parts]}

    def _storage(self, root, where: device) -> int:
        key = id(root)
        if key in self._storage_index:
            return self._storage_index[key]
        host = root if type(root) is np.ndarray else root.get()
        flat = host.ravel(order="K")  # memory order of a contiguous block: no copy
        flat = flat.astype(flat.dtype.newbyteorder("<"), copy=False).view(np.uint8)
        index = len(self.storages)
        self.storages.append({"file": f"storages/{index}",
                              "dtype": dtypes.from_numpy_dtype(root.dtype).name,
                              "numel": int(host.size), "device": str(where),
                              "sha256": hashlib.sha256(flat).hexdigest()})
        self.arrays.append(flat)
        self._storage_index[key] = index
        self._keep.append(root)
        return index

    # --- the object tree ---------------------------------------------------------------
    def encode(self, obj, depth: int = 0, seen: set | None = None):
        """The JSON node of `obj`; _NeedsPickle if it is not a plain, unshared tree."""
        seen = set() if seen is None else seen
        if depth > MAX_TREE_DEPTH:
            raise _NeedsPickle
        if obj is None or type(obj) in (bool, str):
            return obj
        kind = type(obj)
        if kind is int:
            return {"t": "int", "v": str(obj)} if abs(obj) >= 2 ** 53 else obj
        if kind is float:
            return {"t": "float", "v": obj.hex()}
        if kind is complex:
            return {"t": "complex", "re": obj.real.hex(), "im": obj.imag.hex()}
        if isinstance(obj, SparseTensor):
            return self.sparse(obj)
        if isinstance(obj, Tensor):
            return {"t": "tensor", "i": self.tensor(obj)}
        if isinstance(obj, (np.integer, np.floating, np.bool_)):
            return self.encode(obj.item(), depth, seen)
        if kind in (bytes, bytearray):
            return {"t": kind.__name__, "v": base64.b64encode(obj).decode("ascii")}
        if kind is dtypes.DType:
            return {"t": "dtype", "v": obj.name}
        if kind is device:
            return {"t": "device", "v": str(obj)}
        if kind is Size:
            return {"t": "size", "v": [int(s) for s in obj]}
        if kind not in (dict, OrderedDict, list, tuple, set, frozenset):
            raise _NeedsPickle
        if kind is not tuple and kind is not frozenset:
            if id(obj) in seen:  # shared or cyclic: pickle keeps the identity
                raise _NeedsPickle
            seen.add(id(obj))
        if kind in (dict, OrderedDict):
            node = {"t": "odict" if kind is OrderedDict else "dict",
                    "items": [[self.encode(k, depth + 1, seen), self.encode(v, depth + 1, seen)]
                              for k, v in obj.items()]}
            metadata = getattr(obj, "_metadata", None) if kind is OrderedDict else None
            if metadata is not None:
                node["metadata"] = self.encode(metadata, depth + 1, seen)
            return node
        return {"t": kind.__name__, "items": [self.encode(v, depth + 1, seen) for v in obj]}

    def pickle(self, obj, pickle_module, protocol: int) -> bytes:
        """`obj` pickled with each tensor as a reference into this writer's tables."""
        writer = self
        base = getattr(pickle_module, "Pickler", pickle.Pickler)

        class TensorRefPickler(base):
            def persistent_id(self, value):
                if isinstance(value, Tensor) and not isinstance(value, SparseTensor):
                    return ("tensor", writer.tensor(value))  # (sparse: its __reduce_ex__)
                return None

        buffer = io.BytesIO()
        try:
            TensorRefPickler(buffer, protocol=protocol).dump(obj)
        except RecursionError:
            raise ValueError("gt.save: the object is nested too deeply to be saved (pickle "
                             "recursion limit)") from None
        return buffer.getvalue()


def _contiguous(array) -> bool:
    return bool(array.flags.c_contiguous or array.flags.f_contiguous)


def save(obj, f, pickle_module=None, pickle_protocol=DEFAULT_PROTOCOL,
         _use_new_zipfile_serialization=True, _disable_byteorder_record=False) -> None:
    """Save tensors, containers of them, or whole objects (e.g. a model) to a file.

    Plain data (state dicts, optimizer states, checkpoint dicts) is stored as JSON plus raw
    tensor storages; other objects are pickled as `torch.save` pickles them, and loading
    those needs `weights_only=False` or `gt.serialization.add_safe_globals`. Views saved
    together with their base share one storage. Saving to a path replaces the file
    atomically (see docs/checkpoints.md).

    >>> gt.save({"epoch": 3, "model": model.state_dict()}, "ckpt.pt")
    >>> gt.save(model, "model.pt")          # whole model: gt.load(..., weights_only=False)
    """
    writer = Writer()
    try:
        root, data_pkl = writer.encode(obj), None
    except _NeedsPickle:
        writer = Writer()
        root, data_pkl = None, writer.pickle(obj, pickle_module or pickle,
                                             pickle_protocol or DEFAULT_PROTOCOL)
    manifest = {"format": MAGIC, "version": VERSION, "storages": writer.storages,
                "tensors": writer.tensors, "root": root}
    if data_pkl is not None:
        manifest["pickle"] = {"file": "data.pkl", "sha256": hashlib.sha256(data_pkl).hexdigest()}
    manifest_bytes = json.dumps(manifest, separators=(",", ":")).encode()

    def write(handle):
        write_archive(handle, manifest_bytes, writer, data_pkl)

    if isinstance(f, (str, os.PathLike)):
        write_atomically(f, write)
    else:
        write(f)


def write_archive(handle, manifest: bytes, writer: Writer, data_pkl: bytes | None) -> None:
    with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_STORED) as archive:
        _put(archive, "format", MAGIC.encode())
        _put(archive, "manifest.json", manifest)
        _put(archive, "manifest.sha256", hashlib.sha256(manifest).hexdigest().encode())
        if data_pkl is not None:
            _put(archive, "data.pkl", data_pkl)
        for meta, flat in zip(writer.storages, writer.arrays):
            info = zipfile.ZipInfo(meta["file"], date_time=_EPOCH)
            info.file_size = flat.nbytes
            with archive.open(info, "w", force_zip64=flat.nbytes >= zipfile.ZIP64_LIMIT) as out:
                out.write(memoryview(flat))


def _put(archive, name: str, data: bytes) -> None:
    archive.writestr(zipfile.ZipInfo(name, date_time=_EPOCH), data)
