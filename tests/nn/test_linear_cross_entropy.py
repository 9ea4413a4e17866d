"""F.linear_cross_entropy / nn.LinearCrossEntropyLoss / nn.LinearCrossEntropyOptions against
PyTorch 2.13: values and gradients for class indices, probabilities, K-dim losses, bias,
class weights, label smoothing and ignore_index; the options' validation and warnings."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest

import graphtorch as gt
from tests.autograd.diff import same, torch
from tests.nn.loss_helpers import compare_loss

rng = np.random.default_rng(0)
X = rng.standard_normal((6, 4))
W = rng.standard_normal((5, 4))
W_K = rng.standard_normal((5, 2, 3, 4))
B = rng.standard_normal(5)
CLASS_WEIGHT = rng.uniform(0.5, 2.0, 5)
TARGET = np.array([0, 4, 2, -100, 1, 3])
PROBS = rng.dirichlet(np.ones(5), size=6)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("options", [None, "chunked"])
def test_class_indices_with_bias_and_weight(reduction, options):
    def make(lib):
        opts = lib.nn.LinearCrossEntropyOptions(batch_chunk_size=2) if options else None
        return lambda x, w, b: lib.nn.functional.linear_cross_entropy(
            x, w, lib.tensor(TARGET), linear_bias=b, weight=lib.tensor(CLASS_WEIGHT),
            reduction=reduction, options=opts)
    compare_loss(make, [X, W, B], grad_positions=(0, 1, 2))


def test_probabilities_label_smoothing_and_unbatched():
    compare_loss(lambda lib: lambda x, w, t: lib.nn.functional.linear_cross_entropy(
        x, w, t, label_smoothing=0.2), [X, W, PROBS], grad_positions=(0, 1))
    compare_loss(lambda lib: lambda x, w: lib.nn.functional.linear_cross_entropy(
        x, w, lib.tensor(3), ignore_index=3), [X[0], W], grad_positions=(0, 1))


def test_k_dimensional_loss_module_and_state_dict():
    target = rng.integers(0, 5, (6, 2, 3))
    for bias in (False, True):
        def make(lib, bias=bias):
            lib.manual_seed(0)
            loss = lib.nn.LinearCrossEntropyLoss(4, 5, out_features=(2, 3), bias=bias,
                                                 dtype=lib.float64)
            with lib.no_grad():
                loss.linear.weight.copy_(lib.tensor(W_K.reshape(30, 4)))
                if bias:
                    loss.linear.bias.fill_(0.5)
            return lambda x: loss(x, lib.tensor(target))
        compare_loss(make, [X], grad_positions=(0,))
    ours = gt.nn.LinearCrossEntropyLoss(4, 5, out_features=(2, 3), bias=True)
    theirs = torch.nn.LinearCrossEntropyLoss(4, 5, out_features=(2, 3), bias=True)
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == \
           {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("call, match", [
    (lambda lib: lib.nn.functional.linear_cross_entropy(
        lib.ones(2, 2, 3), lib.ones(5, 3), lib.zeros(2, dtype=lib.long)), "dimensionality 1 or 2"),
    (lambda lib: lib.nn.functional.linear_cross_entropy(
        lib.ones(2, 3), lib.ones(5, 4), lib.zeros(2, dtype=lib.long)), "in_features"),
    (lambda lib: lib.nn.functional.linear_cross_entropy(
        lib.ones(2, 3), lib.ones(5, 3), lib.zeros(2, dtype=lib.long),
        linear_bias=lib.ones(4)), r"expected linear_bias shape \(5,\), got \(4,\)"),
    (lambda lib: lib.nn.functional.linear_cross_entropy(
        lib.ones(3), lib.ones(5, 2, 3), lib.zeros(2, dtype=lib.long)), "requires batched"),
    (lambda lib: lib.nn.functional.linear_cross_entropy(
        lib.ones(2, 3), lib.ones(5, 3), lib.ones(2, 5) / 5, ignore_index=1),
     "ignore_index cannot be specified"),
    (lambda lib: lib.nn.LinearCrossEntropyLoss(3, 5, weight=lib.ones(4)), "weight shape"),
    (lambda lib: lib.nn.LinearCrossEntropyLoss(3, 5, label_smoothing=1.5), "label_smoothing"),
    (lambda lib: lib.nn.LinearCrossEntropyOptions(acc_policy="fast"), "invalid acc_policy"),
    (lambda lib: lib.nn.LinearCrossEntropyOptions(chunking_method="rows"),
     "invalid chunking_method"),
    (lambda lib: lib.nn.LinearCrossEntropyOptions(batch_chunk_size=0), "batch_chunk_size"),
    (lambda lib: lib.nn.LinearCrossEntropyOptions(acc_dtype=lib.int32), "acc_dtype must be"),
    (lambda lib: lib.nn.functional.linear_cross_entropy(
        lib.ones(64, 3), lib.ones(6, 3), lib.zeros(64, dtype=lib.long),
        options=lib.nn.LinearCrossEntropyOptions(batch_chunk_size=3,
                                                 chunking_method="aspect_ratio")),
     "give different chunk sizes"),
])
def test_errors_as_torch(call, match):
    same(call, match=match)


def test_options_fall_back_with_torchs_warning():
    for lib in (torch, gt):
        opts = lib.nn.LinearCrossEntropyOptions()
        with pytest.warns(UserWarning, match="``options`` ignored; chunked path needs"):
            lib.nn.functional.linear_cross_entropy(
                lib.ones(2, 3), lib.ones(5, 3), lib.zeros(2, dtype=lib.long),
                label_smoothing=0.1, options=opts)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            lib.nn.functional.linear_cross_entropy(
                lib.ones(2, 3), lib.ones(5, 3), lib.zeros(2, dtype=lib.long), options=opts)
    with pytest.raises(dataclasses.FrozenInstanceError):
        gt.nn.LinearCrossEntropyOptions().batch_chunk_size = 3

