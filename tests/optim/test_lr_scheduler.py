"""Learning-rate schedulers: lr sequences over 30 steps equal PyTorch's (exactly: both do
the same Python float arithmetic), state_dict contents and round trips, the step-order
warning, and seed note 002's lr plot loop."""

from __future__ import annotations

import copy
import math
import warnings

import pytest

import graphtorch as gt

torch = pytest.importorskip("torch")

STEPS = 30


def _optimizer(lib, name="SGD", lrs=(0.1, 0.03), **kwargs):
    groups = [{"params": [lib.tensor([float(i)], requires_grad=True)], "lr": lr}
              for i, lr in enumerate(lrs)]
    opt = getattr(lib.optim, name)(groups, **kwargs)
    for group in opt.param_groups:
        for p in group["params"]:
            p.grad = lib.ones_like(p)
    return opt


SCHEDULERS = {
    "StepLR": lambda S, o: S.StepLR(o, step_size=7, gamma=0.5),
    "StepLR_default_gamma": lambda S, o: S.StepLR(o, 3),
    "MultiStepLR": lambda S, o: S.MultiStepLR(o, milestones=[3, 8, 8, 20], gamma=0.3),
    "ExponentialLR": lambda S, o: S.ExponentialLR(o, gamma=0.96),
    "CosineAnnealingLR": lambda S, o: S.CosineAnnealingLR(o, T_max=10),
    "CosineAnnealingLR_eta_min": lambda S, o: S.CosineAnnealingLR(o, T_max=7, eta_min=0.01),
    "LambdaLR": lambda S, o: S.LambdaLR(o, lr_lambda=lambda e: 0.95 ** e),
    "LambdaLR_per_group": lambda S, o: S.LambdaLR(o, [lambda e: 1 / (e + 1),
                                                      lambda e: max(0.1, 1 - e / 20)]),
    "MultiplicativeLR": lambda S, o: S.MultiplicativeLR(o, lambda e: 0.9),
    "ConstantLR": lambda S, o: S.ConstantLR(o, factor=0.5, total_iters=4),
    "LinearLR": lambda S, o: S.LinearLR(o, start_factor=0.2, end_factor=0.9, total_iters=10),
    "PolynomialLR": lambda S, o: S.PolynomialLR(o, total_iters=20, power=2.0),
    "CosineAnnealingWarmRestarts": lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=5,
                                                                              T_mult=2),
    "CyclicLR": lambda S, o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4,
                                        mode="triangular2"),
    "CyclicLR_exp": lambda S, o: S.CyclicLR(o, base_lr=[0.01, 0.02], max_lr=0.2,
                                            step_size_up=3, step_size_down=5,
                                            mode="exp_range", gamma=0.97),
    "OneCycleLR": lambda S, o: S.OneCycleLR(o, max_lr=0.5, total_steps=STEPS + 1),
    "OneCycleLR_3phase": lambda S, o: S.OneCycleLR(o, max_lr=[0.5, 0.2], epochs=4,
                                                   steps_per_epoch=8, three_phase=True,
                                                   anneal_strategy="linear"),
    "SequentialLR": lambda S, o: S.SequentialLR(
        o, [S.LinearLR(o, start_factor=0.1, total_iters=5), S.ExponentialLR(o, gamma=0.9)],
        milestones=[5]),
    "ChainedScheduler": lambda S, o: S.ChainedScheduler(
        [S.ConstantLR(o, factor=0.5, total_iters=3), S.ExponentialLR(o, gamma=0.9)]),
}
ADAM_SCHEDULERS = {"CyclicLR", "OneCycleLR"}


