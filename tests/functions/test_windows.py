"""gt.hann_window, hamming_window, bartlett_window, blackman_window, kaiser_window against
PyTorch: values, dtypes, the periodic flag, leaf requires_grad, errors, and gt.compile."""

import numpy as np
import pytest

import graphtorch as gt

torch = pytest.importorskip("torch")

NAMES = ["hann_window", "hamming_window", "bartlett_window", "blackman_window", "kaiser_window"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("length", [0, 1, 2, 5, 8, 33])
@pytest.mark.parametrize("periodic", [True, False])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_windows_match_torch(name, length, periodic, dtype):
    ours = getattr(gt, name)(length, periodic, dtype=getattr(gt, dtype))
    theirs = getattr(torch, name)(length, periodic, dtype=getattr(torch, dtype))
    assert ours.shape == theirs.shape and repr(ours.dtype) == str(theirs.dtype)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6, atol=1e-6)


def test_default_dtype_and_extra_arguments():
    assert gt.hann_window(4).dtype is gt.get_default_dtype()
    np.testing.assert_allclose(gt.hamming_window(7, False, 0.6, 0.3).numpy(),
                               torch.hamming_window(7, False, 0.6, 0.3).numpy(), rtol=1e-6)
    np.testing.assert_allclose(gt.kaiser_window(9, True, 3.5, dtype=gt.float64).numpy(),
                               torch.kaiser_window(9, True, 3.5, dtype=torch.float64).numpy())
    np.testing.assert_allclose(gt.hann_window(6, dtype=gt.float16).numpy().astype(float),
                               torch.hann_window(6, dtype=torch.float16).numpy(), atol=1e-3)


def test_requires_grad_makes_a_leaf():
    w = gt.hann_window(5, requires_grad=True)
    assert w.requires_grad and w.is_leaf and w.grad_fn is None
    (w * 2).sum().backward()
    assert w.grad.tolist() == [2.0] * 5


@pytest.mark.parametrize("call,error", [
    (lambda m: m.hann_window(-1), RuntimeError),
    (lambda m: m.hann_window(4, dtype=m.int64), RuntimeError),
    (lambda m: m.kaiser_window(4, dtype=m.int32), RuntimeError),
    (lambda m: m.hann_window(4.0), TypeError),
    (lambda m: m.blackman_window(3, dtype=m.complex64), NotImplementedError),
])
def test_errors_match_torch(call, error):
    with pytest.raises(error) as theirs:
        call(torch)
    with pytest.raises(error) as ours:
        call(gt)
    assert str(ours.value) == str(theirs.value)


def test_compiled_window_product():
    def fn(x):
        return x * gt.hann_window(x.shape[-1]) + gt.kaiser_window(x.shape[-1], True, 4.0)

    compiled = gt.compile(fn)
    x = gt.randn(3, 8)
    for _ in range(2):
        np.testing.assert_allclose(compiled(x).numpy(), fn(x).numpy(), rtol=1e-6)
    assert not compiled.stats.graph_breaks
