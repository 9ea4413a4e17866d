"""The meta device vs PyTorch: shape/dtype-only tensors from factories, `.to("meta")` and
`Module.to("meta")`; ops give shapes, dtypes and view strides by each op's rule; reading
values raises as PyTorch; random fills on meta draw nothing; `to_empty` and
`load_state_dict(assign=True)` bring real storage back; the model-ensembling tutorial runs."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import graphtorch as gt
from tests.autograd.diff import same, torch


def test_meta_tensors_print_and_report_as_torch():
    def fn(lib):
        x = lib.empty(2, 3, device="meta")
        y = lib.empty(2, device="meta", requires_grad=True) * 2
        return (repr(x), repr(lib.empty(2, device="meta", dtype=lib.float64)), repr(y),
                repr(lib.empty((), device="meta")), str(x.device), x.is_meta,
                lib.ones(2).is_meta, x.is_cuda, x.is_cpu)
    same(fn)


@pytest.mark.parametrize("read", ["item", "numpy", "tolist", "cpu", "bool"])
def test_reading_values_raises_as_torch(read):
    def fn(lib):
        x = lib.empty(1, device="meta")
        return {"item": x.item, "numpy": x.numpy, "tolist": x.tolist, "cpu": x.cpu,
                "bool": lambda: bool(x > 0)}[read]()
    same(fn)


def test_ops_give_shapes_dtypes_and_view_strides():
    def fn(lib):
        x = lib.empty(3, 4, device="meta")
        w = lib.empty(4, 5, device="meta")
        outs = [x + 1, x @ w, x.t(), x[1:], x[:, ::2], x.view(12), x.reshape(2, 6),
                x.expand(2, 3, 4), lib.cat([x, x]), lib.stack([x, x]), x.chunk(2)[0],
                x.max(1)[1], x.argmax(), x.sum(0, keepdim=True), x.double().exp(),
                lib.nn.functional.softmax(x, 1), x.unsqueeze(0), x.t().contiguous(),
                lib.zeros_like(x), lib.where(x > 0, x, 0.0)]
        return [(tuple(t.shape), str(t.dtype), str(t.device), t.stride(), t.is_contiguous())
                for t in outs]
    same(fn)


def test_inplace_ops_and_random_fills_on_meta_draw_nothing():
    def fn(lib):
        lib.manual_seed(0)
        x = lib.empty(3, 4, device="meta")
        x.add_(1).mul_(2).zero_().fill_(3.0).uniform_().normal_().bernoulli_(0.5)
        lin = lib.nn.Linear(4, 3, device="meta")   # reset_parameters on meta
        after = lib.rand(3)
        return str(x.device), tuple(lin.weight.shape), str(lin.weight.device), after.tolist()
    same(fn)


def test_modules_move_to_meta_run_shape_only_and_come_back():
    def fn(lib):
        lib.manual_seed(0)
        model = lib.nn.Sequential(lib.nn.Conv2d(1, 2, 3), lib.nn.BatchNorm2d(2),
                                  lib.nn.Flatten(), lib.nn.Linear(18, 4))
        state = model.state_dict()
        meta = copy.deepcopy(model).to("meta")
        out = meta(lib.empty(2, 1, 5, 5, device="meta"))
        y = lib.empty(3, device="meta", requires_grad=True)
        (y * 2).sum().backward()
        empty = copy.deepcopy(meta).to_empty(device="cpu")
        loaded = copy.deepcopy(meta)
        loaded.load_state_dict(state, assign=True)
        x = lib.randn(2, 1, 5, 5)
        return (tuple(out.shape), str(out.device), str(meta[1].running_mean.device),
                repr(y.grad), str(empty[0].weight.device), tuple(empty[0].weight.shape),
                np.round(loaded.eval()(x).detach().numpy(), 5).tolist(),
                np.round(model.eval()(x).detach().numpy(), 5).tolist())
    same(fn)
    same(lambda lib: lib.nn.Linear(4, 3).to("meta").to("cpu"), match="to_empty")


def test_model_ensembling_tutorial():
    def fn(lib):
        lib.manual_seed(0)

        class MLP(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = lib.nn.Linear(784, 32)
                self.fc2 = lib.nn.Linear(32, 10)

            def forward(self, x):
                return self.fc2(lib.nn.functional.relu(self.fc1(x.flatten(1))))

        models = [MLP() for _ in range(3)]
        minibatches = lib.randn(3, 4, 1, 28, 28)
        params, buffers = lib.func.stack_module_state(models)
        base_model = copy.deepcopy(models[0]).to("meta")

        def fmodel(params, buffers, x):
            return lib.func.functional_call(base_model, (params, buffers), (x,))
        preds = lib.func.vmap(fmodel)(params, buffers, minibatches)
        return np.round(preds.detach().numpy(), 4).tolist()
    same(fn, atol=1e-4)


def test_compiled_functions_run_meta_calls_eagerly():
    """A graph has nothing to compute on meta tensors: such calls (meta arguments or a
    module moved to meta) run eagerly, before and after a CPU variant exists."""
    f = gt.compile(lambda x: x * 2 + 1)
    out = f(gt.empty(3, device="meta"))
    assert out.is_meta and tuple(out.shape) == (3,)
    assert f(gt.ones(3)).tolist() == [3.0, 3.0, 3.0]
    assert f(gt.empty(4, device="meta")).is_meta
    model = gt.compile(gt.nn.Linear(4, 2).to("meta"))
    y = model(gt.empty(5, 4, device="meta"))
    assert y.is_meta and tuple(y.shape) == (5, 2)
