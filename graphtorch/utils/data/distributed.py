"""`DistributedSampler`: each rank's share of a dataset, with PyTorch's exact partition.

The indices (a permutation drawn from a generator seeded with ``seed + epoch`` when
shuffling, else 0..N-1) are padded by repeating them from the start up to a multiple of the
number of replicas (or cut down to one with ``drop_last``); rank r takes every
``num_replicas``-th index starting at r. graphtorch's `randperm` draws what PyTorch's does,
so a seeded run visits the same samples on the same ranks as under PyTorch.
"""

from __future__ import annotations

import math

from ...distributed.process_group import get_rank, get_world_size, is_available
from ...functions.creation import randperm
from ...random import Generator
from .sampler import Sampler


class DistributedSampler(Sampler):
    """Restricts data loading to one rank's subset of the dataset.

    >>> sampler = DistributedSampler(dataset, num_replicas=2, rank=0, shuffle=True, seed=0)
    >>> loader = DataLoader(dataset, batch_size=64, sampler=sampler)
    >>> for epoch in range(3):
    ...     sampler.set_epoch(epoch)        # a different shuffle each epoch, same on all ranks
    ...     for x, y in loader: ...

    num_replicas, rank: default to the default process group's world size and rank.
    """

    def __init__(self, dataset, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False):
        if num_replicas is None or rank is None:
            if not is_available():
                raise RuntimeError("Requires distributed package to be available")
            num_replicas = get_world_size() if num_replicas is None else num_replicas
            rank = get_rank() if rank is None else rank
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        n = len(dataset)
        if drop_last and n % num_replicas != 0:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            generator = Generator()
            generator.manual_seed(self.seed + self.epoch)
            indices = randperm(n, generator=generator).tolist()
        else:
            indices = list(range(n))
        if self.drop_last:
            indices = indices[:self.total_size]
        else:
            missing = self.total_size - len(indices)
            if missing <= len(indices):
                indices += indices[:missing]
            else:
                indices += (indices * math.ceil(missing / len(indices)))[:missing]
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Reshuffle for `epoch` (call it before each epoch, on every rank)."""
        self.epoch = epoch
