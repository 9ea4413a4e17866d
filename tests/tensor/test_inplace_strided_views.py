"""In-place ops on strided views write exactly what PyTorch writes.

NumPy 2.4's in-place `negative` on a view whose stride is 16 bytes over 32-bit elements
(`x[:, 2]` of an (n, 4) float32) reads the wrong elements (found by the fuzz campaign:
`x.select(1, 2).neg_()` from the second call on, once the fast in-place path was taken);
graphtorch's fast path therefore only writes in place into contiguous arrays."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt

OPS = [("neg_", ()), ("abs_", ()), ("exp_", ()), ("sigmoid_", ()), ("mul_", (2.0,)),
       ("add_", (1.5,)), ("sub_", (0.5,)), ("clamp_", (-0.5, 0.5)), ("sqrt_", ())]


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64"])
@pytest.mark.parametrize("name, args", OPS)
def test_inplace_op_on_strided_views_as_pytorch(torch_oracle, name, args, dtype):
    torch = torch_oracle
    if dtype.startswith("int") and name in ("exp_", "sigmoid_", "sqrt_"):
        pytest.skip("a float op")
    if dtype.startswith("int") and any(type(a) is float for a in args):
        args = tuple(int(a * 2) for a in args)
    data = (np.random.default_rng(0).standard_normal((6, 4)) * 3).astype(dtype)
    for view in (lambda t: t.select(1, 2), lambda t: t[:, 2], lambda t: t[::2],
                 lambda t: t.t(), lambda t: t[:, 1::2], lambda t: t.select(1, 2).detach()):
        for _ in range(3):  # the fast path is taken once the dtype decision is cached
            ours, theirs = gt.tensor(data.copy()), torch.tensor(data.copy())
            getattr(view(ours), name)(*args)
            getattr(view(theirs), name)(*args)
            np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6,
                                       equal_nan=True)
