"""Dead-code elimination: unused intermediates go, random draws and the signature stay."""

from __future__ import annotations

import graphtorch as gt
from graphtorch.ir.rewrite import copy_graph
from graphtorch.passes import eliminate_dead_code

from .helpers import assert_same_results, lines, text


def test_dce_removes_an_unused_intermediate():
    def fn(x):
        unused = (x * 2).exp()  # noqa: F841 - the dead code under test
        return x.sin()

    x = gt.randn(4, 3)
    traced = gt.trace(fn, x, optimize=False)
    assert text(traced.graph) == lines(
        "%0 = input x : f32[4, 3]",
        "%1 = mul(%0, 2) : f32[4, 3]",
        "%2 = exp(%1) : f32[4, 3]",
        "%3 = sin(%0) : f32[4, 3]",
        "return (%3,)")
    graph = eliminate_dead_code(copy_graph(traced.graph))
    assert text(graph) == lines(
        "%0 = input x : f32[4, 3]",
        "%3 = sin(%0) : f32[4, 3]",
        "return (%3,)")
    graph.verify()
    assert_same_results(traced.graph, graph, traced.params, x)


def test_dce_keeps_unused_inputs_and_params():
    w = gt.randn(3)
    traced = gt.trace(lambda x, y: (x * w).sum() * 0 + x, gt.randn(3), gt.randn(2), optimize=False)
    graph = eliminate_dead_code(copy_graph(traced.graph))
    assert [n.target for n in graph.nodes if n.target in ("input", "param")] == \
        ["input", "input", "param"]
    assert "sum" in text(graph)  # used (x * 0 is not simplified away)


def test_dce_keeps_random_draws():
    def fn(x):
        gt.nn.functional.dropout(x, 0.5, training=True)  # result unused: the draw stays
        return x.cos()

    traced = gt.trace(fn, gt.randn(8), optimize=False)
    graph = eliminate_dead_code(copy_graph(traced.graph))
    targets = [n.target for n in graph.nodes]
    assert "bernoulli_mask" in targets
    assert "mul" not in targets and "div" not in targets  # what uses the mask is dead
    graph.verify()


def test_dce_on_a_graph_without_dead_code_changes_nothing():
    traced = gt.trace(lambda x: x.exp() + x, gt.randn(2), optimize=False)
    before = text(traced.graph)
    assert text(eliminate_dead_code(copy_graph(traced.graph))) == before
