"""autograd.grad sums every path from the output to an input (regression: a node reached
by two paths was once scored before its child, dropping a path)."""

from __future__ import annotations

import graphtorch as gt


def test_grad_through_two_paths_equals_backward():
    for build in (lambda a: (a * a.sum()).sum(), lambda a: (a * (a * 2)).sum(),
                  lambda a: ((a.exp() + a) * (a.sin() + a * 3)).sum()):
        a = gt.tensor([1.0, 2.0], requires_grad=True)
        (grad,) = gt.autograd.grad(build(a), a)
        b = gt.tensor([1.0, 2.0], requires_grad=True)
        build(b).backward()
        assert gt.allclose(grad, b.grad) if hasattr(gt, "allclose") else \
            (grad - b.grad).abs().max().item() < 1e-6


def test_tensor_where_method_binds_self_as_the_true_branch():
    x = gt.tensor([1.0, -2.0])
    assert x.where(x > 0, gt.tensor(0.0)).tolist() == [1.0, 0.0]
