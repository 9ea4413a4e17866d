"""gt.stft / gt.istft (and the Tensor methods) against PyTorch: values, dtypes and shapes
over the arguments, errors and warnings, gradients to input and window, float64 finite
differences, and gt.compile."""

import warnings

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.functions import spectral

torch = pytest.importorskip("torch")

STFT_CASES = [
    {"n_fft": 8},
    {"n_fft": 16, "hop_length": 3, "win_length": 10},
    {"n_fft": 8, "center": False},
    {"n_fft": 8, "pad_mode": "constant"},
    {"n_fft": 8, "pad_mode": "replicate", "normalized": True},
    {"n_fft": 8, "onesided": False},
    {"n_fft": 10, "win_length": 6, "hop_length": 2, "center": False, "align_to_window": True},
]


def _both(shape, dtype, seed=0):
    x = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    return gt.tensor(x), torch.tensor(x)


def _windows(length, dtype):
    return (gt.hann_window(length, dtype=getattr(gt, dtype)),
            torch.hann_window(length, dtype=getattr(torch, dtype)))


def _check(ours, theirs, tol=1e-5):
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert repr(ours.dtype) == str(theirs.dtype)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=tol,
                               atol=tol)


@pytest.mark.parametrize("kwargs", STFT_CASES, ids=str)
@pytest.mark.parametrize("shape", [(40,), (3, 40)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("return_complex", [True, False])
def test_stft_matches_torch(kwargs, shape, dtype, return_complex):
    x, tx = _both(shape, dtype)
    w, tw = _windows(kwargs.get("win_length", kwargs["n_fft"]), dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # return_complex=False is deprecated in both
        ours = gt.stft(x, window=w, return_complex=return_complex, **kwargs)
        theirs = torch.stft(tx, window=tw, return_complex=return_complex, **kwargs)
    _check(ours, theirs)


@pytest.mark.parametrize("kwargs", [c for c in STFT_CASES if "align_to_window" not in c],
                         ids=str)
@pytest.mark.parametrize("length", [None, 30, 50])
def test_istft_matches_torch(kwargs, length):
    kwargs = {k: v for k, v in kwargs.items() if k != "pad_mode"}
    x, tx = _both((2, 40), "float64")
    w, tw = _windows(kwargs.get("win_length", kwargs["n_fft"]), "float64")
    spec = gt.stft(x, window=w, return_complex=True, **kwargs)
    tspec = torch.stft(tx, window=tw, return_complex=True, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a length past the signal warns (once) in both
        try:
            theirs = torch.istft(tspec, window=tw, length=length, **kwargs)
        except RuntimeError as error:
            with pytest.raises(RuntimeError) as ours:
                gt.istft(spec, window=w, length=length, **kwargs)
            assert str(ours.value) == str(error)
            return
        ours = gt.istft(spec, window=w, length=length, **kwargs)
    _check(ours, theirs, 1e-10)


def test_complex_input_and_return_complex():
    x, tx = _both((30,), "float32")
    x, tx = x * (1 + 0.5j), tx * (1 + 0.5j)
    w, tw = _windows(8, "float32")
    _check(gt.stft(x, 8, window=w), torch.stft(tx, 8, window=tw))
    spec, tspec = gt.stft(x, 8, window=w), torch.stft(tx, 8, window=tw)
    _check(gt.istft(spec, 8, window=w, return_complex=True),
           torch.istft(tspec, 8, window=tw, return_complex=True))
    _check(x.stft(8, window=w).istft(8, window=w, return_complex=True),
           tx.stft(8, window=tw).istft(8, window=tw, return_complex=True))


def test_round_trip_through_tensor_methods():
    x = gt.randn(64, dtype=gt.float64)
    w = gt.hann_window(16, dtype=gt.float64)
    back = x.stft(16, 4, window=w, return_complex=True).istft(16, 4, window=w, length=64)
    np.testing.assert_allclose(back.numpy(), x.numpy(), atol=1e-12)


STFT_ERRORS = [
    lambda m, x: m.stft(x, 8),
    lambda m, x: m.stft(x, 40, center=False, return_complex=True, window=m.ones(40)),
    lambda m, x: m.stft(x, 8, hop_length=0, return_complex=True, window=m.ones(8)),
    lambda m, x: m.stft(x, 8, win_length=9, return_complex=True, window=m.ones(8)),
    lambda m, x: m.stft(x, 8, window=m.ones(5), return_complex=True),
    lambda m, x: m.stft(x.long(), 8, return_complex=True, window=m.ones(8)),
    lambda m, x: m.stft(x.view(1, 1, 20), 8, return_complex=True, window=m.ones(8)),
    lambda m, x: m.stft(x, 8, return_complex=True, align_to_window=True, window=m.ones(8)),
    lambda m, x: m.stft(x * 1j, 8, onesided=True, window=m.ones(8)),
    lambda m, x: m.istft(m.stft(x, 8, window=m.ones(8), return_complex=True).real, 8),
    lambda m, x: m.istft(m.stft(x, 8, window=m.ones(8), return_complex=True), 10,
                         window=m.ones(10)),
    lambda m, x: m.istft(m.stft(x, 8, window=m.ones(8), return_complex=True), 8,
                         hop_length=9, window=m.ones(8)),
    lambda m, x: m.istft(m.stft(x, 8, window=m.ones(8), return_complex=True), 8,
                         window=m.ones(5)),
    lambda m, x: m.istft(m.stft(x, 8, window=m.hann_window(8), return_complex=True), 8,
                         window=m.hann_window(8), center=False),
    lambda m, x: m.istft(m.stft(x, 8, window=m.ones(8), return_complex=True)[:, :0], 8,
                         window=m.ones(8)),
]


@pytest.mark.parametrize("call", STFT_ERRORS)
def test_errors_match_torch(call):
    x, tx = _both((20,), "float32")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the missing-window warning comes first in both
        with pytest.raises(RuntimeError) as theirs:
            call(torch, tx)
        with pytest.raises(RuntimeError) as ours:
            call(gt, x)
    assert str(ours.value) == str(theirs.value)


def test_missing_window_warns_once(monkeypatch):
    monkeypatch.setattr(spectral, "_WARNED", set())
    x = gt.randn(20)
    with pytest.warns(UserWarning, match="A window was not provided"):
        spec = gt.stft(x, 8, return_complex=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gt.stft(x, 8, return_complex=True)
    with pytest.warns(UserWarning, match="return_complex=False is deprecated"):
        gt.stft(x, 8, window=gt.ones(8), return_complex=False)
    with pytest.warns(UserWarning, match="Please provide the same window used by stft"):
        gt.istft(spec, 8)


def test_gradients_match_torch():
    x, tx = _both((2, 40), "float64")
    w, tw = _windows(12, "float64")
    for t in (x, tx, w, tw):
        t.requires_grad_(True)
    cot = np.random.default_rng(3).standard_normal((2, 40))

    def loss(m, signal, window, weights):
        spec = m.stft(signal, 16, hop_length=4, win_length=12, window=window,
                      return_complex=True)
        back = m.istft(spec * (1 + 0.3j), 16, hop_length=4, win_length=12, window=window,
                       length=40)
        return (spec.abs() ** 2).sum() + (back * weights).sum()

    loss(gt, x, w, gt.tensor(cot)).backward()
    loss(torch, tx, tw, torch.tensor(cot)).backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-9, atol=1e-9)


def test_gradcheck_float64():
    x = gt.randn(24, dtype=gt.float64, requires_grad=True)
    w = (gt.hann_window(8, dtype=gt.float64) + 0.1).requires_grad_(True)

    def fn(signal, window):
        spec = gt.stft(signal, 8, hop_length=2, window=window, return_complex=True)
        return gt.view_as_real(spec), gt.istft(spec, 8, hop_length=2, window=window)

    assert gt.autograd.gradcheck(fn, (x, w))


def test_compiled_matches_eager():
    def fn(x, w):
        spec = gt.stft(x, 16, hop_length=4, window=w, return_complex=True)
        return spec.abs(), gt.istft(spec, 16, hop_length=4, window=w, length=x.shape[-1])

    compiled = gt.compile(fn)
    x, w = gt.randn(2, 64), gt.hann_window(16)
    for _ in range(2):
        for ours, eager in zip(compiled(x, w), fn(x, w)):
            np.testing.assert_allclose(ours.numpy(), eager.numpy(), rtol=1e-5, atol=1e-5)

    assert not compiled.stats.graph_breaks
    # istft's window check is an op: the compiled graph raises PyTorch's error too
    bad_window = gt.hann_window(16)
    with pytest.raises(RuntimeError) as eager:
        gt.istft(gt.stft(x, 16, window=bad_window, return_complex=True), 16, window=bad_window,
                 center=False)
    inverse = gt.compile(lambda s, w: gt.istft(s, 16, window=w, center=False))
    spec = gt.stft(x, 16, window=gt.ones(16), return_complex=True)
    np.testing.assert_allclose(inverse(spec, gt.ones(16)).numpy(),
                               gt.istft(spec, 16, window=gt.ones(16), center=False).numpy(),
                               rtol=1e-5, atol=1e-5)
    with pytest.raises(RuntimeError) as compiled_error:
        inverse(spec, bad_window)
    assert str(eager.value) in str(compiled_error.value)
