"""Property test: random chains of views, in-place writes through them and backward give
PyTorch's values, gradients, versions and errors."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .diff import same

VIEW_STEPS = {
    "t": lambda v: v.t() if v.ndim == 2 else v,
    "row": lambda v: v[v.shape[0] // 2] if v.ndim >= 1 and v.shape[0] else v,
    "col": lambda v: v[:, -1] if v.ndim == 2 and v.shape[1] else v,
    "slice": lambda v: v[1:] if v.ndim >= 1 else v,
    "step": lambda v: v[::2] if v.ndim >= 1 else v,
    "unsqueeze": lambda v: v.unsqueeze(0),
    "squeeze": lambda v: v.squeeze(),
    "flatten_view": lambda v: v.view(-1),
    "diagonal": lambda v: v.diagonal() if v.ndim == 2 else v,
    "narrow": lambda v: v.narrow(-1, 0, max(v.shape[-1] - 1, 0)) if v.ndim >= 1 else v,
    "transpose": lambda v: v.transpose(0, -1) if v.ndim >= 2 else v,
    "ellipsis": lambda v: v[..., None][..., 0],
}

WRITES = {
    "mul_scalar": lambda lib, v, y: v.mul_(2.5),
    "add_leaf": lambda lib, v, y: v.add_(y[: v.numel()].reshape(v.shape) if v.numel() else 0),
    "copy_leaf": lambda lib, v, y: v.copy_(y[: v.numel()].reshape(v.shape) * 3
                                           if v.numel() else v.detach()),
    "zero": lambda lib, v, y: v.zero_(),
    "exp": lambda lib, v, y: v.exp_(),
    "mul_self": lambda lib, v, y: v.mul_(v.detach() + 1),
    "setitem": lambda lib, v, y: v.__setitem__(..., y[0] * 2),
    "sigmoid": lambda lib, v, y: v.sigmoid_(),
}


def _program(lib, steps, write, later_steps, base_kind):
    w = lib.tensor(np.linspace(-1.0, 1.0, 12).reshape(3, 4), requires_grad=True)
    y = lib.tensor(np.linspace(0.5, 2.0, 12), requires_grad=True)
    x = w * 1 if base_kind == "nonleaf" else lib.zeros(3, 4)
    early = x[0]                       # a view taken before the write
    v = x
    for s in steps:
        v = VIEW_STEPS[s](v)
    WRITES[write](lib, v, y)
    late = x
    for s in later_steps:
        late = VIEW_STEPS[s](late)
    weights = lib.tensor(np.arange(1.0, 13.0).reshape(3, 4))
    loss = (x * weights).sum() + (early ** 2).sum() + (late * 0.5).sum()
    if loss.requires_grad:
        loss.backward()
    return (x, v, early, late, w.grad, y.grad, x._version, v._version,
            x.requires_grad, v.requires_grad, x.is_leaf)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(st.sampled_from(sorted(VIEW_STEPS)), max_size=4),
       write=st.sampled_from(sorted(WRITES)),
       later=st.lists(st.sampled_from(sorted(VIEW_STEPS)), max_size=2),
       base_kind=st.sampled_from(["nonleaf", "plain"]))
def test_view_write_backward_matches_torch(steps, write, later, base_kind):
    same(lambda lib: _program(lib, steps, write, later, base_kind), rtol=1e-5, atol=1e-6)
