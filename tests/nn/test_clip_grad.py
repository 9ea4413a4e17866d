"""`gt.nn.utils.clip_grad_norm_` / `clip_grad_value_` against PyTorch: clipped gradients,
the returned total norm (value and dtype) for several norm types incl. inf, non-finite
norms, parameters without gradients, single tensors and generators."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import graphtorch as gt

from . import close, torch

RNG = np.random.default_rng(0)


def _params(grads):
    """The same parameters with .grad set from NumPy arrays (None: no gradient), per lib."""
    out = []
    for lib in (torch, gt):
        params = []
        for g in grads:
            shape = g.shape if g is not None else (2,)
            p = lib.nn.Parameter(lib.zeros(*shape, dtype=getattr(
                lib, str(g.dtype) if g is not None else "float32")))
            if g is not None:
                p.grad = lib.tensor(g.copy())
            params.append(p)
        out.append(params)
    return out


def _grads(scale=1.0):
    return [RNG.standard_normal((3, 4)).astype(np.float32) * scale, None,
            RNG.standard_normal(5).astype(np.float32) * scale]


def _same_grads(g_params, t_params, rtol=1e-6):
    for g, t in zip(g_params, t_params):
        assert (g.grad is None) == (t.grad is None)
        if t.grad is not None:
            close(g.grad, t.grad, rtol, 1e-7)


@pytest.mark.parametrize("norm_type", [2.0, 1, 0.5, 3.0, math.inf, "inf"])
@pytest.mark.parametrize("max_norm", [0.1, 1.0, 1e6])
@pytest.mark.parametrize("foreach", [None, False, True])
def test_clip_grad_norm(norm_type, max_norm, foreach):
    t_params, g_params = _params(_grads(2.0))
    t_norm = torch.nn.utils.clip_grad_norm_(t_params, max_norm, norm_type, foreach=foreach)
    g_norm = gt.nn.utils.clip_grad_norm_(g_params, max_norm, norm_type, foreach=foreach)
    close(g_norm, t_norm, 1e-6, 0)
    assert g_norm.dim() == 0 and not g_norm.requires_grad
    _same_grads(g_params, t_params)


def test_clip_grad_norm_float64_mixed_and_single_tensor():
    grads = [RNG.standard_normal(4), RNG.standard_normal((2, 2)).astype(np.float32)]
    t_params, g_params = _params(grads)
    t_norm = torch.nn.utils.clip_grad_norm_(t_params, 0.5)
    g_norm = gt.nn.utils.clip_grad_norm_(g_params, 0.5)
    close(g_norm, t_norm, 1e-12, 0)
    _same_grads(g_params, t_params, 1e-12)
    t_params, g_params = _params([RNG.standard_normal(6).astype(np.float32)])
    t_norm = torch.nn.utils.clip_grad_norm_(t_params[0], 0.3, norm_type=1)
    g_norm = gt.nn.utils.clip_grad_norm_(g_params[0], 0.3, norm_type=1)
    close(g_norm, t_norm)
    _same_grads(g_params, t_params)


def test_clip_grad_norm_without_gradients_and_empty_generator():
    t_params, g_params = _params([None, None])
    close(gt.nn.utils.clip_grad_norm_(g_params, 1.0),
          torch.nn.utils.clip_grad_norm_(t_params, 1.0))
    messages = []
    for lib in (torch, gt):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            norm = lib.nn.utils.clip_grad_norm_((p for p in []), 1.0)
        assert float(norm) == 0.0
        messages.append([(w.category, str(w.message)) for w in caught])
    assert messages[1] == messages[0]


@pytest.mark.parametrize("bad", [math.inf, math.nan])
@pytest.mark.parametrize("norm_type", [2.0, math.inf])
def test_non_finite_norms(bad, norm_type):
    grads = _grads()
    grads[0][1, 2] = bad
    t_params, g_params = _params(grads)
    t_norm = torch.nn.utils.clip_grad_norm_(t_params, 1.0, norm_type)
    g_norm = gt.nn.utils.clip_grad_norm_(g_params, 1.0, norm_type)
    close(g_norm, t_norm)
    _same_grads(g_params, t_params)
    errors = []
    for lib, params in zip((torch, gt), _params(grads)):
        with pytest.raises(RuntimeError) as info:
            lib.nn.utils.clip_grad_norm_(params, 1.0, norm_type, error_if_nonfinite=True)
        errors.append(str(info.value))
        assert float(params[0].grad[0, 0]) == grads[0][0, 0]  # left unclipped
    assert errors[1] == errors[0]


def test_clip_grad_norm_deprecated_alias_and_total_norm_helpers():
    t_params, g_params = _params(_grads(3.0))
    records = []
    for lib, params in ((torch, t_params), (gt, g_params)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            lib.nn.utils.clip_grad_norm(params, 1.0)
        records.append([(w.category, str(w.message)) for w in caught])
    assert records[1] == records[0]
    _same_grads(g_params, t_params)
    tensors = [RNG.standard_normal(3).astype(np.float32) for _ in range(2)]
    t_total = torch.nn.utils.get_total_norm([torch.tensor(a) for a in tensors], 3.0)
    g_total = gt.nn.utils.get_total_norm([gt.tensor(a) for a in tensors], 3.0)
    close(g_total, t_total)
    t_params, g_params = _params(_grads())
    torch.nn.utils.clip_grads_with_norm_(t_params, 0.5, t_total)
    gt.nn.utils.clip_grads_with_norm_(g_params, 0.5, g_total)
    _same_grads(g_params, t_params)


@pytest.mark.parametrize("clip_value", [0.5, 2, 0.0])
def test_clip_grad_value(clip_value):
    t_params, g_params = _params(_grads(2.0))
    grad_before = g_params[0].grad
    assert torch.nn.utils.clip_grad_value_(t_params, clip_value) is None
    assert gt.nn.utils.clip_grad_value_(g_params, clip_value) is None
    _same_grads(g_params, t_params, 0)
    assert g_params[0].grad is grad_before  # in place
    t_params, g_params = _params([RNG.standard_normal(4).astype(np.float32) * 3])
    torch.nn.utils.clip_grad_value_(t_params[0], clip_value, foreach=True)
    gt.nn.utils.clip_grad_value_(g_params[0], clip_value, foreach=True)
    _same_grads(g_params, t_params, 0)


def test_clipping_a_model_after_backward():
    torch.manual_seed(0)
    t_model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    g_model = gt.nn.Sequential(gt.nn.Linear(4, 8), gt.nn.Tanh(), gt.nn.Linear(8, 2))
    g_model.load_state_dict({k: gt.tensor(v.numpy()) for k, v in t_model.state_dict().items()})
    x = RNG.standard_normal((16, 4)).astype(np.float32) * 5
    (t_model(torch.tensor(x)) ** 2).sum().backward()
    (g_model(gt.tensor(x)) ** 2).sum().backward()
    t_norm = torch.nn.utils.clip_grad_norm_(t_model.parameters(), 1.0)
    g_norm = gt.nn.utils.clip_grad_norm_(g_model.parameters(), 1.0)
    close(g_norm, t_norm, 1e-5)
    _same_grads(list(g_model.parameters()), list(t_model.parameters()), 1e-5)
