"""`NAdam`: Adam with Nesterov momentum and a momentum-decay schedule mu_t (Dozat), as
`torch.optim.NAdam` (PyTorch's single-tensor formulas; `mu_product` is a 0-d tensor of the
step's dtype, multiplied in place as PyTorch does)."""

from __future__ import annotations

from ..functions.creation import ones, zeros_like
from .optimizer import (
    Optimizer,
    _addcdiv_scaled,
    _as_real,
    _check_adam_family,
    _check_capturable,
    _get_scalar_dtype,
    _hyper_value,
    _new_step,
    _params_with_grads,
    _restore_flags,
    _use_grad_for_differentiable,
    evaluate_closure,
)
from .traceable import (
    _addcmul_scaled,
    _as_number_for,
    _nonzero,
    _plus_scaled,
    _state_value,
)

__all__ = ["NAdam", "nadam"]


class NAdam(Optimizer):
    """NAdam, optionally with decoupled (AdamW-style) weight decay, as torch.optim.NAdam."""

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None,
                 maximize=False, capturable=False, differentiable=False) -> None:
        _check_adam_family(lr, eps, betas, weight_decay)
        if not 0.0 <= momentum_decay:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "momentum_decay": momentum_decay,
                    "decoupled_weight_decay": decoupled_weight_decay, "maximize": maximize,
                    "foreach": foreach, "capturable": capturable,
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
                state["mu_product"] = ones((), dtype=_get_scalar_dtype(),
                                           device=p.device if group["capturable"] else None)
                state["exp_avg"] = zeros_like(p)
                state["exp_avg_sq"] = zeros_like(p)

            params, grads, (exp_avgs, exp_avg_sqs, mu_products, steps) = _params_with_grads(
                self, group, init, ("exp_avg", "exp_avg_sq", "mu_product", "step"))
            beta1, beta2 = group["betas"]
            nadam(params, grads, exp_avgs, exp_avg_sqs, mu_products, steps, beta1=beta1,
                  beta2=beta2, lr=group["lr"], weight_decay=group["weight_decay"],
                  momentum_decay=group["momentum_decay"], eps=group["eps"],
                  maximize=group["maximize"],
                  decoupled_weight_decay=group["decoupled_weight_decay"],
                  capturable=group["capturable"])
        return loss


def nadam(params, grads, exp_avgs, exp_avg_sqs, mu_products, state_steps, *, beta1, beta2,
          lr, weight_decay, momentum_decay, eps, maximize=False, decoupled_weight_decay=False,
          capturable=False, **_ignored) -> None:
    """Functional NAdam update of `params` in place. Inside gt.compile the step counter,
    `mu_product` and the hyper-parameters may be graph values (`traceable`): the same
    formulas then build one graph that serves every step."""
    if capturable:
        _check_capturable(params)
    lr, beta1, beta2, weight_decay = map(_hyper_value, (lr, beta1, beta2, weight_decay))
    for i, param in enumerate(params):
        grad = grads[i] if not maximize else -grads[i]
        exp_avg, exp_avg_sq, mu_product, step_t = (exp_avgs[i], exp_avg_sqs[i],
                                                   mu_products[i], state_steps[i])
        if param.is_complex():
            param, grad, exp_avg, exp_avg_sq = (_as_real(param), _as_real(grad.contiguous()),
                                                _as_real(exp_avg), _as_real(exp_avg_sq))
        step_t += 1
        step = _state_value(step_t)
        bias_correction2 = 1 - beta2 ** step
        if _nonzero(weight_decay):
            if decoupled_weight_decay:
                param.mul_(1 - lr * weight_decay)
            else:
                grad = _plus_scaled(grad, param, weight_decay)
        mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
        mu_product *= _as_number_for(mu, mu_product)
        exp_avg.lerp_(grad, 1 - beta1)
        _addcmul_scaled(exp_avg_sq.mul_(beta2), grad, grad, 1 - beta2)
        denom = exp_avg_sq.div(bias_correction2).sqrt().add_(eps)
        product = _state_value(mu_product)
        _addcdiv_scaled(param, grad, denom, -lr * (1.0 - mu) / (1.0 - product))
        _addcdiv_scaled(param, exp_avg, denom, (-lr * mu_next) / (1.0 - product * mu_next))
