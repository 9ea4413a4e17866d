"""gt.compile stays sound with the eager-only features: a compiled function called inside
gt.autocast runs eagerly (logged), autocast entered inside a compiled function is a graph
break (eager results) or, with fullgraph=True, a TracingError; checkpoint inside compiled
code gives eager's values and gradients (tests/utils/test_checkpoint.py); profiling a
compiled call records no traced ops."""

from __future__ import annotations

import logging

import numpy as np
import pytest

import graphtorch as gt


def _inputs():
    gt.manual_seed(0)
    return gt.randn(3, 4), gt.randn(4, 2)


def test_compiled_call_inside_autocast_runs_eagerly(caplog):
    f = gt.compile(lambda x, w: (x @ w).relu())
    x, w = _inputs()
    assert f(x, w).dtype == gt.float32  # compiled outside autocast
    with caplog.at_level(logging.INFO, logger="graphtorch.recompiles"):
        with gt.autocast("cpu", dtype=gt.float16):
            out = f(x, w)
            eager = (x @ w).relu()
    assert out.dtype == eager.dtype == gt.float16
    np.testing.assert_allclose(out.float().numpy(), eager.float().numpy(), atol=1e-3)
    assert any("inside gt.autocast" in r.getMessage() for r in caplog.records)
    assert f(x, w).dtype == gt.float32  # and compiled again afterwards


def test_autocast_inside_compiled_function_is_a_graph_break():
    def g(x, w):
        with gt.autocast("cpu", dtype=gt.float16):
            y = x @ w
        return y.float().sum(), y.dtype == gt.float16

    x, w = _inputs()
    eager = g(x, w)
    compiled = gt.compile(g)
    for _ in range(2):
        out = compiled(x, w)
        assert out[1] is True
        np.testing.assert_allclose(out[0].item(), eager[0].item(), rtol=1e-6)
    with pytest.raises(gt.TracingError, match="autocast"):
        gt.compile(g, fullgraph=True)(x, w)


def test_disabled_autocast_inside_compiled_function_compiles():
    def g(x, w):
        with gt.autocast("cpu", enabled=False):
            return x @ w

    x, w = _inputs()
    out = gt.compile(g, fullgraph=True)(x, w)
    np.testing.assert_allclose(out.numpy(), (x @ w).numpy(), rtol=1e-6)
