"""`Adadelta`: step sizes from running averages of squared gradients and squared updates."""

from __future__ import annotations

from ..functions.creation import zeros_like
from ..tensor import Tensor
from .optimizer import (
    Optimizer,
    _add_scaled,
    _as_real,
    _check_capturable,
    _hyper_value,
    _new_step,
    _step_to_tensor,
    _use_grad_for_differentiable,
    evaluate_closure,
)
from .traceable import _nonzero, _plus_scaled

__all__ = ["Adadelta", "adadelta"]


class Adadelta(Optimizer):
    """Adadelta (Zeiler), as `torch.optim.Adadelta` (lr scales the update, default 1.0)."""

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *,
                 capturable=False, maximize=False, differentiable=False) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay,
                    "maximize": maximize, "capturable": capturable, "foreach": foreach,
                    "differentiable": differentiable}
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("foreach", None)
            group.setdefault("maximize", False)
            group.setdefault("differentiable", False)
            group.setdefault("capturable", False)
        _step_to_tensor(self, fused_key="")

    _creates_state_lazily = True  # per-parameter state at the first step

    @_use_grad_for_differentiable
    def step(self, closure=None):
        """Perform one optimization step; `closure` re-evaluates and returns the loss."""
        loss = evaluate_closure(closure)
        for group in self.param_groups:
            params, grads, square_avgs, acc_deltas, steps = [], [], [], [], []
            for p in group["params"]:
                if p.grad is None:
                    continue
                params.append(p)
                grads.append(p.grad)
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _new_step(group, p, fused_key="")
                    state["square_avg"] = zeros_like(p)
                    state["acc_delta"] = zeros_like(p)
                square_avgs.append(state["square_avg"])
                acc_deltas.append(state["acc_delta"])
                steps.append(state["step"])
            adadelta(params, grads, square_avgs, acc_deltas, steps, lr=group["lr"],
                     rho=group["rho"], eps=group["eps"], weight_decay=group["weight_decay"],
                     maximize=group["maximize"], capturable=group["capturable"])
        return loss


def adadelta(params, grads, square_avgs, acc_deltas, state_steps, *, lr, rho, eps,
             weight_decay, maximize, capturable=False, **_ignored) -> None:
    """Functional Adadelta update of `params` in place."""
    if capturable:
        _check_capturable(params)
    lr = _hyper_value(lr)
    weight_decay = _hyper_value(weight_decay)
    for param, grad, square_avg, acc_delta, step in zip(params, grads, square_avgs,
                                                        acc_deltas, state_steps):
        step += 1
        grad = grad if not maximize else -grad
        if _nonzero(weight_decay):
            grad = _plus_scaled(grad, param, weight_decay)
        complex_param = param.is_complex()
        if complex_param:
            square_avg, acc_delta, grad = (_as_real(square_avg), _as_real(acc_delta),
                                           _as_real(grad.contiguous()))
        square_avg.mul_(rho).addcmul_(grad, grad, value=1 - rho)
        std = square_avg.add(eps).sqrt_()
        delta = acc_delta.add(eps).sqrt_()
        delta.div_(std).mul_(grad)
        acc_delta.mul_(rho).addcmul_(delta, delta, value=1 - rho)
        if complex_param:
            param = _as_real(param)
        _add_scaled(param, delta, -lr)
