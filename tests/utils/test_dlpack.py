"""gt.utils.dlpack: capsules exchanged with torch.utils.dlpack both ways, sharing memory."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.utils.dlpack import from_dlpack, to_dlpack
from tests.autograd.diff import torch


def test_graphtorch_to_torch_shares_memory():
    ours = gt.arange(6.0).view(2, 3)
    theirs = torch.utils.dlpack.from_dlpack(to_dlpack(ours))
    theirs[0, 0] = 42.0
    assert float(ours[0, 0]) == 42.0 and tuple(theirs.shape) == (2, 3)


def test_torch_to_graphtorch_shares_memory():
    theirs = torch.arange(4, dtype=torch.int32)
    ours = from_dlpack(torch.utils.dlpack.to_dlpack(theirs))
    theirs[1] = 9  # (NumPy imports a legacy capsule read-only: writes go through torch)
    assert int(ours[1]) == 9 and ours.dtype == gt.int32
    np.testing.assert_array_equal(ours.numpy(), [0, 9, 2, 3])
    round_trip = gt.arange(3)
    np.testing.assert_array_equal(from_dlpack(to_dlpack(round_trip)).numpy(), [0, 1, 2])


def test_to_dlpack_rejects_non_tensors():
    with pytest.raises(TypeError, match="must be Tensor, not list"):
        to_dlpack([1, 2])
