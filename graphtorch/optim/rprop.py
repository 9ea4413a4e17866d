"""`Rprop`: per-element step sizes grown by etaplus while the gradient keeps its sign and
shrunk by etaminus when it flips (the flipped gradient then skipped), only the sign of the
gradient moving the parameter; as `torch.optim.Rprop` (PyTorch's single-tensor formulas)."""

from __future__ import annotations

from ..functions.creation import full_like, zeros_like
from ..tensor import Tensor
from .optimizer import (
    Optimizer,
    _as_real,
    _check_capturable,
    _check_lr,
    _new_step,
    _params_with_grads,
    _restore_flags,
    _to_scalar,
    _use_grad_for_differentiable,
    evaluate_closure,
)

__all__ = ["Rprop", "rprop"]


class Rprop(Optimizer):
    """Resilient backpropagation, as torch.optim.Rprop (full-batch training)."""

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *,
                 capturable=False, foreach=None, maximize=False,
                 differentiable=False) -> None:
        _check_lr(lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = {"lr": lr, "etas": etas, "step_sizes": step_sizes, "foreach": foreach,
                    "maximize": maximize, "differentiable": differentiable,
                    "capturable": capturable}
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
                state["prev"] = zeros_like(p)
                lr = _to_scalar(group["lr"])
                lr = lr.item() if isinstance(lr, Tensor) else lr
                state["step_size"] = full_like(p.grad, complex(lr, lr) if p.is_complex()
                                               else lr)

            params, grads, (prevs, step_sizes, steps) = _params_with_grads(
                self, group, init, ("prev", "step_size", "step"))
            etaminus, etaplus = group["etas"]
            step_size_min, step_size_max = group["step_sizes"]
            rprop(params, grads, prevs, step_sizes, steps, step_size_min=step_size_min,
                  step_size_max=step_size_max, etaminus=etaminus, etaplus=etaplus,
                  maximize=group["maximize"], capturable=group["capturable"])
        return loss


def rprop(params, grads, prevs, step_sizes, state_steps, *, step_size_min, step_size_max,
          etaminus, etaplus, maximize=False, capturable=False, **_ignored) -> None:
    """Functional Rprop update of `params` in place."""
    if capturable:
        _check_capturable(params)
    for i, param in enumerate(params):
        grad = grads[i] if not maximize else -grads[i]
        prev, step_size = prevs[i], step_sizes[i]
        state_steps[i] += 1
        if param.is_complex():
            param, grad, prev, step_size = (_as_real(param), _as_real(grad.contiguous()),
                                            _as_real(prev), _as_real(step_size))
        sign = grad.mul(prev).sign()
        sign[sign.gt(0)] = etaplus
        sign[sign.lt(0)] = etaminus
        sign[sign.eq(0)] = 1
        step_size.mul_(sign).clamp_(step_size_min, step_size_max)
        grad = grad.clone()
        grad[sign.eq(etaminus)] = 0  # a sign flip: skip this step, remember a zero gradient
        param.addcmul_(grad.sign(), step_size, value=-1)
        prev.copy_(grad)
