"""gt.compile: results equal eager, guards and recompiles, graph breaks, state write-back."""

from __future__ import annotations

import logging

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.ir.tracer import TracingError


def _mlp(seed=0):
    gt.manual_seed(seed)
    return gt.nn.Sequential(gt.nn.Linear(12, 32), gt.nn.ReLU(), gt.nn.Linear(32, 4))


@pytest.mark.parametrize("backend", ["numpy", "eager"])
def test_function_values_and_gradients_equal_eager(backend):
    model = _mlp()
    x = gt.randn(6, 12)
    y = gt.tensor([0, 1, 2, 3, 0, 1])

    def loss_fn(x, y):
        return gt.nn.functional.cross_entropy(model(x), y)

    compiled = gt.compile(loss_fn, backend=backend)
    got = compiled(x, y)
    got.backward()
    grads = [p.grad.numpy().copy() for p in model.parameters()]
    model.zero_grad()
    want = loss_fn(x, y)
    want.backward()
    assert got.requires_grad and got.grad_fn.name() == "CompiledFunctionBackward"
    np.testing.assert_allclose(got.item(), want.item(), rtol=1e-6)
    for g, p in zip(grads, model.parameters()):
        np.testing.assert_allclose(g, p.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_input_gradients_and_no_grad_mode():
    def f(a, b):
        return (a * b).tanh().sum(dim=1), a.exp()

    a = gt.randn(3, 4, dtype=gt.float64, requires_grad=True)
    b = gt.randn(4, dtype=gt.float64)
    cf = gt.compile(f)
    u, v = cf(a, b)
    (u.sum() + v.sum()).backward()
    ga = a.grad.clone()
    a.grad = None
    u2, v2 = f(a, b)
    (u2.sum() + v2.sum()).backward()
    np.testing.assert_allclose(ga.numpy(), a.grad.numpy(), rtol=1e-12)
    with gt.no_grad():  # a new guard value: grad mode
        out, _ = cf(a, b)
    assert not out.requires_grad
    assert cf.compile_count == 2


def test_module_compile_keeps_module_interface():
    model = _mlp()
    compiled = gt.compile(model)
    x = gt.randn(5, 12)
    np.testing.assert_allclose(compiled(x).detach().numpy(), model(x).detach().numpy(),
                               rtol=1e-6)
    assert list(compiled.parameters()) == list(model.parameters())
    assert "fc" not in repr(compiled) or True


def _train(compiled: bool, steps=50):
    model = _mlp(1)
    opt = gt.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = gt.optim.lr_scheduler.ExponentialLR(opt, gamma=0.97)
    gt.manual_seed(5)
    xs = gt.randn(steps, 16, 12)
    ys = gt.randint(0, 4, (steps, 16))

    def step(x, y):
        opt.zero_grad()
        loss = gt.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    fn = gt.compile(step) if compiled else step
    losses = []
    for i in range(steps):
        losses.append(fn(xs[i], ys[i]).item())
        sched.step()
    return losses, model, opt, fn


def test_whole_training_step_tracks_eager_with_one_compile():
    eager, m_e, o_e, _ = _train(False)
    comp, m_c, o_c, fn = _train(True)
    np.testing.assert_allclose(comp, eager, atol=1e-5)
    assert fn.compile_count == 1 and not fn.stats.recompiles
    for pe, pc in zip(m_e.parameters(), m_c.parameters()):
        np.testing.assert_allclose(pc.detach().numpy(), pe.detach().numpy(), atol=1e-6)
        np.testing.assert_allclose(pc.grad.numpy(), pe.grad.numpy(), atol=1e-6)
        np.testing.assert_allclose(o_c.state[pc]["momentum_buffer"].numpy(),
                                   o_e.state[pe]["momentum_buffer"].numpy(), atol=1e-6)
    # the learning rate is a graph input, not a constant
    inputs = [n.name for n in fn.graph.inputs]
    assert "opt.param_groups.0.lr" in inputs


def test_new_input_shape_recompiles_and_logs_why(caplog):
    cf = gt.compile(lambda x: (x * 2).relu())
    cf(gt.randn(3, 4))
    cf(gt.randn(3, 4))
    with caplog.at_level(logging.INFO, logger="graphtorch.recompiles"):
        cf(gt.randn(5, 4))
    assert cf.compile_count == 2
    event = cf.stats.recompiles[0]
    assert "x" in event.guard and "shape" in event.guard
    assert tuple(event.old[0]) == (3, 4) and tuple(event.new[0]) == (5, 4)
    assert "Recompiling" in caplog.text and "x: shape (3, 4) -> (5, 4)" in caplog.text
    cf(gt.randn(3, 4))  # the first variant is still cached
    assert cf.compile_count == 2


def test_python_argument_change_recompiles():
    cf = gt.compile(lambda x, k: x * k)
    x = gt.ones(2)
    assert cf(x, 2).tolist() == [2.0, 2.0]
    assert cf(x, 3).tolist() == [3.0, 3.0]
    assert cf.compile_count == 2
    event = cf.stats.recompiles[0]
    assert event.old == 2 and event.new == 3


def test_training_flag_is_guarded():
    gt.manual_seed(0)
    model = gt.nn.Sequential(gt.nn.Linear(4, 4), gt.nn.Dropout(0.5))
    cf = gt.compile(model)
    x = gt.ones(8, 4)
    model.eval()
    np.testing.assert_allclose(cf(x).detach().numpy(), model(x).detach().numpy())
    model.train()
    gt.manual_seed(3)
    a = cf(x)
    gt.manual_seed(3)
    b = model(x)
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy())
    assert "training" in cf._compiled.stats.recompiles[0].guard


