"""nn.EmbeddingBag / F.embedding_bag against PyTorch: every mode, offsets and 2-D input,
include_last_offset, padding_idx, per_sample_weights, empty bags, gradients, errors, and
compiled (with a bag length that changes between calls) equal to eager."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt

from . import close, npy, torch

INDICES = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5]
OFFSETS = [0, 2, 2, 7]  # the second bag is empty


def _pair(mode, **kw):
    torch.manual_seed(0)
    theirs = torch.nn.EmbeddingBag(10, 4, mode=mode, **kw)
    ours = gt.nn.EmbeddingBag(10, 4, mode=mode, **kw)
    with gt.no_grad():
        ours.weight.copy_(gt.from_numpy(npy(theirs.weight)))
    return ours, theirs


def _run(lib, bag, *args, **kw):
    tensors = [lib.tensor(a) if isinstance(a, list) else a for a in args]
    out = bag(*tensors, **kw)
    (out * lib.arange(out.numel(), dtype=out.dtype).reshape(out.shape)).sum().backward()
    return out, bag.weight.grad


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("kw", [{}, {"padding_idx": 5}, {"include_last_offset": True}])
def test_offsets_forward_and_grad(mode, kw):
    ours, theirs = _pair(mode, **kw)
    # include_last_offset: the documented form, whose last offset is len(input)
    offsets = OFFSETS + [len(INDICES)] if kw.get("include_last_offset") else OFFSETS
    out, grad = _run(gt, ours, INDICES, offsets)
    ref, ref_grad = _run(torch, theirs, INDICES, offsets)
    close(out, ref, what="output")
    close(grad, ref_grad, what="weight.grad")


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_2d_input(mode):
    ours, theirs = _pair(mode)
    rows = [[1, 2, 4], [4, 3, 2], [0, 0, 9]]
    out, grad = _run(gt, ours, rows)
    ref, ref_grad = _run(torch, theirs, rows)
    close(out, ref)
    close(grad, ref_grad)


def test_per_sample_weights():
    ours, theirs = _pair("sum")
    w = np.linspace(0.1, 2.0, len(INDICES)).astype(np.float32)
    ow = gt.tensor(w, requires_grad=True)
    tw = torch.tensor(w, requires_grad=True)
    out, grad = _run(gt, ours, INDICES, OFFSETS, per_sample_weights=ow)
    ref, ref_grad = _run(torch, theirs, INDICES, OFFSETS, per_sample_weights=tw)
    close(out, ref)
    close(grad, ref_grad)
    close(ow.grad, tw.grad)


def test_functional_and_module_api():
    w = np.arange(12, dtype=np.float32).reshape(6, 2)
    for mode in ("sum", "mean", "max"):
        close(gt.nn.functional.embedding_bag(gt.tensor([0, 2, 1, 5]), gt.tensor(w),
                                             gt.tensor([0, 3]), mode=mode),
              torch.nn.functional.embedding_bag(torch.tensor([0, 2, 1, 5]), torch.tensor(w),
                                                torch.tensor([0, 3]), mode=mode))
    ours = gt.nn.EmbeddingBag.from_pretrained(gt.tensor(w), mode="max", padding_idx=1)
    theirs = torch.nn.EmbeddingBag.from_pretrained(torch.tensor(w), mode="max", padding_idx=1)
    assert repr(ours) == repr(theirs)
    assert ours.weight.requires_grad is theirs.weight.requires_grad is False
    gt.manual_seed(0)
    torch.manual_seed(0)
    close(gt.nn.EmbeddingBag(7, 3, padding_idx=2).weight,
          torch.nn.EmbeddingBag(7, 3, padding_idx=2).weight)


@pytest.mark.parametrize("call", [
    lambda lib, bag: bag(lib.tensor([[1, 2]]), lib.tensor([0])),
    lambda lib, bag: bag(lib.tensor([1, 2])),
    lambda lib, bag: bag(lib.tensor([[[1]]])),
    lambda lib, bag: bag(lib.tensor([1, 2]), lib.tensor([0]),
                         per_sample_weights=lib.tensor([1.0, 2.0])),
])
def test_errors_match(call):
    errors = []
    for lib in (gt, torch):
        with pytest.raises(Exception) as info:
            call(lib, lib.nn.EmbeddingBag(5, 2, mode="mean"))
        errors.append(info.type)
    assert errors[0] is errors[1]
    with pytest.raises(ValueError, match="mode has to be one of sum, mean or max"):
        gt.nn.functional.embedding_bag(gt.tensor([1]), gt.ones(3, 2), gt.tensor([0]),
                                       mode="min")


def test_compiled_equals_eager_for_changing_lengths():
    gt.manual_seed(0)
    bag = gt.nn.EmbeddingBag(20, 4, mode="mean")
    step = gt.compile(bag)
    rng = np.random.RandomState(0)
    for n in (5, 7, 9, 11):
        x = gt.from_numpy(rng.randint(0, 20, n))
        offsets = gt.tensor([0, 2, n - 1])
        close(step(x, offsets), bag(x, offsets))
    assert step._compiled.stats.compiles <= 2


def test_compiled_with_dynamic_bag_counts_compiles_once():
    # the text-classification tutorial: batches of different sizes give offsets of
    # different lengths; `[:bags]` must slice symbolically instead of specialising
    gt.manual_seed(0)
    bag = gt.nn.EmbeddingBag(20, 4, mode="mean")
    step = gt.compile(bag, dynamic=True)
    rng = np.random.RandomState(0)
    for n, bags in ((9, 3), (11, 5), (6, 2), (12, 4)):
        x = gt.from_numpy(rng.randint(0, 20, n))
        offsets = gt.from_numpy(np.sort(rng.choice(np.arange(1, n), bags - 1, replace=False)))
        offsets = gt.cat([gt.tensor([0]), offsets])
        got = step(x, offsets)
        assert tuple(got.shape) == (bags, 4)
        close(got, bag(x, offsets))
    assert step._compiled.stats.compiles == 1
