"""`gt.nn.parallel`: PyTorch's data-parallel wrappers.

`DistributedDataParallel` trains one replica per process over `graphtorch.distributed`;
`DataParallel` (several devices in one process) is in `data_parallel`.
"""

from .data_parallel import DataParallel, data_parallel
from .distributed import DistributedDataParallel

__all__ = ["DataParallel", "DistributedDataParallel", "data_parallel"]
