"""Iterable DataPipes and their functional forms, as `torch.utils.data.datapipes.iter`:
IterableWrapper, `map` (Mapper), `filter` (Filter), `batch` (Batcher), `shuffle` (Shuffler).
The `Mapper`/`Filter` column arguments (input_col, output_col) are not supported."""

from __future__ import annotations

import copy
import random
from collections.abc import Sized

from .... import dtypes
from ....functions.creation import empty
from ..sampler import batched
from ._decorator import functional_datapipe
from .datapipe import DataChunk, IterDataPipe

__all__ = ["Batcher", "Filter", "IterableWrapper", "Mapper", "Shuffler"]


def _length(datapipe, owner) -> int:
    if isinstance(datapipe, Sized):
        return len(datapipe)
    raise TypeError(f"{type(owner).__name__} instance doesn't have valid length")


def _no_columns(name: str, **columns) -> None:
    given = [k for k, v in columns.items() if v is not None]
    if given:
        raise NotImplementedError(f"{name}: {', '.join(given)} (column selection) is not "
                                  "supported by graphtorch; apply fn to the whole item")


class IterableWrapperIterDataPipe(IterDataPipe):
    """Wrap an iterable; `deepcopy=True` (default) copies it for each iteration."""

    def __init__(self, iterable, deepcopy: bool = True) -> None:
        self.iterable = iterable
        self.deepcopy = deepcopy

    def __iter__(self):
        source = self.iterable
        if self.deepcopy:
            try:
                source = copy.deepcopy(self.iterable)
            except TypeError:  # PyTorch warns and iterates the original then
                pass
        yield from source

    def __len__(self) -> int:
        return _length(self.iterable, self)


@functional_datapipe("map")
class MapperIterDataPipe(IterDataPipe):
    """`dp.map(fn)`: fn applied to each item."""

    def __init__(self, datapipe, fn, input_col=None, output_col=None) -> None:
        _no_columns("map", input_col=input_col, output_col=output_col)
        self.datapipe, self.fn = datapipe, fn

    def __iter__(self):
        for item in self.datapipe:
            yield self.fn(item)

    def __len__(self) -> int:
        return _length(self.datapipe, self)


@functional_datapipe("filter")
class FilterIterDataPipe(IterDataPipe):
    """`dp.filter(filter_fn)`: the items for which filter_fn returns True (a bool)."""

    def __init__(self, datapipe, filter_fn, input_col=None) -> None:
        _no_columns("filter", input_col=input_col)
        self.datapipe, self.filter_fn = datapipe, filter_fn

    def __iter__(self):
        for item in self.datapipe:
            keep = self.filter_fn(item)
            if not isinstance(keep, bool):
                raise ValueError("Boolean output is required for `filter_fn` of "
                                 f"FilterIterDataPipe, got {type(keep)}")
            if keep:
                yield item


@functional_datapipe("batch")
class BatcherIterDataPipe(IterDataPipe):
    """`dp.batch(batch_size, drop_last=False)`: DataChunk lists of batch_size items."""

    def __init__(self, datapipe, batch_size: int, drop_last: bool = False,
                 wrapper_class=DataChunk) -> None:
        if batch_size <= 0:
            raise AssertionError("Batch size is required to be larger than 0!")
        self.datapipe, self.batch_size = datapipe, batch_size
        self.drop_last, self.wrapper_class = drop_last, wrapper_class

    def __iter__(self):
        for batch in batched(self.datapipe, self.batch_size, self.drop_last):
            yield self.wrapper_class(batch)

    def __len__(self) -> int:
        n = _length(self.datapipe, self)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


@functional_datapipe("shuffle")
class ShufflerIterDataPipe(IterDataPipe):
    """`dp.shuffle(buffer_size=10000)`: PyTorch's buffer shuffle, seeded from graphtorch's
    generator at each new iteration (or by `set_seed`)."""

    def __init__(self, datapipe, *, buffer_size: int = 10000, unbatch_level: int = 0) -> None:
        if buffer_size <= 0:
            raise AssertionError("buffer_size should be larger than 0")
        if unbatch_level:
            raise NotImplementedError("shuffle: unbatch_level is not supported by graphtorch")
        self.datapipe, self.buffer_size = datapipe, buffer_size
        self._enabled, self._seed, self._rng = True, None, random.Random()

    def set_shuffle(self, shuffle=True):
        self._enabled = shuffle
        return self

    def set_seed(self, seed: int):
        self._seed = seed
        return self

    def __iter__(self):
        if not self._enabled:
            yield from self.datapipe
            return
        seed = self._seed
        if seed is None:  # PyTorch's draw, so a gt.manual_seed gives PyTorch's order
            seed = int(empty((), dtype=dtypes.int64).random_().item())
        self._rng.seed(seed)
        self._seed = None
        buffer = []
        for item in self.datapipe:
            if len(buffer) == self.buffer_size:
                index = self._rng.randint(0, len(buffer) - 1)
                item, buffer[index] = buffer[index], item
                yield item
            else:
                buffer.append(item)
        while buffer:
            yield buffer.pop(self._rng.randint(0, len(buffer) - 1))

    def __len__(self) -> int:
        return _length(self.datapipe, self)


IterableWrapper = IterableWrapperIterDataPipe
Mapper = MapperIterDataPipe
Filter = FilterIterDataPipe
Batcher = BatcherIterDataPipe
Shuffler = ShufflerIterDataPipe
