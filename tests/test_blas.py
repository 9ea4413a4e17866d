"""graphtorch.blas: matrix products through MKL against np.matmul and PyTorch, the op-table
rows that multiply (matmul, addmm, conv, LSTM) with MKL forced, and the loading switch."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import numpy as np
import pytest

import graphtorch as gt
from graphtorch import blas

MKL_WHEEL_PLATFORM = platform.machine() in ("x86_64", "AMD64")


@pytest.fixture
def mkl(monkeypatch):
    """MKL loaded for this test (and every product size through it); the module's state
    is restored afterwards so the rest of the suite keeps NumPy's BLAS."""
    saved = dict(blas._STATE)
    monkeypatch.setenv("GRAPHTORCH_BLAS", "mkl")
    monkeypatch.setattr(blas, "MIN_MACS", 0)
    if not blas.load():
        if os.environ.get("CI", "").lower() == "true" and MKL_WHEEL_PLATFORM:
            pytest.fail(f"MKL should be installed by the test extra: {blas.why_not()}")
        pytest.skip(f"MKL unavailable: {blas.why_not()}")
    assert blas.backend() == "mkl"
    yield
    blas._STATE.clear()
    blas._STATE.update(saved)


def _close(got, expected, k):
    tol = 1e-5 * max(1, k) ** 0.5 if got.dtype == np.float32 else 1e-12 * max(1, k)
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol)


def _layouts(x):
    """x as a C array, a Fortran array, a transposed view and a strided (padded) slice."""
    padded = np.zeros((x.shape[0], x.shape[1] + 3), x.dtype)
    padded[:, :x.shape[1]] = x
    return {"C": x.copy(), "F": np.asfortranarray(x), "T-view": x.T.copy().T,
            "padded": padded[:, :x.shape[1]]}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m,k,n", [(37, 19, 23), (1, 40, 9), (40, 1, 9), (9, 40, 1),
                                   (64, 128, 96)])
def test_matmul_layouts_match_numpy(mkl, dtype, m, k, n):
    rng = np.random.default_rng(m * k + n)
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    expected = a.astype(np.float64) @ b.astype(np.float64)
    for la, a2 in _layouts(a).items():
        for lb, b2 in _layouts(b).items():
            got = blas.matmul(a2, b2)
            assert got.dtype == dtype and got.shape == (m, n), (la, lb)
            _close(got, expected, k)


def test_matmul_out_and_batched(mkl):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((3, 20, 30)).astype(np.float32)
    b = rng.standard_normal((3, 30, 10)).astype(np.float32)
    w = rng.standard_normal((30, 7)).astype(np.float32)
    _close(blas.matmul(a, b), a @ b, 30)
    out = np.empty((3, 20, 10), np.float32)
    assert blas.matmul(a, b, out=out) is out
    _close(out, a @ b, 30)
    _close(blas.matmul(a, w), a @ w, 30)  # (..., m, k) @ (k, n): one product
    out2 = np.empty((3, 20, 7), np.float32)
    assert blas.matmul(a, w, out=out2) is out2
    _close(out2, a @ w, 30)
    empty = np.zeros((2, 3, 0), np.float32)  # k = 0: zeros, as NumPy
    np.testing.assert_array_equal(blas.matmul(empty, np.zeros((0, 4), np.float32)),
                                  np.zeros((2, 3, 4), np.float32))
    big_batch = rng.standard_normal((20, 4, 5)).astype(np.float64)  # NumPy does these
    _close(blas.matmul(big_batch, big_batch.transpose(0, 2, 1)),
           big_batch @ big_batch.transpose(0, 2, 1), 5)


