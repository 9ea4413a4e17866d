"""Result strides match PyTorch's, eagerly and compiled, for ops whose layout rule is not
plain NumPy's: PyTorch keeps a permuted input's strides through sort and flip, lays cat,
stack and roll out row-major unless every input is channels-last, returns row-major
gather, layer_norm and logsigmoid results, and keeps channels-last through convolution,
pooling, padding and upsampling. Code that calls ``view`` on these results, or prints
``is_contiguous(memory_format=...)`` (the channels-last tutorial), depends on it.

Known differences, left alone: the stride of a size-1 dim after keepdim reductions, and
binary ops whose operands disagree on layout (PyTorch follows the first operand, NumPy's
row-major order wins here)."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt

torch = pytest.importorskip("torch")


def _input(lib, kind):
    base = lib.arange(2 * 3 * 4 * 5, dtype=lib.float32).reshape(2, 3, 4, 5) / 7.0
    if kind == "permuted":
        return base.permute(0, 2, 3, 1)
    if kind == "channels_last":
        return base.contiguous(memory_format=lib.channels_last)
    if kind == "transposed":
        return base.reshape(6, 20).t()
    if kind == "sliced_channels_last":
        return base.contiguous(memory_format=lib.channels_last)[:, 1:]
    return base[:, :, ::2]  # "stepped"


def _conv_weight(lib):
    return (lib.arange(4 * 3 * 3 * 3, dtype=lib.float32).reshape(4, 3, 3, 3) - 50) / 60.0


OPS = {
    "sort_last": lambda L, x: L.sort(x, dim=-1)[0],
    "sort_first": lambda L, x: L.sort(x, dim=0, descending=True)[0],
    "sort_indices": lambda L, x: L.sort(x, dim=1)[1],
    "argsort": lambda L, x: L.argsort(x, dim=1),
    "flip": lambda L, x: L.flip(x, [0]),
    "flip_last": lambda L, x: L.flip(x, [-1, 1]),
    "rot90": lambda L, x: L.rot90(x, 1, [0, 1]),
    "rot90_k2": lambda L, x: L.rot90(x, 2, [0, 1]),
    "rot90_k3": lambda L, x: L.rot90(x, 3, [1, 0]),
    "rot90_k0": lambda L, x: L.rot90(x, 0, [0, 1]),
    "roll": lambda L, x: L.roll(x, 1, 1),
    "roll_whole": lambda L, x: L.roll(x, x.shape[1], 1),
    "roll_two": lambda L, x: L.roll(x, (1, -2), (1, -1)),
    "roll_flat": lambda L, x: L.roll(x, 3),
    "cat": lambda L, x: L.cat([x, x], 1),
    "cat_first": lambda L, x: L.cat([x, x * 2], 0),
    "cat_mixed": lambda L, x: L.cat([x, x.contiguous()], 0),
    "stack": lambda L, x: L.stack([x, x], 0),
    "stack_inner": lambda L, x: L.stack([x, x], 2),
    "stack_last": lambda L, x: L.stack([x, x], -1),
    "logsigmoid": lambda L, x: L.nn.functional.logsigmoid(x),
    "layer_norm": lambda L, x: L.nn.functional.layer_norm(x, x.shape[-1:]),
    "gather": lambda L, x: x.gather(1, L.zeros_like(x, dtype=L.long)),
    "index_put": lambda L, x: x.index_put((L.tensor([0]),), L.tensor(1.0)),
    "clone": lambda L, x: x.clone(),
    "exp": lambda L, x: x.exp(),
    "softmax": lambda L, x: x.softmax(1),
}
CHANNELS_OPS = {
    "conv": lambda L, x: L.nn.functional.conv2d(x, _conv_weight(L), padding=1),
    "conv_weight_cl": lambda L, x: L.nn.functional.conv2d(
        x.contiguous(), _conv_weight(L).contiguous(memory_format=L.channels_last)),
    "conv_transpose": lambda L, x: L.nn.functional.conv_transpose2d(x, _conv_weight(L)[:3]),
    "max_pool": lambda L, x: L.nn.functional.max_pool2d(x, 2),
    "avg_pool": lambda L, x: L.nn.functional.avg_pool2d(x, 2),
    "adaptive_avg": lambda L, x: L.nn.functional.adaptive_avg_pool2d(x, (2, 2)),
    "adaptive_max": lambda L, x: L.nn.functional.adaptive_max_pool2d(x, (2, 2)),
    "batch_norm": lambda L, x: L.nn.functional.batch_norm(x, None, None, training=True),
    "batch_norm_permuted": lambda L, x: L.nn.functional.batch_norm(
        x.permute(0, 3, 1, 2), None, None, training=True),
    "pad": lambda L, x: L.nn.functional.pad(x, (1, 1, 2, 0)),
    "pad_reflect": lambda L, x: L.nn.functional.pad(x, (1, 1, 1, 1), mode="reflect"),
    "nearest": lambda L, x: L.nn.functional.interpolate(x, scale_factor=2),
    "bilinear": lambda L, x: L.nn.functional.interpolate(x, size=(5, 7), mode="bilinear"),
    "relu_cat": lambda L, x: L.cat([x.relu(), x], 1),
}
KINDS = ("permuted", "channels_last", "transposed", "stepped", "sliced_channels_last")
CASES = [(k, n) for k in KINDS for n in OPS] + \
    [(k, n) for k in ("channels_last", "sliced_channels_last") for n in CHANNELS_OPS]


def _run(lib, kind, name):
    x = _input(lib, kind)
    fn = OPS.get(name) or CHANNELS_OPS[name]
    return fn(lib, x)


def _expected(kind, name):
    try:
        return _run(torch, kind, name)
    except (RuntimeError, IndexError):
        pytest.skip("PyTorch refuses this combination")


@pytest.mark.parametrize("kind,name", CASES)
def test_eager_strides_match_pytorch(kind, name):
    want = _expected(kind, name)
    got = _run(gt, kind, name)
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-5)
    assert got.stride() == want.stride(), (kind, name)


@pytest.mark.parametrize("kind,name", CASES)
def test_compiled_strides_match_eager(kind, name):
    want = _expected(kind, name)
    fn = OPS.get(name) or CHANNELS_OPS[name]
    compiled = gt.compile(lambda x: fn(gt, x))
    for _ in range(2):
        got = compiled(_input(gt, kind))
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-5)
        assert got.stride() == want.stride(), (kind, name)
        assert got.view(-1).shape == (got.numel(),) if got.is_contiguous() else True


def test_channels_last_tutorial_prints_true():
    """The channels-last tutorial: a channels-last model keeps its outputs channels-last."""
    model = gt.nn.Sequential(gt.nn.Conv2d(8, 4, 3), gt.nn.ReLU(), gt.nn.MaxPool2d(2),
                             gt.nn.BatchNorm2d(4), gt.nn.AdaptiveAvgPool2d(2))
    model = model.to(memory_format=gt.channels_last)
    x = gt.randint(1, 10, (2, 8, 9, 9), dtype=gt.float32).contiguous(
        memory_format=gt.channels_last)
    for run in (model, gt.compile(model)):
        out = run(x)
        assert out.is_contiguous(memory_format=gt.channels_last)
