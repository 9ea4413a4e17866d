"""Devices: `gt.device`, and the `gt.cuda` queries backed by CuPy when it is installed."""

from __future__ import annotations

import functools

import numpy as np


class device:
    """A device, as `torch.device`: ``gt.device("cuda:0")``, ``gt.device("cpu")``."""

    __slots__ = ("index", "type")

    def __init__(self, type_or_str, index=None):
        if isinstance(type_or_str, device):
            self.type, self.index = type_or_str.type, type_or_str.index
            return
        if isinstance(type_or_str, int):
            type_or_str, index = "cuda", type_or_str
        text = str(type_or_str)
        if ":" in text:
            if index is not None:
                raise RuntimeError(f"type (string) must not include an index because index was "
                                   f"passed explicitly: {text}")
            text, _, idx = text.partition(":")
            if not idx.isdigit():
                raise RuntimeError(f"Invalid device string: '{type_or_str}'")
            index = int(idx)
        if text not in ("cpu", "cuda", "meta"):
            raise RuntimeError(f"Expected one of cpu, cuda, meta device type at start of device "
                               f"string: {type_or_str}")
        self.type = text
        self.index = index

    def __repr__(self):
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other):
        # As in PyTorch, a device never equals a string: `t.device == "cpu"` is False.
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __reduce__(self):
        return (device, (self.type, self.index))

    def __enter__(self):
        """``with gt.device("meta"):`` factories without `device=` allocate here inside the
        block (as `set_default_device`, restored on exit)."""
        _DEVICE_STACK.append(_DEFAULT_DEVICE[0])
        set_default_device(self)
        return self

    def __exit__(self, *exc):
        _DEFAULT_DEVICE[0] = _DEVICE_STACK.pop()
        return False


CPU = device("cpu")


@functools.lru_cache(maxsize=1)
def _cupy_or_reason():
    try:
        import cupy
    except ImportError:
        return None, "CuPy is not installed (install graphtorch[cuda])"
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return None, "no CUDA GPU was found"
    except Exception as exc:  # no driver, no device
        return None, f"CUDA is unavailable: {exc}"
    return cupy, None


def cupy_module():
    """Return CuPy, or raise a clear RuntimeError saying why CUDA can't be used."""
    cupy, reason = _cupy_or_reason()
    if cupy is None:
        raise RuntimeError(f"Torch not compiled with CUDA enabled: {reason}. "
                           "graphtorch runs CUDA tensors through CuPy.")
    return cupy


def host_array(array):
    """`array` in host memory: a NumPy array as it is, a CuPy array copied to the host."""
    return array if type(array) is np.ndarray else array.get()


def as_device(value) -> device:
    if value is None:
        return CPU
    return value if isinstance(value, device) else device(value)


def factory_device(value) -> device:
    """The device a factory allocates on: `value`, or the default device when None."""
    if value is None:
        return _DEFAULT_DEVICE[0]
    return value if isinstance(value, device) else device(value)


def set_default_device(device) -> None:
    """Where factories without `device=` allocate, as `torch.set_default_device` (None
    resets it): the CPU or the meta device (shape-only tensors, graphtorch/meta.py). A CUDA
    default is refused: pass device='cuda' to factories or move tensors with `.to`.

    >>> gt.set_default_device("cpu"); gt.get_default_device()
    device(type='cpu')
    """
    target = CPU if device is None else as_device(device)
    if target.type == "cuda":
        cupy_module()  # no CuPy or no GPU: the error `gt.zeros(2, device="cuda")` raises
        raise NotImplementedError(
            "gt.set_default_device: graphtorch allocates new tensors on the CPU by default; "
            "pass device='cuda' to factory functions or move tensors and modules with "
            ".to('cuda')")
    if target.type not in ("cpu", "meta"):
        raise RuntimeError(f"graphtorch cannot allocate tensors on device {target}")
    _DEFAULT_DEVICE[0] = target


def get_default_device() -> device:
    """The device set by `set_default_device` (the CPU unless changed)."""
    return _DEFAULT_DEVICE[0]


_DEFAULT_DEVICE = [CPU]
_DEVICE_STACK: list = []  # defaults saved by `with gt.device(...)` blocks