def test_matmul_falls_back_where_blas_cannot(mkl):
    rng = np.random.default_rng(2)
    ints = rng.integers(-5, 5, (6, 6))
    np.testing.assert_array_equal(blas.matmul(ints, ints), ints @ ints)
    c = (rng.standard_normal((5, 5)) + 1j).astype(np.complex64)
    np.testing.assert_allclose(blas.matmul(c, c), c @ c, rtol=1e-5)
    mixed = blas.matmul(np.ones((4, 4), np.float32), np.ones((4, 4)))
    assert mixed.dtype == np.float64  # NumPy's promotion, as before
    every_other = rng.standard_normal((8, 8)).astype(np.float32)[::2, ::2]  # no BLAS layout
    _close(blas.matmul(every_other, every_other), every_other @ every_other, 4)
    x = rng.standard_normal((6, 6)).astype(np.float32)
    out = x.copy()
    np.testing.assert_allclose(blas.matmul(x, x, out=out), x @ x, rtol=1e-5)  # out aliases
    nan = np.full((4, 4), np.nan, np.float32)
    assert np.isnan(blas.matmul(nan, x[:4, :4])).all()


@pytest.mark.parametrize("bias_shape", [(9,), (1, 9), (7, 1), (), (7, 9)])
@pytest.mark.parametrize("beta,alpha", [(1, 1), (1, 0.5), (0.5, 2)])
def test_addmm_matches_torch(mkl, torch_oracle, bias_shape, beta, alpha):
    rng = np.random.default_rng(3)
    bias = rng.standard_normal(bias_shape).astype(np.float32)
    m1 = rng.standard_normal((7, 11)).astype(np.float32)
    m2 = rng.standard_normal((11, 9)).astype(np.float32)
    got = blas.addmm(bias, m1, m2, beta=beta, alpha=alpha)
    t = torch_oracle
    expected = t.addmm(t.from_numpy(bias), t.from_numpy(m1), t.from_numpy(m2), beta=beta,
                       alpha=alpha).numpy()
    _close(got, expected, 11)
    _close(blas.addmm(bias, m1.T.copy().T, np.asfortranarray(m2), beta, alpha), expected, 11)


ROW_OPS = {"matmul", "addmm", "convolution", "lstm_scan", "linear"}


def _rows():
    from tests.ops import test_op_table as table

    return table


@pytest.mark.parametrize("which", ["forward", "backward"])
def test_op_table_rows_that_multiply_under_mkl(mkl, which):
    """The op table's rows for the ops that call BLAS, eager, with every product (even
    1x1) going through MKL."""
    table = _rows()
    ran = 0
    if which == "forward":
        for row, case, dtype in table.FORWARD:
            if set(row.ops) & ROW_OPS and dtype in ("float32", "float64"):
                table.test_forward_matches_torch(row, case, dtype)
                ran += 1
    else:
        for row, case in table.BACKWARD:
            if set(row.ops) & ROW_OPS:
                table.test_gradients_match_torch(row, case)
                ran += 1
    assert ran >= 10


def test_compiled_training_step_under_mkl_matches_eager(mkl):
    """An MLP + conv + LSTM step compiled, against the same step eager on NumPy's BLAS."""
    def build():
        gt.manual_seed(0)
        conv = gt.nn.Conv2d(2, 4, 3)
        lstm = gt.nn.LSTM(8, 16, batch_first=True)
        head = gt.nn.Sequential(gt.nn.Linear(4 * 6 * 6 + 16, 64), gt.nn.ReLU(),
                                gt.nn.Linear(64, 5))
        params = list(conv.parameters()) + list(lstm.parameters()) + list(head.parameters())
        opt = gt.optim.SGD(params, lr=0.05, momentum=0.9)

        def step(img, seq, y):
            opt.zero_grad()
            feats = conv(img).relu().flatten(1)
            h = lstm(seq)[0][:, -1]
            loss = gt.nn.functional.cross_entropy(head(gt.cat([feats, h], 1)), y)
            loss.backward()
            opt.step()
            return loss

        return step, params

    rng = np.random.default_rng(4)
    img = gt.from_numpy(rng.standard_normal((6, 2, 8, 8)).astype(np.float32))
    seq = gt.from_numpy(rng.standard_normal((6, 5, 8)).astype(np.float32))
    y = gt.from_numpy(rng.integers(0, 5, 6))
    eager_step, eager_params = build()
    compiled_step, compiled_params = build()
    compiled_step = gt.compile(compiled_step)
    blas_state = dict(blas._STATE)
    for _ in range(4):
        blas._STATE["gemm"] = None  # eager on NumPy's BLAS ...
        expected = eager_step(img, seq, y).item()
        blas._STATE.update(blas_state)  # ... compiled on MKL
        got = compiled_step(img, seq, y).item()
        assert abs(got - expected) <= 1e-5 * max(1.0, abs(expected))
    for p, q in zip(compiled_params, eager_params):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-4, atol=1e-5)


