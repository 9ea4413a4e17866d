"""Convolution, pooling and normalization functions against PyTorch: error types and messages,
running statistics, train vs eval, grad_fn names, index semantics, and a LeNet-sized
forward/backward sanity run (no timing assertion)."""

from __future__ import annotations

import types

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.functions import nn_ops
from graphtorch.functions.nn_ops import FUNCTIONAL

torch = pytest.importorskip("torch")
TF = torch.nn.functional
GF = types.SimpleNamespace(**FUNCTIONAL)


def _libs():
    return ((torch, TF), (gt, GF))


def _outcome(fn, lib, F):
    try:
        fn(lib, F)
    except Exception as exc:  # noqa: BLE001 - the exception is what is compared
        return type(exc).__name__, str(exc)
    return None


def _t(lib, *shape, dtype=None):
    data = np.random.default_rng(0).standard_normal(shape).astype("float32")
    t = lib.tensor(data)
    return t if dtype is None else t.to(getattr(lib, dtype))


ERRORS = {
    "conv_channels": lambda L, F: F.conv2d(_t(L, 2, 3, 5, 5), _t(L, 4, 2, 3, 3)),
    "conv_weight_rank": lambda L, F: F.conv2d(_t(L, 2, 3, 5, 5), _t(L, 4, 3, 3)),
    "conv_input_rank": lambda L, F: F.conv2d(_t(L, 1, 2, 3, 5, 5), _t(L, 4, 3, 3, 3)),
    "conv1d_input_rank": lambda L, F: F.conv1d(_t(L, 2, 3, 5, 5), _t(L, 4, 3, 3)),
    "conv_groups_channels": lambda L, F: F.conv2d(_t(L, 2, 3, 5, 5), _t(L, 4, 3, 3, 3),
                                                  groups=2),
    "conv_groups_weight": lambda L, F: F.conv2d(_t(L, 2, 4, 5, 5), _t(L, 3, 2, 3, 3),
                                                groups=2),
    "conv_bias": lambda L, F: F.conv2d(_t(L, 2, 3, 5, 5), _t(L, 4, 3, 3, 3), _t(L, 3)),
    "conv_bias_rank": lambda L, F: F.conv2d(_t(L, 2, 3, 5, 5), _t(L, 4, 3, 3, 3), _t(L, 1, 4)),
    "conv_kernel_too_big": lambda L, F: F.conv2d(_t(L, 2, 3, 5, 5), _t(L, 4, 3, 7, 7)),
    "conv1d_kernel_too_big": lambda L, F: F.conv1d(_t(L, 2, 3, 5), _t(L, 4, 3, 6)),
    "conv_stride0": lambda L, F: F.conv2d(_t(L, 2, 3, 5, 5), _t(L, 4, 3, 3, 3), stride=0),
    "conv_neg_pad": lambda L, F: F.conv2d(_t(L, 2, 3, 5, 5), _t(L, 4, 3, 3, 3), padding=-1),
    "conv_dilation0": lambda L, F: F.conv2d(_t(L, 2, 3, 5, 5), _t(L, 4, 3, 3, 3), dilation=0),
    "conv_groups0": lambda L, F: F.conv2d(_t(L, 2, 3, 5, 5), _t(L, 4, 3, 3, 3), groups=0),
    "conv_same_strided": lambda L, F: F.conv2d(_t(L, 2, 3, 5, 5), _t(L, 4, 3, 3, 3),
                                               padding="same", stride=2),
    "conv_bad_padding_str": lambda L, F: F.conv2d(_t(L, 2, 3, 5, 5), _t(L, 4, 3, 3, 3),
                                                  padding="foo"),
    "conv_param_length": lambda L, F: F.conv2d(_t(L, 2, 3, 5, 5), _t(L, 4, 3, 3, 3),
                                               stride=(1, 1, 1)),
    "conv_weight_dtype": lambda L, F: F.conv2d(_t(L, 2, 3, 5, 5),
                                               _t(L, 4, 3, 3, 3, dtype="float64")),
    "conv_input_dtype": lambda L, F: F.conv2d(_t(L, 2, 3, 5, 5, dtype="float64"),
                                              _t(L, 4, 3, 3, 3)),
    "conv_bias_dtype": lambda L, F: F.conv2d(_t(L, 2, 3, 5, 5), _t(L, 4, 3, 3, 3),
                                             _t(L, 4, dtype="float64")),
    "conv_bool": lambda L, F: F.conv2d(_t(L, 2, 3, 5, 5, dtype="bool"),
                                       _t(L, 4, 3, 3, 3, dtype="bool")),
    "convT_output_padding": lambda L, F: F.conv_transpose2d(
        _t(L, 2, 3, 5, 5), _t(L, 3, 4, 3, 3), stride=2, output_padding=2),
    "convT1d_output_padding": lambda L, F: F.conv_transpose1d(
        _t(L, 2, 3, 5), _t(L, 3, 4, 3), output_padding=1),
    "convT3d_output_padding": lambda L, F: F.conv_transpose3d(
        _t(L, 1, 3, 3, 3, 3), _t(L, 3, 4, 2, 2, 2), output_padding=1),
    "convT_channels": lambda L, F: F.conv_transpose2d(_t(L, 2, 3, 5, 5), _t(L, 4, 4, 3, 3)),
    "convT_bias": lambda L, F: F.conv_transpose2d(_t(L, 2, 4, 5, 5), _t(L, 4, 4, 3, 3),
                                                  _t(L, 5), groups=2),
    "convT_padding_str": lambda L, F: F.conv_transpose2d(_t(L, 2, 4, 5, 5), _t(L, 4, 4, 3, 3),
                                                         padding="same"),
    "convT_input_rank": lambda L, F: F.conv_transpose2d(_t(L, 1, 2, 3, 5, 5),
                                                        _t(L, 3, 4, 3, 3)),
    "maxpool_big_pad": lambda L, F: F.max_pool2d(_t(L, 2, 3, 5, 5), 2, padding=2),
    "maxpool_too_small": lambda L, F: F.max_pool2d(_t(L, 2, 3, 5, 5), 7),
    "maxpool3d_too_small": lambda L, F: F.max_pool3d(_t(L, 2, 3, 5, 5, 5), 7),
    "maxpool_stride0": lambda L, F: F.max_pool2d(_t(L, 2, 3, 5, 5), 2, stride=0),
    "maxpool_stride_neg": lambda L, F: F.max_pool2d(_t(L, 2, 3, 5, 5), 2, stride=-1),
    "maxpool_kernel0": lambda L, F: F.max_pool2d(_t(L, 2, 3, 5, 5), 0, 1),
    "maxpool3d_kernel0": lambda L, F: F.max_pool3d(_t(L, 2, 3, 5, 5, 5), 0, 1),
    "maxpool_neg_pad": lambda L, F: F.max_pool2d(_t(L, 2, 3, 5, 5), 2, 1, -1),
    "maxpool_dilation0": lambda L, F: F.max_pool2d(_t(L, 2, 3, 5, 5), 2, dilation=0),
    "maxpool_rank": lambda L, F: F.max_pool2d(_t(L, 5, 5), 2),
    "maxpool_kernel_tuple": lambda L, F: F.max_pool2d(_t(L, 2, 3, 5, 5), (2, 2, 2)),
    "maxpool_stride_tuple": lambda L, F: F.max_pool2d(_t(L, 2, 3, 5, 5), 2, stride=(1, 2, 3)),
    "maxpool_bool": lambda L, F: F.max_pool2d(_t(L, 2, 3, 5, 5, dtype="bool"), 2),
    "maxpool1d_long": lambda L, F: F.max_pool1d(_t(L, 3, 5, dtype="int64"), 2),
    "maxpool1d_kernel0": lambda L, F: F.max_pool1d(_t(L, 3, 5), 0, 1),
    "maxpool1d_stride0": lambda L, F: F.max_pool1d(_t(L, 3, 5), 2, 0),
    "maxpool1d_pad": lambda L, F: F.max_pool1d(_t(L, 3, 5), 2, 1, 2),
    "maxpool1d_too_small": lambda L, F: F.max_pool1d(_t(L, 3, 5), 7),
    "maxpool1d_rank": lambda L, F: F.max_pool1d(_t(L, 2, 3, 5, 5), 2),
    "maxpool1d_empty": lambda L, F: F.max_pool1d(_t(L, 2, 3, 0), 2),
    "maxpool1d_kernel_tuple": lambda L, F: F.max_pool1d(_t(L, 3, 5), (2, 2)),
    "maxpool1d_idx_kernel0": lambda L, F: F.max_pool1d(_t(L, 3, 5), 0, 1, return_indices=True),
    "maxpool1d_idx_stride_neg": lambda L, F: F.max_pool1d(_t(L, 3, 5), 2, -1,
                                                          return_indices=True),
    "maxpool1d_idx_pad": lambda L, F: F.max_pool1d(_t(L, 3, 5), 2, 1, 2, return_indices=True),
    "maxpool1d_idx_too_small": lambda L, F: F.max_pool1d(_t(L, 3, 5), 7, return_indices=True),
    "maxpool1d_idx_dilation0": lambda L, F: F.max_pool1d(_t(L, 3, 5), 2, dilation=0,
                                                         return_indices=True),
    "maxpool1d_idx_kernel_tuple": lambda L, F: F.max_pool1d(_t(L, 3, 5), (2, 2),
                                                            return_indices=True),
    "maxpool1d_idx_rank": lambda L, F: F.max_pool1d(_t(L, 2, 3, 5, 5), 2, return_indices=True),
    "maxpool1d_idx_empty": lambda L, F: F.max_pool1d(_t(L, 2, 0, 3), 2, return_indices=True),
    "maxpool1d_neg_pad": lambda L, F: F.max_pool1d(_t(L, 3, 5), 2, 1, -1),
    "maxpool1d_stride_tuple": lambda L, F: F.max_pool1d(_t(L, 3, 5), 2, (1, 1)),
    "maxpool_empty_channels": lambda L, F: F.max_pool2d(_t(L, 2, 0, 4, 4), 2),
    "maxpool3d_empty": lambda L, F: F.max_pool3d(_t(L, 2, 0, 4, 4, 4), 2),
    "maxpool3d_rank": lambda L, F: F.max_pool3d(_t(L, 5, 4), 2),
    "maxpool3d_dilation0": lambda L, F: F.max_pool3d(_t(L, 2, 3, 4, 4, 4), 2, 1, 0, 0),
    "maxpool_pad_second_dim": lambda L, F: F.max_pool2d(_t(L, 2, 3, 4, 4), (2, 3), 1, (0, 2)),
    "avgpool1d_kernel0": lambda L, F: F.avg_pool1d(_t(L, 3, 5), 0, 1),
    "avgpool1d_stride_neg": lambda L, F: F.avg_pool1d(_t(L, 3, 5), 2, -1),
    "avgpool1d_empty": lambda L, F: F.avg_pool1d(_t(L, 3, 0), 2),
    "avgpool2d_rank2": lambda L, F: F.avg_pool2d(_t(L, 5, 4), 2),
    "avgpool3d_small": lambda L, F: F.avg_pool3d(_t(L, 3, 2, 5, 5), 3, 1, 1),
    "avgpool3d_empty": lambda L, F: F.avg_pool3d(_t(L, 2, 0, 4, 4, 4), 2),
    "avgpool3d_neg_pad": lambda L, F: F.avg_pool3d(_t(L, 2, 3, 4, 4, 4), 2, 1, -1),
    "avgpool_big_pad": lambda L, F: F.avg_pool2d(_t(L, 2, 3, 5, 5), 2, padding=2),
    "avgpool_too_small": lambda L, F: F.avg_pool2d(_t(L, 2, 3, 5, 5), 7),
    "avgpool1d_too_small": lambda L, F: F.avg_pool1d(_t(L, 3, 5, 5), 7),
    "avgpool_divisor0": lambda L, F: F.avg_pool2d(_t(L, 2, 3, 5, 5), 2, divisor_override=0),
    "avgpool_stride0": lambda L, F: F.avg_pool2d(_t(L, 2, 3, 5, 5), 2, stride=0),
    "avgpool_rank": lambda L, F: F.avg_pool2d(_t(L, 1, 2, 3, 5, 5), 2),
    "avgpool1d_rank": lambda L, F: F.avg_pool1d(_t(L, 2, 3, 5, 5), 2),
    "avgpool_bool": lambda L, F: F.avg_pool2d(_t(L, 2, 3, 5, 5, dtype="bool"), 2),
    "avgpool_kernel_tuple": lambda L, F: F.avg_pool2d(_t(L, 2, 3, 5, 5), (2, 2, 2)),
    "adaptive_avg_rank": lambda L, F: F.adaptive_avg_pool2d(_t(L, 5, 5), 2),
    "adaptive_avg_size_len": lambda L, F: F.adaptive_avg_pool2d(_t(L, 2, 3, 5, 5), (1, 2, 3)),
    "adaptive_avg_negative": lambda L, F: F.adaptive_avg_pool2d(_t(L, 2, 3, 5, 5), -1),
    "adaptive_avg1d_negative": lambda L, F: F.adaptive_avg_pool1d(_t(L, 3, 5), -1),
    "adaptive_avg1d_size_len": lambda L, F: F.adaptive_avg_pool1d(_t(L, 3, 5), (2, 2)),
    "adaptive_avg1d_rank": lambda L, F: F.adaptive_avg_pool1d(_t(L, 2, 3, 5, 5), 2),
    "adaptive_avg_empty": lambda L, F: F.adaptive_avg_pool2d(_t(L, 2, 3, 0, 4), 2),
    "adaptive_avg_long": lambda L, F: F.adaptive_avg_pool2d(_t(L, 2, 3, 5, 5, dtype="int64"),
                                                            2),
    "adaptive_max_rank": lambda L, F: F.adaptive_max_pool2d(_t(L, 1, 2, 3, 5, 5), 2),
    "adaptive_max_negative": lambda L, F: F.adaptive_max_pool2d(_t(L, 2, 3, 5, 5), -1),
    "adaptive_max_empty": lambda L, F: F.adaptive_max_pool2d(_t(L, 2, 3, 0, 4), 2),
    "adaptive_max_long": lambda L, F: F.adaptive_max_pool2d(_t(L, 2, 3, 5, 5, dtype="int64"),
                                                            2),
    "adaptive_max1d_rank": lambda L, F: F.adaptive_max_pool1d(_t(L, 2, 3, 5, 5), 2),
    "bn_eval_no_stats": lambda L, F: F.batch_norm(_t(L, 2, 3), None, None, training=False),
    "bn_eval_no_var": lambda L, F: F.batch_norm(_t(L, 2, 3), L.zeros(3), None, training=False),
    "bn_running_size": lambda L, F: F.batch_norm(_t(L, 2, 3), L.zeros(4), L.ones(3), None,
                                                 None, True),
    "bn_weight_size": lambda L, F: F.batch_norm(_t(L, 2, 3), None, None, L.ones(4), None, True),
    "bn_bias_size": lambda L, F: F.batch_norm(_t(L, 2, 3), None, None, None, L.ones(4), True),
    "bn_one_value": lambda L, F: F.batch_norm(_t(L, 1, 3), None, None, training=True),
    "bn_one_value_3d": lambda L, F: F.batch_norm(_t(L, 1, 3, 1), None, None, training=True),
    "bn_long": lambda L, F: F.batch_norm(_t(L, 2, 3, dtype="int64"), None, None, training=True),
    "bn_mixed_param": lambda L, F: F.batch_norm(_t(L, 2, 3), None, None,
                                                _t(L, 3, dtype="float64"), training=True),
    "bn_mixed_input": lambda L, F: F.batch_norm(_t(L, 2, 3, dtype="float64"), L.zeros(3),
                                                L.ones(3), training=True),
    "bn_momentum_none": lambda L, F: F.batch_norm(_t(L, 2, 3), L.zeros(3), L.ones(3),
                                                  training=True, momentum=None),
    "ln_shape": lambda L, F: F.layer_norm(_t(L, 2, 3, 4), (5,)),
    "ln_shape_2d": lambda L, F: F.layer_norm(_t(L, 2, 3, 4), (2, 4)),
    "ln_weight": lambda L, F: F.layer_norm(_t(L, 2, 3, 4), (4,), L.ones(3)),
    "ln_bias": lambda L, F: F.layer_norm(_t(L, 2, 3, 4), (4,), None, L.ones(3)),
    "ln_int_shape": lambda L, F: F.layer_norm(_t(L, 2, 3, 4), 4),
    "ln_empty_shape": lambda L, F: F.layer_norm(_t(L, 2, 3, 4), []),
    "ln_long": lambda L, F: F.layer_norm(_t(L, 2, 3, dtype="int64"), (3,)),
    "ln_mixed": lambda L, F: F.layer_norm(_t(L, 2, 3), (3,), _t(L, 3, dtype="float64")),
    "gn_divisible": lambda L, F: F.group_norm(_t(L, 2, 3, 5), 2),
    "gn_weight": lambda L, F: F.group_norm(_t(L, 2, 3, 5), 3, L.ones(2)),
    "gn_bias": lambda L, F: F.group_norm(_t(L, 2, 3, 5), 3, None, L.ones(2)),
    "gn_rank": lambda L, F: F.group_norm(_t(L, 3), 3),
    "gn_one_value": lambda L, F: F.group_norm(_t(L, 1, 3), 3),
    "gn_zero_groups": lambda L, F: F.group_norm(_t(L, 2, 3, 4), 0),
    "in_one_spatial": lambda L, F: F.instance_norm(_t(L, 2, 3)),
    "in_one_spatial_3d": lambda L, F: F.instance_norm(_t(L, 2, 3, 1)),
    "rms_shape": lambda L, F: F.rms_norm(_t(L, 2, 3), (4,)),
    "rms_weight": lambda L, F: F.rms_norm(_t(L, 2, 3), (3,), L.ones(2)),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_match_torch(name):
    fn = ERRORS[name]
    expected = _outcome(fn, torch, TF)
    assert expected is not None, f"{name}: torch raised nothing (bad test)"
    assert _outcome(fn, gt, GF) == expected


def test_top_level_names_exist_in_torch():
    for name in nn_ops.__all__:
        assert hasattr(torch, name), name
        assert getattr(gt, name) is getattr(nn_ops, name)
    for name in FUNCTIONAL:
        assert hasattr(TF, name), name


def _pair(*arrays):
    return [torch.tensor(a) for a in arrays], [gt.tensor(a) for a in arrays]


def _close(g, t, atol=1e-5):
    np.testing.assert_allclose(g.detach().numpy(), t.detach().numpy(), rtol=1e-4, atol=atol)


@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 5), (2, 3, 4, 4), (2, 3, 2, 3, 2)])
def test_batch_norm_running_stats_follow_torch(shape):
    rng = np.random.default_rng(1)
    (rm_t, rv_t), (rm_g, rv_g) = _pair(np.zeros(3, np.float32), np.ones(3, np.float32))
    for step in range(3):
        x = (rng.standard_normal(shape) * (step + 1) + step).astype(np.float32)
        out_t = TF.batch_norm(torch.tensor(x), rm_t, rv_t, training=True, momentum=0.25)
        out_g = GF.batch_norm(gt.tensor(x), rm_g, rv_g, training=True, momentum=0.25)
        _close(out_g, out_t)
        _close(rm_g, rm_t)
        _close(rv_g, rv_t)  # unbiased batch variance goes into running_var
    assert rm_g.grad_fn is None and not rm_g.requires_grad and rm_g._version > 0


