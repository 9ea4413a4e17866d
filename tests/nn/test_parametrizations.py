"""nn.utils.parametrizations (orthogonal, weight_norm, spectral_norm) against PyTorch:
seeded values, state_dict keys, gradients, SGD training steps, assignment through
right_inverse, loading the hook-based weight_norm's keys, errors, and compiled training
against eager (spectral_norm's in-place power iteration included)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import graphtorch as gt

from . import build, close, npy, same_error, same_state, torch

RNG = np.random.default_rng(7)


def _train(lib, model, x, steps, lr=0.05):
    opt = lib.optim.SGD(model.parameters(), lr=lr)
    outs = []
    for _ in range(steps):
        opt.zero_grad()
        out = model(lib.tensor(x))
        (out ** 2).sum().backward()
        opt.step()
        outs.append(out.detach())
    return outs


def _orthogonal(shape, **kwargs):
    def ctor(lib):
        return lib.nn.utils.parametrizations.orthogonal(lib.nn.Linear(*shape), **kwargs)
    return ctor


ORTHOGONAL = {
    "matrix_exp_square": _orthogonal((5, 5)),
    "cayley_square": _orthogonal((4, 4), orthogonal_map="cayley"),
    "householder_tall": _orthogonal((3, 6)),
    "householder_wide": _orthogonal((6, 3)),
    "matrix_exp_wide": _orthogonal((6, 3), orthogonal_map="matrix_exp"),
    "cayley_tall": _orthogonal((3, 5), orthogonal_map="cayley"),
    "householder_no_trivialization": _orthogonal((3, 6), use_trivialization=False),
    "householder_square_no_trivialization": _orthogonal((4, 4), orthogonal_map="householder",
                                                        use_trivialization=False),
}


@pytest.mark.parametrize("case", ORTHOGONAL)
def test_orthogonal_matches_and_stays_orthogonal(case):
    tm, gm = build(ORTHOGONAL[case], seed=3)
    assert list(gm.state_dict()) == list(tm.state_dict())
    assert repr(gm) == repr(tm)
    close(gm.weight, tm.weight, 1e-4, 1e-5, "initial orthogonal weight")
    x = RNG.standard_normal((2, gm.in_features)).astype(np.float32)
    for step, (g, t) in enumerate(zip(_train(gt, gm, x, 3), _train(torch, tm, x, 3))):
        close(g, t, 1e-4, 1e-5, f"output of step {step}")
    W = npy(gm.weight)
    Q = W if W.shape[0] >= W.shape[1] else W.T
    np.testing.assert_allclose(Q.T @ Q, np.eye(Q.shape[1]), atol=1e-5)
    close(gm.weight, tm.weight, 1e-4, 1e-5, "trained weight")


def test_orthogonal_assignment_sets_base():
    tm, gm = build(ORTHOGONAL["matrix_exp_square"], seed=3)
    value = RNG.standard_normal((5, 5)).astype(np.float32)
    for lib, m in ((gt, gm), (torch, tm)):
        m.weight = lib.tensor(value)
    close(gm.parametrizations.weight[0].base, tm.parametrizations.weight[0].base, 1e-4, 1e-5)
    close(gm.weight, tm.weight, 1e-4, 1e-5)


def test_orthogonal_float64_gradient():
    tm, gm = build(lambda lib: lib.nn.utils.parametrizations.orthogonal(
        lib.nn.Linear(5, 5, dtype=lib.float64)), seed=1)
    x = RNG.standard_normal((3, 5))
    for lib, m in ((gt, gm), (torch, tm)):
        (m(lib.tensor(x)) ** 3).sum().backward()
    close(gm.parametrizations.weight.original.grad, tm.parametrizations.weight.original.grad,
          1e-9, 1e-10)


def test_orthogonal_errors():
    same_error(lambda lib: lib.nn.utils.parametrizations.orthogonal(lib.nn.Linear(3, 3),
                                                                    orthogonal_map="qr"))
    same_error(lambda lib: lib.nn.utils.parametrizations.orthogonal(lib.nn.Linear(3, 3),
                                                                    name="bias"))
    same_error(lambda lib: lib.nn.utils.parametrizations.orthogonal(lib.nn.Linear(3, 3), "x"))


WEIGHT_NORM = [
    lambda lib: lib.nn.utils.parametrizations.weight_norm(lib.nn.Linear(5, 4)),
    lambda lib: lib.nn.utils.parametrizations.weight_norm(lib.nn.Conv2d(2, 3, 3), dim=1),
    lambda lib: lib.nn.utils.parametrizations.weight_norm(lib.nn.Linear(5, 4), dim=None),
]
INPUTS = [(3, 5), (2, 2, 5, 5), (3, 5)]


@pytest.mark.parametrize("case", range(len(WEIGHT_NORM)))
def test_weight_norm_matches(case):
    tm, gm = build(WEIGHT_NORM[case], seed=2)
    same_state(gm, tm, exact=False)
    assert list(gm.state_dict()) == list(tm.state_dict())
    assert "parametrizations.weight.original0" in gm.state_dict()
    x = RNG.standard_normal(INPUTS[case]).astype(np.float32)
    for step, (g, t) in enumerate(zip(_train(gt, gm, x, 3), _train(torch, tm, x, 3))):
        close(g, t, 1e-4, 1e-5, f"output of step {step}")
    same_state(gm, tm, exact=False, what="after training")


def test_weight_norm_loads_hook_based_state_dict():
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        old = torch.nn.utils.weight_norm(torch.nn.Linear(4, 3))
    gm = gt.nn.utils.parametrizations.weight_norm(gt.nn.Linear(4, 3))
    gm.load_state_dict({k: gt.tensor(npy(v)) for k, v in old.state_dict().items()})
    close(gm.weight, old.weight, 1e-6, 1e-7)


SPECTRAL = [
    lambda lib: lib.nn.utils.parametrizations.spectral_norm(lib.nn.Linear(5, 4)),
    lambda lib: lib.nn.utils.parametrizations.spectral_norm(lib.nn.Conv2d(2, 3, 3),
                                                            n_power_iterations=2),
    lambda lib: lib.nn.utils.parametrizations.spectral_norm(lib.nn.ConvTranspose2d(2, 3, 3)),
]
SPECTRAL_INPUTS = [(3, 5), (2, 2, 5, 5), (2, 2, 4, 4)]


@pytest.mark.parametrize("case", range(len(SPECTRAL)))
def test_spectral_norm_matches(case):
    tm, gm = build(SPECTRAL[case], seed=4)
    same_state(gm, tm, exact=False, what="initial u, v and original")
    assert list(gm.state_dict()) == list(tm.state_dict())
    assert repr(gm) == repr(tm)
    x = RNG.standard_normal(SPECTRAL_INPUTS[case]).astype(np.float32)
    for step, (g, t) in enumerate(zip(_train(gt, gm, x, 3), _train(torch, tm, x, 3))):
        close(g, t, 1e-4, 1e-5, f"output of step {step}")
    same_state(gm, tm, exact=False, what="after training")
    tm.eval(), gm.eval()
    close(gm(gt.tensor(x)), tm(torch.tensor(x)), 1e-4, 1e-5, "eval output")


def test_spectral_norm_errors():
    same_error(lambda lib: lib.nn.utils.parametrizations.spectral_norm(
        lib.nn.Linear(2, 2), n_power_iterations=0))
    same_error(lambda lib: lib.nn.utils.parametrizations.spectral_norm(
        lib.nn.Linear(2, 2), dim=3))


def _step(model, opt, x):
    opt.zero_grad()
    loss = (model(x) ** 2).mean()
    loss.backward()
    opt.step()
    return loss


@pytest.mark.parametrize("ctor", [SPECTRAL[0], WEIGHT_NORM[0], ORTHOGONAL["householder_tall"],
                                  ORTHOGONAL["cayley_square"]],
                         ids=["spectral_norm", "weight_norm", "householder", "cayley"])
def test_compiled_training_matches_eager(ctor):
    def make():
        gt.manual_seed(0)
        model = ctor(gt)
        return model, gt.optim.SGD(model.parameters(), lr=0.05)

    x = gt.randn(3, make()[0].in_features)
    (eager, eager_opt), (compiled, compiled_opt) = make(), make()
    step = gt.compile(_step)
    for i in range(4):
        close(step(compiled, compiled_opt, x), _step(eager, eager_opt, x).detach(),
              1e-5, 1e-6, f"loss at step {i}")
    same_state(compiled, eager, exact=False, what="after compiled training")
    assert step.stats.compiles >= 1 and not step.stats.graph_breaks


def test_compiled_matrix_exp_breaks_with_reason():
    """The matrix exponential's squaring count reads a norm: a logged graph break whose
    results still equal eager's."""
    def make():
        gt.manual_seed(0)
        model = ORTHOGONAL["matrix_exp_square"](gt)
        return model, gt.optim.SGD(model.parameters(), lr=0.05)

    x = gt.randn(3, 5)
    (eager, eager_opt), (compiled, compiled_opt) = make(), make()
    step = gt.compile(_step)
    for i in range(3):
        close(step(compiled, compiled_opt, x), _step(eager, eager_opt, x).detach(),
              1e-5, 1e-6, f"loss at step {i}")
    same_state(compiled, eager, exact=False)
    assert any("needs the value of a tensor" in reason for reason in step.stats.graph_breaks)
