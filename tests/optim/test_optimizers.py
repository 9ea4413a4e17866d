"""Every optimizer, several hyper-parameter sets: 5 steps in torch and graphtorch agree.

Parameters start equal (copied through NumPy); each step recomputes the same loss with
autograd in each library. Trajectories, state_dict contents and a mid-training state_dict
round trip are compared (atol 1e-5 float32, 1e-6 float64).
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

import graphtorch as gt

from .common import (DTYPES, assert_close, assert_state_dicts_match, initial_arrays,
                     loss_arrays, loss_fn, make_params, to_numpy)

torch = pytest.importorskip("torch")

CASES = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 1e-3}),
    ("SGD", {"lr": 0.02, "momentum": 0.5, "maximize": True, "weight_decay": 0.1}),
    ("Adagrad", {"lr": 0.1}),
    ("Adagrad", {"lr": 0.2, "lr_decay": 0.05, "weight_decay": 0.1,
                 "initial_accumulator_value": 0.5, "eps": 1e-6}),
    ("Adagrad", {"lr": 0.1, "maximize": True}),
    ("Adadelta", {}),
    ("Adadelta", {"lr": 0.5, "rho": 0.8, "eps": 1e-5, "weight_decay": 0.1}),
    ("Adadelta", {"maximize": True}),
    ("RMSprop", {}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "centered": True}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.005, "centered": True, "momentum": 0.5, "maximize": True,
                 "eps": 1e-4}),
    ("Adam", {}),
    ("Adam", {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.05, "amsgrad": True}),
    ("Adam", {"lr": 0.05, "maximize": True, "amsgrad": True, "weight_decay": 0.01}),
    ("AdamW", {}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.1, "amsgrad": True}),
    ("AdamW", {"lr": 0.02, "betas": (0.5, 0.9), "maximize": True}),
]
IDS = [f"{name}-{i}" for i, (name, _) in enumerate(CASES)]
STEPS = 5


def _train(lib, name, kwargs, arrays, consts, steps, opt=None, params=None):
    """Run `steps` optimizer steps; returns (params, optimizer, per-step param arrays)."""
    if params is None:
        params = make_params(lib, arrays)
    if opt is None:
        opt = getattr(lib.optim, name)(params, **kwargs)
    history = []
    for _ in range(steps):
        opt.zero_grad()
        loss_fn(lib, params, consts).backward()
        opt.step()
        history.append([to_numpy(p) for p in params])
    return params, opt, history


@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_trajectory_and_state_dict(name, kwargs, dtype):
    atol = DTYPES[dtype]
    arrays, consts = initial_arrays(dtype), loss_arrays(dtype)
    _, opt_t, hist_t = _train(torch, name, kwargs, arrays, consts, STEPS)
    params_g, opt_g, hist_g = _train(gt, name, kwargs, arrays, consts, STEPS)
    for step, (pt, pg) in enumerate(zip(hist_t, hist_g)):
        for i, (a, b) in enumerate(zip(pt, pg)):
            assert_close(a, b, atol, f"{name} step {step} param {i}")
    assert_state_dicts_match(opt_t.state_dict(), opt_g.state_dict(), atol)
    assert repr(opt_t) == repr(opt_g)


@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_state_dict_round_trip_mid_training(name, kwargs):
    """Save after 3 steps, load into a fresh optimizer on copied params: identical future."""
    dtype, atol = "float64", 1e-6
    arrays, consts = initial_arrays(dtype), loss_arrays(dtype)
    params, opt, _ = _train(gt, name, kwargs, arrays, consts, 3)
    saved = copy.deepcopy(opt.state_dict())
    clones = make_params(gt, [to_numpy(p) for p in params])
    opt2 = getattr(gt.optim, name)(clones, **kwargs)
    opt2.load_state_dict(saved)
    assert_state_dicts_match(_torch_like(opt.state_dict()), opt2.state_dict(), 0)
    _, _, hist_a = _train(gt, name, kwargs, None, consts, 2, opt, params)
    _, _, hist_b = _train(gt, name, kwargs, None, consts, 2, opt2, clones)
    for a_step, b_step in zip(hist_a, hist_b):
        for a, b in zip(a_step, b_step):
            np.testing.assert_array_equal(a, b)
    # ... and the continued run still follows PyTorch's.
    _, _, hist_t = _train(torch, name, kwargs, arrays, consts, 5)
    for a, b in zip(hist_t[-1], hist_b[-1]):
        assert_close(a, b, atol, "after reload")


def _torch_like(sd):
    """Wrap a graphtorch state dict as the reference side of assert_state_dicts_match."""
    state = {i: {k: torch.from_numpy(to_numpy(v)) if isinstance(v, gt.Tensor) else v
                 for k, v in s.items()} for i, s in sd["state"].items()}
    return {"state": state, "param_groups": sd["param_groups"]}


@pytest.mark.parametrize("name,kwargs", CASES[::3], ids=IDS[::3])
def test_fixed_gradients_and_closure(name, kwargs):
    """Gradients assigned directly to `.grad`, steps taken through `step(closure)`."""
    rng = np.random.default_rng(5)
    arrays = initial_arrays("float64")
    grads = [[rng.normal(size=a.shape) for a in arrays] for _ in range(STEPS)]
    results = {}
    for lib in (torch, gt):
        params = make_params(lib, arrays)
        opt = getattr(lib.optim, name)(params, **kwargs)
        losses = []
        for step in range(STEPS):
            def closure():
                for p, g in zip(params, grads[step]):
                    p.grad = lib.tensor(g)
                return lib.tensor(float(step))
            losses.append(float(opt.step(closure)))
        results[lib.__name__] = ([to_numpy(p) for p in params], losses)
    assert results["torch"][1] == results["graphtorch"][1]
    for a, b in zip(results["torch"][0], results["graphtorch"][0]):
        assert_close(a, b, 1e-6, name)


@pytest.mark.parametrize("name,kwargs", [c for c in CASES if c[0] != "SGD"][::2])
def test_complex_parameters(name, kwargs):
    """Complex parameters are updated as PyTorch does, on their real view."""
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


def test_param_identity_and_memory_kept():
    arrays = initial_arrays("float32")
    params = make_params(gt, arrays)
    ptrs = [p.data_ptr() for p in params]
    opt = gt.optim.Adam(params, lr=0.1)
    loss_fn(gt, params, loss_arrays("float32")).backward()
    opt.step()
    assert [p.data_ptr() for p in params] == ptrs
    assert all(p.is_leaf and p.requires_grad and p.grad_fn is None for p in params)
    assert all(a is b for a, b in zip(opt.param_groups[0]["params"], params))


def test_step_does_not_record_autograd_history():
    p = gt.tensor([1.0, 2.0], requires_grad=True)
    opt = gt.optim.SGD([p], lr=0.1, momentum=0.9)
    (p * p).sum().backward()
    opt.step()
    assert p.grad_fn is None and gt.is_grad_enabled()
    buf = opt.state[p]["momentum_buffer"]
    assert not buf.requires_grad and buf.grad_fn is None


def test_parameters_without_grad_are_skipped():
    for lib in (torch, gt):
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        b = lib.tensor([3.0], requires_grad=True)
        opt = lib.optim.Adam([a, b], lr=0.1)
        (a * a).sum().backward()
        opt.step()
        assert b.tolist() == [3.0]
        assert list(opt.state_dict()["state"]) == [0]


def test_step_dtype_follows_default_dtype():
    prev = gt.get_default_dtype()
    try:
        for lib in (torch, gt):
            lib.set_default_dtype(lib.float64)
            p = lib.tensor([1.0], requires_grad=True)
            p.grad = lib.tensor([1.0])
            opt = lib.optim.Adam([p])
            opt.step()
            assert str(opt.state[p]["step"].dtype) == "torch.float64"
    finally:
        torch.set_default_dtype(torch.float32)
        gt.set_default_dtype(prev)
