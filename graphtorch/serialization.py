"""`gt.save` / `gt.load`: a safe checkpoint format, plus reading PyTorch's own `.pt` files.

graphtorch checkpoints are zip archives holding a JSON manifest (the object tree: dicts,
lists, tuples, numbers, strings, tensors by index) and one raw little-endian blob per
tensor with its SHA-256. Loading never unpickles anything, so an untrusted file cannot run
code; a truncated or altered file fails its checks with a clear error. Saving to a path is
atomic: the archive is written to a temporary file in the same folder, then renamed.
PyTorch `.pt` files (its zip format) load through a restricted unpickler that accepts only
tensor-rebuilding records and OrderedDict.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from collections import OrderedDict

import numpy as np

from . import dtypes
from .tensor import Tensor

_MAGIC = "graphtorch-checkpoint"
_VERSION = 1


class CheckpointError(RuntimeError):
    """A checkpoint that is truncated, altered, or not a checkpoint at all."""


# --- saving ------------------------------------------------------------------------------

class _Writer:
    def __init__(self):
        self.tensors = []
        self.blobs = []
        self._index = {}

    def encode(self, obj):
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, int):
            return {"t": "int", "v": str(obj)} if abs(obj) >= 2 ** 53 else obj
        if isinstance(obj, float):
            return {"t": "float", "v": obj.hex()}
        if isinstance(obj, Tensor):
            return {"t": "tensor", "i": self._tensor(obj)}
        if isinstance(obj, dict):
            return {"t": "odict" if isinstance(obj, OrderedDict) else "dict",
                    "items": [[self.encode(k), self.encode(v)] for k, v in obj.items()]}
        if isinstance(obj, list):
            return {"t": "list", "items": [self.encode(v) for v in obj]}
        if isinstance(obj, tuple):
            return {"t": "tuple", "items": [self.encode(v) for v in obj]}
        if isinstance(obj, dtypes.DType):
            return {"t": "dtype", "v": obj.name}
        if isinstance(obj, (np.integer, np.floating, np.bool_)):
            return self.encode(obj.item())
        from .device import device

        if isinstance(obj, device):
            return {"t": "device", "v": str(obj)}
        from .nn.modules.module import Module

        if isinstance(obj, Module):
            raise TypeError("gt.save stores tensors and plain containers only (so that loading "
                            "can never run code); save model.state_dict() instead of the "
                            "module")
        raise TypeError(f"gt.save cannot store an object of type {type(obj).__name__}; "
                        "supported: tensors, dicts, lists, tuples, numbers, strings, None")

    def _tensor(self, t: Tensor) -> int:
        key = id(t)
        if key in self._index:
            return self._index[key]
        from .nn.parameter import Parameter

        array = np.asarray(_host(t._data), order="C")  # (ascontiguousarray makes 0-d 1-d)
        data = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
        index = len(self.tensors)
        self.tensors.append({"dtype": t.dtype.name, "shape": list(array.shape),
                             "requires_grad": bool(t.requires_grad),
                             "parameter": isinstance(t, Parameter), "device": str(t.device),
                             "sha256": hashlib.sha256(data).hexdigest(),
                             "file": f"tensors/{index}"})
        self.blobs.append(data)
        self._index[key] = index
        return index


def _host(array):
    return array if type(array) is np.ndarray else array.get()


def save(obj, f, pickle_module=None, pickle_protocol=None,
         _use_new_zipfile_serialization=True) -> None:
    """Save tensors and containers of them (state dicts, optimizer states, checkpoints).

    >>> gt.save({"epoch": 3, "weight": gt.ones(2)}, "ckpt.pt")
    """
    writer = _Writer()
    root = writer.encode(obj)
    manifest = json.dumps({"format": _MAGIC, "version": _VERSION, "root": root,
                           "tensors": writer.tensors}).encode()
    if isinstance(f, (str, os.PathLike)):
        path = os.fspath(f)
        folder = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(prefix=".graphtorch-", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "wb") as handle:
                _write_archive(handle, manifest, writer)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)  # atomic: readers see the old file or the new one
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
    else:
        _write_archive(f, manifest, writer)


def _write_archive(handle, manifest: bytes, writer: _Writer) -> None:
    with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("format", _MAGIC)
        archive.writestr("manifest.json", manifest)
        archive.writestr("manifest.sha256", hashlib.sha256(manifest).hexdigest())
        for meta, blob in zip(writer.tensors, writer.blobs):
            archive.writestr(meta["file"], blob)


# --- loading -----------------------------------------------------------------------------

def load(f, map_location=None, pickle_module=None, *, weights_only=True, mmap=None,
         **pickle_load_args):
    """Load a checkpoint written by `gt.save` or a PyTorch `.pt` state dict.

    `map_location` may be a device (or string), a dict mapping saved device names, or a
    callable(storage, location) as in PyTorch.
    """
    name = os.fspath(f) if isinstance(f, (str, os.PathLike)) else getattr(f, "name", "<stream>")
    try:
        archive = zipfile.ZipFile(f if not isinstance(f, (str, os.PathLike)) else os.fspath(f))
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise CheckpointError(f"{name} is not a readable checkpoint: the file is truncated, "
                              f"damaged, or in PyTorch's legacy (non-zip) format ({exc})") from None
    with archive:
        names = archive.namelist()
        try:
            if "format" in names:
                return _load_graphtorch(archive, name, map_location)
            if any(n.endswith("data.pkl") for n in names):
                from ._torch_checkpoint import load_torch_zip

                return load_torch_zip(archive, name, map_location)
        except (zipfile.BadZipFile, EOFError, KeyError, ValueError, json.JSONDecodeError) as exc:
            raise CheckpointError(f"{name}: damaged checkpoint ({exc})") from None
    raise CheckpointError(f"{name} is a zip archive but neither a graphtorch nor a PyTorch "
                          "checkpoint")


def _read(archive, member: str, name: str) -> bytes:
    try:
        return archive.read(member)
    except zipfile.BadZipFile as exc:  # CRC mismatch or truncated member
        raise CheckpointError(f"{name}: member {member!r} is damaged ({exc})") from None


def _load_graphtorch(archive, name, map_location):
    if _read(archive, "format", name).decode() != _MAGIC:
        raise CheckpointError(f"{name}: unknown checkpoint format")
    manifest_bytes = _read(archive, "manifest.json", name)
    digest = _read(archive, "manifest.sha256", name).decode()
    if hashlib.sha256(manifest_bytes).hexdigest() != digest:
        raise CheckpointError(f"{name}: the manifest does not match its checksum (the file was "
                              "altered)")
    manifest = json.loads(manifest_bytes)
    if manifest.get("version") != _VERSION:
        raise CheckpointError(f"{name}: unsupported checkpoint version {manifest.get('version')}")
    tensors = [_read_tensor(archive, meta, name, map_location) for meta in manifest["tensors"]]
    return _decode(manifest["root"], tensors)


def _read_tensor(archive, meta, name, map_location):
    from .nn.parameter import Parameter

    data = _read(archive, meta["file"], name)
    if hashlib.sha256(data).hexdigest() != meta["sha256"]:
        raise CheckpointError(f"{name}: tensor data {meta['file']!r} does not match its checksum")
    dtype = dtypes.as_dtype(meta["dtype"])
    count = int(np.prod(meta["shape"])) if meta["shape"] else 1
    if len(data) != count * dtype.itemsize:
        raise CheckpointError(f"{name}: tensor data {meta['file']!r} has the wrong size")
    array = np.frombuffer(data, dtype=dtype.np_dtype.newbyteorder("<")).astype(
        dtype.np_dtype).reshape(meta["shape"])
    t = Tensor._wrap(array.copy())
    t = map_tensor(t, meta.get("device", "cpu"), map_location)
    if meta.get("parameter"):
        return Parameter(t, meta["requires_grad"])
    if meta["requires_grad"]:
        t.requires_grad_(True)
    return t


def map_tensor(t: Tensor, saved_location: str, map_location) -> Tensor:
    """Apply PyTorch's `map_location` rules to a loaded CPU tensor."""
    target = saved_location
    if map_location is None:
        pass
    elif callable(map_location):
        result = map_location(t, saved_location)
        if isinstance(result, Tensor):
            return result
        target = saved_location if result is None else str(result)
    elif isinstance(map_location, dict):
        target = map_location.get(saved_location, saved_location)
    else:
        target = str(map_location)
    if target.startswith("cuda"):
        from . import cuda

        if not cuda.is_available():
            raise RuntimeError("Attempting to deserialize object on a CUDA device but "
                               "torch.cuda.is_available() is False. If you are running on a "
                               "CPU-only machine, please use torch.load with "
                               "map_location=torch.device('cpu') to map your storages to the "
                               "CPU.")
        if ":" in target and int(target.split(":")[1]) >= cuda.device_count():
            raise RuntimeError(f"Attempting to deserialize object on CUDA device "
                               f"{int(target.split(':')[1])} but torch.cuda.device_count() is "
                               f"{cuda.device_count()}. Please use torch.load with "
                               "map_location to map your storages to an existing device.")
        return t.to(target)
    return t


def _decode(node, tensors):
    if node is None or isinstance(node, (bool, str, int)):
        return node
    kind = node["t"]
    if kind == "int":
        return int(node["v"])
    if kind == "float":
        return float.fromhex(node["v"])
    if kind == "tensor":
        return tensors[node["i"]]
    if kind in ("dict", "odict"):
        items = [(_hashable(_decode(k, tensors)), _decode(v, tensors)) for k, v in node["items"]]
        return OrderedDict(items) if kind == "odict" else dict(items)
    if kind == "list":
        return [_decode(v, tensors) for v in node["items"]]
    if kind == "tuple":
        return tuple(_decode(v, tensors) for v in node["items"])
    if kind == "dtype":
        return dtypes.as_dtype(node["v"])
    if kind == "device":
        from .device import device

        return device(node["v"])
    raise CheckpointError(f"unknown entry kind {kind!r} in checkpoint manifest")


def _hashable(key):
    return tuple(key) if isinstance(key, list) else key

