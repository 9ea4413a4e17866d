"""CUDA tensors: moving between devices, PyTorch's errors, modules, checkpoints, DLPack,
`gt.cuda` queries and seeding. Needs CuPy and a GPU (marked `gpu`)."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch import nn

pytestmark = pytest.mark.gpu


def test_tensors_move_and_keep_values():
    x = gt.randn(3, 4)
    c = x.cuda()
    assert c.is_cuda and not c.is_cpu and c.device == gt.device("cuda", 0)
    assert c.get_device() == 0 and x.get_device() == -1
    assert type(c._data).__module__.startswith("cupy")
    assert x.to("cuda").device == c.device and x.to(gt.device("cuda:0")).is_cuda
    assert c.cuda() is c and c.to("cuda") is c and x.cpu() is x
    np.testing.assert_array_equal(c.cpu().numpy(), x.numpy())
    assert c.to("cpu", gt.float64).dtype is gt.float64
    assert gt.zeros(2, device="cuda").is_cuda and gt.ones_like(c).is_cuda
    assert gt.tensor([1, 2], device="cuda").tolist() == [1, 2] and c[0, 0].item() == x[0, 0].item()
    assert "device='cuda:0'" in repr(c)


def test_numpy_of_a_cuda_tensor_raises_pytorchs_error():
    with pytest.raises(TypeError, match=r"can't convert cuda:0 device type tensor to numpy\. "
                                        r"Use Tensor\.cpu\(\) to copy the tensor to host "
                                        r"memory first\."):
        gt.ones(2).cuda().numpy()


def test_gradients_flow_back_across_devices():
    x = gt.randn(3, requires_grad=True)
    y = (x.cuda() * 2).sin().sum()
    y.backward()
    assert not x.grad.is_cuda
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.cos(2 * x.detach().numpy()), rtol=1e-5)
    w = gt.randn(3, device="cuda", requires_grad=True)
    (w.cpu() ** 2).sum().backward()
    assert w.grad.is_cuda


def test_mixing_devices_raises_pytorchs_error():
    a, b = gt.ones(3), gt.ones(3, device="cuda")
    message = r"Expected all tensors to be on the same device, but found at least two " \
              r"devices, cuda:0 and cpu!"
    with pytest.raises(RuntimeError, match=message):
        b + a
    with pytest.raises(RuntimeError, match="same device"):
        a + b
    with pytest.raises(RuntimeError, match="same device"):
        gt.cat([b, a])
    with pytest.raises(RuntimeError, match="same device"):
        gt.ones(2, 3) @ gt.ones(3, 2, device="cuda")


def test_zero_dim_cpu_tensors_join_cuda_tensors():
    b = gt.ones(3, device="cuda")
    out = b * gt.tensor(2.0)
    assert out.is_cuda and out.tolist() == [2.0, 2.0, 2.0]
    assert (gt.tensor(1.0) + b).is_cuda


def test_cpu_index_tensors_index_cuda_tensors():
    x = gt.arange(6.0, device="cuda")
    index = gt.tensor([0, 0, 5])
    assert x[index].is_cuda and x[index].tolist() == [0.0, 0.0, 5.0]
    x[index] = gt.tensor([1.0, 1.0, 2.0], device="cuda")
    assert x.tolist() == [1.0, 1.0, 2.0, 3.0, 4.0, 2.0]


def test_in_place_and_out_on_cuda():
    x = gt.zeros(4, device="cuda")
    ptr = x.data_ptr()
    x.add_(1).mul_(3)
    x[1:3] = gt.tensor([5.0, 6.0], device="cuda")
    assert x.tolist() == [3.0, 5.0, 6.0, 3.0] and x.data_ptr() == ptr
    out = gt.empty(4, device="cuda")
    gt.add(x, 1, out=out)
    assert out.tolist() == [4.0, 6.0, 7.0, 4.0]


def test_module_to_device_and_back():
    gt.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    weight = model[0].weight
    assert model.to("cuda") is model and model[0].weight is weight  # Parameters are kept
    assert all(p.is_cuda for p in model.parameters())
    assert all(b.is_cuda for b in model.buffers())
    out = model(gt.randn(5, 4).cuda())
    assert out.is_cuda
    out.sum().backward()
    assert weight.grad.is_cuda
    model.to(gt.device("cpu"))
    assert not weight.is_cuda and not weight.grad.is_cuda
    model.cuda(0)
    assert weight.is_cuda


def test_save_and_load_with_map_location(tmp_path):
    gt.manual_seed(0)
    model = nn.Linear(3, 2).cuda()
    path = tmp_path / "ckpt.pt"
    gt.save({"state": model.state_dict(), "t": gt.arange(3, device="cuda")}, path)
    kept = gt.load(path)
    assert kept["state"]["weight"].is_cuda and kept["t"].is_cuda
    on_cpu = gt.load(path, map_location="cpu")
    assert not on_cpu["state"]["weight"].is_cuda
    np.testing.assert_array_equal(on_cpu["state"]["weight"].numpy(),
                                  model.weight.detach().cpu().numpy())
    assert not gt.load(path, map_location={"cuda:0": "cpu"})["t"].is_cuda
    assert not gt.load(path, map_location=lambda storage, loc: storage)["t"].is_cuda
    cpu_path = tmp_path / "cpu.pt"
    gt.save({"w": gt.ones(2)}, cpu_path)
    assert gt.load(cpu_path, map_location="cuda:0")["w"].is_cuda
    assert gt.load(cpu_path, map_location=gt.device("cuda"))["w"].is_cuda
    assert gt.load(cpu_path, map_location={"cpu": "cuda:0"})["w"].is_cuda
    with pytest.raises(RuntimeError, match="device_count"):
        gt.load(cpu_path, map_location=f"cuda:{gt.cuda.device_count()}")
    fresh = nn.Linear(3, 2)
    fresh.load_state_dict(kept["state"])  # copies CUDA values into CPU parameters
    assert not fresh.weight.is_cuda


def test_dlpack_exchange_with_cupy_and_torch():
    import cupy

    from graphtorch.functions.conversion import from_dlpack, to_dlpack

    x = gt.arange(6.0, device="cuda")
    assert x.__dlpack_device__() == (2, 0)
    c = cupy.from_dlpack(x)
    c[0] = 42  # memory is shared
    assert x[0].item() == 42
    back = from_dlpack(cupy.arange(4, dtype=cupy.float32))
    assert back.is_cuda and back.tolist() == [0.0, 1.0, 2.0, 3.0]
    assert from_dlpack(to_dlpack(x)).is_cuda
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch here is built without CUDA")
    tt = torch.from_dlpack(x)
    assert tt.is_cuda and tt[0].item() == 42
    g = from_dlpack(torch.ones(3, device="cuda"))
    assert g.is_cuda and g.sum().item() == 3
    with pytest.raises(BufferError, match="require gradient"):
        gt.ones(2, device="cuda", requires_grad=True).__dlpack__()


def test_cuda_queries_and_seeding():
    import cupy

    assert gt.cuda.is_available() and gt.cuda.device_count() >= 1
    assert gt.cuda.current_device() == 0 and isinstance(gt.cuda.get_device_name(), str)
    gt.cuda.synchronize()
    gt.manual_seed(7)
    a = cupy.random.rand(3)
    gt.manual_seed(7)
    assert cupy.array_equal(a, cupy.random.rand(3))
    gt.cuda.manual_seed(7)
    assert cupy.array_equal(a, cupy.random.rand(3))
    gt.manual_seed(0)
    cpu = gt.randn(4)
    gt.manual_seed(0)
    assert gt.randn(4, device="cuda").tolist() == cpu.tolist()  # same stream as the CPU
    gt.cuda.empty_cache()
    assert gt.cuda.memory_allocated() >= 0


def test_optimizer_state_dict_round_trip_on_cuda(tmp_path):
    gt.manual_seed(0)
    model = nn.Linear(3, 2).cuda()
    opt = gt.optim.Adam(model.parameters(), lr=0.1)
    model(gt.randn(4, 3, device="cuda")).sum().backward()
    opt.step()
    gt.save(opt.state_dict(), tmp_path / "opt.pt")
    opt2 = gt.optim.Adam(model.parameters(), lr=0.1)
    opt2.load_state_dict(gt.load(tmp_path / "opt.pt"))
    state = opt2.state[model.weight]
    assert state["exp_avg"].is_cuda
    opt2.step()
