"""MaxPool3d, AvgPool3d, AdaptiveAvgPool3d and AdaptiveMaxPool3d against PyTorch: values,
gradients, indices, reprs, errors, and compiled equal to eager."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt

from . import close, compare_module, same_error, torch

RNG = np.random.default_rng(3)

CASES = [
    ("MaxPool3d", (2,), {}),
    ("MaxPool3d", ((2, 3, 2),), dict(stride=1, padding=(1, 1, 0), dilation=(1, 1, 2))),
    ("MaxPool3d", (3,), dict(stride=2, ceil_mode=True)),
    ("AvgPool3d", (2,), {}),
    ("AvgPool3d", (3,), dict(stride=2, padding=1, count_include_pad=False)),
    ("AvgPool3d", ((2, 2, 3),), dict(stride=1, ceil_mode=True, divisor_override=5)),
    ("AdaptiveAvgPool3d", ((2, 3, 1),), {}),
    ("AdaptiveAvgPool3d", ((None, 2, 3),), {}),
    ("AdaptiveMaxPool3d", (2,), {}),
    ("AdaptiveMaxPool3d", ((3, None, 2),), {}),
]


@pytest.mark.parametrize("name,args,kwargs", CASES, ids=str)
@pytest.mark.parametrize("shape", [(2, 3, 5, 6, 7), (3, 6, 5, 5)], ids=str)
def test_pool3d(name, args, kwargs, shape):
    compare_module(lambda lib: getattr(lib.nn, name)(*args, **kwargs),
                   [RNG.standard_normal(shape)])
    assert repr(getattr(gt.nn, name)(*args, **kwargs)) == \
        repr(getattr(torch.nn, name)(*args, **kwargs))


@pytest.mark.parametrize("make", [lambda lib: lib.nn.MaxPool3d(2, return_indices=True),
                                  lambda lib: lib.nn.AdaptiveMaxPool3d(2, return_indices=True)])
def test_return_indices(make):
    x = RNG.standard_normal((2, 2, 4, 5, 6))
    (gv, gi), (tv, ti) = make(gt)(gt.tensor(x)), make(torch)(torch.tensor(x))
    close(gv, tv)
    close(gi, ti)


def test_errors_match_torch():
    same_error(lambda lib: lib.nn.MaxPool3d(2)(lib.zeros(2, 3)), match="")
    same_error(lambda lib: lib.nn.AvgPool3d(2)(lib.zeros(2, 3)), match="")


def test_compiled_equals_eager():
    model = gt.nn.Sequential(gt.nn.Conv3d(2, 4, 3, padding=1), gt.nn.MaxPool3d(2),
                             gt.nn.AvgPool3d(2, stride=1), gt.nn.AdaptiveAvgPool3d(1))
    x = gt.tensor(RNG.standard_normal((2, 2, 6, 6, 6)).astype(np.float32))
    close(gt.compile(model)(x), model(x), rtol=1e-5, atol=1e-6)
