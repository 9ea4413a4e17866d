"""`SGD`: stochastic gradient descent with momentum, dampening, Nesterov and weight decay.

Same update order as PyTorch's single-tensor implementation; the momentum buffer starts as
a copy of the first (decayed) gradient.
"""

from __future__ import annotations

from ..tensor import Tensor
from . import native_update
from .optimizer import (
    Optimizer,
    _hyper_value,
    _to_scalar,
    _use_grad_for_differentiable,
    evaluate_closure,
)
from .traceable import _nonzero, _plus_scaled

__all__ = ["SGD", "sgd"]


class SGD(Optimizer):
    """Stochastic gradient descent (optionally with momentum), as `torch.optim.SGD`."""

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, *, maximize=False, foreach=None, differentiable=False,
                 fused=None) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening,
                    "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize,
                    "foreach": foreach, "differentiable": differentiable, "fused": fused}
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)
        if fused:
            if differentiable:
                raise RuntimeError("`fused` does not support `differentiable`")
            if foreach:
                raise RuntimeError("`fused` and `foreach` cannot be `True` together.")

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("nesterov", False)
            group.setdefault("maximize", False)
            group.setdefault("foreach", None)
            group.setdefault("differentiable", False)
            group.setdefault("fused", False)

    def _lazy_state_pending(self) -> bool:
        """Momentum buffers are created at the first step (groups with momentum only)."""
        return self._params_without_state([g for g in self.param_groups if g["momentum"] != 0])

    @_use_grad_for_differentiable
    def step(self, closure=None):
        """Perform one optimization step; `closure` re-evaluates and returns the loss."""
        loss = evaluate_closure(closure)
        for group in self.param_groups:
            params, grads, bufs = [], [], []
            for p in group["params"]:
                if p.grad is not None:
                    params.append(p)
                    grads.append(p.grad)
                    if _nonzero(group["momentum"]):
                        bufs.append(self.state[p].get("momentum_buffer"))
            sgd(params, grads, bufs, weight_decay=group["weight_decay"],
                momentum=group["momentum"], lr=group["lr"], dampening=group["dampening"],
                nesterov=group["nesterov"], maximize=group["maximize"])
            if _nonzero(group["momentum"]):
                for p, buf in zip(params, bufs):
                    self.state[p]["momentum_buffer"] = buf
        return loss


def sgd(params, d_p_list, momentum_buffer_list, *, weight_decay, momentum, lr, dampening,
        nesterov, maximize, **_ignored) -> None:
    """Functional SGD; fills `momentum_buffer_list` entries that were None."""
    lr = _to_scalar(lr)
    weight_decay, momentum = _hyper_value(weight_decay), _hyper_value(momentum)
    for i, param in enumerate(params):
        grad = d_p_list[i] if not maximize else -d_p_list[i]
        if _nonzero(weight_decay):
            grad = _plus_scaled(grad, param, weight_decay)
        if _nonzero(momentum):
            buf = momentum_buffer_list[i]
            if buf is None:
                buf = grad.detach().clone()
                momentum_buffer_list[i] = buf
            elif not nesterov and native_update.sgd_momentum(param, buf, grad, momentum,
                                                             dampening, lr):
                continue  # buf and param updated in one native pass, as the ops below
            else:
                buf.mul_(momentum).add_(grad, alpha=1 - dampening)
            grad = _plus_scaled(grad, buf, momentum) if nesterov else buf
        if isinstance(lr, Tensor):  # same rounding as alpha=-lr: float32(lr) * grad
            param.sub_(grad * lr)
        else:
            param.add_(grad, alpha=-lr)