def _run(lib, name, steps=STEPS):
    opt_name = "Adam" if name in ADAM_SCHEDULERS else "SGD"
    kwargs = {} if opt_name == "Adam" else {"momentum": 0.9}
    opt = _optimizer(lib, opt_name, **kwargs)
    sched = SCHEDULERS[name](lib.optim.lr_scheduler, opt)
    seq = [(sched.get_last_lr(), [g["lr"] for g in opt.param_groups])]
    for _ in range(steps):
        opt.step()
        sched.step()
        seq.append((list(sched.get_last_lr()), [g["lr"] for g in opt.param_groups],
                    [g.get("momentum", g.get("betas")) for g in opt.param_groups]))
    return seq, opt, sched


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_lr_sequence_matches_pytorch(name):
    seq_t, opt_t, sched_t = _run(torch, name)
    seq_g, opt_g, sched_g = _run(gt, name)
    assert seq_g == seq_t
    assert opt_g.state_dict()["param_groups"] == opt_t.state_dict()["param_groups"]
    assert _comparable(sched_g.state_dict()) == _comparable(sched_t.state_dict())


def _comparable(state):
    """A scheduler state dict with functions and nested lists made comparable."""
    out = {}
    for k, v in state.items():
        if k == "_scale_fn_ref":
            continue
        if callable(v) and not isinstance(v, type):
            v = "<fn>"
        elif k == "_schedulers":
            v = [_comparable(s) for s in v]
        out[k] = v
    return out


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_state_dict_round_trip(name):
    """Save scheduler + optimizer after 10 steps, load into fresh ones, continue equally."""
    _, opt, sched = _run(gt, name, steps=10)
    sched_sd = copy.deepcopy(sched.state_dict())
    opt_sd = copy.deepcopy(opt.state_dict())
    opt2_name = "Adam" if name in ADAM_SCHEDULERS else "SGD"
    opt2 = _optimizer(gt, opt2_name, **({} if opt2_name == "Adam" else {"momentum": 0.9}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a fresh scheduler, stepped once
        sched2 = SCHEDULERS[name](gt.optim.lr_scheduler, opt2)
    sched2.load_state_dict(sched_sd)
    opt2.load_state_dict(opt_sd)
    for _ in range(10):
        opt.step()
        sched.step()
        opt2.step()
        sched2.step()
        assert sched2.get_last_lr() == sched.get_last_lr()
        assert [g["lr"] for g in opt2.param_groups] == [g["lr"] for g in opt.param_groups]


def test_seed_002_lr_plot_loop():
    """Note 002 steps the scheduler without optimizer.step(): PyTorch warns, and so do we."""
    histories = []
    for lib in (torch, gt):
        for make in (lambda o: lib.optim.lr_scheduler.ExponentialLR(o, gamma=0.96),
                     lambda o: lib.optim.lr_scheduler.StepLR(o, step_size=20, gamma=0.5)):
            p = lib.tensor([1.0, 2.0], requires_grad=True)
            optimizer = lib.optim.Adam([p], lr=0.1)
            scheduler = make(optimizer)
            lr_history = []
            with pytest.warns(UserWarning, match="Detected call of `lr_scheduler.step"):
                for i in range(100):
                    scheduler.step()
                    lr_history.append(optimizer.state_dict()["param_groups"][0]["lr"])
            histories.append(lr_history)
    assert histories[2:] == histories[:2]
    assert histories[2][0] == 0.1 * 0.96 and histories[3][19] == 0.05


def test_no_warning_when_optimizer_steps_first():
    opt = _optimizer(gt)
    sched = gt.optim.lr_scheduler.StepLR(opt, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.step()
        sched.step()


def test_epoch_argument_uses_closed_form_and_warns():
    out = []
    for lib in (torch, gt):
        opt = _optimizer(lib)
        sched = lib.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)
        opt.step()
        with pytest.warns(UserWarning, match="The epoch parameter"):
            sched.step(7)
        out.append(sched.get_last_lr())
    assert out[0] == out[1]


def test_initial_lr_and_resume_errors():
    for lib in (torch, gt):
        opt = _optimizer(lib)
        with pytest.raises(KeyError, match="initial_lr"):
            lib.optim.lr_scheduler.StepLR(opt, 3, last_epoch=4)
        lib.optim.lr_scheduler.StepLR(opt, 3)
        assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.03]
        with pytest.raises(TypeError, match="is not an Optimizer"):
            lib.optim.lr_scheduler.ExponentialLR(object(), 0.9)


def test_get_lr_outside_step_warns():
    sched = gt.optim.lr_scheduler.StepLR(_optimizer(gt), 3)
    with pytest.warns(UserWarning, match="please use `get_last_lr\\(\\)`"):
        sched.get_lr()


PLATEAU_CONFIGS = [
    {},
    {"mode": "min", "factor": 0.5, "patience": 2, "threshold": 0.01},
    {"mode": "min", "factor": 0.5, "patience": 1, "threshold": 0.05, "threshold_mode": "abs",
     "cooldown": 2},
    {"mode": "max", "factor": 0.3, "patience": 0, "min_lr": [0.004, 0.005]},
    {"mode": "max", "patience": 2, "threshold_mode": "abs", "threshold": 0.1, "min_lr": 1e-3,
     "eps": 1e-2},
]
METRICS = [1.0, 0.9, 0.91, 0.9, 0.95, 0.89, 0.899, 0.9, 0.9, 0.7, 0.71, 0.72, 0.73, 0.74,
           0.6, 0.6, 0.6, 0.6, 0.65, 0.5, 0.55, 0.55, 0.55, 0.55, 0.56, 0.4, 0.4, 0.45, 0.45,
           0.45, 0.3] + [0.9] * 14


@pytest.mark.parametrize("config", PLATEAU_CONFIGS, ids=[str(i) for i in range(5)])
def test_reduce_lr_on_plateau(config):
    runs = []
    for lib in (torch, gt):
        opt = _optimizer(lib)
        sched = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, **config)
        seq = []
        for i, m in enumerate(METRICS):
            opt.step()
            sched.step(lib.tensor(m) if i % 2 else m)
            seq.append((sched.get_last_lr(), [g["lr"] for g in opt.param_groups],
                        sched.num_bad_epochs, sched.cooldown_counter, sched.best))
        runs.append((seq, sched.state_dict()))
    assert runs[1][0] == runs[0][0]
    assert runs[1][1] == runs[0][1]
    assert any(s[1] != [0.1, 0.03] for s in runs[1][0])  # the lr was reduced at least once


