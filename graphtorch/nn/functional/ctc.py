"""`ctc_loss`: the Connectionist Temporal Classification loss, as ATen computes it on the
CPU (the forward-backward recursion over the blank-extended target, in log space).

The gradient is ATen's: exp(log_probs) - exp(log(sum alpha*beta) + nll - log_probs) per
time step and class, zero past each input length (and for infinite losses with
zero_infinity). Its exp(log_probs) term vanishes through a log_softmax in front, as it
does in PyTorch. The recursion runs on NumPy values, so a trace of it runs eagerly.
"""

from __future__ import annotations

import numpy as np

from ...autograd.function import Function
from ...functions.creation import tensor
from ...ops import losses as losses_ops
from ...tensor import Tensor
from ...trace_state import TracingError, current_tracer, user_frame, where

__all__ = ["ctc_loss"]


def _logsumexp(*terms):
    stacked = np.stack(terms)
    peak = stacked.max(axis=0)
    safe = np.where(np.isfinite(peak), peak, 0.0)
    with np.errstate(divide="ignore"):
        return np.log(np.exp(stacked - safe).sum(axis=0)) + safe


def _shifted(values: np.ndarray, by: int) -> np.ndarray:
    """values moved `by` places right (left for negative `by`), -inf filling the gap."""
    pad = np.full(abs(by), -np.inf)
    if by >= 0:
        return np.concatenate((pad, values))[:len(values)]
    return np.concatenate((values, pad))[-by:]


def _extended(target: np.ndarray, blank: int) -> np.ndarray:
    """blank, l1, blank, l2, ..., blank."""
    out = np.full(2 * len(target) + 1, blank, dtype=np.int64)
    out[1::2] = target
    return out


def _alpha_beta(lp: np.ndarray, labels: np.ndarray, length: int, blank: int):
    """Log alpha and log beta (length x len(labels)) of one sequence; lp is (T, C)."""
    size = len(labels)
    # a label may skip the blank before it unless it repeats the label two back
    skip = np.zeros(size, dtype=bool)
    skip[2:] = (labels[2:] != blank) & (labels[2:] != labels[:-2])
    alpha = np.full((length, size), -np.inf)
    beta = np.full((length, size), -np.inf)
    if length == 0:
        return alpha, beta
    alpha[0, :min(2, size)] = lp[0, labels[:min(2, size)]]
    for t in range(1, length):
        prev = alpha[t - 1]
        two_back = np.where(skip, _shifted(prev, 2), -np.inf)
        alpha[t] = _logsumexp(prev, _shifted(prev, 1), two_back) + lp[t, labels]
    beta[length - 1, max(0, size - 2):] = lp[length - 1, labels[max(0, size - 2):]]
    skip_next = np.zeros(size, dtype=bool)
    skip_next[:-2] = skip[2:]
    for t in range(length - 2, -1, -1):
        nxt = beta[t + 1]
        two_ahead = np.where(skip_next, _shifted(nxt, -2), -np.inf)
        beta[t] = _logsumexp(nxt, _shifted(nxt, -1), two_ahead) + lp[t, labels]
    return alpha, beta


def _targets_of(targets: np.ndarray, target_lengths) -> list:
    if targets.ndim == 2:
        return [targets[n, :length] for n, length in enumerate(target_lengths)]
    offsets = np.concatenate(([0], np.cumsum(target_lengths)))
    return [targets[offsets[n]:offsets[n + 1]] for n in range(len(target_lengths))]


def _forward_backward(lp, targets, input_lengths, target_lengths, blank, zero_infinity):
    """Per-sequence negative log likelihoods and d nll / d log_probs (ATen's form)."""
    steps, batch, classes = lp.shape
    nll = np.zeros(batch)
    grad = np.zeros_like(lp)
    for n, target in enumerate(_targets_of(targets, target_lengths)):
        if target.size and (target.min() < 0 or target.max() >= classes):
            raise RuntimeError(f"ctc_loss: target index out of range [0, {classes})")
        labels = _extended(target, blank)
        length = int(input_lengths[n])
        alpha, beta = _alpha_beta(lp[:, n], labels, length, blank)
        ends = alpha[length - 1, -2:] if length else np.array([0.0 if not target.size
                                                                else -np.inf])
        nll[n] = -_logsumexp(*ends) if length else (0.0 if not target.size else np.inf)
        if not length or (zero_infinity and np.isinf(nll[n])):
            continue
        summed = np.full((length, classes), -np.inf)
        for s, label in enumerate(labels):
            summed[:, label] = _logsumexp(summed[:, label], alpha[:, s] + beta[:, s])
        with np.errstate(over="ignore", invalid="ignore"):
            grad[:length, n] = np.exp(lp[:length, n]) - np.exp(summed + nll[n]
                                                                - lp[:length, n])
    if zero_infinity:
        nll[np.isinf(nll)] = 0.0
    return nll, grad


