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


# --- the per-node overhead cuts (issue 13's W1): each fast path against its general path ---

def _general_needed_metas(node):
    return tuple(m if nxt is not None else None
                 for m, (nxt, _) in zip(node.input_metas, node.next_functions))


@pytest.mark.parametrize("grads", [(True, True), (True, False), (False, True)])
def test_needed_input_metas_of_binary_and_other_nodes_match_the_general_rule(grads):
    a = gt.ones(2, 3, requires_grad=grads[0])
    b = gt.ones(3, requires_grad=grads[1])
    c = gt.ones(2, 3, requires_grad=True)
    binary = (a * b).grad_fn                      # two inputs: the unrolled path
    ternary = gt.addcmul(c, a, b).grad_fn         # three inputs: the general one
    unary = (c.exp() if not grads[0] else a.exp()).grad_fn
    for node in (binary, ternary, unary):
        ctx = VJPContext((), (), {}, node=node)
        assert ctx.needed_input_metas() == _general_needed_metas(node)


def test_metas_found_by_identity_equal_freshly_built_ones():
    from graphtorch.autograd import graph

    x = gt.ones(4, 5, requires_grad=True)
    shared = (x * 2).grad_fn._in_info            # the C recorder's info tuple (and a scalar)
    fresh = (((4, 6), np.dtype(np.float32)),)    # a tuple like the Python recorder's
    for info in (shared, shared, fresh, fresh, shared):  # misses and hits of the last pair
        metas = graph._metas(info)
        assert graph._LAST_METAS[0] == (info, metas)
        assert [m and (tuple(m.shape), m.dtype) for m in metas] == \
            [i and (tuple(i[0]), gt.float32) for i in info]
    nodes = [(x * 2).grad_fn, (x.exp()).grad_fn]
    for node in nodes + nodes:                   # the property's inlined lookup
        assert node.input_metas == graph._metas(node._in_info)


@pytest.mark.parametrize("reduce", ["sum", "mean"])
def test_full_reduction_gradient_matches_the_reshape_path_and_torch(reduce):
    from graphtorch.ops.reduction import _expand_grad

    data = np.arange(12.0, dtype=np.float32).reshape(3, 4)
    x = gt.tensor(data, requires_grad=True)
    (ours,) = gt.autograd.grad(getattr(x, reduce)(), x)
    tx = torch.tensor(data, requires_grad=True)
    (theirs,) = torch.autograd.grad(getattr(tx, reduce)(), tx)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy())
    seed = gt.tensor(2.0)
    meta = (x * 1).sum().grad_fn.input_metas[0]
    direct = _expand_grad(seed, meta, None, False)             # 0-d: expanded as it is
    reshaped = _expand_grad(seed.reshape(1, 1), meta, None, True)
    assert direct.shape == reshaped.shape and direct.stride() == reshaped.stride() == (0, 0)
    assert direct._base is seed and reshaped._base is seed
    np.testing.assert_array_equal(direct.numpy(), reshaped.numpy())


def test_double_backward_through_a_full_sum():
    x = gt.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (g,) = gt.autograd.grad((x ** 3).sum(), x, create_graph=True)
    (gg,) = gt.autograd.grad(g.sum(), x)
    assert gg.tolist() == [6.0, 12.0, 18.0]


@pytest.mark.parametrize("dtype", [gt.float16, gt.float32, gt.float64, gt.complex64])
@pytest.mark.parametrize("shape", [(), (1,), (1, 1)])
def test_implicit_seed_matches_ones_like(dtype, shape):
    from graphtorch.autograd import _seed_grads

    t = gt.zeros(shape, dtype=dtype)
    (seed,) = _seed_grads((t,), None, False)
    expected = gt.ones_like(t)
    assert type(seed) is type(expected) and seed is not t
    assert (seed.dtype, seed.shape, seed.stride()) == \
        (expected.dtype, expected.shape, expected.stride())
    assert not seed.requires_grad and seed.tolist() == expected.tolist()


def test_implicit_seed_errors_are_unchanged():
    with pytest.raises(RuntimeError, match="only for scalar outputs"):
        gt.ones(2, requires_grad=True).mul(2).backward()
    with pytest.raises(RuntimeError, match="real scalar outputs but got torch.int64"):
        gt.autograd.backward(gt.tensor(1))


@pytest.mark.parametrize("keep", [1, 3])
def test_post_hook_returning_another_count_of_gradients(keep):
    """The engine pairs a hook's gradients with the node's edges: the first ones; an edge
    left without one still counts as done, its node running on zeros (as before)."""
    a = gt.tensor([1.0, 2.0], requires_grad=True)
    c = gt.tensor([3.0, 4.0], requires_grad=True)
    b = c * 2                                    # behind the edge a short tuple drops
    y = a * b
    y.grad_fn.register_hook(lambda grad_inputs, grad_outputs: (grad_inputs * 2)[:keep])
    y.sum().backward()
    assert a.grad.tolist() == [6.0, 8.0]
    assert c.grad.tolist() == ([0.0, 0.0] if keep == 1 else [2.0, 4.0])


@pytest.mark.parametrize("grad_enabled", [True, False])
def test_grad_mode_is_restored_when_backward_raises(grad_enabled):
    a = gt.tensor([1.0, 2.0], requires_grad=True)
    y = (a * 2).sum()

    def fail(grad):
        assert not gt.is_grad_enabled()  # backward without create_graph runs in no_grad
        raise ValueError("from a hook")

    a.register_hook(fail)
    with gt.set_grad_enabled(grad_enabled):
        with pytest.raises(ValueError, match="from a hook"):
            y.backward()
        assert gt.is_grad_enabled() is grad_enabled


def test_a_root_reached_from_another_root_runs_once_all_its_gradients_arrived():
    results = []
    for lib in (gt, torch):
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        y = a * 2
        z = y * 3
        lib.autograd.backward([z, y], [lib.tensor([1.0, 1.0]), lib.tensor([10.0, 20.0])])
        results.append(a.grad.tolist())
    assert results[0] == results[1] == [26.0, 46.0]


def test_accumulating_into_an_existing_grad_in_and_outside_backward():
    a = gt.tensor([1.0, 2.0], requires_grad=True)
    for _ in range(2):  # the leaf's AccumulateGrad adds in place (backward's no_grad mode)
        (a * a).sum().backward()
    assert a.grad.tolist() == [4.0, 8.0] and a.grad.grad_fn is None
    y = a * 2           # a non-leaf input: backward() accumulates it with grad mode on
    z = (y * y).sum()
    z.backward(inputs=[y], retain_graph=True)
    z.backward(inputs=[y])
    assert y.grad.tolist() == [8.0, 16.0] and not y.grad.requires_grad
