"""`Adamax`: Adam with the infinity norm, u_t = max(beta2 * u_{t-1}, |g_t| + eps), as
`torch.optim.Adamax` (PyTorch's single-tensor formulas)."""

from __future__ import annotations

from ..functions.creation import zeros_like
from .optimizer import (
    Optimizer,
    _addcdiv_scaled,
    _as_real,
    _check_adam_family,
    _check_capturable,
    _hyper_value,
    _new_step,
    _params_with_grads,
    _restore_flags,
    _use_grad_for_differentiable,
    evaluate_closure,
)
from .traceable import _nonzero, _plus_scaled, _state_value

__all__ = ["Adamax", "adamax"]


class Adamax(Optimizer):
    """Adamax (Kingma & Ba, section 7), as torch.optim.Adamax."""

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 foreach=None, *, maximize=False, differentiable=False,
                 capturable=False) -> None:
        _check_adam_family(lr, eps, betas, weight_decay)
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "foreach": foreach, "maximize": maximize,
                    "differentiable": differentiable, "capturable": capturable}
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        _restore_flags(self)

    _creates_state_lazily = True  # per-parameter state at the first step

    @_use_grad_for_differentiable
    def step(self, closure=None):
        """Perform one optimization step; `closure` re-evaluates and returns the loss."""
        loss = evaluate_closure(closure)
        for group in self.param_groups:
            def init(state, p, group=group):
                state["step"] = _new_step(group, p, fused_key="")
                state["exp_avg"] = zeros_like(p)
                state["exp_inf"] = zeros_like(p)

            params, grads, (exp_avgs, exp_infs, steps) = _params_with_grads(
                self, group, init, ("exp_avg", "exp_inf", "step"))
            beta1, beta2 = group["betas"]
            adamax(params, grads, exp_avgs, exp_infs, steps, eps=group["eps"], beta1=beta1,
                   beta2=beta2, lr=group["lr"], weight_decay=group["weight_decay"],
                   maximize=group["maximize"], capturable=group["capturable"])
        return loss


def adamax(params, grads, exp_avgs, exp_infs, state_steps, *, eps, beta1, beta2, lr,
           weight_decay, maximize=False, capturable=False, **_ignored) -> None:
    """Functional Adamax update of `params` in place. Inside gt.compile the step counter
    and the hyper-parameters may be graph values (`traceable`): one graph serves every step."""
    if capturable:
        _check_capturable(params)
    lr, beta1, beta2, weight_decay = map(_hyper_value, (lr, beta1, beta2, weight_decay))
    for i, param in enumerate(params):
        grad = grads[i] if not maximize else -grads[i]
        exp_avg, exp_inf, step_t = exp_avgs[i], exp_infs[i], state_steps[i]
        step_t += 1
        if _nonzero(weight_decay):
            grad = _plus_scaled(grad, param, weight_decay)
        if param.is_complex():
            param, grad, exp_avg, exp_inf = (_as_real(param), _as_real(grad.contiguous()),
                                             _as_real(exp_avg), _as_real(exp_inf))
        exp_avg.lerp_(grad, 1 - beta1)
        exp_inf.copy_(exp_inf.mul_(beta2).maximum(grad.abs().add_(eps)))
        clr = lr / (1 - beta1 ** _state_value(step_t))
        _addcdiv_scaled(param, exp_avg, exp_inf, -clr)
