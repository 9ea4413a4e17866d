"""`gt.autograd.detect_anomaly` / `set_detect_anomaly` / `gt.is_anomaly_enabled` against
PyTorch: the backward NaN error naming the node, the forward-stack warning, forward NaNs
left alone, function and context-manager forms, argument errors."""

from __future__ import annotations

import warnings

import pytest

import graphtorch as gt
from tests.autograd.diff import raises_like_torch, same


def _nan_backward(T, form):
    x = T.tensor([0.0, 1.0], requires_grad=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if form == "detect":
            ctx = T.autograd.detect_anomaly()
        elif form == "set":
            ctx = T.autograd.set_detect_anomaly(True)
        else:
            ctx = T.autograd.detect_anomaly(check_nan=False)
        with ctx:
            try:
                (x.sqrt() * 0).sum().backward()
                error = None
            except RuntimeError as exc:
                error = str(exc)
    kinds = sorted({c.category.__name__ for c in caught})
    traced = any("Error detected in SqrtBackward0" in str(c.message) for c in caught)
    return error, kinds, traced, T.is_anomaly_enabled()


@pytest.mark.parametrize("form", ["detect", "set", "no_check_nan"])
def test_backward_nan_like_torch(form):
    same(lambda T: _nan_backward(T, form))


def test_forward_nan_is_not_an_error_like_torch():
    def program(T):
        x = T.tensor([-1.0, 4.0], requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with T.autograd.detect_anomaly():
                y = x.sqrt()
                y[1:].sum().backward()
        return y, x.grad

    same(program)


def test_custom_function_node_is_named():
    def program(T):
        class Bad(T.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return g * float("nan")

        x = T.ones(2, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with T.autograd.detect_anomaly():
                Bad.apply(x).sum().backward()

    raises_like_torch(program, match="Function 'BadBackward' returned nan values in its 0th "
                                     "output")


def test_set_detect_anomaly_as_function_and_state():
    def program(T):
        before = T.is_anomaly_enabled()
        T.autograd.set_detect_anomaly(True)
        on = (T.is_anomaly_enabled(), T.is_anomaly_check_nan_enabled())
        with T.autograd.set_detect_anomaly(False):
            off = T.is_anomaly_enabled()
        restored = T.is_anomaly_enabled()
        T.autograd.set_detect_anomaly(False)
        return before, on, off, restored, T.is_anomaly_enabled()

    same(program)


@pytest.mark.parametrize("case", ["missing_mode", "mode_str", "check_nan_str"])
def test_argument_errors_like_torch(case):
    def program(T):
        if case == "missing_mode":
            return T.autograd.set_detect_anomaly()
        if case == "mode_str":
            return T.autograd.set_detect_anomaly("x")
        return T.autograd.set_detect_anomaly(True, check_nan="x")

    try:
        raises_like_torch(program)
    finally:
        gt.autograd.set_detect_anomaly(False)


def test_compiled_backward_nan_is_reported():
    f = gt.compile(lambda a: (a.sqrt() * 0).sum())
    x = gt.tensor([0.0, 1.0], requires_grad=True)
    f(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with gt.autograd.detect_anomaly():
            with pytest.raises(RuntimeError, match="returned nan values in its 0th output"):
                f(x).backward()


def test_docstrings():
    for obj in (gt.autograd.detect_anomaly, gt.autograd.set_detect_anomaly,
                gt.is_anomaly_enabled, gt.is_anomaly_check_nan_enabled):
        assert obj.__doc__
