"""nn.RMSNorm (and F.rms_norm behind it) against PyTorch: values, gradients of input and
weight, eps=None (the dtype's epsilon), reprs, state_dict, errors, compiled equal to eager."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt

from . import close, compare_module, same_error, torch

RNG = np.random.default_rng(5)


@pytest.mark.parametrize("shape,normalized", [((3, 4), 4), ((2, 3, 4), (3, 4)),
                                              ((2, 5), [5]), ((4,), 4)], ids=str)
@pytest.mark.parametrize("kwargs", [{}, dict(eps=1e-3), dict(elementwise_affine=False)],
                         ids=str)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_rms_norm_module(shape, normalized, kwargs, dtype):
    x = (RNG.standard_normal(shape) * 2).astype(dtype)
    compare_module(lambda lib: lib.nn.RMSNorm(normalized, dtype=getattr(lib, dtype), **kwargs),
                   [x])


def test_rms_norm_trained_weight():
    """After a weight change the scaled output and the weight's gradient still agree."""
    compare_module(lambda lib: _scaled(lib), [RNG.standard_normal((3, 6))])


def _scaled(lib):
    m = lib.nn.RMSNorm(6, dtype=lib.float64)
    with lib.no_grad():
        m.weight.copy_(lib.linspace(-1, 2, 6, dtype=lib.float64))
    return m


def test_repr_and_state_dict():
    for make in (lambda lib: lib.nn.RMSNorm(3),
                 lambda lib: lib.nn.RMSNorm([3, 4], eps=1e-3, elementwise_affine=False)):
        assert repr(make(gt)) == repr(make(torch))
        assert list(make(gt).state_dict()) == list(make(torch).state_dict())


def test_errors_match_torch():
    same_error(lambda lib: lib.nn.RMSNorm(4)(lib.zeros(2, 3)))
    same_error(lambda lib: lib.nn.RMSNorm((2, 4))(lib.zeros(2, 3, 4)))


def test_compiled_equals_eager():
    model = gt.nn.Sequential(gt.nn.Linear(6, 6), gt.nn.RMSNorm(6))
    x = gt.tensor(RNG.standard_normal((4, 6)).astype(np.float32))
    close(gt.compile(model)(x), model(x))