def test_reduce_lr_on_plateau_round_trip_and_errors():
    opt = _optimizer(gt)
    sched = gt.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=1, mode="max")
    for m in METRICS[:10]:
        sched.step(m)
    opt2 = _optimizer(gt)
    opt2.load_state_dict(copy.deepcopy(opt.state_dict()))
    sched2 = gt.optim.lr_scheduler.ReduceLROnPlateau(opt2)
    sched2.load_state_dict(copy.deepcopy(sched.state_dict()))
    for m in METRICS[10:]:
        sched.step(m)
        sched2.step(m)
        assert sched2.get_last_lr() == sched.get_last_lr()
    for lib in (torch, gt):
        S = lib.optim.lr_scheduler
        with pytest.raises(ValueError, match="Factor should be < 1.0."):
            S.ReduceLROnPlateau(_optimizer(lib), factor=1.0)
        with pytest.raises(ValueError, match="mode max2 is unknown!"):
            S.ReduceLROnPlateau(_optimizer(lib), mode="max2")
        with pytest.raises(ValueError, match="expected 2 min_lrs, got 1"):
            S.ReduceLROnPlateau(_optimizer(lib), min_lr=[0.1])
        with pytest.raises(TypeError, match="verbose"):  # removed in PyTorch 2.13
            S.ReduceLROnPlateau(_optimizer(lib), verbose=True)


def test_cosine_recursive_form_tracks_external_lr_changes():
    """The recursive form continues from the current lr, as PyTorch's does."""
    out = []
    for lib in (torch, gt):
        opt = _optimizer(lib)
        sched = lib.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=6)
        lrs = []
        for i in range(15):
            opt.step()
            if i == 4:
                opt.param_groups[0]["lr"] *= 0.5
            sched.step()
            lrs.append(sched.get_last_lr())
        out.append(lrs)
    assert out[0] == out[1]
    assert not math.isnan(out[1][-1][0])
