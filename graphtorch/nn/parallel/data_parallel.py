"""DataParallel as PyTorch runs it on the devices graphtorch has.

Without a GPU, PyTorch's DataParallel is a plain wrapper: `forward` calls `.module` with
the same arguments, and the wrapped module's state_dict keys gain the `module.` prefix.
With one CUDA device (CuPy), inputs are moved to it and the module must live there, as
PyTorch does for a single device. Splitting a batch over several GPUs (replicate, scatter,
gather) is not implemented and says so when asked for.
"""

from __future__ import annotations

from itertools import chain

from ...cuda import device_count, is_available
from ...device import device as _device
from ...tensor import Tensor
from ..modules.module import Module

__all__ = ["DataParallel", "data_parallel"]


def _device_index(d) -> int:
    if isinstance(d, int):
        return d
    d = _device(d)
    return 0 if d.index is None else d.index


def _device_ids(device_ids):
    if device_ids is None:
        device_ids = list(range(device_count()))
    ids = [_device_index(x) for x in device_ids]
    if len(ids) > 1:
        raise NotImplementedError("DataParallel over several GPUs (replicate/scatter/gather) "
                                  "is not supported by graphtorch yet; pass device_ids=[0] "
                                  "to use one GPU")
    return ids


def _to_device(obj, device):
    """Tensors inside tuples, lists and dicts moved to `device` (PyTorch's scatter for one
    device)."""
    if isinstance(obj, Tensor):
        return obj.to(device)
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(_to_device(x, device) for x in obj))
    if isinstance(obj, (tuple, list)):
        return type(obj)(_to_device(x, device) for x in obj)
    if isinstance(obj, dict):
        return type(obj)((k, _to_device(v, device)) for k, v in obj.items())
    return obj


def _check_module_device(module, src_device):
    for t in chain(module.parameters(), module.buffers()):
        if t.device != src_device:
            raise RuntimeError(f"module must have its parameters and buffers on device "
                               f"{src_device} (device_ids[0]) but found one of them on device: "
                               f"{t.device}")


class DataParallel(Module):
    """Wrap `module` for data-parallel training; on the CPU it simply calls the module.

    >>> model = nn.DataParallel(nn.Linear(4, 2))
    >>> list(model.state_dict())
    ['module.weight', 'module.bias']
    >>> model(gt.ones(3, 4)).shape
    torch.Size([3, 2])
    """

    def __init__(self, module, device_ids=None, output_device=None, dim=0) -> None:
        super().__init__()
        if not is_available():
            self.module = module
            self.device_ids = []
            return
        self.dim = dim
        self.module = module
        self.device_ids = _device_ids(device_ids)
        if not self.device_ids:
            raise RuntimeError("no available devices were found")
        self.output_device = _device_index(self.device_ids[0] if output_device is None
                                           else output_device)
        self.src_device_obj = _device("cuda", self.device_ids[0])
        self.module.to(self.src_device_obj)

    def forward(self, *inputs, **kwargs):
        if not self.device_ids:
            return self.module(*inputs, **kwargs)
        _check_module_device(self.module, self.src_device_obj)
        return self.module(*_to_device(inputs, self.src_device_obj),
                           **_to_device(kwargs, self.src_device_obj))


def data_parallel(module, inputs, device_ids=None, output_device=None, dim=0,
                  module_kwargs=None):
    """Evaluate `module(*inputs)` data-parallel; needs a CUDA device, as in PyTorch."""
    if not isinstance(inputs, tuple):
        inputs = (inputs,) if inputs is not None else ()
    if not is_available():
        raise RuntimeError("device type could not be determined")
    ids = _device_ids(device_ids)
    if not ids:
        raise RuntimeError("no available devices were found")
    src_device = _device("cuda", ids[0])
    _check_module_device(module, src_device)
    return module(*_to_device(inputs, src_device), **_to_device(module_kwargs or {}, src_device))
