"""`SparseAdam`: Adam restricted to the entries present in a sparse (COO) gradient, as
PyTorch 2.13 computes it: the moments and the parameter change only at the gradient's
coalesced indices; a dense gradient raises PyTorch's RuntimeError. graphtorch's
`nn.Embedding(sparse=True)` gives dense gradients, so it cannot feed SparseAdam yet.
"""

from __future__ import annotations

import math

from ..autograd.grad_mode import no_grad
from ..functions.creation import zeros_like
from ..tensor import Tensor
from .optimizer import Optimizer, _to_scalar, evaluate_closure

__all__ = ["SparseAdam"]

# PyTorch's message, then why graphtorch code that works with PyTorch may land here.
_DENSE_GRADIENT = ("SparseAdam does not support dense gradients, please consider Adam instead "
                   "(graphtorch's nn.Embedding(sparse=True) / F.embedding(sparse=True) still "
                   "produce dense gradients)")


class SparseAdam(Optimizer):
    """Masked Adam for parameters whose gradients are sparse COO tensors.

    >>> w = gt.nn.Parameter(gt.zeros(4, 2))
    >>> opt = gt.optim.SparseAdam([w], lr=0.1)
    >>> w.grad = gt.sparse_coo_tensor(gt.tensor([[1]]), gt.ones(1, 2), (4, 2))
    >>> opt.step()
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                 maximize: bool = False) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 < lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "maximize": maximize})
        sparse_params, complex_params = [], []
        for index, group in enumerate(self.param_groups):
            for d_index, param in enumerate(group["params"]):
                if param.is_sparse:
                    sparse_params.append([index, d_index])
                if param.is_complex():
                    complex_params.append([index, d_index])
        if sparse_params:
            raise ValueError(f"Sparse params at indices {sparse_params}: SparseAdam requires "
                             "dense parameter tensors")
        if complex_params:
            raise ValueError(f"Complex params at indices {complex_params}: SparseAdam does not "
                             "support complex parameters")

    def step(self, closure=None):
        """One masked Adam update of every parameter that has a (sparse) gradient."""
        loss = evaluate_closure(closure)
        with no_grad():
            for group in self.param_groups:
                for param in group["params"]:
                    if param.grad is None:
                        continue
                    if not param.grad.is_sparse:
                        raise RuntimeError(_DENSE_GRADIENT)
                    state = self.state[param]
                    if len(state) == 0:
                        state["step"] = 0
                        state["exp_avg"] = zeros_like(param)
                        state["exp_avg_sq"] = zeros_like(param)
                    state["step"] += 1
                    _sparse_adam_update(param, param.grad, state, group)
        return loss


def _sparse_adam_update(param, grad, state, group) -> None:
    grad = (-grad if group["maximize"] else grad).coalesce()
    values = grad.values()
    if values.numel() == 0:
        return
    beta1, beta2 = group["betas"]
    at = tuple(grad.indices())  # coalesced: each index once, so assignment is exact
    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
    new_exp_avg = exp_avg[at] + (values - exp_avg[at]) * (1 - beta1)
    new_exp_avg_sq = exp_avg_sq[at] + (values * values - exp_avg_sq[at]) * (1 - beta2)
    exp_avg[at] = new_exp_avg
    exp_avg_sq[at] = new_exp_avg_sq
    step = state["step"]
    step_size = (_to_scalar(group["lr"]) * math.sqrt(1 - beta2 ** step)
                 / (1 - beta1 ** step))
    param[at] = param[at] - step_size * (new_exp_avg / (new_exp_avg_sq.sqrt() + group["eps"]))
