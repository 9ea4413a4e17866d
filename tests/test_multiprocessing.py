"""`graphtorch.multiprocessing` and shared memory: hogwild training's building blocks.

A tensor in shared memory is written by a forked child and read by its parent, as in
pytorch/examples mnist_hogwild; a shared tensor pickled for another process raises
instead of arriving as a silently unshared copy.
"""

from __future__ import annotations

import io
import os
from multiprocessing.reduction import ForkingPickler

import numpy as np
import pytest

import graphtorch as gt
import graphtorch.multiprocessing as mp
from tests.autograd.diff import torch


def test_share_memory_keeps_values_and_reports_shared():
    for lib in (torch, gt):
        t = lib.tensor([[0., 1., 2.], [3., 4., 5.]])
        assert not t.is_shared()
        assert t.share_memory_() is t and t.is_shared()
        assert t.tolist() == [[0., 1., 2.], [3., 4., 5.]]
        assert t.share_memory_() is t  # again: nothing to do


def test_module_share_memory_shares_parameters_and_buffers():
    model = gt.nn.Sequential(gt.nn.Linear(3, 2), gt.nn.BatchNorm1d(2))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    assert model.share_memory() is model
    for name, value in model.state_dict().items():
        assert value.is_shared(), name
        np.testing.assert_array_equal(value.numpy(), before[name].numpy())


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_forked_child_trains_the_parents_shared_model():
    gt.manual_seed(0)
    model = gt.nn.Linear(3, 1)
    model.share_memory()
    x, y = gt.randn(8, 3), gt.randn(8, 1)

    def train(model):
        opt = gt.optim.SGD(model.parameters(), lr=0.1)
        for _ in range(3):
            opt.zero_grad()
            gt.nn.functional.mse_loss(model(x), y).backward()
            opt.step()

    twin = gt.nn.Linear(3, 1)
    twin.load_state_dict(model.state_dict())
    process = mp.get_context("fork").Process(target=train, args=(model,))
    process.start()
    process.join()
    assert process.exitcode == 0
    train(twin)  # the same steps in this process
    np.testing.assert_allclose(model.weight.detach().numpy(), twin.weight.detach().numpy(),
                               rtol=1e-6)


def test_a_view_cannot_move_alone():
    base = gt.zeros(4)
    with pytest.raises(RuntimeError, match="base tensor"):
        base[1:].share_memory_()


def test_pickling_a_shared_tensor_for_another_process_raises():
    plain = gt.ones(3)
    buffer = io.BytesIO()
    ForkingPickler(buffer).dump(plain)  # an unshared tensor: a copy, as before
    param = gt.nn.Parameter(gt.ones(3)).share_memory_()
    with pytest.raises(RuntimeError, match="'fork' method"):
        ForkingPickler(io.BytesIO()).dump(param)


def test_sharing_strategies_have_pytorchs_names():
    assert mp.get_all_sharing_strategies() == torch.multiprocessing.get_all_sharing_strategies()
    assert mp.get_sharing_strategy() in mp.get_all_sharing_strategies()
