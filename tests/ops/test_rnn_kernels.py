"""The lstm_scan kernels on every path: the native loop over time (g++; GEMMs in registers
with the batch split over two threads, or through MKL or NumPy's own OpenBLAS), the Numba
cells (GRAPHTORCH_JIT=sync without the native loop) and the NumPy fallback (JIT off),
against a float64 PyTorch loop, with awkward operands (transposed views, read-only arrays)
and gradients flowing into h_n and c_n."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphtorch import blas, native_build
from graphtorch.ops import rnn, rnn_jit, rnn_native

torch = pytest.importorskip("torch")


@pytest.fixture(params=["numpy", "numba", "native-small", "native-openblas", "native-mkl"])
def path(request, monkeypatch):
    """Selects the implementation; asserts that it is the one that will run."""
    name = request.param
    if name == "numpy":
        monkeypatch.setenv("GRAPHTORCH_JIT", "0")
        # forget compiled kernels
        for handle in [h for pair in rnn_jit._KERNELS.values() for h in pair]:
            monkeypatch.setattr(handle, "kernel", None)
            monkeypatch.setattr(handle, "_future", None)
    else:
        monkeypatch.setenv("GRAPHTORCH_JIT", "sync")
    if name == "numba":
        pytest.importorskip("numba")
        monkeypatch.setattr(rnn_native, "_functions", lambda dtype: None)
    if name.startswith("native"):
        if native_build.compiler() is None:
            pytest.skip("no C++ compiler")
        if name == "native-small":  # two threads whatever the machine has
            monkeypatch.setattr(rnn_native, "get_num_threads", lambda: 2)
        else:  # every W_hh through the CBLAS
            monkeypatch.setattr(rnn_native, "SMALL_GEMM_BYTES", 0)
        if name == "native-openblas":
            monkeypatch.setenv("GRAPHTORCH_BLAS", "numpy")
            monkeypatch.setattr(blas, "_STATE", {**blas._STATE, "gemm": None})
        else:
            monkeypatch.setenv("GRAPHTORCH_BLAS", "mkl")
            monkeypatch.setattr(blas, "_STATE", dict(blas._STATE))  # restored afterwards
            if not blas.load():
                pytest.skip(f"MKL unavailable: {blas.why_not()}")
        for dtype in (np.float32, np.float64):
            gemm, ilp64, threads = rnn_native._products(np.dtype(dtype), 8, 4)
            assert (gemm is None) == (name == "native-small")
            assert threads == (2 if name == "native-small" else 1)
            assert bool(ilp64) == (name == "native-openblas")  # OpenBLAS's ints are 64-bit
    for dtype in (np.float32, np.float64):
        for get in (rnn_jit.forward_cell, rnn_jit.backward_cell):
            assert (get(np, np.dtype(dtype)) is not None) == (name != "numpy")
        assert (rnn_native._functions(dtype) is not None) == name.startswith("native")
    return name


def _reference(x, h0, c0, w_ih, w_hh, bias, reverse, g_hs, g_h, g_c):
    leaves = [torch.from_numpy(a.astype(np.float64)).requires_grad_()
              for a in (x, h0, c0, w_ih, w_hh, bias)]
    xt, h, c, wi, w, b = leaves
    gx = xt @ wi.t() + b
    hs = [None] * gx.shape[0]
    for t in (range(gx.shape[0] - 1, -1, -1) if reverse else range(gx.shape[0])):
        i, f, g, o = (gx[t] + h @ w.t()).chunk(4, 1)
        c = f.sigmoid() * c + i.sigmoid() * g.tanh()
        h = o.sigmoid() * c.tanh()
        hs[t] = h
    hs = torch.stack(hs)
    loss = sum((a * torch.from_numpy(b.astype(np.float64))).sum()
               for a, b in ((hs, g_hs), (h, g_h), (c, g_c)))
    loss.backward()
    return [hs.detach().numpy(), h.detach().numpy(), c.detach().numpy()], \
        [t.grad.numpy() for t in leaves]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("sizes", [(5, 3, 4, 3), (4, 9, 20, 7), (3, 6, 40, 16)])
@pytest.mark.parametrize("input_in_loop", [True, False])
def test_kernels_match_torch(path, monkeypatch, dtype, reverse, sizes, input_in_loop):
    """Sizes cover the in-register GEMM's 4-row x 4-vector tiles, its one-vector and
    scalar column tails and single rows, and an odd split of the batch over threads; the
    input GEMM runs inside the native loop (in registers or per step through the CBLAS) or
    as one GEMM before it."""
    monkeypatch.setattr(rnn_native, "input_in_loop", lambda x, w_hh: input_in_loop)
    rng = np.random.default_rng(0)
    _check_kernels(rng, sizes, dtype, reverse)


def _check_kernels(rng, sizes, dtype, reverse):
    steps, batch, hidden, size = sizes
    x = rng.standard_normal((batch, steps, size)).astype(dtype).transpose(1, 0, 2)
    h0, c0 = rng.standard_normal((2, batch, hidden)).astype(dtype)
    c0.flags.writeable = False  # e.g. a constant of a compiled graph
    w_ih = (rng.standard_normal((4 * hidden, size)) * 0.5).astype(dtype)
    w_hh = (rng.standard_normal((4 * hidden, hidden)) * 0.5).astype(dtype)
    bias = rng.standard_normal(4 * hidden).astype(dtype)
    g_hs = rng.standard_normal((batch, steps, hidden)).astype(dtype).transpose(1, 0, 2)
    g_h, g_c = rng.standard_normal((2, batch, hidden)).astype(dtype)
    hs, h_n, c_n, cs, tanh_cs, gates = rnn._forward_kernel(np, x, h0, c0, w_ih, w_hh, bias,
                                                           reverse=reverse)
    d_gates, d_h0, d_c0 = rnn._backward_kernel(np, g_hs, g_h, g_c, c0, w_hh, cs, tanh_cs,
                                               gates, reverse=reverse)
    # the weight gradients as the vjp forms them: one GEMM over every step
    h_prev = np.concatenate([hs[1:], h0[None]]) if reverse else \
        np.concatenate([h0[None], hs[:-1]])
    flat = d_gates.reshape(-1, 4 * hidden)
    d_x = (flat @ w_ih).reshape(x.shape)
    d_w_ih = flat.T @ x.reshape(-1, size)
    d_w = flat.T @ h_prev.reshape(-1, hidden)
    values, grads = _reference(x, h0, c0, w_ih, w_hh, bias, reverse, g_hs, g_h, g_c)
    # float32: the native loop's polynomial tanh is within a few ulp of NumPy's
    tol = {"float32": 2e-5, "float64": 1e-12}[dtype]
    got_all = [hs, h_n, c_n, d_x, d_h0, d_c0, d_w_ih, d_w, flat.sum(0)]
    for got, want in zip(got_all, values + grads):
        assert got.dtype == np.dtype(dtype)
        scale = max(1.0, float(np.abs(want).max()))
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * scale)
    np.testing.assert_allclose(tanh_cs, np.tanh(cs), rtol=tol, atol=tol)
    assert h_n is not hs[0] and not np.shares_memory(h_n, hs)  # kernels return new memory


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(1, 6), st.integers(1, 13), st.integers(1, 70), st.integers(1, 40),
       st.sampled_from(["float32", "float64"]), st.booleans(), st.integers(1, 3))
def test_in_register_path_over_random_sizes(monkeypatch, steps, batch, hidden, size, dtype,
                                            reverse, threads):
    """The native loop with its in-register GEMM over random sizes and thread counts
    (every tile shape and tail), against the float64 PyTorch loop."""
    if native_build.compiler() is None:
        pytest.skip("no C++ compiler")
    monkeypatch.setenv("GRAPHTORCH_JIT", "sync")
    monkeypatch.setattr(rnn_native, "get_num_threads", lambda: threads)
    assert rnn_native._functions(dtype) is not None
    assert rnn_native._products(np.dtype(dtype), batch, hidden)[0] is None
    _check_kernels(np.random.default_rng(steps * 100 + batch), (steps, batch, hidden, size),
                   dtype, reverse)


@pytest.mark.parametrize("layout", ["expanded", "flipped"])
def test_odd_input_strides_on_every_gemm_route(path, monkeypatch, layout):
    """An input expanded over the batch (stride 0) or flipped in time (negative stride):
    a CBLAS rejects such rows as a matrix (and would compute nothing), so the loop copies
    them first; results as for the contiguous input."""
    monkeypatch.setattr(rnn_native, "input_in_loop", lambda x, w_hh: True)
    rng = np.random.default_rng(1)
    steps, batch, hidden, size = 4, 3, 5, 6
    base = rng.standard_normal((steps, 1 if layout == "expanded" else batch, size))
    x = base.astype(np.float32)
    x = np.broadcast_to(x, (steps, batch, size)) if layout == "expanded" else x[::-1]
    h0, c0 = rng.standard_normal((2, batch, hidden)).astype(np.float32)
    w_ih = rng.standard_normal((4 * hidden, size)).astype(np.float32)
    w_hh = rng.standard_normal((4 * hidden, hidden)).astype(np.float32)
    bias = rng.standard_normal(4 * hidden).astype(np.float32)
    got = rnn._forward_kernel(np, x, h0, c0, w_ih, w_hh, bias)
    want = rnn._forward_kernel(np, np.ascontiguousarray(x), h0, c0, w_ih, w_hh, bias)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-6)
