"""nn.utils.fusion against PyTorch: fused conv/linear + eval BatchNorm weights, and the
fused layer's output equal to bn(layer(x)); training-mode modules are refused."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt

from . import build, close, same_error, torch

RNG = np.random.default_rng(11)


def _with_stats(lib, layer, bn):
    """Eval-mode pair with non-trivial running statistics and affine parameters."""
    with lib.no_grad():
        bn.running_mean.copy_(lib.linspace(-1, 1, bn.num_features))
        bn.running_var.copy_(lib.linspace(0.5, 2, bn.num_features))
        if bn.weight is not None:
            bn.weight.copy_(lib.linspace(0.8, 1.3, bn.num_features))
            bn.bias.copy_(lib.linspace(-0.2, 0.3, bn.num_features))
    return layer.eval(), bn.eval()


CASES = {
    "conv2d": (lambda lib: (lib.nn.Conv2d(3, 4, 3), lib.nn.BatchNorm2d(4)), (2, 3, 6, 6), False),
    "conv1d_no_bias": (lambda lib: (lib.nn.Conv1d(2, 5, 3, bias=False), lib.nn.BatchNorm1d(5)),
                       (2, 2, 7), False),
    "conv_transpose2d": (lambda lib: (lib.nn.ConvTranspose2d(3, 4, 2),
                                      lib.nn.BatchNorm2d(4, affine=False)), (1, 3, 4, 4), True),
}


@pytest.mark.parametrize("case", CASES)
def test_fuse_conv_bn_eval_matches(case):
    ctor, shape, transpose = CASES[case]
    tm, gm = build(lambda lib: _with_stats(lib, *ctor(lib)), seed=3)
    x = RNG.standard_normal(shape).astype(np.float32)
    weight_before = gm[0].weight.detach().numpy().copy()
    fused = {}
    for lib, (layer, bn) in ((gt, gm), (torch, tm)):
        fused[lib] = lib.nn.utils.fuse_conv_bn_eval(layer, bn, transpose=transpose)
        assert fused[lib] is not layer and isinstance(fused[lib].weight, lib.nn.Parameter)
        close(fused[lib](lib.tensor(x)), bn(layer(lib.tensor(x))), 1e-5, 1e-5,
              "fused == bn(conv(x))")
    close(fused[gt].weight, fused[torch].weight)
    close(fused[gt].bias, fused[torch].bias)
    np.testing.assert_array_equal(gm[0].weight.detach().numpy(), weight_before)  # a copy


def test_fuse_linear_bn_eval_matches():
    tm, gm = build(lambda lib: _with_stats(lib, lib.nn.Linear(5, 4), lib.nn.BatchNorm1d(4)))
    x = RNG.standard_normal((3, 5)).astype(np.float32)
    fused = {}
    for lib, (layer, bn) in ((gt, gm), (torch, tm)):
        fused[lib] = lib.nn.utils.fuse_linear_bn_eval(layer, bn)
        close(fused[lib](lib.tensor(x)), bn(layer(lib.tensor(x))), 1e-5, 1e-5)
    close(fused[gt].weight, fused[torch].weight)
    close(fused[gt].bias, fused[torch].bias)


def test_fuse_weights_functions_return_parameters():
    tm, gm = build(lambda lib: _with_stats(lib, lib.nn.Conv2d(2, 3, 1), lib.nn.BatchNorm2d(3)))
    results = []
    for lib, (conv, bn) in ((gt, gm), (torch, tm)):
        results.append(lib.nn.utils.fuse_conv_bn_weights(
            conv.weight, conv.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias))
    for ours, theirs in zip(*results):
        assert isinstance(ours, gt.nn.Parameter) and ours.requires_grad
        close(ours, theirs)


def test_training_mode_is_refused():
    same_error(lambda lib: lib.nn.utils.fuse_conv_bn_eval(lib.nn.Conv2d(1, 2, 1),
                                                          lib.nn.BatchNorm2d(2)))
    same_error(lambda lib: lib.nn.utils.fuse_linear_bn_eval(lib.nn.Linear(2, 3).eval(),
                                                            lib.nn.BatchNorm1d(2).eval()))
