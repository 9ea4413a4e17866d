"""`Adagrad`: per-coordinate learning rates from the running sum of squared gradients.

As in PyTorch, state (`step`, `sum`) is created for every parameter at construction, so
`state_dict()` has it before the first step.
"""

from __future__ import annotations

from ..functions.creation import full_like
from ..tensor import Tensor
from .optimizer import (
    Optimizer,
    _addcdiv_scaled,
    _as_real,
    _hyper_value,
    _new_step,
    _step_to_tensor,
    _step_value,
    _use_grad_for_differentiable,
    evaluate_closure,
)
from .traceable import _nonzero, _plus_scaled

__all__ = ["Adagrad", "adagrad"]


class Adagrad(Optimizer):
    """Adagrad (Duchi et al.), as `torch.optim.Adagrad`."""

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0,
                 initial_accumulator_value=0, eps=1e-10, foreach=None, *, maximize=False,
                 differentiable=False, fused=None) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError("Invalid initial_accumulator_value value: "
                             f"{initial_accumulator_value}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        defaults = {"lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
                    "initial_accumulator_value": initial_accumulator_value,
                    "foreach": foreach, "maximize": maximize,
                    "differentiable": differentiable, "fused": fused}
        super().__init__(params, defaults)
        if fused:
            if differentiable:
                raise RuntimeError("`fused` does not support `differentiable`")
            if foreach:
                raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(group, p, initial_accumulator_value)

    def _init_state(self, group, p, initial_value) -> None:
        state = self.state[p]
        state["step"] = _new_step(group, p, capturable_key="")
        value = complex(initial_value, initial_value) if p.is_complex() else initial_value
        state["sum"] = full_like(p, value)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("foreach", None)
            group.setdefault("maximize", False)
            group.setdefault("differentiable", False)
            group.setdefault("fused", None)
        _step_to_tensor(self, capturable_key="")

    def share_memory(self) -> None:
        """No-op kept for API parity (graphtorch tensors are not shared across processes)."""

    @_use_grad_for_differentiable
    def step(self, closure=None):
        """Perform one optimization step; `closure` re-evaluates and returns the loss."""
        loss = evaluate_closure(closure)
        for group in self.param_groups:
            params, grads, sums, steps = [], [], [], []
            for p in group["params"]:
                if p.grad is None:
                    continue
                params.append(p)
                grads.append(p.grad)
                state = self.state[p]
                if len(state) == 0:
                    self._init_state(group, p, self.defaults["initial_accumulator_value"])
                sums.append(state["sum"])
                steps.append(state["step"])
            adagrad(params, grads, sums, steps, lr=group["lr"],
                    weight_decay=group["weight_decay"], lr_decay=group["lr_decay"],
                    eps=group["eps"], maximize=group["maximize"])
        return loss


def adagrad(params, grads, state_sums, state_steps, *, lr, weight_decay, lr_decay, eps,
            maximize, **_ignored) -> None:
    """Functional Adagrad update of `params` in place."""
    lr = _hyper_value(lr)
    weight_decay = _hyper_value(weight_decay)
    for param, grad, state_sum, step_t in zip(params, grads, state_sums, state_steps):
        step_t += 1
        step = _step_value(step_t)
        grad = grad if not maximize else -grad
        if _nonzero(weight_decay):
            grad = _plus_scaled(grad, param, weight_decay)
        clr = lr / (1 + (step - 1) * lr_decay)
        if param.is_complex():
            grad, state_sum, param = (_as_real(grad.contiguous()), _as_real(state_sum),
                                      _as_real(param))
        state_sum.addcmul_(grad, grad, value=1)
        std = state_sum.sqrt().add_(eps)
        _addcdiv_scaled(param, grad, std, -clr)
