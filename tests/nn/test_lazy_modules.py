"""Lazy modules against PyTorch: placeholders before the first forward, the same seeded
draws when it materializes them, outputs and gradients, the class they become, state dicts
(also loaded into an unmaterialized module), an optimizer made after a dry run, and
gt.compile running the materializing call eagerly with eager's values."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt

from . import compare_module, npy, same_error, same_state, torch

RNG = np.random.default_rng(5)


def _x(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


CASES = [
    (lambda nn: nn.LazyLinear(3), (2, 5)),
    (lambda nn: nn.LazyLinear(3, bias=False), (4, 2, 5)),
    (lambda nn: nn.LazyConv1d(4, 3, padding=1), (2, 2, 7)),
    (lambda nn: nn.LazyConv2d(4, 3, stride=2, padding=1), (2, 3, 7, 7)),
    (lambda nn: nn.LazyConv2d(4, 3, groups=2, bias=False), (4, 6, 6)),
    (lambda nn: nn.LazyConv3d(4, 2, padding_mode="reflect", padding=1), (2, 2, 4, 4, 4)),
    (lambda nn: nn.LazyConvTranspose1d(4, 3, stride=2), (2, 2, 7)),
    (lambda nn: nn.LazyConvTranspose2d(4, 3, stride=2, output_padding=1), (3, 5, 5)),
    (lambda nn: nn.LazyConvTranspose3d(4, 2, groups=2), (2, 2, 3, 3, 3)),
    (lambda nn: nn.LazyBatchNorm1d(), (4, 3)),
    (lambda nn: nn.LazyBatchNorm2d(affine=False, momentum=None), (4, 3, 2, 2)),
    (lambda nn: nn.LazyBatchNorm3d(track_running_stats=False), (4, 3, 2, 2, 2)),
    (lambda nn: nn.LazyInstanceNorm1d(), (4, 3, 5)),
    (lambda nn: nn.LazyInstanceNorm2d(bias=False), (2, 3, 4, 4)),
    (lambda nn: nn.LazyInstanceNorm3d(affine=False), (2, 3, 2, 2, 2)),
]


@pytest.mark.parametrize("make, shape", CASES, ids=lambda v: str(v) if isinstance(v, tuple)
                         else "")
def test_lazy_module_matches_pytorch(make, shape):
    tm, gm = build_lazy(make)
    assert repr(gm) == repr(tm)
    assert list(gm.state_dict()) == list(tm.state_dict())
    assert [type(p).__name__ for p in gm.parameters()] == \
        [type(p).__name__ for p in tm.parameters()]
    # exact_init=None: both were seeded just before, and the forward draws the weights
    tm, gm = compare_module(lambda lib: make(lib.nn), [_x(*shape)], exact_init=None)
    assert type(gm).__name__ == type(tm).__name__ and not type(gm).__name__.startswith("Lazy")
    assert repr(gm) == repr(tm)
    same_state(gm, tm, exact=False)
    assert not hasattr(gm, "_initialize_hook") and not gm._forward_pre_hooks


def build_lazy(make):
    return make(torch.nn), make(gt.nn)


def test_placeholders():
    p = gt.nn.UninitializedParameter(dtype=gt.float64)
    assert repr(p) == repr(torch.nn.UninitializedParameter()) == "<UninitializedParameter>"
    assert isinstance(p, gt.nn.Parameter) and p.requires_grad
    same_error(lambda lib: lib.nn.UninitializedParameter().shape)
    p.materialize((2, 3))
    assert type(p) is gt.nn.Parameter and p.shape == (2, 3) and p.dtype == gt.float64
    b = gt.nn.UninitializedBuffer()
    assert repr(b) == "<UninitializedBuffer>" and not b.requires_grad
    b.materialize((4,))
    assert type(b) is gt.Tensor and b.shape == (4,)
    m = gt.nn.LazyLinear(2)
    assert m.has_uninitialized_params()
    assert isinstance(m.state_dict()["weight"], gt.nn.UninitializedParameter)


def test_optimizer_after_dry_run_trains_as_pytorch():
    x, y = _x(8, 5), _x(8, 2)
    losses = {}
    for lib in (torch, gt):
        lib.manual_seed(0)
        model = lib.nn.Sequential(lib.nn.LazyLinear(6), lib.nn.ReLU(), lib.nn.LazyLinear(2))
        model(lib.zeros(1, 5))  # the dry run
        opt = lib.optim.SGD(model.parameters(), lr=0.1)
        out = []
        for _ in range(3):
            opt.zero_grad()
            loss = lib.nn.functional.mse_loss(model(lib.tensor(x)), lib.tensor(y))
            loss.backward()
            opt.step()
            out.append(loss.item())
        losses[lib.__name__] = out
    np.testing.assert_allclose(losses["graphtorch"], losses["torch"], rtol=1e-5)


def test_state_dict_loads_into_unmaterialized_module():
    torch.manual_seed(1)
    source = torch.nn.Sequential(torch.nn.Linear(5, 3), torch.nn.BatchNorm1d(3))
    state = {k: gt.tensor(npy(v)) for k, v in source.state_dict().items()}
    lazy = gt.nn.Sequential(gt.nn.LazyLinear(3), gt.nn.LazyBatchNorm1d())
    lazy.load_state_dict(state)
    assert not lazy[0].has_uninitialized_params() and lazy[1].running_mean.shape == (3,)
    x = _x(4, 5)
    np.testing.assert_allclose(npy(lazy.eval()(gt.tensor(x))),
                               npy(source.eval()(torch.tensor(x))), rtol=1e-5, atol=1e-6)


def test_errors_match_pytorch():
    same_error(lambda lib: lib.nn.LazyConv2d(4, 3)(lib.zeros(2, 3)))
    same_error(lambda lib: lib.nn.LazyConv2d(4, 3, groups=2)(lib.zeros(1, 3, 5, 5)))


def test_compile_runs_the_materializing_call_eagerly():
    x = gt.tensor(_x(4, 5))

    def make():
        return gt.nn.Sequential(gt.nn.LazyLinear(3), gt.nn.ReLU(), gt.nn.LazyLinear(2))

    reference = make()
    gt.manual_seed(0)
    expected = npy(reference(x))
    model = make()
    step = gt.compile(model)
    gt.manual_seed(0)
    for _ in range(3):
        np.testing.assert_allclose(npy(step(x)), expected, rtol=1e-6, atol=1e-7)
    # the materializing call ran eagerly (as a graph break, or predicted by the compiler)
    assert step.stats.eager_calls >= 1
    assert not step.stats.graph_breaks or "materializes" in step.stats.graph_breaks[0]
    np.testing.assert_allclose(npy(model[0].weight), npy(reference[0].weight))
