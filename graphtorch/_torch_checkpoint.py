"""Read PyTorch's zip checkpoints (`torch.save` since 1.6) without running their pickle.

The pickle inside is loaded by an unpickler that resolves only a fixed allow-list of
globals (tensor and parameter rebuilders, typed-storage markers, OrderedDict); anything
else is refused before it can execute.
"""

from __future__ import annotations

import pickle
from collections import OrderedDict

import numpy as np

from . import dtypes
from .tensor import Tensor

_STORAGE_DTYPES = {
    "FloatStorage": dtypes.float32, "DoubleStorage": dtypes.float64,
    "HalfStorage": dtypes.float16, "LongStorage": dtypes.int64, "IntStorage": dtypes.int32,
    "ShortStorage": dtypes.int16, "CharStorage": dtypes.int8, "ByteStorage": dtypes.uint8,
    "BoolStorage": dtypes.bool_, "ComplexFloatStorage": dtypes.complex64,
    "ComplexDoubleStorage": dtypes.complex128,
}


class _StorageType:
    def __init__(self, dtype):
        self.dtype = dtype


class _Storage:
    def __init__(self, array, location):
        self.array = array
        self.location = location


def _rebuild_tensor(storage, storage_offset, size, stride, requires_grad=False,
                    backward_hooks=None, metadata=None):
    base = storage.array
    item = base.itemsize
    if not size:
        array = base[storage_offset:storage_offset + 1].reshape(())
    else:
        view = np.lib.stride_tricks.as_strided(base[storage_offset:], tuple(size),
                                               tuple(s * item for s in stride), writeable=False)
        array = view
    t = Tensor._wrap(np.array(array, copy=True))
    t._torch_location = storage.location
    if requires_grad:
        t.requires_grad_(True)
    return t


def _rebuild_parameter(data, requires_grad, backward_hooks=None, state=None):
    from .nn.parameter import Parameter

    return Parameter(data, requires_grad)


def _make_unpickler(archive, prefix, name, big_endian):
    allowed = {
        ("collections", "OrderedDict"): OrderedDict,
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
        ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
        ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    }
    for storage_name, dtype in _STORAGE_DTYPES.items():
        allowed[("torch", storage_name)] = _StorageType(dtype)

    class RestrictedUnpickler(pickle.Unpickler):
        def find_class(self, module, attr):
            try:
                return allowed[(module, attr)]
            except KeyError:
                raise pickle.UnpicklingError(
                    f"{name}: refusing to load global {module}.{attr}: only tensors, "
                    "parameters and containers are accepted from PyTorch checkpoints") from None

        def persistent_load(self, pid):
            if not isinstance(pid, tuple) or not pid or pid[0] != "storage":
                raise pickle.UnpicklingError(f"{name}: unexpected persistent id {pid!r}")
            _, storage_type, key, location, numel = pid
            if not isinstance(storage_type, _StorageType):
                raise pickle.UnpicklingError(f"{name}: unexpected storage type")
            raw = archive.read(f"{prefix}data/{key}")
            np_dtype = storage_type.dtype.np_dtype.newbyteorder(">" if big_endian else "<")
            array = np.frombuffer(raw, dtype=np_dtype).astype(storage_type.dtype.np_dtype)
            if array.size < numel:
                raise pickle.UnpicklingError(f"{name}: storage {key} is truncated")
            return _Storage(array, location)

    return RestrictedUnpickler


def load_torch_zip(archive, name, map_location):
    from .serialization import CheckpointError, map_tensor

    pkl = next(n for n in archive.namelist() if n.endswith("data.pkl"))
    prefix = pkl[: -len("data.pkl")]
    big_endian = False
    if f"{prefix}byteorder" in archive.namelist():
        big_endian = archive.read(f"{prefix}byteorder").decode().strip() == "big"
    unpickler_cls = _make_unpickler(archive, prefix, name, big_endian)
    import io

    try:
        obj = unpickler_cls(io.BytesIO(archive.read(pkl))).load()
    except pickle.UnpicklingError as exc:
        raise CheckpointError(str(exc)) from None
    return _map_all(obj, map_location, map_tensor)


def _map_all(obj, map_location, map_tensor):
    if isinstance(obj, Tensor):
        location = getattr(obj, "_torch_location", "cpu")
        out = map_tensor(obj, location, map_location)
        if out is not obj and type(obj) is not Tensor:
            from .nn.parameter import Parameter

            return Parameter(out, obj.requires_grad)
        return out
    if isinstance(obj, OrderedDict):
        return OrderedDict((k, _map_all(v, map_location, map_tensor)) for k, v in obj.items())
    if isinstance(obj, dict):
        return {k: _map_all(v, map_location, map_tensor) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_map_all(v, map_location, map_tensor) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_map_all(v, map_location, map_tensor) for v in obj)
    return obj
