"""`ASGD`: SGD with a decaying step size eta_t and a running average `ax` of the iterates
from step t0 on (Polyak & Juditsky), as `torch.optim.ASGD` (PyTorch's single-tensor
formulas; `eta` and `mu` are 0-d tensors of the step's dtype)."""

from __future__ import annotations

from ..functions.creation import ones, tensor, zeros, zeros_like
from ..functions.math import where
from ..tensor import Tensor
from .optimizer import (
    Optimizer,
    _add_scaled,
    _as_real,
    _check_capturable,
    _check_lr,
    _get_scalar_dtype,
    _get_value,
    _hyper_value,
    _is_traced,
    _params_with_grads,
    _restore_flags,
    _to_scalar,
    _use_grad_for_differentiable,
    evaluate_closure,
)
from .traceable import _nonzero, _plus_scaled, _state_value

__all__ = ["ASGD", "asgd"]


class ASGD(Optimizer):
    """Averaged SGD, as torch.optim.ASGD (the averaged iterate is `state[p]["ax"]`)."""

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0,
                 foreach=None, maximize=False, differentiable=False,
                 capturable=False) -> None:
        _check_lr(lr)
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {"lr": lr, "lambd": lambd, "alpha": alpha, "t0": t0,
                    "weight_decay": weight_decay, "foreach": foreach, "maximize": maximize,
                    "differentiable": differentiable, "capturable": capturable}
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            for p in group["params"]:
                p_state = self.state.get(p, {})
                for key in ("eta", "mu"):
                    if key in p_state and not isinstance(p_state[key], Tensor):
                        p_state[key] = tensor(p_state[key], dtype=_get_scalar_dtype(),
                                              device=p.device)
        _restore_flags(self)

    _creates_state_lazily = True  # per-parameter state at the first step

    @_use_grad_for_differentiable
    def step(self, closure=None):
        """Perform one optimization step; `closure` re-evaluates and returns the loss."""
        loss = evaluate_closure(closure)
        for group in self.param_groups:
            def init(state, p, group=group):
                state["step"] = zeros((), dtype=_get_scalar_dtype(), device=p.device)
                state["eta"] = tensor(_get_value(_to_scalar(group["lr"])),
                                      dtype=_get_scalar_dtype(), device=p.device)
                state["mu"] = ones((), dtype=_get_scalar_dtype(), device=p.device)
                state["ax"] = zeros_like(p)

            params, grads, (mus, axs, etas, steps) = _params_with_grads(
                self, group, init, ("mu", "ax", "eta", "step"))
            asgd(params, grads, axs, mus, etas, steps, lambd=group["lambd"], lr=group["lr"],
                 t0=group["t0"], alpha=group["alpha"], weight_decay=group["weight_decay"],
                 maximize=group["maximize"], capturable=group["capturable"])
        return loss


def asgd(params, grads, axs, mus, etas, state_steps, *, lambd, lr, t0, alpha, weight_decay,
         maximize=False, capturable=False, **_ignored) -> None:
    """Functional ASGD update of `params` (and of their averages `axs`) in place. Inside
    gt.compile the step counter, `eta`, `mu` and the hyper-parameters may be graph values
    (`traceable`), and the averaging's branch on ``mu != 1`` is a `where`."""
    if capturable:
        _check_capturable(params)
    lr, weight_decay = _hyper_value(lr), _hyper_value(weight_decay)
    for i, param in enumerate(params):
        grad = grads[i] if not maximize else -grads[i]
        mu, ax, eta, step_t = mus[i], axs[i], etas[i], state_steps[i]
        if param.is_complex():
            param, grad, ax = _as_real(param), _as_real(grad.contiguous()), _as_real(ax)
        step_t += 1
        if _nonzero(weight_decay):
            grad = _plus_scaled(grad, param, weight_decay)
        eta_value = _state_value(eta)
        param.mul_(1 - lambd * eta_value)  # decay term
        _add_scaled(param, grad, -eta_value)
        if _is_traced(mu):
            ax.copy_(where(mu != 1, ax.add(param.sub(ax).mul_(mu)), param))
        elif _get_value(mu) != 1:
            ax.add_(param.sub(ax).mul_(mu))
        else:
            ax.copy_(param)
        step = _state_value(step_t)
        _assign(eta, lr / ((1 + lambd * lr * step) ** alpha))
        _assign(mu, 1 / (step - t0).clamp(min=1) if _is_traced(step) else
                1 / max(1, step - t0))


def _assign(state, value) -> None:
    """Store a number (eagerly) or a float64 graph value (traced) in a 0-d state tensor."""
    state.copy_(value if isinstance(value, Tensor) else tensor(value))
