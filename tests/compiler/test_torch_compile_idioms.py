"""torch.compile's idioms run unchanged: OptimizedModule, model.compile(), mode/options/
backend names, gt.compiler.disable as a decorator, reset(), is_compiling()."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch import nn


def test_compiled_module_is_an_nn_module_wrapping_the_original():
    model = nn.Sequential(nn.Linear(4, 3), nn.Dropout(0.5))
    compiled = gt.compile(model)
    assert isinstance(compiled, nn.Module) and compiled._orig_mod is model
    # torch.compile's keys (not called here: importing Dynamo changes global torch state,
    # e.g. torch.distributions' argument validation, which other oracle tests rely on)
    assert list(compiled.state_dict()) == ["_orig_mod.0.weight", "_orig_mod.0.bias"]
    assert compiled._orig_mod[0] is model[0] and compiled.training
    compiled.eval()
    assert not model.training and not model[1].training
    assert [p is q for p, q in zip(compiled.parameters(), model.parameters())] == [True, True]
    x = gt.randn(2, 4)
    np.testing.assert_allclose(compiled(x).detach().numpy(), model(x).detach().numpy(),
                               rtol=1e-6)
    assert compiled.compile_count == 1 and "def forward" in compiled.code
    assert repr(compiled).startswith("OptimizedModule(\n  (_orig_mod): Sequential(")
    model2 = nn.Sequential(nn.Linear(4, 3), nn.Dropout(0.5))
    model2.load_state_dict({k.removeprefix("_orig_mod."): v
                            for k, v in compiled.state_dict().items()})


def test_model_compile_compiles_in_place():
    model = nn.Linear(4, 2)
    x = gt.randn(3, 4)
    want = model(x)
    assert model.compile() is None
    got = model(x)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-6)
    assert model._compiled_call.compile_count == 1 and isinstance(model, nn.Linear)


def test_modes_options_and_backend_names_follow_torch():
    f = lambda x: x * 2  # noqa: E731
    for mode in ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"):
        assert gt.compile(f, mode=mode)(gt.ones(2)).tolist() == [2.0, 2.0]
    # torch.compile's messages (see above for why torch.compile is not called here)
    with pytest.raises(RuntimeError, match="Unrecognized mode=bogus, should be one of: "
                                           "default, lite, reduce-overhead"):
        gt.compile(f, mode="bogus")
    with pytest.raises(RuntimeError, match="Either mode or options can be specified, but both "
                                           "can't be specified at the same time."):
        gt.compile(f, mode="default", options={"a": 1})
    with pytest.warns(UserWarning, match="ignores options"):
        gt.compile(f, options={"triton.cudagraphs": False})
    assert gt.compile(f, backend="inductor").backend == "numpy"
    assert gt.compile(f, backend="aot_eager").backend == "eager"
    assert gt.compile(f, disable=True) is f


def test_disable_as_a_decorator_makes_a_graph_break_with_its_name():
    calls = []

    @gt.compiler.disable
    def log(t):
        calls.append(t.sum().item())  # would not trace: it runs eagerly
        return t

    def f(x):
        return log(x * 2) + 1

    cf = gt.compile(f)
    for _ in range(2):
        assert cf(gt.ones(2)).tolist() == [3.0, 3.0]
    assert calls == [4.0, 4.0]
    assert "log is marked gt.compiler.disable" in cf.stats.graph_breaks[0]
    assert gt.compile(log) is log
    with gt.compiler.disable():  # still a context manager
        assert cf(gt.ones(2)).tolist() == [3.0, 3.0]


def test_reset_forgets_every_variant_and_is_compiling_sees_the_trace():
    seen = []

    def f(x):
        seen.append(gt.compiler.is_compiling())  # a write to outside state: runs eagerly
        return x + 1

    def g(x):
        return x * 2 if gt.compiler.is_compiling() else x * 3

    cg = gt.compile(g)
    assert cg(gt.ones(1)).item() == 2.0 and not gt.compiler.is_compiling()
    assert cg.compile_count == 1
    gt.compiler.reset()
    cg(gt.ones(1))
    assert cg.compile_count == 2
    gt.compile(f)(gt.ones(1))
    assert seen == [False]  # the trace stopped before the append; the eager run saw False


def test_a_compiled_function_called_inside_another_is_traced_through():
    inner = gt.compile(lambda x: x.exp() * 2)

    def outer(x):
        return inner(x) + 1

    co = gt.compile(outer)
    x = gt.randn(3)
    np.testing.assert_allclose(co(x).numpy(), (x.exp() * 2 + 1).numpy(), rtol=1e-6)
    assert co.stats.graph_breaks == [] and inner.compile_count == 0


def test_an_out_argument_is_traced_as_an_in_place_write():
    # spectral_norm's power iteration writes F.normalize(..., out=u) into its buffers each
    # training forward: `out=` wrote the raw array and broke the graph
    buffer = gt.zeros(3)

    def step(x):
        nn.functional.normalize(x.sum(0), dim=0, out=buffer)
        return gt.add(buffer, 1.0, out=gt.empty(3)) * 2

    compiled = gt.compile(step, fullgraph=True)
    for k in range(3):
        x = gt.randn(4, 3)
        got = compiled(x).numpy().copy()
        got_buffer = buffer.numpy().copy()
        buffer.zero_()
        want = step(x).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-6)
        np.testing.assert_allclose(got_buffer, buffer.numpy(), rtol=1e-6)
    assert compiled.compile_count == 1
