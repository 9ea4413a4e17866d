"""Shared helpers of the pass tests: graph text without source comments, and a check that
a graph runs to the same values before and after a pass."""

from __future__ import annotations

import numpy as np

from graphtorch.backends.interpreter import Interpreter


def lines(*rows: str) -> str:
    """Expected graph text, one argument per line."""
    return "\n".join(rows)


def text(graph) -> str:
    """The printed graph without the ``# file:line`` source comments."""
    return "\n".join(line.split("   # ")[0] for line in str(graph).splitlines())


def assert_same_results(before, after, params, *inputs, rtol=0.0, atol=0.0):
    """Both graphs give the same outputs (dtype, shape, values) on `inputs`."""
    a = Interpreter(before, params).run(*inputs)
    b = Interpreter(after, params).run(*inputs)
    a = a if isinstance(a, tuple) else (a,)
    b = b if isinstance(b, tuple) else (b,)
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.dtype is y.dtype and tuple(x.shape) == tuple(y.shape)
        np.testing.assert_allclose(y.numpy(), x.numpy(), rtol=rtol, atol=atol, equal_nan=True)
