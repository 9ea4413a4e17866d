"""`x ** k` for the exponents PyTorch strength-reduces (2, 3, -2, 0.5, -0.5, -1) on floats:
same values (special values included), dtypes and shapes as PyTorch."""

import numpy as np
import pytest
import torch

import graphtorch as gt

SPECIAL = [0.0, -0.0, 1.0, -1.0, 2.5, -3.0, 1e-30, 1e30, np.inf, -np.inf, np.nan]


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("exponent", [2, 3, -2, 0.5, -0.5, -1, 3.0, -2.0])
def test_small_exponents_match_torch(dtype, exponent):
    with np.errstate(over="ignore"):  # 1e30 is inf in float16
        x = np.array(SPECIAL, dtype=dtype)
    ours = (gt.tensor(x) ** exponent).numpy()
    theirs = (torch.tensor(x) ** exponent).numpy()
    assert ours.dtype == theirs.dtype
    np.testing.assert_allclose(ours, theirs, rtol=2e-3 if dtype == "float16" else 1e-6)


@pytest.mark.parametrize("exponent", [2, 3, -2, 0.5, -0.5, -1])
def test_small_exponents_zero_dim_and_pow_function(exponent):
    x = gt.tensor(1.5)
    out = x ** exponent
    assert out.shape == () and out.dtype == gt.float32
    assert float(out) == pytest.approx(1.5 ** exponent, rel=1e-6)
    assert gt.pow(gt.tensor([1.5, 2.0]), exponent).tolist() == pytest.approx(
        [1.5 ** exponent, 2.0 ** exponent], rel=1e-6)


def test_cube_leaves_its_input_alone_and_keeps_gradients():
    x = gt.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = x ** 3
    y.sum().backward()
    assert x.tolist() == [1.0, -2.0, 3.0]
    assert y.tolist() == [1.0, -8.0, 27.0]
    assert x.grad.tolist() == [3.0, 12.0, 27.0]