def test_batch_norm_eval_uses_running_stats_and_train_does_not():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((6, 3, 4)).astype(np.float32)
    rm = np.array([0.5, -1.0, 2.0], np.float32)
    rv = np.array([0.5, 2.0, 4.0], np.float32)
    w = np.array([1.0, 2.0, -1.0], np.float32)
    b = np.array([0.0, 0.5, 1.0], np.float32)
    expected = (x - rm[:, None]) / np.sqrt(rv[:, None] + 1e-5) * w[:, None] + b[:, None]
    (xt, rmt, rvt, wt, bt), (xg, rmg, rvg, wg, bg) = _pair(x, rm, rv, w, b)
    ev = GF.batch_norm(xg, rmg, rvg, wg, bg, training=False)
    np.testing.assert_allclose(ev.numpy(), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(rmg.numpy(), rm)  # eval leaves the buffers alone
    tr = GF.batch_norm(xg, rmg, rvg, wg, bg, training=True)
    _close(tr, TF.batch_norm(xt, rmt, rvt, wt, bt, training=True))
    assert not np.allclose(tr.numpy(), ev.numpy())
    xhat = tr.numpy() - b[:, None]
    np.testing.assert_allclose((xhat / w[:, None]).mean(axis=(0, 2)), 0, atol=1e-5)


def test_batch_norm_no_autograd_through_buffers():
    x = gt.randn(4, 3, requires_grad=True)
    rm, rv = gt.zeros(3), gt.ones(3)
    y = GF.batch_norm(x, rm, rv, training=True)
    assert y.grad_fn.name() == "NativeBatchNormBackward0"
    y.sum().backward()  # the in-place buffer update must not invalidate the graph
    assert x.grad is not None and rm.grad is None


def test_batch_norm_torch_and_functional_orders():
    rng = np.random.default_rng(3)
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in ((4, 3, 2), (3,), (3,)))
    (xt, wt, bt), (xg, wg, bg) = _pair(x, w, b)
    rmt, rvt, rmg, rvg = torch.zeros(3), torch.ones(3), gt.zeros(3), gt.ones(3)
    _close(gt.batch_norm(xg, wg, bg, rmg, rvg, True, 0.1, 1e-5, False),
           torch.batch_norm(xt, wt, bt, rmt, rvt, True, 0.1, 1e-5, False))
    _close(rvg, rvt)
    _close(nn_ops.batch_norm(xg, rmg, rvg, wg, bg, False), TF.batch_norm(xt, rmt, rvt, wt, bt,
                                                                          False))
    _close(gt.instance_norm(xg, wg, bg, None, None, True, 0.1, 1e-5, False),
           torch.instance_norm(xt, wt, bt, None, None, True, 0.1, 1e-5, False))


