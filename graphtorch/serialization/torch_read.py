"""Reading PyTorch's zip checkpoints (`torch.save` since 1.6) without running their pickle.

With `weights_only=True` the pickle runs in graphtorch's restricted interpreter, where
PyTorch's tensor rebuilders are replaced by checked ones: every storage is read once (its
size checked against the zip directory first) and every tensor is a bounds-checked view of
it. With `weights_only=False` Python's own unpickler runs it (that executes code named by
the file); `torch.*` classes resolve to their graphtorch namesakes, so a whole PyTorch
model loads as the same graphtorch model where graphtorch has its classes.
"""

from __future__ import annotations

import importlib
import io
import pickle
import re

from ..layout import sparse_coo, sparse_csr, strided
from ..nn.parameter import Parameter
from ..sparse import rebuild_sparse
from ..tensor import Tensor
from . import storage_types
from .allowed import Policy, _check_state_keys, data_globals, torch_value_globals
from .errors import CheckpointError
from .storage_table import StorageTable
from .unpickler import Refused, run

_KEY = re.compile(r"[A-Za-z0-9_.-]{1,64}")


class StorageType:
    """A `torch.FloatStorage`-style marker in a persistent id (None: untyped bytes)."""

    def __init__(self, dtype_name: str | None):
        self.dtype_name = dtype_name

    def __repr__(self):
        return f"StorageType(dtype={self.dtype_name})"


class _Storage:
    """A storage as the pickle refers to it, before a rebuild gives it an element type."""

    def __init__(self, key, dtype_name, numel, location):
        self.key, self.dtype_name, self.numel, self.location = key, dtype_name, numel, location


def find_prefix(archive) -> str | None:
    """The archive's record folder ("archive/" for ".../archive/data.pkl"), or None."""
    pickles = [n for n in archive.names if re.fullmatch(r"[^/]+/data\.pkl", n)]
    if not pickles:
        return None
    if len(pickles) > 1:
        raise CheckpointError(f"{archive.name}: several data.pkl records: {pickles[:4]}")
    return pickles[0][: -len("data.pkl")]


