"""`torch.multiprocessing`: Python's multiprocessing, for hogwild-style training.

A tensor moved to shared memory (`Tensor.share_memory_`, `Module.share_memory()`) is
shared with processes forked afterwards (the "fork" start method, Linux's default): their
in-place updates reach the parent. PyTorch can also send shared tensors to "spawn" and
"forkserver" children and through queues; graphtorch cannot, and pickling a shared tensor
for another process raises instead of handing the receiver a copy that is silently no
longer shared. Tensors not in shared memory pickle as copies, as before.
"""

from __future__ import annotations

import multiprocessing as _mp
import pickle
from multiprocessing import *
from multiprocessing.reduction import ForkingPickler

from ..nn.parameter import Buffer, Parameter
from ..tensor import Tensor

__all__ = list(_mp.__all__) + ["get_sharing_strategy", "set_sharing_strategy",
                               "get_all_sharing_strategies"]

_STRATEGY = "file_descriptor"


def get_all_sharing_strategies() -> set:
    """The ways shared tensors could reach other processes (PyTorch's names)."""
    return {"file_descriptor", "file_system"}


def get_sharing_strategy() -> str:
    return _STRATEGY


def set_sharing_strategy(new_strategy: str) -> None:
    """Accepted for PyTorch compatibility; only forked children share memory here."""
    global _STRATEGY
    if new_strategy not in get_all_sharing_strategies():
        raise AssertionError(f"invalid sharing strategy {new_strategy!r}")
    _STRATEGY = new_strategy


def _reduce_tensor(tensor):
    if tensor.is_shared():
        raise RuntimeError(
            "graphtorch.multiprocessing: a tensor in shared memory (share_memory_) cannot be "
            "sent to another process by pickling (the 'spawn' or 'forkserver' start method, "
            "or a Queue): the receiver would get an unshared copy. Start the processes with "
            "the 'fork' method (mp.set_start_method('fork', force=True) or "
            "mp.get_context('fork')) and pass the model as a Process argument")
    return tensor.__reduce_ex__(pickle.DEFAULT_PROTOCOL)


for _cls in (Tensor, Parameter, Buffer):
    ForkingPickler.register(_cls, _reduce_tensor)


from .spawn import (  # noqa: E402  (torch.multiprocessing.spawn and its exceptions)
    ProcessContext,
    ProcessException,
    ProcessExitedException,
    ProcessRaisedException,
    spawn,
    start_processes,
)

__all__ += ["ProcessContext", "ProcessException", "ProcessExitedException",
            "ProcessRaisedException", "spawn", "start_processes"]
