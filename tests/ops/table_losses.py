"""Op-table rows: the loss primitives (nll_loss, nll_loss2d, binary_cross_entropy(+logits),
mse_loss, smooth_l1_loss, huber_loss), through torch.nn.functional's entry points."""

from __future__ import annotations

import warnings

import numpy as np

from .harness import Row

REDUCTIONS = ("mean", "sum", "none")


def _classes(rng, case, dtype):
    """case = (input shape, with_weight): log-probabilities, int64 targets (a few set to
    the ignore index 1 of the ignore rows), optional class weights."""
    shape, weighted = case
    logp = rng.uniform(-3, 0, size=shape).astype(dtype)
    classes = shape[0] if len(shape) == 1 else shape[1]
    tshape = () if len(shape) == 1 else (shape[0],) + tuple(shape[2:])
    target = rng.integers(0, classes, size=tshape).astype(np.int64)
    out = [logp, target]
    if weighted:
        out.append(rng.uniform(0.5, 2.0, size=(classes,)).astype(dtype))
    return out


def _nll(reduction, ignore_index=-100):
    def fn(m, logp, target, weight=None):
        return m.nn.functional.nll_loss(logp, target, weight, ignore_index=ignore_index,
                                        reduction=reduction)
    return fn


def _nll_all(m, logp, target, weight=None):
    F = m.nn.functional
    return tuple(F.nll_loss(logp, target, weight, reduction=r) for r in REDUCTIONS)


NLL_CASES = [((4, 5), False), ((4, 5), True), ((5,), False), ((5,), True), ((1, 3), True),
             ((0, 3), False)]
NLL2D_CASES = [((2, 3, 4, 5), False), ((2, 3, 4, 5), True), ((2, 3, 4), True),
               ((2, 3, 2, 2, 2), False), ((0, 3, 2, 2), False)]


def _probabilities(rng, case, dtype):
    """case = (shape, with_weight): probabilities away from 0/1, soft targets, weight."""
    shape, weighted = case
    out = [rng.uniform(0.05, 0.95, size=shape).astype(dtype),
           rng.uniform(0, 1, size=shape).astype(dtype)]
    if weighted:
        out.append(rng.uniform(0.5, 2, size=shape[-1:] if shape else ()).astype(dtype))
    return out


def _bce(m, p, y, weight=None):
    F = m.nn.functional
    return tuple(F.binary_cross_entropy(p, y, weight, reduction=r) for r in REDUCTIONS)


def _logits(rng, case, dtype):
    """case = (shape, weight?, pos_weight?): logits, soft targets, per-class weights."""
    shape, weighted, pos = case
    out = [rng.uniform(-4, 4, size=shape).astype(dtype),
           rng.uniform(0, 1, size=shape).astype(dtype)]
    tail = shape[-1:] if shape else ()
    out.append(rng.uniform(0.5, 2, size=tail).astype(dtype) if weighted else None)
    out.append(rng.uniform(0.5, 3, size=tail).astype(dtype) if pos else None)
    return out


def _bce_logits(m, x, y, weight, pos_weight):
    F = m.nn.functional
    return tuple(F.binary_cross_entropy_with_logits(x, y, weight, reduction=r,
                                                    pos_weight=pos_weight)
                 for r in REDUCTIONS)


def _regression(fn):
    def run(m, a, b):
        F = m.nn.functional
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the broadcasting cases warn in both libraries
            return tuple(fn(F, a, b, r) for r in REDUCTIONS)
    return run


REGRESSION_CASES = [((3, 4), (3, 4)), ((), ()), ((5,), (5,)), ((0, 3), (0, 3)),
                    ((2, 3), (3,)), ((3, 1), (1, 4))]

ROWS = [
    Row("nll_loss", _nll_all, NLL_CASES, dtypes=("float32", "float64"), make=_classes,
        grad_inputs=(0,)),
    Row("nll_loss", _nll("mean", ignore_index=1), [((6, 4), False), ((6, 4), True),
                                                   ((4,), True)],
        make=_classes, grad_inputs=(0,), name="nll_loss_ignore_index"),
    Row("nll_loss", lambda m, x, t, w=None: m.nn.functional.cross_entropy(x, t, w),
        [((4, 5), False), ((4, 5), True), ((5,), False)], make=_classes, grad_inputs=(0,),
        name="nll_loss_cross_entropy"),
    Row("nll_loss2d", _nll_all, NLL2D_CASES, dtypes=("float32", "float64"), make=_classes,
        grad_inputs=(0,)),
    Row("nll_loss2d", _nll("mean", ignore_index=1), [((2, 3, 4, 5), True), ((2, 4, 3), False)],
        make=_classes, grad_inputs=(0,), name="nll_loss2d_ignore_index"),
    Row("binary_cross_entropy", _bce, [((3, 4), False), ((3, 4), True), ((), False),
                                       ((5,), True), ((0, 2), False)],
        dtypes=("float32", "float64"), make=_probabilities, grad_inputs=(0, 1)),
    Row("binary_cross_entropy_with_logits", _bce_logits,
        [((3, 4), False, False), ((3, 4), True, False), ((3, 4), False, True),
         ((3, 4), True, True), ((), False, False), ((0, 2), False, True)],
        dtypes=("float32", "float64"), make=_logits, grad_inputs=(0, 1)),
    Row("mse_loss", _regression(lambda F, a, b, r: F.mse_loss(a, b, reduction=r)),
        REGRESSION_CASES, dtypes=("float32", "float64")),
    Row("smooth_l1_loss",
        _regression(lambda F, a, b, r: (F.smooth_l1_loss(a, b, reduction=r),
                                        F.smooth_l1_loss(a, b, reduction=r, beta=0.5))),
        REGRESSION_CASES, dtypes=("float32", "float64")),
    Row("huber_loss",
        _regression(lambda F, a, b, r: (F.huber_loss(a, b, reduction=r),
                                        F.huber_loss(a, b, reduction=r, delta=0.7))),
        REGRESSION_CASES, dtypes=("float32", "float64")),
]
