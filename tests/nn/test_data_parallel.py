"""nn.DataParallel / nn.parallel.DataParallel without a GPU, against PyTorch's CPU build:
a wrapper that calls `.module` with the same arguments, `module.`-prefixed state_dict keys
(checkpoints load both ways), the same repr, and data_parallel's error."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt

from . import close, same_error, torch

pytestmark = pytest.mark.skipif(gt.cuda.is_available(),
                                reason="PyTorch's CPU build is the oracle for the no-GPU path")


class _TwoInputs:
    """A module taking positional and keyword arguments (built for either library)."""

    @staticmethod
    def build(lib):
        class Net(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = lib.nn.Linear(4, 3)
                self.bn = lib.nn.BatchNorm1d(3)

            def forward(self, x, scale=1.0, *, shift=None):
                out = self.bn(self.fc(x)) * scale
                return out if shift is None else (out + shift, out)

        return Net()


def test_data_parallel_calls_the_module_and_keeps_its_gradients():
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    results = []
    for lib in (torch, gt):
        lib.manual_seed(0)
        model = lib.nn.DataParallel(_TwoInputs.build(lib))
        assert model.device_ids == [] and isinstance(model.module, lib.nn.Module)
        out, plain = model(lib.tensor(x), 2.0, shift=lib.ones(3))
        (out.square().sum() + (plain * lib.arange(3.0)).sum()).backward()
        results.append((out, model.module.fc.weight.grad, model.module.bn.running_mean,
                        list(model.state_dict()), repr(model)))
    (t_out, t_grad, t_mean, t_keys, t_repr), (g_out, g_grad, g_mean, g_keys, g_repr) = results
    close(g_out, t_out)
    close(g_grad, t_grad, 1e-4, 5e-5)  # batch norm over 5 samples: float32 noise ~1e-5
    close(g_mean, t_mean)
    assert g_keys == t_keys and g_keys[0] == "module.fc.weight"
    assert g_repr == t_repr


def test_data_parallel_checkpoints_load_both_ways():
    torch.manual_seed(0)
    tm = torch.nn.DataParallel(torch.nn.Linear(4, 2))
    gm = gt.nn.parallel.DataParallel(gt.nn.Linear(4, 2))
    gm.load_state_dict({k: gt.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    bare = gt.nn.Linear(4, 2)
    bare.load_state_dict({k.removeprefix("module."): v for k, v in gm.state_dict().items()})
    close(bare.weight, tm.module.weight)
    back = torch.nn.DataParallel(torch.nn.Linear(4, 2))
    back.load_state_dict({k: torch.tensor(v.numpy()) for k, v in gm.state_dict().items()})
    close(gm.module.bias, back.module.bias)


def test_data_parallel_trains_like_the_bare_module():
    gt.manual_seed(0)
    wrapped = gt.nn.DataParallel(gt.nn.Linear(3, 1))
    gt.manual_seed(0)
    bare = gt.nn.Linear(3, 1)
    for model in (wrapped, bare):
        opt = gt.optim.SGD(model.parameters(), lr=0.1)
        for _ in range(3):
            opt.zero_grad()
            model(gt.ones(2, 3)).square().sum().backward()
            opt.step()
    close(wrapped.module.weight, bare.weight, 0, 0)


def test_data_parallel_function_needs_a_device_as_in_pytorch():
    same_error(lambda lib: lib.nn.parallel.data_parallel(lib.nn.Linear(2, 1), lib.ones(1, 2)))
