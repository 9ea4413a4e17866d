"""`RAdam`: Adam whose adaptive step is switched on once the variance of the adaptive
learning rate is tractable (rho_t > 5), with the rectification term r_t (Liu et al.), as
`torch.optim.RAdam` (PyTorch's single-tensor formulas)."""

from __future__ import annotations

from ..functions.creation import zeros_like
from .optimizer import (
    Optimizer,
    _as_real,
    _check_adam_family,
    _check_capturable,
    _get_value,
    _new_step,
    _params_with_grads,
    _restore_flags,
    _to_scalar,
    _use_grad_for_differentiable,
    evaluate_closure,
)

__all__ = ["RAdam", "radam"]


class RAdam(Optimizer):
    """Rectified Adam, optionally with decoupled weight decay, as torch.optim.RAdam."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False,
                 capturable=False, differentiable=False) -> None:
        _check_adam_family(lr, eps, betas, weight_decay)
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "maximize": maximize, "foreach": foreach, "capturable": capturable,
                    "decoupled_weight_decay": decoupled_weight_decay,
                    "differentiable": differentiable}
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        _restore_flags(self, ("decoupled_weight_decay", False))

    _creates_state_lazily = True  # per-parameter state at the first step

    @_use_grad_for_differentiable
    def step(self, closure=None):
        """Perform one optimization step; `closure` re-evaluates and returns the loss."""
        loss = evaluate_closure(closure)
        for group in self.param_groups:
            def init(state, p, group=group):
                state["step"] = _new_step(group, p, fused_key="")
                state["exp_avg"] = zeros_like(p)
                state["exp_avg_sq"] = zeros_like(p)

            params, grads, (exp_avgs, exp_avg_sqs, steps) = _params_with_grads(
                self, group, init, ("exp_avg", "exp_avg_sq", "step"))
            beta1, beta2 = group["betas"]
            radam(params, grads, exp_avgs, exp_avg_sqs, steps, beta1=beta1, beta2=beta2,
                  lr=group["lr"], weight_decay=group["weight_decay"], eps=group["eps"],
                  maximize=group["maximize"], capturable=group["capturable"],
                  decoupled_weight_decay=group["decoupled_weight_decay"])
        return loss


def radam(params, grads, exp_avgs, exp_avg_sqs, state_steps, *, beta1, beta2, lr,
          weight_decay, eps, maximize=False, decoupled_weight_decay=False, capturable=False,
          **_ignored) -> None:
    """Functional RAdam update of `params` in place."""
    if capturable:
        _check_capturable(params)
    lr = _get_value(_to_scalar(lr))
    for i, param in enumerate(params):
        grad = grads[i] if not maximize else -grads[i]
        exp_avg, exp_avg_sq, step_t = exp_avgs[i], exp_avg_sqs[i], state_steps[i]
        if param.is_complex():
            param, grad, exp_avg, exp_avg_sq = (_as_real(param), _as_real(grad.contiguous()),
                                                _as_real(exp_avg), _as_real(exp_avg_sq))
        step_t += 1
        step = _get_value(step_t)
        if weight_decay != 0:
            if decoupled_weight_decay:
                param.mul_(1 - lr * weight_decay)
            else:
                grad = grad.add(param, alpha=weight_decay)
        exp_avg.lerp_(grad, 1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        bias_corrected_exp_avg = exp_avg / bias_correction1
        rho_inf = 2 / (1 - beta2) - 1  # the maximum length of the approximated SMA
        rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
                    / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            adaptive_lr = (bias_correction2 ** 0.5) / exp_avg_sq.sqrt().add_(eps)
            param.add_(bias_corrected_exp_avg * lr * adaptive_lr * rect, alpha=-1.0)
        else:
            param.add_(bias_corrected_exp_avg * lr, alpha=-1.0)