def test_instance_norm_running_stats_follow_torch():
    rng = np.random.default_rng(4)
    x = (rng.standard_normal((3, 2, 5)) * 2 + 1).astype(np.float32)
    (xt,), (xg,) = _pair(x)
    rmt, rvt, rmg, rvg = torch.zeros(2), torch.ones(2), gt.zeros(2), gt.ones(2)
    _close(GF.instance_norm(xg, rmg, rvg, momentum=0.3),
           TF.instance_norm(xt, rmt, rvt, momentum=0.3))
    _close(rmg, rmt)
    _close(rvg, rvt)
    _close(GF.instance_norm(xg, rmg, rvg, use_input_stats=False),
           TF.instance_norm(xt, rmt, rvt, use_input_stats=False))


def test_native_outputs_match_torch():
    rng = np.random.default_rng(5)
    (xt,), (xg,) = _pair(rng.standard_normal((2, 3, 4)).astype(np.float32))
    for g, t in zip(gt.native_layer_norm(xg, (4,), None, None, 1e-5),
                    torch.native_layer_norm(xt, (4,), None, None, 1e-5)):
        assert tuple(g.shape) == tuple(t.shape)
        _close(g, t)
    for g, t in zip(gt.native_batch_norm(xg, None, None, None, None, True, 0.1, 1e-5),
                    torch.native_batch_norm(xt, None, None, None, None, True, 0.1, 1e-5)):
        _close(g, t)


