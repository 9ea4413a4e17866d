"""The device-transfer primitive: a copy between host (NumPy) and GPU (CuPy) memory."""

from __future__ import annotations

import numpy as np

from .registry import Category, OpDef, register


def _to_device_kernel(xp, a, device, source="cpu"):
    if device.startswith("cuda"):
        from ..device import cupy_module

        cupy = cupy_module()
        index = int(device.split(":")[1]) if ":" in device else 0
        with cupy.cuda.Device(index):
            return cupy.asarray(a)
    return a.get() if type(a) is not np.ndarray else a.copy()


def _to_device_vjp(ctx, grad):
    return (grad.to(ctx.attrs.get("source", "cpu")),)


TO_DEVICE = register(OpDef(
    "to_device", Category.OPAQUE, _to_device_kernel, lambda a, device, source="cpu": a,
    _to_device_vjp,
    backward_name="ToCopyBackward0", doc="copy to another device (cpu, cuda:N)"))
