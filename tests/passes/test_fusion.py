"""`fuse_elementwise`: the graph before and after (fx style), the numbers unchanged (the
interpreter runs fused nodes through their reference kernel), and the invariants: groups
are convex (no cycles), random ops stay outside and in order, sources are kept."""

from __future__ import annotations

import numpy as np

import graphtorch as gt
from graphtorch.ir.graph import NodeKind
from graphtorch.ops.fused import fused_op, is_fused
from graphtorch.passes.fusion import fuse_elementwise

from .helpers import assert_same_results, text


def _fused(graph):
    return [n for n in graph.nodes if n.kind is NodeKind.OP and is_fused(n.op)]


def _fuse(fn, *inputs):
    """(graph before, graph after) for `fn` traced on `inputs`, results checked equal."""
    before = gt.trace(fn, *inputs, optimize=False).graph
    after = gt.trace(fn, *inputs, optimize=False).graph
    assert fuse_elementwise(after) is after
    after.verify()
    assert_same_results(before, after, {}, *inputs)
    return before, after


def test_chain_of_ten_ops_becomes_one_fused_node():
    def chain(x):
        y = (x * 2 + 1).exp()
        y = (y - 3).abs().sqrt()
        return (y / 4).tanh().neg() + 0.5

    before, after = _fuse(chain, gt.randn(4, 5))
    assert len(before.op_nodes) == 10
    assert text(after) == """\
%0 = input x : f32[4, 5]
%11 = fused(%0) : f32[4, 5]
  %0 = input a0 : f32[4, 5]
  %1 = mul(%0, 2) : f32[4, 5]
  %2 = add(%1, 1) : f32[4, 5]
  %3 = exp(%2) : f32[4, 5]
  %4 = sub(%3, 3) : f32[4, 5]
  %5 = abs(%4) : f32[4, 5]
  %6 = sqrt(%5) : f32[4, 5]
  %7 = div(%6, 4) : f32[4, 5]
  %8 = tanh(%7) : f32[4, 5]
  %9 = neg(%8) : f32[4, 5]
  %10 = add(%9, 0.5) : f32[4, 5]
  return (%10,)
return (%11,)"""


def test_sources_are_kept():
    _, after = _fuse(lambda x: (x * 2).exp(), gt.randn(3))
    (node,) = _fused(after)
    sub = node.attrs["graph"]
    assert node.source == sub.op_nodes[-1].source
    assert all(n.source and n.source[0].endswith("test_fusion.py") for n in sub.op_nodes)
    assert "# test_fusion.py:" in str(after).splitlines()[1]


def test_diamond_is_one_group():
    _, after = _fuse(lambda x: x.sin() * x.cos() + x.exp(), gt.randn(3, 4))
    assert text(after) == """\
%0 = input x : f32[3, 4]
%6 = fused(%0) : f32[3, 4]
  %0 = input a0 : f32[3, 4]
  %1 = sin(%0) : f32[3, 4]
  %2 = cos(%0) : f32[3, 4]
  %3 = mul(%1, %2) : f32[3, 4]
  %4 = exp(%0) : f32[3, 4]
  %5 = add(%3, %4) : f32[3, 4]
  return (%5,)
return (%6,)"""


def test_broadcast_inputs_join_and_other_shapes_stay_apart():
    def f(x, b):
        scale = (b * 2).exp()        # shape (5,): its own group
        return (x * scale + b).relu()  # shape (4, 5): b and scale broadcast into it

    _, after = _fuse(f, gt.randn(4, 5), gt.randn(5))
    assert text(after) == """\
%0 = input x : f32[4, 5]
%1 = input b : f32[5]
%7 = fused(%1) : f32[5]
  %0 = input a0 : f32[5]
  %1 = mul(%0, 2) : f32[5]
  %2 = exp(%1) : f32[5]
  return (%2,)
%8 = fused(%0, %7, %1) : f32[4, 5]
  %0 = input a0 : f32[4, 5]
  %1 = input a1 : f32[5]
  %2 = input a2 : f32[5]
  %3 = mul(%0, %1) : f32[4, 5]
  %4 = add(%3, %2) : f32[4, 5]
  %5 = relu(%4) : f32[4, 5]
  return (%5,)
return (%8,)"""


