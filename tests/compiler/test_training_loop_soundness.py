"""Soundness of compiled modules in tutorial-style training loops (round 3).

Every test compares a compiled run with the same code run eagerly: losses, outputs,
gradients (including which stay None) and parameters after every step.

- A compiled call with several differentiable outputs has one backward node; a backward
  through some of its outputs (``a.backward(retain_graph=True); b.backward()``, backward
  through one head only, ``autograd.grad`` toward some inputs) must give exactly eager's
  gradients, leave eager's ``.grad`` None where eager does, and free (raise "a second
  time") exactly where eager does.
- ``copy.deepcopy`` (and pickling) of a compiled module after its first call.
- A randomised mix of training-loop events (train/eval, no_grad, freezing, optimizer and
  lr changes, state-dict loads, batch sizes, hooks, multi-task backward patterns, deep
  copies, gradient accumulation).
"""

from __future__ import annotations

import copy
import io
import random

import numpy as np
import pytest

import graphtorch as gt
import graphtorch.nn as nn

FREED = "Trying to backward through the graph a second time"


def _close(a, b, tol=1e-4):
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


class TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(4, 6)
        self.h1 = nn.Linear(6, 2)
        self.h2 = nn.Linear(6, 3)

    def forward(self, x):
        z = self.body(x).relu()
        return self.h1(z), self.h2(z)


def _grads(m):
    return {k: None if p.grad is None else p.grad.numpy().copy()
            for k, p in m.named_parameters()}


