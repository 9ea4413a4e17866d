"""The pass pipeline optimises inside cond/scan subgraphs too, without changing results."""

from __future__ import annotations

import numpy as np

import graphtorch as gt
from graphtorch.backends.interpreter import Interpreter
from graphtorch.passes.pipeline import run_passes


def test_scan_body_is_optimised_and_results_are_unchanged():
    w = gt.randn(4, 4)

    def f(h0, xs):
        def body(h, x):
            a = (x @ w).tanh() * 1       # x*1 simplified away
            b = (x @ w).tanh()           # CSE merges it with a
            h.exp()                      # dead: removed
            return a + b + h, h * 2

        return gt.scan(body, h0, xs)

    h0, xs = gt.randn(4), gt.randn(6, 4)
    traced = gt.trace(f, h0, xs, optimize=False)
    body_before = traced.graph.op_nodes[0].attrs["body"]
    optimized = run_passes(traced.graph)
    body_after = optimized.op_nodes[0].attrs["body"]
    assert [n.op.name for n in body_before.op_nodes].count("matmul") == 2
    assert [n.op.name for n in body_after.op_nodes].count("matmul") == 1
    assert "exp" not in str(body_after)
    assert "fused" in str(optimized)  # printed nested
    assert traced.graph.op_nodes[0].attrs["body"] is body_before  # the input is untouched
    want = f(h0, xs)
    got = Interpreter(optimized, traced.params).run(h0, xs)
    for g, e in zip(got, want):
        np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=1e-6)


def test_cond_branches_are_optimised():
    def f(p, x):
        return gt.cond(p, lambda x: (x + 0) * 1 + x.sin() * 0 + 1, lambda x: x - 1, (x,))

    x = gt.randn(5)
    traced = gt.trace(f, gt.tensor(True), x, optimize=False)
    optimized = run_passes(traced.graph, ["simplify", "dce"])
    true_graph = optimized.op_nodes[0].attrs["true_graph"]
    assert len(true_graph.op_nodes) < len(traced.graph.op_nodes[0].attrs["true_graph"].op_nodes)
    for p in (True, False):
        got = Interpreter(optimized, traced.params).run(gt.tensor(p), x)
        np.testing.assert_allclose(got.numpy(), f(gt.tensor(p), x).numpy(), rtol=1e-6)


def test_graphs_with_subgraphs_round_trip_through_json():
    from graphtorch.ir.graph import Graph

    w = gt.randn(4, 4)

    def f(p, h0, xs):
        y = gt.cond(p, lambda x: x.tanh() * 2 + 1, lambda x: x - 1, (h0,))
        return gt.scan(lambda h, x: ((x @ w + h).sigmoid(), h * 2), y, xs)

    args = (gt.tensor(True), gt.randn(4), gt.randn(5, 4))
    traced = gt.trace(f, *args, optimize=False)
    optimized = run_passes(traced.graph)  # fused nodes inside the subgraphs too
    for graph in (traced.graph, optimized):
        back = Graph.from_json(graph.to_json())
        assert str(back) == str(graph)
        got = Interpreter(back, traced.params).run(*args)
        for g, e in zip(got, f(*args)):
            np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=1e-6)
