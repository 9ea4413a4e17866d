"""gt.utils.data against torch.utils.data: batches, order, collation, splits."""

from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.utils import data as gdata

torch = pytest.importorskip("torch")
tdata = torch.utils.data


def _as_np(batch):
    if isinstance(batch, (gt.Tensor, torch.Tensor)):
        return np.asarray(batch.detach().numpy())
    if isinstance(batch, dict):
        return {k: _as_np(v) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(_as_np(b) for b in batch) if not hasattr(batch, "_fields") \
            else tuple(_as_np(b) for b in batch)
    return batch


def _same(a, b):
    a, b = _as_np(a), _as_np(b)
    if isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    else:
        assert a == b


def _loaders(make_dataset, **kwargs):
    out = []
    for lib, mod in ((torch, tdata), (gt, gdata)):
        seed = kwargs.pop("_seed", None)
        if "generator" in kwargs or seed is not None:
            kwargs["generator"] = lib.Generator().manual_seed(7)
        lib.manual_seed(3)
        out.append(list(mod.DataLoader(make_dataset(lib, mod), **kwargs)))
    return out


def _tensor_dataset(lib, mod):
    x = lib.tensor(np.arange(30, dtype=np.float32).reshape(10, 3))
    y = lib.tensor(np.arange(10))
    return mod.TensorDataset(x, y)


@pytest.mark.parametrize("kwargs", [
    {"batch_size": 4}, {"batch_size": 4, "drop_last": True},
    {"batch_size": 3, "shuffle": True, "generator": True},
    {"batch_size": 3, "shuffle": True},  # seeded from the global generator, as PyTorch
    {"batch_size": 1}, {"batch_size": None},
])
def test_tensor_dataset_batches_and_order_match_torch(kwargs):
    kwargs = dict(kwargs)
    if kwargs.get("generator"):
        kwargs["_seed"] = 7
        del kwargs["generator"]
    ours, theirs = _loaders(_tensor_dataset, **{**kwargs})[::-1]
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        _same(a, b)


Point = namedtuple("Point", ["x", "y"])


class _Structured:
    def __init__(self, lib):
        self.lib = lib

    def __len__(self):
        return 5

    def __getitem__(self, i):
        lib = self.lib
        return {"image": lib.full((2,), float(i)), "label": i, "weight": 0.5 * i,
                "meta": [i, (lib.tensor([i, i + 1]), f"s{i}")],
                "arr": np.full(2, i, dtype=np.float64), "point": Point(i, float(i))}


def test_collation_of_dicts_lists_tuples_numbers_arrays_and_strings():
    ours = list(gdata.DataLoader(_Structured(gt), batch_size=2))
    theirs = list(tdata.DataLoader(_Structured(torch), batch_size=2))
    for a, b in zip(ours, theirs):
        _same(a, b)


def test_custom_collate_fn_and_len():
    loader = gdata.DataLoader(list(range(7)), batch_size=3, collate_fn=lambda b: sum(b))
    assert list(loader) == [3, 12, 6] and len(loader) == 3


def test_random_split_matches_torch():
    for lib, mod in ((torch, tdata), (gt, gdata)):
        parts = mod.random_split(range(10), [7, 3], generator=lib.Generator().manual_seed(1))
        if lib is torch:
            expected = [list(p) for p in parts]
        else:
            assert [list(p) for p in parts] == expected
    fractions = gdata.random_split(range(10), [0.5, 0.5])
    assert sorted(list(fractions[0]) + list(fractions[1])) == list(range(10))


def test_errors_as_torch():
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        gdata.DataLoader(range(3), batch_size=0)
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        gdata.DataLoader(range(3), sampler=gdata.SequentialSampler(range(3)), shuffle=True)
    with pytest.raises(AssertionError, match="Size mismatch"):
        gdata.TensorDataset(gt.zeros(3), gt.zeros(4))


def test_iterable_dataset_batches():
    class Stream(gdata.IterableDataset):
        def __iter__(self):
            return iter(range(5))

    assert [b.tolist() for b in gdata.DataLoader(Stream(), batch_size=2)] == [[0, 1], [2, 3],
                                                                               [4]]


@pytest.mark.parametrize("replacement", [True, False])
def test_weighted_random_sampler_draws_as_torch(replacement):
    weights = [0.1, 0.9, 0.4, 0.7, 3.0, 0.6, 0.2, 1.5]
    draws = []
    for lib, mod in ((torch, tdata), (gt, gdata)):
        lib.manual_seed(0)
        sampler = mod.WeightedRandomSampler(weights, 6, replacement=replacement)
        seeded = mod.WeightedRandomSampler(lib.tensor(weights), 5, replacement,
                                           generator=lib.Generator().manual_seed(3))
        loader = mod.DataLoader(_tensor_dataset(lib, mod), batch_size=3,
                                sampler=mod.WeightedRandomSampler(weights[:10] + [1.0, 2.0], 7))
        draws.append((list(sampler), list(sampler), list(seeded), len(sampler),
                      [_as_np(batch) for batch in loader]))
    _same(draws[1], draws[0])


@pytest.mark.parametrize("args", [([1.0, 2.0], 0), ([1.0, 2.0], True), ([[1.0, 2.0]], 2),
                                  ([1.0, 2.0], 2, 1)])
def test_weighted_random_sampler_errors_as_torch(args):
    with pytest.raises(ValueError) as expected:
        tdata.WeightedRandomSampler(*args)
    with pytest.raises(ValueError) as got:
        gdata.WeightedRandomSampler(*args)
    assert str(got.value) == str(expected.value)


def test_default_collate_keeps_strings_as_given_tuples_inside_tuples():
    # a text dataset of (text, label) pairs: PyTorch's loader gives the texts as a tuple
    Pair = namedtuple("Pair", "text label")
    samples = [[("hello", 0), ("world", 1)], [["p", 1], ["q", 2]], ["a", "b"],
               [Pair("s", 1), Pair("r", 2)], [{"t": "u"}, {"t": "v"}]]
    for batch in samples:
        want = torch.utils.data.default_collate(batch)
        got = gt.utils.data.default_collate(batch)
        assert repr(got) == repr(want)
