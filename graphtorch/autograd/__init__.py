"""Reverse-mode autodiff on the dynamic graph that eager ops record (`gt.autograd`).

`backward` accumulates into leaves' `.grad`; `grad` returns gradients without touching
`.grad`. Both run the registry's vjp rules through the engine in `engine.py`.
"""

from __future__ import annotations

import numpy as np

from ..ops.factories import ones_like, zeros_like
from ..tensor import Tensor
from ..trace_state import STATE as _TRACE_STATE
from .anomaly_mode import (detect_anomaly, is_anomaly_check_nan_enabled, is_anomaly_enabled,
                           set_detect_anomaly)
from .engine import run_backward
from .function import Function, FunctionCtx, once_differentiable
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .graph import Node, accumulate_grad
from .variable import Variable

__all__ = ["backward", "grad", "Function", "FunctionCtx", "Variable", "no_grad", "enable_grad",
           "set_grad_enabled", "is_grad_enabled", "inference_mode", "Node",
           "once_differentiable", "detect_anomaly", "set_detect_anomaly", "functional",
           "forward_ad", "gradcheck", "gradgradcheck"]


def _as_tuple(x):
    """One tensor, or any iterable of them (`params.values()`, a generator), as a tuple."""
    if x is None:
        return None
    if isinstance(x, (list, tuple)):
        return tuple(x)
    if not isinstance(x, Tensor) and hasattr(x, "__iter__"):
        return tuple(x)
    return (x,)


def _seed_grads(tensors, grad_tensors, create_graph: bool):
    seeds = []
    for i, t in enumerate(tensors):
        g = grad_tensors[i] if grad_tensors is not None and i < len(grad_tensors) else None
        if g is None:
            data = t._data
            if type(data) is np.ndarray and data.size == 1 and data.dtype.kind == "f" and \
                    _TRACE_STATE.__dict__.get("tracer") is None:
                seeds.append(Tensor._wrap(np.ones(data.shape, data.dtype)))  # = ones_like(t)
                continue
            if t.numel() != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if not t.is_floating_point() and not t.is_complex():
                raise RuntimeError(f"grad can be implicitly created only for real scalar "
                                   f"outputs but got {t.dtype}")
            seeds.append(ones_like(t))  # a fresh tensor: nothing to detach
            continue
        elif not isinstance(g, Tensor):
            raise TypeError(f"gradient must be a Tensor or None, got {type(g).__name__}")
        elif tuple(g.shape) != tuple(t.shape):
            raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of "
                               f"{g.shape} and output[{i}] has a shape of {t.shape}.")
        seeds.append(g if create_graph else g.detach())
    return seeds


def tensor_backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
    """`Tensor.backward`: accumulate d(self)/d(leaf) into each leaf's `.grad`."""
    backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph,
             inputs=inputs)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False,
             grad_variables=None, inputs=None) -> None:
    """Compute gradients of `tensors` and accumulate them into the leaves' `.grad`.

    >>> x = gt.tensor([1., 2.], requires_grad=True)
    >>> gt.autograd.backward((x * x).sum())
    >>> x.grad
    tensor([2., 4.])
    """
    if grad_variables is not None:
        import warnings

        warnings.warn("`grad_variables` is deprecated. Use `grad_tensors` instead.",
                      FutureWarning, stacklevel=2)
        if grad_tensors is not None:
            raise RuntimeError("`grad_tensors` and `grad_variables` (deprecated) arguments "
                               "both passed to `backward()`. Please only use `grad_tensors`.")
        grad_tensors = grad_variables
    tensors = _as_tuple(tensors)
    grad_tensors = _as_tuple(grad_tensors)
    if retain_graph is None:
        retain_graph = create_graph
    seeds = _seed_grads(tensors, grad_tensors, create_graph)
    inputs = _as_tuple(inputs)
    if inputs is not None and len(inputs) == 0:
        raise RuntimeError("'inputs' argument to backward() cannot be empty.")
    captured = run_backward(tensors, seeds, retain_graph, create_graph, inputs=inputs,
                            accumulate=True)
    if inputs is not None:  # non-leaf inputs get their gradient in .grad too

        for t, g in zip(inputs, captured):
            if t.grad_fn is not None and g is not None:
                accumulate_grad(t, g, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=None, is_grads_batched=False,
         materialize_grads=False):
    """Return d(outputs)/d(inputs) without touching any `.grad`.

    >>> x = gt.tensor(3., requires_grad=True)
    >>> (dy,) = gt.autograd.grad(x ** 3, x, create_graph=True)
    >>> gt.autograd.grad(dy, x)[0]   # second derivative 6x
    tensor(18.)
    """
    if not only_inputs:
        import warnings

        warnings.warn("only_inputs argument is deprecated and is ignored now (defaults to "
                      "True). To accumulate gradient for other parts of the graph, please use "
                      "torch.autograd.backward.", FutureWarning, stacklevel=2)
    if is_grads_batched:
        raise NotImplementedError("is_grads_batched=True is not supported by graphtorch")
    outputs = _as_tuple(outputs)
    inputs = _as_tuple(inputs)
    if allow_unused is None:
        allow_unused = materialize_grads
    if retain_graph is None:
        retain_graph = create_graph
    seeds = _seed_grads(outputs, _as_tuple(grad_outputs), create_graph)
    captured = run_backward(outputs, seeds, retain_graph, create_graph, inputs=inputs,
                            accumulate=False)
    result = []
    for i, (t, g) in enumerate(zip(inputs, captured)):
        if g is None:
            if not allow_unused:
                raise RuntimeError(f"The differentiated Tensor at index {i} appears to not have "
                                   "been used in the graph. Set allow_unused=True if this is "
                                   "the desired behavior.")
            if materialize_grads:
                g = zeros_like(t)
        result.append(g)
    return tuple(result)


# gt.autograd.functional and gradcheck are built on the public functions, which have loaded by
# the time this package's body ends (its submodules pull in the eager core and the functions);
# as in PyTorch, gt.autograd.gradcheck is the function (its module stays importable).
from . import forward_ad, functional  # noqa: E402,F401
from .gradcheck import gradcheck, gradgradcheck  # noqa: E402,F401
