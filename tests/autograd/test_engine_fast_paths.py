"""The backward engine's fast paths keep PyTorch's semantics: node order, gradients that
are not needed are not computed, version checks of saved inputs, graph-pass contexts."""

import numpy as np
import pytest
import torch

import graphtorch as gt
from graphtorch.ops import dispatch
from graphtorch.ops.registry import VJPContext


def _order(lib, build):
    """Names of the nodes in the order backward runs them (pre-hooks on every node)."""
    out, nodes = build(lib)
    seen = []
    for node in nodes:
        node.register_prehook(lambda grads, node=node: seen.append(node.name()))
    out.backward()
    return seen


def _chain_then_branches(lib):
    a = lib.tensor([1.0, 2.0], requires_grad=True)
    b = lib.tensor([3.0, 4.0], requires_grad=True)
    x = a * 2          # chain: each node makes exactly one node ready
    x = x.exp()
    y = x.sin()        # two branches from x, joined below
    z = x.cos() * b
    w = (y + z).tanh()
    out = w.sum()
    return out, [t.grad_fn for t in (x, y, z, w, out)]


def _diamond_of_chains(lib):
    a = lib.tensor([0.5, 1.5], requires_grad=True)
    left = (a * 3).sin().exp()
    right = (a + 1).cos()
    out = (left * right).sum()
    return out, [t.grad_fn for t in (left, right, out)]


@pytest.mark.parametrize("build", [_chain_then_branches, _diamond_of_chains])
def test_node_order_matches_torch(build):
    ours = [n.rpartition("::")[2] for n in _order(gt, build)]
    theirs = [n.rpartition("::")[2] for n in _order(torch, build)]
    assert ours == theirs


def test_chain_gradients_match_torch():
    data = np.random.default_rng(0).standard_normal((8, 8)).astype(np.float32)
    grads = []
    for lib in (gt, torch):
        a = lib.tensor(data, requires_grad=True)
        b = lib.tensor(data * 0.5)
        y = a
        for _ in range(20):
            y = y * b + 0.1
        y.sum().backward()
        grads.append(a.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-5, atol=1e-6)


def test_gradient_of_an_input_that_does_not_require_grad_is_not_computed():
    a = gt.tensor([1.0, 2.0], requires_grad=True)
    b = gt.tensor([3.0, 4.0])
    y = (a * b).sum()
    ran = []
    dispatch.op_hooks.append(lambda op, inputs, outputs: ran.append(op.name))
    try:
        y.backward()
    finally:
        dispatch.op_hooks.pop()
    assert ran.count("mul") == 1  # grad * b only: no grad * a for b
    assert a.grad.tolist() == [3.0, 4.0] and b.grad is None


@pytest.mark.parametrize("b_grad", [False, True])
def test_needs_input_grad_follows_the_edges(b_grad):
    a = gt.tensor([1.0], requires_grad=True)
    b = gt.tensor([2.0], requires_grad=b_grad)
    node = (a / b).grad_fn
    ctx = VJPContext((a, b), (), {}, node=node)
    assert ctx.needs_input_grad == (True, b_grad)
    metas = ctx.needed_input_metas()
    assert metas[0] is not None and (metas[1] is not None) == b_grad
    # contexts of graph passes have no node: every gradient is needed
    free = VJPContext((a, b), (), {}, input_metas=node.input_metas)
    assert free.needs_input_grad == (True, True)
    assert free.needed_input_metas() == node.input_metas


def test_version_check_of_saved_inputs_still_raises():
    a = gt.tensor([1.0, 2.0], requires_grad=True)
    b = gt.tensor([3.0, 4.0])
    y = (a * b).sum()
    b.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_freed_graph_and_retain_graph():
    a = gt.tensor([1.0, 2.0], requires_grad=True)
    y = (a * a).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert a.grad.tolist() == [4.0, 8.0]
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()
