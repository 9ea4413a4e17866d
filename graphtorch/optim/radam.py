"""`RAdam`: Adam whose adaptive step is switched on once the variance of the adaptive
learning rate is tractable (rho_t > 5), with the rectification term r_t (Liu et al.), as
`torch.optim.RAdam` (PyTorch's single-tensor formulas)."""

from __future__ import annotations

from ..functions.creation import zeros_like
from ..functions.math import where
from .optimizer import (
    Optimizer,
    _as_real,
    _check_adam_family,
    _check_capturable,
    _hyper_value,
    _is_traced,
    _new_step,
    _params_with_grads,
    _restore_flags,
    _use_grad_for_differentiable,
    evaluate_closure,
)
from .traceable import _addcmul_scaled, _nonzero, _plus_scaled, _state_value

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
    """Functional RAdam update of `params` in place. Inside gt.compile the step counter and
    the hyper-parameters may be graph values (`traceable`); the rectification's branch is
    then a `where` (`_rectified_or_plain`), so one graph serves every step."""
    if capturable:
        _check_capturable(params)
    lr, beta1, beta2, weight_decay = map(_hyper_value, (lr, beta1, beta2, weight_decay))
    for i, param in enumerate(params):
        grad = grads[i] if not maximize else -grads[i]
        exp_avg, exp_avg_sq, step_t = exp_avgs[i], exp_avg_sqs[i], state_steps[i]
        if param.is_complex():
            param, grad, exp_avg, exp_avg_sq = (_as_real(param), _as_real(grad.contiguous()),
                                                _as_real(exp_avg), _as_real(exp_avg_sq))
        step_t += 1
        step = _state_value(step_t)
        if _nonzero(weight_decay):
            if decoupled_weight_decay:
                param.mul_(1 - lr * weight_decay)
            else:
                grad = _plus_scaled(grad, param, weight_decay)
        exp_avg.lerp_(grad, 1 - beta1)
        _addcmul_scaled(exp_avg_sq.mul_(beta2), grad, grad, 1 - beta2)
        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        bias_corrected_exp_avg = exp_avg / bias_correction1
        rho_inf = 2 / (1 - beta2) - 1  # the maximum length of the approximated SMA
        rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
        if _is_traced(rho_t):
            param.sub_(_rectified_or_plain(bias_corrected_exp_avg, exp_avg_sq, lr, eps,
                                           rho_t, rho_inf, bias_correction2))
        elif rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
                    / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            adaptive_lr = (bias_correction2 ** 0.5) / exp_avg_sq.sqrt().add_(eps)
            param.add_(bias_corrected_exp_avg * lr * adaptive_lr * rect, alpha=-1.0)
        else:
            param.add_(bias_corrected_exp_avg * lr, alpha=-1.0)


def _rectified_or_plain(bias_corrected_exp_avg, exp_avg_sq, lr, eps, rho_t, rho_inf,
                        bias_correction2):
    """The update eager code subtracts, with its ``if rho_t > 5`` taken inside the graph:
    both sides computed with the eager side's operations (so the same roundings) and one
    chosen per call by `where`. The side not taken may be nan (the square root of a negative
    rectification term); `where` drops it."""
    rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
            / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
    adaptive_lr = (bias_correction2 ** 0.5) / exp_avg_sq.sqrt().add_(eps)
    rectified = bias_corrected_exp_avg * lr * adaptive_lr * rect
    return where(rho_t > 5.0, rectified, bias_corrected_exp_avg * lr)
