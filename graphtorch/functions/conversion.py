"""`Tensor.to` and the dtype shortcuts (`.float()`, `.long()`, ...)."""

from __future__ import annotations

from .. import dtypes
from ..device import as_device, cupy_module, device
from ..meta import NO_DATA
from ..layout import check_memory_format, dim_order, preserve_format, suggest_memory_format
from ..ops.devices import TO_DEVICE
from ..ops.dispatch import call
from ..ops.elementwise import TO_DTYPE
from ..tensor import Tensor
from .shape import copy_in_order


def _parse_to(args, kwargs):
    dtype = kwargs.pop("dtype", None)
    dev = kwargs.pop("device", None)
    copy = kwargs.pop("copy", False)
    kwargs.pop("non_blocking", None)
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    for a in args:
        if isinstance(a, Tensor):
            dtype, dev = a.dtype, a.device
        elif isinstance(a, dtypes.DType) or (isinstance(a, type) and a in (float, int, bool)):
            dtype = a
        elif isinstance(a, (str, device, int)) and not isinstance(a, bool):
            dev = a
        elif isinstance(a, bool):
            continue  # positional non_blocking / copy flags
        else:
            raise TypeError(f"to() received an invalid combination of arguments: {a!r}")
    return dtype, dev, copy


def to(self, *args, **kwargs) -> Tensor:
    """Return `self` converted to a dtype and/or device (`self` itself if nothing changes)."""
    kwargs = dict(kwargs)
    fmt = kwargs.pop("memory_format", None)
    dtype, dev, copy = _parse_to(args, kwargs)
    if fmt is not None and check_memory_format(fmt, "to") is not preserve_format:
        # PyTorch lays the result out anew unless nothing else changes and the tensor
        # already suggests this format
        fmt_order = dim_order(fmt, self.ndim)
        relayout = suggest_memory_format(self.shape, self.stride()) is not fmt
    else:
        fmt_order, relayout = None, False
    converted = False
    out = self
    if dtype is not None:
        dtype = dtypes.dtype_argument(dtype, "to")
        if dtype is not self.dtype or copy:
            out = call(TO_DTYPE, out, dtype=dtype)
            copy, converted = False, True
    if dev is not None:
        target = _concrete(as_device(dev))
        if target != out.device:
            out = _move(out, target)
            copy, converted = False, True
    if relayout or ((converted or copy) and fmt is not None and fmt is not preserve_format):
        out = copy_in_order(out, fmt_order)
        copy = False
    if copy:
        out = out.clone()
    return out


def _concrete(target: device) -> device:
    """`cuda` without an index means the current CUDA device; `meta` is not supported."""
    if target.type == "cuda":
        cupy = cupy_module()  # raises a clear error without CuPy or a GPU
        count = cupy.cuda.runtime.getDeviceCount()
        index = cupy.cuda.Device().id if target.index is None else target.index
        if index >= count:
            raise RuntimeError("CUDA error: invalid device ordinal")
        return device("cuda", index)
    if target.type not in ("cpu", "meta"):
        raise RuntimeError(f"graphtorch cannot move tensors to device {target}")
    return target


def _move(t: Tensor, target: device) -> Tensor:
    """Copy to another device; differentiable (the gradient moves back)."""
    if t.is_meta:
        raise NotImplementedError(NO_DATA)
    return call(TO_DEVICE, t, device=str(target), source=str(t.device))


# --- DLPack ------------------------------------------------------------------------------

_DL_CPU, _DL_CUDA = 1, 2


class _Capsule:
    """A legacy DLPack capsule (``to_dlpack``'s result) seen through the protocol."""

    def __init__(self, capsule):
        self.capsule = capsule

    def __dlpack__(self, stream=None, **kwargs):
        return self.capsule

    def __dlpack_device__(self):
        import ctypes

        get = ctypes.pythonapi.PyCapsule_GetPointer
        get.restype, get.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
        ptr = get(self.capsule, b"dltensor")  # DLManagedTensor*: data pointer, then device
        kind, index = (ctypes.c_int32 * 2).from_address(ptr + ctypes.sizeof(ctypes.c_void_p))
        return int(kind), int(index)


def from_dlpack(ext_tensor, *, device=None, copy=None) -> Tensor:
    """A tensor sharing memory with any DLPack producer (a PyTorch, CuPy, NumPy or JAX
    array, or a capsule from ``to_dlpack``), on the producer's device; `device` moves it
    and ``copy=True`` copies it afterwards (PyTorch 2.x's keywords)."""
    result = _from_dlpack(ext_tensor)
    if device is not None:
        result = result.to(device)
    return result.clone() if copy else result


def _from_dlpack(ext_tensor) -> Tensor:
    if isinstance(ext_tensor, Tensor):
        return ext_tensor
    if not hasattr(ext_tensor, "__dlpack__"):
        if type(ext_tensor).__name__ != "PyCapsule":
            raise TypeError(f"from_dlpack expects an object with __dlpack__ or a DLPack "
                            f"capsule, not {type(ext_tensor).__name__}")
        ext_tensor = _Capsule(ext_tensor)
    kind, _ = ext_tensor.__dlpack_device__()
    if kind == _DL_CPU:
        import numpy as np

        array = np.from_dlpack(ext_tensor)
    elif kind == _DL_CUDA:
        array = cupy_module().from_dlpack(ext_tensor)
    else:
        raise RuntimeError(f"from_dlpack: unsupported DLPack device type {kind} (graphtorch "
                           "holds CPU and CUDA tensors)")
    return Tensor._wrap(array)


def to_dlpack(tensor: Tensor):
    """A legacy DLPack capsule of `tensor`'s memory (``torch.utils.dlpack.to_dlpack``)."""
    return tensor.__dlpack__()


def dtype_method(dtype):
    def method(self, memory_format=None):
        return to(self, dtype)
    method.__doc__ = f"self.to({dtype})"
    return method


def type_as(self, other):
    """`self.to(other.dtype)`."""
    return to(self, other.dtype)