def _same_grads(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert (a[k] is None) == (b[k] is None), f"{k}: .grad None in one run only"
        if a[k] is not None:
            _close(a[k], b[k])


def _twin(seed=0):
    gt.manual_seed(seed)
    eager = TwoHeads()
    gt.manual_seed(seed)
    twin = TwoHeads()
    return eager, twin, gt.compile(twin)


# --- A: backward through some outputs of a compiled call --------------------------------

def test_backward_through_one_head_leaves_other_heads_grad_none():
    eager, twin, compiled = _twin()
    x = gt.randn(5, 4)
    for m, fn in ((eager, eager), (twin, compiled)):
        for _ in range(2):  # the second call runs the compiled variant
            m.zero_grad()
            _, b = fn(x)
            b.pow(2).sum().backward()
    _same_grads(_grads(eager), _grads(twin))
    assert twin.h1.weight.grad is None and twin.h2.weight.grad is not None


def test_each_output_backward_with_retain_graph_accumulates_as_eager():
    eager, twin, compiled = _twin()
    x = gt.randn(5, 4)
    logs = []
    for m, fn in ((eager, eager), (twin, compiled)):
        log = []
        for _ in range(3):
            a, b = fn(x)
            a.sum().backward(retain_graph=True)
            log.append(_grads(m))
            b.sum().backward(retain_graph=True)
            log.append(_grads(m))
            (a.sum() + b.sum()).backward()  # retained: the graph is still there
            log.append(_grads(m))
        logs.append(log)
    for e, c in zip(*logs):
        _same_grads(e, c)


def test_autograd_grad_on_each_output_separately():
    eager, twin, compiled = _twin()
    x = gt.randn(5, 4)
    results = []
    for m, fn in ((eager, eager), (twin, compiled)):
        out = []
        for _ in range(2):
            a, b = fn(x)
            ga = gt.autograd.grad(a.sum(), [m.body.weight, m.h1.weight], retain_graph=True)
            gb = gt.autograd.grad(b.sum(), [m.body.weight, m.h2.weight])
            out.append([g.numpy().copy() for g in (*ga, *gb)])
        results.append(out)
        assert all(p.grad is None for p in m.parameters())
    for e, c in zip(*results):
        for p, q in zip(e, c):
            _close(p, q)


def test_second_backward_without_retain_graph_raises_as_eager():
    eager, twin, compiled = _twin()
    x = gt.randn(5, 4)
    for fn in (eager, compiled, compiled):
        a, b = fn(x)
        a.sum().backward()
        with pytest.raises(RuntimeError, match=FREED):
            a.sum().backward()
        with pytest.raises(RuntimeError, match=FREED):  # shares the body's saved tensors
            b.sum().backward()


def test_independent_outputs_backward_one_after_the_other_without_retain_graph():
    # eager frees only the nodes a backward ran: outputs with separate histories can each
    # be differentiated once (the old compiled node raised on the second)
    def f(x, w1, w2):
        return (x * w1).sin(), (x * w2).tanh()

    compiled = gt.compile(f)
    x = gt.randn(3, 4)
    grads = []
    for fn in (f, compiled, compiled):
        gt.manual_seed(1)
        w1 = gt.randn(3, 4, requires_grad=True)
        w2 = gt.randn(3, 4, requires_grad=True)
        a, b = fn(x, w1, w2)
        a.sum().backward()
        assert w2.grad is None
        b.sum().backward()
        with pytest.raises(RuntimeError, match=FREED):
            b.sum().backward()
        grads.append((w1.grad.numpy().copy(), w2.grad.numpy().copy()))
    for g in grads[1:]:
        _close(g[0], grads[0][0])
        _close(g[1], grads[0][1])


def test_autograd_grad_toward_one_input_frees_only_that_path():
    def f(x, w1, w2):
        return x * w1 + x * w2  # add saves nothing: eager frees only the mul on the path

    compiled = gt.compile(f)
    x = gt.randn(3, 4)
    for fn in (f, compiled, compiled):
        w1 = gt.randn(3, 4, requires_grad=True)
        w2 = gt.randn(3, 4, requires_grad=True)
        out = fn(x, w1, w2).sum()
        (g1,) = gt.autograd.grad(out, w1)
        (g2,) = gt.autograd.grad(out, w2)  # a different mul: eager allows it
        _close(g1.numpy(), x.numpy())
        _close(g2.numpy(), x.numpy())
        with pytest.raises(RuntimeError, match=FREED):
            gt.autograd.grad(out, w1)


def test_output_of_ops_saving_nothing_can_be_differentiated_twice():
    def f(x, w):
        return x + w, w - x

    compiled = gt.compile(f)
    for fn in (f, compiled, compiled):
        w = gt.zeros(3, requires_grad=True)
        a, b = fn(gt.ones(3), w)
        a.sum().backward()
        a.sum().backward()  # eager: add saved nothing, nothing was freed
        b.sum().backward()
        _close(w.grad.numpy(), np.full(3, 3.0))


def test_grad_for_one_output_does_not_reach_inputs_only_the_other_uses():
    def f(x, w1, w2):
        return (x * w1).exp(), (x * w2).exp()

    compiled = gt.compile(f)
    x = gt.randn(3, 4)
    for fn in (f, compiled, compiled):
        w1 = gt.randn(3, 4, requires_grad=True)
        w2 = gt.randn(3, 4, requires_grad=True)
        a, b = fn(x, w1, w2)
        a.sum().backward()
        # b's graph was never run: autograd.grad toward w1 from b reaches nothing
        assert gt.autograd.grad(b.sum(), w1, allow_unused=True) == (None,)
        (g,) = gt.autograd.grad(b.sum(), w2)
        _close(g.numpy(), (x * (x * w2).exp()).detach().numpy())


def test_zero_cotangent_meeting_nan_is_not_silently_mixed_in():
    # b = sqrt(y) is NaN where y < 0, and its backward 0 / NaN; eager's backward from a
    # never computes it. Compiled: either eager's gradient or a clear error, never NaN.
    def f(x, w):
        y = x * w
        return y.sin(), y.sqrt()

    compiled = gt.compile(f)
    x = gt.tensor([[1.0, -2.0, 3.0]])
    w = gt.ones(1, 3, requires_grad=True)
    a, _ = f(x, w)
    a.sum().backward()
    expected = w.grad.numpy().copy()
    assert np.isfinite(expected).all()
    for _ in range(2):
        w = gt.ones(1, 3, requires_grad=True)
        a, _ = compiled(x, w)
        try:
            a.sum().backward()
        except RuntimeError as exc:
            assert "non-finite" in str(exc)
        else:
            _close(w.grad.numpy(), expected)


def test_multitask_training_loop_with_adam():
    eager, twin, compiled = _twin(3)
    opts = [gt.optim.Adam(m.parameters(), lr=0.01) for m in (eager, twin)]
    gt.manual_seed(5)
    data = [(gt.randn(6, 4), gt.randn(6, 2), gt.randn(6, 3)) for _ in range(6)]
    for k, (x, y1, y2) in enumerate(data):
        for m, fn, opt in ((eager, eager, opts[0]), (twin, compiled, opts[1])):
            opt.zero_grad()
            a, b = fn(x)
            la, lb = (a - y1).pow(2).mean(), (b - y2).abs().mean()
            if k % 3 == 0:
                la.backward(retain_graph=True)
                lb.backward()
            elif k % 3 == 1:
                la.backward()  # head 2 gets no gradient: Adam skips it
            else:
                (la + 0.5 * lb).backward()
            opt.step()
        _same_grads(_grads(eager), _grads(twin))
        for p, q in zip(eager.parameters(), twin.parameters()):
            _close(p.detach().numpy(), q.detach().numpy())


# --- B: compiled modules as objects ---------------------------------------------------------

def test_deepcopy_of_a_compiled_module_after_it_ran():
    gt.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    compiled = gt.compile(model)
    x = gt.randn(4, 2)
    before = compiled(x).detach().numpy().copy()
    best = copy.deepcopy(compiled)
    assert type(best) is type(compiled) and best._orig_mod is not model
    with gt.no_grad():  # the copy has its own parameters, its own compiled variants
        for p in best.parameters():
            p.zero_()
    assert np.all(best(x).detach().numpy() == 0)
    _close(compiled(x).detach().numpy(), before)
    buf = io.BytesIO()
    gt.save(compiled, buf)
    buf.seek(0)
    loaded = gt.load(buf, weights_only=False)
    _close(loaded(x).detach().numpy(), before)
    assert list(loaded.state_dict()) == list(compiled.state_dict())


def test_state_dict_keys_match_torch_compile():
    torch = pytest.importorskip("torch")
    tm = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.BatchNorm1d(3))
    gm = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    validate = torch.distributions.Distribution._validate_args
    try:
        tc, gc = torch.compile(tm), gt.compile(gm)
    finally:  # torch.compile turns distribution argument checks off for the process
        torch.distributions.Distribution.set_default_validate_args(validate)
    assert list(gc.state_dict()) == list(tc.state_dict())
    assert [n for n, _ in gc.named_parameters()] == [n for n, _ in tc.named_parameters()]
    assert [n for n, _ in gc.named_modules()] == [n for n, _ in tc.named_modules()]
    with pytest.raises(RuntimeError, match="Missing key"):  # as torch: keys need the prefix
        gc.load_state_dict(gm.state_dict())
    gc.load_state_dict(gt.compile(nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3)))
                       .state_dict())


