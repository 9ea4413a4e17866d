"""Test-wide policy: PyTorch is the oracle. Under CI=true a missing torch is an error."""

from __future__ import annotations

import os

import pytest

# The native JIT tier builds kernels in the background by default; the suite runs the NumPy
# tier deterministically, and tests of the native tier ask for it (GRAPHTORCH_JIT=sync).
os.environ.setdefault("GRAPHTORCH_JIT", "0")
# The operators' C fast path (ops/dispatch_native.py) is on for users once built: the suite
# builds it before the first test so that every test runs it (where a compiler exists).
os.environ.setdefault("GRAPHTORCH_EAGER_NATIVE", "sync")

try:
    import torch  # noqa: F401

    HAVE_TORCH = True
except ImportError:  # pragma: no cover - depends on the machine
    HAVE_TORCH = False


def pytest_configure(config):
    if os.environ.get("CI", "").lower() == "true" and not HAVE_TORCH:
        raise pytest.UsageError("CI=true but torch is not installed: the PyTorch-oracle tests "
                                "must run in CI (pip install -e '.[test]').")


@pytest.fixture
def torch_oracle():
    """The torch module, or a skip when it is not installed (outside CI)."""
    if not HAVE_TORCH:
        pytest.skip("torch (the test oracle) is not installed")
    import torch

    return torch


def requires_torch(fn):
    return pytest.mark.skipif(not HAVE_TORCH, reason="torch (the test oracle) is not "
                              "installed")(fn)
