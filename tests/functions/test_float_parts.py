"""gt.frexp / Tensor.frexp against torch.frexp: special values, dtypes, return type, out=,
errors, the mantissa's gradient, and gt.compile."""

import numpy as np
import pytest

import graphtorch as gt

torch = pytest.importorskip("torch")

SPECIAL = [0.0, -0.0, 1.0, -3.5, float("inf"), -float("inf"), float("nan"), 1e-45, 3e38, 0.75,
           2.0 ** -130, 1024.0]


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_special_values_match_torch(dtype):
    with np.errstate(over="ignore"):  # 3e38 is inf in float16
        values = np.array(SPECIAL, dtype=np.float64).astype(dtype)
    ours = gt.frexp(gt.tensor(values))
    theirs = torch.frexp(torch.tensor(values))
    assert type(ours).__name__ == "frexp" and ours._fields == ("mantissa", "exponent")
    np.testing.assert_array_equal(ours.mantissa.numpy(), theirs.mantissa.numpy())
    np.testing.assert_array_equal(ours.exponent.numpy(), theirs.exponent.numpy())
    assert ours.exponent.dtype is gt.int32 and repr(ours.mantissa.dtype) == str(
        theirs.mantissa.dtype)


def test_method_0d_out_and_ldexp_inverse():
    x = gt.tensor(12.0)
    mantissa, exponent = x.frexp()
    assert (mantissa.item(), exponent.item()) == (0.75, 4)
    out = (gt.empty(0), gt.empty(0, dtype=gt.int32))
    result = gt.frexp(gt.tensor([3.0, -0.1]), out=out)
    assert result.mantissa is out[0] and result.exponent is out[1]
    np.testing.assert_array_equal(gt.ldexp(*result).numpy(), np.float32([3.0, -0.1]))


@pytest.mark.parametrize("dtype", ["int64", "complex64", "bool"])
def test_non_float_input_raises_like_torch(dtype):
    with pytest.raises(RuntimeError) as theirs:
        torch.frexp(torch.ones(2, dtype=getattr(torch, dtype)))
    with pytest.raises(RuntimeError) as ours:
        gt.frexp(gt.ones(2, dtype=getattr(gt, dtype)))
    assert str(ours.value) == str(theirs.value)


def test_mantissa_gradient_matches_torch():
    values = [3.0, 0.5, -7.0, 0.3, 100.0]
    x = gt.tensor(values, dtype=gt.float64, requires_grad=True)
    tx = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    mantissa, exponent = x.frexp()
    assert mantissa.grad_fn.name() == "FrexpBackward0" and not exponent.requires_grad
    (mantissa * gt.arange(5.0)).sum().backward()
    (tx.frexp()[0] * torch.arange(5.0)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())


def test_compiled():
    def fn(x):
        mantissa, exponent = gt.frexp(x)
        return mantissa * 2, exponent + 1

    compiled = gt.compile(fn)
    x = gt.randn(4, 3) * 100
    for _ in range(2):
        for a, b in zip(compiled(x), fn(x)):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not compiled.stats.graph_breaks
