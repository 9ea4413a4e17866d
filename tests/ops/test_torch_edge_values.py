"""Values at the edges where NumPy and PyTorch disagree, against PyTorch: sign of NaN,
|x|'s gradient at NaN and at complex 0, float16 floor division at exact quotients."""

import numpy as np
import pytest

import graphtorch as gt
from tests.autograd.diff import torch


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_sign_and_sgn_of_nan_are_zero(dtype):
    values = [float("nan"), -0.0, 0.0, 2.0, -3.0, float("inf"), float("-inf")]
    for fn in ("sign", "sgn"):
        want = getattr(torch, fn)(torch.tensor(values, dtype=getattr(torch, dtype))).numpy()
        got = getattr(gt, fn)(gt.tensor(values, dtype=getattr(gt, dtype))).numpy()
        np.testing.assert_array_equal(got, want)


def test_abs_gradient_at_nan_and_complex_zero():
    for values in ([float("nan"), 1.0, -2.0, 0.0], [0j, 3 + 4j, -1j]):
        grads = []
        for lib in (torch, gt):
            x = lib.tensor(values, requires_grad=True)
            x.abs().sum().backward()
            grads.append(x.grad.numpy())
        np.testing.assert_allclose(grads[1], grads[0], rtol=1e-6)


def test_float16_floor_division_rounds_once():
    rng = np.random.default_rng(0)
    a = (rng.normal(size=2000) * 8).astype(np.float16)
    b = (rng.normal(size=2000) + 2.5).astype(np.float16)
    want = (torch.tensor(a) // torch.tensor(b)).numpy()
    got = (gt.tensor(a) // gt.tensor(b)).numpy()
    np.testing.assert_array_equal(got, want)
    want = (torch.tensor(a) // 1.102189356325082).numpy()
    got = (gt.tensor(a) // 1.102189356325082).numpy()
    np.testing.assert_array_equal(got, want)


def test_shape_error_comes_before_dtype_error():
    for lib in (torch, gt):
        with pytest.raises(RuntimeError, match="must match the size"):
            lib.ones(3, 1) // lib.ones(2, 3, dtype=lib.complex64)
