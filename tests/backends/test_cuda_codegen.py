"""The CUDA kernel generator (`graphtorch.backends.cuda_codegen`) as text, on the CPU: the
fused groups of an MLP training step, tanh-GELU and a softmax cross-entropy (forward and
backward) each become one kernel with PyTorch's semantics spelled out, and every generated
kernel (those models and every op-table row's fused ops) compiles with ``nvcc --ptx`` where
nvcc exists. tests/gpu/test_compiled_cuda.py runs the same kernels on a GPU."""

from __future__ import annotations

import itertools
import math
import shutil
import subprocess

import numpy as np
import pytest

import graphtorch as gt
import graphtorch.nn.functional as F
from graphtorch import nn
from graphtorch.backends.cuda_codegen import CudaKernel, Unsupported, fused_kernel, literal
from graphtorch.backends.cupy_backend import CupyProgram
from graphtorch.ir.tracer import TracingError
from graphtorch.ops.fused import is_fused
from graphtorch.passes.fusion import fuse_elementwise
from graphtorch.passes.pipeline import run_passes

from ..ops import harness as H
from ..ops.test_op_table import ROWS

C = math.sqrt(2 / math.pi)


# --- test models (shared with tests/gpu/test_compiled_cuda.py) ----------------------------

def gelu(x):
    return 0.5 * x * (1 + gt.tanh(C * (x + 0.044715 * x ** 3)))


def gelu_graph(n=1024, dtype=gt.float32):
    """tanh-GELU traced on a length-`n` vector and optimised (one fused group)."""
    return run_passes(gt.trace(gelu, gt.zeros(n, dtype=dtype), optimize=False).graph)


def record_calls(exe, attr):
    """Wrap `exe.<attr>` (a program) so every call appends (input copies, outputs)."""
    calls = []
    program = getattr(exe, attr)

    def recorded(*arrays):
        copies = [np.array(a, copy=True) for a in arrays]
        outs = program(*arrays)
        calls.append((copies, tuple(np.array(o, copy=True) for o in outs)))
        return outs

    setattr(exe, attr, recorded)
    return calls


def mlp_step(sizes=(20, 32, 32, 5), batch=16, seed=0, loss="cross_entropy"):
    """A compiled MLP training step (zero_grad, forward, cross-entropy or mean squared error,
    backward, SGD with momentum) run three times; returns (compiled step, forward-program
    calls of step 3)."""
    gt.manual_seed(seed)
    layers = []
    for a, b in itertools.pairwise(sizes):
        layers += [nn.Linear(a, b), nn.ReLU()]
    model = nn.Sequential(*layers[:-1])
    opt = gt.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss() if loss == "cross_entropy" else \
        (lambda out, y: ((out - y.float().unsqueeze(1)) ** 2).mean())

    def step(x, y):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    compiled = gt.compile(step)
    x, y = gt.randn(batch, sizes[0]), gt.randint(0, sizes[-1], (batch,))
    compiled(x, y)
    compiled(x, y)
    calls = record_calls(compiled._latest(), "forward_program")
    compiled(x, y)
    return compiled, calls


def cross_entropy_model(batch=8, features=12, classes=6, seed=0):
    """A compiled linear layer + softmax cross-entropy whose backward runs the generated
    backward graph; returns (compiled, forward calls, backward calls)."""
    gt.manual_seed(seed)
    lin = nn.Linear(features, classes)
    compiled = gt.compile(lambda x, y: F.cross_entropy(gt.tanh(lin(x)) * 2, y))
    x, y = gt.randn(batch, features), gt.randint(0, classes, (batch,))
    compiled(x, y).backward()
    compiled(x, y).backward()  # with .grad set: the variant the next call runs
    exe = compiled._latest()
    fwd, bwd = record_calls(exe, "forward_program"), record_calls(exe, "backward_program")
    compiled(x, y).backward()
    return compiled, fwd, bwd


def fused_nodes(graph):
    return [n for n in graph.op_nodes if is_fused(n.op)]


def op_table_fused():
    """(row id, fused node, traced graph, traced inputs) for every op-table row whose first
    case traces, with every elementwise op fused (groups of one op included)."""
    found = []
    for row in ROWS:
        for dtype in row.dtypes:
            inputs = H.make_inputs(row, row.cases[0], dtype)
            tensors = H.to_lib(gt, inputs, ())
            positions = [i for i, t in enumerate(tensors) if isinstance(t, gt.Tensor)]

            def program(*xs, tensors=tensors, positions=positions, row=row):
                args = list(tensors)
                for i, x in zip(positions, xs):
                    args[i] = x
                return tuple(o for o in H.flat_outputs(row.fn(gt, *args))
                             if isinstance(o, gt.Tensor))

            try:
                traced = gt.trace(program, *[tensors[i] for i in positions], optimize=False)
            except (TracingError, RuntimeError, NotImplementedError, TypeError, ValueError):
                continue
            fuse_elementwise(traced.graph, min_ops=1)
            for node in fused_nodes(traced.graph):
                found.append((f"{row.name}-{dtype}", node, traced,
                              [inputs[i] for i in positions]))
    return found


