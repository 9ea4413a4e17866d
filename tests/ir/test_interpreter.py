"""The interpreter backend: results equal eager graphtorch (and NumPy) exactly."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.backends.interpreter import Interpreter
from graphtorch.ir import Graph, NodeKind
from graphtorch.ops.registry import REGISTRY as R
from graphtorch.ops.registry import TensorMeta

from .graphs import F32, copy_into_view_graph, mixed_graph, mlp_graph


def _same(a, b):
    assert a.dtype == b.dtype and tuple(a.shape) == tuple(b.shape)
    np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_mlp_equals_eager_and_numpy():
    gt.manual_seed(0)
    x, w, b = gt.randn(2, 3), gt.randn(3, 4), gt.randn(4)
    seen = []
    out = Interpreter(mlp_graph(), {"fc1.weight": w, "fc1.bias": b}).run(
        x, callback=lambda node, outs: seen.append((node, outs)))
    _same(out, gt.relu(x @ w + b).sum())
    expected = np.maximum(x.numpy() @ w.numpy() + b.numpy(), 0).sum()
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)
    g = mlp_graph()
    assert [n.target for n, _ in seen] == [n.target for n in g.nodes[:-1]]
    matmul_out = seen[3][1]
    _same(matmul_out[0], x @ w)


def test_params_positionally_and_numpy_inputs():
    rng = np.random.default_rng(0)
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in ((2, 3), (3, 4), (4,)))
    out = Interpreter(mlp_graph()).run(x, w, b)
    _same(out, gt.relu(gt.from_numpy(x) @ gt.from_numpy(w) + gt.from_numpy(b)).sum())


def test_mixed_graph_equals_eager():
    gt.manual_seed(1)
    x, y = gt.randn(2, 3), gt.randn(2, 3)
    seen = []
    values, indices, d = Interpreter(mixed_graph()).run(
        x, y, callback=lambda node, outs: seen.append(node.kind))
    m = x * 2.0
    ev, ei = gt.max(m, dim=1)
    _same(values, ev)
    _same(indices, ei)
    _same(d, gt.cat([x, y, m], dim=1).view(3, -1).transpose(0, 1).to(gt.float64))
    assert seen.count(NodeKind.OP) == 6 and seen.count(NodeKind.INPUT) == 2


def test_copy_into_view_equals_numpy():
    base, src = gt.zeros(3, 4), gt.arange(4, dtype=gt.float32)
    out = Interpreter(copy_into_view_graph()).run(base, src)
    expected = np.zeros((3, 4), np.float32)
    expected[1] = np.arange(4)
    np.testing.assert_array_equal(out.numpy(), expected)
    assert base.sum().item() == 0  # the input is not written


def test_values_freed_after_last_use():
    g = Graph()
    h = g.add_input("x", TensorMeta((4,), F32))
    for _ in range(20):
        h = g.add_node(R["relu"], [h])
    g.set_outputs([h])
    interp = Interpreter(g)
    seen = []
    out = interp.run(gt.randn(4), callback=lambda node, outs: seen.append(node))
    assert interp.max_live == 1  # each value is dropped once its reader ran
    assert len(seen) == 21 and out.shape == (4,)
    assert Interpreter(mlp_graph())._last_use[3] == 4


def test_error_carries_node_line_and_source():
    g = Graph()
    x = g.add_input("x", TensorMeta((2, 3), F32))
    idx = g.add_input("i", TensorMeta((2,), gt.int64))
    out = g.add_node(R["index_select"], [x, idx], {"dim": 0}, source=("/src/net.py", 7, "forward"))
    g.set_outputs([out])
    with pytest.raises(IndexError) as info:
        Interpreter(g).run(gt.zeros(2, 3), gt.tensor([0, 5]))
    text = str(info.value)
    assert "while running: %2 = index_select(%0, %1, dim=0) : f32[2, 3]" in text
    assert "created at: /src/net.py:7 in forward" in text
    assert info.value.node is g.nodes[2]


def test_wrong_input_shape_is_rejected():
    with pytest.raises(ValueError, match="expects torch.float32 \\[2, 3\\]"):
        Interpreter(mlp_graph()).run(gt.zeros(3, 3), gt.zeros(3, 4), gt.zeros(4))


def test_wrong_input_count_is_rejected():
    with pytest.raises(TypeError, match="takes 1 inputs"):
        Interpreter(mlp_graph()).run()