class _CTCLoss(Function):
    @staticmethod
    def forward(ctx, log_probs, targets, input_lengths, target_lengths, blank, zero_infinity):
        lp = np.asarray(log_probs.detach().cpu().numpy(), dtype=np.float64)
        nll, grad = _forward_backward(lp, targets, input_lengths, target_lengths, blank,
                                      zero_infinity)
        dtype = log_probs.dtype
        ctx.grad = tensor(grad, dtype=dtype, device=log_probs.device)
        return tensor(nll, dtype=dtype, device=log_probs.device)

    @staticmethod
    def backward(ctx, grad_output):
        return ctx.grad * grad_output.reshape(1, -1, 1), None, None, None, None, None


def _lengths(value, name: str) -> np.ndarray:
    if isinstance(value, Tensor):
        return np.asarray(value.detach().cpu().numpy(), dtype=np.int64).reshape(-1)
    if isinstance(value, int):
        raise TypeError(f"ctc_loss(): argument '{name}' must be tuple of ints or Tensor, not "
                        "int")
    return np.asarray(list(value), dtype=np.int64).reshape(-1)


def _check(lp_shape, targets, input_lengths, target_lengths, blank):
    steps, batch, classes = lp_shape
    if not 0 <= blank < classes:
        raise RuntimeError("blank must be in label range")
    if len(input_lengths) != batch:
        raise RuntimeError("input_lengths must be of size batch_size")
    if len(target_lengths) != batch:
        raise RuntimeError("target_lengths must be of size batch_size")
    where = "(while checking arguments for ctc_loss_allocate_outputs)"
    for name, lengths, bound in (("input_lengths", input_lengths, steps),
                                 ("target_lengths", target_lengths, None)):
        for value in lengths:
            if value < 0:
                raise RuntimeError(f"Expected {name} to have value at least 0, but got value "
                                   f"{value} {where}")
            if bound is not None and value > bound:
                raise RuntimeError(f"Expected {name} to have value at most {bound}, but got "
                                   f"value {value} {where}")
    if targets.ndim == 2:
        longest = int(target_lengths.max()) if batch else 0
        if targets.shape[1] < longest:
            raise RuntimeError(f"Expected tensor to have size at least {longest} at dimension "
                               f"1, but got size {targets.shape[1]} for argument #2 'targets' "
                               f"{where}")
    elif targets.shape[0] != int(target_lengths.sum()):
        raise RuntimeError(f"Expected tensor to have size {int(target_lengths.sum())} at "
                           f"dimension 0, but got size {targets.shape[0]} for argument #2 "
                           f"'targets' {where}")


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean",
             zero_infinity=False):
    """CTC loss of (T, N, C) log-probabilities (or unbatched (T, C)) against padded (N, S)
    or concatenated targets; "mean" divides each loss by its target length first.

    >>> lp = gt.full((2, 1, 2), 0.5).log()
    >>> F.ctc_loss(lp, gt.tensor([[1]]), [2], [1], reduction="sum")
    tensor(0.2877)
    """
    losses_ops.check_reduction(reduction)
    if current_tracer() is not None:
        raise TracingError(f"{where(user_frame())}: ctc_loss computes its recursion on the "
                           "values of its inputs, which a graph cannot replay; it runs eagerly")
    unbatched = log_probs.dim() == 2
    if unbatched:
        log_probs = log_probs.unsqueeze(1)
        targets = targets.unsqueeze(0)
        input_lengths = input_lengths.reshape(1) if isinstance(input_lengths, Tensor) \
            else input_lengths
        target_lengths = target_lengths.reshape(1) if isinstance(target_lengths, Tensor) \
            else target_lengths
    inputs, wanted = _lengths(input_lengths, "input_lengths"), \
        _lengths(target_lengths, "target_lengths")
    labels = np.asarray(targets.detach().cpu().numpy()).astype(np.int64)
    _check(tuple(log_probs.shape), labels, inputs, wanted, blank)
    losses = _CTCLoss.apply(log_probs, labels, inputs, wanted, blank, zero_infinity)
    if reduction == "mean":
        divisor = tensor(np.maximum(wanted, 1), dtype=losses.dtype, device=losses.device)
        return (losses / divisor).mean()
    if reduction == "sum":
        return losses.sum()
    return losses.squeeze(0) if unbatched else losses
