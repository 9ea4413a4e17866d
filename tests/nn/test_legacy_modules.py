"""PyTorch's legacy modules: nn.Container (deprecated Module) and nn.CrossMapLRN2d (Lua
Torch's LRN), against PyTorch 2.13."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import graphtorch as gt
from tests.autograd.diff import torch
from tests.nn.loss_helpers import compare_loss


def test_container_warns_and_registers_children_as_torch():
    for lib in (torch, gt):
        with pytest.warns(FutureWarning, match="`nn.Container` is deprecated"):
            class Old(lib.nn.Container):
                pass
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            old = Old(fc=lib.nn.Linear(2, 3))
        with pytest.warns(FutureWarning, match="Subclass that instead"):
            direct = lib.nn.Container(act=lib.nn.ReLU())
        assert [n for n, _ in old.named_children()] == ["fc"]
        assert repr(direct) == "Container(\n  (act): ReLU()\n)"
        assert sorted(old.state_dict()) == ["fc.bias", "fc.weight"]


@pytest.mark.parametrize("size, channels", [(1, 3), (2, 4), (3, 3), (4, 6), (5, 8), (5, 11)])
def test_cross_map_lrn2d_forward_as_torch(size, channels):
    """Including PyTorch's quirk: channel 0's square stays in every window."""
    x = np.random.default_rng(size).standard_normal((2, channels, 3, 4))
    results = []
    for lib in (torch, gt):
        module = lib.nn.CrossMapLRN2d(size, alpha=0.1, beta=0.75, k=2)
        results.append(module(lib.tensor(x)).numpy())
    np.testing.assert_allclose(results[1], results[0], rtol=1e-12)
    assert repr(gt.nn.CrossMapLRN2d(size, 0.1, 0.75, 2)) == \
           repr(torch.nn.CrossMapLRN2d(size, 0.1, 0.75, 2))


@pytest.mark.parametrize("size, channels", [(3, 1), (5, 2), (6, 3)])
def test_cross_map_lrn2d_gradient_where_torchs_backward_is_exact(size, channels):
    """PyTorch's hand-written backward uses a shifted window, so it matches the derivative
    of its forward only when every window covers all channels; ours is the derivative."""
    x = np.random.default_rng(0).standard_normal((2, channels, 3, 3))
    compare_loss(lambda lib: lib.nn.CrossMapLRN2d(size, 0.1, 0.75, 2), [x])


def test_cross_map_lrn2d_gradient_is_the_forwards_derivative():
    x = gt.tensor(np.random.default_rng(1).standard_normal((1, 7, 2, 2)), requires_grad=True)
    assert gt.autograd.gradcheck(lambda t: gt.nn.CrossMapLRN2d(3, 0.5, 0.75, 1)(t), (x,))


def test_cross_map_lrn2d_needs_4d_input():
    for lib in (torch, gt):
        with pytest.raises(ValueError, match="Expected input to be 4D, got 3D instead"):
            lib.nn.CrossMapLRN2d(3)(lib.ones(2, 3, 4))
