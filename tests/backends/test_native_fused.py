"""The native tier (`backends.native_fused`): fused groups as C++ loops built by g++.

Every op-table group that has a C rendering runs natively and equals eager on edge values;
the polynomial tanh/exp stay within a few ulp of float64 over the whole float range;
broadcast layouts, in-place outputs, threads and the fallbacks (non-contiguous operands,
JIT off, not yet built) give eager's results."""

from __future__ import annotations

import ctypes
import os
import subprocess

import numpy as np
import pytest

import graphtorch as gt
from graphtorch import native_build
from graphtorch.backends import native_fused
from graphtorch.backends.cuda_codegen import Unsupported
from graphtorch.backends.native_fused import THREAD_MIN
from graphtorch.backends.numpy_fused import compile_fused
from graphtorch.passes.fusion import fuse_elementwise
from tests.forking import run_forked_check

from .test_cuda_codegen import fused_nodes, op_table_fused
from .test_cuda_ops import _close, _sample

pytestmark = pytest.mark.skipif(native_build.compiler() is None, reason="no C++ compiler")


@pytest.fixture
def jit(monkeypatch, tmp_path):
    """The native tier on, building synchronously into a fresh cache; yields the list of
    native kernel runs, which each test checks is not empty (the tier really ran)."""
    monkeypatch.setenv("GRAPHTORCH_JIT", "sync")
    monkeypatch.setenv("GRAPHTORCH_CACHE_DIR", str(tmp_path))
    runs = []
    original = native_fused.NativeFused._run

    def counted(self, fn, ptrs):
        runs.append(self.name)
        original(self, fn, ptrs)

    monkeypatch.setattr(native_fused.NativeFused, "_run", counted)
    yield runs
    assert runs, "the native tier never ran"


def _build(source: str, workdir) -> ctypes.CDLL:
    src, lib = workdir / "k.cpp", workdir / "k.so"
    src.write_text(source)
    subprocess.run([native_build.compiler(), *native_build.FLAGS, "-o", str(lib), str(src)],
                   check=True, capture_output=True, timeout=600)
    return ctypes.CDLL(str(lib))


def test_every_op_table_group_runs_natively_as_eager(tmp_path):
    """One library holds every table group's function (one compiler run), bound to each
    node's `NativeFused`; each must use it and agree with eager's kernel."""
    natives = []
    for row_id, node, _, _ in op_table_fused():
        fn, _ = compile_fused(node, f"fused_{node.outputs[0].id}")
        try:
            natives.append((row_id, node, native_fused.NativeFused(node, fn)))
        except Unsupported:
            pass
    assert len(natives) > 150
    helpers = "\n".join(dict.fromkeys(n.helpers for _, _, n in natives))
    lib = _build("\n".join([native_fused.HEADER, helpers] +
                           list(dict.fromkeys(n.function_source for _, _, n in natives))), tmp_path)
    rng = np.random.default_rng(1)
    failures = []
    for row_id, node, native in natives:
        native.bind(lib)
        sub = node.attrs["graph"]
        single = any(v.meta.dtype.np_dtype == np.float32 for n in sub.nodes for v in n.outputs)
        for _ in range(4):
            inputs = [_sample(rng, tuple(v.meta.shape), v.meta.dtype.np_dtype)
                      for v in node.inputs]
            try:
                with np.errstate(all="ignore"):
                    want = node.op.kernel(np, *inputs, **node.attrs)
            except (RuntimeError, ValueError, ZeroDivisionError):
                continue
            want = want if isinstance(want, tuple) else (want,)
            assert native._accepts(inputs), row_id
            got = native(*inputs)
            got = got if isinstance(got, tuple) else (got,)
            try:
                for j, (g, w) in enumerate(zip(got, want)):
                    _close(g, np.asarray(w), single, f"{row_id} output {j}")
            except AssertionError as exc:
                failures.append(f"{row_id}: {str(exc)[:500]}")
                break
    assert not failures, "\n\n".join(failures[:8])


