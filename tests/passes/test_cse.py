"""Common-subexpression elimination: same op, inputs and attrs merge; nothing else does."""

from __future__ import annotations

import numpy as np

import graphtorch as gt
from graphtorch.ir.rewrite import copy_graph
from graphtorch.ops.constant import ConstantValue
from graphtorch.passes import eliminate_common_subexpressions
from graphtorch.passes.cse import attr_key

from .helpers import assert_same_results, lines, text


def test_cse_merges_equal_nodes_and_keeps_different_constants_apart():
    def fn(x):
        return (x.exp() + x.exp(), x.sum(dim=1) + x.sum(dim=1), x + 1, x + 1.0, x + True,
                x.transpose(0, 1) + x.t())

    x = gt.randn(3, 3)
    traced = gt.trace(fn, x, optimize=False)
    graph = eliminate_common_subexpressions(copy_graph(traced.graph))
    assert text(graph) == lines(
        "%0 = input x : f32[3, 3]",
        "%1 = exp(%0) : f32[3, 3]",
        "%3 = add(%1, %1) : f32[3, 3]",
        "%4 = sum(%0, dims=(1,), keepdim=False) : f32[3]",
        "%6 = add(%4, %4) : f32[3]",
        "%7 = add(%0, 1) : f32[3, 3]",
        "%8 = add(%0, 1.0) : f32[3, 3]",
        "%9 = add(%0, True) : f32[3, 3]",
        "%10 = transpose(%0, dim0=0, dim1=1) : f32[3, 3]",
        "%12 = add(%10, %10) : f32[3, 3]",
        "return (%3, %6, %7, %8, %9, %12)")
    graph.verify()
    assert_same_results(traced.graph, graph, traced.params, x)


def test_cse_keeps_different_attrs_and_random_draws_apart():
    def fn(x):
        a = x.sum(dim=0) + x.sum(dim=1)
        f = gt.nn.functional.dropout
        return a, f(x, 0.5, training=True) + f(x, 0.5, training=True)

    traced = gt.trace(fn, gt.randn(3, 3), optimize=False)
    graph = eliminate_common_subexpressions(copy_graph(traced.graph))
    targets = [n.target for n in graph.nodes]
    assert targets.count("sum") == 2
    assert targets.count("bernoulli_mask") == 2


def test_cse_merges_a_chain_transitively():
    traced = gt.trace(lambda x: x.exp().sin() * x.exp().sin(), gt.randn(4), optimize=False)
    graph = eliminate_common_subexpressions(copy_graph(traced.graph))
    assert [n.target for n in graph.nodes] == ["input", "exp", "sin", "mul", "output"]


def test_attr_keys_distinguish_types_and_signed_zeros():
    assert attr_key(1) != attr_key(1.0) != attr_key(True)
    assert attr_key(0.0) != attr_key(-0.0)
    assert attr_key(float("nan")) == attr_key(float("nan"))
    assert attr_key((1, [2, None], slice(0, 3))) == attr_key((1, [2, None], slice(0, 3)))
    assert attr_key(gt.float32) != attr_key(gt.float64)
    a = np.arange(4.0)
    assert attr_key(ConstantValue(a)) == attr_key(ConstantValue(a.copy()))
    assert attr_key(ConstantValue(a)) != attr_key(ConstantValue(a.astype(np.float32)))


def test_cse_keeps_copies_apart_so_a_reshaped_copy_owns_its_memory():
    # reshape of a transposed tensor is clone + unsafe_view; merged with the contiguous()
    # clone, the two returned tensors shared memory (found by the ops fuzz family)
    def fn(x):
        return x.reshape(-1), x.contiguous()

    traced = gt.trace(fn, gt.randn(2, 3).t(), optimize=False)
    graph = eliminate_common_subexpressions(copy_graph(traced.graph))
    assert [n.target for n in graph.nodes].count("clone") == 2
    flat, dense = gt.compile(fn)(gt.randn(2, 3).t())
    flat[0] = 100.0
    assert dense[0, 0] != 100.0
