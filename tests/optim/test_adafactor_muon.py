"""Adafactor and Muon against PyTorch: 20-step trajectories, state_dict contents and
defaults, a mid-training state_dict round trip, constructor errors, and compiled training
steps equal to eager."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import graphtorch as gt

from .common import (
    DTYPES,
    assert_close,
    assert_state_dicts_match,
    initial_arrays,
    loss_arrays,
    loss_fn,
    make_params,
    to_numpy,
)
from .test_optimizers import _train

torch = pytest.importorskip("torch")

STEPS = 20
ADAFACTOR_CASES = [
    {},
    {"lr": 0.1, "weight_decay": 0.1, "maximize": True, "d": 1.5, "eps": (1e-4, 1e-3),
     "beta2_decay": -0.5},
    {"lr": 0.5, "eps": (None, 0.1), "foreach": False},  # rho_t = 1/sqrt(t) from step 5
]
MUON_CASES = [
    {},
    {"lr": 0.02, "nesterov": False, "adjust_lr_fn": "match_rms_adamw", "weight_decay": 0.01},
    {"lr": 0.05, "momentum": 0.5, "ns_steps": 3, "adjust_lr_fn": "original",
     "ns_coefficients": (3.0, -3.2, 1.2)},
]
MATRIX_SHAPES = [(3, 4), (6, 2), (4, 4)]


@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("kwargs", ADAFACTOR_CASES)
def test_adafactor_trajectory_and_state_dict(kwargs, dtype):
    """Matrices (factored row/col variances), vectors and 0-d parameters (full variance)."""
    atol = DTYPES[dtype] * 10 if dtype == "float32" else DTYPES[dtype]
    arrays, consts = initial_arrays(dtype), loss_arrays(dtype)
    _, opt_t, hist_t = _train(torch, "Adafactor", kwargs, arrays, consts, STEPS)
    _, opt_g, hist_g = _train(gt, "Adafactor", kwargs, arrays, consts, STEPS)
    for step, (pt, pg) in enumerate(zip(hist_t, hist_g)):
        for i, (a, b) in enumerate(zip(pt, pg)):
            assert_close(a, b, atol, f"Adafactor step {step} param {i}")
    assert_state_dicts_match(opt_t.state_dict(), opt_g.state_dict(), atol)
    assert repr(opt_t) == repr(opt_g)


def _matrix_data(seed=0):
    rng = np.random.default_rng(seed)
    init = [rng.uniform(-1, 1, s).astype(np.float32) for s in MATRIX_SHAPES]
    targets = [rng.uniform(-1, 1, s).astype(np.float32) for s in MATRIX_SHAPES]
    return init, targets


def _train_muon(lib, kwargs, params, targets, steps, opt=None):
    opt = opt or lib.optim.Muon(params, **kwargs)
    history = []
    for _ in range(steps):
        opt.zero_grad()
        loss = sum(((p - lib.tensor(t)) ** 2).sum() + 0.1 * (p ** 3).sum()
                   for p, t in zip(params, targets))
        loss.backward()
        opt.step()
        history.append([to_numpy(p) for p in params])
    return opt, history


@pytest.mark.parametrize("kwargs", MUON_CASES)
def test_muon_trajectory_and_state_dict(kwargs):
    """Square, wide and tall (transposed for the iteration) matrices; the Newton-Schulz
    iteration runs in bfloat16 in both libraries, so the steps agree to float32 rounding."""
    init, targets = _matrix_data()
    runs = []
    for lib in (torch, gt):
        params = [lib.tensor(a.copy(), requires_grad=True) for a in init]
        runs.append(_train_muon(lib, kwargs, params, targets, STEPS))
    (opt_t, hist_t), (opt_g, hist_g) = runs
    for step, (pt, pg) in enumerate(zip(hist_t, hist_g)):
        for i, (a, b) in enumerate(zip(pt, pg)):
            assert_close(a, b, 1e-5, f"Muon step {step} param {i}")
    assert_state_dicts_match(opt_t.state_dict(), opt_g.state_dict(), 1e-5)
    assert repr(opt_t) == repr(opt_g)


def test_newton_schulz_orthogonalises():
    from graphtorch.optim.muon import _zeropower_via_newtonschulz

    g = gt.tensor(np.random.default_rng(3).normal(size=(8, 5)).astype(np.float32))
    ortho = _zeropower_via_newtonschulz(g, (3.4445, -4.775, 2.0315), 5, 1e-7)
    assert ortho.dtype == gt.bfloat16 and ortho.shape == (8, 5)
    singular = np.linalg.svd(ortho.float().numpy(), compute_uv=False)
    assert np.all((singular > 0.5) & (singular < 1.5)), singular  # U S' V^T, S' ~ 1


@pytest.mark.parametrize("name", ["Adafactor", "Muon"])
def test_defaults_match(name):
    t = getattr(torch.optim, name)([torch.zeros(2, 2, requires_grad=True)])
    g = getattr(gt.optim, name)([gt.zeros(2, 2, requires_grad=True)])
    assert g.defaults == t.defaults
    assert list(g.param_groups[0]) == list(t.param_groups[0])


def test_adafactor_state_dict_round_trip_mid_training():
    """Save after 3 steps, load into a fresh optimizer on copied params, 2 more steps: the
    same as PyTorch doing the same."""
    arrays, consts = initial_arrays("float64"), loss_arrays("float64")
    kwargs = ADAFACTOR_CASES[1]
    finals = []
    for lib in (torch, gt):
        params, opt, _ = _train(lib, "Adafactor", kwargs, arrays, consts, 3)
        saved = copy.deepcopy(opt.state_dict())
        clones = make_params(lib, [to_numpy(p) for p in params])
        opt2 = lib.optim.Adafactor(clones, **kwargs)
        opt2.load_state_dict(saved)
        _, _, hist = _train(lib, "Adafactor", kwargs, None, consts, 2, opt2, clones)
        finals.append((hist[-1], opt2.state_dict()))
    for a, b in zip(finals[0][0], finals[1][0]):
        assert_close(a, b, 1e-6, "after reload")
    assert_state_dicts_match(finals[0][1], finals[1][1], 1e-6)


def test_muon_state_dict_round_trip_mid_training():
    init, targets = _matrix_data(1)
    params = [gt.tensor(a.copy(), requires_grad=True) for a in init]
    opt, _ = _train_muon(gt, {}, params, targets, 3)
    clones = [gt.tensor(to_numpy(p), requires_grad=True) for p in params]
    opt2 = gt.optim.Muon(clones)
    opt2.load_state_dict(copy.deepcopy(opt.state_dict()))
    _, hist_a = _train_muon(gt, {}, params, targets, 2, opt)
    _, hist_b = _train_muon(gt, {}, clones, targets, 2, opt2)
    for a, b in zip(hist_a[-1], hist_b[-1]):
        np.testing.assert_array_equal(a, b)


ERRORS = [
    ("Adafactor", {"lr": -1.0}), ("Adafactor", {"beta2_decay": 0.5}),
    ("Adafactor", {"eps": (-1.0, 1e-3)}), ("Adafactor", {"eps": (None, -1.0)}),
    ("Adafactor", {"d": 0.5}), ("Adafactor", {"weight_decay": -0.1}),
    ("Muon", {"lr": -1.0}), ("Muon", {"momentum": -0.5}), ("Muon", {"weight_decay": -1.0}),
    ("Muon", {"adjust_lr_fn": "other"}),
]


@pytest.mark.parametrize("name,kwargs", ERRORS, ids=[f"{n}-{k}" for n, k in ERRORS])
def test_constructor_errors(name, kwargs):
    messages = []
    for lib in (torch, gt):
        with pytest.raises(ValueError) as info:
            getattr(lib.optim, name)([lib.zeros(2, 2, requires_grad=True)], **kwargs)
        messages.append(str(info.value))
    assert messages[1] == messages[0]


def test_muon_refuses_non_matrix_parameters_and_complex_adafactor():
    messages = []
    for lib in (torch, gt):
        with pytest.raises(ValueError) as info:
            lib.optim.Muon([lib.zeros(3, requires_grad=True)])
        messages.append(str(info.value))
        p = lib.zeros(2, dtype=lib.complex64, requires_grad=True)
        p.grad = lib.ones(2, dtype=lib.complex64)
        with pytest.raises(RuntimeError, match="Adafactor does not support complex"):
            lib.optim.Adafactor([p]).step()
    assert messages[1] == messages[0]


@pytest.mark.parametrize("name,kwargs", [("Adafactor", ADAFACTOR_CASES[0]),
                                         ("Adafactor", ADAFACTOR_CASES[1]),
                                         ("Muon", MUON_CASES[1])])
def test_compiled_step_equals_eager(name, kwargs):
    """Adafactor's step compiles to one graph (its .item() scalars become float64 graph
    values). Muon's bfloat16 iteration has no compiled kernels: its step runs eagerly with
    the reason logged as a graph break, and still equals eager."""
    results = []
    for compiled in (False, True):
        gt.manual_seed(0)
        model = gt.nn.Linear(3, 2, bias=name != "Muon")
        opt = getattr(gt.optim, name)(model.parameters(), **kwargs)
        x = gt.tensor(np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3))

        def step():
            opt.zero_grad()
            loss = (model(x) ** 2).sum()
            loss.backward()
            opt.step()
            return loss

        run = gt.compile(step) if compiled else step
        losses = [float(run().detach()) for _ in range(6)]
        results.append((losses, to_numpy(model.weight)))
    if name == "Adafactor":
        assert run.compile_count == 1 and not run.stats.graph_breaks
    else:
        assert any("bfloat16" in reason for reason in run.stats.graph_breaks)
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-5, atol=1e-6)


def test_adafactor_loss_decreases():
    arrays, consts = initial_arrays("float32"), loss_arrays("float32")
    params = make_params(gt, arrays)
    opt = gt.optim.Adafactor(params, lr=0.1)
    first = float(loss_fn(gt, params, consts).detach())
    _train(gt, "Adafactor", {}, None, consts, 30, opt, params)
    assert float(loss_fn(gt, params, consts).detach()) < first
