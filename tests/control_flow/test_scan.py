"""gt.scan: eager is a Python loop; traced it is one node whose body is traced once; its
gradient (a reverse scan) equals eager autograd and finite differences."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.control_flow import cond, fori_loop, scan
from graphtorch.ir.tracer import TracingError

from .helpers import check_traced_grads, close, grads


def cumulative(h0, xs, w):
    def step(h, x):
        h = (h @ w + x).tanh()
        return h, (h * h).sum()
    return scan(step, h0, xs)


def _inputs(seed=0, steps=5):
    gt.manual_seed(seed)
    return (gt.randn(3, dtype=gt.float64), gt.randn(steps, 3, dtype=gt.float64),
            gt.randn(3, 3, dtype=gt.float64) * 0.5)


def test_eager_scan_is_a_python_loop_matching_a_manual_one():
    h0, xs, w = _inputs()
    h, ys = cumulative(h0, xs, w)
    ref, hs = h0, []
    for x in xs:
        ref = (ref @ w + x).tanh()
        hs.append((ref * ref).sum())
    close(h, ref)
    close(ys, gt.stack(hs))


def test_traced_scan_is_one_node_with_the_body_nested_in_the_dump():
    h0, xs, w = _inputs()
    traced = gt.trace(cumulative, h0, xs, w, optimize=False)
    assert [n.op.name for n in traced.graph.op_nodes if n.op.name != "constant"] == ["scan"]
    node = traced.graph.op_nodes[0]
    assert node.attrs["length"] == 5 and node.attrs["body"].inputs[0].name == "h"
    text = str(traced.graph)
    assert "scan(%0, %1, %2, length=5" in text and "  %3 = matmul(%0, %2) : f64[3]" in text
    for a, b in zip(traced(h0, xs, w), cumulative(h0, xs, w)):
        close(a, b)


def test_scan_gradients_equal_eager_and_finite_differences():
    check_traced_grads(cumulative, *_inputs(steps=4))


def test_reverse_scan_pytrees_and_several_outputs():
    def f(a, xs, ys):
        def step(carry, x):
            s, p = carry
            u, v = x["u"], x["v"]
            return (s + u * v, p * u.cos()), [s * 2, (u + p).sum()]
        (s, p), (us, vs) = scan(step, (a, a * 0 + 1), {"u": xs, "v": ys}, reverse=True)
        return s, p, us, vs

    gt.manual_seed(3)
    a, xs, ys = (gt.randn(2, dtype=gt.float64), gt.randn(4, 2, dtype=gt.float64),
                 gt.randn(4, 2, dtype=gt.float64))
    check_traced_grads(f, a, xs, ys)
    s, _, us, _ = f(a, xs, ys)
    close(us[-1], a * 2)  # reverse: the last slice is processed first
    close(s, a + (xs * ys).sum(0))


def test_int_carry_xs_none_and_zero_length():
    def f(x):
        (i, v), ys = scan(lambda c, _: ((c[0] + 1, c[1] * 1.5), c[1].sum()), (0, x), None,
                          length=3)
        return i, v, ys

    x = gt.ones(2, dtype=gt.float64)
    traced = gt.trace(f, x, optimize=False)
    for a, b in zip(traced(x), f(x)):
        close(a, b)
    assert int(f(x)[0]) == 3
    empty = gt.zeros(0, 2, dtype=gt.float64)
    carry, ys = scan(lambda c, x: (c + x, x * 2), x, empty)
    close(carry, x)
    assert tuple(ys.shape) == (0, 2)
    traced = gt.trace(lambda x, e: scan(lambda c, x: (c + x, x * 2), x, e), x, empty,
                      optimize=False)
    assert tuple(traced(x, empty)[1].shape) == (0, 2)


class RNN(gt.nn.Module):
    """An Elman RNN whose time loop is a scan over nn.Linear cells."""

    def __init__(self):
        super().__init__()
        self.ih = gt.nn.Linear(4, 5)
        self.hh = gt.nn.Linear(5, 5)

    def forward(self, xs, h0):
        return scan(lambda h, x: ((self.ih(x) + self.hh(h)).tanh(),) * 2, h0, xs)


def test_rnn_cell_weights_are_captured_and_receive_gradients_equal_to_eager():
    gt.manual_seed(4)
    rnn = RNN().double()
    xs, h0 = gt.randn(6, 2, 4, dtype=gt.float64), gt.zeros(2, 5, dtype=gt.float64)
    traced = gt.trace(rnn, xs, h0, optimize=False)
    body = traced.graph.op_nodes[-1].attrs["body"]
    assert {n.name for n in body.inputs} >= {"ih.weight", "hh.bias"}  # params by name

    def loss_grads(run):
        rnn.zero_grad()
        h, hs = run(xs, h0)
        (h.sum() + (hs * hs).sum()).backward()
        return [p.grad.clone() for p in rnn.parameters()]

    for a, b in zip(loss_grads(rnn), loss_grads(traced)):
        assert float(a.abs().sum()) > 0
        close(a, b)


def test_rnn_gradients_match_pytorch(torch_oracle):
    torch = torch_oracle
    gt.manual_seed(5)
    rnn = RNN().double()
    xs, h0 = gt.randn(7, 3, 4, dtype=gt.float64), gt.randn(3, 5, dtype=gt.float64)
    traced = gt.trace(rnn, xs, h0, optimize=False)
    h, hs = traced(xs, h0)
    (h.sum() * 2 + hs.sum()).backward()
    params = {k: torch.tensor(v.detach().numpy(), requires_grad=True)
              for k, v in rnn.named_parameters()}
    th = torch.tensor(h0.numpy())
    outs = []
    for x in torch.tensor(xs.numpy()):
        th = torch.tanh(x @ params["ih.weight"].T + params["ih.bias"]
                        + th @ params["hh.weight"].T + params["hh.bias"])
        outs.append(th)
    (th.sum() * 2 + torch.stack(outs).sum()).backward()
    np.testing.assert_allclose(h.detach().numpy(), th.detach().numpy(), rtol=1e-12)
    for name, p in rnn.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), params[name].grad.numpy(), rtol=1e-10)


def test_cond_inside_scan_differentiates():
    def f(h0, xs, w):
        def step(h, x):
            h = cond(x.sum() > 0, lambda h: (h @ w).tanh() + x, lambda h: h * x.sin(), (h,))
            return h, h.sum()
        return scan(step, h0, xs)

    check_traced_grads(f, *_inputs(seed=6, steps=4))


def test_fori_loop_with_static_bounds_is_a_differentiable_scan():
    def f(x, w):
        return fori_loop(1, 4, lambda i, v: (v @ w) * i + v.sin(), x)

    gt.manual_seed(7)
    x, w = gt.randn(3, dtype=gt.float64), gt.randn(3, 3, dtype=gt.float64) * 0.3
    traced = check_traced_grads(f, x, w)
    assert [n.op.name for n in traced.graph.op_nodes if n.op.name != "constant"] == ["scan"]
    ref = x
    for i in range(1, 4):
        ref = (ref @ w) * i + ref.sin()
    close(f(x, w), ref)


def test_scan_errors():
    x = gt.ones(2)
    with pytest.raises(TypeError, match=r"initial carry is f32\[2\], fn returned f64\[2\]"):
        gt.trace(lambda x: scan(lambda c, x: (c.double(), x), x, gt.ones(3, 2)), x, optimize=False)
    with pytest.raises(TypeError, match=r"initial carry is f32\[2\], fn returned f32\[1\]"):
        scan(lambda c, x: (c[:1], x), x, gt.ones(3, 2))
    with pytest.raises(TypeError, match="must return a pair"):
        scan(lambda c, x: c, x, gt.ones(3, 2))
    with pytest.raises(ValueError, match="disagree on the number of steps"):
        scan(lambda c, x: (c, x), x, (gt.ones(3), gt.ones(4)))

    def mutate(x):
        return scan(lambda c, y: (c.mul_(2), y), x, gt.ones(3, 2))

    with pytest.raises(TracingError, match="writes in place into one of its arguments"):
        gt.trace(mutate, x, optimize=False)


def test_grads_helper_sees_no_gradient_for_a_scan_independent_of_an_input():
    _, xs, w = _inputs()
    g = grads(lambda xs, w: scan(lambda c, x: (c + x, x), xs[0] * 0, xs)[0], (xs, w))
    close(g[1], gt.zeros(3, 3, dtype=gt.float64))
