"""nll_loss's all-targets-valid path and log_softmax's in-place path give the values of the
general path (and PyTorch's) in every case around their conditions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import graphtorch as gt
import graphtorch.nn.functional as F

pytestmark = pytest.mark.torch_oracle


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("targets,ignore_index", [
    ([0, 2, 1, 2, 0], -100),   # every target valid: the short path
    ([0, 2, 1, 2, 0], 1),      # ignore_index among the classes and present
    ([0, 2, 0, 2, 0], 1),      # among the classes, absent: the short path
    ([1, 1, 1, 1, 1], 1),      # every target ignored: nan for mean
])
def test_nll_loss_paths_match_torch(reduction, dtype, targets, ignore_index):
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((5, 3)).astype(dtype)
    target = np.array(targets)
    got = F.nll_loss(F.log_softmax(gt.from_numpy(logits), 1), gt.from_numpy(target),
                     reduction=reduction, ignore_index=ignore_index)
    want = torch.nn.functional.nll_loss(
        torch.log_softmax(torch.from_numpy(logits), 1), torch.from_numpy(target),
        reduction=reduction, ignore_index=ignore_index)
    assert got.dtype.np_dtype == np.dtype(dtype) and tuple(got.shape) == tuple(want.shape)
    tol = 2e-3 if dtype == "float16" else 1e-6
    np.testing.assert_allclose(got.numpy().astype(np.float64),
                               want.numpy().astype(np.float64), rtol=tol, atol=tol,
                               equal_nan=True)


def test_nll_loss_out_of_range_target_still_raises():
    logp = F.log_softmax(gt.randn(4, 3), 1)
    with pytest.raises(IndexError, match="out of bounds"):
        F.nll_loss(logp, gt.tensor([0, 1, 3, 2]))
    with pytest.raises(IndexError, match="out of bounds"):
        F.nll_loss(logp, gt.tensor([0, -1, 2, 2]))


@pytest.mark.parametrize("shape,dim", [((4, 5), 1), ((4, 5), 0), ((2, 3, 4), -1), ((6,), 0),
                                       ((0, 3), 1)])
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_log_softmax_matches_torch(shape, dim, dtype):
    x = (np.random.default_rng(1).standard_normal(shape) * 6).astype(dtype)
    got = F.log_softmax(gt.from_numpy(x), dim).numpy()
    want = torch.log_softmax(torch.from_numpy(x), dim).numpy()
    assert got.dtype == want.dtype
    tol = 3e-3 if dtype == "float16" else 1e-5
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


def test_log_softmax_of_infinite_rows_is_nan_as_torch():
    x = np.array([[np.inf, 1.0], [-np.inf, 2.0]], np.float32)
    got = F.log_softmax(gt.from_numpy(x), 1).numpy()
    want = torch.log_softmax(torch.from_numpy(x), 1).numpy()
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got[~np.isnan(got)], want[~np.isnan(want)])