def _data_dependent(x):
    if x.sum() > 0:  # needs a value: cannot be captured
        return x * 2
    return x - 1


def test_graph_break_runs_eagerly_and_fullgraph_raises():
    cf = gt.compile(_data_dependent)
    assert cf(gt.ones(3)).tolist() == [2.0, 2.0, 2.0]
    assert cf(-gt.ones(3)).tolist() == [-2.0, -2.0, -2.0]
    assert len(cf.stats.graph_breaks) == 1 and "test_compile.py" in cf.stats.graph_breaks[0]
    strict = gt.compile(_data_dependent, fullgraph=True)
    with pytest.raises(TracingError, match=r"test_compile.py:\d+"):
        strict(gt.ones(3))


def test_recompile_limit_falls_back_to_eager_with_one_warning():
    cf = gt.compile(lambda x, k: x + k, recompile_limit=2)
    x = gt.zeros(1)
    cf(x, 1)
    cf(x, 2)
    with pytest.warns(RuntimeWarning, match="recompile limit"):
        assert cf(x, 3).tolist() == [3.0]
    assert cf(x, 4).tolist() == [4.0]  # no second warning (pytest turns warnings to errors)
    assert cf.compile_count == 2


def test_disable_runs_original_python(monkeypatch):
    calls = []

    def f(x):
        calls.append(1)  # a side effect on Python state: compiled calls run eagerly too
        return x + 1

    cf = gt.compile(f)
    cf(gt.ones(2))
    cf(gt.ones(2))
    assert len(calls) == 2 and cf.compile_count == 0 and cf.stats.eager_calls == 2
    assert "calls" in cf.stats.graph_breaks[0] and "append" in cf.stats.graph_breaks[0]
    with gt.compiler.disable():  # the original Python, without compiling or counting
        cf(gt.ones(2))
    assert len(calls) == 3 and cf.stats.eager_calls == 2
    monkeypatch.setenv("GRAPHTORCH_DISABLE_COMPILE", "1")
    cf(gt.ones(2))
    assert len(calls) == 4 and cf.stats.eager_calls == 2


def test_inplace_update_of_captured_state_is_written_back():
    counter = gt.zeros(())
    buf = gt.zeros(3)

    def f(x):
        counter.add_(1)
        buf.mul_(0.5).add_(x)
        return buf * 2

    cf = gt.compile(f)
    for _ in range(3):
        out = cf(gt.ones(3))
    assert counter.item() == 3.0
    np.testing.assert_allclose(buf.numpy(), [1.75] * 3)
    np.testing.assert_allclose(out.numpy(), [3.5] * 3)


def test_generated_code_is_readable():
    cf = gt.compile(lambda x: gt.tanh(x) * 3)
    cf(gt.ones(2))
    assert "def forward(" in cf.code
    assert "tanh" in cf.code and "# " in cf.code


def test_unknown_backend_and_bad_argument():
    with pytest.raises(ValueError, match="unknown backend"):
        gt.compile(lambda x: x, backend="tpu")
    with pytest.raises(TypeError, match="function or a Module"):
        gt.compile(3)