def _ulp_error(source_fn: str, reference, x: np.ndarray, tmp_path) -> np.ndarray:
    lib = _build(native_fused.HEADER + f"""
extern "C" void f(const float* a, float* o, long long n) {{
    for (long long i = 0; i < n; ++i) o[i] = {source_fn}(a[i]);
}}""", tmp_path)
    out = np.empty_like(x)
    lib.f(ctypes.c_void_p(x.ctypes.data), ctypes.c_void_p(out.ctypes.data),
          ctypes.c_longlong(x.size))
    with np.errstate(all="ignore"):
        exact = reference(x.astype(np.float64))
        rounded = exact.astype(np.float32)
    np.testing.assert_array_equal(np.isnan(out), np.isnan(rounded))
    np.testing.assert_array_equal(out[np.isinf(rounded)], rounded[np.isinf(rounded)])
    np.testing.assert_array_equal(out[rounded == 0] == 0, True)
    finite = np.isfinite(rounded) & (rounded != 0)
    return np.abs(out[finite] - exact[finite]) / np.spacing(np.abs(rounded[finite]))


@pytest.mark.parametrize("name, reference, max_ulp", [
    ("tanhf", np.tanh, 5.0), ("expf", np.exp, 1.5)])
def test_polynomial_math_is_within_a_few_ulp_everywhere(name, reference, max_ulp, tmp_path):
    """Every 389th float32 bit pattern (11M values: all magnitudes, both signs, subnormals,
    inf and NaN): NaN and overflow/underflow exactly as float64 rounded, the rest within
    `max_ulp` (NumPy's own float32 exp is within 2.4 ulp)."""
    x = np.arange(0, 2 ** 32, 389, dtype=np.uint64).astype(np.uint32).view(np.float32)
    assert _ulp_error(name, reference, x, tmp_path).max() <= max_ulp


@pytest.mark.parametrize("shape, other", [
    ((6, 5), (5,)), ((6, 5), (6, 1)), ((2, 3, 4, 5), (3, 1, 1)), ((2, 3, 4, 5), (1, 3, 4, 1)),
    ((4, 1, 5), (4, 1, 1)), ((7,), ()), ((3, 4), (1, 1))])
def test_broadcast_layouts_match_eager(jit, shape, other):
    def f(x, b):
        return gt.sigmoid(x * b + 1.5).tanh() - b.exp()

    x, b = gt.randn(*shape), gt.randn(*other)
    out = gt.compile(f)(x, b)
    np.testing.assert_allclose(out.numpy(), f(x, b).numpy(), rtol=2e-6, atol=2e-6)


def test_input_layout():
    assert native_fused.input_layout((5,), (6, 5)) == (1, 5)
    assert native_fused.input_layout((6, 1), (6, 5)) == (5, 6)
    assert native_fused.input_layout((3, 1, 1), (2, 3, 4, 5)) == (20, 3)
    assert native_fused.input_layout((2, 1, 5), (2, 3, 5)) is None  # two blocks
    assert native_fused.input_layout((1,), (2, 3)) == "scalar"
    assert native_fused.input_layout((2, 3), (2, 3)) == "full"
    assert native_fused.input_layout((3, 1), (1, 3, 4)) == (4, 3)


def test_large_outputs_split_over_threads_with_blocks(jit):
    rows = THREAD_MIN // 512 + 3  # not a multiple of the thread count
    x, b = gt.randn(rows, 512), gt.randn(512)

    def f(x, b):
        return gt.relu(x + b) * 0.5

    np.testing.assert_allclose(gt.compile(f)(x, b).numpy(), f(x, b).numpy(), rtol=1e-6)


