"""`gt.nn.parallel`: data parallelism (PyTorch's ``torch.nn.parallel``).

`DistributedDataParallel` trains one replica per process over `graphtorch.distributed`.
``DataParallel`` (several devices in one process) lives in its own module when present and
is imported on first use.
"""

from .distributed import DistributedDataParallel

__all__ = ["DistributedDataParallel"]


def __getattr__(name):
    if name == "DataParallel":  # provided by graphtorch.nn.parallel.data_parallel
        try:
            from .data_parallel import DataParallel
        except ImportError:
            pass
        else:
            return DataParallel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
