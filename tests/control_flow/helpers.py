"""Shared checks for the control-flow tests: eager vs traced values and gradients, and
float64 finite differences."""

from __future__ import annotations

import numpy as np

import graphtorch as gt


def close(a, b, tol=1e-10):
    np.testing.assert_allclose(np.asarray(a.detach().numpy()), np.asarray(b.detach().numpy()),
                               rtol=tol, atol=tol)


def leaves(x):
    """The tensors of a (nested) tuple/list result, in order."""
    if isinstance(x, gt.Tensor):
        return [x]
    return [t for item in x for t in leaves(item)]


def scalar_loss(out):
    """A loss that weighs every output element differently (catches swapped gradients)."""
    total = 0
    for k, t in enumerate(leaves(out)):
        if t.is_floating_point():
            w = gt.arange(t.numel(), dtype=t.dtype).reshape(t.shape) * 0.1 + k + 1
            total = total + (t * w).sum()
    return total


def grads(fn, inputs):
    """d scalar_loss(fn(*inputs)) / d inputs, with fresh leaves (float64)."""
    xs = [x.detach().clone().requires_grad_(x.is_floating_point()) for x in inputs]
    loss = scalar_loss(fn(*xs))
    wrt = [x for x in xs if x.requires_grad]
    return gt.autograd.grad(loss, wrt, allow_unused=True, materialize_grads=True)


def finite_differences(fn, inputs, eps=1e-6):
    """Central differences of scalar_loss(fn(*inputs)) w.r.t. every floating input."""
    out = []
    base = [x.detach().clone() for x in inputs]
    for i, x in enumerate(base):
        if not x.is_floating_point():
            continue
        g = np.zeros(x.shape)
        flat = x.numpy().reshape(-1)
        for k in range(flat.size):
            old = flat[k]
            flat[k] = old + eps
            hi = float(scalar_loss(fn(*base)))
            flat[k] = old - eps
            lo = float(scalar_loss(fn(*base)))
            flat[k] = old
            g.reshape(-1)[k] = (hi - lo) / (2 * eps)
        out.append(g)
    return out


def check_traced_grads(fn, *inputs, fd=True):
    """Traced values and gradients (interpreter + eager autograd, and the backward traced
    into a graph) equal eager ones; eager gradients equal finite differences."""
    traced = gt.trace(fn, *inputs, optimize=False)
    close(scalar_loss(fn(*inputs)), scalar_loss(traced(*inputs)))
    eager = grads(fn, inputs)
    for a, b in zip(eager, grads(traced, inputs)):
        close(a, b)
    backward = gt.trace(lambda *xs: grads(fn, xs), *inputs, optimize=False)
    for a, b in zip(eager, backward(*inputs)):
        close(a, b)
    if fd:
        for a, b in zip(eager, finite_differences(fn, inputs)):
            np.testing.assert_allclose(a.numpy(), b, rtol=1e-5, atol=1e-6)
    return traced
