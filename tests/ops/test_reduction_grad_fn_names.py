"""grad_fn names of sum and mean name PyTorch's overload, as printed results show them
(``tensor([...], grad_fn=<SumBackward1>)`` for ``x.sum(1)``): 0 without a dim, 1 with one."""

from __future__ import annotations

import pytest

import graphtorch as gt
from tests.autograd.diff import torch

CASES = [
    lambda x: x.sum(), lambda x: x.sum(1), lambda x: x.sum(1, keepdim=True),
    lambda x: x.sum((0, 1)), lambda x: x.sum(dtype=x.dtype), lambda x: x.sum(-1, dtype=x.dtype),
    lambda x: x.mean(), lambda x: x.mean(0), lambda x: x.mean((0, 1)),
    lambda x: x.mean(1, keepdim=True), lambda x: x.mean(dim=[0]),
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_sum_mean_grad_fn_names_match_torch(case):
    fn = CASES[case]
    got = fn(gt.randn(3, 4, requires_grad=True))
    want = fn(torch.randn(3, 4, requires_grad=True))
    assert got.grad_fn.name() == want.grad_fn.name()
    assert repr(got).split("grad_fn=")[1] == repr(want).split("grad_fn=")[1]


def test_tutorial_print_of_a_row_sum():
    gt.manual_seed(0)
    torch.manual_seed(0)
    got = gt.randn(2, 3, requires_grad=True).exp().sum(1)
    want = torch.randn(2, 3, requires_grad=True).exp().sum(1)
    assert repr(got) == repr(want)
