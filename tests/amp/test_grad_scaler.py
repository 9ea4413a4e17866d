"""`gt.amp.GradScaler` against `torch.amp.GradScaler` on the CPU: scale, unscale_, step
(skipped on inf/NaN gradients), update (backoff and growth), state_dict, the disabled
scaler, and PyTorch's errors."""

from __future__ import annotations

import warnings

import pytest

from tests.autograd.diff import raises_like_torch, same


def _train(T, bad_steps, scaler_factory, unscale=True, clip=False):
    T.manual_seed(0)
    m = T.nn.Linear(3, 1)
    opt = T.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    scaler = scaler_factory(T)
    log = []
    for i in range(7):
        opt.zero_grad()
        x = T.randn(4, 3)
        if i in bad_steps:
            x[0, 0] = float("inf") if i % 2 else float("nan")
        loss = m(x).pow(2).mean()
        scaler.scale(loss).backward()
        if unscale:
            scaler.unscale_(opt)
            if clip:
                T.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        ret = scaler.step(opt)
        scaler.update()
        log.append((scaler.get_scale(), ret, scaler._get_growth_tracker()))
    return log, m.weight.detach().clone(), m.bias.detach().clone(), scaler.state_dict(), \
        scaler.is_enabled()


@pytest.mark.parametrize("unscale,clip", [(True, False), (False, False), (True, True)])
def test_training_like_torch(unscale, clip):
    same(lambda T: _train(T, {2, 3}, lambda T: T.amp.GradScaler("cpu", init_scale=8.0,
                                                                growth_interval=2),
                          unscale, clip), atol=1e-6, rtol=1e-6)


def test_disabled_and_cuda_scalers_like_torch():
    def program(T):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            r1 = _train(T, {2}, lambda T: T.amp.GradScaler("cpu", enabled=False))
            r2 = _train(T, {2}, lambda T: T.cuda.amp.GradScaler())
            r3 = _train(T, set(), lambda T: T.amp.GradScaler())
        return r1, r2, r3, sorted({(c.category.__name__, str(c.message)) for c in caught})

    same(program, atol=1e-6, rtol=1e-6)


def test_state_dict_round_trip_like_torch():
    def program(T):
        s = T.amp.GradScaler("cpu", init_scale=4.0)
        s.load_state_dict({"scale": 2.0, "growth_factor": 3.0, "backoff_factor": 0.25,
                           "growth_interval": 5, "_growth_tracker": 1})
        s.scale(T.ones(1))
        s.update(new_scale=16.0)
        out = [s.state_dict(), s.get_growth_factor(), s.get_backoff_factor()]
        s.update(T.tensor(32.0))
        return out + [s.get_scale()]

    same(program)


@pytest.mark.parametrize("case", ["unscale_twice", "unscale_after_step", "step_twice",
                                  "no_scale", "update_without_step", "closure", "fp16_grads",
                                  "bad_growth", "empty_state", "bad_new_scale"])
def test_errors_like_torch(case):
    def program(T):
        m = T.nn.Linear(2, 1)
        opt = T.optim.SGD(m.parameters(), lr=0.1)
        s = T.amp.GradScaler("cpu")
        if case == "bad_growth":
            return T.amp.GradScaler("cpu", growth_factor=0.5)
        if case == "empty_state":
            return s.load_state_dict({})
        if case == "no_scale":
            return s.step(opt)
        loss = s.scale(m(T.ones(2)).sum())
        loss.backward()
        if case == "unscale_twice":
            s.unscale_(opt)
            return s.unscale_(opt)
        if case == "unscale_after_step":
            s.step(opt)
            return s.unscale_(opt)
        if case == "step_twice":
            s.step(opt)
            return s.step(opt)
        if case == "update_without_step":
            return s.update()
        if case == "closure":
            return s.step(opt, closure=lambda: None)
        if case == "bad_new_scale":
            s.step(opt)
            return s.update(T.ones(2))
        m.weight.grad = m.weight.grad.half()
        return s.unscale_(opt)

    raises_like_torch(program)
