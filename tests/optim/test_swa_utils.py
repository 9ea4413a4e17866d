"""`gt.optim.swa_utils` against `torch.optim.swa_utils`: the SWA recipe (AveragedModel,
SWALR after a cosine schedule, update_bn), EMA with buffers, custom averages, errors."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from tests.autograd.diff import torch


def _net(lib):
    lib.manual_seed(0)  # no bias before BatchNorm: its gradient is rounding noise Adam grows
    return lib.nn.Sequential(lib.nn.Linear(4, 6, bias=False), lib.nn.BatchNorm1d(6), lib.nn.ReLU(),
                             lib.nn.Linear(6, 2))


def _batches(lib):
    rng = np.random.default_rng(0)
    return [(lib.from_numpy(rng.standard_normal((8, 4)).astype(np.float32)),
             lib.from_numpy(rng.standard_normal((8, 2)).astype(np.float32))) for _ in range(3)]


def _swa_recipe(lib, anneal_strategy):
    """The documented recipe: cosine schedule, then SWA with SWALR; update_bn at the end."""
    swa_utils = lib.optim.swa_utils
    model = _net(lib)
    loader = _batches(lib)
    optimizer = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    swa_model = swa_utils.AveragedModel(model)
    scheduler = lib.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=8)
    swa_scheduler = swa_utils.SWALR(optimizer, swa_lr=0.05, anneal_epochs=2,
                                    anneal_strategy=anneal_strategy)
    lrs = []
    for epoch in range(6):
        for input, target in loader:
            optimizer.zero_grad()
            lib.nn.functional.mse_loss(model(input), target).backward()
            optimizer.step()
        if epoch > 2:
            swa_model.update_parameters(model)
            swa_scheduler.step()
        else:
            scheduler.step()
        lrs.append(optimizer.param_groups[0]["lr"])
    swa_utils.update_bn(loader, swa_model)
    state = {k: v.detach().numpy().copy() for k, v in swa_model.state_dict().items()}
    with lib.no_grad():
        swa_model.eval()
        prediction = swa_model(loader[0][0]).numpy().copy()
    return lrs, state, prediction, swa_scheduler.state_dict()["_anneal_strategy"]


@pytest.mark.parametrize("anneal_strategy", ["cos", "linear"])
def test_swa_recipe_matches_pytorch(anneal_strategy):
    want = _swa_recipe(torch, anneal_strategy)
    got = _swa_recipe(gt, anneal_strategy)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-6)
    assert list(got[1]) == list(want[1])  # module.* keys and n_averaged
    for key in want[1]:
        np.testing.assert_allclose(got[1][key], want[1][key], rtol=1e-4, atol=1e-6,
                                   err_msg=key)
    np.testing.assert_allclose(got[2], want[2], rtol=1e-4, atol=1e-5)
    assert got[3] == want[3]


def _ema(lib, kind):
    swa_utils = lib.optim.swa_utils
    model = _net(lib)
    if kind == "multi":
        ema = swa_utils.AveragedModel(model, multi_avg_fn=swa_utils.get_ema_multi_avg_fn(0.9),
                                      use_buffers=True)
    elif kind == "single":
        ema = swa_utils.AveragedModel(model, avg_fn=swa_utils.get_ema_avg_fn(0.9))
    else:
        ema = swa_utils.AveragedModel(model, avg_fn=swa_utils.get_swa_avg_fn())
    optimizer = lib.optim.Adam(model.parameters(), lr=0.05)
    for input, target in _batches(lib):
        optimizer.zero_grad()
        lib.nn.functional.mse_loss(model(input), target).backward()
        optimizer.step()
        ema.update_parameters(model)
    return {k: v.detach().numpy().copy() for k, v in ema.state_dict().items()}


@pytest.mark.parametrize("kind", ["multi", "single", "swa_single"])
def test_ema_and_custom_averages_match_pytorch(kind):
    want, got = _ema(torch, kind), _ema(gt, kind)
    assert list(got) == list(want)
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-5, atol=1e-6, err_msg=key)


def test_swa_errors_match_pytorch():
    for lib in (torch, gt):
        swa_utils = lib.optim.swa_utils
        model = lib.nn.Linear(2, 2)
        optimizer = lib.optim.SGD(model.parameters(), lr=0.1)
        with pytest.raises(ValueError, match="Invalid decay value 1.5"):
            swa_utils.get_ema_multi_avg_fn(1.5)
        with pytest.raises(ValueError, match="anneal_strategy must be one of"):
            swa_utils.SWALR(optimizer, swa_lr=0.1, anneal_strategy="exp")
        with pytest.raises(ValueError, match="anneal_epochs must be equal or greater than 0"):
            swa_utils.SWALR(optimizer, swa_lr=0.1, anneal_epochs=-1)
        with pytest.raises(AssertionError, match="Only one of avg_fn and multi_avg_fn"):
            swa_utils.AveragedModel(model, avg_fn=swa_utils.get_swa_avg_fn(),
                                    multi_avg_fn=swa_utils.get_swa_multi_avg_fn())
