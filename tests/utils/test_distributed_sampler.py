"""DistributedSampler partitions exactly as PyTorch's (shuffle, seed, epoch, drop_last,
padding), alone and under a DataLoader."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import graphtorch as gt
from graphtorch.utils.data import DataLoader, TensorDataset
from graphtorch.utils.data.distributed import DistributedSampler

torch = pytest.importorskip("torch")
from torch.utils.data.distributed import DistributedSampler as TorchSampler


@settings(max_examples=150, deadline=None)
@given(n=st.integers(1, 70), replicas=st.integers(1, 6), shuffle=st.booleans(),
       drop_last=st.booleans(), seed=st.integers(0, 2**31), epoch=st.integers(0, 5),
       data=st.data())
def test_partition_equals_pytorch(n, replicas, shuffle, drop_last, seed, epoch, data):
    rank = data.draw(st.integers(0, replicas - 1))
    ours = DistributedSampler(range(n), replicas, rank, shuffle, seed, drop_last)
    theirs = TorchSampler(range(n), replicas, rank, shuffle, seed, drop_last)
    ours.set_epoch(epoch)
    theirs.set_epoch(epoch)
    assert list(ours) == list(theirs)
    assert len(ours) == len(theirs)


def test_ranks_cover_the_dataset_and_epochs_reshuffle():
    parts = [list(DistributedSampler(range(10), 3, r, seed=1)) for r in range(3)]
    assert [len(p) for p in parts] == [4, 4, 4]       # padded from 10 to 12
    assert set().union(*parts) == set(range(10))
    dropped = [list(DistributedSampler(range(10), 3, r, drop_last=True)) for r in range(3)]
    assert [len(p) for p in dropped] == [3, 3, 3] and len(set().union(*dropped)) == 9
    sampler = DistributedSampler(range(50), 2, 0, seed=1)
    first = list(sampler)
    sampler.set_epoch(1)
    assert list(sampler) != first


def test_invalid_rank_raises_like_pytorch():
    for lib_sampler in (DistributedSampler, TorchSampler):
        with pytest.raises(ValueError, match=r"Invalid rank 3, rank should be in the interval "
                           r"\[0, 2\]"):
            lib_sampler(range(10), num_replicas=3, rank=3)


def test_data_loader_batches_equal_pytorch():
    x = torch.arange(23.0)
    ours = DataLoader(TensorDataset(gt.arange(23.0)), batch_size=4,
                      sampler=DistributedSampler(range(23), 2, 1, seed=5))
    theirs = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x), batch_size=4,
                                         sampler=TorchSampler(range(23), 2, 1, seed=5))
    assert [b[0].tolist() for b in ours] == [b[0].tolist() for b in theirs]


def test_defaults_come_from_the_process_group():
    dist = pytest.importorskip("graphtorch.distributed")
    pytest.importorskip("mpi4py")
    if not dist.is_initialized():
        dist.init_process_group()      # no launcher: a world of one
    sampler = DistributedSampler(range(5), shuffle=False)
    assert (sampler.num_replicas, sampler.rank) == (1, 0)
    assert list(sampler) == [0, 1, 2, 3, 4]
    assert gt.utils.data.DistributedSampler is DistributedSampler
