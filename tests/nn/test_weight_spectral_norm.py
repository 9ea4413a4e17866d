"""nn.utils.weight_norm / spectral_norm (the hook-based forms) and parameters_to_vector /
vector_to_parameters against PyTorch: parameters and buffers by name, the power-iteration
draws, several SGD steps of training, eval mode, state_dict (metadata, version-0 loading),
removal, errors, and compiled equal to eager."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import graphtorch as gt

from . import RANDOM_RTOL, build, close, copy_state, npy, same_error, same_state, torch

RNG = np.random.default_rng(2)


def _quiet(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return fn()


def _train(lib, model, x, steps, lr=0.1):
    """SGD steps on sum(model(x) ** 2); returns each step's output."""
    opt = lib.optim.SGD(model.parameters(), lr=lr)
    outs = []
    for _ in range(steps):
        opt.zero_grad()
        out = model(lib.tensor(np.asarray(x, dtype=np.float32)))
        (out ** 2).sum().backward()
        opt.step()
        outs.append(out)
    return outs


SPECTRAL = [
    lambda lib: lib.nn.utils.spectral_norm(lib.nn.Linear(5, 4)),
    lambda lib: lib.nn.utils.spectral_norm(lib.nn.Linear(3, 6), n_power_iterations=3, eps=1e-6),
    lambda lib: lib.nn.utils.spectral_norm(lib.nn.Conv2d(2, 3, 3)),
    lambda lib: lib.nn.utils.spectral_norm(lib.nn.ConvTranspose2d(2, 3, 3)),  # dim 1
    lambda lib: lib.nn.utils.spectral_norm(lib.nn.Conv1d(2, 3, 2), dim=2),
]
SPECTRAL_INPUTS = [(3, 5), (2, 3), (2, 2, 5, 5), (2, 2, 4, 4), (2, 2, 6)]


@pytest.mark.parametrize("case", range(len(SPECTRAL)))
def test_spectral_norm_draws_and_training_match(case):
    tm, gm = build(SPECTRAL[case], seed=4)
    same_state(gm, tm, exact=True, what="initial u, v and weight_orig")
    x = RNG.standard_normal(SPECTRAL_INPUTS[case])
    for step, (g, t) in enumerate(zip(_train(gt, gm, x, 4), _train(torch, tm, x, 4))):
        close(g, t, 1e-4, 1e-5, f"output of step {step}")
    same_state(gm, tm, exact=False, what="after training")
    close(gm.weight, tm.weight, 1e-5, 1e-6, "weight")
    tm.eval(), gm.eval()  # eval: no power iteration, u and v unchanged
    x = x.astype(np.float32)
    close(gm(gt.tensor(x)), tm(torch.tensor(x)), 1e-5, 1e-6, "eval output")
    same_state(gm, tm, exact=False, what="after eval")


def test_spectral_norm_state_dict_and_metadata():
    tm, gm = build(SPECTRAL[0])
    t_sd, g_sd = tm.state_dict(), gm.state_dict()
    assert list(g_sd) == list(t_sd)
    assert g_sd._metadata[""]["spectral_norm"] == t_sd._metadata[""]["spectral_norm"]
    gm.load_state_dict({k: gt.tensor(npy(v)) for k, v in t_sd.items()})
    same_state(gm, tm, exact=True)


def test_spectral_norm_loads_version_0_checkpoints():
    """A dict with weight, weight_orig and weight_u (no weight_v, no metadata): v is solved."""
    tm, gm = build(SPECTRAL[1])
    _train(torch, tm, RNG.standard_normal((2, 3)), 1)
    old = {k: v for k, v in tm.state_dict().items() if k != "weight_v"}
    old["weight"] = tm.weight.detach()
    results = []
    for lib, m in ((torch, tm), (gt, gm)):
        m.load_state_dict({k: lib.tensor(npy(v)) for k, v in old.items()})
        results.append(m.weight_v)
    close(results[1], results[0], 1e-4, 1e-5, "solved weight_v")


def test_remove_spectral_norm():
    tm, gm = build(SPECTRAL[2])
    x = RNG.standard_normal((1, 2, 4, 4))
    _train(torch, tm, x, 2), _train(gt, gm, x, 2)
    for lib, m in ((torch, tm), (gt, gm)):
        lib.nn.utils.remove_spectral_norm(m)
    assert list(gm.state_dict()) == list(tm.state_dict())
    close(gm.weight, tm.weight, 1e-5, 1e-6)
    assert not gm._forward_pre_hooks and not gm._state_dict_hooks


def test_spectral_norm_errors():
    same_error(lambda lib: lib.nn.utils.spectral_norm(lib.nn.Linear(2, 2), n_power_iterations=0))
    same_error(lambda lib: lib.nn.utils.spectral_norm(
        lib.nn.utils.spectral_norm(lib.nn.Linear(2, 2))))
    same_error(lambda lib: lib.nn.utils.spectral_norm(lib.nn.Linear(2, 2, bias=False), "bias"))
    same_error(lambda lib: lib.nn.utils.remove_spectral_norm(lib.nn.Linear(2, 2)))


