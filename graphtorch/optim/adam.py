"""`Adam` (and the decoupled-weight-decay variant `AdamW` builds on): PyTorch's formulas.

The `step` state is a 0-d float tensor incremented in place; bias corrections are computed
from its Python value, as PyTorch's default (non-capturable) path does.
"""

from __future__ import annotations

from ..dtypes import float64
from ..functions.creation import zeros_like
from ..tensor import Tensor
from ..trace_state import SymbolicArray
from . import native_update
from .optimizer import (
    Optimizer,
    _as_real,
    _check_capturable,
    _get_value,
    _hyper_value,
    _new_step,
    _step_to_tensor,
    _to_scalar,
    _use_grad_for_differentiable,
    evaluate_closure,
)
from .traceable import _addcmul_scaled, _nonzero, _plus_scaled

__all__ = ["Adam", "adam"]


class Adam(Optimizer):
    """Adam (Kingma & Ba), optionally AMSGrad and decoupled weight decay, as torch.optim."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=False) -> None:
        if isinstance(lr, Tensor):
            if foreach and not capturable:
                raise ValueError("lr as a Tensor is not supported for capturable=False and "
                                 "foreach=True")
            if lr.numel() != 1:
                raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not ((isinstance(betas[0], float) and isinstance(betas[1], float))
                or (isinstance(betas[0], Tensor) and isinstance(betas[1], Tensor))):
            raise ValueError("betas must be either both floats or both Tensors")
        for i in (0, 1):
            if isinstance(betas[i], Tensor):
                if not capturable and foreach:
                    raise ValueError(f"betas[{i}] as a Tensor is not supported for "
                                     "capturable=False and foreach=True")
                if betas[i].numel() != 1:
                    raise ValueError(f"Tensor betas[{i}] must be 1-element")
        betas = tuple(map(_to_scalar, betas))
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "amsgrad": amsgrad, "maximize": maximize, "foreach": foreach,
                    "capturable": capturable, "differentiable": differentiable,
                    "fused": fused, "decoupled_weight_decay": decoupled_weight_decay}
        super().__init__(params, defaults)
        if fused:
            if differentiable:
                raise RuntimeError("`fused` does not support `differentiable`")
            if foreach:
                raise RuntimeError("`fused` and `foreach` cannot be `True` together.")

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("amsgrad", False)
            group.setdefault("maximize", False)
            group.setdefault("foreach", None)
            group.setdefault("capturable", False)
            group.setdefault("differentiable", False)
            group.setdefault("decoupled_weight_decay", False)
            group.setdefault("fused", None)
        _step_to_tensor(self)

    def _init_group(self, group, params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs,
                    state_steps):
        for p in group["params"]:
            if p.grad is None:
                continue
            params.append(p)
            grads.append(p.grad)
            state = self.state[p]
            if len(state) == 0:
                state["step"] = _new_step(group, p)
                state["exp_avg"] = zeros_like(p)
                state["exp_avg_sq"] = zeros_like(p)
                if group["amsgrad"]:
                    state["max_exp_avg_sq"] = zeros_like(p)
            exp_avgs.append(state["exp_avg"])
            exp_avg_sqs.append(state["exp_avg_sq"])
            if group["amsgrad"]:
                max_exp_avg_sqs.append(state["max_exp_avg_sq"])
            state_steps.append(state["step"])

    _creates_state_lazily = True  # per-parameter state at the first step

    @_use_grad_for_differentiable
    def step(self, closure=None):
        """Perform one optimization step; `closure` re-evaluates and returns the loss."""
        loss = evaluate_closure(closure)
        for group in self.param_groups:
            params, grads, exp_avgs, exp_avg_sqs, max_sqs, steps = [], [], [], [], [], []
            self._init_group(group, params, grads, exp_avgs, exp_avg_sqs, max_sqs, steps)
            beta1, beta2 = group["betas"]
            adam(params, grads, exp_avgs, exp_avg_sqs, max_sqs, steps,
                 amsgrad=group["amsgrad"], beta1=beta1, beta2=beta2, lr=group["lr"],
                 weight_decay=group["weight_decay"], eps=group["eps"],
                 maximize=group["maximize"], capturable=group["capturable"],
                 decoupled_weight_decay=group["decoupled_weight_decay"])
        return loss


def adam(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, state_steps, *, amsgrad,
         beta1, beta2, lr, weight_decay, eps, maximize, capturable=False,
         decoupled_weight_decay=False, **_ignored) -> None:
    """Functional Adam/AdamW update of `params` in place (PyTorch's single-tensor path)."""
    if capturable:
        _check_capturable(params)
    lr, beta1, beta2 = (_to_scalar(x) if _is_symbolic(x) else _get_value(_to_scalar(x))
                        for x in (lr, beta1, beta2))
    weight_decay = _hyper_value(weight_decay)
    for i, param in enumerate(params):
        grad = grads[i] if not maximize else -grads[i]
        exp_avg, exp_avg_sq, step_t = exp_avgs[i], exp_avg_sqs[i], state_steps[i]
        step_t += 1
        if _nonzero(weight_decay):
            if decoupled_weight_decay:
                param.mul_(1 - lr * weight_decay)
            else:
                grad = _plus_scaled(grad, param, weight_decay)
        if not amsgrad and not _is_symbolic(step_t) and not param.is_complex():
            step = _get_value(step_t)  # the same corrections as below, for one native pass
            if native_update.adam(param, exp_avg, exp_avg_sq, grad, beta1, beta2, eps,
                                  (1 - beta2 ** step) ** 0.5, lr / (1 - beta1 ** step)):
                continue
        max_sq = max_exp_avg_sqs[i] if amsgrad else None
        if param.is_complex():
            grad, exp_avg, exp_avg_sq, param = (_as_real(grad.contiguous()), _as_real(exp_avg),
                                                _as_real(exp_avg_sq), _as_real(param))
            max_sq = _as_real(max_sq) if amsgrad else None
        exp_avg.lerp_(grad, 1 - beta1)
        _addcmul_scaled(exp_avg_sq.mul_(beta2), grad, grad, 1 - beta2)
        if _is_symbolic(step_t):  # inside gt.compile: the step counter is a graph value
            _traced_update(param, exp_avg, exp_avg_sq, max_sq, step_t, lr, beta1, beta2, eps)
            continue
        step = _get_value(step_t)
        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        step_size = lr / bias_correction1
        bias_correction2_sqrt = bias_correction2 ** 0.5
        if amsgrad:
            max_sq.maximum_(exp_avg_sq)
            denom = (max_sq.sqrt() / bias_correction2_sqrt).add_(eps)
        else:
            denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)
        param.addcdiv_(exp_avg, denom, value=-step_size)


def _is_symbolic(x) -> bool:
    return isinstance(x, Tensor) and type(x._data) is SymbolicArray


def _traced_update(param, exp_avg, exp_avg_sq, max_sq, step_t, lr, beta1, beta2, eps):
    """The bias-corrected Adam step with the step counter (and lr) as tensors, so a compiled
    step serves every step number. The arithmetic mirrors the eager path: corrections in
    float64 (as Python floats are), cast to the parameter dtype where eager code casts."""
    step = step_t.to(float64)
    bias_correction1 = 1 - beta1 ** step
    bias_correction2 = 1 - beta2 ** step
    step_size = lr / bias_correction1
    bias_correction2_sqrt = bias_correction2 ** 0.5
    if max_sq is not None:
        max_sq.maximum_(exp_avg_sq)
        denom = (max_sq.sqrt() / bias_correction2_sqrt).add_(eps)
    else:
        denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)
    param.add_(exp_avg * (-step_size) / denom)
