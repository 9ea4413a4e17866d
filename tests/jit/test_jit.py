"""`gt.jit` on gt.compile: the "Introduction to TorchScript" tutorial's calls run with
PyTorch's values, `state_dict` keys and module printing; save/load round-trips; branches on
data stay correct for every input (TorchScript's trace would bake the example's branch)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import graphtorch as gt
from tests.autograd.diff import torch


def _tutorial(lib, tmp_path=None):
    nn = lib.nn

    class MyDecisionGate(nn.Module):
        def forward(self, x):
            if x.sum() > 0:
                return x
            else:
                return -x

    class MyCell(nn.Module):
        def __init__(self, dg):
            super().__init__()
            self.dg = dg
            self.linear = nn.Linear(4, 4)

        def forward(self, x, h):
            new_h = lib.tanh(self.dg(self.linear(x)) + h)
            return new_h, new_h

    lib.manual_seed(0)
    cell = MyCell(MyDecisionGate())
    x, h = lib.rand(3, 4), lib.rand(3, 4)
    traced = lib.jit.trace(cell, (x, h))
    scripted = lib.jit.script(MyCell(lib.jit.script(MyDecisionGate())))
    out = {"traced": traced(x, h)[0].detach().numpy(), "keys": list(traced.state_dict()),
           "params": len(list(traced.parameters())),
           "scripted_shape": tuple(scripted(x, h)[0].shape),
           "is_module": isinstance(traced, lib.nn.Module)}
    return out


def test_tutorial_values_match_torch():
    ours = _tutorial(gt)
    with warnings.catch_warnings():  # PyTorch's TracerWarning about the baked branch
        warnings.simplefilter("ignore")
        theirs = _tutorial(torch)
    np.testing.assert_allclose(ours.pop("traced"), theirs.pop("traced"), rtol=1e-6, atol=1e-6)
    assert ours == theirs


def test_branches_on_data_stay_correct_after_tracing():
    class Gate(gt.nn.Module):
        def forward(self, x):
            return x if x.sum() > 0 else -x

    traced = gt.jit.trace(Gate(), gt.ones(3))
    assert gt.equal(traced(-gt.ones(3)), gt.ones(3))
    assert traced.code.startswith("# Gate runs eagerly:")


def test_graph_and_code_of_a_captured_module():
    model = gt.nn.Sequential(gt.nn.Linear(4, 3), gt.nn.ReLU())
    scripted = gt.jit.script(model)
    assert scripted.code.startswith("# Sequential has not run yet")
    scripted(gt.randn(2, 4))
    assert "addmm" in str(scripted.graph) or "matmul" in str(scripted.graph)
    assert "def " in scripted.code


def test_save_load_round_trip_and_modes(tmp_path):
    gt.manual_seed(1)
    model = gt.nn.Sequential(gt.nn.Linear(4, 3), gt.nn.Dropout(0.5))
    traced = gt.jit.trace(model, gt.randn(2, 4))
    traced.eval()
    assert not model.training and not model[1].training
    path = tmp_path / "m.pt"
    extra = {"note": "hi"}
    gt.jit.save(traced, path, _extra_files=extra)
    loaded = gt.jit.load(path, _extra_files={})
    assert isinstance(loaded, gt.jit.ScriptModule)
    x = gt.randn(5, 4)
    assert gt.allclose(loaded(x), traced(x))
    read = {"note": ""}
    gt.jit.load(path, _extra_files=read)
    assert read == {"note": "hi"}
    gt.save({"not": "jit"}, tmp_path / "other.pt")
    with pytest.raises(RuntimeError, match="gt.jit.save"):
        gt.jit.load(tmp_path / "other.pt")


def test_functions_and_decorators():
    def f(x, y):
        return x * y + 1
    scripted = gt.jit.script(f)
    assert gt.equal(scripted(gt.ones(2), gt.ones(2)), gt.full((2,), 2.))
    traced = gt.jit.trace(f, (gt.ones(2), gt.ones(2)))
    assert gt.equal(traced(gt.ones(2), gt.full((2,), 3.)), gt.full((2,), 4.))

    @gt.jit.ignore
    def helper(x):
        return x

    @gt.jit.unused
    def other(x):
        return x
    assert helper(1) == 1 and other(2) == 2 and gt.jit.annotate(list, [1]) == [1]
    assert gt.jit.is_scripting() is False
    assert gt.jit.wait(gt.jit.fork(lambda a: a + 1, 1)) == 2