class TorchReader:
    """The rebuild functions and persistent ids of one PyTorch archive."""

    def __init__(self, archive, prefix: str, map_location):
        self.name = archive.name
        self.prefix = prefix
        big_endian = False
        if archive.has(f"{prefix}byteorder"):
            order = archive.read(f"{prefix}byteorder", limit=16)
            if order not in (b"little", b"big"):
                raise CheckpointError(f"{self.name}: unknown byte order {order!r}")
            big_endian = order == b"big"
        self.table = StorageTable(archive, map_location, big_endian)
        self._rebuilders = {
            "torch._utils._rebuild_tensor": self._rebuild_v1,
            "torch._utils._rebuild_tensor_v2": self._rebuild_v2,
            "torch._utils._rebuild_tensor_v3": self._rebuild_v3,
            "torch._utils._rebuild_parameter": self._rebuild_parameter,
            "torch._utils._rebuild_parameter_with_state": self._rebuild_parameter,
            "torch._tensor._rebuild_from_type_v2": self._rebuild_from_type,
            "torch._utils._rebuild_sparse_tensor": self._rebuild_sparse,
            "torch.serialization._get_layout": _layout_by_torch_name,
        }
        self._markers = {full: _Rebuilder(full, fn) for full, fn in self._rebuilders.items()}

    # --- tables for the two unpicklers --------------------------------------------------
    def entries(self) -> dict:
        """Allowed globals for weights_only=True: {"module.name": (object, call, new)}."""
        out = {**data_globals(), **torch_value_globals()}
        for full, marker in self._markers.items():
            out[full] = (marker, self._rebuilders[full], None)
        out["torch.nn.parameter.Parameter"] = (Parameter, self._make_parameter,
                                               self._make_parameter)
        out["torch.Tensor"] = (Tensor, None, None)
        for storage_name, dtype_name in storage_types.TORCH_STORAGE_TYPES.items():
            out[f"torch.{storage_name}"] = (StorageType(dtype_name), None, None)
        out["torch.storage.UntypedStorage"] = (StorageType(None), None, None)
        return out

    def persistent_load(self, pid):
        if type(pid) is not tuple or len(pid) != 5:
            raise Refused(f"Only persistent_load of storage is allowed, got {pid!r:.80}")
        kind, storage_type, key, location, numel = (_ascii(p) for p in pid)
        if kind != "storage" or not isinstance(storage_type, StorageType):
            raise Refused(f"Only persistent_load of storage is allowed, got {pid!r:.80}")
        if type(key) is not str or not _KEY.fullmatch(key) or type(location) is not str:
            raise CheckpointError(f"{self.name}: malformed storage id {pid!r:.80}")
        if type(numel) is not int or numel < 0:
            raise CheckpointError(f"{self.name}: storage {key} has an invalid size {numel!r:.40}")
        return _Storage(key, storage_type.dtype_name, numel, location)

    # --- checked rebuilders -----------------------------------------------------------
    def _rebuild_v1(self, args):
        _arity("_rebuild_tensor", args, 4, 4)
        return self._tensor(args[0], None, *args[1:4], False, None, None)

    def _rebuild_v2(self, args):
        _arity("_rebuild_tensor_v2", args, 6, 7)
        return self._tensor(args[0], None, *args[1:6], args[6] if len(args) > 6 else None)

    def _rebuild_v3(self, args):
        _arity("_rebuild_tensor_v3", args, 7, 8)
        dtype = args[6]
        if not hasattr(dtype, "itemsize") or not isinstance(getattr(dtype, "name", None), str):
            raise Refused(f"_rebuild_tensor_v3 needs a dtype, got {type(dtype).__name__}")
        return self._tensor(args[0], dtype.name, *args[1:6], args[7] if len(args) > 7 else None)

    def _tensor(self, storage, dtype_name, offset, size, stride, requires_grad, hooks, metadata):
        if not isinstance(storage, _Storage):
            raise Refused("a tensor must be rebuilt from a storage of this file")
        where = f"{self.name}: tensor on storage {storage.key!r}"
        numel = storage.numel
        if storage.dtype_name is None:  # untyped: the size is in bytes, the type comes here
            if dtype_name is None:
                raise CheckpointError(f"{where}: an untyped storage needs _rebuild_tensor_v3")
            itemsize = storage_types.element_size(where, dtype_name)
            if numel % itemsize:
                raise CheckpointError(f"{where}: {numel} bytes is not a whole number of "
                                      f"{dtype_name} elements")
            numel //= itemsize
        elif dtype_name is not None and dtype_name != storage.dtype_name:
            raise CheckpointError(f"{where}: a {storage.dtype_name} storage read as {dtype_name}")
        dtype_name = dtype_name or storage.dtype_name
        root = self.table.storage(storage.key, f"{self.prefix}data/{storage.key}", dtype_name,
                                  numel, storage.location)
        if not isinstance(size, tuple) or not isinstance(stride, tuple):
            raise CheckpointError(f"{where}: size and stride must be tuples")
        t = self.table.tensor(root, offset, tuple(size), stride, where)
        if type(requires_grad) is not bool:
            raise CheckpointError(f"{where}: requires_grad must be a bool")
        if requires_grad:
            if not (t.dtype.is_floating_point or t.dtype.is_complex):
                raise CheckpointError(f"{where}: only floating point tensors can require "
                                      "gradients")
            t.requires_grad_(True)
        _no_hooks(hooks)
        if any(metadata.values()) if isinstance(metadata, dict) else metadata is not None:
            raise CheckpointError(f"{where}: unsupported tensor metadata {metadata!r:.80}")
        return t

    def _rebuild_sparse(self, args):
        """PyTorch's ``(layout, (indices, values, size[, is_coalesced]))`` of a COO tensor or
        ``(layout, (crow, col, values, size))`` of a CSR one."""
        _arity("_rebuild_sparse_tensor", args, 2, 2)
        layout, data = args
        if layout not in (sparse_coo, sparse_csr) or type(data) is not tuple:
            raise Refused(f"_rebuild_sparse_tensor: only sparse_coo and sparse_csr tensors can "
                          f"be loaded, got {layout!r:.40}")
        if layout is sparse_coo:
            _arity("_rebuild_sparse_tensor data", data, 3, 4)
            coalesced = bool(data[3]) if len(data) == 4 else False
            return rebuild_sparse("sparse_coo", list(data[:2]), _size(data[2]), coalesced, False)
        _arity("_rebuild_sparse_tensor data", data, 4, 4)
        return rebuild_sparse("sparse_csr", list(data[:3]), _size(data[3]), False, False)

    def _make_parameter(self, args):
        _arity("Parameter", args, 1, 2)
        data, requires_grad = args[0], args[1] if len(args) > 1 else True
        if type(data) is not Tensor or type(requires_grad) is not bool:
            raise Refused("Parameter must be rebuilt from a tensor of this file and a bool")
        return Parameter(data, requires_grad)

    def _rebuild_parameter(self, args):
        _arity("_rebuild_parameter", args, 3, 4)
        _no_hooks(args[2])
        param = self._make_parameter(args[:2])
        if len(args) == 4:
            _set_attributes(param, args[3])
        return param

    def _rebuild_from_type(self, args):
        _arity("_rebuild_from_type_v2", args, 4, 4)
        func, new_type, func_args, state = args
        ours = any(m is func for m in self._markers.values())
        if not ours or new_type not in (Tensor, Parameter) or type(func_args) is not tuple:
            raise Refused("_rebuild_from_type_v2 may only rebuild plain tensors and parameters")
        result = func.fn(func_args)
        if new_type is Parameter and not isinstance(result, Parameter):
            result = Parameter(result, result.requires_grad)
        _set_attributes(result, state)
        return result

    # --- weights_only=False --------------------------------------------------------------
    def full_unpickler(self, data: bytes, pickle_module, pickle_args):
        """Python's unpickler (runs code named by the file) with graphtorch's rebuilders."""
        entries = self.entries()
        reader = self

        def resolve(module, name):
            full = f"{module}.{name}"
            if full in entries:
                obj, call, _ = entries[full]
                if isinstance(obj, _Rebuilder):
                    return obj
                return obj if call is None or isinstance(obj, type) else _caller(call)
            if module == "torch" or module.startswith("torch."):
                return _graphtorch_namesake(reader.name, module, name)
            return None

        class TorchUnpickler(pickle_module.Unpickler):
            def find_class(self, module, name):
                found = resolve(module, name)
                return found if found is not None else super().find_class(module, name)

            def persistent_load(self, pid):
                return reader.persistent_load(pid)

        return TorchUnpickler(io.BytesIO(data), **pickle_args).load()


