"""Shared helpers of the optim tests: run the same training in torch and graphtorch."""

from __future__ import annotations

import numpy as np

import graphtorch as gt

DTYPES = {"float32": 1e-5, "float64": 1e-6}
SHAPES = [(3, 4), (5,), ()]


def initial_arrays(dtype: str, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1.5, 1.5, size=s).astype(dtype) for s in SHAPES]


def loss_arrays(dtype: str, seed: int = 1):
    """Targets and weights of the quadratic-plus-cubic loss every test minimises."""
    rng = np.random.default_rng(seed)
    return [(rng.uniform(-1, 1, size=s).astype(dtype), rng.uniform(0.5, 2, size=s)
             .astype(dtype)) for s in SHAPES]


def make_params(lib, arrays):
    return [lib.tensor(a.copy(), requires_grad=True) for a in arrays]


def loss_fn(lib, params, consts):
    """sum(w * (p - t)^2) + 0.1 * sum(p^3): gradients that change every step."""
    total = None
    for p, (t, w) in zip(params, consts):
        term = (lib.tensor(w) * (p - lib.tensor(t)) ** 2).sum() + 0.1 * (p ** 3).sum()
        total = term if total is None else total + term
    return total


def to_numpy(x):
    if isinstance(x, gt.Tensor):
        return np.array(x.detach().numpy())
    return x.detach().numpy().copy()


def assert_close(a, b, atol, what=""):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, f"{what}: shape {a.shape} vs {b.shape}"
    assert a.dtype == b.dtype, f"{what}: dtype {a.dtype} vs {b.dtype}"
    np.testing.assert_allclose(a, b, atol=atol, rtol=atol, err_msg=what)


def assert_state_dicts_match(sd_torch, sd_gt, atol):
    """Same indices, keys, tensor values/dtypes and param groups."""
    import torch

    assert sorted(sd_torch["state"]) == sorted(sd_gt["state"])
    for idx, state in sd_torch["state"].items():
        mine = sd_gt["state"][idx]
        assert list(state) == list(mine), (idx, list(state), list(mine))
        for key, value in state.items():
            if isinstance(value, torch.Tensor):
                assert isinstance(mine[key], gt.Tensor), (idx, key)
                assert_close(to_numpy(value), to_numpy(mine[key]), atol, f"state[{idx}][{key}]")
            else:
                assert value == mine[key], (idx, key)
    assert len(sd_torch["param_groups"]) == len(sd_gt["param_groups"])
    for g_t, g_g in zip(sd_torch["param_groups"], sd_gt["param_groups"]):
        assert list(g_t) == list(g_g)
        for key in g_t:
            assert g_t[key] == g_g[key], key
