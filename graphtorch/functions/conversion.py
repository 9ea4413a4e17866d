"""`Tensor.to` and the dtype shortcuts (`.float()`, `.long()`, ...)."""

from __future__ import annotations

from .. import dtypes
from ..device import as_device, cupy_module, device
from ..ops.dispatch import call
from ..ops.elementwise import TO_DTYPE
from ..tensor import Tensor


def _parse_to(args, kwargs):
    dtype = kwargs.pop("dtype", None)
    dev = kwargs.pop("device", None)
    copy = kwargs.pop("copy", False)
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
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
    dtype, dev, copy = _parse_to(args, dict(kwargs))
    out = self
    if dtype is not None:
        dtype = dtypes.as_dtype(dtype)
        if dtype is not self.dtype or copy:
            out = call(TO_DTYPE, out, dtype=dtype)
            copy = False
    if dev is not None:
        target = as_device(dev)
        if target.type != out.device.type:
            out = _move(out, target)
            copy = False
    if copy:
        out = out.clone()
    return out


def _move(t: Tensor, target: device) -> Tensor:
    """Copy to another device; differentiable (the gradient moves back)."""
    from ..ops.devices import TO_DEVICE

    if target.type == "cuda":
        cupy_module()
    return call(TO_DEVICE, t, device=str(target), source=str(t.device))


def _shortcut(dtype):
    def method(self, memory_format=None):
        return to(self, dtype)
    method.__doc__ = f"self.to({dtype})"
    return method


for _name, _dtype in [("float", dtypes.float32), ("double", dtypes.float64),
                      ("half", dtypes.float16), ("int", dtypes.int32), ("long", dtypes.int64),
                      ("short", dtypes.int16), ("char", dtypes.int8), ("byte", dtypes.uint8),
                      ("bool", dtypes.bool_), ("cfloat", dtypes.complex64),
                      ("cdouble", dtypes.complex128)]:
    setattr(Tensor, _name, _shortcut(_dtype))

Tensor.type_as = lambda self, other: to(self, other.dtype)
