"""`get_worker_info`: which DataLoader worker runs the calling code. graphtorch's
DataLoader loads every batch in the main process (`num_workers` is accepted for
compatibility), so this is always None, PyTorch's answer in the main process; an
IterableDataset that shards its stream by worker then yields the whole stream once."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["WorkerInfo", "get_worker_info"]


@dataclass(frozen=True)
class WorkerInfo:
    """What PyTorch hands a worker: its id, the worker count, its seed and dataset copy."""

    id: int
    num_workers: int
    seed: int
    dataset: object
    rng: object = None
    worker_method: str | None = "multiprocessing"


def get_worker_info() -> WorkerInfo | None:
    """The current worker's WorkerInfo, or None in the main process (always, here).

    >>> gt.utils.data.get_worker_info() is None
    True
    """
    return None
