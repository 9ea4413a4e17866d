"""Algebraic simplification: identities, inverse pairs, chains; blocked by broadcasting,
promotion, and by x * 0 (NaN and inf)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import graphtorch as gt
from graphtorch.ir.graph import Graph
from graphtorch.ir.rewrite import copy_graph
from graphtorch.ops.constant import CONSTANT, ConstantValue
from graphtorch.ops.registry import REGISTRY, TensorMeta
from graphtorch.passes import simplify

from .helpers import assert_same_results, lines, text


def _program(x, i):
    return (x * 1, 1 * x, x + 0, x - 0, x / 1, x ** 1, x.neg().neg(), x.t().t(),
            x.permute(1, 0).transpose(0, 1), x.reshape(12).view(3, 4).reshape(2, 6),
            x.reshape(4, 3), x ** 2, x ** 3, x.to(gt.float32),
            i * 1.0, x * gt.ones(2, 4, 3), x * 0, i / 1)


def test_simplify_rewrites_identities_and_keeps_what_would_change_results():
    x, i = gt.randn(4, 3), gt.tensor([1, 2, 3])
    traced = gt.trace(_program, x, i, optimize=False)
    graph = simplify(copy_graph(traced.graph))
    assert text(graph) == lines(
        "%0 = input x : f32[4, 3]",
        "%1 = input i : i64[3]",
        "%26 = view(%0, shape=(2, 6)) : f32[2, 6]",
        "%27 = mul(%0, %0) : f32[4, 3]",
        "%28 = mul(%0, %0) : f32[4, 3]",
        "%29 = mul(%28, %0) : f32[4, 3]",
        "%20 = mul(%1, 1.0) : f32[3]",          # promotion: i64 * 1.0 is f32
        "%21 = constant(value=array(f32[2, 4, 3])) : f32[2, 4, 3]",  # made while tracing
        "%22 = mul(%0, %21) : f32[2, 4, 3]",    # broadcasting
        "%23 = mul(%0, 0) : f32[4, 3]",         # NaN * 0 is NaN
        "%24 = div(%1, 1) : f32[3]",            # true division promotes
        ("return (%0, %0, %0, %0, %0, %0, %0, %0, %0, %26, %0, %27, %29, %0, %20, %22, %23, "
         "%24)"))
    graph.verify()
    # x ** 3 as x * x * x may differ by about one ulp; everything else is exact
    assert_same_results(traced.graph, graph, traced.params, x, i, rtol=3e-7)
    special = gt.tensor([[np.nan, np.inf, -np.inf], [-0.0, 0.0, 1e30], [1e-30, -2.5, 3.0],
                         [7.0, -1e20, 0.5]])
    assert_same_results(traced.graph, graph, traced.params, special, i, rtol=3e-7)


def test_pow_to_mul_equals_power_to_rounding():
    x = gt.tensor(np.random.default_rng(0).uniform(-20, 20, 10000).astype(np.float32))
    traced = gt.trace(lambda x: (x ** 2, x ** 3.0), x, optimize=False)
    graph = simplify(copy_graph(traced.graph))
    assert [n.target for n in graph.nodes] == ["input", "mul", "mul", "mul", "output"]
    assert_same_results(traced.graph, graph, {}, x, rtol=2.5e-7)


def test_pow_of_integers_is_left_alone():
    traced = gt.trace(lambda i: i ** 2, gt.tensor([1, 2, 3]), optimize=False)
    assert text(simplify(copy_graph(traced.graph))) == text(traced.graph)


def test_permute_chain_composes_into_one_permute():
    x = gt.randn(2, 3, 4)
    traced = gt.trace(lambda x: x.permute(2, 0, 1).transpose(0, 1), x, optimize=False)
    graph = simplify(copy_graph(traced.graph))
    assert text(graph) == lines(
        "%0 = input x : f32[2, 3, 4]",
        "%3 = permute(%0, dims=(0, 2, 1)) : f32[2, 4, 3]",
        "return (%3,)")
    assert_same_results(traced.graph, graph, {}, x)


def test_view_chain_stays_a_view_and_inner_nodes_still_used_stay():
    x = gt.randn(2, 6)

    def fn(x):
        flat = x.view(12)
        return flat.view(3, 4), flat + 1

    traced = gt.trace(fn, x, optimize=False)
    graph = simplify(copy_graph(traced.graph))
    assert text(graph) == lines(
        "%0 = input x : f32[2, 6]",
        "%1 = view(%0, shape=(12,)) : f32[12]",
        "%4 = view(%0, shape=(3, 4)) : f32[3, 4]",
        "%3 = add(%1, 1) : f32[12]",
        "return (%4, %3)")
    assert_same_results(traced.graph, graph, {}, x)


def _graph_times_constant(array, x_shape=(3,)):
    g = Graph()
    x = g.add_input("x", TensorMeta(x_shape, gt.float32))
    c = g.add_node(CONSTANT, [], {"value": ConstantValue(array)})
    g.set_outputs([g.add_node(REGISTRY["mul"], [x, c])])
    return g


def test_multiplying_by_a_constant_tensor_of_ones():
    g = simplify(_graph_times_constant(np.ones(3, np.float32)))
    assert text(g) == "%0 = input x : f32[3]\nreturn (%0,)"
    kept = simplify(_graph_times_constant(np.ones((2, 3), np.float32)))  # broadcasts
    assert "mul" in text(kept)
    kept = simplify(_graph_times_constant(np.full(3, 2.0, np.float32)))
    assert "mul" in text(kept)


def test_simplify_fixed_point_on_the_docstring_example():
    x = gt.randn(4, 3)
    traced = gt.trace(lambda x: (x * 1).neg().neg() ** 2, x, optimize=False)
    graph = simplify(copy_graph(traced.graph))
    assert text(graph) == lines(
        "%0 = input x : f32[4, 3]",
        "%5 = mul(%0, %0) : f32[4, 3]",
        "return (%5,)")
    assert_same_results(traced.graph, graph, {}, x)


def test_elementwise_ops_read_the_source_of_an_expand():
    """mul(expand(c), x) -> mul(c, x) when broadcasting gives the same result; kept when
    the smaller operand would change the result's shape or dtype (a 0-d float64 tensor is a
    weak operand for f32 x, an expanded one is not)."""
    def program(x, c, d):
        return (c.expand(4, 3) * x, c.expand(4, 3) + c.expand(4, 3),
                d.expand(4, 3) * x)

    x = gt.randn(4, 3)
    c, d = gt.randn(1, 3), gt.tensor(2.0, dtype=gt.float64)
    traced = gt.trace(program, x, c, d, optimize=False)
    graph = simplify(copy_graph(traced.graph))
    ops = [(n.op.name, [v.meta.shape for v in n.tensor_inputs()]) for n in graph.nodes
           if n.kind.name == "OP"]
    assert ("mul", [(1, 3), (4, 3)]) in ops            # reads c itself
    assert sorted(dict(ops)["add"]) == [(1, 3), (4, 3)]  # one expand kept: shape (4, 3)
    assert ("mul", [(4, 3), (4, 3)]) in ops            # d's expand kept: dtype f64
    assert_same_results(traced.graph, graph, traced.params, x, c, d)


def test_reduction_gradients_stay_small_constants():
    """Inside a compiled step the backward of mean/sum starts from a known 1.0: it must stay
    a broadcast (a small constant read with broadcasting), not a full-size constant copied
    on every call."""
    x = gt.randn(64, 50, 16, requires_grad=True)

    def step(x):
        x.grad = None
        loss = (x * x).mean()
        loss.backward()
        return loss, x.grad

    compiled = gt.compile(step)
    for _ in range(2):
        loss, grad = compiled(x)
    np.testing.assert_allclose(grad.numpy(), 2 * x.detach().numpy() / x.numel(), rtol=1e-6)
    graph = compiled.variants[-1].executable.forward_graph
    sizes = [n.attrs["value"].array.size for n in graph.nodes
             if n.kind.name == "OP" and n.op is CONSTANT]
    assert sizes and max(sizes) == 1


def test_a_rewrite_that_exposes_an_input_keeps_the_clone_of_a_gradient():
    """grad = expand(1) * g simplifies, over two rounds, to g itself; the clone autograd puts
    before .grad must survive, or a.grad would alias the argument g (and the next call's
    accumulation would write into it). Found by the fuzz campaign."""
    a = gt.randn(3, 4, requires_grad=True)

    def target(a, g):
        (a * g).sum().backward()
        return a.grad

    compiled = gt.compile(target)
    gs = [gt.randn(3, 4) for _ in range(3)]
    kept = [g.numpy().copy() for g in gs]
    outs = [compiled(a, g) for g in gs]
    for g, before in zip(gs, kept):
        np.testing.assert_array_equal(g.numpy(), before)
        assert not np.shares_memory(a.grad.numpy(), g.numpy())
    np.testing.assert_allclose(outs[0].numpy(), sum(kept), rtol=1e-6)  # one accumulating grad


_EXPAND_OPS = {
    "add": lambda a, b: a + b, "mul": lambda a, b: a * b, "div": lambda a, b: a / b,
    "maximum": lambda a, b: gt.maximum(a, b), "eq": lambda a, b: a == b,
    "where": lambda a, b: gt.where(b > 0, a, b),
}


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_random_expands_into_elementwise_ops_compile_like_eager(data):
    """An expanded operand (a 0-d weak one included, known while tracing or an argument)
    into a random elementwise op, with the other operand's dtype random: compiled values,
    dtype and shape as eager's, and the gradient through the expand as eager's."""
    target = tuple(data.draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    source = tuple(data.draw(st.sampled_from([(), (1,) * len(target)] + [
        tuple(t if keep else 1 for t, keep in zip(target, mask))
        for mask in [data.draw(st.lists(st.booleans(), min_size=len(target),
                                        max_size=len(target)))]])))
    dtypes = [gt.float32, gt.float64, gt.int64]
    src_dtype, other_dtype = data.draw(st.sampled_from(dtypes)), data.draw(st.sampled_from(dtypes))
    op = data.draw(st.sampled_from(sorted(_EXPAND_OPS)))
    known = data.draw(st.booleans())  # made inside the function: folded while tracing
    rng = np.random.default_rng(len(target) * 10 + len(source))
    src = gt.tensor(rng.integers(1, 5, source).astype(np.float64)).to(src_dtype)
    other = gt.tensor(rng.integers(-3, 4, target).astype(np.float64)).to(other_dtype)
    fn = _EXPAND_OPS[op]
    values = src.tolist()

    def program(s, o):
        base = gt.tensor(values, dtype=src_dtype) if known else s
        return fn(base.expand(*target), o)

    expect = program(src, other)
    for _ in range(2):
        got = gt.compile(program)(src, other)
        assert got.dtype == expect.dtype and tuple(got.shape) == tuple(expect.shape)
        np.testing.assert_allclose(got.numpy(), expect.numpy(), rtol=1e-6)
    if src_dtype is gt.float64 and not known and op in ("add", "mul", "div", "maximum"):
        def loss(s, o):
            return fn(s.expand(*target), o).sum()

        s1, s2 = src.clone().requires_grad_(), src.clone().requires_grad_()
        loss(s1, other).backward()

        @gt.compile
        def step(s, o):
            value = loss(s, o)
            value.backward()
            return value

        step(s2, other)
        np.testing.assert_allclose(s2.grad.numpy(), s1.grad.numpy(), rtol=1e-10)
