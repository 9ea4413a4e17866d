"""nn.CTCLoss / F.ctc_loss against PyTorch: losses and gradients (through log_softmax and
on the log-probabilities directly, where PyTorch's gradient has its own form), padded and
concatenated targets, reductions, zero_infinity, blank, unbatched inputs and errors."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt

from . import npy, same_error, torch

RNG = np.random.default_rng(23)
STEPS, BATCH, CLASSES = 7, 3, 5
LOGITS = RNG.standard_normal((STEPS, BATCH, CLASSES)).astype(np.float32)
PADDED = np.array([[1, 2, 2], [3, 1, 0], [4, 4, 4]])


def _run(lib, logits, targets, input_lengths, target_lengths, from_logits, module, **options):
    x = lib.tensor(logits, requires_grad=True)
    log_probs = x.log_softmax(-1) if from_logits else x

    def as_lengths(value):
        return lib.tensor(value) if isinstance(value, np.ndarray) else value

    args = (log_probs, lib.tensor(targets), as_lengths(input_lengths),
            as_lengths(target_lengths))
    if module:
        loss = lib.nn.CTCLoss(**options)(*args)
    else:
        loss = lib.nn.functional.ctc_loss(*args, **options)
    weights = lib.arange(1.0, loss.numel() + 1).reshape(loss.shape).to(loss.dtype)
    (loss * weights).sum().backward()
    return npy(loss), npy(x.grad)


def _log_probs(dtype=np.float32):
    return npy(torch.tensor(LOGITS).log_softmax(-1)).astype(dtype)


CASES = [
    ("padded, from logits", LOGITS, PADDED, [7, 6, 5], [3, 2, 1], True, {}),
    ("reduction none", _log_probs(), PADDED, (7, 6, 5), (3, 2, 1), False,
     dict(reduction="none")),
    ("concatenated targets", _log_probs(), np.array([1, 2, 2, 3, 1, 4]),
     np.array([7, 6, 7]), np.array([3, 2, 1]), False, dict(reduction="sum")),
    ("zero_infinity", _log_probs(), np.array([[1, 1, 1], [3, 1, 0], [4, 4, 4]]), [2, 6, 5],
     [3, 2, 0], False, dict(reduction="mean", zero_infinity=True)),
    ("blank 4", _log_probs(), np.array([[1, 1, 1], [3, 1, 0], [0, 0, 0]]), [7, 6, 5],
     [3, 2, 2], False, dict(blank=4)),
    ("unbatched", _log_probs()[:, 0], np.array([1, 2]), np.array(7), np.array(2), False,
     dict(reduction="none")),
    ("float64", _log_probs(np.float64), PADDED, [7, 6, 5], [3, 2, 1], False, {}),
]


@pytest.mark.parametrize("module", [False, True], ids=["functional", "module"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c[0])
def test_ctc_loss_matches_pytorch(case, module):
    _, *args, options = case
    theirs = _run(torch, *args, module, **options)
    ours = _run(gt, *args, module, **options)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-5, atol=1e-5)
    assert ours[0].dtype == theirs[0].dtype
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-4, atol=1e-5)


def test_infinite_loss_without_zero_infinity():
    args = (_log_probs(), np.array([[1, 1, 1], [3, 1, 0], [4, 4, 4]]), [2, 6, 5], [3, 2, 0],
            False, False)
    theirs, ours = _run(torch, *args, reduction="none"), _run(gt, *args, reduction="none")
    assert np.isinf(ours[0][0]) and np.isinf(theirs[0][0])
    np.testing.assert_allclose(ours[0][1:], theirs[0][1:], rtol=1e-5)
    np.testing.assert_array_equal(np.isnan(ours[1]), np.isnan(theirs[1]))


def test_repr():
    assert repr(gt.nn.CTCLoss(blank=2)) == repr(torch.nn.CTCLoss(blank=2)) == "CTCLoss()"


@pytest.mark.parametrize("call", [
    lambda F, lp, lib: F.ctc_loss(lp, lib.tensor([[1, 2], [1, 1]]), [6, 5], [2, 2]),
    lambda F, lp, lib: F.ctc_loss(lp, lib.tensor([[1, 2], [1, 1]]), [5, 5], [3, 2]),
    lambda F, lp, lib: F.ctc_loss(lp, lib.tensor([[1, 2], [1, 1]]), [5], [2, 2]),
    lambda F, lp, lib: F.ctc_loss(lp, lib.tensor([[1, 2], [1, 1]]), [5, 5], [2, 2], blank=4),
    lambda F, lp, lib: F.ctc_loss(lp, lib.tensor([[1, 2], [1, 1]]), [5, 5], [2, 2],
                                  reduction="avg"),
    lambda F, lp, lib: F.ctc_loss(lp, lib.tensor([[1, 2], [1, 1]]), [5, 5], [-1, 2]),
    lambda F, lp, lib: F.ctc_loss(lp, lib.tensor([[1, 2], [1, 1]]), [5, -1], [1, 2]),
    lambda F, lp, lib: F.ctc_loss(lp, lib.tensor([1, 2]), [5, 5], [2, 2]),
], ids=lambda f: "")
def test_errors_match_pytorch(call):
    log_probs = _log_probs()[:5, :2, :4]
    same_error(lambda lib: call(lib.nn.functional, lib.tensor(log_probs), lib))


def test_compiled_function_runs_ctc_loss_eagerly():
    linear = gt.nn.Linear(4, CLASSES)

    def loss_of(x):
        return gt.nn.functional.ctc_loss(linear(x).log_softmax(-1), gt.tensor(PADDED[:2]),
                                         [6, 6], [3, 2])

    step = gt.compile(loss_of)
    x = gt.randn(6, 2, 4)
    np.testing.assert_allclose(npy(step(x)), npy(loss_of(x)), rtol=1e-6)
    assert "ctc_loss" in step.stats.graph_breaks[0]
