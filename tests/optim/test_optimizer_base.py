"""The Optimizer base: construction errors, param groups, zero_grad, state_dict layout,
hooks. Errors are compared with what PyTorch raises for the same call."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt

from .common import assert_close, to_numpy

torch = pytest.importorskip("torch")


def _outcome(fn):
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - the exception is what is compared
        return type(exc).__name__, str(exc).replace("graphtorch", "torch")
    return None


def _leaf(lib, values=(1.0, 2.0)):
    return lib.tensor(list(values), requires_grad=True)


ERROR_CASES = {
    "negative_lr": lambda lib: lib.optim.SGD([_leaf(lib)], lr=-1),
    "negative_lr_adam": lambda lib: lib.optim.Adam([_leaf(lib)], lr=-0.5),
    "empty": lambda lib: lib.optim.SGD([], lr=0.1),
    "single_tensor": lambda lib: lib.optim.SGD(_leaf(lib), lr=0.1),
    "set_of_params": lambda lib: lib.optim.SGD([{"params": {_leaf(lib)}}], lr=0.1),
    "not_a_tensor": lambda lib: lib.optim.SGD([1.0], lr=0.1),
    "non_leaf": lambda lib: lib.optim.SGD([_leaf(lib) * 2], lr=0.1),
    "nesterov": lambda lib: lib.optim.SGD([_leaf(lib)], lr=0.1, nesterov=True),
    "momentum": lambda lib: lib.optim.SGD([_leaf(lib)], momentum=-0.1),
    "weight_decay": lambda lib: lib.optim.SGD([_leaf(lib)], weight_decay=-1e-3),
    "beta0": lambda lib: lib.optim.Adam([_leaf(lib)], betas=(1.0, 0.999)),
    "beta1": lambda lib: lib.optim.AdamW([_leaf(lib)], betas=(0.9, -0.1)),
    "int_betas": lambda lib: lib.optim.Adam([_leaf(lib)], betas=(0, 0.9)),
    "eps": lambda lib: lib.optim.Adam([_leaf(lib)], eps=-1.0),
    "rho": lambda lib: lib.optim.Adadelta([_leaf(lib)], rho=1.5),
    "lr_decay": lambda lib: lib.optim.Adagrad([_leaf(lib)], lr_decay=-1),
    "initial_accumulator": lambda lib: lib.optim.Adagrad([_leaf(lib)],
                                                         initial_accumulator_value=-1),
    "alpha": lambda lib: lib.optim.RMSprop([_leaf(lib)], alpha=-0.5),
    "rms_momentum": lambda lib: lib.optim.RMSprop([_leaf(lib)], momentum=-0.5),
    "fused_foreach": lambda lib: lib.optim.Adam([_leaf(lib)], fused=True, foreach=True),
    "tensor_lr_size": lambda lib: lib.optim.SGD([_leaf(lib)], lr=lib.tensor([0.1, 0.2])),
    "mixed_names": lambda lib: lib.optim.SGD([("a", _leaf(lib)), _leaf(lib)], lr=0.1),
    "not_a_dict_group": lambda lib: lib.optim.SGD([_leaf(lib)]).add_param_group([1]),
    "bad_load_groups": lambda lib: lib.optim.SGD([_leaf(lib)]).load_state_dict(
        {"state": {}, "param_groups": []}),
    "bad_load_sizes": lambda lib: lib.optim.SGD([_leaf(lib)]).load_state_dict(
        {"state": {}, "param_groups": [{"lr": 0.1, "params": [0, 1]}]}),
}


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_errors_match_pytorch(case):
    expected = _outcome(lambda: ERROR_CASES[case](torch))
    assert expected is not None
    assert _outcome(lambda: ERROR_CASES[case](gt)) == expected


def test_parameter_in_two_groups():
    for lib in (torch, gt):
        p = _leaf(lib)
        with pytest.raises(ValueError, match="some parameters appear in more than one "
                                             "parameter group"):
            lib.optim.SGD([{"params": [p]}, {"params": [p], "lr": 0.5}], lr=0.1)
        opt = lib.optim.SGD([p], lr=0.1)
        with pytest.raises(ValueError, match="more than one parameter group"):
            opt.add_param_group({"params": p})


def test_duplicate_parameter_warns():
    for lib in (torch, gt):
        p = _leaf(lib)
        with pytest.warns(UserWarning, match="duplicate parameters"):
            lib.optim.SGD([p, p], lr=0.1)


def test_required_hyperparameter():
    from graphtorch.optim.optimizer import required

    class Custom(gt.optim.Optimizer):
        def __init__(self, params, lr=required):
            super().__init__(params, {"lr": lr})

    with pytest.raises(ValueError, match="required optimization parameter lr"):
        Custom([_leaf(gt)])
    assert Custom([{"params": [_leaf(gt)], "lr": 0.5}]).param_groups[0]["lr"] == 0.5


def _seed_002_groups(lib):
    """Seed note 002: weights decay 1e-5, biases not (named_parameters split by 'bias')."""
    rng = np.random.default_rng(0)
    named = [("fc1.weight", rng.normal(size=(3, 4))), ("fc1.bias", rng.normal(size=(3,))),
             ("fc2.weight", rng.normal(size=(2, 3))), ("fc2.bias", rng.normal(size=(2,)))]
    weight_p, bias_p = [], []
    for name, value in named:
        p = lib.tensor(value.astype(np.float32), requires_grad=True)
        if "bias" in name:
            bias_p += [p]
        else:
            weight_p += [p]
    optimizer = lib.optim.SGD([{"params": weight_p, "weight_decay": 1e-5},
                               {"params": bias_p, "weight_decay": 0}],
                              lr=1e-2, momentum=0.9)
    return weight_p + bias_p, optimizer


def test_seed_002_per_group_weight_decay():
    results = []
    for lib in (torch, gt):
        params, opt = _seed_002_groups(lib)
        for _ in range(4):
            opt.zero_grad()
            sum(((p - 0.3) ** 2).sum() * (i + 1) for i, p in enumerate(params)).backward()
            opt.step()
        results.append(([to_numpy(p) for p in params], opt.state_dict()))
    for a, b in zip(results[0][0], results[1][0]):
        assert_close(a, b, 1e-6)
    groups_t, groups_g = results[0][1]["param_groups"], results[1][1]["param_groups"]
    assert groups_t == groups_g
    assert [g["weight_decay"] for g in groups_g] == [1e-5, 0]
    assert [g["params"] for g in groups_g] == [[0, 1], [2, 3]]


def test_add_param_group_defaults_and_state_dict_indices():
    sds = []
    for lib in (torch, gt):
        a, b, c = _leaf(lib), _leaf(lib, (3.0,)), _leaf(lib, (4.0, 5.0, 6.0))
        opt = lib.optim.Adam([a, b], lr=0.01, betas=(0.8, 0.9))
        opt.add_param_group({"params": c, "lr": 0.5})
        for p in (a, b, c):
            p.grad = lib.ones_like(p)
        opt.step()
        sd = opt.state_dict()
        assert sd["state"][0] is opt.state[a]  # live dicts, as in PyTorch
        sds.append(sd)
    assert sds[0]["param_groups"] == sds[1]["param_groups"]
    assert list(sds[1]["state"]) == [0, 1, 2]


def test_named_parameters_are_recorded():
    for lib in (torch, gt):
        opt = lib.optim.SGD([("w", _leaf(lib)), ("b", _leaf(lib))], lr=0.1)
        assert opt.state_dict()["param_groups"][0]["param_names"] == ["w", "b"]


def test_zero_grad_set_to_none_default():
    for lib in (torch, gt):
        p, q = _leaf(lib), _leaf(lib)
        opt = lib.optim.SGD([p, q], lr=0.1)
        (p * q).sum().backward()
        opt.zero_grad()
        assert p.grad is None and q.grad is None


def test_zero_grad_in_place():
    for lib in (torch, gt):
        p = _leaf(lib)
        opt = lib.optim.SGD([p], lr=0.1)
        (p * p).sum().backward()
        grad = p.grad
        opt.zero_grad(set_to_none=False)
        assert p.grad is grad and p.grad.tolist() == [0.0, 0.0]
        (p * 3).sum().backward()
        assert p.grad.tolist() == [3.0, 3.0]


def test_zero_grad_detaches_grad_with_history():
    p = _leaf(gt)
    opt = gt.optim.SGD([p], lr=0.1)
    (p * p).sum().backward(create_graph=True)
    assert p.grad.grad_fn is not None
    opt.zero_grad(set_to_none=False)
    assert p.grad.grad_fn is None and not p.grad.requires_grad
    assert p.grad.tolist() == [0.0, 0.0]


def test_load_state_dict_shares_tensors_like_pytorch():
    """PyTorch's load_state_dict keeps same-dtype state tensors (no copy): so do we."""
    for lib in (torch, gt):
        p, q = _leaf(lib), _leaf(lib)
        p.grad = lib.ones_like(p)
        opt = lib.optim.Adam([p])
        opt.step()
        opt2 = lib.optim.Adam([q])
        opt2.load_state_dict(opt.state_dict())
        assert opt2.state[q]["exp_avg"] is opt.state[p]["exp_avg"]
        assert opt2.param_groups[0]["params"][0] is q


