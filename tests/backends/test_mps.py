"""`gt.backends.mps` answers PyTorch's device-selection queries (the PyTorch examples'
``use_mps = not args.no_mps and torch.backends.mps.is_available()``) as a PyTorch build
without MPS does."""

from __future__ import annotations

import graphtorch as gt
from tests.autograd.diff import torch


def test_mps_queries_match_a_pytorch_build_without_mps():
    assert gt.backends.mps.is_available() is False
    assert gt.backends.mps.is_built() is False
    if not torch.backends.mps.is_built():
        assert torch.backends.mps.is_available() is gt.backends.mps.is_available()


def test_examples_device_selection_idiom_picks_the_cpu():
    use_mps = gt.backends.mps.is_available()
    device = gt.device("mps" if use_mps else "cpu")
    assert str(device) == "cpu"
