"""LocalResponseNorm / F.local_response_norm and ChannelShuffle / F.channel_shuffle against
PyTorch: values, gradients, reprs, errors, and compiled equal to eager (AlexNet's block)."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt

from . import close, compare_module, same_error, torch

RNG = np.random.default_rng(11)


@pytest.mark.parametrize("shape", [(2, 5, 7), (2, 6, 3, 4), (1, 4, 2, 3, 2), (0, 3, 4)],
                         ids=str)
@pytest.mark.parametrize("kwargs", [dict(size=2), dict(size=5, alpha=1e-2, beta=0.5, k=2.0),
                                    dict(size=1)], ids=str)
def test_local_response_norm(shape, kwargs):
    compare_module(lambda lib: lib.nn.LocalResponseNorm(**kwargs),
                   [RNG.standard_normal(shape) * 3])


def test_local_response_norm_float32_functional():
    x = RNG.standard_normal((2, 8, 5, 5)).astype(np.float32)
    close(gt.nn.functional.local_response_norm(gt.tensor(x), 3, 1e-3, 0.75, 2.0),
          torch.nn.functional.local_response_norm(torch.tensor(x), 3, 1e-3, 0.75, 2.0))


@pytest.mark.parametrize("shape,groups", [((2, 6, 3), 3), ((1, 4, 2, 2), 2),
                                          ((2, 6, 1, 2, 3), 2), ((2, 6, 3), 1)], ids=str)
def test_channel_shuffle(shape, groups):
    compare_module(lambda lib: lib.nn.ChannelShuffle(groups), [RNG.standard_normal(shape)])
    x = np.arange(np.prod(shape)).reshape(shape)
    close(gt.nn.functional.channel_shuffle(gt.tensor(x), groups),
          torch.nn.functional.channel_shuffle(torch.tensor(x), groups))
    close(gt.nn.functional.native_channel_shuffle(gt.tensor(x), groups),
          torch.nn.functional.native_channel_shuffle(torch.tensor(x), groups))


def test_reprs():
    for make in (lambda lib: lib.nn.LocalResponseNorm(2),
                 lambda lib: lib.nn.LocalResponseNorm(3, 0.1, 0.5, 2),
                 lambda lib: lib.nn.ChannelShuffle(3)):
        assert repr(make(gt)) == repr(make(torch))


ERRORS = [
    lambda lib: lib.nn.functional.local_response_norm(lib.zeros(2, 3), 2),
    lambda lib: lib.nn.functional.channel_shuffle(lib.zeros(2, 6, 3), 4),
    lambda lib: lib.nn.functional.channel_shuffle(lib.zeros(2, 6, 3), 0),
    lambda lib: lib.nn.functional.channel_shuffle(lib.zeros(2, 6, 3), -2),
    lambda lib: lib.nn.functional.channel_shuffle(lib.zeros(2, 6), 2),
    lambda lib: lib.nn.functional.channel_shuffle(lib.zeros(2, 6, 3), 2.0),
]


@pytest.mark.parametrize("fn", ERRORS)
def test_errors_match_torch(fn):
    same_error(fn)


def test_alexnet_block_compiled_equals_eager():
    gt.manual_seed(0)
    block = gt.nn.Sequential(gt.nn.Conv2d(3, 8, 3, padding=1), gt.nn.ReLU(),
                             gt.nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0),
                             gt.nn.ChannelShuffle(2), gt.nn.MaxPool2d(2))
    x = gt.tensor(RNG.standard_normal((2, 3, 8, 8)).astype(np.float32))
    close(gt.compile(block)(x), block(x), rtol=1e-5, atol=1e-6)