def test_load_state_dict_casts_to_param_dtype():
    p = _leaf(gt)
    p.grad = gt.ones_like(p)
    opt = gt.optim.Adam([p])
    opt.step()
    q = gt.tensor([1.0, 2.0], dtype=gt.float64, requires_grad=True)
    opt2 = gt.optim.Adam([q])
    opt2.load_state_dict(opt.state_dict())
    assert opt2.state[q]["exp_avg"].dtype is gt.float64
    assert opt2.state[q]["step"].dtype is gt.float32  # step keeps its dtype


def test_load_state_dict_with_numeric_step():
    """Old checkpoints stored `step` as a number: it becomes a tensor again."""
    p = _leaf(gt)
    opt = gt.optim.Adam([p])
    sd = {"state": {0: {"step": 3, "exp_avg": gt.zeros(2), "exp_avg_sq": gt.zeros(2)}},
          "param_groups": [dict(opt.state_dict()["param_groups"][0])]}
    opt.load_state_dict(sd)
    step = opt.state[p]["step"]
    assert isinstance(step, gt.Tensor) and step.item() == 3.0


def test_step_hooks_and_state_dict_hooks():
    p = _leaf(gt)
    p.grad = gt.ones_like(p)
    opt = gt.optim.SGD([p], lr=0.1)
    calls = []
    h1 = opt.register_step_pre_hook(lambda o, args, kwargs: calls.append("pre"))
    opt.register_step_post_hook(lambda o, args, kwargs: calls.append("post"))
    h3 = gt.optim.optimizer.register_optimizer_step_pre_hook(
        lambda o, args, kwargs: calls.append("global"))
    opt.register_state_dict_post_hook(lambda o, sd: {**sd, "extra": 1})
    opt.step()
    assert calls == ["global", "pre", "post"]
    h1.remove()
    h3.remove()
    opt.step()
    assert calls == ["global", "pre", "post", "post"]
    assert opt.state_dict()["extra"] == 1