def test_mid_size_outputs_split_over_openmp_only(jit, monkeypatch):
    """From THREAD_MIN_OPENMP elements a kernel splits over OpenMP (a few microseconds to
    start); the Python pool (~70 us) waits for THREAD_MIN. Same values either way."""
    x = gt.randn(native_fused.THREAD_MIN_OPENMP + 1000)
    f = gt.compile(lambda a: (a * 2.0 + 1.0).tanh())
    f(x)
    kernel = [v for v in f.variants[-1].executable.forward_program.fn.__globals__.values()
              if isinstance(v, native_fused.NativeFused)][0]
    if kernel._parallel is None:
        pytest.skip("the compiler has no OpenMP")
    monkeypatch.setattr(native_fused, "get_num_threads", lambda: 2)
    split, pooled = [], []
    original = kernel._parallel
    kernel._parallel = lambda *a: split.append(1) or original(*a)
    monkeypatch.setattr(native_fused.numpy_fused, "_pool",
                        lambda n: pooled.append(1) or (_ for _ in ()).throw(AssertionError))
    expect = np.tanh(x.numpy() * np.float32(2) + np.float32(1))
    np.testing.assert_allclose(f(x).numpy(), expect, rtol=2e-6, atol=1e-6)
    assert split == [1]
    monkeypatch.setattr(native_fused, "openmp_usable", lambda: False)  # a forked child
    np.testing.assert_allclose(f(x).numpy(), expect, rtol=2e-6, atol=1e-6)
    assert split == [1] and not pooled  # below THREAD_MIN: one thread


