"""The eager SGD-momentum update's native pass (`optim.native_update`) against the ops it
replaces: the same values bit for bit (same order and roundings), version counters bumped,
and the cases it leaves to the ops."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch import native_build
from graphtorch.optim import native_update


@pytest.fixture
def native(monkeypatch):
    monkeypatch.setenv("GRAPHTORCH_JIT", "sync")
    if native_build.compiler() is None:
        pytest.skip("no C++ compiler")
    assert native_update.KERNELS.get(np.dtype(np.float32)) is not None


def _train(dtype, steps, use_native, monkeypatch, optimizer="SGD", **options):
    """Parameters after `steps` optimizer steps on a fixed quadratic-ish loss."""
    if not use_native:
        monkeypatch.setattr(native_update, "sgd_momentum", lambda *a: False)
        monkeypatch.setattr(native_update, "adam", lambda *a: False)
    rng = np.random.default_rng(3)
    shapes = [(400, 500), (37,), (3, 4)]  # one above the thread threshold
    params = [gt.tensor(rng.standard_normal(s).astype(dtype), requires_grad=True)
              for s in shapes]
    targets = [gt.tensor(rng.standard_normal(s).astype(dtype)) for s in shapes]
    opt = getattr(gt.optim, optimizer)(params, **options)
    for _ in range(steps):
        opt.zero_grad()
        sum(((p - t) ** 2).sum() for p, t in zip(params, targets)).backward()
        opt.step()
    monkeypatch.undo()
    return [p.detach().numpy().copy() for p in params], opt


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("options", [dict(lr=0.01, momentum=0.9),
                                     dict(lr=0.003, momentum=0.5, dampening=0.3),
                                     dict(lr=0.01, momentum=0.9, weight_decay=1e-2),
                                     dict(lr=0.01, momentum=0.9, nesterov=True),
                                     dict(lr=0.01, momentum=0.8, maximize=True)], ids=str)
def test_same_values_as_the_ops(native, monkeypatch, dtype, options):
    calls = []
    original = native_update.sgd_momentum
    monkeypatch.setattr(native_update, "sgd_momentum",
                        lambda *a: calls.append(original(*a)) or calls[-1])
    ours, opt = _train(dtype, 4, True, monkeypatch, **options)
    ops, _ = _train(dtype, 4, False, monkeypatch, **options)
    for a, b in zip(ours, ops):
        np.testing.assert_array_equal(a, b)
    assert any(calls) == (not options.get("nesterov"))  # the native pass ran


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("optimizer, options", [
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.003, betas=(0.3, 0.99), eps=1e-6)),  # lerp's |w| >= 0.5 form
    ("Adam", dict(lr=0.01, weight_decay=0.1)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, maximize=True)),
    ("Adam", dict(lr=0.01, amsgrad=True))], ids=str)
def test_adam_same_values_as_the_ops(native, monkeypatch, dtype, optimizer, options):
    calls = []
    original = native_update.adam
    monkeypatch.setattr(native_update, "adam", lambda *a: calls.append(original(*a)) or
                        calls[-1])
    ours, opt = _train(dtype, 5, True, monkeypatch, optimizer, **options)
    ops, opt_ops = _train(dtype, 5, False, monkeypatch, optimizer, **options)
    for a, b in zip(ours, ops):
        np.testing.assert_array_equal(a, b)
    for p, q in zip(opt.state.values(), opt_ops.state.values()):
        np.testing.assert_array_equal(p["exp_avg_sq"].numpy(), q["exp_avg_sq"].numpy())
    assert any(calls) == (not options.get("amsgrad"))  # the native pass ran


def test_version_counters_move_and_views_take_the_ops(native):
    p = gt.randn(300, 600, requires_grad=True)
    buf, grad = gt.randn(300, 600), gt.randn(300, 600)
    versions = (p._version, buf._version)
    with gt.no_grad():
        assert native_update.sgd_momentum(p, buf, grad, 0.9, 0.0, 0.1)
    assert p._version > versions[0] and buf._version > versions[1]
    with gt.no_grad():
        assert not native_update.sgd_momentum(p[:, ::2], buf[:, ::2], grad[:, ::2], 0.9, 0.0,
                                              0.1)
        assert not native_update.sgd_momentum(p, buf, grad.double(), 0.9, 0.0, 0.1)
        assert not native_update.sgd_momentum(p, buf, buf, 0.9, 0.0, 0.1)  # overlapping
    assert not native_update.sgd_momentum(p, buf, grad, 0.9, 0.0, 0.1)  # grad mode on


@pytest.mark.parametrize("optimizer, options", [("SGD", dict(lr=0.01, momentum=0.9)),
                                                ("Adam", dict(lr=0.01)),
                                                ("AdamW", dict(lr=0.01, weight_decay=0.1))],
                         ids=str)
def test_compiled_steps_still_match_eager(native, monkeypatch, optimizer, options):
    """Inside gt.compile the update is traced from the ops (the native pass declines); the
    compiled steps match the eager ones that took it."""
    eager, _ = _train(np.float32, 3, True, monkeypatch, optimizer, **options)
    rng = np.random.default_rng(3)
    shapes = [(400, 500), (37,), (3, 4)]
    params = [gt.tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True)
              for s in shapes]
    targets = [gt.tensor(rng.standard_normal(s).astype(np.float32)) for s in shapes]
    opt = getattr(gt.optim, optimizer)(params, **options)

    @gt.compile
    def step():
        opt.zero_grad()
        sum(((p - t) ** 2).sum() for p, t in zip(params, targets)).backward()
        opt.step()

    for _ in range(3):
        step()
    for a, b in zip(params, eager):
        np.testing.assert_allclose(a.detach().numpy(), b, rtol=1e-6, atol=1e-6)
