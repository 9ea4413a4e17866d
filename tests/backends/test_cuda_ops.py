"""`cuda_ops.CUDA_OPS`: every fusible op has a CUDA rendering, every rendering builds a
kernel for some op-table row, and the generated bodies, run on the CPU through g++
(`cuda_on_host`), compute what eager graphtorch computes, edge values included (NaN, inf,
-0.0, integer extremes, shifts past the width). The same kernels compile with
``nvcc --ptx`` in test_cuda_codegen.py; tests/gpu runs them on a GPU."""

from __future__ import annotations

import os

import numpy as np
import pytest

import graphtorch  # noqa: F401 - registers every op
from graphtorch.backends.cuda_codegen import Unsupported, fused_kernel
from graphtorch.backends.cuda_ops import CUDA_OPS
from graphtorch.backends.numpy_fused import compile_fused
from graphtorch.ops.registry import REGISTRY
from graphtorch.passes.fusion import fusible_op

from . import cuda_on_host
from .test_cuda_codegen import op_table_fused

FUSIBLE = {op for op in REGISTRY.values() if fusible_op(op)}
FLOAT_EDGES = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.5, -2.5, 3.0, -7.25, 1e-3, 25.0, -30.0,
               np.inf, -np.inf, np.nan]
INT_EDGES = [0, 1, -1, 2, 3, -3, 5, -8, 7, 9, 63, 64]


@pytest.fixture(scope="module")
def table_kernels():
    """(row id, fused node, CudaKernel) for every op-table group that becomes a kernel."""
    found = []
    for row_id, node, _, _ in op_table_fused():
        try:
            found.append((row_id, node, fused_kernel(node)))
        except Unsupported:
            pass
    return found


def test_every_fusible_op_has_a_cuda_rendering():
    missing = sorted(op.name for op in FUSIBLE - set(CUDA_OPS))
    assert not missing, f"fusible ops without a rendering in cuda_ops.CUDA_OPS: {missing}"
    stale = sorted(op.name for op in set(CUDA_OPS) - FUSIBLE)
    assert not stale, f"renderings of ops that are never fused: {stale}"


def test_every_rendering_builds_a_kernel_for_some_op_table_row(table_kernels):
    built = {n.op for _, node, _ in table_kernels for n in node.attrs["graph"].op_nodes}
    missing = sorted(op.name for op in FUSIBLE - built)
    assert not missing, f"no op-table row of these ops becomes a CUDA kernel: {missing}"


def test_every_fusible_op_runs_fused_on_numpy():
    """Each op-table group (every fusible op in some row) runs through the fused NumPy
    tier; test_numpy_fused.py compares those results with eager row by row."""
    seen = set()
    for _, node, _, _ in op_table_fused():
        compile_fused(node)
        seen |= {n.op for n in node.attrs["graph"].op_nodes}
    assert not sorted(op.name for op in FUSIBLE - seen)


def _sample(rng, shape, dtype: np.dtype):
    size = int(np.prod(shape))
    if dtype.kind == "b":
        return rng.integers(0, 2, size).astype(bool).reshape(shape)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        pool = np.array([v for v in INT_EDGES if info.min <= v <= info.max] + [info.max,
                        info.min], dtype=np.int64)
        return rng.choice(pool, size).astype(dtype).reshape(shape)
    pool = np.array(FLOAT_EDGES)
    values = np.where(rng.uniform(size=size) < 0.5, rng.choice(pool, size),
                      rng.uniform(-3, 3, size))
    return values.astype(dtype).reshape(shape)


def _close(got: np.ndarray, want: np.ndarray, single: bool, what: str):
    """`single`: some value of the group is float32 (the host's float32 functions and
    NumPy's differ by a few ulp, which later ops may amplify)."""
    assert got.dtype == want.dtype, f"{what}: dtype {got.dtype} != eager {want.dtype}"
    if want.dtype.kind in "biu":
        np.testing.assert_array_equal(got, want, err_msg=what)
        return
    rtol, atol = (2e-4, 1e-5) if single else (1e-10, 1e-12)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, equal_nan=True, err_msg=what)


@pytest.mark.skipif(not cuda_on_host.have_compiler(), reason="g++ is not on PATH")
def test_kernel_bodies_compute_what_eager_computes(table_kernels, tmp_path):
    host = cuda_on_host.HostKernels([k for _, _, k in table_kernels], tmp_path)
    rng = np.random.default_rng(0)
    failures = []
    for k, (row_id, node, kernel) in enumerate(table_kernels):
        sub = node.attrs["graph"]
        shape = tuple(node.outputs[0].meta.shape)
        if not int(np.prod(shape)):
            continue
        single = any(v.meta.dtype.np_dtype == np.float32 for n in sub.nodes for v in n.outputs)
        for _ in range(6):
            inputs = [_sample(rng, tuple(n.outputs[0].meta.shape), n.outputs[0].meta.dtype
                              .np_dtype) for n in sub.inputs]
            try:
                with np.errstate(all="ignore"):
                    want = node.op.kernel(np, *inputs, **node.attrs)
            except (RuntimeError, ValueError, ZeroDivisionError):
                continue  # eager refuses these values
            want = want if isinstance(want, tuple) else (want,)
            got = host.run(k, inputs, shape)
            try:
                for j, (g, w) in enumerate(zip(got, want)):
                    _close(g, np.asarray(w), single, f"{row_id} output {j}")
            except AssertionError as exc:
                ops = [n.op.name for n in sub.op_nodes]
                failures.append(f"{row_id} {ops} inputs={[a.tolist() for a in inputs]}\n"
                                f"{str(exc)[:600]}")
                break
    assert not failures, f"{len(failures)} kernels differ from eager:\n" + \
        "\n\n".join(failures[:int(os.environ.get("GT_SHOW_FAILURES", 8))])
