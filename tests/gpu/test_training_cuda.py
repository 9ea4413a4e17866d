"""Training on the GPU: an MLP and LeNet, five steps each, give the CPU's losses (to 1e-4)
from the same seed; the parameters, gradients and optimizer state stay on the GPU."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
import graphtorch.nn.functional as F
from graphtorch import nn

from ..ir.models import LeNet  # the seed notes' LeNet

pytestmark = pytest.mark.gpu


def _mlp():
    return nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Dropout(0.2), nn.Linear(64, 32),
                         nn.Tanh(), nn.Linear(32, 5))


def _train(make_model, make_optimizer, x_shape, device, steps=5):
    gt.manual_seed(0)
    model = make_model().to(device)
    x = gt.randn(*x_shape).to(device)
    y = gt.randint(0, 5, (x_shape[0],)).to(device)
    optimizer = make_optimizer(model.parameters())
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    for p in model.parameters():
        assert p.device.type == device and p.grad.device.type == device
    for state in optimizer.state.values():
        for value in state.values():
            if isinstance(value, gt.Tensor) and value.ndim:
                assert value.device.type == device
    return losses


OPTIMIZERS = {
    "sgd_momentum": lambda ps: gt.optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=1e-4),
    "adam": lambda ps: gt.optim.Adam(ps, lr=1e-3),
    "adamw": lambda ps: gt.optim.AdamW(ps, lr=1e-3),
    "rmsprop": lambda ps: gt.optim.RMSprop(ps, lr=1e-3),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_mlp_losses_equal_cpu(name):
    cpu = _train(_mlp, OPTIMIZERS[name], (16, 20), "cpu")
    cuda = _train(_mlp, OPTIMIZERS[name], (16, 20), "cuda")
    np.testing.assert_allclose(cuda, cpu, atol=1e-4, rtol=1e-4)
    assert cpu[-1] < cpu[0]


@pytest.mark.parametrize("name", ["sgd_momentum", "adam"])
def test_lenet_losses_equal_cpu(name):
    cpu = _train(LeNet, OPTIMIZERS[name], (4, 1, 32, 32), "cpu")
    cuda = _train(LeNet, OPTIMIZERS[name], (4, 1, 32, 32), "cuda")
    np.testing.assert_allclose(cuda, cpu, atol=1e-4, rtol=1e-4)


def test_batchnorm_buffers_move_and_update_on_cuda():
    gt.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU()).cuda()
    assert model[1].running_mean.is_cuda
    model(gt.randn(2, 3, 8, 8, device="cuda")).sum().backward()
    assert model[1].running_mean.is_cuda and float(model[1].num_batches_tracked) == 1
    model.cpu()
    assert not model[1].running_mean.is_cuda and not model[0].weight.grad.is_cuda
