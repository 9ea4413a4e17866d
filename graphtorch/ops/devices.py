"""The device-transfer primitive (a copy between host NumPy and GPU CuPy memory) and the
same-device rule that every op running on CuPy obeys."""

from __future__ import annotations

import numpy as np

from ..device import cupy_module, host_array
from ..meta import MetaArray
from ..tensor import Tensor
from .registry import Category, OpDef, register


def _device_index(device: str) -> int:
    return int(device.split(":")[1]) if ":" in device else 0


def _to_device_kernel(xp, a, device, source="cpu"):
    if device == "meta":
        return MetaArray(a.shape, a.dtype)
    if device.startswith("cuda"):
        cupy = cupy_module()
        with cupy.cuda.Device(_device_index(device)):
            if type(a) is not np.ndarray and a.device.id == _device_index(device):
                return a.copy()
            return cupy.asarray(a)  # from the host, or a peer copy from another GPU
    return a.get() if type(a) is not np.ndarray else a.copy()


def _to_device_vjp(ctx, grad):
    return (grad.to(ctx.attrs.get("source", "cpu")),)


TO_DEVICE = register(OpDef(
    "to_device", Category.OPAQUE, _to_device_kernel, lambda a, device, source="cpu": a,
    _to_device_vjp, may_alias_input=True,  # the identity on its own device
    backward_name="ToCopyBackward0", doc="copy to another device (cpu, cuda:N, meta)"))


def _where(array) -> str:
    return "cpu" if type(array) is np.ndarray else f"cuda:{array.device.id}"


# Advanced-indexing ops: operands from this position on are index tensors, which PyTorch
# accepts on the CPU for a CUDA tensor (`cuda_tensor[cpu_index]`).
_INDEX_OPERANDS = {"index": 1, "index_put": 2}


def same_device_arrays(op: OpDef, inputs, arrays, xp):
    """Check the tensor operands of an op about to run on CuPy (`xp`) share one device.

    As in PyTorch, a 0-d CPU tensor may join CUDA tensors, and so may CPU index tensors of
    advanced indexing (they are copied to the GPU); any other CPU tensor, or a tensor on
    another GPU, raises PyTorch's RuntimeError. Returns the arrays to pass to the kernel.
    """
    first_index = _INDEX_OPERANDS.get(op.name, -1)

    if op.variadic:
        flat_in = [*inputs[0], *inputs[1:]]
        flat = [*arrays[0], *arrays[1:]]
    else:
        flat_in, flat = inputs, arrays
    first = None
    moved = {}
    for i, (x, a) in enumerate(zip(flat_in, flat)):
        if not isinstance(x, Tensor):
            continue
        if type(a) is np.ndarray and (a.ndim == 0 or 0 <= first_index <= i):
            moved[i] = a
            continue
        where = _where(a)
        if first is None:
            first = where
        elif where != first:
            raise RuntimeError("Expected all tensors to be on the same device, but found at "
                               f"least two devices, {first} and {where}!")
    if not moved or first is None:
        return arrays
    with xp.cuda.Device(_device_index(first)):
        for i, a in moved.items():
            flat[i] = xp.asarray(a)
    if op.variadic:
        n = len(arrays[0])
        return [flat[:n], *flat[n:]]
    return flat


# --- CuPy stand-ins for the NumPy features kernels use ------------------------------------

def is_numpy(xp) -> bool:
    return xp is np


def max_with_initial(xp, a, axis, keepdims, initial):
    """``xp.max(a, axis, keepdims=..., initial=...)``: CuPy's max has no `initial`."""
    if xp is np:
        return np.max(a, axis=axis, keepdims=keepdims, initial=initial)
    if a.size == 0:  # the result's shape, from a NumPy stand-in of the same shape
        shape = np.max(np.empty(a.shape, a.dtype), axis=axis, keepdims=keepdims,
                       initial=initial).shape
        return xp.full(shape, initial, dtype=a.dtype)
    return xp.maximum(xp.max(a, axis=axis, keepdims=keepdims), xp.asarray(initial, a.dtype))


def accumulate(xp, ufunc_name: str, a, axis: int):
    """``getattr(xp, ufunc_name).accumulate(a, axis)``. CuPy accumulates only add and
    multiply; other ufuncs (maximum, minimum, logaddexp) run as a log-step scan on the GPU:
    after step k every position holds the ufunc over the 2**k positions ending there."""
    ufunc = getattr(xp, ufunc_name)
    if xp is np or ufunc_name in ("add", "multiply"):
        return ufunc.accumulate(a, axis=axis)
    out = xp.moveaxis(a, axis, -1).copy()
    n, k = out.shape[-1], 1
    while k < n:
        out[..., k:] = ufunc(out[..., k:], out[..., :-k])
        k *= 2
    return xp.ascontiguousarray(xp.moveaxis(out, -1, axis))


def ufunc_at(xp, name: str, out, index, values) -> None:
    """``out[index] op= values`` with repeated positions accumulating (NumPy's ufunc.at).

    CuPy has ``at`` for add, subtract, maximum and minimum; for the others (multiply) the
    update runs with NumPy on a host copy of `out`, which is then copied back.
    """
    if xp is not np:
        try:
            if name in ("maximum", "minimum") and out.dtype != np.float32:
                # CuPy's float64 maximum/minimum.at returned values off by ~1e-8 (seen on an
                # H100): scatter_reduce's amax/amin results then matched no source element
                # and the gradient divided by zero. Exact on the host instead.
                raise NotImplementedError
            getattr(xp, name).at(out, index, values)
            return
        except NotImplementedError:
            host = out.get()
            getattr(np, name).at(host, _host_index(index), _host(values))
            out[...] = xp.asarray(host)
            return
    getattr(np, name).at(out, index, values)


def _host(value):
    """A CuPy array (an index, a value) in host memory; anything else as it is."""
    return host_array(value) if hasattr(value, "__cuda_array_interface__") else value


def _host_index(index):
    return tuple(_host(i) for i in index) if isinstance(index, tuple) else _host(index)


def writeable(array) -> bool:
    """NumPy's ``flags.writeable``; CuPy arrays are always writeable."""
    return getattr(array.flags, "writeable", True)


def writable_alias(array):
    """`array`, or a writeable view of its memory where NumPy marked it read-only out of
    caution (views of expanded arrays); raises ValueError where the memory itself is not."""
    if writeable(array):
        return array
    alias = array.view()
    alias.flags.writeable = True
    return alias
