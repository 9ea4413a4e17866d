"""gt.signal.windows against torch.signal.windows: values (sym=True default and periodic),
dtypes, arguments, requires_grad, ValueErrors, and gt.compile."""

import numpy as np
import pytest

import graphtorch as gt

torch = pytest.importorskip("torch")

NAMES = ["bartlett", "blackman", "cosine", "exponential", "gaussian", "general_cosine",
         "general_hamming", "hamming", "hann", "kaiser", "nuttall"]


def _extra(name):
    return {"a": [0.46, 0.23, 0.31]} if name == "general_cosine" else {}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("length", [0, 1, 2, 7, 10])
@pytest.mark.parametrize("sym", [True, False])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_windows_match_torch(name, length, sym, dtype):
    ours = getattr(gt.signal.windows, name)(length, sym=sym, dtype=getattr(gt, dtype),
                                             **_extra(name))
    theirs = getattr(torch.signal.windows, name)(length, sym=sym,
                                                 dtype=getattr(torch, dtype), **_extra(name))
    assert ours.shape == theirs.shape and repr(ours.dtype) == str(theirs.dtype)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name,kwargs", [
    ("exponential", {"tau": 0.5, "sym": False, "center": 2.0}), ("gaussian", {"std": 2.5}),
    ("kaiser", {"beta": 0.9, "sym": False}), ("general_hamming", {"alpha": 0.6}),
])
def test_window_arguments(name, kwargs):
    ours = getattr(gt.signal.windows, name)(9, **kwargs)
    theirs = getattr(torch.signal.windows, name)(9, **kwargs)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6, atol=1e-7)


def test_requires_grad_records_like_torch():
    ours = gt.signal.windows.hann(5, requires_grad=True)
    theirs = torch.signal.windows.hann(5, requires_grad=True)
    assert ours.requires_grad and (ours.grad_fn is None) == (theirs.grad_fn is None)


@pytest.mark.parametrize("call", [
    lambda m: m.signal.windows.hann(-1),
    lambda m: m.signal.windows.hann(3, dtype=m.float16),
    lambda m: m.signal.windows.gaussian(3, std=0),
    lambda m: m.signal.windows.exponential(3, center=1.0),
    lambda m: m.signal.windows.kaiser(3, beta=-1.0),
    lambda m: m.signal.windows.general_cosine(3, a=[]),
])
def test_value_errors_match_torch(call):
    with pytest.raises(ValueError) as theirs:
        call(torch)
    with pytest.raises(ValueError) as ours:
        call(gt)
    assert str(ours.value) == str(theirs.value)


def test_compiled():
    def fn(x):
        return x * gt.signal.windows.gaussian(x.shape[-1], std=2.0)

    compiled = gt.compile(fn)
    x = gt.randn(2, 6)
    np.testing.assert_allclose(compiled(x).numpy(), fn(x).numpy(), rtol=1e-6)