# --- kernel text ---------------------------------------------------------------------------

def test_literals_follow_numpy_weak_scalars():
    assert literal(0.1, np.float32) == "0.10000000149011612f"  # rounded to float32
    assert literal(0.1, np.float64) == "0.1"
    assert literal(2, np.float32) == "2.0f"
    assert literal(-2, np.uint8) == "((unsigned char)254)"  # Python ints wrap around
    assert literal(-2 ** 63, np.int64) == "(-9223372036854775807LL - 1)"
    assert literal(True, np.bool_) == "true"
    assert literal(math.inf, np.float32) == "__int_as_float(0x7f800000)"
    assert literal(-math.inf, np.float64) == "-__longlong_as_double(0x7ff0000000000000LL)"
    with pytest.raises(Unsupported):
        literal(1j, np.float32)


def test_gelu_is_one_float_kernel():
    (node,) = fused_nodes(gelu_graph())
    k = fused_kernel(node)
    assert isinstance(k, CudaKernel) and not k.broadcast
    src = k.source
    assert f'extern "C" __global__ void {k.name}(' in src
    assert "tanhf(" in src and "0.5f" in src and "0.044714998453855515f" in src
    assert "double" not in src
    assert "const float a0 = a0_ptr[i];" in src and "o0_ptr[i] = " in src
    # x ** 3 is two products (the simplify pass), as in PyTorch
    assert "powf" not in src and "(a0 * a0)" in src


def test_float64_uses_double_functions():
    (node,) = fused_nodes(gelu_graph(dtype=gt.float64))
    src = fused_kernel(node).source
    assert "tanh(" in src and "tanhf" not in src and "0.5f" not in src and "double" in src


def _kernel_of(fn, *examples):
    graph = run_passes(gt.trace(fn, *examples, optimize=False).graph)
    (node,) = fused_nodes(graph)
    return fused_kernel(node)


def test_pytorch_semantics_spelled_out():
    x, y = gt.randn(8), gt.randn(8)
    relu = _kernel_of(lambda x: gt.relu(x) * 2, x).body
    assert "a0 != a0" in relu  # relu(NaN) is NaN
    mx = _kernel_of(lambda x, y: gt.maximum(x, y) + 1, x, y).body
    assert "(a0 >= a1 || a0 != a0) ? a0 : a1" in mx  # NaN from either side
    floats = _kernel_of(lambda a, b: a % b + 1, x, y)
    assert "gt_remainder(a0, a1)" in floats.body and "float gt_remainder(" in floats.preamble
    # integer division by zero raises in eager, which a kernel cannot: op by op
    with pytest.raises(Unsupported, match="remainder on int64"):
        _kernel_of(lambda a, b: a % b + 1, gt.arange(8), gt.arange(1, 9))
    # int64 * float scalar computes in float32 (the default dtype): the input is cast
    mixed = _kernel_of(lambda a: a * 0.5 + 1, gt.arange(8)).body
    assert "((float)a0) * 0.5f" in mixed


def test_mixed_dtypes_cast_as_eager():
    lr = gt.tensor(0.1, dtype=gt.float64)  # a 0-d float64 tensor does not promote float32
    k = _kernel_of(lambda p, g, lr: p - g * lr, gt.randn(8), gt.randn(8), lr)
    (lr_name,) = [name for name, d, _ in k.params if d == "float64"]
    assert k.scalar_inputs == {lr_name} and f"((float){lr_name})" in k.body
    assert sorted(d for _, d, _ in k.params) == ["float32"] * 3 + ["float64"]


def test_broadcast_group_is_marked():
    k = _kernel_of(lambda x, b: gt.tanh(x + b) * 2, gt.randn(4, 8), gt.randn(8))
    assert k.broadcast
    ins, outs, operation, _, _ = k.elementwise_args()
    assert ins == "float32 a0, float32 a1" and outs == "float32 o0"
    assert operation.rstrip().endswith("o0 = " + k.stores[0][1] + ";")


