"""gt.set_default_device / get_default_device against PyTorch: the CPU (also through None
and gt.device), and the errors for devices graphtorch does not allocate on by default."""

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
    with pytest.raises(RuntimeError, match="meta"):
        gt.set_default_device("meta")
    with pytest.raises((RuntimeError, NotImplementedError), match="CUDA|cuda"):
        gt.set_default_device("cuda")
    assert gt.get_default_device() == gt.device("cpu")