def test_spectral_norm_compiled_equals_eager():
    """A compiled training-mode forward advances u and v as eager does."""
    gt.manual_seed(0)
    eager = gt.nn.utils.spectral_norm(gt.nn.Linear(4, 3))
    gt.manual_seed(0)
    compiled_model = gt.nn.utils.spectral_norm(gt.nn.Linear(4, 3))
    compiled = gt.compile(compiled_model)
    for _ in range(3):
        x = gt.tensor(RNG.standard_normal((2, 4)).astype(np.float32))
        close(compiled(x), eager(x), 1e-5, 1e-6)
    close(compiled_model.weight_u, eager.weight_u, 1e-5, 1e-6)
    close(compiled_model.weight_v, eager.weight_v, 1e-5, 1e-6)


WEIGHT_NORM = [
    lambda lib: lib.nn.utils.weight_norm(lib.nn.Linear(5, 4)),
    lambda lib: lib.nn.utils.weight_norm(lib.nn.Linear(5, 4), dim=None),
    lambda lib: lib.nn.utils.weight_norm(lib.nn.Linear(5, 4), dim=1),
    lambda lib: lib.nn.utils.weight_norm(lib.nn.Conv2d(2, 3, 3), dim=-2),
    lambda lib: lib.nn.utils.weight_norm(lib.nn.Linear(5, 4), name="bias"),
]
WEIGHT_NORM_INPUTS = [(3, 5), (3, 5), (3, 5), (2, 2, 5, 5), (3, 5)]


@pytest.mark.parametrize("case", range(len(WEIGHT_NORM)))
def test_weight_norm_parameters_and_training_match(case):
    tm, gm = _quiet(lambda: build(WEIGHT_NORM[case]))
    same_state(gm, tm, exact=True, what="initial g and v")
    x = RNG.standard_normal(WEIGHT_NORM_INPUTS[case]).astype(np.float32)
    for step, (g, t) in enumerate(zip(_train(gt, gm, x, 4), _train(torch, tm, x, 4))):
        close(g, t, 1e-5, 1e-5, f"output of step {step}")
    same_state(gm, tm, exact=False, what="after training")


def test_weight_norm_warns_removes_and_errors():
    with pytest.warns(FutureWarning, match="deprecated"):
        gm = gt.nn.utils.weight_norm(gt.nn.Linear(3, 2))
    tm = _quiet(lambda: torch.nn.utils.weight_norm(torch.nn.Linear(3, 2)))
    copy_state(tm, gm)
    for lib, m in ((torch, tm), (gt, gm)):
        lib.nn.utils.remove_weight_norm(m)
    assert list(gm.state_dict()) == list(tm.state_dict())
    close(gm.weight, tm.weight, RANDOM_RTOL, RANDOM_RTOL)
    assert isinstance(gm.weight, gt.nn.Parameter)
    same_error(lambda lib: lib.nn.utils.remove_weight_norm(lib.nn.Linear(2, 2)))
    same_error(lambda lib: _quiet(lambda: lib.nn.utils.weight_norm(
        lib.nn.utils.weight_norm(lib.nn.Linear(2, 2)))))


def test_weight_norm_compiled_equals_eager():
    gm = _quiet(lambda: gt.nn.utils.weight_norm(gt.nn.Linear(4, 3)))
    x = gt.tensor(RNG.standard_normal((2, 4)).astype(np.float32))
    close(gt.compile(gm)(x), gm(x), 1e-5, 1e-6)


def test_parameters_to_vector_and_back():
    tm, gm = build(lambda lib: lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.Linear(4, 2)))
    tv = torch.nn.utils.parameters_to_vector(tm.parameters())
    gv = gt.nn.utils.parameters_to_vector(gm.parameters())
    close(gv, tv, RANDOM_RTOL, RANDOM_RTOL)
    (gv * gt.arange(gv.numel())).sum().backward()  # differentiable: a cat of views
    (tv * torch.arange(tv.numel())).sum().backward()
    for (name, p), q in zip(tm.named_parameters(), gm.parameters()):
        close(q.grad, p.grad, what=name)
    new = np.linspace(-1, 1, gv.numel()).astype(np.float32)
    torch.nn.utils.vector_to_parameters(torch.tensor(new), tm.parameters())
    vec = gt.tensor(new)
    gt.nn.utils.vector_to_parameters(vec, gm.parameters())
    same_state(gm, tm, exact=True)
    vec[0] = 5.0  # the parameters share the vector's memory, as in PyTorch
    assert float(gm[0].weight.detach()[0, 0]) == 5.0
    same_error(lambda lib: lib.nn.utils.vector_to_parameters([1.0], lib.nn.Linear(1, 1)
                                                            .parameters()))