def test_unsupported_group_runs_op_by_op():
    graph = run_passes(gt.trace(lambda a, b: a % b * 2, gt.arange(8), gt.arange(1, 9),
                                optimize=False).graph)
    (node,) = fused_nodes(graph)
    with pytest.raises(Unsupported, match="remainder"):
        fused_kernel(node)
    program = CupyProgram(graph, xp=np)  # code only: no GPU needed
    (reason,) = program.kernels.values()
    assert "remainder" in reason and "runs op by op" in program.code


def test_mlp_step_groups_are_kernels_in_code():
    compiled, _ = mlp_step()
    graph = compiled.graph
    nodes = fused_nodes(graph)
    assert len(nodes) >= 4
    program = CupyProgram(graph, xp=np)
    assert all(isinstance(k, CudaKernel) for k in program.kernels.values())
    assert len(program.kernels) == len(nodes)
    for k in program.kernels.values():
        assert k.name in program.code
    assert "def forward(" in program.code


def test_cross_entropy_forward_and_backward_are_kernels():
    compiled, _, _ = cross_entropy_model()
    for graph in (compiled.graph, compiled.backward_graph):
        for node in fused_nodes(graph):
            assert isinstance(fused_kernel(node), CudaKernel)


def test_kernel_names_and_sources_are_stable():
    a = fused_kernel(fused_nodes(gelu_graph())[0])
    b = fused_kernel(fused_nodes(gelu_graph())[0])
    assert a.source == b.source and a.name == b.name  # the cache key is the source


def test_most_op_table_groups_become_kernels():
    found = op_table_fused()
    ok = [n for _, n, _, _ in found if _supported(n)]
    assert len(ok) >= 0.85 * len(found) and len(ok) > 400


def _supported(node) -> bool:
    try:
        fused_kernel(node)
    except Unsupported:
        return False
    return True


# --- nvcc ------------------------------------------------------------------------------------

def _translation_unit(kernels) -> str:
    sources = dict.fromkeys(k.source for k in kernels)  # equal groups: one kernel
    return "\n".join(sources)


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc is not on PATH")
def test_every_generated_kernel_compiles_with_nvcc(tmp_path):
    models = [fused_kernel(n) for n in fused_nodes(gelu_graph())
              + fused_nodes(gelu_graph(dtype=gt.float64))]
    compiled, _ = mlp_step()
    models += [fused_kernel(n) for n in fused_nodes(compiled.graph)]
    ce, _, _ = cross_entropy_model()
    models += [fused_kernel(n) for n in fused_nodes(ce.graph) + fused_nodes(ce.backward_graph)]
    table = []
    for _, node, _, _ in op_table_fused():
        try:
            table.append(fused_kernel(node))
        except Unsupported:
            pass
    jobs = []
    # The op table's ~370 kernels are only parsed and lowered (no NVVM optimisation: 10x
    # faster); the models' kernels are compiled as CuPy compiles them.
    for name, kernels, fast in (("models", models, []), ("op_table", table, ["-Xcicc", "-O0"])):
        cu = tmp_path / f"{name}.cu"
        cu.write_text(_translation_unit(kernels))
        jobs.append((cu, subprocess.Popen(
            ["nvcc", "--ptx", "-w", "-arch=sm_80", *fast, "-o", str(tmp_path / f"{name}.ptx"),
             str(cu)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)))
    for cu, proc in jobs:
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, f"nvcc failed on {cu.name}:\n{out[-4000:]}"
        ptx = cu.with_suffix(".ptx").read_text()
        kernels = models if cu.stem == "models" else table
        for k in kernels:
            assert f".entry {k.name}(" in ptx


def test_cupy_program_generates_device_paths_without_a_gpu(monkeypatch):
    """The GEMM branch (cuBLAS through GemmXP) and symbolic sizes are code-generated with a
    stand-in array module that is not NumPy, so a change in the generator's contract fails
    here and not only on a GPU."""
    import numpy as np

    import graphtorch as gt
    from graphtorch.backends import cupy_backend

    class NotNumpy:
        def __getattr__(self, name):
            return getattr(np, name)

    monkeypatch.setattr(cupy_backend, "gemm_xp", lambda xp: xp)
    monkeypatch.setattr(cupy_backend, "_to_device", lambda namespace, xp: None)
    gt.manual_seed(0)
    model = gt.nn.Sequential(gt.nn.Linear(4, 5), gt.nn.ReLU(), gt.nn.Linear(5, 2))
    traced = gt.trace(model, gt.randn(3, 4), optimize=False)
    program = cupy_backend.CupyProgram(traced.graph, "forward", xp=NotNumpy())
    assert "addmm" in program.code
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    arrays = [x] + [traced.params[n.name]._data for n in traced.graph.params]
    (out,) = program.fn(*arrays)
    np.testing.assert_allclose(out, model(gt.from_numpy(x)).detach().numpy(), rtol=1e-6)