def _run(code: str, **env) -> str:
    full = {**os.environ, **env}
    result = subprocess.run([sys.executable, "-c", code], env=full, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_switch_numpy_never_loads_mkl():
    code = ("import numpy as np; from graphtorch import blas\n"
            "a = np.ones((64, 64), np.float32)\n"
            "blas.matmul(a, a); print(blas.load(), blas.backend(), blas._STATE['tried'])")
    assert _run(code, GRAPHTORCH_BLAS="numpy", GRAPHTORCH_JIT="sync") == "False numpy False"
    assert _run(code, GRAPHTORCH_BLAS="auto", GRAPHTORCH_JIT="0") == "False numpy False"


def test_background_loading_after_warmup():
    """auto: the first products run on NumPy's BLAS; once products have been asked for
    longer than WARMUP_SECONDS, MKL loads on the background worker and serves the rest."""
    code = ("import time, numpy as np; from graphtorch import blas, jit_background\n"
            "blas.WARMUP_SECONDS = 0.05\n"
            "a = np.ones((64, 64), np.float32)\n"
            "blas.matmul(a, a); first = blas.backend()\n"
            "time.sleep(0.1); blas.matmul(a, a); jit_background.wait()\n"
            "r = blas.matmul(a, a); assert (r == 64).all()\n"
            "print(first, blas.backend() if blas.why_not() is None else blas.why_not())")
    out = _run(code, GRAPHTORCH_BLAS="auto", GRAPHTORCH_JIT="background")
    first, _, now = out.partition(" ")
    assert first == "numpy"
    if now != "mkl":
        pytest.skip(f"MKL unavailable here: {now}")


def test_unknown_setting_warns():
    code = ("import warnings; warnings.simplefilter('error')\n"
            "from graphtorch import blas\n"
            "try:\n    blas._setting()\nexcept RuntimeWarning as w:\n    print('warned', w)")
    assert _run(code, GRAPHTORCH_BLAS="openblas").startswith("warned GRAPHTORCH_BLAS='openblas'")


def test_set_num_threads_reaches_mkl(mkl):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    before = gt.get_num_threads()
    try:
        gt.set_num_threads(1)
        pools = [p for p in threadpoolctl.threadpool_info() if p.get("internal_api") == "mkl"]
        assert pools and all(p["num_threads"] == 1 for p in pools)
    finally:
        gt.set_num_threads(before)


def test_without_mkl_numpy_multiplies_and_says_why(monkeypatch):
    monkeypatch.setattr(blas, "_STATE", {"gemm": None, "tried": False, "future": None,
                                         "first_ask": None, "error": None})
    monkeypatch.setattr(blas, "_library_paths", lambda: ["/nonexistent/libmkl_rt.so.3"])
    monkeypatch.setenv("GRAPHTORCH_BLAS", "mkl")
    assert blas.load() is False
    assert blas.backend() == "numpy" and "pip install graphtorch[mkl]" in blas.why_not()
    a = np.arange(64 * 64, dtype=np.float32).reshape(64, 64)
    np.testing.assert_array_equal(blas.matmul(a, a), a @ a)
    assert blas.gemm_pointer(np.float32) is not None or blas._NUMPY_BLAS == [{}]


SUM_CASES = [((1600, 512), (0,)), ((64, 6, 28, 28), (0, 2, 3)), ((50, 32, 512), (0, 1)),
             ((400, 4, 90), (0,)), ((300, 2, 8, 31), (0, 2, 3))]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, axes", SUM_CASES)
@pytest.mark.parametrize("keepdims", [False, True])
def test_column_sums_by_gemv_match_float64(shape, axes, dtype, keepdims):
    rng = np.random.default_rng(5)
    a = (rng.standard_normal(shape) * 10).astype(dtype)
    got = blas.sum_by_gemv(a, axes, keepdims)
    assert got is not None and got.dtype == dtype
    expected = a.astype(np.float64).sum(axis=axes, keepdims=keepdims)
    assert got.shape == expected.shape
    scale = np.abs(a).astype(np.float64).sum(axis=axes, keepdims=keepdims)
    tol = 1e-6 if dtype == np.float32 else 1e-14
    assert np.all(np.abs(got - expected) <= tol * scale + 1e-30)


def test_column_sums_by_gemv_keep_nan_inf_and_decline_other_cases():
    a = np.ones((2048, 64), np.float32)
    a[3, 1], a[7, 2], a[9, 2], a[5, 3] = np.nan, np.inf, -np.inf, np.inf
    with np.errstate(all="ignore"):  # as the sum kernel and the programs run it
        got = blas.sum_by_gemv(a, (0,))
    assert np.isnan(got[1]) and np.isnan(got[2]) and got[3] == np.inf and got[0] == 2048
    assert blas.sum_by_gemv(a, (1,)) is None                       # a trailing axis: NumPy
    assert blas.sum_by_gemv(a[:, ::2].copy().T, (0,)) is None      # too few rows
    assert blas.sum_by_gemv(a.T, (1,)) is None                     # not C-contiguous
    assert blas.sum_by_gemv(np.ones((2048, 64), np.int64), (0,)) is None  # integers
    assert blas.sum_by_gemv(np.ones((8, 8), np.float32), (0,)) is None  # small


def test_sum_op_eager_and_compiled_use_it_with_torch_values(torch_oracle):
    torch = torch_oracle
    rng = np.random.default_rng(6)
    x = rng.standard_normal((64, 6, 28, 28)).astype(np.float32)
    y = rng.standard_normal((1600, 512)).astype(np.float32)
    f = lambda lib, a, b: (a.sum(dim=(0, 2, 3)), b.sum(0), b.sum(0, keepdim=True))  # noqa: E731
    expected = [t.numpy() for t in f(torch, torch.from_numpy(x), torch.from_numpy(y))]
    gx, gy = gt.from_numpy(x), gt.from_numpy(y)
    compiled = gt.compile(lambda a, b: f(gt, a, b))
    for got in (f(gt, gx, gy), compiled(gx, gy), compiled(gx, gy)):
        for g, e in zip(got, expected):
            assert g.shape == tuple(e.shape)
            np.testing.assert_allclose(g.numpy(), e, rtol=1e-5, atol=1e-3)
    assert "_sum(" in compiled.code


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # constant patches
@given(shape=st.lists(st.integers(1, 9), min_size=2, max_size=4),
       lead=st.integers(1, 3), keep_axis1=st.booleans(), keepdims=st.booleans(),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2 ** 16))
def test_random_column_sums_match_numpy(monkeypatch, shape, lead, keep_axis1, keepdims,
                                        dtype, seed):
    """Random shapes and both reduction layouts, every size through the GEMV path."""
    monkeypatch.setattr(blas, "GEMV_MIN_ROWS", 1)
    monkeypatch.setattr(blas, "GEMV_MIN_ELEMENTS", 1)
    a = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    if keep_axis1 and a.ndim >= 3:
        axes = (0,) + tuple(range(2, a.ndim))
    else:
        axes = tuple(range(min(lead, a.ndim - 1)))
    got = blas.sum_by_gemv(a, axes, keepdims)
    assert got is not None
    expected = a.astype(np.float64).sum(axis=axes, keepdims=keepdims)
    assert got.shape == expected.shape and got.dtype == dtype
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol * np.abs(a).sum())
