"""The CuPy backend on a GPU (`graphtorch.backends.cupy_backend`): every op-table row's fused
kernel, the MLP training step, a softmax cross-entropy forward and backward and tanh-GELU
give what the CPU program gives. Graphs are compiled on the CPU (`gt.compile`) and their
programs rebuilt with `CupyProgram`; skipped without CuPy and a GPU (tests/gpu/conftest.py)."""

from __future__ import annotations

import numpy as np
import pytest

from graphtorch.backends import cupy_backend
from graphtorch.backends.cuda_codegen import Unsupported, fused_kernel
from graphtorch.backends.cupy_backend import CupyProgram, FusedLauncher
from graphtorch.backends.interpreter import Interpreter
from graphtorch.backends.numpy_backend import NumpyProgram
from graphtorch.ir.graph import NodeKind
from graphtorch.tensor import Tensor

from ..backends.test_cuda_codegen import (
    cross_entropy_model,
    fused_nodes,
    gelu_graph,
    mlp_step,
    op_table_fused,
)

pytestmark = pytest.mark.gpu


@pytest.fixture
def cp():
    return cupy_backend.cupy_module()


def _close(got, want, what):
    want = np.asarray(want)
    assert got.dtype == want.dtype and got.shape == want.shape, what
    if want.dtype.kind in "biu":
        np.testing.assert_array_equal(got, want, err_msg=what)
    else:
        rtol, atol = (1e-5, 1e-5) if want.dtype == np.float32 else (1e-9, 1e-12)
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=what)


def _values(traced, arrays):
    """Every value of the traced graph by id, computed op by op on the CPU (eager)."""
    env = {}
    graph = traced.graph
    inputs = [n for n in graph.nodes if n.kind is NodeKind.INPUT]
    for node, a in zip(inputs, arrays):
        env[node.outputs[0].id] = a
    for node in graph.nodes:
        if node.kind is NodeKind.PARAM:
            env[node.outputs[0].id] = traced.params[node.name]._data

    def record(node, outputs):
        outs = outputs if isinstance(outputs, (tuple, list)) else (outputs,)
        for v, o in zip(node.outputs, outs):
            env[v.id] = o._data if isinstance(o, Tensor) else o

    Interpreter(graph, traced.params).run(*[Tensor._wrap(a.copy()) for a in arrays],
                                          callback=record)
    return env


def test_op_table_kernels_equal_eager(cp):
    """Every op-table row's fused kernel on the GPU equals eager graphtorch on the CPU: the
    flat kernel (all of them compiled as one module), and the ElementwiseKernel path for
    broadcast groups and every 8th other group (one NVRTC compilation each)."""
    cases = []
    for row_id, node, traced, arrays in op_table_fused():
        try:
            cases.append((row_id, node, fused_kernel(node), traced, arrays))
        except Unsupported:
            continue
    flat = {k.source: k for _, _, k, _, _ in cases if not k.broadcast}
    module = cp.RawModule(code="\n".join(flat))
    for source, k in flat.items():
        cupy_backend._KERNELS[("raw", source)] = module.get_function(k.name)
    failures = []
    for pos, (row_id, node, kernel, traced, arrays) in enumerate(cases):
        env = _values(traced, arrays)
        dev = [cp.asarray(env[v.id]) for v in node.inputs]
        want = [env[v.id] for v in node.outputs]
        launcher = FusedLauncher(cp, kernel, node.outputs[0].meta.shape,
                                 [v.meta.dtype.np_dtype for v in node.outputs])
        got = launcher(*dev)
        results = [(("elementwise" if kernel.broadcast else "flat"),
                    got if isinstance(got, tuple) else (got,))]
        if not kernel.broadcast and pos % 8 == 0:
            outs = [cp.empty(o.shape, o.dtype) for o in results[0][1]]
            launcher._elementwise()(*dev, *outs)
            results.append(("elementwise", outs))
        for path, outs in results:
            for g, w in zip(outs, want):
                try:
                    _close(cp.asnumpy(g), w, f"{row_id} {path}")
                except AssertionError as exc:
                    failures.append(str(exc)[:600])
    assert len(cases) > 400
    assert not failures, f"{len(failures)} mismatches:\n" + "\n".join(failures[:25])


def _compare_program(cp, graph, calls):
    arrays, want = calls[-1]
    program = CupyProgram(graph)
    got = program(*[cp.asarray(a) for a in arrays])
    assert len(got) == len(want)
    for k, (g, w) in enumerate(zip(got, want)):
        g = cp.asnumpy(g)
        assert g.dtype == w.dtype and g.shape == w.shape, k
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5, err_msg=f"output {k}")
    return program