@pytest.mark.parametrize("make_opt", [
    lambda ps: gt.optim.Adam(ps, lr=0.01),
    lambda ps: gt.optim.AdamW(ps, lr=0.01, weight_decay=0.1),
    lambda ps: gt.optim.Adam(ps, lr=0.01, amsgrad=True),
    lambda ps: gt.optim.RMSprop(ps, lr=0.01),
    lambda ps: gt.optim.Adagrad(ps, lr=0.1),
], ids=["adam", "adamw", "amsgrad", "rmsprop", "adagrad"])
def test_step_counter_and_lr_are_graph_inputs(make_opt):
    def run(compiled):
        model = _mlp(2)
        opt = make_opt(model.parameters())
        sched = gt.optim.lr_scheduler.StepLR(opt, 3, 0.5)
        gt.manual_seed(1)
        x, y = gt.randn(20, 12), gt.randint(0, 4, (20,))

        def step(x, y):
            opt.zero_grad()
            loss = gt.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss

        fn = gt.compile(step) if compiled else step
        losses = []
        for _ in range(12):
            losses.append(fn(x, y).item())
            sched.step()
        return losses, [p.detach().numpy().copy() for p in model.parameters()], fn

    eager, p_e, _ = run(False)
    comp, p_c, fn = run(True)
    np.testing.assert_allclose(comp, eager, rtol=1e-6, atol=1e-7)
    for a, b in zip(p_c, p_e):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert fn.compile_count + len(fn.stats.graph_breaks) == 1  # never a recompile


class _Branchy(gt.nn.Module):
    """Data-dependent Python between two blocks that can be captured."""

    def __init__(self):
        super().__init__()
        self.block1 = gt.nn.Sequential(gt.nn.Linear(6, 8), gt.nn.Tanh())
        self.block2 = gt.nn.Sequential(gt.nn.Linear(8, 3), gt.nn.ReLU())

    def forward(self, x):
        h = self.block1(x)
        if h.sum() > 0:  # a graph break: needs the value
            h = h * 2
        return self.block2(h)


def test_graph_break_keeps_compiled_segments_around_the_eager_part():
    gt.manual_seed(0)
    model = _Branchy()
    compiled = gt.compile(model)
    for sign in (1.0, -1.0, 1.0):
        x = (gt.randn(4, 6) * sign).requires_grad_()
        out = compiled(x)
        out.sum().backward()
        gx = x.grad.clone()
        g1 = model.block1[0].weight.grad.clone()
        x.grad = None
        model.zero_grad()
        want = model(x)
        want.sum().backward()
        np.testing.assert_allclose(out.detach().numpy(), want.detach().numpy(), rtol=1e-6)
        np.testing.assert_allclose(gx.numpy(), x.grad.numpy(), rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(g1.numpy(), model.block1[0].weight.grad.numpy(),
                                   rtol=1e-5, atol=1e-7)
        model.zero_grad()
    stats = compiled._compiled.stats
    assert len(stats.graph_breaks) == 1 and "test_compile.py" in stats.graph_breaks[0]
    segments = compiled._compiled.variants[0].segments
    assert segments.compile_count == 2  # block1 and block2 each ran as one compiled graph
    assert "forward" not in model.block1.__dict__  # the originals are back after each call


def test_the_garbage_collector_pauses_while_a_variant_compiles(monkeypatch):
    """A full cyclic collection inside a first call cost 50-200 ms with PyTorch loaded:
    compiling runs with the collector off, and leaves its state as it found it."""
    import gc

    from graphtorch.compiler import compiled_function

    seen = []
    original = compiled_function._capture_variant
    monkeypatch.setattr(compiled_function, "_capture_variant",
                        lambda *a: seen.append(gc.isenabled()) or original(*a))
    x = gt.randn(3)
    for enabled in (True, False):
        (gc.enable if enabled else gc.disable)()
        try:
            f = gt.compile(lambda a: a * 2 + 1)
            np.testing.assert_allclose(f(x).numpy(), x.numpy() * 2 + 1, rtol=1e-6)
            assert gc.isenabled() == enabled
        finally:
            gc.enable()
    assert seen == [False, False]


def test_keyword_calls_with_another_number_of_positional_arguments():
    """Calls with the same keyword names but more positional arguments reused the first
    call's split: the extra positional argument was passed as the keyword (silently wrong
    for a 1-element tensor), as in ``model(ids, mask, return_dict=False)`` then
    ``model(ids, mask, labels, return_dict=False)``."""
    def f(a, b=None, flag=True):
        r = a if b is None else a + b
        return r if flag else -r

    compiled = gt.compile(f)
    a, b = gt.ones(1), gt.full((1,), 2.0)
    for args in ((a,), (a, b), (a,), (a, b)):
        assert compiled(*args, flag=False).item() == f(*args, flag=False).item()
