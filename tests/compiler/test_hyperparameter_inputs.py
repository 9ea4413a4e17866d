"""Optimizer hyper-parameters as graph inputs (`compiler.hyperparameters`).

lr, momentum, weight_decay and each of the betas are fed to a compiled step at every call,
guarded by type and sign only, so changing them does not recompile. What decides the
graph's structure stays guarded by value and recompiles when it changes: momentum or weight
decay crossing zero (SGD's momentum branch, every weight-decay term), a beta set to zero or
to an int, and flags (nesterov, amsgrad, maximize, centered, decoupled_weight_decay). Each
test runs the same steps eagerly and compiled, changing the optimizer between steps, and
compares the parameters after every step.
"""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt


def _runs(name, kwargs, changes: dict, steps: int = 7):
    """(eager params per step, compiled params per step, compiled function); `changes`
    maps a step index to {group key: value} set before that step."""
    out = []
    for compiled in (False, True):
        gt.manual_seed(0)
        model = gt.nn.Sequential(gt.nn.Linear(4, 6), gt.nn.Tanh(), gt.nn.Linear(6, 2))
        opt = getattr(gt.optim, name)(model.parameters(), **kwargs)
        gt.manual_seed(1)
        batches = [(gt.randn(5, 4), gt.randn(5, 2)) for _ in range(steps)]

        def train_step(x, y):
            opt.zero_grad()
            loss = gt.nn.functional.mse_loss(model(x), y)
            loss.backward()
            opt.step()
            return loss.detach()

        run = gt.compile(train_step) if compiled else train_step
        history = []
        for i, (x, y) in enumerate(batches):
            opt.param_groups[0].update(changes.get(i, {}))
            run(x, y)
            history.append([p.detach().numpy().copy() for p in model.parameters()])
        out.append(history)
    return out[0], out[1], run


def _assert_same(eager, compiled):
    for step, (e, c) in enumerate(zip(eager, compiled)):
        for a, b in zip(e, c):
            np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6, err_msg=f"step {step}")


def test_momentum_crossing_zero_recompiles_rather_than_reusing_the_momentum_graph():
    # A graph traced with momentum 0.9 holds SGD's momentum branch; with dampening 0.5 it
    # moves by half a gradient when momentum is 0, eager by a whole one. Guarding momentum
    # by type alone would reuse it: the parameters after step 3 would differ.
    kwargs = {"lr": 0.1, "momentum": 0.9, "dampening": 0.5}
    eager, compiled, run = _runs("SGD", kwargs, {3: {"momentum": 0.0}, 5: {"momentum": 0.8}})
    _assert_same(eager, compiled)
    assert run.stats.compiles == 2 and len(run.stats.recompiles) == 1
    event = run.stats.recompiles[0]
    assert "optimizer opt: hyper-parameters" in event.guard
    assert ("momentum", "<graph input: a float > 0>") in event.old
    assert ("momentum", 0.0) in event.new
    # back to a positive momentum (another value): the first graph serves it
    assert run.stats.eager_calls == 1


def test_momentum_from_zero_to_positive_recompiles():
    eager, compiled, run = _runs("SGD", {"lr": 0.1, "momentum": 0.0, "dampening": 0.5},
                                 {3: {"momentum": 0.9}, 5: {"momentum": 0.7}})
    _assert_same(eager, compiled)
    # the call that creates the momentum buffers runs eagerly, the next ones compile again
    assert run.stats.compiles == 2 and run.stats.eager_calls == 1


STRUCTURE_CHANGES = [  # (optimizer, kwargs, change before step 3)
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}, {"nesterov": False}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}, {"maximize": True}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.1}, {"weight_decay": 0.0}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}, {"weight_decay": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}, {"momentum": 1}),  # an int: a constant
    ("RMSprop", {"lr": 0.01, "momentum": 0.5}, {"momentum": 0.0}),
    ("RMSprop", {"lr": 0.01, "centered": True}, {"centered": False}),
    ("Adam", {"lr": 0.01, "amsgrad": True}, {"amsgrad": False}),
    ("Adam", {"lr": 0.01}, {"maximize": True}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1}, {"weight_decay": 0}),
    ("Adam", {"lr": 0.01}, {"betas": (0.0, 0.999)}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.1}, {"weight_decay": 0.0}),
    ("NAdam", {"lr": 0.01, "weight_decay": 0.1}, {"decoupled_weight_decay": True}),
    ("RAdam", {"lr": 0.01, "weight_decay": 0.1}, {"decoupled_weight_decay": True}),
    ("Adamax", {"lr": 0.01, "weight_decay": 0.1}, {"weight_decay": 0.0}),
    ("ASGD", {"lr": 0.01, "weight_decay": 0.1}, {"weight_decay": 0.0}),
]


