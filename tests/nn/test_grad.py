"""`gt.nn.grad` against `torch.nn.grad`: convolution input and weight gradients for 1-3
spatial dims with stride, padding, dilation and groups, their double backward, and the
shape error."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from tests.autograd.diff import torch

CASES = [(1, 0, 1, 1), (2, 1, 1, 2), (2, 2, 2, 1), (3, 0, 1, 2)]


@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("stride, padding, dilation, groups", CASES)
def test_conv_input_and_weight_grads_match_pytorch(dims, stride, padding, dilation, groups):
    rng = np.random.default_rng(dims)
    x = rng.standard_normal((2, 4) + (7,) * dims).astype(np.float32)
    w = rng.standard_normal((6, 4 // groups) + (3,) * dims).astype(np.float32)
    name = f"conv{dims}d"
    results = []
    for lib in (torch, gt):
        X, W = lib.from_numpy(x), lib.from_numpy(w)
        out = getattr(lib.nn.functional, name)(X, W, None, stride, padding, dilation, groups)
        grad_out = lib.from_numpy(np.linspace(-1, 1, out.numel(), dtype=np.float32)
                                  .reshape(tuple(out.shape)))
        args = (grad_out, stride, padding, dilation, groups)
        grad_input = getattr(lib.nn.grad, name + "_input")(X.shape, W, *args)
        grad_weight = getattr(lib.nn.grad, name + "_weight")(X, W.shape, *args)
        results.append((grad_input.numpy(), grad_weight.numpy()))
    (want_input, want_weight), (got_input, got_weight) = results
    np.testing.assert_allclose(got_input, want_input, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(got_weight, want_weight, rtol=1e-4, atol=1e-4)


def test_conv2d_grads_are_differentiable_with_grad_mode_on():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 2, 5, 5))
    w = rng.standard_normal((3, 2, 3, 3))
    g = rng.standard_normal((1, 3, 3, 3))
    grads = []
    for lib in (torch, gt):
        X, W, G = (lib.tensor(a, requires_grad=True) for a in (x, w, g))
        total = (lib.nn.grad.conv2d_input(X.shape, W, G).pow(2).sum()
                 + lib.nn.grad.conv2d_weight(X, W.shape, G).pow(2).sum())
        grads.append([t.detach().numpy() for t in lib.autograd.grad(total, (X, W, G),
                                                                    allow_unused=True)
                      if t is not None])
    assert len(grads[0]) == len(grads[1])
    for want, got in zip(*grads):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)


def test_conv2d_weight_with_a_wrong_grad_output_shape_says_which_shapes():
    with pytest.raises(RuntimeError, match=r"conv2d_weight: grad_output has shape \[1, 3, 4, 4\]"):
        gt.nn.grad.conv2d_weight(gt.ones(1, 2, 5, 5), (3, 2, 3, 3), gt.ones(1, 3, 4, 4))
