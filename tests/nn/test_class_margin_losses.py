"""MultiMarginLoss / F.multi_margin_loss and MultiLabelMarginLoss / F.multilabel_margin_loss
against PyTorch: float64 values and input gradients over p, margin, weight, reductions and
unbatched inputs; reprs; errors; compiled equal to eager."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt

from . import close, same_error, torch
from .loss_helpers import compare_loss

RNG = np.random.default_rng(9)
REDUCTIONS = ["mean", "sum", "none"]


def _targets(n, c):
    return RNG.integers(0, c, size=n)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", [{}, {"p": 2}, {"margin": 0.3}, {"p": 2, "margin": 2.0}],
                         ids=str)
@pytest.mark.parametrize("weighted", [False, True])
def test_multi_margin_loss(reduction, options, weighted):
    x, y = RNG.standard_normal((5, 4)), _targets(5, 4)
    w = RNG.uniform(0.5, 2, 4) if weighted else None

    def make(lib):
        weight = None if w is None else lib.tensor(w)
        return lambda a, b: lib.nn.MultiMarginLoss(weight=weight, reduction=reduction,
                                                   **options)(a, b)
    compare_loss(make, [x, y])
    compare_loss(lambda lib: lambda a, b: lib.nn.functional.multi_margin_loss(
        a, b, weight=None if w is None else lib.tensor(w), reduction=reduction, **options),
        [x, y])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multi_margin_loss_unbatched_float32_and_ties(reduction):
    compare_loss(lambda lib: lambda a, b: lib.nn.functional.multi_margin_loss(
        a, b, reduction=reduction), [RNG.standard_normal(6), np.array(2)])
    x = RNG.standard_normal((4, 3)).astype(np.float32)
    compare_loss(lambda lib: lib.nn.MultiMarginLoss(reduction=reduction), [x, _targets(4, 3)],
                 rtol=1e-5, atol=1e-6)
    ties = np.array([[0.0, 1.0, 0.0], [2.0, 1.0, 2.0]])  # margin terms of exactly zero
    compare_loss(lambda lib: lib.nn.MultiMarginLoss(reduction=reduction), [ties,
                                                                          np.array([1, 0])])


def _label_targets(n, c):
    """Rows of distinct class indices, -1-terminated (anything after the -1 is ignored)."""
    rows = []
    for _ in range(n):
        k = RNG.integers(0, c + 1)
        row = list(RNG.permutation(c)[:k]) + [-1] * (c - k)
        if k < c - 1:
            row[k + 1] = RNG.integers(0, c)  # after the terminator: ignored
        rows.append(row)
    return np.array(rows, dtype=np.int64)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multilabel_margin_loss(reduction):
    x, t = RNG.standard_normal((6, 5)), _label_targets(6, 5)
    compare_loss(lambda lib: lib.nn.MultiLabelMarginLoss(reduction=reduction), [x, t])
    compare_loss(lambda lib: lambda a, b: lib.nn.functional.multilabel_margin_loss(
        a, b, reduction=reduction), [x, np.array([[3, 0, -1, 1, 2], [0, 1, 2, 3, 4],
                                                  [-1, 0, 0, 0, 0], [1, 1, -1, 2, 0],
                                                  [4, -1, 3, 3, 3], [2, 0, 1, 3, -1]])])
    compare_loss(lambda lib: lambda a, b: lib.nn.functional.multilabel_margin_loss(
        a, b, reduction=reduction), [RNG.standard_normal(4), np.array([2, 0, -1, 3])])


def test_reprs_and_state_dict():
    for make in (lambda lib: lib.nn.MultiMarginLoss(),
                 lambda lib: lib.nn.MultiMarginLoss(p=2, margin=0.5, weight=lib.ones(3)),
                 lambda lib: lib.nn.MultiLabelMarginLoss(reduction="sum")):
        assert repr(make(gt)) == repr(make(torch))
        assert list(make(gt).state_dict()) == list(make(torch).state_dict())


ERRORS = [
    lambda lib, F: F.multi_margin_loss(lib.zeros(3, 4), lib.tensor([0, 1, 2]), p=3),
    lambda lib, F: F.multi_margin_loss(lib.zeros(3, 4), lib.tensor([0, 1, 2]),
                                       weight=lib.ones(2, 2)),
    lambda lib, F: F.multi_margin_loss(lib.zeros(3, 4), lib.tensor([0, 4, 1])),
    lambda lib, F: F.multi_margin_loss(lib.zeros(3, 4), lib.tensor([0, -1, 1])),
    lambda lib, F: F.multi_margin_loss(lib.zeros(3, 4), lib.tensor([0, 1])),
    lambda lib, F: F.multi_margin_loss(lib.zeros(2, 3, 4), lib.tensor([0, 1])),
    lambda lib, F: F.multi_margin_loss(lib.zeros(3, 4), lib.tensor([0, 1, 2]), reduction="x"),
    lambda lib, F: F.multi_margin_loss(lib.zeros(3, 4), lib.tensor([0., 1., 2.])),
    lambda lib, F: F.multi_margin_loss(lib.zeros(3, 4), lib.tensor([0, 1, 2]),
                                       weight=lib.ones(3)),
    lambda lib, F: F.multi_margin_loss(lib.zeros(3, 4, dtype=lib.int32), lib.tensor([0, 1, 2])),
    lambda lib, F: lib.nn.MultiMarginLoss(p=0),
    lambda lib, F: lib.nn.MultiMarginLoss(weight=lib.ones(2, 2)),
    lambda lib, F: F.multilabel_margin_loss(lib.zeros(3, 4), lib.zeros(3, 3, dtype=lib.int64)),
    lambda lib, F: F.multilabel_margin_loss(lib.zeros(1, 4), lib.tensor([[4, 0, -1, 1]])),
    lambda lib, F: F.multilabel_margin_loss(lib.zeros(1, 4), lib.tensor([[1., 0., -1., 1.]])),
    lambda lib, F: F.multilabel_margin_loss(lib.zeros(2, 3, 4),
                                            lib.zeros(2, 3, 4, dtype=lib.int64)),
    lambda lib, F: F.multilabel_margin_loss(lib.zeros(3, 4, dtype=lib.int32),
                                            lib.zeros(3, 4, dtype=lib.int64)),
]


@pytest.mark.parametrize("fn", ERRORS)
def test_errors_match_torch(fn):
    same_error(lambda lib: fn(lib, lib.nn.functional))


def test_compiled_equals_eager():
    x = gt.tensor(RNG.standard_normal((5, 4)).astype(np.float32))
    y = gt.tensor(_targets(5, 4))
    t = gt.tensor(_label_targets(5, 4))
    multi = gt.nn.MultiMarginLoss(p=2, weight=gt.tensor([1.0, 2.0, 0.5, 1.0]))
    multilabel = gt.nn.MultiLabelMarginLoss()

    def losses(x, y, t):
        return multi(x * 2, y) + multilabel(x, t)

    close(gt.compile(losses)(x, y, t), losses(x, y, t), 1e-5, 1e-6)