def test_gelu_and_its_backward_match_eager(jit):
    def step(x):
        y = gt.nn.functional.gelu(x, approximate="tanh") + 0.5 * x * (1 + gt.tanh(x ** 3))
        y.sum().backward()
        return y

    x0 = gt.randn(THREAD_MIN + 7, dtype=gt.float32)
    xe, xc = x0.clone().requires_grad_(), x0.clone().requires_grad_()
    ye, yc = step(xe), gt.compile(step)(xc)
    np.testing.assert_allclose(yc.detach().numpy(), ye.detach().numpy(), rtol=2e-6, atol=1e-6)
    np.testing.assert_allclose(xc.grad.numpy(), xe.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_in_place_parameter_update_and_non_contiguous_inputs(jit):
    """An SGD update written into the parameter's own buffer (an exact alias), and a
    transposed operand (the NumPy tier takes it), both as eager."""
    w = gt.randn(64, 32)
    g = gt.randn(32, 64)

    @gt.compile
    def update(w, g):
        with gt.no_grad():
            w.sub_(0.1 * g.t())
        return w

    expect = w.numpy() - np.float32(0.1) * g.numpy().T
    out = update(w, g)
    assert out is w
    np.testing.assert_allclose(w.numpy(), expect, rtol=1e-6, atol=1e-7)

    @gt.compile
    def momentum(w, buf, g):
        with gt.no_grad():
            buf.mul_(0.9).add_(g)
            w.add_(buf, alpha=-0.1)

    buf, g = gt.randn(64, 32), gt.randn(64, 32)
    w_np, buf_np = w.numpy().copy(), buf.numpy().copy()
    momentum(w, buf, g)
    buf_np = buf_np * np.float32(0.9) + g.numpy()
    np.testing.assert_allclose(buf.numpy(), buf_np, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(w.numpy(), w_np - np.float32(0.1) * buf_np, rtol=1e-6,
                               atol=1e-6)


def test_off_and_background_modes(monkeypatch, tmp_path):
    monkeypatch.setenv("GRAPHTORCH_CACHE_DIR", str(tmp_path))
    x = gt.randn(100)
    monkeypatch.setenv("GRAPHTORCH_JIT", "0")
    off = gt.compile(lambda x: gt.tanh(x) * 2 + 1)
    np.testing.assert_allclose(off(x).numpy(), np.tanh(x.numpy()) * 2 + 1, rtol=1e-6)
    assert not list(tmp_path.rglob("*.so"))
    monkeypatch.setenv("GRAPHTORCH_JIT", "background")
    on = gt.compile(lambda x: gt.tanh(x) * 3 + 1)
    first = on(x)  # NumPy while the library builds
    native_build.wait()
    second = on(x)
    np.testing.assert_allclose(first.numpy(), second.numpy(), rtol=2e-6, atol=1e-6)
    assert list(tmp_path.rglob("*.so"))


# --- random fused groups: native equals the NumPy tier ----------------------------------
# Well-conditioned ops only (a division by a value near 0 would turn the polynomials' few
# ulp into any difference at all); the op table above checks every op on edge values.

_UNARY = [gt.tanh, gt.exp, gt.sigmoid, gt.relu, gt.abs, gt.neg, gt.erf, gt.sin,
          lambda x: x ** 2, lambda x: x ** 3, lambda x: gt.sqrt(gt.abs(x)),
          lambda x: gt.log(gt.abs(x) + 1), lambda x: gt.clamp(x, -0.5, 0.7),
          gt.nn.functional.silu, gt.nn.functional.softplus, gt.nn.functional.elu,
          lambda x: gt.nn.functional.gelu(x, approximate="tanh"), gt.nn.functional.gelu,
          lambda x: gt.nn.functional.leaky_relu(x, 0.1), lambda x: x * 0.5 + 1.25]
_BINARY = [gt.add, gt.sub, gt.mul, lambda a, b: a / (gt.abs(b) + 1), gt.maximum, gt.minimum,
           lambda a, b: gt.where(a > b, a, b * 2), lambda a, b: a * (b > 0),
           lambda a, b: gt.add(a, b, alpha=-0.5)]
_SHAPES = [((64, 33), (33,)), ((64, 33), (64, 1)), ((4, 6, 5, 7), (6, 1, 1)),
           ((4, 6, 5, 7), (1, 6, 5, 1)), ((300,), ()), ((9, 10), (9, 10)), ((3, 1, 8), (3, 1, 1))]


def _random_program(rng):
    chain = [("u", int(rng.integers(len(_UNARY)))) if rng.uniform() < 0.5
             else ("b", int(rng.integers(len(_BINARY))), int(rng.integers(3)))
             for _ in range(int(rng.integers(2, 8)))]

    def program(x, y):
        values = [x, y]
        for step in chain:
            if step[0] == "u":
                values.append(_UNARY[step[1]](values[-1]))
            else:
                values.append(_BINARY[step[1]](values[-1], values[step[2] % len(values)]))
        return values[-1] + values[-2]
    return program


def test_random_fused_groups_native_equals_numpy_tier(tmp_path):
    rng = np.random.default_rng(7)
    natives = []
    for k in range(120):
        shape, other = _SHAPES[k % len(_SHAPES)]
        dtype = (gt.float32, gt.float64)[k % 3 == 0]
        x, y = gt.randn(*shape, dtype=dtype), gt.randn(*other, dtype=dtype)
        if k % 2:
            x, y = y, x  # the broadcast operand first
        traced = gt.trace(_random_program(rng), x, y, optimize=False)
        fuse_elementwise(traced.graph, min_ops=1)
        for node in fused_nodes(traced.graph):
            fn, _ = compile_fused(node, f"fused_{node.outputs[0].id}")
            try:
                natives.append((k, node, fn, native_fused.NativeFused(node, fn)))
            except Unsupported:
                pass
    assert len(natives) >= 100
    helpers = "\n".join(dict.fromkeys(n.helpers for *_, n in natives))
    lib = _build("\n".join([native_fused.HEADER, helpers] +
                           list(dict.fromkeys(n.function_source for *_, n in natives))),
                 tmp_path)
    failures = []
    for k, node, numpy_fn, native in natives:
        native.bind(lib)
        single = node.outputs[0].meta.dtype.np_dtype == np.float32
        inputs = [_sample(rng, tuple(v.meta.shape), v.meta.dtype.np_dtype)
                  for v in node.inputs]
        with np.errstate(all="ignore"):
            want = numpy_fn(*inputs)
        got = native(*inputs)
        try:
            for g, w in zip(*[o if isinstance(o, tuple) else (o,) for o in (got, want)]):
                _close(g, w, single, f"program {k}")
        except AssertionError as exc:
            failures.append(f"program {k} {[n.op.name for n in node.attrs['graph'].op_nodes]}"
                            f": {str(exc)[:400]}")
    assert not failures, "\n\n".join(failures[:6])


def test_hot_loops_vectorise(tmp_path):
    """A scalar loop is ~30x slower (relu's mask stored as bool once made GCC branch per
    element; a bool operand read through `const bool*` stopped vectorisation): the inner loops of a training step's typical groups must vectorise."""
    if "g++" not in os.path.basename(native_build.compiler()):
        pytest.skip("the vectorisation report is GCC's")

    def groups(x, b, m, g, keep):
        h = gt.relu(x + b)
        mask = h > 0
        gelu = 0.5 * x * (1 + gt.tanh(0.79788 * (x + 0.044715 * x ** 3)))
        new_m = m * 0.9 + g  # SGD momentum with a float64 learning rate
        return h, mask, gelu, new_m, x - new_m * gt.tensor(0.01, dtype=gt.float64), \
            gt.where(mask, g, 0.0), gt.sigmoid(g) * gt.exp(-g), gt.where(keep, x, 0.0)

    x, m, g = gt.randn(64, 256), gt.randn(64, 256), gt.randn(64, 256)
    keep = gt.randn(64, 256) > 0  # a bool input (a saved ReLU mask): loaded as bytes
    traced = gt.trace(groups, x, gt.randn(256), m, g, keep, optimize=False)
    fuse_elementwise(traced.graph, min_ops=1)
    checked = 0
    for node in fused_nodes(traced.graph):
        fn, _ = compile_fused(node, "fused")
        native = native_fused.NativeFused(node, fn)
        source = tmp_path / "k.cpp"
        source.write_text(native.source)
        report = subprocess.run(
            [native_build.compiler(), *native_build.FLAGS, "-fopt-info-vec-all", "-o",
             str(tmp_path / "k.so"), str(source)], capture_output=True, text=True).stderr
        lines = native.source.splitlines()
        inner = [i + 1 for i, text in enumerate(lines) if "for (long long k = 0" in text]
        vectorised = {int(r.split(":")[1]) for r in report.splitlines()
                      if "optimized: loop vectorized" in r}
        assert inner and set(inner) <= vectorised, (native.function_source, report[-2000:])
        checked += 1
    assert checked >= 3


def test_strided_operands_are_copied_then_run_natively(jit):
    """A transposed or sliced operand runs the native kernel on a contiguous copy (not the
    NumPy tier's op-by-op chunks), with eager's values; an in-place update of the view's
    base still sees the right values."""
    a = gt.randn(64, 48)

    @gt.compile
    def f(a):
        return (a.t() * 2.0 + 1.0).tanh() + a[:, ::2].sum()

    f(a)
    f(a)
    program = f._last.executable.forward_program
    natives = [v for v in program.fn.__globals__.values()
               if isinstance(v, native_fused.NativeFused)]
    assert natives
    calls = []
    for kernel in natives:
        kernel.numpy_fn = (lambda fn: lambda *args, **kw: calls.append(1) or fn(*args, **kw))(
            kernel.numpy_fn)
    got = f(a).numpy()
    assert not calls, "a strided operand fell back to the NumPy tier"
    expect = np.tanh(a.numpy().T * np.float32(2) + np.float32(1)) + a.numpy()[:, ::2].sum()
    np.testing.assert_allclose(got, expect, rtol=1e-5, atol=1e-5)


def _kernel_of(fn, *args):
    """The native kernel of the one fused node of `fn` traced on `args`, built."""
    traced = gt.trace(fn, *args, optimize=False)
    fuse_elementwise(traced.graph, min_ops=1)
    (node,) = fused_nodes(traced.graph)
    numpy_fn, _ = compile_fused(node, "fused")
    kernel = native_fused.NativeFused(node, numpy_fn)
    assert kernel.function() is not None
    calls = []
    kernel.numpy_fn = lambda *a, **k: calls.append(1) or numpy_fn(*a, **k)
    return kernel, calls


def test_operands_sharing_a_permuted_layout_run_in_memory_order(jit):
    """Full-size operands (and a given output) laid out alike as a permuted contiguous block
    - a batch-first LSTM's output and its gradient - run in memory order without copies,
    the result laid out like them; a mismatched output, an operand broadcast along some
    dims, or a gapped view take the copy or NumPy paths. Values always as NumPy's."""
    rng = np.random.default_rng(0)
    shape = (4, 5, 6)
    kernel, calls = _kernel_of(lambda a, b, c: (a * b + c).tanh() * 2.0,
                               *(gt.randn(*shape) for _ in range(3)))

    def permuted(perm):
        base = rng.standard_normal(tuple(shape[i] for i in np.argsort(perm))).astype(np.float32)
        view = base.transpose(perm)
        assert view.shape == shape
        return view

    def expect(a, b, c):
        return np.tanh(a * b + c) * np.float32(2.0)

    for perm in [(1, 0, 2), (2, 1, 0), (0, 2, 1)]:
        ops = [permuted(perm) for _ in range(3)]
        got = kernel(*ops)
        np.testing.assert_allclose(got, expect(*ops), rtol=1e-6, atol=1e-6)
        assert got.strides == ops[0].strides  # laid out like its inputs
        out = np.empty_like(ops[0])
        assert kernel(*ops, out=out) is out
        np.testing.assert_allclose(out, expect(*ops), rtol=1e-6, atol=1e-6)
        in_place = ops[2].copy(order="K")  # the same layout
        kernel(ops[0], ops[1], in_place, out=in_place)
        np.testing.assert_allclose(in_place, expect(*ops), rtol=1e-6, atol=1e-6)
    assert not calls
    mixed = [permuted((1, 0, 2)), permuted((2, 1, 0)), np.ascontiguousarray(permuted((1, 0, 2)))]
    np.testing.assert_allclose(kernel(*mixed), expect(*mixed), rtol=1e-6, atol=1e-6)
    assert not calls  # copied, then native
    out = np.empty(shape, np.float32)[:, :, :]  # C order, while the inputs are permuted
    ops = [permuted((1, 0, 2)) for _ in range(3)]
    kernel(*ops, out=out)
    np.testing.assert_allclose(out, expect(*ops), rtol=1e-6, atol=1e-6)
    gapped = [rng.standard_normal((4, 5, 12)).astype(np.float32)[:, :, ::2] for _ in range(3)]
    np.testing.assert_allclose(kernel(*gapped), expect(*gapped), rtol=1e-6, atol=1e-6)

    broadcast, _ = _kernel_of(lambda a, b: a * b + 1.0, gt.randn(*shape), gt.randn(5, 1))
    a, b = permuted((1, 0, 2)), rng.standard_normal((5, 1)).astype(np.float32)
    np.testing.assert_allclose(broadcast(a, b), a * b + np.float32(1), rtol=1e-6, atol=1e-6)


def test_large_kernels_split_with_openmp_and_forked_children_do_not_hang(tmp_path):
    """Outputs of THREAD_MIN+ elements run the kernel's OpenMP entry (one call, no Python
    thread hand-off); a child forked afterwards (a DataLoader worker) must not enter GNU
    OpenMP again (it would hang): it splits over the Python pool, with the same values."""
    setup = """
import numpy as np
import graphtorch as gt
from graphtorch.backends import native_fused
x = gt.randn(native_fused.THREAD_MIN * 2 + 5)
f = gt.compile(lambda a: (a * 2.0 + 1.0).tanh())
f(x)
y = f(x).numpy()
kernel = [v for v in f._last.executable.forward_program.fn.__globals__.values()
          if isinstance(v, native_fused.NativeFused)][0]
if kernel._parallel is None:
    print("no-openmp"); sys.exit(0)
calls = []
original = kernel._parallel
kernel._parallel = lambda *a: calls.append(1) or original(*a)
assert np.array_equal(f(x).numpy(), y) and calls == [1]
"""
    check = "np.array_equal(f(x).numpy(), y) and calls == [1]"  # the pool, not OpenMP
    out = run_forked_check(setup, check, tmp_path)
    if out == "no-openmp":
        pytest.skip("the compiler has no OpenMP")
    assert out == "child 0"
