"""`gt.export` against `torch.export`: the export tutorial's calls - export with example
inputs and ``dynamic_shapes``, ``ep.module()``, the input guards, save/load - behave as
PyTorch's, and the exported module computes what the eager module computes."""

from __future__ import annotations

import io

import numpy as np
import pytest

import graphtorch as gt

torch = pytest.importorskip("torch")


def _layers(module, lib):
    module.conv = lib.nn.Conv2d(3, 4, 3, padding=1)
    module.bn = lib.nn.BatchNorm2d(4)
    module.fc = lib.nn.Linear(4, 5)


def _forward(module, x, scale):
    h = module.bn(module.conv(x)).relu()
    return module.fc(h.mean((2, 3))) * scale


class Net(gt.nn.Module):  # module level: gt.export.save pickles it
    def __init__(self):
        super().__init__()
        _layers(self, gt)

    def forward(self, x, scale: float = 1.0):
        return _forward(self, x, scale)


class TorchNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        _layers(self, torch)

    def forward(self, x, scale: float = 1.0):
        return _forward(self, x, scale)


def _pair():
    ours, theirs = Net(), TorchNet()
    ours.load_state_dict({k: gt.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    return ours, theirs


@pytest.mark.parametrize("training", [False, True])
def test_exported_module_matches_torch_export_at_other_batch_sizes(training):
    ours, theirs = _pair()
    ours.train(training)
    theirs.train(training)
    x = np.random.default_rng(0).standard_normal((4, 3, 6, 6)).astype(np.float32)
    ep = gt.export.export(ours, (gt.tensor(x),),
                          dynamic_shapes={"x": {0: gt.export.Dim("batch", max=32)}})
    tep = torch.export.export(theirs, (torch.tensor(x),),
                              dynamic_shapes={"x": {0: torch.export.Dim("batch", max=32)}})
    for n in (4, 7, 2):
        xb = np.random.default_rng(n).standard_normal((n, 3, 6, 6)).astype(np.float32)
        got = ep.module()(gt.tensor(xb))
        want = tep.module()(torch.tensor(xb))
        np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-4,
                                   atol=1e-5)
    np.testing.assert_allclose(ours.bn.running_mean.numpy(),
                               theirs.bn.running_mean.numpy(), rtol=1e-5, atol=1e-6)
    assert list(ep.module().state_dict()) == list(tep.module().state_dict())
    assert set(ep.range_constraints.values()) == {(0, 32)}


def test_export_runs_nothing_and_changes_no_state():
    ours, _ = _pair()
    before = ours.bn.running_mean.clone()
    gt.export.export(ours, (gt.randn(4, 3, 6, 6),))
    assert gt.equal(ours.bn.running_mean, before)
    assert int(ours.bn.num_batches_tracked) == 0


def test_input_guards_and_errors_as_pytorch():
    ours, theirs = _pair()
    ep = gt.export.export(ours, (gt.randn(4, 3, 6, 6),))
    tep = torch.export.export(theirs, (torch.randn(4, 3, 6, 6),))
    for shape in ((5, 3, 6, 6), (4, 3, 6, 7)):
        with pytest.raises(AssertionError) as want:
            tep.module()(torch.randn(*shape))
        with pytest.raises(AssertionError) as got:
            ep.module()(gt.randn(*shape))
        assert str(got.value) == str(want.value)
    with pytest.raises(RuntimeError, match="Unable to call ExportedProgram directly"):
        ep(gt.randn(4, 3, 6, 6))
    with pytest.raises(ValueError, match="Expected `mod` to be an instance of"):
        gt.export.export(lambda x: x, (gt.randn(2),))
    with pytest.raises(gt._dynamo.exc.UserError, match="Expecting `args` to be a tuple"):
        gt.export.export(ours, [gt.randn(4, 3, 6, 6)])
    with pytest.raises(ValueError, match="top-level keys must be the arg names"):
        gt.export.export(ours, (gt.randn(4, 3, 6, 6),), dynamic_shapes={"y": {0: None}})


def test_data_dependent_control_flow_is_refused_with_its_line():
    class Branchy(gt.nn.Module):
        def forward(self, x):
            if x.sum() > 0:
                return x.sin()
            return x.cos()
    with pytest.raises(gt._dynamo.exc.UserError, match="test_export.py"):
        gt.export.export(Branchy(), (gt.randn(3),))

    class WithCond(gt.nn.Module):
        def forward(self, x):
            return gt.cond(x.sum() > 0, lambda t: t.sin(), lambda t: t.cos(), (x,))
    ep = gt.export.export(WithCond(), (gt.randn(3),))
    for x in (gt.ones(3), -gt.ones(3)):
        assert gt.allclose(ep.module()(x), WithCond()(x))


def test_keywords_auto_dims_save_and_load():
    ours, _ = _pair()
    ours.eval()
    x = gt.randn(2, 3, 6, 6)
    ep = gt.export.export(ours, (x,), {"scale": 2.0},
                          dynamic_shapes={"x": {0: gt.export.Dim.AUTO}, "scale": None})
    assert gt.allclose(ep.module()(gt.ones(5, 3, 6, 6), scale=2.0),
                       ours(gt.ones(5, 3, 6, 6), scale=2.0), atol=1e-6)
    buffer = io.BytesIO()
    gt.export.save(ep, buffer)
    buffer.seek(0)
    loaded = gt.export.load(buffer)
    assert gt.allclose(loaded.module()(x, scale=2.0), ep.module()(x, scale=2.0), atol=1e-6)
    assert "Range constraints" in str(ep) and "addmm" in str(ep)
    assert ep.run_decompositions() is ep
    assert [n for n, _ in ep.named_parameters()] == [n for n, _ in ours.named_parameters()]


def test_exported_module_supports_autograd():
    lin = gt.nn.Linear(3, 2)
    ep = gt.export.export(lin, (gt.randn(4, 3),))
    x = gt.randn(4, 3, requires_grad=True)
    ep.module()(x).sum().backward()
    assert gt.allclose(x.grad, lin.weight.sum(0).expand(4, 3))
    assert lin.weight.grad is not None


def test_bad_dims_are_refused_with_their_argument():
    with pytest.raises(ValueError, match="inconsistent min=5, max=2"):
        gt.export.Dim("b", min=5, max=2)
    lin = gt.nn.Linear(3, 2)
    with pytest.raises(ValueError, match="for input dim 0 is not a Dim"):
        gt.export.export(lin, (gt.randn(4, 3),), dynamic_shapes=({0: "batch"},))
    with pytest.raises(ValueError, match="outside b's range"):
        gt.export.export(lin, (gt.randn(4, 3),),
                         dynamic_shapes=({0: gt.export.Dim("b", min=8)},))
