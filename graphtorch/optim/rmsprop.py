"""`RMSprop`: gradients scaled by a running RMS, optionally centered and with momentum."""

from __future__ import annotations

from ..functions.creation import zeros_like
from ..tensor import Tensor
from .optimizer import (
    Optimizer,
    _add_scaled,
    _addcdiv_scaled,
    _as_real,
    _check_capturable,
    _hyper_value,
    _new_step,
    _step_to_tensor,
    _use_grad_for_differentiable,
    evaluate_closure,
)
from .traceable import _nonzero, _plus_scaled, _positive

__all__ = ["RMSprop", "rmsprop"]


class RMSprop(Optimizer):
    """RMSprop (Hinton), as `torch.optim.RMSprop` (alpha is the smoothing constant)."""

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = {"lr": lr, "momentum": momentum, "alpha": alpha, "eps": eps,
                    "centered": centered, "weight_decay": weight_decay,
                    "capturable": capturable, "foreach": foreach, "maximize": maximize,
                    "differentiable": differentiable}
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("momentum", 0)
            group.setdefault("centered", False)
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
            params, grads, square_avgs, grad_avgs, bufs, steps = [], [], [], [], [], []
            for p in group["params"]:
                if p.grad is None:
                    continue
                params.append(p)
                grads.append(p.grad)
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _new_step(group, p, fused_key="")
                    state["square_avg"] = zeros_like(p)
                    if _positive(group["momentum"]):
                        state["momentum_buffer"] = zeros_like(p)
                    if group["centered"]:
                        state["grad_avg"] = zeros_like(p)
                square_avgs.append(state["square_avg"])
                steps.append(state["step"])
                if _positive(group["momentum"]):
                    bufs.append(state["momentum_buffer"])
                if group["centered"]:
                    grad_avgs.append(state["grad_avg"])
            rmsprop(params, grads, square_avgs, grad_avgs, bufs, steps, lr=group["lr"],
                    alpha=group["alpha"], eps=group["eps"],
                    weight_decay=group["weight_decay"], momentum=group["momentum"],
                    centered=group["centered"], maximize=group["maximize"],
                    capturable=group["capturable"])
        return loss


def rmsprop(params, grads, square_avgs, grad_avgs, momentum_buffer_list, state_steps, *, lr,
            alpha, eps, weight_decay, momentum, centered, maximize, capturable=False,
            **_ignored) -> None:
    """Functional RMSprop update of `params` in place."""
    if capturable:
        _check_capturable(params)
    lr = _hyper_value(lr)
    weight_decay, momentum = _hyper_value(weight_decay), _hyper_value(momentum)
    for i, param in enumerate(params):
        grad = grads[i] if not maximize else -grads[i]
        square_avg = square_avgs[i]
        state_steps[i] += 1
        if _nonzero(weight_decay):
            grad = _plus_scaled(grad, param, weight_decay)
        complex_param = param.is_complex()
        if complex_param:
            param, grad, square_avg = (_as_real(param), _as_real(grad.contiguous()),
                                       _as_real(square_avg))
        square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
        if centered:
            grad_avg = _as_real(grad_avgs[i]) if complex_param else grad_avgs[i]
            grad_avg.lerp_(grad, 1 - alpha)
            avg = square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
        else:
            avg = square_avg.sqrt()
        avg = avg.add_(eps)
        if _positive(momentum):
            buf = momentum_buffer_list[i]
            if complex_param:
                buf = _as_real(buf)
            buf.mul_(momentum).addcdiv_(grad, avg)
            _add_scaled(param, buf, -lr)
        else:
            _addcdiv_scaled(param, grad, avg, -lr)
