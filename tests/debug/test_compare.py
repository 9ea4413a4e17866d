"""gt.debug.compare pinpoints planted bugs to their node and user line."""

from __future__ import annotations

import pytest

import graphtorch as gt
from graphtorch import debug, nn

from .helpers import cnn, line_of, mlp, planted_passes, with_planted


@pytest.fixture(autouse=True)
def planted():
    with planted_passes():
        yield


MODEL = mlp()


def loss_fn(x, y):
    h = MODEL(x)
    scaled = h * 3.0
    return nn.functional.cross_entropy(scaled, y)


X = gt.randn(5, 4)
Y = gt.tensor([0, 1, 2, 0, 1])


def test_clean_model_matches():
    report = debug.compare(loss_fn, X, Y)
    assert report.ok, str(report)
    assert report.compared > 10
    assert "compiled matches eager" in str(report)


def test_clean_cnn_and_compiled_function_match():
    model = cnn()
    step = gt.compile(lambda x: model(x).relu().sum())
    assert debug.compare(step, gt.randn(2, 1, 8, 8)).ok


def fused_loss(x, y):
    h = MODEL(x)
    gated = (h * 3.0).sigmoid() * h
    return nn.functional.cross_entropy(gated, y)


@pytest.mark.parametrize("fuse", [True, False])
@pytest.mark.parametrize("fn", [loss_fn, fused_loss])
def test_corrupted_mul_is_pinpointed(fn, fuse):
    passes = with_planted("corrupt_mul")
    if not fuse:
        passes.remove("fuse")
    report = debug.compare(gt.compile(fn, passes=passes), X, Y)
    d = report.divergence
    assert d is not None and d.phase == "forward"
    assert (d.op, d.eager_op) == ("add", "mul")
    assert d.source[1] == line_of(fn, "h * 3.0")
    assert d.source[0] == __file__
    assert d.max_abs > 0.1
    assert f"test_compare.py:{line_of(fn, 'h * 3.0')}" in str(report)
    if fuse and fn is fused_loss:
        assert d.fused is not None and "inside a fused group" in str(d)


def test_perturbed_constant_is_pinpointed():
    report = debug.compare(loss_fn, X, Y, passes=with_planted("perturb_constant"))
    d = report.divergence
    assert d is not None and d.op == "mul"
    assert d.source[1] == line_of(loss_fn, "h * 3.0")


def test_corrupted_backward_node_names_its_forward_op():
    report = debug.compare(loss_fn, X, Y, passes=with_planted("corrupt_backward_mul"))
    d = report.divergence
    assert d is not None and d.phase == "backward"
    assert d.grad_of is not None
    assert d.source == d.grad_of.source
    assert "gradient of" in str(report)


def test_training_step_state_is_restored():
    model = mlp()
    opt = gt.optim.SGD(model.parameters(), lr=0.1)

    def step(x, y):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x) * 3.0, y)
        loss.backward()
        opt.step()
        return loss

    before = [p.detach().clone() for p in model.parameters()]
    report = debug.compare(step, X, Y, passes=with_planted("corrupt_mul"))
    assert report.divergence is not None
    assert report.divergence.source[1] == line_of(step, "* 3.0")
    for p, b in zip(model.parameters(), before):
        assert gt.equal(p.detach(), b)
    assert debug.compare(step, X, Y).ok


def test_planted_nan_in_forward_is_reported_with_its_line():
    def f(x):
        h = MODEL(x)
        return gt.log(h - 10).sum()

    report = debug.compare(f, X)
    assert report.ok  # eager computes the same NaN
    assert "log at" in report.nonfinite["forward"]
    assert f"test_compare.py:{line_of(f, 'gt.log')}" in report.nonfinite["forward"]


def test_planted_nan_in_backward_is_pinpointed():
    report = debug.compare(loss_fn, X, Y, passes=with_planted("plant_nan_backward"))
    d = report.divergence
    assert d is not None and d.phase == "backward"
    assert d.max_abs == float("inf")
    assert "log" in str(d)   # the planted value that has no eager twin


def test_graph_break_is_reported():
    def f(x):
        if x.sum() > 0:
            return x * 2
        return x

    report = debug.compare(f, gt.randn(3))
    assert report.graph_break and f"{line_of(f, 'if x.sum()')}" in str(report)
