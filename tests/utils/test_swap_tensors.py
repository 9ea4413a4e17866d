"""gt.utils.swap_tensors, as torch.utils.swap_tensors: contents exchanged, identities kept,
a graph built before the swap refuses to accumulate into the swapped leaf; its errors."""

from __future__ import annotations

import weakref

import numpy as np
import pytest

import graphtorch as gt
from tests.autograd.diff import torch


def test_contents_swap_and_identities_stay():
    for lib in (torch, gt):
        a, b = lib.nn.Parameter(lib.zeros(2)), lib.ones(3, dtype=lib.float64)
        a.tag = "a"
        ids = id(a), id(b)
        lib.utils.swap_tensors(a, b)
        assert (id(a), id(b)) == ids
        assert type(a) is lib.Tensor and type(b) is lib.nn.Parameter
        assert a.dtype == lib.float64 and tuple(a.shape) == (3,) and not a.requires_grad
        assert b.requires_grad and b.tag == "a" and not hasattr(a, "tag")
        np.testing.assert_array_equal(b.detach().numpy(), [0.0, 0.0])


def test_a_graph_from_before_the_swap_refuses_backward():
    x, z = gt.zeros(2, requires_grad=True), gt.ones(3, requires_grad=True)
    y = (x * 2).sum()
    gt.utils.swap_tensors(x, z)
    with pytest.raises(RuntimeError, match="poisoned by swap_tensors"):
        y.backward()
    (x * 3).sum().backward()  # a new graph accumulates into the swapped tensor
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0, 3.0])


def test_weakrefs_refuse_the_swap_as_pytorch():
    for lib in (torch, gt):
        a, b = lib.zeros(1), lib.zeros(1)
        ref = weakref.ref(b)
        with pytest.raises(RuntimeError, match="Cannot swap t2 because it has weakref"):
            lib.utils.swap_tensors(a, b)
        del ref
