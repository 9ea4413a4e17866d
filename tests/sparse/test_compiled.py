"""Sparse tensors under `gt.compile`: a graph break with its reason (the call runs
eagerly and returns eager's result), never a graph computing on the index set."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.trace_state import TracingError


def adjacency():
    return gt.sparse_coo_tensor([[0, 1, 1, 2], [1, 0, 2, 0]], [1., 2., 3., 4.], (3, 3))


def _check(fn, *args):
    compiled = gt.compile(fn)
    for _ in range(2):  # the second call reuses the eager variant
        want, got = fn(*args), compiled(*args)
        np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-6)
    assert compiled.stats.graph_breaks and "sparse" in compiled.stats.graph_breaks[0]
    return compiled


def test_a_sparse_argument_breaks_the_graph():
    compiled = _check(lambda a, x: (a @ x).relu().sum(0), adjacency(), gt.ones(3, 2))
    assert "argument" in compiled.stats.graph_breaks[0]


def test_a_sparse_tensor_made_inside_breaks_the_graph():
    _check(lambda v: gt.sparse_coo_tensor([[0, 2]], v, (3,)).to_dense() * 2,
           gt.tensor([1., 2.]))
    _check(lambda x: gt.sparse.mm(x.to_sparse(), x), gt.eye(3))


def test_a_captured_sparse_buffer_breaks_the_graph_of_a_module():
    class GCNLayer(gt.nn.Module):
        def __init__(self):
            super().__init__()
            self.adj = adjacency()
            self.lin = gt.nn.Linear(2, 2)

        def forward(self, x):
            return gt.spmm(self.adj, self.lin(x)).relu()

    gt.manual_seed(0)
    layer = GCNLayer()
    x = gt.randn(3, 2)
    compiled = gt.compile(layer)
    want = layer(x)
    got = compiled(x)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-6)
    got.sum().backward()
    assert layer.lin.weight.grad is not None


def test_dense_then_sparse_argument_takes_another_variant():
    def fn(a, x):
        return (a @ x).sum() + a.sum()

    compiled = gt.compile(fn)
    a, x = adjacency(), gt.ones(3, 2)
    assert float(compiled(a.to_dense(), x)) == pytest.approx(float(fn(a.to_dense(), x)))
    assert float(compiled(a, x)) == pytest.approx(float(fn(a, x)))
    assert compiled.stats.graph_breaks


def test_fullgraph_refuses_a_sparse_tensor():
    with pytest.raises(TracingError, match="sparse"):
        gt.compile(lambda a: a * 2, fullgraph=True)(adjacency())


class BufferedGCNLayer(gt.nn.Module):
    """The adjacency registered as a buffer: module state the compiler binds."""

    def __init__(self):
        super().__init__()
        self.register_buffer("adj", adjacency())
        self.lin = gt.nn.Linear(2, 2)

    def forward(self, x):
        return gt.spmm(self.adj, self.lin(x)).relu()


def test_a_sparse_buffer_breaks_the_graph_of_a_module_and_of_a_training_step():
    gt.manual_seed(0)
    eager, compiled_layer = BufferedGCNLayer(), BufferedGCNLayer()
    compiled_layer.load_state_dict(eager.state_dict())
    x = gt.randn(3, 2)
    compiled = gt.compile(compiled_layer)
    np.testing.assert_allclose(compiled(x).detach().numpy(), eager(x).detach().numpy())
    assert "adj is a sparse tensor" in compiled.stats.graph_breaks[0]

    def make_step(layer):
        opt = gt.optim.SGD(layer.parameters(), lr=0.1)

        def step(x):
            opt.zero_grad()
            loss = layer(x).pow(2).sum()
            loss.backward()
            opt.step()
            return loss
        return step

    eager_step, compiled_step = make_step(eager), gt.compile(make_step(compiled_layer))
    for _ in range(3):
        assert compiled_step(x).item() == pytest.approx(eager_step(x).item(), rel=1e-6)
