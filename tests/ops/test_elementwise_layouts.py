"""Elementwise results keep their input's memory order, as PyTorch's TensorIterator lays
them out, also for kernels built from ``xp.where`` (erf, erfc, erfinv, gelu:
`layout.in_memory_order`): strides as PyTorch's on permuted, strided and channels-last
inputs, eagerly and compiled."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt

torch = pytest.importorskip("torch")

OPS = {"erf": lambda t, lib: t.erf(), "erfc": lambda t, lib: t.erfc(),
       "erfinv": lambda t, lib: (t * 0.5).erfinv(),
       "gelu": lambda t, lib: lib.nn.functional.gelu(t),
       "gelu_tanh": lambda t, lib: lib.nn.functional.gelu(t, approximate="tanh")}


def _inputs(lib):
    data = (np.arange(120, dtype=np.float32).reshape(2, 3, 4, 5) - 60) / 61
    yield "channels_last", lib.tensor(data).contiguous(memory_format=lib.channels_last)
    yield "strided", lib.tensor(data)[:, ::2, :, 1:]
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
        assert _wide_strides(compiled(x)) == _wide_strides(want), (name, label, "compiled")
