"""Compiled fused kernels (`graphtorch.backends.numpy_fused`) equal eager graphtorch: every
op-table row is traced, every elementwise op fused (groups of one op included), compiled and
compared with eager values and dtypes; plus the chunked, broadcast, strided, threaded and
out= paths on arrays larger than a chunk."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.backends import numpy_fused
from graphtorch.backends.numpy_fused import compile_fused, fused_namespace, fused_source
from graphtorch.ir.graph import NodeKind
from graphtorch.ir.tracer import TracingError
from graphtorch.ops import dispatch
from graphtorch.ops.fused import is_fused
from graphtorch.passes.fusion import fuse_elementwise

from ..ops import harness as H
from ..ops.test_op_table import ROWS, _id


def run_compiled(graph, *arrays, params=None):
    """Run `graph` with each fused node compiled and every other op eager; outputs as arrays.
    `params` maps PARAM names to tensors."""
    env = {}
    inputs = iter(arrays)
    for pos, node in enumerate(graph.nodes):
        if node.kind is NodeKind.OUTPUT:
            return tuple(env[v.id] if not v.is_const else v.const for v in node.inputs)
        if node.kind is NodeKind.PARAM:
            env[node.outputs[0].id] = params[node.name]._data
            continue
        if node.kind is NodeKind.INPUT:
            env[node.outputs[0].id] = next(inputs)
            continue
        args = [[env[x.id] for x in v] if isinstance(v, list) else
                v.const if v.is_const else env[v.id] for v in node.inputs]
        if is_fused(node.op):
            fn, _ = compile_fused(node, f"fused_{pos}")
            out = fn(*args)
        else:
            out = dispatch.call(node.op, *(_wrap(a) for a in args), **node.attrs)
            out = tuple(o._data for o in out) if isinstance(out, tuple) else out._data
        outs = out if isinstance(out, tuple) else (out,)
        for v, o in zip(node.outputs, outs):
            env[v.id] = o
    raise AssertionError("no OUTPUT node")


def _wrap(a):
    if isinstance(a, list):
        return [_wrap(x) for x in a]
    return gt.Tensor._wrap(a) if isinstance(a, np.ndarray) else a


def _fused_nodes(graph):
    return [n for n in graph.nodes if n.kind is NodeKind.OP and is_fused(n.op)]


ELEMENTWISE_ROWS = [(row, row.cases[0], dtype) for row in ROWS for dtype in row.dtypes]


@pytest.mark.parametrize("row,case,dtype", ELEMENTWISE_ROWS, ids=_id)
def test_fused_row_equals_eager(row, case, dtype):
    inputs = H.make_inputs(row, case, dtype)
    tensors = H.to_lib(gt, inputs, ())
    positions = [i for i, t in enumerate(tensors) if isinstance(t, gt.Tensor)]

    def program(*xs):
        args = list(tensors)
        for i, x in zip(positions, xs):
            args[i] = x
        return tuple(o for o in H.flat_outputs(row.fn(gt, *args)) if isinstance(o, gt.Tensor))

    try:
        eager = program(*[tensors[i] for i in positions])
        traced = gt.trace(program, *[tensors[i] for i in positions], optimize=False)
    except (TracingError, RuntimeError, NotImplementedError, TypeError, ValueError):
        pytest.skip("not traceable (covered by tests/ir/test_trace_op_table.py)")
    graph = traced.graph
    fuse_elementwise(graph, min_ops=1)
    if not _fused_nodes(graph):
        pytest.skip("no elementwise op in this row")
    graph.verify()
    got = run_compiled(graph, *[inputs[i].copy() for i in positions], params=traced.params)
    assert len(got) == len(eager) + len(traced.mutated)  # trailing: buffers written back
    exact = not any(n.op.name == "pow" for f in _fused_nodes(graph)
                    for n in f.attrs["graph"].op_nodes)
    for g, e in zip(got, eager):
        e = e.detach().numpy()
        g = np.asarray(g)
        assert g.dtype == e.dtype and g.shape == e.shape, H.repro(row, case, dtype)
        if exact:  # the same NumPy loops on the same dtypes: bit-identical
            np.testing.assert_array_equal(g, e, err_msg=H.repro(row, case, dtype))
        else:  # x ** 2, x ** 3 are products (as in PyTorch), NumPy's power is not
            np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-6, err_msg=H.repro(row, case,
                                                                                    dtype))


def _compiled(fn, *example):
    graph = gt.trace(fn, *example, optimize=False).graph
    fuse_elementwise(graph)
    (node,) = _fused_nodes(graph)
    return compile_fused(node, "fused_test")


def _gelu(x):
    return 0.5 * x * (1 + gt.tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)))


@pytest.mark.parametrize("shape", [(5, 70001), (300_001,), (3, 5, 40_000)])
def test_chunked_path_equals_eager(shape):
    x = gt.randn(*shape)
    fn, _ = _compiled(_gelu, x)
    assert x.numel() > numpy_fused.CHUNK
    np.testing.assert_array_equal(fn(x.numpy()), _gelu(x).numpy())


def test_broadcast_and_strided_operands():
    x, b = gt.randn(300, 700), gt.randn(700)
    col = gt.randn(300, 1)

    def f(x, b, col):
        return ((x * b + col).sigmoid() - 0.5) * 2

    fn, _ = _compiled(f, x, b, col)
    want = f(x, b, col).numpy()
    np.testing.assert_array_equal(fn(x.numpy(), b.numpy(), col.numpy()), want)
    xt = np.ascontiguousarray(x.numpy().T).T  # same values, Fortran order: strided chunks
    np.testing.assert_array_equal(fn(xt, b.numpy(), col.numpy()), want)


def test_broadcast_over_leading_axes():
    x, y, z = gt.randn(3, 5, 40_000), gt.randn(3, 1, 40_000), gt.randn(5, 1)

    def f(x, y, z):
        return (x * y - z).exp() + 1

    fn, _ = _compiled(f, x, y, z)
    np.testing.assert_array_equal(fn(x.numpy(), y.numpy(), z.numpy()), f(x, y, z).numpy())


def test_threads_and_single_thread_agree():
    x = gt.randn(1 << 19)
    fn, _ = _compiled(_gelu, x)
    threads = gt.get_num_threads()
    try:
        gt.set_num_threads(4)  # more than one chunk per thread at this size
        many = fn(x.numpy())
        gt.set_num_threads(1)
        np.testing.assert_array_equal(fn(x.numpy()), many)
    finally:
        gt.set_num_threads(threads)


def test_out_is_written_and_returned():
    x = gt.randn(4, 100_000)
    fn, _ = _compiled(_gelu, x)
    out = np.empty((4, 100_000), np.float32)
    result = fn(x.numpy(), out=out)
    assert result is out
    np.testing.assert_array_equal(out, _gelu(x).numpy())
    strided = np.empty((100_000, 4), np.float32).T  # a non-contiguous out
    assert fn(x.numpy(), out=strided) is strided
    np.testing.assert_array_equal(strided, out)
    with pytest.raises(ValueError, match="out"):
        fn(x.numpy(), out=np.empty((4, 100_000), np.float64))


def test_out_aliasing_an_input_is_safe():
    x = gt.randn(200_000)
    fn, _ = _compiled(_gelu, x)
    data = x.numpy().copy()
    want = _gelu(x).numpy()
    assert fn(data, out=data) is data
    np.testing.assert_array_equal(data, want)


def test_casting_matches_eager():
    """int tensor * float scalar, bool inputs, float16 math and comparisons."""
    i = gt.tensor(np.arange(-70_000, 70_000, dtype=np.int32))
    h = gt.tensor(np.linspace(-3, 3, 140_000).astype(np.float16))
    m = gt.tensor(np.arange(140_000) % 3 == 0)

    def f(i, h, m):
        a = i * 0.25 + h           # int32 * float -> f32, + f16 -> f32
        b = (h * 2).tanh() + m     # f16 math, bool promoted
        c = (a > b) & m            # comparisons and logic -> bool
        return a - b, c, (i + 7) // 3 * m

    graph = gt.trace(f, i, h, m, optimize=False).graph
    fuse_elementwise(graph)
    assert len(_fused_nodes(graph)) >= 1
    got = run_compiled(graph, i.numpy(), h.numpy(), m.numpy())
    for g, e in zip(got, f(i, h, m)):
        assert g.dtype == e.numpy().dtype
        np.testing.assert_array_equal(g, e.numpy())


def test_multi_output_node_returns_a_tuple():
    x = gt.randn(3, 4)

    def f(x):
        y = (x * 2).exp()
        return y + 1, y.sum()

    graph = gt.trace(f, x, optimize=False).graph
    fuse_elementwise(graph)
    (node,) = _fused_nodes(graph)
    fn, _source = compile_fused(node, "two")
    out = fn(x.numpy())
    assert isinstance(out, tuple) and len(out) == 2
    np.testing.assert_array_equal(out[0], (x * 2).exp().numpy())
    np.testing.assert_array_equal(out[1], (x * 2).exp().numpy() + 1)


def test_source_and_namespace_run_together():
    x = gt.randn(8)
    graph = gt.trace(lambda x: (x.clamp(min=-0.5) * 3).relu(), x, optimize=False).graph
    fuse_elementwise(graph)
    (node,) = _fused_nodes(graph)
    source = fused_source(node, "f7")
    assert source.startswith("def f7(a0, out=None):")
    assert "np.maximum(" in source and "out=" in source
    namespace = fused_namespace(node, "f7")
    exec(source, namespace)  # noqa: S102
    np.testing.assert_array_equal(namespace["f7"](x.numpy()),
                                  (x.clamp(min=-0.5) * 3).relu().numpy())


def test_gelu_source_uses_scratch_buffers_and_no_temporaries():
    x = gt.randn(16)
    _, source = _compiled(lambda x: 0.5 * x * (1 + gt.tanh(0.79 * (x + 0.044715 * x ** 3))), x)
    body = source.split("_body(")[1].split("_plan =")[0]
    calls = [line.strip() for line in body.splitlines() if line.strip().startswith("np.")]
    assert calls and all("out=" in c for c in calls)
    assert "s0, s1 = scratch" in body  # two scratch buffers for the whole chain


def test_in_place_only_when_every_read_comes_first():
    """GELU reads x for the last time before writing its output: out=x runs in place.
    Here x is read again after the output is written: out=x must go through a copy."""
    x = gt.randn(200_000)
    _, gelu_source = _compiled(_gelu, x)
    assert gelu_source.rstrip().endswith("((0, 0),))")  # plan: input 0 may be output 0

    def reread(x):
        y = (x * 2).exp()
        return y, y * x

    graph = gt.trace(reread, x, optimize=False).graph
    fuse_elementwise(graph)
    (node,) = _fused_nodes(graph)
    fn, source = compile_fused(node, "reread")
    # x may share memory with output 1 (written by the op that reads x last), not output 0
    assert source.rstrip().endswith("((0, 1),))")
    for out in ((x.numpy().copy(), None), (None, x.numpy().copy())):
        data = out[0] if out[0] is not None else out[1]
        y, z = fn(data, out=out)
        np.testing.assert_array_equal(y, (x * 2).exp().numpy())
        np.testing.assert_array_equal(z, ((x * 2).exp() * x).numpy())
