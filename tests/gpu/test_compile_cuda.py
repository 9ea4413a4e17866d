"""gt.compile end to end on CUDA tensors: the graph runs on the CuPy backend (generated CUDA
kernels) and a whole training step equals the CPU compiled and eager steps."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
import graphtorch.nn.functional as F
from graphtorch import nn

pytestmark = pytest.mark.gpu


def _run(device, compiled, steps=6):
    gt.manual_seed(0)
    model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 5)).to(device)
    opt = gt.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    sched = gt.optim.lr_scheduler.ExponentialLR(opt, 0.9)
    x = gt.randn(16, 20).to(device)
    y = gt.randint(0, 5, (16,)).to(device)

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    fn = gt.compile(step) if compiled else step
    losses = []
    for _ in range(steps):
        losses.append(fn(x, y).item())
        sched.step()
    for p in model.parameters():
        assert p.device.type == device
    return losses, fn


def test_compiled_training_step_on_cuda_equals_cpu():
    cpu, _ = _run("cpu", False)
    cuda, fn = _run("cuda", True)
    np.testing.assert_allclose(cuda, cpu, rtol=1e-4, atol=1e-5)
    assert fn.compile_count == 1
    assert "__global__" in fn.code or "ElementwiseKernel" in fn.code or "kernel" in fn.code


def test_compiled_function_gradients_on_cuda():
    gt.manual_seed(0)
    w = gt.randn(8, 4, requires_grad=True)
    x = gt.randn(3, 8)

    def f(x, w):
        return (x @ w).tanh().square().sum()

    loss_cpu = f(x, w)
    loss_cpu.backward()
    g_cpu = w.grad.numpy().copy()
    wc = w.detach().cuda().requires_grad_()
    loss = gt.compile(f)(x.cuda(), wc)
    loss.backward()
    np.testing.assert_allclose(loss.item(), loss_cpu.item(), rtol=1e-5)
    np.testing.assert_allclose(wc.grad.cpu().numpy(), g_cpu, rtol=1e-4, atol=1e-6)


def test_dynamic_sizes_on_cuda():
    gt.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 2))
    cuda_model = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 2)).to("cuda")
    cuda_model.load_state_dict(model.state_dict())
    compiled = gt.compile(cuda_model, dynamic=True)
    for batch in (3, 7, 12):
        x = gt.randn(batch, 6)
        got = compiled(x.cuda()).detach().cpu().numpy()
        np.testing.assert_allclose(got, model(x).detach().numpy(), rtol=1e-5, atol=1e-6)
    assert compiled._compiled.compile_count == 1
