"""`map_location`: where each loaded storage goes, with PyTorch's rules and errors.

As in `torch.load`, a dict maps saved location tags, a string or `gt.device` names the target,
and anything else is called as `map_location(storage, location)` (a non-callable raises the
TypeError that calling it raises). Tags other than cpu/cuda are refused as PyTorch refuses
them; 'meta' raises NotImplementedError, since graphtorch has no meta tensors.
"""

from __future__ import annotations

import re

from .. import cuda
from ..device import device
from ..tensor import Tensor
from .errors import CheckpointError

_CUDA_TAG = re.compile(r"cuda(:[0-9]+)?")


def restore(storage: Tensor, saved: str, map_location, file_name: str) -> Tensor:
    """`storage` (a 1-d CPU tensor of the saved elements) moved where `map_location` says."""
    if not isinstance(saved, str):
        raise CheckpointError(f"{file_name}: storage location must be a string, got "
                              f"{type(saved).__name__}")
    if map_location is None:
        return _to_tag(storage, saved, file_name, from_file=True)
    if isinstance(map_location, dict):
        target = map_location.get(saved, saved)
        if isinstance(target, device):
            target = str(target)
        if not isinstance(target, (str, bytes)):
            raise TypeError(f"expected string or bytes-like object, got "
                            f"'{type(target).__name__}'")
        return _to_tag(storage, _text(target), file_name, from_file=target == saved)
    if isinstance(map_location, (str, bytes)):
        return _to_tag(storage, _text(map_location), file_name, from_file=False)
    if isinstance(map_location, device):
        return _to_tag(storage, str(map_location), file_name, from_file=False)
    result = map_location(storage, saved)
    if result is None:
        return _to_tag(storage, saved, file_name, from_file=True)
    if isinstance(result, (str, device)):
        return _to_tag(storage, str(result), file_name, from_file=False)
    if not isinstance(result, Tensor) or result.dim() != 1 or result.numel() != storage.numel():
        raise TypeError("map_location must return a storage (the tensor it was given, possibly "
                        f"moved to another device) or None, got {type(result).__name__}")
    return result


def _text(tag) -> str:
    return tag.decode("ascii") if isinstance(tag, bytes) else tag


def _to_tag(storage: Tensor, tag: str, file_name: str, from_file: bool) -> Tensor:
    if tag == "cpu":
        return storage
    if tag == "meta":
        raise NotImplementedError(
            "graphtorch has no meta tensors: map_location='meta' would load shapes without "
            "data. Load to the CPU (map_location='cpu') and read the shapes there.")
    if _CUDA_TAG.fullmatch(tag):
        return storage.to(_cuda_device(tag))
    message = ("don't know how to restore data location of torch.storage.UntypedStorage "
               f"(tagged with {tag})")
    if from_file:
        raise CheckpointError(f"{file_name}: {message}")
    raise RuntimeError(message)


def _cuda_device(tag: str) -> device:
    index = int(tag.split(":")[1]) if ":" in tag else 0
    if not cuda.is_available():
        raise RuntimeError("Attempting to deserialize object on a CUDA device but "
                           "torch.cuda.is_available() is False. If you are running on a "
                           "CPU-only machine, please use torch.load with "
                           "map_location=torch.device('cpu') to map your storages to the CPU.")
    if index >= cuda.device_count():
        raise RuntimeError(f"Attempting to deserialize object on CUDA device {index} but "
                           f"torch.cuda.device_count() is {cuda.device_count()}. Please use "
                           "torch.load with map_location to map your storages to an existing "
                           "device.")
    return device("cuda", index)
