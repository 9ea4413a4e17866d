"""DataParallel with one CUDA device: the module moves there, CPU inputs are moved to it
(inside tuples, lists and dicts), results equal the CPU's; several devices are refused."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt

pytestmark = pytest.mark.gpu


def test_single_gpu_data_parallel_moves_module_and_inputs():
    gt.manual_seed(0)
    cpu_model = gt.nn.Linear(4, 2)
    gt.manual_seed(0)
    model = gt.nn.DataParallel(gt.nn.Linear(4, 2), device_ids=[0])
    assert model.module.weight.device.type == "cuda" and model.device_ids == [0]
    x = gt.randn(3, 4)
    out = model(x)
    assert out.device.type == "cuda"
    np.testing.assert_allclose(out.cpu().detach().numpy(), cpu_model(x).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    out.sum().backward()
    assert model.module.weight.grad.device.type == "cuda"
    assert list(model.state_dict()) == ["module.weight", "module.bias"]


def test_module_left_on_the_cpu_is_an_error():
    model = gt.nn.DataParallel(gt.nn.Linear(4, 2), device_ids=[0])
    model.module.cpu()
    with pytest.raises(RuntimeError, match="module must have its parameters and buffers on "
                                           "device cuda:0"):
        model(gt.ones(1, 4))


def test_several_devices_are_refused_clearly():
    with pytest.raises(NotImplementedError, match="several GPUs"):
        gt.nn.DataParallel(gt.nn.Linear(4, 2), device_ids=[0, 1])
