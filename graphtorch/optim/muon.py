"""`Muon`: momentum SGD whose update is orthogonalised by a quintic Newton-Schulz iteration
in bfloat16 (Keller Jordan), for 2-D parameters, as `torch.optim.Muon` (PyTorch 2.13's
single-tensor formulas, the iteration included, so trajectories match to bfloat16 rounding).
"""

from __future__ import annotations

import math

from ..autograd.grad_mode import no_grad
from ..functions.creation import zeros_like
from ..functions.linalg_basic import addmm
from ..tensor import Tensor
from .optimizer import (
    Optimizer,
    _add_scaled,
    _hyper_value,
    _is_traced,
    evaluate_closure,
)

__all__ = ["Muon"]

EPS = 1e-7
DEFAULT_A, DEFAULT_B, DEFAULT_C = 3.4445, -4.7750, 2.0315
DEFAULT_NS_STEPS = 5


def _zeropower_via_newtonschulz(grad, ns_coefficients, ns_steps: int, eps: float):
    """An approximate U V^T of grad = U S V^T: ns_steps of X <- aX + (bA + cA^2)X with
    A = X X^T, in bfloat16, on the wide orientation of `grad` scaled to unit norm."""
    if ns_steps >= 100:
        raise ValueError("Number of steps must be less than 100 for computational efficiency")
    if len(grad.shape) != 2:
        raise ValueError("Input tensor gradient must be a 2D matrix")
    if len(ns_coefficients) != 3:
        raise ValueError("Coefficients must be a tuple of exactly 3 values")
    a, b, c = ns_coefficients
    ortho_grad = grad.bfloat16()
    tall = grad.size(0) > grad.size(1)
    if tall:
        ortho_grad = ortho_grad.T
    ortho_grad = ortho_grad / ortho_grad.norm().clamp(min=eps)
    for _ in range(ns_steps):
        gram_matrix = ortho_grad @ ortho_grad.T
        gram_update = addmm(gram_matrix, gram_matrix, gram_matrix, beta=b, alpha=c)
        ortho_grad = addmm(ortho_grad, gram_update, ortho_grad, beta=a)
    return ortho_grad.T if tall else ortho_grad


def _adjust_lr(lr, adjust_lr_fn, param_shape):
    """Scale lr so that the orthogonalised update's RMS does not depend on the shape:
    sqrt(max(1, A/B)) ("original", Keller's) or 0.2 sqrt(max(A, B)) ("match_rms_adamw")."""
    rows, cols = param_shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        ratio = math.sqrt(max(1, rows / cols))
    elif adjust_lr_fn == "match_rms_adamw":
        ratio = 0.2 * math.sqrt(max(rows, cols))
    else:
        ratio = 1.0
    return lr * ratio


class Muon(Optimizer):
    """Muon (MomentUm Orthogonalized by Newton-Schulz), as torch.optim.Muon; 2-D parameters
    only (give biases and embeddings to AdamW).

    Example:
        >>> w = gt.nn.Parameter(gt.ones(4, 3))
        >>> opt = gt.optim.Muon([w], lr=0.02)
        >>> (w ** 2).sum().backward(); opt.step()
        >>> list(opt.state[w])
        ['momentum_buffer']
    """

    def __init__(self, params, lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True,
                 ns_coefficients=(DEFAULT_A, DEFAULT_B, DEFAULT_C), eps=EPS,
                 ns_steps=DEFAULT_NS_STEPS, adjust_lr_fn=None) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 <= momentum:
            raise ValueError(f"momentum should be >= 0 but is: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight decay should be >= 0 but is: {weight_decay}")
        if adjust_lr_fn is not None and adjust_lr_fn not in ["original", "match_rms_adamw"]:
            raise ValueError(f"Adjust learning rate function {adjust_lr_fn} is not supported")
        defaults = {"lr": lr, "weight_decay": weight_decay, "momentum": momentum,
                    "nesterov": nesterov, "ns_coefficients": ns_coefficients, "eps": eps,
                    "ns_steps": ns_steps, "adjust_lr_fn": adjust_lr_fn}
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim != 2:
                    raise ValueError("Muon only supports 2D parameters whereas we found a "
                                     f"parameter with size: {p.size()}")

    _creates_state_lazily = True  # the momentum buffer at the first step

    @no_grad()
    def step(self, closure=None):
        """Perform one optimization step; `closure` re-evaluates and returns the loss."""
        loss = evaluate_closure(closure)
        for group in self.param_groups:
            params, grads, bufs = [], [], []
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.is_complex():
                    raise RuntimeError("Muon does not support complex parameters")
                params.append(p)
                grads.append(p.grad)
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = zeros_like(p.grad)
                bufs.append(state["momentum_buffer"])
            muon(params, grads, bufs, lr=group["lr"], weight_decay=group["weight_decay"],
                 momentum=group["momentum"], nesterov=group["nesterov"],
                 ns_coefficients=group["ns_coefficients"], eps=group["eps"],
                 ns_steps=group["ns_steps"], adjust_lr_fn=group["adjust_lr_fn"])
        return loss


def muon(params, grads, muon_momentum_bufs, *, lr, weight_decay, momentum, nesterov,
         ns_coefficients, ns_steps, eps, adjust_lr_fn, foreach=None, **_ignored) -> None:
    """Functional Muon update of `params` in place (PyTorch's single-tensor algorithm)."""
    if foreach:
        raise RuntimeError("Foreach is not supported for Muon yet")
    lr, weight_decay, momentum = map(_hyper_value, (lr, weight_decay, momentum))
    for param, grad, buf in zip(params, grads, muon_momentum_bufs):
        if grad.ndim != 2:
            raise ValueError("Param gradient must be a 2D matrix")
        buf.lerp_(grad, _cast(1 - momentum, buf))
        update = grad.lerp(buf, _cast(momentum, buf)) if nesterov else buf
        update = _zeropower_via_newtonschulz(update, ns_coefficients, ns_steps, eps)
        adjusted_lr = _adjust_lr(lr, adjust_lr_fn, param.shape)
        param.mul_(1 - lr * weight_decay)
        # PyTorch adds the bfloat16 update in the parameter's dtype
        _add_scaled(param, update.to(param.dtype), -adjusted_lr)


def _cast(value, t):
    """A lerp weight: a number eagerly; a graph value cast to `t`'s dtype as PyTorch casts
    the Python float."""
    return value.to(t.dtype) if _is_traced(value) else value
