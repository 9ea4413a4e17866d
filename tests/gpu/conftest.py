"""GPU tests: the `gpu` marker, and a skip with the reason when CuPy or a GPU is missing.

Tests marked `gpu` need CuPy and a CUDA GPU; everywhere else they skip and say why (CI has
no GPU). Tests in this folder without the marker check the CPU side of the device code.
"""

from __future__ import annotations

import pytest

from graphtorch.device import _cupy_or_reason


def pytest_configure(config):
    config.addinivalue_line("markers", "gpu: needs CuPy and a CUDA GPU")


def gpu_skip_reason() -> str | None:
    """None when CUDA tensors can be made here, else why not."""
    cupy, reason = _cupy_or_reason()
    return None if cupy is not None else f"needs CuPy and a CUDA GPU: {reason}"


def pytest_collection_modifyitems(config, items):
    reason = gpu_skip_reason()
    if reason is None:
        return
    skip = pytest.mark.skip(reason=reason)
    for item in items:
        if item.get_closest_marker("gpu") is not None:
            item.add_marker(skip)
