"""gt.cond: eager is plain Python; traced it is one node with both branches as subgraphs,
equal to eager in values and gradients."""

from __future__ import annotations

import pytest

import graphtorch as gt
from graphtorch.control_flow import cond
from graphtorch.ir.graph import NodeKind
from graphtorch.ir.tracer import TracingError

from .helpers import check_traced_grads, close


def _x(*values):
    return gt.tensor(list(values), dtype=gt.float64)


def branchy(x, w):
    return cond(x.sum() > 0, lambda x, w: (x @ w).tanh() * x, lambda x, w: x.sin() * w.sum(),
                (x, w))


def test_eager_cond_is_plain_python_and_records_only_the_taken_branch():
    x = _x(1.0, 2.0).requires_grad_()
    y = cond(x.sum() > 0, lambda x: x * 3, lambda x: x / 0, (x,))
    assert y.grad_fn.name() == "MulBackward0"
    y.sum().backward()
    close(x.grad, _x(3.0, 3.0))
    assert cond(True, lambda: 1, lambda: 2) == 1  # a Python bool picks the branch


def test_traced_cond_is_one_node_with_nested_subgraphs_in_the_dump():
    gt.manual_seed(0)
    w = gt.randn(3, 3, dtype=gt.float64)
    traced = gt.trace(branchy, _x(1, 2, 3), w, optimize=False)
    (node,) = [n for n in traced.graph.op_nodes if n.op.name == "cond"]
    assert set(node.attrs) == {"true_graph", "false_graph"}
    text = str(traced.graph)
    assert "true_graph:" in text and "false_graph:" in text
    assert "    %3 = tanh(" in text  # the branch's nodes print indented under the node
    for positive in (_x(1, 2, 3), _x(-1, -2, -3)):
        close(traced(positive, w), branchy(positive, w))


def test_python_bool_pred_picks_the_branch_at_trace_time():
    traced = gt.trace(lambda x: cond(x.shape[0] > 1, lambda x: x + 1, lambda x: x - 1, (x,)),
                      _x(1, 2), optimize=False)
    assert [n.op.name for n in traced.graph.op_nodes] == ["add"]


def test_cond_gradients_equal_eager_and_finite_differences():
    gt.manual_seed(1)
    w = gt.randn(3, 3, dtype=gt.float64)
    for x in (_x(0.5, -0.2, 0.3), _x(-0.5, 0.2, -0.3)):
        check_traced_grads(branchy, x, w)


def test_cond_with_pytree_operands_and_outputs_and_an_unused_operand():
    def f(x, y):
        def yes(pair, scale):
            a, b = pair
            return {"s": a * scale, "t": (b.exp(), a)}

        def no(pair, scale):
            a, b = pair
            return {"s": b + 1, "t": (a * b, b)}

        out = cond(x.mean() < y.mean(), yes, no, ((x, y), 2.0))
        return out["s"], out["t"][0], out["t"][1]

    for y in (_x(3, 4), _x(-3, -4)):
        check_traced_grads(f, _x(0.1, 0.2), y)


def test_captured_outer_values_and_parameters_are_explicit_inputs():
    gt.manual_seed(2)
    lin = gt.nn.Linear(3, 3).double()
    bias = gt.randn(3, dtype=gt.float64)

    def f(x):
        h = x * 2  # an outer-graph value used inside a branch
        return cond(x.sum() > 0, lambda x: lin(x) + h, lambda x: x + bias, (x,))

    traced = gt.trace(f, _x(1, 2, 3), optimize=False)
    (node,) = traced.graph.op_nodes[-1:]
    for sub in (node.attrs["true_graph"], node.attrs["false_graph"]):
        sub.verify()  # self-contained: every value is defined inside the subgraph
        assert len(sub.inputs) == len(node.inputs) - 1
        assert all(n.kind is not NodeKind.PARAM for n in sub.nodes)
    x = _x(0.5, 0.1, 0.2)
    close(traced(x), f(x))
    out = traced(x.clone().requires_grad_())
    out.sum().backward()
    assert lin.weight.grad is not None and float(lin.weight.grad.abs().sum()) > 0


def test_nested_cond_traces_and_differentiates():
    def f(x):
        def outer(x):
            return cond(x[0] > 0, lambda x: x * x, lambda x: x.exp(), (x,))

        return cond(x.sum() > 0, outer, lambda x: -x, (x,))

    traced = check_traced_grads(f, _x(0.3, 0.4))
    assert str(traced.graph).count("true_graph:") == 2
    for x in (_x(-0.3, 0.4), _x(-0.3, -0.4)):
        close(traced(x), f(x))


def test_mismatched_branches_raise_naming_both():
    x = _x(1, 2)
    with pytest.raises(TypeError, match=r"true_fn returned \(f64\[2\], f64\[2\]\), "
                                        r"false_fn returned f64\[2\]"):
        gt.trace(lambda x: cond(x.sum() > 0, lambda x: (x, x), lambda x: x, (x,)), x,
                 optimize=False)
    with pytest.raises(TypeError, match=r"true_fn returned f64\[2\], false_fn returned "
                                        r"f64\[1\]"):
        gt.trace(lambda x: cond(x.sum() > 0, lambda x: x, lambda x: x[:1], (x,)), x, optimize=False)
    with pytest.raises(TypeError, match=r"true_fn returned f64\[2\], false_fn returned "
                                        r"f32\[2\]"):
        gt.trace(lambda x: cond(x.sum() > 0, lambda x: x, lambda x: x.float(), (x,)), x,
                 optimize=False)


def test_bad_predicates_raise():
    x = _x(1, 2)
    with pytest.raises(TypeError, match="bool tensor with one element, got f64\\[2\\]"):
        cond(x, lambda x: x, lambda x: x, (x,))
    with pytest.raises(TypeError, match="must be a Python bool or a bool tensor"):
        cond("yes", lambda x: x, lambda x: x, (x,))


def test_writing_into_an_outer_tensor_inside_a_branch_raises():
    def f(x):
        h = x * 1
        return cond(x.sum() > 0, lambda x: h.add_(x), lambda x: x, (x,))

    with pytest.raises(TracingError, match="writes in place into a tensor from outside"):
        gt.trace(f, _x(1, 2), optimize=False)
