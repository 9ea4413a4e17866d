"""Map-style DataPipes, as `torch.utils.data.datapipes.map`: SequenceWrapper and the
`map` (Mapper) and `batch` (Batcher) functional forms."""

from __future__ import annotations

import copy

from ._decorator import functional_datapipe
from .datapipe import DataChunk, MapDataPipe

__all__ = ["Batcher", "Mapper", "SequenceWrapper"]


class SequenceWrapperMapDataPipe(MapDataPipe):
    """Wrap a sequence (deep-copied unless `deepcopy=False`)."""

    def __init__(self, sequence, deepcopy: bool = True) -> None:
        self.sequence = copy.deepcopy(sequence) if deepcopy else sequence

    def __getitem__(self, index):
        return self.sequence[index]

    def __len__(self) -> int:
        return len(self.sequence)


@functional_datapipe("map")
class MapperMapDataPipe(MapDataPipe):
    """`dp.map(fn)`: fn applied to each item on access."""

    def __init__(self, datapipe, fn) -> None:
        self.datapipe, self.fn = datapipe, fn

    def __getitem__(self, index):
        return self.fn(self.datapipe[index])

    def __len__(self) -> int:
        return len(self.datapipe)


@functional_datapipe("batch")
class BatcherMapDataPipe(MapDataPipe):
    """`dp.batch(batch_size, drop_last=False)`: item i is the i-th DataChunk of items."""

    def __init__(self, datapipe, batch_size: int, drop_last: bool = False,
                 wrapper_class=DataChunk) -> None:
        if batch_size <= 0:
            raise AssertionError("Batch size is required to be larger than 0!")
        self.datapipe, self.batch_size = datapipe, batch_size
        self.drop_last, self.wrapper_class = drop_last, wrapper_class

    def __getitem__(self, index):
        start = index * self.batch_size
        batch = [self.datapipe[i] for i in range(start, min(start + self.batch_size,
                                                            len(self.datapipe)))]
        if not batch or (self.drop_last and len(batch) < self.batch_size):
            raise IndexError(f"Index {index} is out of bound.")
        return self.wrapper_class(batch)

    def __len__(self) -> int:
        n = len(self.datapipe)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


SequenceWrapper = SequenceWrapperMapDataPipe
Mapper = MapperMapDataPipe
Batcher = BatcherMapDataPipe