class _Rebuilder:
    """One of PyTorch's tensor rebuild functions, replaced by a checked one."""

    def __init__(self, name: str, fn):
        self.name, self.fn = name, fn

    def __call__(self, *args):  # as Python's unpickler calls it (weights_only=False)
        return self.fn(args)

    def __repr__(self):
        return self.name


def load_torch(archive, map_location, weights_only: bool, pickle_module, pickle_args):
    prefix = find_prefix(archive)
    name = archive.name
    if archive.has(f"{prefix}constants.pkl") or any(n.startswith(f"{prefix}code/")
                                                   for n in archive.names):
        raise CheckpointError(f"{name} is a TorchScript archive (torch.jit.save), not a "
                              "torch.save checkpoint")
    reader = TorchReader(archive, prefix, map_location)
    data = archive.read(f"{prefix}data.pkl")
    if weights_only:
        return run(data, Policy(reader.entries(), reader.persistent_load), f"{name}: data.pkl")
    try:
        return reader.full_unpickler(data, pickle_module, pickle_args)
    except (pickle.UnpicklingError, Refused, EOFError, MemoryError, RecursionError) as exc:
        if isinstance(exc, CheckpointError):
            raise
        raise CheckpointError(f"{name}: damaged pickle data ({type(exc).__name__}: {exc})") \
            from None


def _layout_by_torch_name(args):
    _arity("_get_layout", args, 1, 1)
    layout = {"torch.sparse_coo": sparse_coo, "torch.sparse_csr": sparse_csr,
              "torch.strided": strided}.get(_ascii(args[0]))
    if layout is None:
        raise Refused(f"graphtorch cannot load tensors of layout {args[0]!r:.40}")
    return layout


def _size(size) -> tuple:
    if not isinstance(size, tuple) or not all(type(s) is int and s >= 0 for s in size):
        raise Refused(f"a sparse tensor's size must be a tuple of sizes, got {size!r:.60}")
    return size


def _ascii(value):
    return value.decode("ascii") if isinstance(value, bytes) else value


def _arity(what: str, args: tuple, low: int, high: int) -> None:
    if not low <= len(args) <= high:
        raise Refused(f"{what} takes {low} to {high} arguments, got {len(args)}")


def _no_hooks(hooks) -> None:
    if hooks:
        raise Refused("tensors with backward hooks cannot be loaded with weights_only=True")


def _set_attributes(obj, state) -> None:
    """Extra attributes of a saved tensor/parameter: plain names that are not Tensor API."""
    if state is None:
        return
    slots = None
    if isinstance(state, tuple) and len(state) == 2:
        state, slots = state
    for part in (state, slots):
        _check_state_keys(part)
        for key, value in (part or {}).items():
            if hasattr(type(obj), key):
                raise Refused(f"refusing to set the tensor attribute {key!r:.100} from a file")
            setattr(obj, key, value)


def _caller(call):
    return lambda *args: call(args)


def _graphtorch_namesake(file_name: str, module: str, name: str):
    target = "graphtorch" + module[len("torch"):]
    try:
        obj = importlib.import_module(target)
        for part in name.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        raise CheckpointError(f"{file_name}: {module}.{name} has no graphtorch equivalent "
                              f"({target}.{name})") from None
    return obj