# --- randomised training-loop events --------------------------------------------------------

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(4, 8)
        self.drop = nn.Dropout(0.25)
        self.h1 = nn.Linear(8, 2)
        self.h2 = nn.Linear(8, 1)

    def forward(self, x):
        z = self.drop(self.body(x).tanh())
        return self.h1(z), self.h2(z)


EVENTS = ("step_sum", "step_sum", "step_a", "step_b", "step_retain", "step_grad",
          "accumulate", "train", "eval", "no_grad", "inference", "freeze", "unfreeze", "lr",
          "batch", "load", "hook", "unhook", "deepcopy")


class Run:
    """One side of the comparison: a model (compiled or not) and its optimizer."""

    def __init__(self, compiled: bool):
        gt.manual_seed(0)
        self.model = Net()
        self.fn = gt.compile(self.model) if compiled else self.model
        self.compiled = compiled
        self.opt = gt.optim.SGD(self.model.parameters(), lr=0.05, momentum=0.9)
        self.hook = None

    def event(self, name, data, snapshot):
        m, fn, opt = self.model, self.fn, self.opt
        x, y1, y2 = data
        log = []

        def losses():
            a, b = fn(x)
            return (a - y1).pow(2).mean(), (b - y2).pow(2).mean()

        if name.startswith("step") or name == "accumulate":
            if name != "accumulate":
                opt.zero_grad()
            la, lb = losses()
            if name in ("step_sum", "accumulate"):
                (la + lb).backward()
            elif name == "step_a":
                la.backward()
            elif name == "step_b":
                lb.backward()
            elif name == "step_retain":
                lb.backward(retain_graph=True)
                log.append(_grads(m))
                la.backward()
            else:  # step_grad: a separate gradient for head 1, then backward for head 2
                ga = gt.autograd.grad(la, list(m.h1.parameters()), retain_graph=True)
                lb.backward()
                for p, g in zip(m.h1.parameters(), ga):
                    p.grad = g if p.grad is None else p.grad + g
            log += [la.item(), lb.item(), _grads(m)]
            if name != "accumulate":
                opt.step()
        elif name == "train":
            fn.train()
        elif name == "eval":
            fn.eval()
        elif name in ("no_grad", "inference"):
            with gt.no_grad() if name == "no_grad" else gt.inference_mode():
                a, b = fn(x)
            log += [a.numpy().copy(), b.numpy().copy(), a.requires_grad]
        elif name == "freeze":
            for p in m.body.parameters():
                p.requires_grad_(False)
        elif name == "unfreeze":
            for p in m.body.parameters():
                p.requires_grad_(True)
        elif name == "lr":
            opt.param_groups[0]["lr"] *= 0.5
        elif name == "load":
            m.load_state_dict(snapshot)
        elif name == "hook" and self.hook is None:
            self.hook = m.h1.register_forward_hook(lambda mod, inp, out: out * 2.0)
        elif name == "unhook" and self.hook is not None:
            self.hook.remove()
            self.hook = None
        elif name == "deepcopy":
            twin = copy.deepcopy(fn)  # e.g. keeping the best model
            twin.eval()
            with gt.no_grad():
                a, b = twin(x)
                for p in twin.parameters():
                    p.mul_(0.0)  # must not touch the original
            log += [a.numpy().copy(), b.numpy().copy()]
        log.append({k: v.detach().numpy().copy() for k, v in m.state_dict().items()})
        return log


def _compare(a, b, where):
    if isinstance(a, dict):
        _same_grads(a, b)
    elif isinstance(a, (bool, type(None))):
        assert a == b, where
    else:
        _close(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("seed", range(30))
def test_random_training_loop_events(seed):
    rng = random.Random(seed)
    eager, compiled = Run(False), Run(True)
    gt.manual_seed(100 + seed)
    snapshot = Net().state_dict()
    batch = 6
    for step in range(rng.randint(6, 10)):
        name = rng.choice(EVENTS)
        if name == "batch":
            batch = rng.choice((1, 3, 6))
            continue
        gt.manual_seed(1000 * seed + step)
        data = (gt.randn(batch, 4), gt.randn(batch, 2), gt.randn(batch, 1))
        logs = []
        for run in (eager, compiled):
            gt.manual_seed(7 * step)  # the same dropout masks on both sides
            logs.append(run.event(name, data, snapshot))
        assert len(logs[0]) == len(logs[1])
        for a, b in zip(*logs):
            _compare(a, b, f"seed {seed} step {step} ({name})")
