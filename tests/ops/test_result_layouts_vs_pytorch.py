"""Result layouts against PyTorch's, eagerly and compiled, on permuted, strided and
channels-last inputs:

- elementwise results keep their input's memory order, as PyTorch's TensorIterator lays
  them out, also for kernels built from ``xp.where`` (erf, erfc, erfinv, gelu:
  `layout.in_memory_order`);
- reductions, scans, softmax, masked_fill and tril/triu return row-major results whatever
  their input's memory order, as PyTorch's do (`ResultLayout.CONTIGUOUS`; NumPy keeps a
  permuted input's order), so ``.view()`` after them works as in PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt

torch = pytest.importorskip("torch")

ELEMENTWISE_OPS = {"erf": lambda t, lib: t.erf(), "erfc": lambda t, lib: t.erfc(),
       "erfinv": lambda t, lib: (t * 0.5).erfinv(),
       "gelu": lambda t, lib: lib.nn.functional.gelu(t),
       "gelu_tanh": lambda t, lib: lib.nn.functional.gelu(t, approximate="tanh")}

ROW_MAJOR_OPS = {
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


def _inputs(lib, data, strided: bool):
    yield "channels_last", lib.tensor(data).contiguous(memory_format=lib.channels_last)
    if strided:
        yield "strided", lib.tensor(data)[:, ::2, :, 1:]
    for order in ((2, 0, 1), (1, 0, 2), (0, 2, 1)):
        base = np.ascontiguousarray(data[0].transpose(order))
        yield str(order), lib.tensor(base).permute(*np.argsort(order))


def _wide_strides(t):
    return [t.stride(d) for d in range(t.ndim) if t.shape[d] > 1]


def _check(fn, name, data, strided: bool):
    """Strides (of dims longer than 1) and values as PyTorch's, eagerly and compiled; the
    compiled results, one per input."""
    compiled = gt.compile(lambda t: fn(t, gt))
    outs = []
    for (label, x), (_, tx) in zip(_inputs(gt, data, strided), _inputs(torch, data, strided)):
        want, got = fn(tx, torch), fn(x, gt)
        assert _wide_strides(got) == _wide_strides(want), (name, label)
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)
        out = compiled(x)
        assert _wide_strides(out) == _wide_strides(want), (name, label, "compiled")
        outs.append(out)
    return outs


@pytest.mark.parametrize("name", sorted(ELEMENTWISE_OPS))
def test_elementwise_layouts_match_pytorch_eager_and_compiled(name):
    data = (np.arange(120, dtype=np.float32).reshape(2, 3, 4, 5) - 60) / 61
    _check(ELEMENTWISE_OPS[name], name, data, strided=True)


@pytest.mark.parametrize("name", sorted(ROW_MAJOR_OPS))
def test_row_major_layouts_match_pytorch_eager_and_compiled(name):
    data = np.arange(120, dtype=np.float32).reshape(2, 3, 4, 5) / 40
    for out in _check(ROW_MAJOR_OPS[name], name, data, strided=False):
        out.view(-1)  # row-major, as PyTorch's: a view, not an error
