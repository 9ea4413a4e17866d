"""gt.while_loop: eager is a Python loop; traced it is one node with cond and body graphs
that runs to a data-dependent trip count; differentiating the traced loop raises."""

from __future__ import annotations

import pytest

import graphtorch as gt
from graphtorch.control_flow import fori_loop, while_loop

from .helpers import close


def newton_sqrt(a):
    """sqrt(a) by Newton's method to a relative tolerance, counting the iterations."""
    def not_done(c):
        x, _ = c
        return ((x * x - a).abs() / a).max() > 1e-12

    def step(c):
        x, n = c
        return (x + a / x) / 2, n + 1

    return while_loop(not_done, step, (a, 0))


def test_newton_sqrt_traced_equals_eager_for_data_dependent_trip_counts():
    traced = gt.trace(newton_sqrt, gt.tensor([2.0, 9.0], dtype=gt.float64), optimize=False)
    assert [n.op.name for n in traced.graph.op_nodes if n.op.name != "constant"] == ["while_loop"]
    text = str(traced.graph)
    assert "cond_graph:" in text and "body_graph:" in text and "    %5 = div(" in text
    counts = set()
    for values in ([2.0, 9.0], [1e6, 3.0], [1.0, 1.0]):
        a = gt.tensor(values, dtype=gt.float64)
        (x, n), (ex, en) = traced(a), newton_sqrt(a)
        close(x, ex)
        close(x, a.sqrt())
        assert int(n) == int(en)
        counts.add(int(n))
    assert len(counts) == 3  # the trip count really depends on the data


def test_eager_while_loop_is_plain_python_and_differentiable():
    a = gt.tensor([4.0], dtype=gt.float64, requires_grad=True)
    x, _ = newton_sqrt(a)
    x.sum().backward()
    close(a.grad, 0.5 / a.detach().sqrt(), tol=1e-8)


def test_differentiating_a_traced_while_loop_raises():
    a = gt.tensor([2.0], dtype=gt.float64)
    traced = gt.trace(newton_sqrt, a, optimize=False)
    x, _ = traced(a.clone().requires_grad_())
    with pytest.raises(RuntimeError, match="while_loop is not differentiable"):
        x.sum().backward()
    with pytest.raises(RuntimeError, match="while_loop is not differentiable"):
        gt.trace(lambda a: gt.autograd.grad(newton_sqrt(a)[0].sum(), a),
                 a.clone().requires_grad_(), optimize=False)


def test_while_loop_captures_outer_values_and_parameters():
    gt.manual_seed(0)
    lin = gt.nn.Linear(2, 2)
    limit = gt.tensor(10.0)

    def f(x):
        scale = x.abs().sum() + 1
        return while_loop(lambda c: c.abs().sum() < limit, lambda c: c + lin(c).abs() * scale + 0.1,
                          x)

    x = gt.tensor([0.1, 0.2])
    traced = gt.trace(f, x, optimize=False)
    close(traced(x), f(x), tol=1e-6)


def test_fori_loop_with_tensor_bounds_is_a_while_loop():
    def f(x, n):
        return fori_loop(0, n, lambda i, v: v * 2 + i, x)

    x = gt.ones(2, dtype=gt.float64)
    traced = gt.trace(f, x, gt.tensor(3), optimize=False)
    assert [n.op.name for n in traced.graph.op_nodes][-1] == "while_loop"
    for n in (0, 3, 5):
        close(traced(x, gt.tensor(n)), f(x, gt.tensor(n)))


def test_while_loop_errors():
    x = gt.ones(2)
    with pytest.raises(TypeError, match=r"initial carry is f32\[2\], body_fn returned "
                                        r"f32\[1\]"):
        gt.trace(lambda x: while_loop(lambda c: c.sum() < 5, lambda c: c[:1], x), x, optimize=False)
    with pytest.raises(TypeError, match=r"cond_fn's result must be a bool tensor with one "
                                        r"element, got f32\[2\]"):
        gt.trace(lambda x: while_loop(lambda c: c, lambda c: c, x), x, optimize=False)
    with pytest.raises(TypeError, match=r"initial carry is f32\[2\], body_fn returned "
                                        r"\(f32\[2\], f32\[2\]\)"):
        while_loop(lambda c: c.sum() < 5, lambda c: (c + 1, c), x)


def test_fori_loop_without_steps_returns_init_itself_compiled_too():
    """No step: eager returns `init` (the same tensor, a leaf); so does the compiled
    function, also when the trip count changes to 0 between calls (a recompile)."""
    trips = [2]

    def run(x):
        return gt.fori_loop(0, trips[0], lambda i, c: c * 2 + i, x)

    compiled = gt.compile(run)
    x = gt.randn(3, requires_grad=True)
    assert gt.allclose(compiled(x), run(x))
    trips[0] = 0
    assert run(x) is x and compiled(x) is x
