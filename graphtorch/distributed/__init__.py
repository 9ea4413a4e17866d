"""`gt.distributed`: data-parallel training across processes and machines, on MPI.

PyTorch's ``torch.distributed`` API (``import graphtorch.distributed as dist``): process
groups, collectives on tensors and objects, `Work` handles, `ReduceOp`. MPI (mpi4py, with
MPICH from PyPI) is the engine for CPU tensors; NCCL (through CuPy) for CUDA tensors with
``backend="nccl"``. Launch N ranks with ``mpiexec -n N python train.py`` or
``graphtorch run -n N train.py``; without a launcher a script is a world of size 1.

>>> import graphtorch.distributed as dist
>>> dist.init_process_group(backend="mpi")
>>> t = gt.ones(3) * dist.get_rank()
>>> dist.all_reduce(t)          # the sum over ranks, on every rank
"""

from . import nn  # noqa: F401
from .collectives import (all_gather, all_gather_into_tensor, all_reduce, all_to_all_single,
                          barrier, broadcast, gather, irecv, isend, recv, reduce, reduce_scatter,
                          reduce_scatter_tensor, scatter, send)
from .objects import all_gather_object, broadcast_object_list, gather_object
from .process_group import (GroupMember, ProcessGroup, default_pg_timeout,
                            destroy_process_group, get_backend, get_global_rank,
                            get_group_rank, get_process_group_ranks, get_rank, get_world_size,
                            init_process_group, is_available, is_initialized, is_mpi_available,
                            is_nccl_available, new_group)
from .process_group import GroupNamespace as group
from .reduce_op import ReduceOp
from .work import DistBackendError, DistError, DistNetworkError, DistStoreError, Work

__all__ = ["GroupMember", "ProcessGroup", "ReduceOp", "Work", "DistError", "DistBackendError",
           "DistNetworkError", "DistStoreError", "all_gather", "all_gather_into_tensor",
           "all_gather_object", "all_reduce", "all_to_all_single", "barrier", "broadcast",
           "broadcast_object_list", "default_pg_timeout", "destroy_process_group", "gather",
           "gather_object", "get_backend", "get_global_rank", "get_group_rank",
           "get_process_group_ranks", "get_rank", "get_world_size", "group",
           "init_process_group", "irecv", "is_available", "is_initialized",
           "is_mpi_available", "is_nccl_available", "isend", "new_group", "recv", "reduce",
           "reduce_scatter", "reduce_scatter_tensor", "scatter", "send"]
