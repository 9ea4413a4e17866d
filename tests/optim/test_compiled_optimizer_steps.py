"""Compiled training steps with every optimizer stay compiled and follow eager.

A step (zero_grad, forward, loss, backward, ``opt.step()``) runs N times eagerly and through
`gt.compile` from the same seeded model and data: parameters agree after every step and the
compiled function built one graph (its first call runs eagerly when it creates the
optimizer's state), with no recompile and no other eager call. The step counter and
NAdam's/ASGD's 0-d state are graph values, RAdam's ``rho_t > 5`` and ASGD's ``mu != 1`` are
`where`s; lr, momentum, betas and weight_decay are graph inputs, so OneCycleLR and CyclicLR
with ``cycle_momentum`` never recompile. Optimizer state after compiled steps matches
PyTorch's (values, dtypes, keys) and loads into PyTorch.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

import graphtorch as gt

from .common import assert_state_dicts_match, initial_arrays, loss_arrays, loss_fn, make_params

torch = pytest.importorskip("torch")

STEPS = 10
RTOL, ATOL = 1e-5, 1e-6

# (optimizer, kwargs); each runs STEPS compiled steps against eager
CASES = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "dampening": 0.3, "maximize": True}),
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.02, "betas": (0.8, 0.99), "maximize": True}),
    ("AdamW", {"lr": 0.01}),
    ("AdamW", {"lr": 0.01, "amsgrad": True, "betas": (0.5, 0.9)}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.1}),
    ("Adadelta", {"lr": 1.0, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.5, "weight_decay": 0.01}),
    ("Rprop", {"lr": 0.01}),
    ("NAdam", {"lr": 0.01}),
    ("NAdam", {"lr": 0.01, "decoupled_weight_decay": True, "weight_decay": 0.1}),
    ("NAdam", {"lr": 0.02, "momentum_decay": 0.01, "weight_decay": 0.1, "maximize": True}),
    ("RAdam", {"lr": 0.01}),
    ("RAdam", {"lr": 0.05, "betas": (0.9, 0.9), "weight_decay": 0.1}),
    ("RAdam", {"lr": 0.02, "decoupled_weight_decay": True, "weight_decay": 0.1,
               "maximize": True}),
    ("Adamax", {"lr": 0.02}),
    ("Adamax", {"lr": 0.02, "betas": (0.8, 0.9), "weight_decay": 0.1}),
    ("ASGD", {"lr": 0.05}),
    ("ASGD", {"lr": 0.05, "t0": 3, "lambd": 0.01, "alpha": 0.5, "weight_decay": 0.1}),
]
IDS = [f"{name}-{i}" for i, (name, _) in enumerate(CASES)]


def _creates_state_at_first_step(name: str, kwargs: dict) -> bool:
    """Adagrad creates its state in __init__, SGD only keeps momentum buffers."""
    return not (name == "Adagrad" or (name == "SGD" and not kwargs.get("momentum")))


def _model():
    return gt.nn.Sequential(gt.nn.Linear(4, 8), gt.nn.Tanh(), gt.nn.Linear(8, 3))


def _run(name, kwargs, compiled, steps=STEPS, scheduler=None, between=None, seed=0):
    """Train `steps` steps; (per-step parameter arrays, optimizer, the step function)."""
    gt.manual_seed(seed)
    model = _model()
    opt = getattr(gt.optim, name)(model.parameters(), **kwargs)
    sched = scheduler(opt) if scheduler else None
    gt.manual_seed(seed + 1)
    batches = [(gt.randn(6, 4), gt.randn(6, 3)) for _ in range(steps)]

    def train_step(x, y):
        opt.zero_grad()
        loss = gt.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        return loss.detach()

    run = gt.compile(train_step) if compiled else train_step
    history = []
    for i, (x, y) in enumerate(batches):
        run(x, y)
        history.append([p.detach().numpy().copy() for p in model.parameters()])
        if sched is not None:
            sched.step()
        if between is not None:
            between(i, opt)
    return history, opt, run


def _assert_same_trajectory(eager, compiled, what=""):
    for step, (e, c) in enumerate(zip(eager, compiled)):
        for k, (a, b) in enumerate(zip(e, c)):
            np.testing.assert_allclose(b, a, rtol=RTOL, atol=ATOL,
                                       err_msg=f"{what} step {step} parameter {k}")


def _assert_one_graph(run, eager_first: bool):
    stats = run.stats
    assert stats.graph_breaks == [], stats.graph_breaks
    assert stats.recompiles == [], [(r.guard, r.old, r.new) for r in stats.recompiles]
    assert stats.compiles == 1
    assert stats.eager_calls == (1 if eager_first else 0)


@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_compiled_steps_equal_eager_with_one_graph(name, kwargs):
    eager, opt_e, _ = _run(name, kwargs, compiled=False)
    compiled, opt_c, run = _run(name, kwargs, compiled=True)
    _assert_same_trajectory(eager, compiled, name)
    _assert_one_graph(run, _creates_state_at_first_step(name, kwargs))
    for p_e, p_c in zip(opt_e.state.values(), opt_c.state.values()):
        assert list(p_e) == list(p_c)
        for key in p_e:
            assert p_e[key].dtype == p_c[key].dtype, key
            np.testing.assert_allclose(p_c[key].numpy(), p_e[key].numpy(), rtol=RTOL,
                                       atol=ATOL, err_msg=key)


def _rho_t(beta2: float, step: int) -> float:
    rho_inf = 2 / (1 - beta2) - 1
    return rho_inf - 2 * step * beta2 ** step / (1 - beta2 ** step)


@pytest.mark.parametrize("beta2", [0.999, 0.9])
def test_radam_graph_traced_before_rho_t_exceeds_5_serves_the_later_steps(beta2):
    # the graph is traced at step 2, where eager takes the unrectified branch; the steps
    # after rho_t > 5 must take the rectified one from the same graph
    assert _rho_t(beta2, 2) <= 5.0 < _rho_t(beta2, STEPS)
    kwargs = {"lr": 0.05, "betas": (0.9, beta2)}
    eager, _, _ = _run("RAdam", kwargs, compiled=False)
    compiled, _, run = _run("RAdam", kwargs, compiled=True)
    _assert_same_trajectory(eager, compiled, "RAdam")
    _assert_one_graph(run, True)


def test_asgd_averaging_switches_on_inside_one_graph():
    # t0=3: mu is 1 (ax copies the parameter) until step 4, then averages
    kwargs = {"lr": 0.05, "t0": 3, "lambd": 0.01}
    eager, opt_e, _ = _run("ASGD", kwargs, compiled=False)
    compiled, opt_c, run = _run("ASGD", kwargs, compiled=True)
    _assert_same_trajectory(eager, compiled, "ASGD")
    _assert_one_graph(run, True)
    for s_e, s_c in zip(opt_e.state.values(), opt_c.state.values()):
        assert float(s_c["mu"]) == pytest.approx(float(s_e["mu"])) != 1.0
        np.testing.assert_allclose(s_c["ax"].numpy(), s_e["ax"].numpy(), rtol=RTOL, atol=ATOL)


def test_lbfgs_runs_eagerly_with_a_logged_reason():
    """LBFGS's loop reads loss values and tolerances as Python numbers (data-dependent
    control flow, as in PyTorch): its step is a graph break, run eagerly, never wrong."""
    results = []
    for compiled in (False, True):
        gt.manual_seed(0)
        model = _model()
        opt = gt.optim.LBFGS(model.parameters(), lr=0.5, max_iter=4)
        x, y = gt.randn(6, 4), gt.randn(6, 3)

        def train_step():
            def closure():
                opt.zero_grad()
                loss = gt.nn.functional.mse_loss(model(x), y)
                loss.backward()
                return loss
            return opt.step(closure)

        run = gt.compile(train_step) if compiled else train_step
        losses = [float(run().detach()) for _ in range(3)]
        results.append((losses, [p.detach().numpy().copy() for p in model.parameters()]))
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=RTOL)
    _assert_same_trajectory([results[0][1]], [results[1][1]], "LBFGS")
    assert run.stats.compiles == 0 and run.stats.graph_breaks


S = gt.optim.lr_scheduler
SCHEDULED = [  # (optimizer, kwargs, scheduler): momentum or betas[0] change every step
    ("SGD", {"lr": 0.1, "momentum": 0.9},
     lambda o: S.OneCycleLR(o, max_lr=0.1, total_steps=STEPS + 1)),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
     lambda o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=3)),
    ("Adam", {"lr": 0.01}, lambda o: S.OneCycleLR(o, max_lr=0.05, total_steps=STEPS + 1)),
    ("AdamW", {"lr": 0.01, "amsgrad": True},
     lambda o: S.CyclicLR(o, base_lr=0.001, max_lr=0.02, step_size_up=2)),
    ("NAdam", {"lr": 0.01}, lambda o: S.OneCycleLR(o, max_lr=0.05, total_steps=STEPS + 1)),
    ("RAdam", {"lr": 0.01}, lambda o: S.OneCycleLR(o, max_lr=0.05, total_steps=STEPS + 1,
                                                   anneal_strategy="linear")),
    ("Adamax", {"lr": 0.01}, lambda o: S.CyclicLR(o, base_lr=0.001, max_lr=0.02,
                                                  step_size_up=2, mode="triangular2")),
    ("RMSprop", {"lr": 0.01, "momentum": 0.5},
     lambda o: S.OneCycleLR(o, max_lr=0.05, total_steps=STEPS + 1, three_phase=True)),
]


@pytest.mark.parametrize("name,kwargs,scheduler", SCHEDULED,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(SCHEDULED)])
def test_cycled_momentum_and_betas_do_not_recompile(name, kwargs, scheduler):
    eager, opt_e, _ = _run(name, kwargs, compiled=False, scheduler=scheduler)
    compiled, opt_c, run = _run(name, kwargs, compiled=True, scheduler=scheduler)
    _assert_same_trajectory(eager, compiled, name)
    _assert_one_graph(run, True)
    key = "betas" if "betas" in opt_c.defaults else "momentum"
    assert opt_c.param_groups[0][key] == opt_e.param_groups[0][key]
    assert opt_c.param_groups[0][key] != opt_c.defaults[key]  # the scheduler changed it


def test_weight_decay_changed_every_step_does_not_recompile():
    def decay(step, opt):
        opt.param_groups[0]["weight_decay"] = 0.1 * 0.7 ** (step + 1)

    for name in ("SGD", "Adam", "RAdam"):
        kwargs = {"lr": 0.05, "weight_decay": 0.1, **({"momentum": 0.9} if name == "SGD"
                                                        else {})}
        eager, _, _ = _run(name, kwargs, compiled=False, between=decay)
        compiled, _, run = _run(name, kwargs, compiled=True, between=decay)
        _assert_same_trajectory(eager, compiled, name)
        _assert_one_graph(run, True)


@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_compiled_steps_match_pytorch_and_its_state_dict_format(name, kwargs):
    """The functional loss of tests/optim (float32 parameters of three shapes, one 0-d):
    PyTorch's steps eagerly, graphtorch's compiled; parameters and state dicts agree (step
    and 0-d state stay tensors of PyTorch's dtype), and PyTorch loads graphtorch's."""
    arrays, consts = initial_arrays("float32"), loss_arrays("float32")
    dicts, finals = [], []
    for lib in (torch, gt):
        params = make_params(lib, arrays)
        opt = getattr(lib.optim, name)(params, **kwargs)

        def train_step():
            opt.zero_grad()
            loss_fn(lib, params, consts).backward()
            opt.step()

        run = gt.compile(train_step) if lib is gt else train_step
        for _ in range(STEPS):
            run()
        dicts.append(opt.state_dict())
        finals.append([p.detach().numpy().copy() for p in params])
    _assert_one_graph(run, _creates_state_at_first_step(name, kwargs))
    for k, (a, b) in enumerate(zip(*finals)):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-5, err_msg=f"parameter {k}")
    assert_state_dicts_match(dicts[0], dicts[1], 1e-5)
    state = {i: {k: torch.tensor(v.numpy()) if isinstance(v, gt.Tensor) else v
                 for k, v in s.items()} for i, s in dicts[1]["state"].items()}
    reloaded = getattr(torch.optim, name)(make_params(torch, arrays), **kwargs)
    reloaded.load_state_dict({"state": state, "param_groups": dicts[1]["param_groups"]})
    assert_state_dicts_match(reloaded.state_dict(), dicts[1], 0.0)


# --- randomised: optimizer, hyper-parameters and scheduler drawn per seed ------------------

CHOICES = {
    "SGD": {"lr": [0.05, 0.1], "momentum": [0.0, 0.5, 0.9], "weight_decay": [0, 0.01],
            "maximize": [False, True]},
    "Adam": {"lr": [0.01, 0.02], "betas": [(0.9, 0.999), (0.8, 0.9)], "amsgrad": [False, True],
             "weight_decay": [0, 0.1]},
    "AdamW": {"lr": [0.01], "amsgrad": [False, True], "weight_decay": [0.0, 0.05]},
    "RMSprop": {"lr": [0.01], "momentum": [0, 0.5], "centered": [False, True]},
    "NAdam": {"lr": [0.01, 0.02], "decoupled_weight_decay": [False, True],
              "weight_decay": [0, 0.1]},
    "RAdam": {"lr": [0.01, 0.05], "betas": [(0.9, 0.999), (0.9, 0.9)],
              "weight_decay": [0, 0.1], "maximize": [False, True]},
    "Adamax": {"lr": [0.02], "betas": [(0.9, 0.999), (0.8, 0.9)], "weight_decay": [0, 0.1]},
    "ASGD": {"lr": [0.05], "t0": [1e6, 2], "lambd": [1e-4, 0.01], "weight_decay": [0, 0.1]},
    "Adagrad": {"lr": [0.1], "lr_decay": [0, 0.01]},
    "Adadelta": {"lr": [1.0, 0.5], "weight_decay": [0, 0.1]},
    "Rprop": {"lr": [0.01, 0.05]},
}
MOMENTUM_FREE = ("Adagrad", "Adadelta", "ASGD", "Rprop")


def _draw(rng: random.Random):
    name = rng.choice(sorted(CHOICES))
    kwargs = {k: rng.choice(v) for k, v in CHOICES[name].items()}
    if name == "SGD" and kwargs["momentum"] == 0.0 and rng.random() < 0.5:
        kwargs["momentum"] = 0.9  # a cycled momentum needs one
    kind = rng.choice(["none", "StepLR", "CosineAnnealingLR", "OneCycleLR", "CyclicLR"])
    step_size_up = rng.choice([2, 3])
    # cycle momentum where the optimizer has some (or betas)
    cycle = name not in MOMENTUM_FREE and kwargs.get("momentum", 1) > 0
    makers = {
        "none": None,
        "StepLR": lambda o: S.StepLR(o, step_size=2, gamma=0.7),
        "CosineAnnealingLR": lambda o: S.CosineAnnealingLR(o, T_max=STEPS),
        "OneCycleLR": lambda o: S.OneCycleLR(o, max_lr=kwargs["lr"] * 2,
                                             total_steps=STEPS + 1, cycle_momentum=cycle),
        "CyclicLR": lambda o: S.CyclicLR(o, base_lr=kwargs["lr"] / 4, max_lr=kwargs["lr"],
                                         step_size_up=step_size_up, cycle_momentum=cycle),
    }
    return name, kwargs, kind, makers[kind]


@pytest.mark.parametrize("seed", range(24))
def test_random_optimizer_hyperparameters_and_scheduler(seed):
    name, kwargs, kind, scheduler = _draw(random.Random(seed))
    what = f"seed {seed}: {name}({kwargs}) with {kind}"
    eager, _, _ = _run(name, kwargs, compiled=False, scheduler=scheduler, seed=seed)
    compiled, _, run = _run(name, kwargs, compiled=True, scheduler=scheduler, seed=seed)
    _assert_same_trajectory(eager, compiled, what)
    _assert_one_graph(run, _creates_state_at_first_step(name, kwargs))
