"""grad_fn names of sub and pow name PyTorch's overload, as printed results show them:
``1 - x`` is ``RsubBackward1``; ``x ** 2``, ``x ** x`` and ``2 ** x`` are ``PowBackward0/1/2``."""

from __future__ import annotations

import pytest

import graphtorch as gt
from tests.autograd.diff import torch

CASES = [
    lambda m, x: x - 1, lambda m, x: 1 - x, lambda m, x: x - x, lambda m, x: 1.5 - x.double(),
    lambda m, x: x ** 2, lambda m, x: x ** x, lambda m, x: 2 ** x, lambda m, x: m.pow(x, 2.0),
    lambda m, x: m.pow(2.0, x), lambda m, x: x.pow(m.tensor(2.0)),
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_sub_and_pow_grad_fn_names_match_torch(case):
    fn = CASES[case]
    got = fn(gt, gt.rand(3, requires_grad=True) + 0.5)
    want = fn(torch, torch.rand(3, requires_grad=True) + 0.5)
    assert got.grad_fn.name() == want.grad_fn.name()
