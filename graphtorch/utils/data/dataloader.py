"""`DataLoader` and `default_collate` (in-process loading; batches as PyTorch forms them)."""

from __future__ import annotations

import collections.abc
import numbers

import numpy as np

from ... import dtypes
from ...functions.creation import as_tensor, empty, tensor
from ...functions.movement import stack
from ...tensor import Tensor
from .dataset import IterableDataset, TensorDataset
from .sampler import BatchSampler, RandomSampler, SequentialSampler, batched


def _tensor_rows(dataset, indices):
    """`default_collate` of a TensorDataset's samples at `indices` as one gather per tensor:
    the values, dtypes and (contiguous) layout of stacking their rows, in one op instead of
    two per sample (a 64-sample batch: ~0.9 -> ~0.1 ms). None where that would differ: a
    subclass with its own __getitem__, tensors recording autograd or not contiguous, indices
    that are not Python ints."""
    if type(dataset).__getitem__ is not TensorDataset.__getitem__ or not indices or \
            not all(type(i) is int for i in indices):
        return None
    tensors = dataset.tensors
    if any(t.requires_grad or not t.ndim or not t.is_contiguous() for t in tensors):
        return None
    index = tensor(list(indices), dtype=dtypes.int64)
    return [t[index] for t in tensors]


def default_collate(batch):
    """Stack samples into a batch: tensors and arrays stack, numbers become tensors,
    dicts, tuples, named tuples and lists are collated field by field."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        return stack(list(batch), 0)
    if isinstance(elem, np.ndarray):
        return stack([tensor(b) for b in batch], 0)
    if isinstance(elem, np.generic):
        return tensor(np.array(batch))
    if isinstance(elem, bool):
        return tensor(batch)
    if isinstance(elem, numbers.Integral):
        return tensor(batch)
    if isinstance(elem, float):
        return tensor(batch, dtype=dtypes.float64)
    if isinstance(elem, (str, bytes)):  # as given: a tuple inside a collated tuple
        return batch
    if isinstance(elem, collections.abc.Mapping):
        collated = {key: default_collate([d[key] for d in batch]) for key in elem}
        return collated if type(elem) is dict else type(elem)(collated)
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return type(elem)(*(default_collate(samples) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        sizes = {len(e) for e in batch}
        if len(sizes) != 1:
            raise RuntimeError("each element in list of batch should be of equal size")
        # Tuples collate to lists too, as in PyTorch.
        return [default_collate(samples) for samples in zip(*batch)]
    raise TypeError(f"default_collate: batch must contain tensors, numpy arrays, numbers, "
                    f"dicts or lists; found {type(elem)}")


def default_convert(data):
    if isinstance(data, np.ndarray):
        return as_tensor(data)
    return data


class DataLoader:
    """Iterate over a dataset in batches (`batch_size`, `shuffle`, `drop_last`,
    `collate_fn`, `sampler`/`batch_sampler`, `generator`). Loading runs in this process;
    `num_workers` is accepted for compatibility."""

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False,
                 timeout=0, worker_init_fn=None, multiprocessing_context=None, generator=None,
                 *, prefetch_factor=None, persistent_workers=False, pin_memory_device=""):
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to "
                             "disable multiprocessing.")
        self.dataset, self.num_workers = dataset, num_workers
        self.batch_size, self.drop_last, self.generator = batch_size, drop_last, generator
        self._iterable = isinstance(dataset, IterableDataset)
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            self.batch_size, self.drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if self._iterable:
            if shuffle:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                 f"shuffle option, but got shuffle={shuffle}")
            sampler = None
        elif sampler is None:
            sampler = RandomSampler(dataset, generator=generator) if shuffle \
                else SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None and not self._iterable:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.sampler, self.batch_sampler = sampler, batch_sampler
        if collate_fn is None:
            collate_fn = default_collate if self.batch_size is not None or batch_sampler \
                else default_convert
        self.collate_fn = collate_fn

    def __iter__(self):
        # PyTorch draws a base seed for workers from the loader's generator (or the global
        # one) each time iteration starts, before the sampler draws; mirror it so seeded
        # runs shuffle, and draw later random numbers, exactly as PyTorch does.

        self._base_seed = int(empty((), dtype=dtypes.int64).random_(
            generator=self.generator).item())
        yield from self._batches()

    def _batches(self):
        if self._iterable:
            yield from self._iter_iterable()
            return
        if self.batch_sampler is None:
            for idx in self.sampler:
                yield self.collate_fn(self.dataset[idx])
            return
        for indices in self.batch_sampler:
            yield self._fetch(indices)

    def _fetch(self, indices):
        """The collated batch of the samples at `indices`, as PyTorch's fetcher forms it:
        through the dataset's `__getitems__` when it has one."""
        dataset = self.dataset
        if self.collate_fn is default_collate:
            rows = _tensor_rows(dataset, indices)
            if rows is not None:
                return rows
        getitems = getattr(dataset, "__getitems__", None)
        samples = getitems(indices) if getitems else [dataset[i] for i in indices]
        return self.collate_fn(samples)

    def _iter_iterable(self):
        if self.batch_size is None:
            for sample in self.dataset:
                yield self.collate_fn(sample)
            return
        for batch in batched(self.dataset, self.batch_size, self.drop_last):
            yield self.collate_fn(batch)

    def __len__(self):
        if self._iterable:
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return len(self.sampler)
