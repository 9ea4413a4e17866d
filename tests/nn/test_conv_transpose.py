"""ConvTranspose1d/2d/3d and Conv3d modules against PyTorch: seeded initial weights,
outputs, input and parameter gradients, `output_size`, reprs and constructor errors."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt

from . import compare_module, same_error, torch

RNG = np.random.default_rng(11)


def _x(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


TRANSPOSED_2D = [
    dict(),
    dict(stride=2),
    dict(stride=2, padding=1),
    dict(stride=2, padding=1, output_padding=1),
    dict(stride=(2, 3), padding=(1, 0), output_padding=(1, 2)),
    dict(dilation=2, padding=1),
    dict(groups=2),
    dict(groups=2, stride=2, bias=False),
    dict(kernel_size=(4, 2)),
]


@pytest.mark.parametrize("options", TRANSPOSED_2D, ids=str)
@pytest.mark.parametrize("shape", [(2, 4, 5, 6), (4, 3, 5)], ids=str)
def test_conv_transpose2d(options, shape):
    options = dict(options)
    kernel = options.pop("kernel_size", 3)
    tm, gm = compare_module(lambda lib: lib.nn.ConvTranspose2d(4, 6, kernel, **options),
                            [_x(*shape)])
    assert repr(gm) == repr(tm)


@pytest.mark.parametrize("options", [dict(), dict(stride=3, padding=1, output_padding=2),
                                     dict(groups=2, dilation=2), dict(bias=False)], ids=str)
@pytest.mark.parametrize("shape", [(2, 4, 7), (4, 7)], ids=str)
def test_conv_transpose1d(options, shape):
    tm, gm = compare_module(lambda lib: lib.nn.ConvTranspose1d(4, 2, 3, **options),
                            [_x(*shape)])
    assert repr(gm) == repr(tm)


def test_conv_transpose3d_and_conv3d():
    compare_module(lambda lib: lib.nn.ConvTranspose3d(2, 3, 2, stride=2), [_x(1, 2, 2, 3, 2)])
    tm, gm = compare_module(lambda lib: lib.nn.Conv3d(2, 4, (2, 3, 2), padding=1),
                            [_x(2, 2, 3, 4, 3)], rtol=1e-5, atol=1e-5)
    assert repr(gm) == repr(tm)
    compare_module(lambda lib: lib.nn.Conv3d(2, 2, 3, padding="same", padding_mode="reflect"),
                   [_x(1, 2, 4, 4, 4)], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("output_size", [[9, 11], (2, 6, 10, 12), [10, 12]], ids=str)
def test_conv_transpose2d_output_size(output_size):
    compare_module(lambda lib: lib.nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1),
                   [_x(2, 4, 5, 6)], call=lambda m, x: m(x, output_size=output_size))


def test_conv_transpose_downsample_upsample_roundtrip_shape():
    """PyTorch's documented idiom: output_size restores the shape a strided conv took."""
    for lib in (torch, gt):
        lib.manual_seed(0)
        x = lib.randn(1, 16, 12, 12)
        down = lib.nn.Conv2d(16, 16, 3, stride=2, padding=1)
        up = lib.nn.ConvTranspose2d(16, 16, 3, stride=2, padding=1)
        assert tuple(up(down(x), output_size=x.size()).shape) == (1, 16, 12, 12)


@pytest.mark.parametrize("call", [
    lambda lib: lib.nn.ConvTranspose2d(4, 6, 3, padding_mode="reflect"),
    lambda lib: lib.nn.ConvTranspose2d(4, 6, 3, groups=3),
    lambda lib: lib.nn.ConvTranspose2d(4, 6, 3, stride=2)(lib.ones(1, 4, 3, 3),
                                                          output_size=[20, 20]),
    lambda lib: lib.nn.ConvTranspose2d(4, 6, 3)(lib.ones(1, 4, 3, 3), output_size=[5]),
    lambda lib: lib.nn.ConvTranspose1d(4, 6, 3)(lib.ones(1, 5, 3)),
    lambda lib: lib.nn.ConvTranspose2d(4, 6, 3, stride=2, output_padding=2)(
        lib.ones(1, 4, 3, 3)),
])
def test_conv_transpose_errors(call):
    same_error(call)


def test_conv_transpose_state_dict_loads_both_ways():
    tm = torch.nn.ConvTranspose2d(3, 5, 4, stride=2, groups=1)
    gm = gt.nn.ConvTranspose2d(3, 5, 4, stride=2)
    gm.load_state_dict({k: gt.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    back = torch.nn.ConvTranspose2d(3, 5, 4, stride=2)
    back.load_state_dict({k: torch.tensor(v.numpy()) for k, v in gm.state_dict().items()})
    x = _x(2, 3, 4, 4)
    np.testing.assert_allclose(back(torch.tensor(x)).detach().numpy(),
                               gm(gt.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)
