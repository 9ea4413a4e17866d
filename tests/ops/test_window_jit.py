"""The window ops' two paths (graphtorch/ops/window_jit.py's Numba loops and the NumPy
fallback) against PyTorch: 2-d max pooling with indices and its backward, convolution's
im2col (forward and weight gradient) and col2im (transposed convolution, input gradient),
over the stride/padding/dilation/groups/ceil_mode variants the loops claim, with the
convolutions' batch run as one GEMM chunk or one sample per chunk."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import graphtorch as gt
import graphtorch.nn.functional as GF
from graphtorch import numba_jit
from graphtorch.ops import conv, pooling, window_jit

HANDLES = (window_jit.MAX_POOL2D, window_jit.INDEX_SCATTER, window_jit.IM2COL2D,
           window_jit.COL2IM2D)


@pytest.fixture(params=["numba", "numpy"])
def path(request, monkeypatch):
    if request.param == "numba":
        pytest.importorskip("numba")
        monkeypatch.setenv("GRAPHTORCH_JIT", "sync")
        for handle in HANDLES:
            handle.get()
        numba_jit.wait()  # a compile an earlier test started in the background
        for handle in HANDLES:
            assert handle.get() is not None, handle.error
    else:
        for handle in HANDLES:
            monkeypatch.setattr(handle, "get", lambda: None)
    return request.param


def _pair(x, requires_grad=True):
    return (torch.tensor(x, requires_grad=requires_grad),
            gt.tensor(x, requires_grad=requires_grad))


def _close(ours, theirs, tol):
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=tol,
                               atol=tol)


POOLS = [
    {"kernel_size": 2},                                # LeNet's pool (the unrolled 2x2 loop)
    {"kernel_size": 3, "stride": 1},                   # overlapping: the scatter adds
    {"kernel_size": 2, "stride": 1},                   # overlapping 2x2
    {"kernel_size": 3, "stride": 2, "padding": 1},
    {"kernel_size": (3, 2), "stride": (2, 1), "dilation": (2, 1), "padding": (1, 0),
     "ceil_mode": True},
    {"kernel_size": 2, "ceil_mode": True},             # partial last windows
    {"kernel_size": 3, "stride": 1, "dilation": 3, "padding": 1},  # windows starting in padding
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kw", POOLS)
def test_max_pool2d_values_indices_and_grad_match_torch(path, kw, dtype):
    rng = np.random.default_rng(1)
    x = rng.permutation(2 * 3 * 7 * 6).reshape(2, 3, 7, 6).astype(dtype) * 0.37 - 5
    xt, xg = _pair(x)
    vt, it = TF.max_pool2d(xt, return_indices=True, **kw)
    vg, ig = GF.max_pool2d(xg, return_indices=True, **kw)
    np.testing.assert_array_equal(ig.numpy(), it.numpy())
    np.testing.assert_array_equal(vg.detach().numpy(), vt.detach().numpy())
    cot = rng.standard_normal(tuple(vt.shape)).astype(dtype)
    (vt * torch.tensor(cot)).sum().backward()
    (vg * gt.tensor(cot)).sum().backward()
    _close(xg.grad, xt.grad, 1e-6)


def test_max_pool2d_nan_inf_and_ties_follow_torch(path):
    x = np.random.default_rng(2).standard_normal((2, 2, 6, 6)).astype(np.float32)
    x[0, 0, 0, 0] = x[0, 0, 1, 1] = np.nan   # two NaNs in one window: PyTorch keeps the last
    x[1, 1, 2:4, 2:4] = np.nan
    x[0, 1] = -np.inf
    x[1, 0, :2, :2] = 1.5                      # a tie: the first maximum wins
    for kw in ({"kernel_size": 2}, {"kernel_size": 3, "stride": 2, "padding": 1}):
        (xt,), (xg,) = (torch.tensor(x),), (gt.tensor(x),)
        vt, it = TF.max_pool2d(xt, return_indices=True, **kw)
        vg, ig = GF.max_pool2d(xg, return_indices=True, **kw)
        np.testing.assert_array_equal(ig.numpy(), it.numpy())
        np.testing.assert_array_equal(vg.numpy(), vt.numpy())


CONVS = [
    ((64, 1, 32, 32), (6, 1, 5, 5), {}),                    # LeNet's first layer
    ((4, 6, 14, 14), (16, 6, 5, 5), {}),                    # and its second
    ((2, 3, 7, 6), (4, 3, 3, 3), {"stride": 2, "padding": 1}),
    pytest.param((2, 3, 7, 6), (4, 3, 4, 2), {"padding": "same"},  # uneven (low, high) pads
                 marks=pytest.mark.filterwarnings("ignore:Using padding='same'")),
    ((2, 3, 9, 8), (4, 3, 3, 2), {"stride": (2, 1), "padding": (2, 1), "dilation": (1, 2)}),
    ((2, 4, 6, 6), (6, 2, 3, 3), {"groups": 2, "padding": 1}),
]


@pytest.fixture(params=["default", "per_sample"])
def chunks(request, monkeypatch):
    """The batch split the convolutions' GEMMs run in: the default, or one sample each."""
    if request.param == "per_sample":
        monkeypatch.setattr(conv, "CHUNK_BYTES", 1)
    return request.param


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("xs, ws, kw", CONVS)
def test_conv2d_values_and_grads_match_torch(path, chunks, xs, ws, kw, dtype):
    rng = np.random.default_rng(3)
    x = rng.standard_normal(xs).astype(dtype)
    w = (rng.standard_normal(ws) * 0.3).astype(dtype)
    (xt, xg), (wt, wg) = _pair(x), _pair(w)
    yt, yg = TF.conv2d(xt, wt, **kw), GF.conv2d(xg, wg, **kw)
    tol = 1e-4 if dtype == "float32" else 1e-10
    _close(yg, yt, tol)
    cot = rng.standard_normal(tuple(yt.shape)).astype(dtype)
    (yt * torch.tensor(cot)).sum().backward()
    (yg * gt.tensor(cot)).sum().backward()
    _close(xg.grad, xt.grad, tol)
    _close(wg.grad, wt.grad, tol * 10)