def test_values_used_outside_become_outputs():
    def f(x):
        y = (x * 2).exp()
        return (y + 1).tanh(), y.sum()

    _, after = _fuse(f, gt.randn(3, 4))
    assert text(after) == """\
%0 = input x : f32[3, 4]
%6, %7 = fused(%0) : f32[3, 4], f32[3, 4]
  %0 = input a0 : f32[3, 4]
  %1 = mul(%0, 2) : f32[3, 4]
  %2 = exp(%1) : f32[3, 4]
  %3 = add(%2, 1) : f32[3, 4]
  %4 = tanh(%3) : f32[3, 4]
  return (%2, %4)
%5 = sum(%6, dims=None, keepdim=False) : f32[]
return (%7, %5)"""
    assert _fused(after)[0].op is fused_op(2)


def test_no_cycle_through_a_reduction():
    """exp(sin x) feeds a sum whose result feeds the next ops: two groups, not one."""
    def f(x):
        a = x.sin().exp()
        return (a * a.sum(dim=1, keepdim=True) + 1).relu()

    _, after = _fuse(f, gt.randn(3, 4))
    assert text(after) == """\
%0 = input x : f32[3, 4]
%7 = fused(%0) : f32[3, 4]
  %0 = input a0 : f32[3, 4]
  %1 = sin(%0) : f32[3, 4]
  %2 = exp(%1) : f32[3, 4]
  return (%2,)
%3 = sum(%7, dims=(1,), keepdim=True) : f32[3, 1]
%8 = fused(%7, %3) : f32[3, 4]
  %0 = input a0 : f32[3, 4]
  %1 = input a1 : f32[3, 1]
  %2 = mul(%0, %1) : f32[3, 4]
  %3 = add(%2, 1) : f32[3, 4]
  %4 = relu(%3) : f32[3, 4]
  return (%4,)
return (%8,)"""


def test_group_moves_after_an_outside_reader():
    """A member's value read by a non-elementwise node that stands between members: the
    fused node goes after its last member, the reader after the fused node."""
    def f(x, w):
        a = x.exp()
        m = a @ w                      # reads a, between the members
        return (a * 2).tanh(), m

    _, after = _fuse(f, gt.randn(3, 3), gt.randn(3, 3))
    order = [n.target for n in after.nodes]
    assert order == ["input", "input", "fused", "matmul", "output"]


def test_random_ops_stay_outside_and_in_order():
    def f(x):
        y = gt.nn.functional.dropout((x * 2).exp(), 0.5, training=True)
        z = gt.nn.functional.dropout(y.tanh() + 1, 0.25, training=True)
        return z * 3

    x = gt.randn(4, 4)
    graph = gt.trace(f, x, optimize=False).graph
    draws = [n.attrs["p"] for n in graph.op_nodes if n.op.random]
    fuse_elementwise(graph)
    graph.verify()
    assert [n.attrs["p"] for n in graph.op_nodes if n.op.random] == draws
    assert len(set(draws)) == 2
    for node in _fused(graph):
        assert not any(n.op.random for n in node.attrs["graph"].op_nodes)
    gt.manual_seed(0)
    want = f(x)
    gt.manual_seed(0)
    from graphtorch.backends.interpreter import Interpreter

    np.testing.assert_allclose(Interpreter(graph).run(x).numpy(), want.numpy(), rtol=1e-6)


def test_single_ops_and_non_elementwise_graphs_are_unchanged():
    for fn, inputs in [(lambda x: x.exp(), (gt.randn(3),)),
                       (lambda x, w: (x @ w).sum(), (gt.randn(2, 3), gt.randn(3, 2)))]:
        before, after = _fuse(fn, *inputs)
        assert str(before) == str(after)


