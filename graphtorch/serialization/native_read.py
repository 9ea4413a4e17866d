"""Reading graphtorch checkpoints (format versions 1 and 2), trusting nothing in them.

The manifest must match its checksum and then its schema: every field has the expected
type and range (a tensor index of -1, `requires_grad: "yes"`, an unknown kind or key is
refused), every tensor's geometry fits its storage, and each storage is a distinct member
whose size the zip directory declares exactly. Version 1 files (one contiguous blob per
tensor) are read through the same checks.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import math
import re
from collections import OrderedDict

from .. import dtypes
from ..device import device
from ..nn.parameter import Parameter
from ..sparse import rebuild_sparse
from ..tensor import Size
from . import storage_types
from .allowed import Policy, data_globals, graphtorch_value_globals
from .errors import CheckpointError
from .native_write import MAGIC, MAX_TREE_DEPTH
from .storage_table import StorageTable
from .unpickler import run
from .views import contiguous_strides

_MAX_NODE_DEPTH = 3 * MAX_TREE_DEPTH  # headroom over what gt.save writes as JSON
_SHA256 = re.compile(r"[0-9a-f]{64}")
_STORAGE_V2 = {"file": str, "dtype": str, "numel": int, "device": str, "sha256": str}
_TENSOR_V2 = {"storage": int, "offset": int, "shape": list, "stride": list,
              "requires_grad": bool, "parameter": bool}
_TENSOR_V1 = {"dtype": str, "shape": list, "requires_grad": bool, "parameter": bool,
              "sha256": str, "file": str}


def load_native(archive, map_location, weights_only: bool, pickle_module, pickle_args):
    name = archive.name
    if archive.read("format", limit=64) != MAGIC.encode():
        raise CheckpointError(f"{name}: unknown checkpoint format")
    manifest_bytes = archive.read("manifest.json")
    digest = archive.read("manifest.sha256", limit=64)
    if hashlib.sha256(manifest_bytes).hexdigest().encode() != digest:
        raise CheckpointError(f"{name}: the manifest does not match its checksum (the file was "
                              "altered or damaged)")
    try:
        manifest = json.loads(manifest_bytes)
    except (ValueError, RecursionError, MemoryError) as exc:
        raise CheckpointError(f"{name}: the manifest is not valid JSON ({exc})") from None
    _fields(name, "manifest", manifest, {"format": str, "version": int, "tensors": list},
            optional={"storages": list, "root": object, "pickle": dict})
    if manifest["format"] != MAGIC:
        raise CheckpointError(f"{name}: the manifest is for format {manifest['format']!r:.40}")
    version = manifest["version"]
    if version == 1:
        storages, tensor_metas = _upgrade_v1(name, manifest)
    elif version == 2:
        if "storages" not in manifest:
            raise CheckpointError(f"{name}: the manifest has no 'storages'")
        storages, tensor_metas = manifest["storages"], manifest["tensors"]
    else:
        raise CheckpointError(f"{name}: unsupported checkpoint version {version!r}")
    tensors = _read_tensors(archive, storages, tensor_metas, map_location)
    if "pickle" in manifest:
        if manifest.get("root") is not None or version < 2:
            raise CheckpointError(f"{name}: the manifest has both a JSON root and a pickle")
        return _unpickle(archive, manifest["pickle"], tensors, weights_only, pickle_module,
                         pickle_args)
    if "root" not in manifest:
        raise CheckpointError(f"{name}: the manifest has no 'root'")
    return _Decoder(name, tensors).decode(manifest["root"], 0)


def _fields(name, what, value, required: dict, optional: dict | None = None):
    """`value` must be a dict with exactly the required keys (and maybe optional ones),
    each of its expected JSON type (bool is not an int here)."""
    if type(value) is not dict:
        raise CheckpointError(f"{name}: {what} must be an object, got {type(value).__name__}")
    optional = optional or {}
    unknown = set(value) - set(required) - set(optional)
    missing = set(required) - set(value)
    if unknown or missing:
        raise CheckpointError(f"{name}: {what} has unknown keys {sorted(unknown)} or lacks "
                              f"{sorted(missing)}")
    for key, kind in {**required, **optional}.items():
        if key in value and kind is not object and type(value[key]) is not kind:
            raise CheckpointError(f"{name}: {what}[{key!r}] must be {kind.__name__}, got "
                                  f"{value[key]!r:.60}")


def _int_list(name, what, values):
    if not all(type(v) is int for v in values):
        raise CheckpointError(f"{name}: {what} must be a list of integers, got {values!r:.80}")
    return values


def _upgrade_v1(name, manifest):
    """Version 1 (one contiguous blob per tensor) as version-2 storages and tensors."""
    storages, tensors = [], []
    for i, meta in enumerate(manifest["tensors"]):
        where = f"tensor {i}"
        _fields(name, where, meta, _TENSOR_V1, optional={"device": str})
        shape = _int_list(name, f"{where} shape", meta["shape"])
        if any(s < 0 for s in shape):
            raise CheckpointError(f"{name}: {where} has a negative dimension {shape}")
        storages.append({"file": meta["file"], "dtype": meta["dtype"],
                         "numel": math.prod(shape), "device": meta.get("device", "cpu"),
                         "sha256": meta["sha256"]})
        tensors.append({"storage": i, "offset": 0, "shape": shape,
                        "stride": contiguous_strides(shape),
                        "requires_grad": meta["requires_grad"], "parameter": meta["parameter"]})
    return storages, tensors


def _read_tensors(archive, storages, tensor_metas, map_location):
    name = archive.name
    files = set()
    for i, meta in enumerate(storages):
        _fields(name, f"storage {i}", meta, _STORAGE_V2)
        if meta["file"] in files or meta["file"] in ("format", "manifest.json",
                                                      "manifest.sha256", "data.pkl"):
            raise CheckpointError(f"{name}: member {meta['file']!r:.100} is used by two storages")
        files.add(meta["file"])
        if meta["numel"] < 0:
            raise CheckpointError(f"{name}: storage {i} has a negative element count")
        if not _SHA256.fullmatch(meta["sha256"]):
            raise CheckpointError(f"{name}: storage {i} has a malformed checksum")
        storage_types.element_size(f"{name}: storage {i}", meta["dtype"])
    table = StorageTable(archive, map_location)
    tensors = []
    for i, meta in enumerate(tensor_metas):
        where = f"{name}: tensor {i}"
        _fields(name, f"tensor {i}", meta, _TENSOR_V2)
        index = meta["storage"]
        if not 0 <= index < len(storages):
            raise CheckpointError(f"{where} refers to storage {index}; the file has "
                                  f"{len(storages)}")
        s = storages[index]
        root = table.storage(index, s["file"], s["dtype"], s["numel"], s["device"], s["sha256"])
        t = table.tensor(root, meta["offset"], _int_list(name, "shape", meta["shape"]),
                         _int_list(name, "stride", meta["stride"]), where)
        if meta["requires_grad"] and not t.dtype.is_floating_point and not t.dtype.is_complex:
            raise CheckpointError(f"{where}: only floating point tensors can require gradients")
        if meta["parameter"]:
            t = Parameter(t, meta["requires_grad"])
        elif meta["requires_grad"]:
            t.requires_grad_(True)
        tensors.append(t)
    return tensors


def _unpickle(archive, meta, tensors, weights_only, pickle_module, pickle_args):
    name = archive.name
    _fields(name, "pickle", meta, {"file": str, "sha256": str})
    if meta["file"] != "data.pkl":
        raise CheckpointError(f"{name}: the pickle must be the member 'data.pkl'")
    data = archive.read("data.pkl")
    if hashlib.sha256(data).hexdigest() != meta["sha256"]:
        raise CheckpointError(f"{name}: data.pkl does not match its checksum")

    def tensor_ref(pid):
        if type(pid) is not tuple or len(pid) != 2 or pid[0] != "tensor" or \
                type(pid[1]) is not int or not 0 <= pid[1] < len(tensors):
            raise CheckpointError(f"{name}: data.pkl refers to an unknown tensor {pid!r:.60}")
        return tensors[pid[1]]

    if weights_only:
        policy = Policy({**data_globals(), **graphtorch_value_globals()}, tensor_ref)
        return run(data, policy, f"{name}: data.pkl")

    class TensorRefUnpickler(pickle_module.Unpickler):
        def persistent_load(self, pid):
            return tensor_ref(pid)

    return TensorRefUnpickler(io.BytesIO(data), **pickle_args).load()


class _Decoder:
    """The object tree of a version 1/2 manifest, every node checked."""

    def __init__(self, name: str, tensors: list):
        self.name = name
        self.tensors = tensors

    def fail(self, message: str):
        raise CheckpointError(f"{self.name}: manifest root: {message}")

    def decode(self, node, depth: int):
        if depth > _MAX_NODE_DEPTH:
            self.fail(f"nested deeper than {_MAX_NODE_DEPTH} levels")
        if node is None or type(node) in (bool, str, int):
            return node
        if type(node) is not dict or type(node.get("t")) is not str:
            self.fail(f"expected an entry object, got {node!r:.60}")
        kind = node["t"]
        handler = getattr(self, f"_kind_{kind}", None)
        if handler is None:
            self.fail(f"unknown entry kind {kind!r:.100}")
        try:
            return handler(node, depth + 1)
        except CheckpointError:
            raise
        except (TypeError, ValueError, KeyError, OverflowError, AttributeError, binascii.Error,
                RuntimeError) as exc:
            self.fail(f"malformed {kind!r:.100} entry ({type(exc).__name__}: {exc})")

    def _keys(self, node, *keys):
        if set(node) != {"t", *keys}:
            self.fail(f"a {node['t']!r:.100} entry must have exactly the keys {['t', *keys]}")

    def _items(self, node, depth):
        self._keys(node, "items")
        if type(node["items"]) is not list:
            self.fail("'items' must be a list")
        return [self.decode(v, depth) for v in node["items"]]

    def _kind_int(self, node, depth):
        self._keys(node, "v")
        if type(node["v"]) is not str or not re.fullmatch(r"-?[0-9]{1,4300}", node["v"]):
            self.fail("an 'int' entry holds decimal digits")
        return int(node["v"])

    def _kind_float(self, node, depth):
        self._keys(node, "v")
        return float.fromhex(node["v"])

    def _kind_complex(self, node, depth):
        self._keys(node, "re", "im")
        return complex(float.fromhex(node["re"]), float.fromhex(node["im"]))

    def _kind_tensor(self, node, depth):
        self._keys(node, "i")
        index = node["i"]
        if type(index) is not int or not 0 <= index < len(self.tensors):
            self.fail(f"tensor index {index!r:.30} is not one of the file's "
                      f"{len(self.tensors)} tensors")
        return self.tensors[index]

    def _kind_sparse(self, node, depth):
        self._keys(node, "layout", "size", "coalesced", "requires_grad", "parts")
        parts = [self._kind_tensor({"t": "tensor", "i": i}, depth) for i in node["parts"]]
        return rebuild_sparse(node["layout"], parts, _int_list(self.name, "size", node["size"]),
                              bool(node["coalesced"]), bool(node["requires_grad"]))

    def _pairs(self, node, depth):
        if type(node.get("items")) is not list or \
                not all(type(p) is list and len(p) == 2 for p in node["items"]):
            self.fail("'items' must be a list of [key, value] pairs")
        return [(self.decode(k, depth), self.decode(v, depth)) for k, v in node["items"]]

    def _kind_dict(self, node, depth):
        self._keys(node, "items")
        return dict(self._pairs(node, depth))

    def _kind_odict(self, node, depth):
        if set(node) - {"metadata"} != {"t", "items"}:
            self.fail("an 'odict' entry has the keys t, items and maybe metadata")
        out = OrderedDict(self._pairs(node, depth))
        if "metadata" in node:
            metadata = self.decode(node["metadata"], depth)
            if not isinstance(metadata, dict):
                self.fail("state-dict metadata must be a dict")
            out._metadata = metadata
        return out

    def _kind_list(self, node, depth):
        return self._items(node, depth)

    def _kind_tuple(self, node, depth):
        return tuple(self._items(node, depth))

    def _kind_set(self, node, depth):
        return set(self._items(node, depth))

    def _kind_frozenset(self, node, depth):
        return frozenset(self._items(node, depth))

    def _kind_size(self, node, depth):
        self._keys(node, "v")
        if type(node["v"]) is not list:
            self.fail("a 'size' entry holds a list of integers")
        return Size(_int_list(self.name, "size", node["v"]))

    def _kind_bytes(self, node, depth):
        self._keys(node, "v")
        return base64.b64decode(node["v"].encode("ascii"), validate=True)

    def _kind_bytearray(self, node, depth):
        return bytearray(self._kind_bytes(node, depth))

    def _kind_dtype(self, node, depth):
        self._keys(node, "v")
        if node["v"] not in dtypes._BY_NAME:
            self.fail(f"unknown dtype {node['v']!r:.40}")
        return dtypes._BY_NAME[node["v"]]

    def _kind_device(self, node, depth):
        self._keys(node, "v")
        if type(node["v"]) is not str:
            self.fail("a 'device' entry holds a string")
        return device(node["v"])

