"""gt.set_default_device / get_default_device against PyTorch: the CPU (also through None
and gt.device), the meta device, and the errors for devices graphtorch does not allocate on by
default."""

from __future__ import annotations

import pytest

import graphtorch as gt

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def _reset():
    yield
    gt.set_default_device(None)
    torch.set_default_device(None)


@pytest.mark.parametrize("choice", ["cpu", None, "device"])
def test_cpu_default(choice):
    for lib in (torch, gt):
        lib.set_default_device(lib.device("cpu") if choice == "device" else choice)
    assert str(gt.get_default_device()) == str(torch.get_default_device()) == "cpu"
    assert gt.zeros(2).device == gt.device("cpu")


def test_unsupported_devices_raise():
    with pytest.raises(RuntimeError, match="Expected one of cpu"):
        gt.set_default_device("foo")
    with pytest.raises((RuntimeError, NotImplementedError), match="CUDA|cuda"):
        gt.set_default_device("cuda")
    assert gt.get_default_device() == gt.device("cpu")


def test_meta_default_and_device_blocks_match_torch():
    def run(lib):
        lib.manual_seed(0)
        with lib.device("meta"):
            model = lib.nn.Sequential(lib.nn.Linear(4, 3), lib.nn.BatchNorm1d(3))
            made = [lib.tensor([1.0, 2.0]), lib.zeros(2), lib.randn(3), lib.arange(3.0)]
        outside = lib.zeros(1).device
        after = lib.rand(2).tolist()  # the meta block drew nothing
        lib.set_default_device("meta")
        default = (str(lib.ones(2).device), str(lib.get_default_device()))
        lib.set_default_device(None)
        return ([str(p.device) for p in model.parameters()], [str(t.device) for t in made],
                str(outside), after, default, str(lib.ones(2).device))
    assert run(gt) == run(torch)
