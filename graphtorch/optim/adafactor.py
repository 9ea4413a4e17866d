"""`Adafactor`: factored second moments (row and column means of g^2 for a matrix) with a
relative step size and update clipping (Shazeer & Stern), as `torch.optim.Adafactor`.

PyTorch's single-tensor formulas, whose scalars (rho_t, alpha, the clipping denominator) are
Python floats read with ``.item()``; inside gt.compile's trace they are float64 graph values
with the same double rounding, so one graph serves every step.
"""

from __future__ import annotations

from ..autograd.grad_mode import no_grad
from ..dtypes import finfo, float64
from ..functions.creation import zeros, zeros_like
from ..tensor import Tensor
from .optimizer import (
    Optimizer,
    _add_scaled,
    _hyper_value,
    _is_traced,
    _new_step,
    _step_to_tensor,
    evaluate_closure,
)
from .traceable import _state_value

__all__ = ["Adafactor", "adafactor"]


class Adafactor(Optimizer):
    """Adafactor, as torch.optim.Adafactor (PyTorch's variant: `lr` caps the relative
    step size rho_t and scales decoupled weight decay; eps1 stabilises the variance
    estimate, eps2 the parameter scale).

    Example:
        >>> w = gt.nn.Parameter(gt.ones(3, 2))
        >>> opt = gt.optim.Adafactor([w])
        >>> (w ** 2).sum().backward(); opt.step()
        >>> sorted(opt.state[w])
        ['col_var', 'row_var', 'step']
    """

    def __init__(self, params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0,
                 weight_decay=0.0, *, foreach=None, maximize=False) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        defaults = {"lr": lr, "beta2_decay": beta2_decay, "eps": eps, "d": d,
                    "weight_decay": weight_decay, "foreach": foreach, "maximize": maximize}
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("foreach", None)
        _step_to_tensor(self)

    _creates_state_lazily = True  # per-parameter state at the first step

    @no_grad()
    def step(self, closure=None):
        """Perform one optimization step; `closure` re-evaluates and returns the loss."""
        loss = evaluate_closure(closure)
        for group in self.param_groups:
            params, grads, row_vars, col_vars, variances, steps = [], [], [], [], [], []
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.is_complex():
                    raise RuntimeError("Adafactor does not support complex parameters")
                params.append(p)
                grads.append(p.grad)
                state = self.state[p]
                if len(state) == 0:
                    _init_state(state, p, group)
                row_vars.append(state.get("row_var"))
                col_vars.append(state.get("col_var"))
                variances.append(state.get("variance"))
                steps.append(state["step"])
            eps1, eps2 = group["eps"]
            adafactor(params, grads, row_vars, col_vars, variances, steps, d=group["d"],
                      lr=group["lr"], beta2_decay=group["beta2_decay"],
                      weight_decay=group["weight_decay"], eps1=eps1, eps2=eps2,
                      maximize=group["maximize"])
        return loss


def _init_state(state: dict, p, group: dict) -> None:
    """PyTorch's fresh state: a float `step`, and row/column factors (the last two dims
    reduced) for a matrix or a full `variance` for a vector."""
    state["step"] = _new_step(group, p, fused_key="")
    grad = p.grad
    if grad.dim() > 1:
        row_shape, col_shape = list(grad.shape), list(grad.shape)
        row_shape[-1], col_shape[-2] = 1, 1
        state["row_var"] = zeros(row_shape, dtype=grad.dtype, device=grad.device)
        state["col_var"] = zeros(col_shape, dtype=grad.dtype, device=grad.device)
    else:
        state["variance"] = zeros_like(grad)


def _number(t):
    """A 0-d tensor as PyTorch's ``.item()`` reads it: a Python float eagerly, a float64
    graph value while tracing."""
    return t.to(float64) if _is_traced(t) else t.item()


def _max(a, b):
    """max() of two numbers, either of which may be a float64 graph value."""
    if isinstance(b, Tensor):
        return b.clamp(min=a) if not isinstance(a, Tensor) else a.maximum(b)
    if isinstance(a, Tensor):
        return a.clamp(min=b)
    return max(a, b)


def _min(a, b):
    """min() of two numbers, either of which may be a float64 graph value."""
    if isinstance(b, Tensor):
        return b.clamp(max=a) if not isinstance(a, Tensor) else a.minimum(b)
    if isinstance(a, Tensor):
        return a.clamp(max=b)
    return min(a, b)


def adafactor(params, grads, row_vars, col_vars, variances, state_steps, *, d, lr,
              beta2_decay, weight_decay, eps1, eps2, maximize=False, **_ignored) -> None:
    """Functional Adafactor update of `params` in place (PyTorch's single-tensor
    algorithm; `foreach` is accepted and runs the same loop)."""
    lr, weight_decay = _hyper_value(lr), _hyper_value(weight_decay)
    for i, param in enumerate(params):
        grad = grads[i] if not maximize else -grads[i]
        step_t, row_var, col_var, variance = (state_steps[i], row_vars[i], col_vars[i],
                                              variances[i])
        if eps1 is None:  # as PyTorch: the first parameter's dtype decides for the group
            eps1 = finfo(param.dtype).eps
        step_t += 1
        step = _state_value(step_t)
        one_minus_beta2_t = step ** beta2_decay
        rho_t = _min(lr, 1 / (step ** 0.5))
        alpha = _max(eps2, _number(param.norm(2)) / (param.numel() ** 0.5)) * rho_t
        if _is_traced(weight_decay) or weight_decay != 0:
            param.mul_(1 - lr * weight_decay)
        if grad.dim() > 1:
            row_mean = grad.norm(dim=-1, keepdim=True).square_().div_(grad.size(-1))
            row_var.lerp_(row_mean, _as_weight(one_minus_beta2_t, row_var))
            col_mean = grad.norm(dim=-2, keepdim=True).square_().div_(grad.size(-2))
            col_var.lerp_(col_mean, _as_weight(one_minus_beta2_t, col_var))
            var_estimate = row_var @ col_var
            var_estimate.div_(row_var.mean(dim=-2, keepdim=True).clamp_(min=eps1))
        else:
            variance.lerp_(grad * grad, _as_weight(one_minus_beta2_t, variance))
            var_estimate = variance.clone()
        update = var_estimate.clamp_(min=eps1 * eps1).rsqrt_()
        update.mul_(grad)
        denom = _max(1.0, _number(update.norm(2)) / ((update.numel() ** 0.5) * d))
        _add_scaled(param, update, -alpha / denom)


def _as_weight(value, t):
    """A lerp weight: a number eagerly; a graph value cast to `t`'s dtype (as PyTorch
    casts the Python float)."""
    return value.to(t.dtype) if isinstance(value, Tensor) else value

