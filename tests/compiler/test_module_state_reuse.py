"""Variants traced for a module state are reused when the state comes back, and a
training step that resets `.grad` runs whether or not the grads exist when called.

Tutorial loops alternate ``model.train()`` and ``model.eval()`` (and train/val phases
with and without a backward) every epoch: each flip bumps the modules' state versions,
and a guard on the version alone recompiled every epoch until the variant cache was full.
"""

from __future__ import annotations

import numpy as np

import graphtorch as gt
from graphtorch import nn


def _model():
    gt.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.ReLU(), nn.Linear(8, 2))


def test_train_eval_flips_reuse_their_variants():
    model = _model()
    compiled = gt.compile(model)
    x = gt.randn(3, 4)
    for _ in range(4):
        model.train()
        gt.manual_seed(1)
        got = compiled(x)
        gt.manual_seed(1)
        np.testing.assert_allclose(got.detach().numpy(), model(x).detach().numpy(), rtol=1e-6)
        model.eval()
        np.testing.assert_allclose(compiled(x).detach().numpy(), model(x).detach().numpy(),
                                   rtol=1e-6)
    assert compiled.compile_count == 2


def test_a_changed_attribute_still_recompiles_and_coming_back_reuses():
    model = _model()
    compiled = gt.compile(model)
    x = gt.randn(3, 4)
    model.eval()
    compiled(x)
    model[1].p = 0.25           # another value: a new variant
    model.train()
    gt.manual_seed(2)
    got = compiled(x)
    gt.manual_seed(2)
    np.testing.assert_allclose(got.detach().numpy(), model(x).detach().numpy(), rtol=1e-6)
    assert compiled.compile_count == 2
    model[1].p = 0.5            # back to the first state: the first variant again
    model.eval()
    compiled(x)
    assert compiled.compile_count == 2
    model[3] = nn.Linear(8, 2)  # a new submodule, same class: never the old variants
    np.testing.assert_allclose(compiled(x).detach().numpy(), model(x).detach().numpy(),
                               rtol=1e-6)
    assert compiled.compile_count == 3


def test_step_resetting_grads_runs_when_they_are_missing():
    # transfer-learning tutorial: zero_grad() then backward in the train phase, zero_grad()
    # alone in the val phase; the next train call starts with every .grad None
    def run(compile_):
        model = _model()
        opt = gt.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

        def step(x, y, train):
            opt.zero_grad()
            with gt.set_grad_enabled(train):
                loss = (model(x) - y).pow(2).mean()
                if train:
                    loss.backward()
                    opt.step()
            return loss
        step = compile_(step)
        gt.manual_seed(5)
        x, y = gt.randn(3, 4), gt.randn(3, 2)
        losses = []
        for train in (True, True, False, True, False, True):
            gt.manual_seed(7)
            losses.append(step(x, y, train).item())
        return losses, [p.detach().numpy().copy() for p in model.parameters()]

    want, want_params = run(lambda f: f)
    got, got_params = run(gt.compile)
    np.testing.assert_allclose(got, want, rtol=1e-5)
    for a, b in zip(got_params, want_params):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_functional_call_inside_a_compiled_step_compiles_whole():
    # functional_call swaps the parameters in and back out: the state comes back, so the
    # trace has no side effect (it was a graph break) and a second-order step compiles whole
    gt.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))
    x, y = gt.randn(5, 2), gt.randn(5, 1)

    def meta_loss(x, y):
        params = dict(model.named_parameters())
        loss = nn.functional.mse_loss(gt.func.functional_call(model, params, (x,)), y)
        grads = gt.autograd.grad(loss, list(params.values()), create_graph=True)
        fast = {n: p - 0.1 * g for (n, p), g in zip(params.items(), grads)}
        return nn.functional.mse_loss(gt.func.functional_call(model, fast, (x,)), y)

    compiled = gt.compile(meta_loss)
    for _ in range(2):
        got = compiled(x, y)
        want = meta_loss(x, y)
        np.testing.assert_allclose(got.item(), want.item(), rtol=1e-5)
        got_grads = gt.autograd.grad(got, list(model.parameters()))
        want_grads = gt.autograd.grad(want, list(model.parameters()))
        for g, w in zip(got_grads, want_grads):
            np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-4, atol=1e-6)
    assert compiled.compile_count == 1
    assert not compiled.stats.graph_breaks


def test_a_step_flipping_parameter_flags_runs_eagerly_instead_of_recompiling():
    # CycleGAN's generator step starts with set_requires_grad(netD, False) and the
    # discriminator step sets them back: the guards, taken after the trace, expected the
    # flipped flags and every call recompiled (the graph does not replay the flip)
    gt.manual_seed(0)
    gen, disc = nn.Linear(2, 2), nn.Linear(2, 1)
    x = gt.randn(3, 2)

    def generator_step(x):
        for p in disc.parameters():
            p.requires_grad = False
        loss = disc(gen(x)).sum()
        loss.backward()
        return loss

    compiled = gt.compile(generator_step)
    for _ in range(4):
        for p in disc.parameters():
            p.requires_grad = True
        gen.zero_grad()
        got = compiled(x)
        assert not disc.weight.requires_grad and disc.weight.grad is None
        got_grad = gen.weight.grad.numpy().copy()
        for p in disc.parameters():
            p.requires_grad = True
        gen.zero_grad()
        want = generator_step(x)
        np.testing.assert_allclose(got.item(), want.item(), rtol=1e-6)
        np.testing.assert_allclose(got_grad, gen.weight.grad.numpy(), rtol=1e-6)
    assert compiled.compile_count <= 1
    assert any("requires_grad_()" in reason for reason in compiled.stats.graph_breaks)


def test_a_class_forward_patched_after_compiling_recompiles():
    """`Net.forward = ...` after the first call: Module.__call__ looks forward up on the
    class, so the graph traced from the old forward is not reused (fuzz probe, helper 39)."""
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(4, 3)

    gt.manual_seed(0)
    model = Net()
    x = gt.randn(2, 4)
    for compiled, plus in ((gt.compile(model), 0.0),
                           (gt.compile(lambda t: model(t) + 1.0), 1.0)):
        Net.forward = lambda self, t: self.lin(t)
        compiled(x)
        Net.forward = lambda self, t: self.lin(t) * 3.0
        np.testing.assert_allclose(compiled(x).detach().numpy(),
                                   (model(x) + plus).detach().numpy(), rtol=1e-6)
