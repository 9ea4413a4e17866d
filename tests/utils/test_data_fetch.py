"""How DataLoader fetches a batch: a dataset's `__getitems__` is called with the batch's
indices (PyTorch's fetcher), and a TensorDataset batch is one gather per tensor, equal to
stacking its samples (values, dtype, shape, strides, the list default_collate makes)."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.utils.data import DataLoader, Dataset, TensorDataset
from graphtorch.utils.data.dataloader import default_collate

torch = pytest.importorskip("torch")


def _same(a, b):
    assert type(a) is type(b)
    if isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
        return
    assert a.dtype == b.dtype and a.shape == b.shape and a.stride() == b.stride()
    np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize("seed", range(6))
def test_tensor_dataset_batches_equal_stacked_samples(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 40))
    tensors = [gt.tensor(rng.standard_normal((n, 3, 2)).astype(np.float32)),
               gt.tensor(rng.integers(0, 9, n)), gt.tensor(rng.random(n) > 0.5)]
    ds = TensorDataset(*tensors[:int(rng.integers(1, 4))])
    batch_size = int(rng.integers(1, 9))
    gt.manual_seed(seed)
    fast = list(DataLoader(ds, batch_size=batch_size, shuffle=True,
                           drop_last=bool(seed % 2)))
    gt.manual_seed(seed)
    slow = list(DataLoader(ds, batch_size=batch_size, shuffle=True, drop_last=bool(seed % 2),
                           collate_fn=lambda b: default_collate(b)))
    assert len(fast) == len(slow)
    for a, b in zip(fast, slow):
        _same(a, b)


def test_matches_pytorch_batches():
    x = np.arange(40, dtype=np.float32).reshape(10, 4)
    y = np.arange(10)
    ours = list(DataLoader(TensorDataset(gt.tensor(x), gt.tensor(y)), batch_size=4))
    theirs = list(torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.tensor(x), torch.tensor(y)), batch_size=4))
    for (a, b), (c, d) in zip(ours, theirs):
        np.testing.assert_array_equal(a.numpy(), c.numpy())
        np.testing.assert_array_equal(b.numpy(), d.numpy())
        assert a.dtype == gt.float32 and b.dtype == gt.int64


def test_a_subclass_with_its_own_getitem_is_asked_per_sample():
    class Doubled(TensorDataset):
        def __getitem__(self, index):
            x, = super().__getitem__(index)
            return (x * 2,)

    batch, = DataLoader(Doubled(gt.arange(4.)), batch_size=4)
    assert batch[0].tolist() == [0.0, 2.0, 4.0, 6.0]


def test_tensors_recording_autograd_stack_as_before():
    w = gt.arange(4.).requires_grad_()
    batch, = DataLoader(TensorDataset(w), batch_size=4, shuffle=False)
    assert batch[0].grad_fn.name() == "StackBackward0"


def test_getitems_is_called_with_the_batch_indices_as_pytorch_does():
    for lib in (gt, torch):
        calls = []

        class Rows(lib.utils.data.Dataset):
            def __len__(self):
                return 6

            def __getitem__(self, i):
                raise AssertionError("__getitems__ should be used")

            def __getitems__(self, indices):
                calls.append(list(indices))
                return [lib.tensor(float(i)) for i in indices]

        batches = [b.tolist() for b in lib.utils.data.DataLoader(Rows(), batch_size=4)]
        assert batches == [[0.0, 1.0, 2.0, 3.0], [4.0, 5.0]]
        assert calls == [[0, 1, 2, 3], [4, 5]]


def test_int_index_fast_path_keeps_errors_and_views():
    x = gt.arange(6.).reshape(3, 2)
    row = x[-1]
    assert row._base is x._base and row.tolist() == [4.0, 5.0]  # a view, as before
    with pytest.raises(IndexError, match="index 3 is out of bounds for dimension 0 with size 3"):
        x[3]
    with pytest.raises(IndexError):
        gt.tensor(1.0)[0]