@pytest.mark.parametrize("call,expected", [
    (lambda L, F, x: F.conv2d(x, L.ones(2, 3, 2, 2)), "ConvolutionBackward0"),
    (lambda L, F, x: F.conv_transpose2d(x, L.ones(3, 2, 2, 2)), "ConvolutionBackward0"),
    (lambda L, F, x: F.max_pool2d(x, 2), "MaxPool2DWithIndicesBackward0"),
    (lambda L, F, x: F.avg_pool2d(x, 2), "AvgPool2DBackward0"),
    (lambda L, F, x: F.adaptive_avg_pool2d(x, 2), "AdaptiveAvgPool2DBackward0"),
    (lambda L, F, x: F.adaptive_max_pool2d(x, 2), "AdaptiveMaxPool2DBackward0"),
    (lambda L, F, x: F.batch_norm(x, None, None, training=True), "NativeBatchNormBackward0"),
    (lambda L, F, x: F.layer_norm(x, (4,)), "NativeLayerNormBackward0"),
    (lambda L, F, x: F.group_norm(x, 3), "NativeGroupNormBackward0"),
    (lambda L, F, x: F.instance_norm(x), "ViewBackward0"),
])
def test_grad_fn_names(call, expected):
    xt = torch.ones(2, 3, 4, 4, requires_grad=True)
    xg = gt.ones(2, 3, 4, 4, requires_grad=True)
    assert call(torch, TF, xt).grad_fn.name() == expected
    assert call(gt, GF, xg).grad_fn.name() == expected


