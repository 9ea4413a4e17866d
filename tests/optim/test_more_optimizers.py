"""NAdam, RAdam, Adamax, ASGD and Rprop against PyTorch: trajectories over several steps,
state_dict contents and param_groups defaults, reprs, a mid-training state_dict round trip,
complex parameters, constructor errors, and a compiled training step equal to eager."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import graphtorch as gt

from .common import (DTYPES, assert_close, assert_state_dicts_match, initial_arrays,
                     loss_arrays, make_params, to_numpy)
from .test_optimizers import _train

torch = pytest.importorskip("torch")

CASES = [
    ("NAdam", {}),
    ("NAdam", {"lr": 0.01, "betas": (0.8, 0.99), "weight_decay": 0.1,
               "momentum_decay": 0.01}),
    ("NAdam", {"lr": 0.02, "weight_decay": 0.1, "decoupled_weight_decay": True,
               "maximize": True}),
    ("RAdam", {}),
    ("RAdam", {"lr": 0.05, "betas": (0.9, 0.9), "weight_decay": 0.1}),  # rho_t > 5 at step 6
    ("RAdam", {"lr": 0.05, "betas": (0.5, 0.9), "weight_decay": 0.1,
               "decoupled_weight_decay": True, "maximize": True, "eps": 1e-6}),
    ("Adamax", {}),
    ("Adamax", {"lr": 0.05, "betas": (0.8, 0.9), "weight_decay": 0.1}),
    ("Adamax", {"lr": 0.01, "eps": 1e-4, "maximize": True}),
    ("ASGD", {}),
    ("ASGD", {"lr": 0.05, "lambd": 1e-3, "alpha": 0.5, "t0": 2, "weight_decay": 0.1}),
    ("ASGD", {"lr": 0.02, "t0": 0, "maximize": True}),
    ("Rprop", {}),
    ("Rprop", {"lr": 0.05, "etas": (0.3, 1.5), "step_sizes": (1e-3, 0.1)}),
    ("Rprop", {"lr": 0.1, "maximize": True}),
]
IDS = [f"{name}-{i}" for i, (name, _) in enumerate(CASES)]
STEPS = 8


@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_trajectory_and_state_dict(name, kwargs, dtype):
    atol = DTYPES[dtype] * 10 if dtype == "float32" else DTYPES[dtype]
    arrays, consts = initial_arrays(dtype), loss_arrays(dtype)
    _, opt_t, hist_t = _train(torch, name, kwargs, arrays, consts, STEPS)
    _, opt_g, hist_g = _train(gt, name, kwargs, arrays, consts, STEPS)
    for step, (pt, pg) in enumerate(zip(hist_t, hist_g)):
        for i, (a, b) in enumerate(zip(pt, pg)):
            assert_close(a, b, atol, f"{name} step {step} param {i}")
    assert_state_dicts_match(opt_t.state_dict(), opt_g.state_dict(), atol)
    assert repr(opt_t) == repr(opt_g)


@pytest.mark.parametrize("name", sorted({name for name, _ in CASES}))
def test_defaults_match(name):
    t = getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)])
    g = getattr(gt.optim, name)([gt.zeros(2, requires_grad=True)])
    assert {k: v for k, v in g.defaults.items()} == t.defaults
    assert list(g.param_groups[0]) == list(t.param_groups[0])


@pytest.mark.parametrize("name,kwargs", CASES[1::3], ids=IDS[1::3])
def test_state_dict_round_trip_mid_training(name, kwargs):
    """Save after 3 steps, load into a fresh optimizer on copied params, 2 more steps: the
    same as PyTorch doing the same (loading casts float state such as NAdam's mu_product to
    the parameter's dtype, in both)."""
    arrays, consts = initial_arrays("float64"), loss_arrays("float64")
    finals = []
    for lib in (torch, gt):
        params, opt, _ = _train(lib, name, kwargs, arrays, consts, 3)
        saved = copy.deepcopy(opt.state_dict())
        clones = make_params(lib, [to_numpy(p) for p in params])
        opt2 = getattr(lib.optim, name)(clones, **kwargs)
        opt2.load_state_dict(saved)
        _, _, hist = _train(lib, name, kwargs, None, consts, 2, opt2, clones)
        finals.append((hist[-1], opt2.state_dict()))
    for a, b in zip(finals[0][0], finals[1][0]):
        assert_close(a, b, 1e-6, "after reload")
    assert_state_dicts_match(finals[0][1], finals[1][1], 1e-6)


@pytest.mark.parametrize("name,kwargs", CASES[::2], ids=IDS[::2])
def test_complex_parameters(name, kwargs):
    rng = np.random.default_rng(7)
    init = (rng.normal(size=(4,)) + 1j * rng.normal(size=(4,))).astype(np.complex128)
    grads = [(rng.normal(size=(4,)) + 1j * rng.normal(size=(4,))) for _ in range(STEPS)]
    out = []
    for lib in (torch, gt):
        p = lib.tensor(init.copy(), requires_grad=True)
        opt = getattr(lib.optim, name)([p], **kwargs)
        for g in grads:
            p.grad = lib.tensor(g)
            opt.step()
        out.append(to_numpy(p))
    assert_close(out[0], out[1], 1e-6, name)


ERRORS = [
    ("NAdam", {"lr": -1.0}), ("NAdam", {"eps": -1.0}), ("NAdam", {"betas": (1.0, 0.9)}),
    ("NAdam", {"betas": (0.9, -0.1)}), ("NAdam", {"weight_decay": -1.0}),
    ("NAdam", {"momentum_decay": -1.0}),
    ("RAdam", {"lr": -1.0}), ("RAdam", {"betas": (0.9, 1.0)}), ("RAdam", {"weight_decay": -1}),
    ("Adamax", {"lr": -1.0}), ("Adamax", {"eps": -1.0}), ("Adamax", {"betas": (1.5, 0.9)}),
    ("ASGD", {"lr": -1.0}), ("ASGD", {"weight_decay": -0.5}),
    ("Rprop", {"lr": -1.0}), ("Rprop", {"etas": (1.5, 1.2)}), ("Rprop", {"etas": (0.5, 0.9)}),
]


@pytest.mark.parametrize("name,kwargs", ERRORS, ids=[f"{n}-{k}" for n, k in ERRORS])
def test_constructor_errors(name, kwargs):
    messages = []
    for lib in (torch, gt):
        with pytest.raises(ValueError) as info:
            getattr(lib.optim, name)([lib.zeros(2, requires_grad=True)], **kwargs)
        messages.append(str(info.value))
    assert messages[1] == messages[0]


@pytest.mark.parametrize("name,kwargs", CASES[::3], ids=IDS[::3])
def test_compiled_step_equals_eager(name, kwargs):
    """A compiled training step follows the eager trajectory, as one graph (the step
    counter and 0-d state are graph values; tests/optim/test_compiled_optimizer_steps.py)."""
    results = []
    for compiled in (False, True):
        gt.manual_seed(0)
        model = gt.nn.Linear(3, 2)
        opt = getattr(gt.optim, name)(model.parameters(), **kwargs)
        x = gt.tensor(np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3))

        def step():
            opt.zero_grad()
            loss = (model(x) ** 2).sum()
            loss.backward()
            opt.step()
            return loss

        run = gt.compile(step) if compiled else step
        losses = [float(run().detach()) for _ in range(5)]
        results.append((losses, to_numpy(model.weight)))
    assert run.compile_count == 1 and not run.stats.graph_breaks
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-5, atol=1e-6)
