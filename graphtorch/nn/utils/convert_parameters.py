"""Flatten parameters into one vector and back, as `torch.nn.utils.parameters_to_vector` /
`vector_to_parameters` (used by second-order and evolutionary training loops)."""

from __future__ import annotations

from ...functions.movement import cat
from ...optim.optimizer import typename
from ...tensor import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters) -> Tensor:
    """One 1-D tensor of every parameter's values, in order (differentiable: a cat of views).

    >>> nn.utils.parameters_to_vector(nn.Linear(3, 2).parameters()).shape
    torch.Size([8])
    """
    device = None
    vec = []
    for param in parameters:
        device = _check_param_device(param, device)
        vec.append(param.view(-1))
    return cat(vec)


def vector_to_parameters(vec, parameters) -> None:
    """Point each parameter's `.data` at its slice of the 1-D `vec` (the inverse of
    parameters_to_vector; the parameters share vec's memory afterwards, as in PyTorch)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {typename(vec)}")
    device = None
    pointer = 0
    for param in parameters:
        device = _check_param_device(param, device)
        num = param.numel()
        param.data = vec[pointer:pointer + num].view_as(param).data
        pointer += num


def _check_param_device(param, old_device):
    """-1 for CPU, the index of a CUDA device; TypeError when the parameters' devices mix."""
    here = param.get_device() if param.device.type == "cuda" else -1
    if old_device is not None and here != old_device:
        raise TypeError("Found two parameters on different devices, this is currently not "
                        "supported.")
    return here
