"""F.unfold / F.fold (im2col / col2im) and nn.Unfold / nn.Fold against PyTorch: values,
gradients, every argument form, errors, and compiled equal to eager."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt

from . import close, compare_module, same_error, torch

RNG = np.random.default_rng(7)

UNFOLD_CASES = [
    ((2, 3, 5, 6), dict(kernel_size=2)),
    ((2, 3, 5, 6), dict(kernel_size=(2, 3), dilation=(1, 2), padding=1, stride=(2, 1))),
    ((1, 2, 7, 7), dict(kernel_size=3, dilation=2, padding=(2, 0), stride=2)),
    ((3, 4, 4), dict(kernel_size=(3, 1), stride=(1, 2))),  # unbatched
    ((0, 3, 5, 6), dict(kernel_size=2)),                    # empty batch
]


@pytest.mark.parametrize("shape,kwargs", UNFOLD_CASES, ids=str)
def test_unfold_values_and_grads(shape, kwargs):
    x = RNG.standard_normal(shape)
    compare_module(lambda lib: lib.nn.Unfold(**kwargs), [x])


@pytest.mark.parametrize("shape,kwargs", UNFOLD_CASES, ids=str)
def test_fold_inverts_the_layout_of_unfold(shape, kwargs):
    """fold(cols) for cols shaped like unfold's output; overlapping blocks add up."""
    spatial = shape[-2:]
    cols_shape = tuple(torch.nn.functional.unfold(torch.zeros(shape), **kwargs).shape)
    cols = RNG.standard_normal(cols_shape)
    compare_module(lambda lib: lib.nn.Fold(spatial, **kwargs), [cols])


def test_functional_forms_float32_and_positional_arguments():
    x = RNG.standard_normal((2, 2, 6, 5)).astype(np.float32)
    close(gt.nn.functional.unfold(gt.tensor(x), (2, 2), 1, 1, 2),
          torch.nn.functional.unfold(torch.tensor(x), (2, 2), 1, 1, 2))
    cols = RNG.standard_normal((2, 8, 12)).astype(np.float32)
    close(gt.nn.functional.fold(gt.tensor(cols), [6, 5], 2, 1, 1, 2),
          torch.nn.functional.fold(torch.tensor(cols), [6, 5], 2, 1, 1, 2))


def test_other_dtypes():
    x = RNG.standard_normal((1, 2, 3, 3))
    for dtype in ("float64", "bool", "complex64"):
        close(gt.nn.functional.unfold(gt.tensor(x).to(getattr(gt, dtype)), 2),
              torch.nn.functional.unfold(torch.tensor(x).to(getattr(torch, dtype)), 2))


def test_reprs():
    for make in (lambda lib: lib.nn.Unfold(2), lambda lib: lib.nn.Unfold((2, 3), 2, 1, (1, 2)),
                 lambda lib: lib.nn.Fold((4, 5), 2, stride=2)):
        assert repr(make(gt)) == repr(make(torch))


ERRORS = [
    lambda lib: lib.nn.functional.unfold(lib.zeros(5, 6), 2),
    lambda lib: lib.nn.functional.unfold(lib.zeros(1, 2, 3, 5, 6), 2),
    lambda lib: lib.nn.functional.unfold(lib.zeros(2, 0, 5, 6), 2),
    lambda lib: lib.nn.functional.unfold(lib.zeros(2, 3, 5, 6), 7),
    lambda lib: lib.nn.functional.unfold(lib.zeros(2, 3, 5, 6), 0),
    lambda lib: lib.nn.functional.unfold(lib.zeros(2, 3, 5, 6), 2, dilation=0),
    lambda lib: lib.nn.functional.unfold(lib.zeros(2, 3, 5, 6), 2, padding=-1),
    lambda lib: lib.nn.functional.unfold(lib.zeros(2, 3, 5, 6), 2, stride=0),
    lambda lib: lib.nn.functional.unfold(lib.zeros(2, 3, 5, 6), (2, 2, 2)),
    lambda lib: lib.nn.functional.unfold(lib.zeros(2, 3, 5, 6, dtype=lib.int32), 2),
    lambda lib: lib.nn.functional.fold(lib.zeros(2, 12, 20), (5, 7), 2),
    lambda lib: lib.nn.functional.fold(lib.zeros(2, 12, 20), (1, 1), 2),
    lambda lib: lib.nn.functional.fold(lib.zeros(2, 13, 20), (5, 6), 2),
    lambda lib: lib.nn.functional.fold(lib.zeros(1, 2, 12, 20), (5, 6), 2),
    lambda lib: lib.nn.functional.fold(lib.zeros(2, 0, 20), (5, 6), 2),
    lambda lib: lib.nn.functional.fold(lib.zeros(2, 12, 20), (5, 6, 7), 2),
    lambda lib: lib.nn.functional.fold(lib.zeros(2, 12, 20, dtype=lib.int64), (5, 6), 2),
]


@pytest.mark.parametrize("fn", ERRORS)
def test_errors_match_torch(fn):
    same_error(fn)


def test_compiled_equals_eager():
    unfold, fold = gt.nn.Unfold(3, padding=1, stride=2), gt.nn.Fold((7, 6), 3, padding=1,
                                                                    stride=2)

    def step(x):
        return fold(unfold(x) * 2.0).sum(dim=1)

    x = gt.tensor(RNG.standard_normal((2, 3, 7, 6)).astype(np.float32))
    close(gt.compile(step)(x), step(x))


@pytest.mark.parametrize("shape", [(), (5,)])
def test_low_rank_errors(shape):
    same_error(lambda lib: lib.nn.functional.unfold(lib.zeros(shape), 2))
    same_error(lambda lib: lib.nn.functional.fold(lib.zeros(shape), (2, 2), 1))
