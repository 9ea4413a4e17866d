"""A first training step that creates the optimizer's lazy state runs eagerly without a
trace (the trace would only discover that and run it eagerly too); the decision is taken
once, so a function that never steps its optimizer is still compiled from its second call."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.compiler import compiled_function


@pytest.fixture
def traces(monkeypatch):
    count = []
    original = compiled_function.capture

    def counted(*args, **kwargs):
        count.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(compiled_function, "capture", counted)
    return count


def _step(opt_factory):
    gt.manual_seed(0)
    model = gt.nn.Linear(4, 3)
    opt = opt_factory(model.parameters())

    def step(x):
        opt.zero_grad()
        loss = model(x).square().mean()
        loss.backward()
        opt.step()
        return loss

    return step, model


@pytest.mark.parametrize("factory", [lambda p: gt.optim.SGD(p, lr=0.1, momentum=0.9),
                                     lambda p: gt.optim.Adam(p, lr=0.01),
                                     lambda p: gt.optim.RMSprop(p, lr=0.01),
                                     lambda p: gt.optim.Adadelta(p)],
                         ids=["sgd-momentum", "adam", "rmsprop", "adadelta"])
def test_state_creating_first_step_runs_eagerly_untraced(traces, factory):
    step, model = _step(factory)
    eager_step, eager_model = _step(factory)
    compiled = gt.compile(step)
    x = gt.randn(5, 4)
    for call in range(3):
        got, want = compiled(x).item(), eager_step(x).item()
        assert abs(got - want) <= 1e-6 * max(1.0, abs(want))
        if call == 0:
            assert traces == [] and compiled.stats.eager_calls == 1
    assert compiled.stats.compiles == 1 and len(traces) == 1
    np.testing.assert_allclose(model.weight.detach().numpy(),
                               eager_model.weight.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_stateless_optimizer_compiles_on_the_first_call(traces):
    step, _ = _step(lambda p: gt.optim.SGD(p, lr=0.1))  # no momentum: no lazy state
    compiled = gt.compile(step)
    compiled(gt.randn(5, 4))
    assert compiled.stats.compiles == 1 and compiled.stats.eager_calls == 0


def test_an_optimizer_that_never_steps_costs_one_eager_call(traces):
    model = gt.nn.Linear(4, 3)
    opt = gt.optim.Adam(model.parameters())  # reached, never stepped here

    def forward(x):
        assert opt.defaults["lr"] > 0
        return model(x)

    compiled = gt.compile(forward)
    x = gt.randn(2, 4)
    for _ in range(3):
        np.testing.assert_allclose(compiled(x).detach().numpy(), model(x).detach().numpy(),
                                   rtol=1e-6)
    assert compiled.stats.eager_calls == 1 and compiled.stats.compiles == 1