def test_repr_matches_pytorch():
    reprs = []
    for lib in (torch, gt):
        opt = lib.optim.SGD([{"params": [_leaf(lib)]}, {"params": [_leaf(lib)], "lr": 0.5}],
                            lr=0.1, momentum=0.9)
        reprs.append(repr(opt))
    assert reprs[0] == reprs[1]


def test_adagrad_state_exists_before_first_step():
    sds = []
    for lib in (torch, gt):
        opt = lib.optim.Adagrad([_leaf(lib)], initial_accumulator_value=0.25)
        sds.append(opt.state_dict())
    assert sds[0]["param_groups"] == sds[1]["param_groups"]
    assert sds[1]["state"][0]["sum"].tolist() == [0.25, 0.25]
    assert sds[1]["state"][0]["step"].item() == 0.0


def test_tensor_lr():
    outs = []
    for lib in (torch, gt):
        p = _leaf(lib)
        opt = lib.optim.SGD([p], lr=lib.tensor(0.25), momentum=0.5)
        for _ in range(3):
            p.grad = lib.tensor([1.0, -2.0])
            opt.step()
        outs.append(to_numpy(p))
    assert_close(outs[0], outs[1], 1e-6)


def test_capturable_on_cpu_raises_like_pytorch():
    outcomes = []
    for lib in (torch, gt):
        p = _leaf(lib)
        p.grad = lib.ones_like(p)
        outcomes.append(_outcome(lambda: lib.optim.Adam([p], capturable=True).step()))
    assert outcomes[0] == outcomes[1]
