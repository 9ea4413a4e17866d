"""`optim.LBFGS` against `torch.optim.LBFGS`: trajectories, evaluation counts and state over
several steps, with and without the strong-Wolfe line search."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from tests.autograd.diff import raises_like_torch, torch


def _problem(lib, dtype, seed=0):
    rng = np.random.default_rng(seed)
    d = getattr(lib, dtype)
    x = lib.tensor(rng.standard_normal((30, 5)), dtype=d)
    y = x @ lib.tensor(rng.standard_normal((5, 1)), dtype=d) + \
        0.1 * lib.tensor(rng.standard_normal((30, 1)), dtype=d)
    w = lib.zeros(5, 1, dtype=d, requires_grad=True)
    b = lib.zeros(1, dtype=d, requires_grad=True)
    return x, y, w, b


def _run(lib, dtype, steps=5, **options):
    x, y, w, b = _problem(lib, dtype)
    opt = lib.optim.LBFGS([w, b], **options)

    def closure():
        opt.zero_grad()
        # a quartic term keeps the curvature changing, so the history matters
        loss = (((x @ w + b) - y) ** 2).mean() + 0.01 * (w ** 4).sum()
        loss.backward()
        return loss

    trace = []
    for _ in range(steps):
        loss = opt.step(closure)
        state = opt.state[w]
        trace.append((loss.item(), w.detach().numpy().copy(), b.detach().numpy().copy(),
                      state["func_evals"], state["n_iter"], len(state["old_dirs"])))
    return trace, opt


OPTIONS = [
    {},
    {"line_search_fn": "strong_wolfe"},
    {"history_size": 3, "max_iter": 7},
    {"history_size": 3, "max_iter": 7, "line_search_fn": "strong_wolfe"},
    {"lr": 0.5, "max_iter": 4, "max_eval": 6, "line_search_fn": "strong_wolfe"},
    {"tolerance_grad": 1e-3, "tolerance_change": 1e-4},
]


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(f"{k}={v}" for k, v
                                                                   in o.items()) or "default")
def test_float64_trajectory_equals_torch(options):
    ours, _ = _run(gt, "float64", **options)
    theirs, _ = _run(torch, "float64", **options)
    for step, (o, t) in enumerate(zip(ours, theirs)):
        assert o[3:] == t[3:], f"step {step}: (func_evals, n_iter, history) {o[3:]} vs {t[3:]}"
        np.testing.assert_allclose(o[1], t[1], rtol=1e-10, atol=1e-12, err_msg=f"w@{step}")
        np.testing.assert_allclose(o[2], t[2], rtol=1e-10, atol=1e-12, err_msg=f"b@{step}")
        assert o[0] == pytest.approx(t[0], rel=1e-10, abs=1e-14)


@pytest.mark.parametrize("options", OPTIONS[:2], ids=["default", "strong_wolfe"])
def test_float32_trajectory_close_to_torch(options):
    ours, _ = _run(gt, "float32", **options)
    theirs, _ = _run(torch, "float32", **options)
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o[1], t[1], rtol=1e-4, atol=1e-5)
        assert o[0] == pytest.approx(t[0], rel=1e-4)


def test_state_dict_matches_torch_layout():
    _, ours = _run(gt, "float64", steps=2, history_size=4)
    _, theirs = _run(torch, "float64", steps=2, history_size=4)
    sd_o, sd_t = ours.state_dict(), theirs.state_dict()
    assert list(sd_o["state"]) == list(sd_t["state"]) == [0]
    assert sorted(sd_o["state"][0]) == sorted(sd_t["state"][0])
    assert sd_o["param_groups"] == sd_t["param_groups"]
    for key in ("d", "prev_flat_grad"):
        np.testing.assert_allclose(sd_o["state"][0][key].numpy(),
                                   sd_t["state"][0][key].numpy(), rtol=1e-10, atol=1e-12)


def test_already_optimal_returns_after_one_evaluation():
    for lib in (gt, torch):
        w = lib.zeros(3, requires_grad=True)
        opt = lib.optim.LBFGS([w])

        def closure():
            opt.zero_grad()
            loss = (w ** 2).sum()
            loss.backward()
            return loss

        opt.step(closure)
        assert opt.state[w]["func_evals"] == 1 and opt.state[w]["n_iter"] == 0


@pytest.mark.parametrize("case", [
    lambda lib: lib.optim.LBFGS([lib.zeros(2, requires_grad=True)], lr=-1.0),
    lambda lib: lib.optim.LBFGS([{"params": [lib.zeros(2, requires_grad=True)]},
                                 {"params": [lib.zeros(2, requires_grad=True)]}]),
    lambda lib: lib.optim.LBFGS([lib.zeros(2, requires_grad=True)], lr=lib.ones(2)),
    lambda lib: _unknown_line_search(lib),
], ids=["negative_lr", "param_groups", "tensor_lr", "line_search_fn"])
def test_errors_as_torch(case):
    raises_like_torch(case)


def _unknown_line_search(lib):
    w = lib.ones(2, requires_grad=True)
    opt = lib.optim.LBFGS([w], line_search_fn="armijo")

    def closure():
        opt.zero_grad()
        loss = (w ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