TRANSPOSED = [
    ((2, 3, 4, 5), (3, 2, 3, 3), {}),
    ((2, 3, 4, 5), (3, 2, 3, 3), {"stride": 2, "padding": 1, "output_padding": 1}),
    ((1, 4, 3, 3), (4, 1, 2, 2), {"stride": (1, 2), "dilation": (2, 1), "groups": 2}),
    ((2, 2, 3, 4), (2, 3, 4, 3), {"stride": 3, "padding": (2, 1), "dilation": 2}),
]


@pytest.mark.parametrize("xs, ws, kw", TRANSPOSED)
def test_conv_transpose2d_values_and_grads_match_torch(path, chunks, xs, ws, kw):
    rng = np.random.default_rng(4)
    x = rng.standard_normal(xs).astype(np.float32)
    w = rng.standard_normal(ws).astype(np.float32)
    (xt, xg), (wt, wg) = _pair(x), _pair(w)
    yt, yg = TF.conv_transpose2d(xt, wt, **kw), GF.conv_transpose2d(xg, wg, **kw)
    _close(yg, yt, 1e-4)
    cot = rng.standard_normal(tuple(yt.shape)).astype(np.float32)
    (yt * torch.tensor(cot)).sum().backward()
    (yg * gt.tensor(cot)).sum().backward()
    _close(xg.grad, xt.grad, 1e-4)
    _close(wg.grad, wt.grad, 1e-4)


def test_conv_backward_skips_the_gradients_nobody_wants(monkeypatch):
    """A first layer's input needs no gradient (its transposed convolution is skipped), a
    frozen weight no weight gradient; what is computed still matches PyTorch."""
    calls = []
    original = conv.call  # what the convolution's vjp calls its two backward ops through
    monkeypatch.setattr(conv, "call", lambda op, *a, **k: calls.append(
        "transposed" if k.get("transposed") else op.name) or original(op, *a, **k))
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    for x_grad, w_grad, expected in ((False, True, ["convolution_backward_weight"]),
                                     (True, False, ["transposed"])):
        calls.clear()
        (xt, xg), (wt, wg) = _pair(x, x_grad), _pair(w, w_grad)
        TF.conv2d(xt, wt, padding=1).square().sum().backward()
        GF.conv2d(xg, wg, padding=1).square().sum().backward()
        assert calls == expected
        for ours, theirs in ((xg, xt), (wg, wt)):
            assert (ours.grad is None) == (theirs.grad is None)
            if theirs.grad is not None:
                _close(ours.grad, theirs.grad, 1e-4)


@pytest.mark.parametrize("kernel", [(1, 1), (2, 2), (3, 2), (4, 4)])
def test_tiling_max_pool_numpy_path_matches_torch(kernel):
    """Pools whose windows tile the input (kernel == stride) take a NumPy path of their
    own when the loops are unavailable: values, indices, ties and -inf as PyTorch, and
    values never alias the input."""
    rng = np.random.default_rng(7)
    x = np.round(rng.standard_normal((3, 2, 13, 9)) * 2).astype(np.float32)  # many ties
    x[0, 0, :4, :4] = -np.inf
    values, indices = pooling._max_pool_tiles(np, x, tuple(s // k for s, k in zip(
        x.shape[2:], kernel)), kernel, kernel, (0, 0), (1, 1))
    tv, ti = TF.max_pool2d(torch.from_numpy(x), kernel, return_indices=True)
    np.testing.assert_array_equal(values, tv.numpy())
    np.testing.assert_array_equal(indices, ti.numpy())
    assert not np.shares_memory(values, x)
    x[1, 1, 0, 0] = np.nan  # NaN: the general scan (PyTorch's last-NaN-wins indices)
    assert pooling._max_pool_tiles(np, x, (13 // kernel[0], 9 // kernel[1]), kernel, kernel,
                                   (0, 0), (1, 1)) is None
