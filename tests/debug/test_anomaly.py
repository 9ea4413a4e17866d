"""detect_anomaly names the first op producing NaN/Inf and its user line."""

from __future__ import annotations

import pytest

import graphtorch as gt
from graphtorch import debug
from graphtorch.debug.anomaly import eager_supported

from .helpers import line_of, mlp, planted_passes, with_planted

MODEL = mlp()
X = gt.randn(5, 4)


def log_of_negative(x):
    h = MODEL(x)
    return gt.log(h - 10).sum()


def sqrt_at_zero(x):
    h = MODEL(x)
    zero = (h * 0).sum()
    return gt.sqrt(zero) + h.sum()


def healthy(x):
    return MODEL(x).tanh().sum()


def test_compiled_forward_nan_names_op_and_line():
    step = gt.compile(log_of_negative)
    with pytest.raises(RuntimeError) as info, debug.detect_anomaly():
        step(X)
    message = str(info.value)
    assert "log produced nan" in message and "(forward)" in message
    assert f"test_anomaly.py:{line_of(log_of_negative, 'gt.log')}" in message


def test_compiled_backward_inf_names_forward_op_and_line():
    step = gt.compile(sqrt_at_zero)
    loss = step(X)
    with pytest.raises(RuntimeError) as info, debug.detect_anomaly():
        step(X).backward()
    message = str(info.value)
    assert "the backward of sqrt" in message
    assert f"test_anomaly.py:{line_of(sqrt_at_zero, 'gt.sqrt')}" in message
    assert gt.isfinite(loss).all()


def test_planted_nan_in_compiled_backward():
    with planted_passes():
        step = gt.compile(healthy, passes=with_planted("plant_nan_backward"))
        with pytest.raises(RuntimeError) as info, debug.detect_anomaly():
            step(X).backward()
    message = str(info.value)
    assert "the backward of" in message and "log returned nan" in message
    assert "test_anomaly.py" in message


def test_healthy_code_runs_and_hooks_are_removed():
    from graphtorch.compiler import hooks

    step = gt.compile(healthy)
    expected = step(X)
    with debug.detect_anomaly():
        got = step(X)
        got.backward()
    assert gt.allclose(expected, got)
    assert hooks.node_hooks == []


def test_check_nan_false_disables():
    step = gt.compile(log_of_negative)
    with debug.detect_anomaly(check_nan=False):
        assert gt.isnan(step(X))


eager_only = pytest.mark.skipif(not eager_supported(), reason="eager dispatch has no op_hooks "
                                "yet (requested from the lead)")


@eager_only
def test_eager_forward_nan():
    with pytest.raises(RuntimeError) as info, debug.detect_anomaly():
        log_of_negative(X)
    assert "log produced nan" in str(info.value)
    assert f"test_anomaly.py:{line_of(log_of_negative, 'gt.log')}" in str(info.value)


@eager_only
def test_eager_backward_inf_names_forward_op():
    with pytest.raises(RuntimeError) as info, debug.detect_anomaly():
        sqrt_at_zero(X).backward()
    message = str(info.value)
    assert "the backward of sqrt" in message
    assert f"test_anomaly.py:{line_of(sqrt_at_zero, 'gt.sqrt')}" in message


@eager_only
def test_eager_hooks_inactive_outside_the_block():
    with debug.detect_anomaly():
        loss = sqrt_at_zero(X)
    loss.backward()  # no error: the block has ended
