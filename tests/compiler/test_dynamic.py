"""Dynamic dimensions: one compiled graph for every size that satisfies its guards."""

from __future__ import annotations

import logging

import numpy as np
import pytest

import graphtorch as gt


class LSTMClassifier(gt.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = gt.nn.LSTM(8, 16, num_layers=2, batch_first=True)
        self.fc = gt.nn.Linear(16, 3)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.fc(out[:, -1])


def _grads(model, x):
    return [x.grad.numpy().copy()] + [p.grad.numpy().copy() for p in model.parameters()]


def test_lstm_classifier_one_compile_for_every_length_and_batch(caplog):
    gt.manual_seed(0)
    model = LSTMClassifier()
    compiled = gt.compile(model, dynamic=True)
    with caplog.at_level(logging.INFO, logger="graphtorch.recompiles"):
        for batch in (3, 8):
            for length in (5, 17, 50):
                x = gt.randn(batch, length, 8, requires_grad=True)
                out = compiled(x)
                out.square().sum().backward()
                got = _grads(model, x)
                model.zero_grad()
                x.grad = None
                want = model(x)
                want.square().sum().backward()
                np.testing.assert_allclose(out.detach().numpy(), want.detach().numpy(),
                                           rtol=1e-5, atol=1e-6)
                for g, w in zip(got, _grads(model, x)):
                    np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-6)
                model.zero_grad()
    stats = compiled._compiled.stats
    assert stats.compiles == 1 and not stats.recompiles
    assert "compiled once for dynamic sizes s0=x.shape[0], s1=x.shape[1]" in caplog.text
    assert "Recompiling" not in caplog.text
    assert "f32[s0, s1, s2]" in str(compiled._compiled.graph)  # sizes are symbols in the IR


def _mlp(seed=0):
    gt.manual_seed(seed)
    return gt.nn.Sequential(gt.nn.Flatten(), gt.nn.Linear(12, 16), gt.nn.ReLU(),
                            gt.nn.Linear(16, 4))


def test_automatic_dynamic_after_one_change(caplog):
    model = _mlp()
    compiled = gt.compile(lambda x: model(x).log_softmax(dim=1).mean())
    with caplog.at_level(logging.INFO, logger="graphtorch.recompiles"):
        for batch in (4, 6, 9, 13):
            x = gt.randn(batch, 3, 4)
            np.testing.assert_allclose(compiled(x).item(),
                                       model(x).log_softmax(dim=1).mean().item(), rtol=1e-6)
    assert compiled.compile_count == 2  # the static first graph, then one dynamic graph
    assert "marking x dimension(s) [0] dynamic" in caplog.text


def test_mark_dynamic_and_size_guards():
    model = _mlp()
    compiled = gt.compile(model)
    x = gt.randn(5, 3, 4)
    gt.mark_dynamic(x, 0)
    compiled(x)
    for batch in (2, 7, 30):
        y = gt.randn(batch, 3, 4)
        np.testing.assert_allclose(compiled(y).detach().numpy(), model(y).detach().numpy(),
                                   rtol=1e-6)
    assert compiled._compiled.compile_count == 1
    # a batch of 1 broadcasts differently: the guard (s0 != 1 here) sends it to a new graph
    one = gt.randn(1, 3, 4)
    np.testing.assert_allclose(compiled(one).detach().numpy(), model(one).detach().numpy(),
                               rtol=1e-6)
    # the feature dims were not marked: changing them recompiles
    with pytest.raises(RuntimeError):
        model(gt.randn(2, 4, 4))
    with pytest.raises(IndexError, match="Dimension out of range"):
        gt.mark_dynamic(x, 3)


def test_symbolic_reshape_expand_and_mean():
    def f(x, y):
        flat = x.reshape(x.shape[0], -1)                 # a symbolic reshape
        z = gt.zeros(x.shape[0], 1) + flat.mean(dim=1, keepdim=True)
        return (flat * y.expand(x.shape[0], -1)).sum(dim=1) + z.squeeze(1)

    compiled = gt.compile(f, dynamic=True)
    for batch in (2, 5, 11):
        x, y = gt.randn(batch, 3, 2), gt.randn(1, 6)
        np.testing.assert_allclose(compiled(x, y).numpy(), f(x, y).numpy(), rtol=1e-6)
    assert compiled.compile_count == 1
    assert "s0" in compiled.code  # sizes read off the inputs at run time


def test_dynamic_training_step_matches_eager():
    def run(compiled):
        model = _mlp(3)
        opt = gt.optim.SGD(model.parameters(), lr=0.1)
        gt.manual_seed(1)
        batches = [(gt.randn(b, 3, 4), gt.randint(0, 4, (b,))) for b in (5, 8, 3, 8)]

        def step(x, y):
            opt.zero_grad()
            loss = gt.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss

        fn = gt.compile(step, dynamic=True) if compiled else step
        return [fn(x, y).item() for x, y in batches], fn

    eager, _ = run(False)
    got, fn = run(True)
    np.testing.assert_allclose(got, eager, rtol=1e-6)
    assert fn.compile_count == 1


@pytest.mark.parametrize("make", [
    lambda x: x + gt.arange(x.shape[0]),
    lambda x: gt.arange(1, x.shape[0] + 1, dtype=gt.float32) * x,
    lambda x: gt.arange(2, x.shape[0] * 3, 3, dtype=gt.int32),
    lambda x: gt.arange(x.shape[0], 0, -2),
    lambda x: gt.arange(x.shape[0] - 1, -1, -1).float() + x,
])
def test_arange_to_a_dynamic_size_stays_dynamic(make):
    """`arange(x.shape[0])` (positions, reversed indexes) compiles once for every size of
    the same sign and length class, with eager's values and dtypes."""
    compiled = gt.compile(make, dynamic=True)
    for n in (5, 8, 13, 6):
        x = gt.randn(n)
        want, got = make(x), compiled(x)
        assert got.dtype == want.dtype and tuple(got.shape) == tuple(want.shape)
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)
    assert compiled.compile_count == 1


def test_factories_of_dynamic_sizes_own_their_memory():
    # a fill of symbolic shape was a 0-stride expand of one element: writes into it reached
    # every element (or were refused), and returned tensors had stride 0 (ops fuzz family)
    def fill_then_write(a):
        z = gt.zeros(a.shape[0], 2)
        z[0] = 1.0
        return z

    def accumulate(a):
        z = gt.zeros_like(a)
        z.add_(a)
        return z, gt.ones_like(a)

    for fn in (fill_then_write, accumulate):
        compiled = gt.compile(fn, dynamic=True)
        for n in (4, 5):
            x = gt.randn(n)
            got, want = compiled(x), fn(x)
            got = got if isinstance(got, tuple) else (got,)
            want = want if isinstance(want, tuple) else (want,)
            for g, w in zip(got, want):
                assert g.stride() == w.stride()
                gt.testing.assert_close(g, w)
            got[0].add_(1.0)  # writable, one element per position
