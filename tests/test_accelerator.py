"""`gt.accelerator` answers as `torch.accelerator` does: on a machine without CuPy, as
PyTorch's CPU build (no accelerator); with CuPy, as a CUDA build."""

from __future__ import annotations

import importlib.util

import pytest

import graphtorch as gt
from tests.autograd.diff import same, torch

HAVE_CUPY = importlib.util.find_spec("cupy") is not None
TORCH_HAS_ACCELERATOR = torch.accelerator.current_accelerator() is not None


@pytest.mark.skipif(HAVE_CUPY or TORCH_HAS_ACCELERATOR,
                    reason="compares with PyTorch's CPU build on a machine without CuPy")
def test_no_accelerator_as_torch_cpu_build():
    same(lambda lib: (lib.accelerator.is_available(), lib.accelerator.current_accelerator(),
                      lib.accelerator.current_accelerator(check_available=True),
                      lib.accelerator.device_count()))
    for call in (lambda lib: lib.accelerator.current_device_index(),
                 lambda lib: lib.accelerator.synchronize(),
                 lambda lib: lib.accelerator.set_device_index(0),
                 lambda lib: lib.accelerator.empty_cache(),
                 lambda lib: lib.accelerator.memory_allocated()):
        same(call, match="Cannot access accelerator device when none is available")

    def context(lib):
        with lib.accelerator.device_index(None):
            return "ran"
    same(context)


@pytest.mark.skipif(HAVE_CUPY or TORCH_HAS_ACCELERATOR,
                    reason="compares with PyTorch's CPU build on a machine without CuPy")
@pytest.mark.parametrize("name", ["current_stream", "empty_host_cache", "get_device_capability",
                                  "get_memory_info", "max_memory_allocated",
                                  "max_memory_reserved", "memory_reserved", "memory_stats",
                                  "reset_accumulated_memory_stats", "reset_peak_memory_stats",
                                  "Graph"])
def test_memory_stream_and_graph_calls_as_torch_cpu_build(name):
    same(lambda lib: getattr(lib.accelerator, name)(),
         match="Cannot access accelerator device when none is available")


@pytest.mark.skipif(HAVE_CUPY or TORCH_HAS_ACCELERATOR,
                    reason="compares with PyTorch's CPU build on a machine without CuPy")
def test_deprecated_idx_aliases_warn_then_raise_as_torch():
    for lib in (torch, gt):
        with (pytest.warns(FutureWarning, match="Use `current_device_index` instead"),
              pytest.raises(RuntimeError, match="none is available")):
            lib.accelerator.current_device_idx()
        with (pytest.warns(FutureWarning, match="Use `set_device_index` instead"),
              pytest.raises(RuntimeError, match="none is available")):
            lib.accelerator.set_device_idx(0)
    stream = torch.Stream("cpu")
    with pytest.raises(RuntimeError, match="none is available"):
        torch.accelerator.set_stream(stream)
    with pytest.raises(RuntimeError, match="none is available"):
        gt.accelerator.set_stream(stream)


def test_the_pytorch_examples_idiom():
    """pytorch/examples: `device = accelerator if available else cpu`, then .to(device)."""
    use_accel = gt.accelerator.is_available()
    device = gt.accelerator.current_accelerator() if use_accel else gt.device("cpu")
    model = gt.nn.Linear(3, 2).to(device)
    assert model(gt.ones(1, 3).to(device)).device == device


@pytest.mark.gpu
@pytest.mark.skipif(not HAVE_CUPY, reason="CuPy is not installed")
def test_with_cupy_the_accelerator_is_cuda():
    acc = gt.accelerator.current_accelerator()
    assert acc == gt.device("cuda")
    assert gt.accelerator.is_available() == gt.cuda.is_available()
    assert gt.accelerator.device_count() == gt.cuda.device_count()
    if gt.accelerator.is_available():
        assert gt.accelerator.current_device_index() == gt.cuda.current_device()
        with gt.accelerator.device_index(0):
            gt.accelerator.synchronize()
        x = gt.ones(1000, device=acc)
        assert gt.accelerator.memory_allocated() >= x.numel() * 4


@pytest.mark.gpu
@pytest.mark.skipif(not HAVE_CUPY, reason="CuPy is not installed")
def test_with_cupy_memory_queries_read_the_pool():
    if not gt.accelerator.is_available():
        pytest.skip("no GPU visible")
    x = gt.ones(1 << 20, device="cuda")
    stats = gt.accelerator.memory_stats()
    assert stats["allocated_bytes.all.current"] >= x.numel() * 4
    assert gt.accelerator.memory_reserved() >= stats["allocated_bytes.all.current"]
    free, total = gt.accelerator.get_memory_info()
    assert 0 < free <= total
    assert gt.float32 in gt.accelerator.get_device_capability()["supported_dtypes"]
    stream = gt.accelerator.current_stream()
    gt.accelerator.set_stream(stream)
    gt.accelerator.empty_host_cache()
    with pytest.raises(NotImplementedError, match="keeps no peak"):
        gt.accelerator.max_memory_allocated()
    with pytest.raises(NotImplementedError, match="does not capture"):
        gt.accelerator.Graph()
