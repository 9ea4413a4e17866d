"""Run one loss (or any function of tensors) in PyTorch and graphtorch on the same NumPy
data and compare its value and the gradients of the chosen inputs."""

from __future__ import annotations

import numpy as np

import graphtorch as gt

from . import close, npy, torch


def compare_loss(make, inputs, grad_positions=(0,), rtol=1e-10, atol=1e-12, grad_fn=False):
    """make(lib) -> callable(*tensors); inputs: NumPy arrays or other values (passed as they
    are). A random cotangent weighs a `none` reduction's elements before backward."""
    results = []
    for lib in (torch, gt):
        tensors = []
        for i, x in enumerate(inputs):
            if isinstance(x, np.ndarray):
                x = lib.tensor(x.copy())
                if i in grad_positions:
                    x.requires_grad_(True)
            tensors.append(x)
        out = make(lib)(*tensors)
        if grad_positions:
            cot = np.random.default_rng(1).uniform(0.5, 1.5, size=tuple(out.shape))
            (out * lib.tensor(cot.astype(npy(out).dtype))).sum().backward()
        name = out.grad_fn.name() if out.grad_fn is not None else None
        results.append((out, name, [tensors[i].grad for i in grad_positions]))
    (t_out, t_name, t_grads), (g_out, g_name, g_grads) = results
    close(g_out, t_out, rtol, atol, "loss")
    if grad_fn:
        assert g_name == t_name, f"grad_fn {g_name} != torch {t_name}"
    for i, (g, t) in zip(grad_positions, zip(g_grads, t_grads)):
        assert (g is None) == (t is None), f"grad of input {i}"
        if t is not None:
            close(g, t, rtol * 10, atol * 10, f"grad of input {i}")
    return g_out