def test_dtype_changes_and_casts_fuse():
    def f(i, x):
        return ((i * 0.5 + x) > 1).to(gt.float32) * x

    _before, after = _fuse(f, gt.arange(12).reshape(3, 4), gt.randn(3, 4))
    (node,) = _fused(after)
    assert [n.target for n in node.attrs["graph"].op_nodes] == \
        ["mul", "add", "gt", "to_dtype", "mul"]


def test_nested_printing_labels_several_subgraph_attrs():
    from graphtorch.ir.graph import Graph
    from graphtorch.ir.printing import format_graph
    from graphtorch.ops.registry import TensorMeta

    def body(name):
        g = Graph()
        g.set_outputs([g.add_input(name, TensorMeta((2,), gt.float32))])
        return g

    graph = gt.trace(lambda x: (x * 2).exp(), gt.randn(2), optimize=False).graph
    fuse_elementwise(graph)
    (node,) = _fused(graph)
    node.attrs = {"then_graph": body("t"), "else_graph": body("e"), "k": 1}
    lines = format_graph(graph).splitlines()
    assert lines[1].startswith("%3 = fused(%0, k=1) : f32[2]")
    assert lines[2:8] == ["  else_graph:", "    %0 = input e : f32[2]", "    return (%0,)",
                          "  then_graph:", "    %0 = input t : f32[2]", "    return (%0,)"]


def test_fused_op_checks_its_inputs_and_runs_eagerly():
    """The reference kernel runs the subgraph through eager dispatch (same promotion)."""
    import pytest

    from graphtorch.ops import dispatch

    graph = gt.trace(lambda i: (i * 0.5).exp(), gt.arange(4), optimize=False).graph
    fuse_elementwise(graph)
    (node,) = _fused(graph)
    sub = node.attrs["graph"]
    out = dispatch.call(node.op, gt.arange(4), graph=sub)
    np.testing.assert_array_equal(out.numpy(), (gt.arange(4) * 0.5).exp().numpy())
    with pytest.raises(RuntimeError, match="fused: input 0"):
        dispatch.call(node.op, gt.arange(4.0), graph=sub)


def test_two_convex_groups_that_would_depend_on_each_other_are_not_both_fused():
    # neg(g) feeds a reduction feeding one group, and that group's sin(a) feeds the other:
    # fusing both would make two fused nodes each need the other's output (a cycle)
    def step(a, g):
        y = a.cos() - a.cos().mean()
        y.backward(g)
        return a.grad * 2.0

    a, g = gt.randn(3, 4, requires_grad=True), gt.randn(3, 4)
    compiled = gt.compile(step)
    got = compiled(a, g)
    a2 = a.detach().requires_grad_()
    np.testing.assert_allclose(got.numpy(), step(a2, g).numpy(), rtol=1e-6)
    compiled.graph.verify()
    assert any(n.op.name == "fused" for n in compiled.graph.op_nodes)


def test_a_lone_op_is_fused_only_when_large():
    """One elementwise op alone becomes a fused node from LONE_OP_MIN_ELEMENTS elements (a
    threaded native pass beats NumPy's one-thread ufunc, and np.where by 3-4x); smaller
    ones stay plain ops (NumPy's call is cheaper than the fused machinery)."""
    from graphtorch.passes.fusion import LONE_OP_MIN_ELEMENTS

    def relu_grad(mask, g):
        return gt.where(mask, g, 0.0)

    big = (LONE_OP_MIN_ELEMENTS // 64, 64)
    _, after = _fuse(relu_grad, gt.randn(*big) > 0, gt.randn(*big))
    assert [n.op.name for n in _fused(after)[0].attrs["graph"].op_nodes] == ["where"]
    small = (LONE_OP_MIN_ELEMENTS // 64 - 1, 64)
    _, after = _fuse(relu_grad, gt.randn(*small) > 0, gt.randn(*small))
    assert not _fused(after) and [n.op.name for n in after.op_nodes] == ["where"]
    graph = gt.trace(relu_grad, gt.randn(*big) > 0, gt.randn(*big), optimize=False).graph
    fuse_elementwise(graph, lone_min_elements=None)
    assert not _fused(graph)