@pytest.mark.parametrize("pool", ["max_pool2d", "adaptive_max_pool2d"])
def test_max_pool_nan_and_inf_indices_follow_torch(pool):
    x = np.random.default_rng(6).standard_normal((2, 2, 5, 5)).astype(np.float32)
    x[0, 0, 1, 1] = x[1, 1, 2, 2] = x[1, 1, 2, 3] = np.nan
    x[0, 1] = -np.inf
    kw = {"output_size": 3} if pool.startswith("adaptive") else {"kernel_size": 3, "stride": 2,
                                                                  "padding": 1}
    (xt,), (xg,) = _pair(x)
    vt, it = getattr(TF, pool)(xt, return_indices=True, **kw)
    vg, ig = getattr(GF, pool)(xg, return_indices=True, **kw)
    np.testing.assert_array_equal(ig.numpy(), it.numpy())
    np.testing.assert_array_equal(vg.numpy(), vt.numpy())


def _lenet(lib, F, x, params):
    w1, b1, w2, b2, w3, b3 = params
    y = F.max_pool2d(F.conv2d(x, w1, b1, padding=2).relu(), 2)
    y = F.avg_pool2d(F.conv2d(y, w2, b2).relu(), 2)
    y = F.batch_norm(y, None, None, training=True)
    y = y.reshape(y.shape[0], -1) @ w3 + b3
    return (y * y).mean()