def test_mlp_training_step_equals_cpu(cp):
    compiled, calls = mlp_step()
    program = _compare_program(cp, compiled.graph, calls)
    assert all(not isinstance(k, str) for k in program.kernels.values()), program.kernels


def test_cross_entropy_forward_and_backward_equal_cpu(cp):
    compiled, fwd, bwd = cross_entropy_model()
    _compare_program(cp, compiled.graph, fwd)
    _compare_program(cp, compiled.backward_graph, bwd)


def test_gelu_paths_and_kernel_cache(cp):
    graph = gelu_graph(1 << 20)
    program = CupyProgram(graph)
    assert len(program.kernels) == 1
    x = np.random.default_rng(0).standard_normal(1 << 21).astype(np.float32)
    want = NumpyProgram(gelu_graph(1 << 20))(x[::2].copy())[0]
    (flat,) = program(cp.asarray(x[::2].copy()))
    (strided,) = program(cp.asarray(x)[::2])  # non-contiguous: the ElementwiseKernel path
    np.testing.assert_allclose(cp.asnumpy(flat), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(cp.asnumpy(strided), cp.asnumpy(flat))
    cached = len(cupy_backend._KERNELS)
    (again,) = CupyProgram(gelu_graph(1 << 20))(cp.asarray(x[::2].copy()))
    assert len(cupy_backend._KERNELS) == cached  # same source: no new compilation
    np.testing.assert_array_equal(cp.asnumpy(again), cp.asnumpy(flat))


def test_output_into_an_input_buffer(cp):
    (node,) = fused_nodes(gelu_graph(4096))
    launcher = FusedLauncher(cp, fused_kernel(node), (4096,), [np.float32])
    x = cp.asarray(np.linspace(-4, 4, 4096, dtype=np.float32))
    want = cp.asnumpy(launcher(x))
    out = launcher(x, out=x)
    assert out is x
    np.testing.assert_array_equal(cp.asnumpy(x), want)


def _inplace(exe, graph):
    in_place = getattr(exe.forward_program, "in_place", {})
    return {k: in_place[v.id] for k, v in enumerate(graph.outputs)
            if not v.is_const and v.id in in_place}


@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_cuda_graph_replay_equals_normal_runs(cp, loss):
    """Four calls with the same arrays (parameters updated in place each call): replayed
    (or, where capture is impossible, normal) runs equal the CPU program's, call by call.
    The MSE step is captured (cuBLAS included); cross-entropy's nll_loss checks its targets
    on the host, which capture refuses, so that program runs normally."""
    compiled, calls = mlp_step(loss=loss)
    exe = compiled._latest()
    graph = compiled.graph
    inplace = _inplace(exe, graph)
    arrays, _ = calls[-1]
    cpu = NumpyProgram(graph, "forward", inplace=inplace)
    host = [np.array(a, copy=True) for a in arrays]
    program = CupyProgram(graph, inplace=inplace, cuda_graph=True)
    dev = [cp.asarray(a) for a in arrays]
    for call in range(4):
        want = cpu(*host)
        got = program(*dev)
        for k, (g, w) in enumerate(zip(got, want)):
            np.testing.assert_allclose(cp.asnumpy(g), w, rtol=1e-4, atol=1e-5,
                                       err_msg=f"call {call} output {k}")
    status = program.replay.status
    if loss == "mse":
        assert status.startswith("captured") and "0 inputs read in place" not in status, status
    else:
        assert status != "not captured yet"


def test_cuda_graph_replays_new_argument_values(cp):
    program = CupyProgram(gelu_graph(4096), cuda_graph=True)
    reference = CupyProgram(gelu_graph(4096))
    rng = np.random.default_rng(0)
    for _ in range(4):
        x = cp.asarray(rng.standard_normal(4096).astype(np.float32))
        np.testing.assert_array_equal(cp.asnumpy(program(x)[0]), cp.asnumpy(reference(x)[0]))
    assert program.replay.status.startswith("captured"), program.replay.status


def test_gemm_through_cublas_equals_cupy(cp):
    xp = cupy_backend.gemm_xp(cp)
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        a = cp.asarray(rng.standard_normal((37, 23)).astype(dtype))
        b = cp.asarray(rng.standard_normal((23, 41)).astype(dtype))
        for x, y in ((a, b), (cp.asfortranarray(a), b), (a, b.T.copy().T), (a[:, ::1], b[::1]),
                     (cp.asarray(rng.standard_normal((37, 46)).astype(dtype))[:, ::2], b)):
            got = xp.matmul(x, y)
            np.testing.assert_allclose(cp.asnumpy(got), cp.asnumpy(cp.matmul(x, y)),
                                       rtol=1e-5, atol=1e-5)
