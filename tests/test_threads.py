"""`gt.set_num_threads` / `get_num_threads`: PyTorch's default and errors, one setting for
NumPy's BLAS pool (through threadpoolctl) and the fused-kernel pool."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import graphtorch as gt
from graphtorch import threads
from graphtorch.backends import numpy_fused
from tests.autograd.diff import raises_like_torch

threadpoolctl = pytest.importorskip("threadpoolctl")


@pytest.fixture
def restore_threads():
    before = gt.get_num_threads()
    yield
    gt.set_num_threads(before)


def _blas_threads():
    return {pool["num_threads"] for pool in threadpoolctl.threadpool_info()
            if pool["user_api"] == "blas" and "numpy" in pool["filepath"]}


def test_set_num_threads_sets_blas_and_fused_pools(restore_threads):
    gt.set_num_threads(1)
    assert gt.get_num_threads() == 1
    assert _blas_threads() == {1}
    gt.set_num_threads(3)
    assert gt.get_num_threads() == 3 and _blas_threads() == {3}
    x = gt.randn(1 << 19)
    fn, _ = numpy_fused.compile_fused(_fused_node(x), "fused_t")
    fn(x.numpy())
    assert threads._POOL["threads"] == 3  # the kernel pool was rebuilt for 3 threads
    assert threads._POOL["executor"]._max_workers == 2  # the caller is the third


def _fused_node(x):
    from graphtorch.passes.fusion import fuse_elementwise

    graph = gt.trace(lambda t: (t * 2).exp() + 1, x).graph
    fuse_elementwise(graph)
    return next(n for n in graph.op_nodes if n.op.name == "fused")


def test_default_is_pytorchs(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    assert threads.default_num_threads() == threads._physical_cores() >= 1
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert threads.default_num_threads() == 3
    monkeypatch.setenv("MKL_NUM_THREADS", "5")  # PyTorch lets MKL_NUM_THREADS win
    assert threads.default_num_threads() == 5


def test_default_applied_at_import(monkeypatch):
    """A fresh interpreter: BLAS gets the default as soon as graphtorch is imported."""
    import subprocess

    code = ("import threadpoolctl, graphtorch as gt; "
            "print(gt.get_num_threads(), sorted({p['num_threads'] for p in "
            "threadpoolctl.threadpool_info() if p['user_api'] == 'blas' and 'numpy' in "
            "p['filepath']}))")
    env = {k: v for k, v in __import__("os").environ.items()
           if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    env["OMP_NUM_THREADS"] = "1"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, check=True).stdout.split(maxsplit=1)
    assert out[0] == "1" and out[1].strip() == "[1]"


@pytest.mark.parametrize("case", [
    lambda lib: lib.set_num_threads(0),
    lambda lib: lib.set_num_threads(-2),
    lambda lib: lib.set_num_threads(2.5),
    lambda lib: lib.set_num_threads(nthreads=2),
], ids=["zero", "negative", "float", "keyword"])
def test_errors_as_torch(case):
    raises_like_torch(case)


def test_without_threadpoolctl_only_graphtorchs_pool_follows(monkeypatch, restore_threads):
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # import now fails
    monkeypatch.setitem(threads._state, "warned", False)
    before = _blas_threads()
    with pytest.warns(UserWarning, match="threadpoolctl is not installed"):
        gt.set_num_threads(2)
    assert gt.get_num_threads() == 2
    gt.set_num_threads(1)  # warns once only (pytest would turn a second warning into an error)
    assert gt.get_num_threads() == 1
    monkeypatch.undo()
    assert _blas_threads() == before


def test_results_do_not_depend_on_threads(restore_threads):
    x = gt.randn(300, 200)
    w = gt.randn(200, 100)
    gt.set_num_threads(1)
    one = (x @ w).numpy().copy()
    gt.set_num_threads(2)
    np.testing.assert_allclose((x @ w).numpy(), one, rtol=1e-6)
