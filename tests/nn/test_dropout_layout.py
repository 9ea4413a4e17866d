"""Dropout on a non-contiguous input draws its mask in the input's memory order, as
PyTorch's `empty_like(input).bernoulli_()` does: a seeded dropout of a transposed tensor
(an attention output) and a training TransformerEncoderLayer equal PyTorch's."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt

from . import close, npy, torch


@pytest.mark.parametrize("make", [
    lambda lib: lib.ones(10, 4, 16).transpose(0, 1),
    lambda lib: lib.ones(3, 4, 5).permute(2, 0, 1),
    lambda lib: lib.ones(6, 5).t(),
    lambda lib: lib.ones(4, 10, 16)[:, ::2],
    lambda lib: lib.ones(1, 5, 6).transpose(1, 2),
])
@pytest.mark.parametrize("inplace", [False, True])
def test_dropout_mask_follows_memory_order(make, inplace):
    outs = []
    for lib in (gt, torch):
        lib.manual_seed(3)
        outs.append(lib.nn.functional.dropout(make(lib), 0.5, inplace=inplace))
    close(outs[0], outs[1], rtol=0, atol=0)
    sized = [d for d in range(outs[1].ndim) if outs[1].shape[d] > 1]  # size-1 strides vary
    assert [outs[0].stride(d) for d in sized] == [outs[1].stride(d) for d in sized]


def test_compiled_dropout_of_a_transposed_view_equals_eager():
    x = gt.randn(6, 5)
    step = gt.compile(lambda x: gt.nn.functional.dropout(x.t(), 0.5))
    step(x)
    gt.manual_seed(7)
    eager = gt.nn.functional.dropout(x.t(), 0.5)
    gt.manual_seed(7)
    close(step(x), eager, rtol=0, atol=0)


@pytest.mark.parametrize("batch_first", [True, False])
def test_training_transformer_encoder_layer_with_dropout(batch_first):
    torch.manual_seed(0)
    theirs = torch.nn.TransformerEncoderLayer(16, 4, 32, 0.1, batch_first=batch_first)
    ours = gt.nn.TransformerEncoderLayer(16, 4, 32, 0.1, batch_first=batch_first)
    ours.load_state_dict({k: gt.from_numpy(npy(v)) for k, v in theirs.state_dict().items()})
    x = np.random.RandomState(0).randn(4, 10, 16).astype(np.float32)
    outs = []
    for lib, layer in ((gt, ours), (torch, theirs)):
        lib.manual_seed(3)
        out = layer(lib.from_numpy(x))
        out.sum().backward()
        outs.append((out, layer.linear1.weight.grad))
    close(outs[0][0], outs[1][0], rtol=1e-4, atol=1e-5)
    close(outs[0][1], outs[1][1], rtol=1e-4, atol=1e-5)
