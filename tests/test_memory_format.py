"""Memory formats vs PyTorch: `gt.contiguous_format`, `channels_last(_3d)` and
`preserve_format` in `contiguous`, `clone`, `to`, `empty`, the ``*_like`` creators,
`is_contiguous` and `Module.to`; strides, values and errors as PyTorch's, eager and compiled."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import graphtorch as gt
from tests.autograd.diff import same, torch

FORMATS = ["contiguous_format", "channels_last", "channels_last_3d", "preserve_format"]
LIKE = ["empty_like", "zeros_like", "ones_like", "rand_like", "randn_like"]


@pytest.mark.parametrize("name", FORMATS)
def test_format_objects_print_and_pickle_as_torch(name):
    ours = getattr(gt, name)
    assert repr(ours) == repr(getattr(torch, name))
    assert isinstance(ours, gt.memory_format)
    assert pickle.loads(pickle.dumps(ours)) is ours


def _inputs(lib):
    """Dense row-major, permuted, transposed, sliced (not dense), expanded and 4-d/5-d
    channels-last inputs."""
    base = lib.arange(120.).reshape(2, 3, 4, 5)
    return [base, base.permute(0, 2, 3, 1), base[0].transpose(0, 2), base[:, ::2],
            lib.arange(4.).expand(3, 4), base.contiguous(memory_format=lib.channels_last),
            lib.arange(240.).reshape(2, 3, 2, 4, 5).permute(0, 2, 3, 4, 1), base[:, :1]]


@pytest.mark.parametrize("name", LIKE)
@pytest.mark.parametrize("fmt", [None] + FORMATS)
def test_like_creators_lay_out_as_torch(name, fmt):
    def fn(lib):
        out = []
        for x in _inputs(lib):
            kw = {} if fmt is None else {"memory_format": getattr(lib, fmt)}
            try:
                out.append(getattr(lib, name)(x, **kw).stride())
            except RuntimeError as exc:  # a format whose rank does not fit
                out.append(type(exc).__name__)
        return out
    same(fn)


def test_full_and_randint_like_keep_strides_and_randint_like_takes_high_alone():
    def fn(lib):
        x = lib.arange(12.).reshape(3, 4).t()
        lib.manual_seed(3)
        r = lib.randint_like(x, 7)
        return (lib.full_like(x, 2.5).stride(), r.stride(), r.tolist(),
                lib.randint_like(x, 2, 9).stride())
    same(fn)


def test_rand_like_fills_memory_in_order_as_torch():
    def fn(lib):
        x = lib.zeros(3, 5).t()
        lib.manual_seed(0)
        return lib.rand_like(x).tolist(), lib.randint_like(x, 100).tolist()
    same(fn)


@pytest.mark.parametrize("fmt", FORMATS)
def test_clone_contiguous_and_to_take_the_format(fmt):
    def fn(lib):
        out = []
        f = getattr(lib, fmt)
        for x in _inputs(lib):
            for make in (lambda: x.clone(memory_format=f),
                         lambda: x.contiguous(memory_format=f),
                         lambda: x.to(memory_format=f),
                         lambda: x.to(lib.float64, memory_format=f)):
                try:
                    y = make()
                except RuntimeError as exc:
                    out.append(type(exc).__name__)
                    continue
                out.append((y.stride(), y.tolist() == x.tolist(), y.is_contiguous(),
                            y.is_contiguous(memory_format=lib.channels_last),
                            y.is_contiguous(memory_format=lib.channels_last_3d)))
        return out
    same(fn)


def test_contiguous_returns_self_when_already_in_the_format():
    x = gt.randn(2, 3, 4, 5).contiguous(memory_format=gt.channels_last)
    assert x.contiguous(memory_format=gt.channels_last) is x
    assert x.to(memory_format=gt.channels_last) is x
    assert x.contiguous() is not x and x.contiguous().is_contiguous()


def test_empty_in_a_format_and_errors():
    def fn(lib):
        return (lib.empty(2, 3, 4, 5, memory_format=lib.channels_last).stride(),
                lib.empty((2, 3, 4, 5, 6), memory_format=lib.channels_last_3d).stride(),
                lib.empty(2, 3, memory_format=lib.contiguous_format).stride())
    same(fn)
    same(lambda lib: lib.empty(2, 3, memory_format=lib.channels_last), match="rank 4")
    same(lambda lib: lib.empty(2, 3, memory_format=lib.preserve_format))
    same(lambda lib: lib.ones(2, 3).contiguous(memory_format=lib.preserve_format))
    same(lambda lib: lib.ones(2, 3).t().contiguous(memory_format=lib.preserve_format))
    same(lambda lib: lib.randn(2, 3).contiguous(memory_format="channels_last"))


def test_gradients_flow_through_a_format_change():
    def fn(lib):
        x = lib.arange(120., requires_grad=True).reshape(2, 3, 4, 5)
        y = x.contiguous(memory_format=lib.channels_last)
        (y * lib.arange(120.).reshape(2, 3, 4, 5)).sum().backward()
        leaf = lib.zeros_like(x.detach().permute(0, 2, 3, 1), requires_grad=True)
        return x.grad.tolist(), leaf.is_leaf, leaf.requires_grad, leaf.stride()
    same(fn)


def test_module_to_channels_last_lays_out_4d_parameters_only():
    def fn(lib):
        lib.manual_seed(0)
        model = lib.nn.Sequential(lib.nn.Conv2d(3, 4, 3), lib.nn.BatchNorm2d(4),
                                  lib.nn.Flatten(), lib.nn.Linear(4 * 6 * 6, 2))
        model = model.to(memory_format=lib.channels_last)
        x = lib.randn(2, 3, 8, 8).to(memory_format=lib.channels_last)
        return ([p.stride() for p in model.parameters()],
                np.round(model(x).detach().numpy(), 4).tolist())
    same(fn)


def test_compiled_results_keep_the_eager_layout():
    def f(x):
        return (gt.zeros_like(x) + 1, x.contiguous(memory_format=gt.channels_last) * 2,
                gt.empty_like(x).fill_(3), x.clone(memory_format=gt.channels_last))
    compiled = gt.compile(f)
    for x in (gt.randn(2, 3, 4, 5), gt.randn(2, 3, 4, 5).permute(0, 2, 3, 1)):
        for eager, ours in zip(f(x), compiled(x)):
            assert eager.stride() == ours.stride()
            assert gt.equal(eager, ours)


def test_copies_of_broadcast_and_gapped_inputs_lay_out_as_torch_eager_and_compiled():
    def fn(lib):
        x = lib.arange(24.).reshape(4, 6).t()[::2]
        y = lib.arange(4.).expand(3, 4)
        z = lib.arange(6.).reshape(6, 1, 1).expand(6, 5, 4).permute(2, 1, 0)
        return [(t.clone().stride(), t.double().stride(), lib.zeros_like(t).stride(),
                 t.to(lib.float16).stride()) for t in (x, y, z)]
    same(fn)

    def copies(t):
        return t.clone(), t.double(), gt.zeros_like(t) + t
    compiled = gt.compile(copies)
    for t in (gt.arange(24.).reshape(4, 6).t()[::2], gt.arange(4.).expand(3, 4)):
        for eager, ours in zip(copies(t), compiled(t)):
            assert eager.stride() == ours.stride() and gt.equal(eager, ours)
