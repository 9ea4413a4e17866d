"""In-place shape changes (`t_`, `unsqueeze_`, ...) of a view, then an in-place write through
it: the write reaches the base through the view's new steps, and the gradient follows."""

from __future__ import annotations

import pytest

from .diff import same

CHANGES = {
    "t_": lambda v: v.t_(),
    "transpose_": lambda v: v.transpose_(0, 1),
    "unsqueeze_0": lambda v: v.unsqueeze_(0),
    "unsqueeze_last": lambda v: v.unsqueeze_(-1),
    "squeeze_": lambda v: v.unsqueeze(0).squeeze_(0),
}


@pytest.mark.parametrize("change", list(CHANGES))
@pytest.mark.parametrize("view", ["slice", "transposed_slice"])
def test_write_through_a_reshaped_view_reaches_base_and_gradient(change, view):
    def fn(lib):
        leaf = lib.arange(12.0).view(3, 4).requires_grad_()
        base = leaf * 1.0
        v = base[:, 1:] if view == "slice" else base.t()[1:]
        CHANGES[change](v)
        v.mul_(2.0)
        outs = [v, v + 0.0, base]
        loss = sum((t * lib.linspace(-1.0, 1.0, t.numel()).view(t.shape)).sum() for t in outs)
        loss.backward()
        return base.detach(), v.detach(), leaf.grad

    same(fn, atol=1e-6)