def test_lenet_sized_forward_backward_completes_and_matches_torch():
    """A LeNet-5-sized conv net on batch 64, forward + backward (a speed sanity check: it
    must finish in a test's time; no timing is asserted). Values are compared in float64,
    where both libraries are exact; float32 runs the same net as a smoke test."""
    rng = np.random.default_rng(7)
    shapes = [(6, 1, 5, 5), (6,), (16, 6, 5, 5), (16,), (16 * 5 * 5, 10), (10,)]
    params = [(rng.standard_normal(s) * 0.2) for s in shapes]
    x = rng.standard_normal((64, 1, 28, 28))
    for dtype in ("float32", "float64"):
        pt = [torch.tensor(p.astype(dtype), requires_grad=True) for p in params]
        pg = [gt.tensor(p.astype(dtype), requires_grad=True) for p in params]
        for _ in range(2):  # a second step runs on warm caches and fresh graphs
            for p in pg:
                p.grad = None
            loss_g = _lenet(gt, GF, gt.tensor(x.astype(dtype)), pg)
            loss_g.backward()
        loss_t = _lenet(torch, TF, torch.tensor(x.astype(dtype)), pt)
        loss_t.backward()
        tol = 1e-9 if dtype == "float64" else 1e-2  # float32: conditioning of the net
        np.testing.assert_allclose(loss_g.item(), loss_t.item(), rtol=tol)
        for g, t in zip(pg, pt):
            assert g.grad.dtype == getattr(gt, dtype)
            np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), rtol=tol, atol=tol)
