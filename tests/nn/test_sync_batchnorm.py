"""SyncBatchNorm without a process group is BatchNorm, as in PyTorch on the CPU: training
and eval outputs, gradients, running statistics, errors, state_dict keys, and
convert_sync_batchnorm's module surgery. (Synchronised training on 2 ranks:
tests/distributed/test_sync_batchnorm.py.)"""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (2, 3, 4, 4), (2, 3, 2, 3, 2)])
@pytest.mark.parametrize("momentum", [0.1, None])
def test_without_process_group_matches_pytorch(shape, momentum):
    rng = np.random.default_rng(0)
    steps = [rng.normal(size=shape).astype(np.float32) * 2 + 1 for _ in range(3)]
    results = []
    for lib in (torch, gt):
        lib.manual_seed(0)
        bn = lib.nn.SyncBatchNorm(3, momentum=momentum)
        outs, grads = [], []
        for x in steps:
            xt = lib.tensor(x, requires_grad=True)
            out = bn(xt)
            (out * out * out).sum().backward()
            outs.append(out.detach().numpy().copy())
            grads.append(xt.grad.numpy().copy())
        bn.eval()
        outs.append(bn(lib.tensor(steps[0])).detach().numpy().copy())
        buffers = [b.numpy().copy() for b in (bn.running_mean, bn.running_var,
                                               bn.num_batches_tracked)]
        results.append((outs, grads, buffers, bn.weight.grad.numpy().copy(), repr(bn),
                        list(bn.state_dict())))
    (outs_t, grads_t, buf_t, wg_t, repr_t, keys_t), (outs_g, grads_g, buf_g, wg_g, repr_g,
                                                      keys_g) = results
    for a, b in zip(outs_t + grads_t + buf_t, outs_g + grads_g + buf_g):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(wg_g, wg_t, rtol=1e-4, atol=1e-3)
    assert repr_g == repr_t and keys_g == keys_t


@pytest.mark.parametrize("shape", [(4,), (1, 3), (2, 0)])
def test_errors_match_pytorch(shape):
    messages = []
    for lib in (torch, gt):
        bn = lib.nn.SyncBatchNorm(shape[1] if len(shape) > 1 and shape[1] else 3)
        with pytest.raises(ValueError) as info:
            bn(lib.zeros(shape))
        messages.append(str(info.value))
    assert messages[1] == messages[0]


def test_convert_sync_batchnorm_matches_pytorch():
    reprs = []
    for lib in (torch, gt):
        nn = lib.nn
        model = nn.Sequential(nn.Conv2d(2, 3, 1), nn.BatchNorm2d(3, momentum=None),
                              nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4, affine=False)),
                              nn.BatchNorm3d(2, track_running_stats=False))
        model[1].eval()
        bn_weight, bn_mean = model[1].weight, model[1].running_mean
        group = object()
        converted = nn.SyncBatchNorm.convert_sync_batchnorm(model, process_group=group)
        assert converted is model  # a container is converted in place
        assert type(converted[1]) is nn.SyncBatchNorm and converted[1].weight is bn_weight
        assert converted[1].running_mean is bn_mean and not converted[1].training
        assert converted[2][1].process_group is group and converted[3].running_mean is None
        single = nn.SyncBatchNorm.convert_sync_batchnorm(nn.BatchNorm1d(5))
        assert type(single) is nn.SyncBatchNorm and single.process_group is None
        reprs.append(repr(converted))
    assert reprs[1] == reprs[0]


def test_isinstance_of_the_batchnorm_base():
    from graphtorch.nn.modules.batchnorm import _BatchNorm

    assert isinstance(gt.nn.SyncBatchNorm(2), _BatchNorm)