@pytest.mark.parametrize("name,kwargs,change", STRUCTURE_CHANGES,
                         ids=[f"{n}-{'-'.join(c)}-{i}" for i, (n, _, c) in
                              enumerate(STRUCTURE_CHANGES)])
def test_a_change_of_structure_recompiles(name, kwargs, change):
    eager, compiled, run = _runs(name, kwargs, {3: change}, steps=6)
    _assert_same(eager, compiled)
    assert run.stats.compiles == 2 and len(run.stats.recompiles) == 1
    assert run.stats.graph_breaks == []


VALUE_CHANGES = [  # (optimizer, kwargs, changes): the same graph serves every step
    ("SGD", {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01},
     {2: {"momentum": 0.5, "lr": 0.05}, 4: {"weight_decay": 0.2, "momentum": 0.95}}),
    ("Adam", {"lr": 0.01, "betas": (0.9, 0.999)},
     {2: {"betas": (0.5, 0.9)}, 4: {"betas": (0.95, 0.99), "weight_decay": 0.0}}),
    ("NAdam", {"lr": 0.01, "betas": [0.9, 0.999]}, {3: {"betas": [0.8, 0.99]}}),  # a list
    ("RMSprop", {"lr": 0.01, "momentum": 0.9, "weight_decay": 0.1},
     {3: {"momentum": 0.3, "weight_decay": 0.01}}),
    ("NAdam", {"lr": 0.01}, {2: {"betas": (0.8, 0.99)}, 5: {"betas": (0.7, 0.95)}}),
    ("RAdam", {"lr": 0.01, "weight_decay": 0.1}, {3: {"betas": (0.6, 0.9),
                                                       "weight_decay": 0.3}}),
    ("Adamax", {"lr": 0.01}, {3: {"betas": (0.5, 0.5)}}),
]


@pytest.mark.parametrize("name,kwargs,changes", VALUE_CHANGES,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(VALUE_CHANGES)])
def test_changed_values_do_not_recompile(name, kwargs, changes):
    eager, compiled, run = _runs(name, kwargs, changes)
    _assert_same(eager, compiled)
    assert run.stats.compiles == 1 and run.stats.recompiles == [], \
        [(r.guard, r.old, r.new) for r in run.stats.recompiles]


def test_fed_hyperparameters_are_named_graph_inputs():
    gt.manual_seed(0)
    model = gt.nn.Linear(3, 2)
    opt = gt.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=0.0)
    adam = gt.optim.Adam(model.parameters(), lr=0.01)

    def train_step(x):
        opt.zero_grad()
        model(x).square().sum().backward()
        opt.step()
        adam.step()

    run = gt.compile(train_step)
    for _ in range(3):
        run(gt.randn(4, 3))
    names = {n.name for n in run.graph.inputs}
    assert {"opt.param_groups.0.lr", "opt.param_groups.0.momentum",
            "adam.param_groups.0.betas.0", "adam.param_groups.0.betas.1"} <= names
    assert not any("weight_decay" in n for n in names)  # zero: a constant


def test_returning_a_hyperparameter_gives_eagers_python_number():
    # eagerly these are Python floats; the graph reads them as tensors, so such a call
    # runs eagerly (with a logged graph break) instead of returning tensors
    gt.manual_seed(0)
    model = gt.nn.Linear(3, 2)
    opt = gt.optim.Adam(model.parameters(), lr=0.01)

    def train_step(x):
        opt.zero_grad()
        loss = model(x).square().sum()
        loss.backward()
        opt.step()
        group = opt.param_groups[0]
        return loss.detach() * group["lr"], group["lr"] * 2, group["betas"]

    run = gt.compile(train_step)
    for _ in range(3):
        scaled, lr2, betas = run(gt.randn(4, 3))
        assert isinstance(scaled, gt.Tensor)
        assert type(lr2) is float and lr2 == 0.02
        assert betas == (0.9, 0.999) and all(type(b) is float for b in betas)
    assert run.stats.compiles == 0 and "hyper-parameters" in run.stats.graph_breaks[0]


def test_a_tensor_scaled_by_a_hyperparameter_is_returned_from_the_graph():
    gt.manual_seed(0)
    model = gt.nn.Linear(3, 2)
    opt = gt.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    def train_step(x):
        opt.zero_grad()
        loss = model(x).square().sum()
        loss.backward()
        opt.step()
        return loss.detach() * opt.param_groups[0]["momentum"]

    run = gt.compile(train_step)
    x = gt.randn(4, 3)
    for _ in range(3):
        out = run(x)
    assert isinstance(out, gt.Tensor) and run.stats.compiles == 1
    assert run.stats.graph_breaks == []
