"""StackDataset, ChainDataset (and IterableDataset + IterableDataset) and get_worker_info
against torch.utils.data: samples, batches through the DataLoader, lengths and errors."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt

torch = pytest.importorskip("torch")


def _np(x):
    if isinstance(x, dict):
        return {k: _np(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_np(v) for v in x]
    return np.asarray(x.detach().numpy()) if hasattr(x, "detach") else x


def _same(a, b):
    a, b = _np(a), _np(b)
    if isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    else:
        np.testing.assert_array_equal(a, b)


def _tensors(lib):
    return (lib.tensor(np.arange(12.0).reshape(6, 2)), lib.tensor(np.arange(6)))


@pytest.mark.parametrize("as_dict", [False, True])
def test_stack_dataset_samples_and_batches(as_dict):
    out = []
    for lib in (torch, gt):
        x, y = _tensors(lib)
        data = lib.utils.data
        stack = (data.StackDataset(image=data.TensorDataset(x), label=y) if as_dict
                 else data.StackDataset(data.TensorDataset(x), y))
        batches = list(data.DataLoader(stack, batch_size=4))
        out.append((len(stack), stack[2], stack.__getitems__([0, 3]), batches))
    assert out[1][0] == out[0][0]
    for a, b in zip(out[1][1:], out[0][1:]):
        _same(a, b)


@pytest.mark.parametrize("make", [
    lambda data, x: data.StackDataset(),
    lambda data, x: data.StackDataset(x, y=x),
    lambda data, x: data.StackDataset(x, x[:3]),
    lambda data, x: data.StackDataset(a=x, b=x[:3]),
])
def test_stack_dataset_errors(make):
    messages = []
    for lib in (torch, gt):
        with pytest.raises(ValueError) as info:
            make(lib.utils.data, lib.arange(6))
        messages.append(str(info.value))
    assert messages[1] == messages[0]


def _stream(lib, start, stop):
    class Stream(lib.utils.data.IterableDataset):
        def __iter__(self):
            return iter(lib.arange(start, stop))

        def __len__(self):
            return stop - start

    return Stream()


def test_chain_dataset_and_iterable_addition():
    out = []
    for lib in (torch, gt):
        data = lib.utils.data
        chain = data.ChainDataset([_stream(lib, 0, 3), _stream(lib, 10, 12)])
        added = _stream(lib, 0, 2) + _stream(lib, 5, 6)
        assert isinstance(added, data.ChainDataset)
        out.append((len(chain), [int(v) for v in chain], list(data.DataLoader(chain,
                                                                              batch_size=2)),
                    [int(v) for v in added]))
    assert out[1][0] == out[0][0] and out[1][1] == out[0][1] and out[1][3] == out[0][3]
    _same(out[1][2], out[0][2])


def test_chain_dataset_rejects_map_style_datasets():
    for lib in (torch, gt):
        chain = lib.utils.data.ChainDataset([lib.utils.data.TensorDataset(lib.zeros(2))])
        with pytest.raises(AssertionError, match="only supports IterableDataset"):
            list(chain)
        with pytest.raises(AssertionError, match="only supports IterableDataset"):
            len(chain)


def test_get_worker_info_is_none_in_the_main_process_and_in_loading():
    """A dataset that shards by worker sees None and yields its whole stream, as PyTorch's
    num_workers=0 loading does."""
    seen = []
    for lib in (torch, gt):
        data = lib.utils.data

        class Sharded(data.IterableDataset):
            def __iter__(self):
                info = data.get_worker_info()
                seen.append(info)
                return iter(range(5) if info is None else range(info.id, 5, info.num_workers))

        assert data.get_worker_info() is None
        assert [int(b) for b in data.DataLoader(Sharded(), batch_size=None)] == list(range(5))
    assert seen == [None, None]
    info = gt.utils.data.WorkerInfo(id=0, num_workers=2, seed=1, dataset=None)
    assert (info.id, info.num_workers, info.worker_method) == (0, 2, "multiprocessing")
