"""Reductions, scans, softmax, masked_fill and tril/triu return row-major results whatever
their input's memory order, as PyTorch's do (`ResultLayout.CONTIGUOUS`; NumPy keeps a
permuted input's order): strides as PyTorch's on permuted and channels-last inputs, so
``.view()`` after them works as in PyTorch, eagerly and compiled."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt

torch = pytest.importorskip("torch")

OPS = {
    "sum": lambda t, lib: t.sum(1), "sum_keepdim": lambda t, lib: t.sum(1, keepdim=True),
    "mean": lambda t, lib: t.mean(0), "var": lambda t, lib: t.var(-1),
    "amax": lambda t, lib: t.amax(1), "amin": lambda t, lib: t.amin(-1),
    "max_dim": lambda t, lib: t.max(1)[0], "prod": lambda t, lib: t.prod(1),
    "logsumexp": lambda t, lib: t.logsumexp(0), "any": lambda t, lib: (t > 3).any(1),
    "vector_norm": lambda t, lib: lib.linalg.vector_norm(t, dim=-1),
    "cumsum": lambda t, lib: t.cumsum(1), "cumprod": lambda t, lib: t.cumprod(0),
    "cummax": lambda t, lib: t.cummax(-1)[0], "logcumsumexp": lambda t, lib: t.logcumsumexp(1),
    "softmax": lambda t, lib: t.softmax(-1), "log_softmax": lambda t, lib: t.log_softmax(0),
    "masked_fill": lambda t, lib: t.masked_fill(t > 3, 0.0), "tril": lambda t, lib: t.tril(),
    "triu": lambda t, lib: t.triu(1),
}


def _inputs(lib):
    data = np.arange(120, dtype=np.float32).reshape(2, 3, 4, 5) / 40
    yield "channels_last", lib.tensor(data).contiguous(memory_format=lib.channels_last)
    for order in ((2, 0, 1), (1, 0, 2), (0, 2, 1)):
        base = np.ascontiguousarray(data[0].transpose(order))
        yield str(order), lib.tensor(base).permute(*np.argsort(order))


def _wide_strides(t):
    return [t.stride(d) for d in range(t.ndim) if t.shape[d] > 1]


@pytest.mark.parametrize("name", sorted(OPS))
def test_layouts_match_pytorch_eager_and_compiled(name):
    fn = OPS[name]
    compiled = gt.compile(lambda t: fn(t, gt))
    for (label, x), (_, tx) in zip(_inputs(gt), _inputs(torch)):
        want, got = fn(tx, torch), fn(x, gt)
        assert _wide_strides(got) == _wide_strides(want), (name, label)
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)
        out = compiled(x)
        assert _wide_strides(out) == _wide_strides(want), (name, label, "compiled")
        out.view(-1)  # row-major, as PyTorch's: a view, not an error
