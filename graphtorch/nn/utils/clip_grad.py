"""`gt.nn.utils.clip_grad_norm_` / `clip_grad_value_`: gradient clipping as in PyTorch.

Everything runs under no_grad and scales or clamps each `.grad` in place, so optimizers
holding the gradients see the clipped values. The total norm is the norm of the
per-gradient norms (PyTorch's definition), returned as a 0-d tensor.
"""

from __future__ import annotations

import types
import warnings

from ...autograd.grad_mode import no_grad
from ...functions.creation import tensor
from ...functions.math import clamp, logical_or
from ...functions.movement import stack
from ...linalg import vector_norm
from ...tensor import Tensor

__all__ = [
    "clip_grad_norm",
    "clip_grad_norm_",
    "clip_grad_value_",
    "clip_grads_with_norm_",
    "get_total_norm",
]



def _as_list(tensors) -> list:
    return [tensors] if isinstance(tensors, Tensor) else list(tensors)


def _check_foreach(foreach, tensors) -> None:
    # The foreach kernels are a speed path in PyTorch; NumPy/CuPy loop either way. Only the
    # error PyTorch raises for devices without them is reproduced.
    if foreach:
        for t in tensors:
            if t.device.type not in ("cpu", "cuda"):
                raise RuntimeError("foreach=True was passed, but can't use the foreach API on "
                                   f"{t.device.type} tensors")


def get_total_norm(tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                   foreach: bool | None = None) -> Tensor:
    """The `norm_type` norm of all `tensors` seen as one vector (0-d tensor).

    >>> get_total_norm([gt.tensor([3.0]), gt.tensor([4.0])])
    tensor(5.)
    """
    tensors = _as_list(tensors)
    norm_type = float(norm_type)
    if not tensors:
        return tensor(0.0)
    _check_foreach(foreach, tensors)
    with no_grad():
        first_device = tensors[0].device
        norms = [vector_norm(t, norm_type).to(first_device) for t in tensors]
        total_norm = vector_norm(stack(norms), norm_type)
        if error_if_nonfinite and bool(logical_or(total_norm.isnan(), total_norm.isinf())):
            raise RuntimeError(f"The total norm of order {norm_type} for gradients from "
                               "`parameters` is non-finite, so it cannot be clipped. To disable "
                               "this error and scale the gradients by the non-finite norm "
                               "anyway, set `error_if_nonfinite=False`")
    return total_norm


def clip_grads_with_norm_(parameters, max_norm: float, total_norm: Tensor,
                          foreach: bool | None = None) -> None:
    """Scale every `.grad` by min(max_norm / (total_norm + 1e-6), 1), in place."""
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    max_norm = float(max_norm)
    if not grads:
        return
    _check_foreach(foreach, grads)
    with no_grad():
        clip_coef = clamp(max_norm / (total_norm + 1e-6), max=1.0)
        for grad in grads:
            grad.mul_(clip_coef.to(grad.device))


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """Clip the gradients of `parameters` to a total `norm_type` norm of at most `max_norm`
    (in place); returns the total norm before clipping. `norm_type` may be `inf`.

    >>> w = gt.nn.Parameter(gt.ones(4)); w.grad = gt.full((4,), 3.0)
    >>> clip_grad_norm_([w], 1.0)
    tensor(6.)
    """
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    else:
        is_generator = isinstance(parameters, types.GeneratorType)
        parameters = list(parameters)
        if is_generator and not parameters:
            warnings.warn("`parameters` is an empty generator, no gradient clipping will occur.",
                          stacklevel=2)
    grads = [p.grad for p in parameters if p.grad is not None]
    total_norm = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total_norm, foreach)
    return total_norm


def clip_grad_norm(parameters, max_norm: float, norm_type: float = 2.0,
                   error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """Deprecated alias of `clip_grad_norm_` (FutureWarning, as in PyTorch)."""
    warnings.warn("`torch.nn.utils.clip_grad_norm` is now deprecated in favor of "
                  "`torch.nn.utils.clip_grad_norm_`.", FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters, clip_value: float, foreach: bool | None = None) -> None:
    """Clamp every `.grad` of `parameters` into [-clip_value, clip_value], in place.

    >>> w = gt.nn.Parameter(gt.ones(2)); w.grad = gt.tensor([-3.0, 0.5])
    >>> clip_grad_value_(w, 1.0); w.grad
    tensor([-1.0000,  0.5000])
    """
    clip_value = float(clip_value)
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    _check_foreach(foreach, grads)
    with no_grad():
        for grad in grads:
            grad.clamp_(min=-clip_value, max=clip_value)
