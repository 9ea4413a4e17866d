"""`gt.testing.assert_close` against `torch.testing.assert_close`: the same pass/fail, the
same exception type and the same message, on tensors, numbers and containers."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from tests.autograd.diff import torch

CASES = [
    lambda m, ac: ac(m.tensor([1., 2., 3.]), m.tensor([1., 2.5, 3.])),
    lambda m, ac: ac(m.tensor([1., 2., 3.]), m.tensor([1., 2. + 1e-6, 3.])),
    lambda m, ac: ac(m.tensor([1., 2.]), m.tensor([1., 2., 3.])),
    lambda m, ac: ac(m.tensor([1., 2.]), m.tensor([1., 2.], dtype=m.float64)),
    lambda m, ac: ac(m.tensor([1., 2.]), m.tensor([1., 2.], dtype=m.float64), check_dtype=False),
    lambda m, ac: ac(1.0, 1.5),
    lambda m, ac: ac(1.0, 1.0 + 1e-9),
    lambda m, ac: ac(3, 3),
    lambda m, ac: ac(m.tensor([1, 2]), m.tensor([1, 3])),
    lambda m, ac: ac(m.tensor([1., 2.]), 1.0),
    lambda m, ac: ac([m.tensor(1.)], [m.tensor(1.), m.tensor(2.)]),
    lambda m, ac: ac({"a": m.tensor(1.)}, {"a": m.tensor(2.)}),
    lambda m, ac: ac((m.tensor(1.), [m.tensor([2., 3.])]), (m.tensor(1.), [m.tensor([2., 4.])])),
    lambda m, ac: ac(m.tensor([float("nan")]), m.tensor([float("nan")])),
    lambda m, ac: ac(m.tensor([float("nan")]), m.tensor([float("nan")]), equal_nan=True),
    lambda m, ac: ac(m.tensor([float("inf")]), m.tensor([float("inf")])),
    lambda m, ac: ac(m.tensor([1., 2.]), m.tensor([1., 2.1]), rtol=0.1),
    lambda m, ac: ac(m.tensor([1., 2.]), m.tensor([1., 2.1]), rtol=0.1, atol=0.0),
    lambda m, ac: ac(m.tensor([[1., 2.], [3, 4]]), m.tensor([[1., 2.], [3, 5]]), msg="custom"),
    lambda m, ac: ac(m.tensor([[1., 2.], [3, 4]]), m.tensor([[1., 2.], [3, 5]]),
                     msg=lambda text: text.upper()),
    lambda m, ac: ac(m.tensor(True), m.tensor(False)),
    lambda m, ac: ac(m.tensor([1., 2.]), [1., 2.]),
    lambda m, ac: ac(m.tensor([1., 2.], dtype=m.float16), m.tensor([1., 2.001], dtype=m.float16)),
    lambda m, ac: ac(m.arange(6.).reshape(2, 3).t(), m.arange(6.).reshape(3, 2),
                     check_stride=True),
    lambda m, ac: ac(np.array([1., 2.]), np.array([1., 2.5])),
    lambda m, ac: ac(m.tensor([1., 2.], requires_grad=True) * 2, m.tensor([2., 4.])),
    lambda m, ac: ac(None, None),
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_assert_close_matches_torch(case):
    def outcome(module):
        try:
            CASES[case](module, module.testing.assert_close)
        except Exception as exc:  # noqa: BLE001 - the outcome is what is compared
            return type(exc).__name__, str(exc)
        return "pass", ""
    assert outcome(gt) == outcome(torch)
