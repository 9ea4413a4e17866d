"""Process groups: ``init_process_group``, the default (WORLD) group, ``new_group``.

MPI is the engine. The rank and world size come from the MPI launcher (``mpiexec -n N`` or
``graphtorch run -n N``); a script started without one is a world of size 1. Each group owns
a duplicate of its MPI communicator (user MPI traffic never mixes with ours), plus an NCCL
communicator for CUDA tensors when ``backend="nccl"``. Groups register in
`graphtorch.ops.collectives.COMMUNICATORS` so that compiled graphs reach them by id.

A rank that raises must not leave the others waiting forever in a collective: with more than
one rank, an uncaught exception prints its traceback (each line prefixed ``[rankN]:``, as
PyTorch does) and calls ``MPI_Abort``, which ends every rank of the job at once; a rank that
stops without raising is caught by the collectives' timeout instead (`Work.wait`).
"""

from __future__ import annotations

import datetime
import os
import sys
import time
import traceback

import numpy as np

from ..ops import collectives as graph_ops
from .mpi_backend import MPICommunicator
from .work import _seconds

default_pg_timeout = datetime.timedelta(minutes=30)
ABORT_GRACE_SECONDS = 0.5
BACKENDS = ("mpi", "nccl", "gloo")


class ProcessGroup:
    """A set of ranks that run collectives together (PyTorch's ``ProcessGroup``).

    ``rank()`` and ``size()`` are this process's rank in the group and the group's size;
    collectives pick the engine by where a tensor lives (`engine_for`).
    """

    def __init__(self, mpi_comm, backend: str, timeout: float, group_id: int,
                 global_ranks: list[int], device_id=None):
        self.id = group_id
        self.backend = backend
        self.timeout = timeout
        self.global_ranks = global_ranks
        self.mpi = MPICommunicator(mpi_comm, timeout)
        self.nccl = None
        if backend == "nccl":
            # lazy: GPU only; it loads ctypes for NCCL (import time)
            from .nccl_backend import NCCLCommunicator

            self.nccl = NCCLCommunicator(mpi_comm, timeout, device_id)

    def rank(self) -> int:
        return self.mpi.rank

    def size(self) -> int:
        return self.mpi.size

    def name(self) -> str:
        return self.backend

    def engine_for(self, array):
        """NCCL for CUDA arrays when the group has it, else MPI (CUDA arrays are staged
        through host memory by the caller)."""
        if self.nccl is not None and type(array) is not np.ndarray:
            return self.nccl
        return self.mpi

    def group_rank(self, global_rank: int) -> int:
        try:
            return self.global_ranks.index(global_rank)
        except ValueError:
            raise ValueError(f"Global rank {global_rank} is not part of group "
                             f"{self.global_ranks}") from None

    # --- the array-level protocol of graphtorch.ops.collectives (graph kernels) -----------

    def all_reduce_copy(self, array, op: str):
        """A new array: `array` reduced over the group (blocking)."""
        engine = self.engine_for(array)
        buffer, back = _engine_copy(engine, array)
        engine.all_reduce(buffer, op).wait()
        return back(buffer)

    def broadcast_copy(self, array, src: int):
        """A new array: rank `src`'s `array` on every rank (blocking)."""
        engine = self.engine_for(array)
        buffer, back = _engine_copy(engine, array)
        engine.broadcast(buffer, src).wait()
        return back(buffer)

    def __repr__(self):
        return f"<ProcessGroup {self.backend} id={self.id} rank {self.rank()} of {self.size()}>"


def _engine_copy(engine, array):
    """(a contiguous copy of `array` in the engine's memory, a function bringing a result
    back to `array`'s memory)."""
    if engine.xp is np and type(array) is not np.ndarray:  # a CUDA array through MPI
        xp = _array_module(array)
        return np.ascontiguousarray(array.get()), xp.asarray
    return engine.xp.array(array, order="C", copy=True), lambda a: a


def _array_module(array):
    import cupy

    return cupy


class _NonMember:
    """What ``new_group`` returns on ranks outside the group (PyTorch's
    ``GroupMember.NON_GROUP_MEMBER``): collectives on it do nothing."""

    def __repr__(self):
        return "GroupMember.NON_GROUP_MEMBER"


class GroupMember:
    WORLD: ProcessGroup | None = None
    NON_GROUP_MEMBER = _NonMember()


class GroupNamespace:
    """``dist.group``: ``dist.group.WORLD`` is the default group (None before init)."""

    WORLD: ProcessGroup | None = None


_STATE = {"groups": {}, "next_id": 1, "excepthook": None}


def is_available() -> bool:
    """Whether mpi4py (and so an MPI library) can be imported."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


def is_mpi_available() -> bool:
    return is_available()


def is_nccl_available() -> bool:
    try:
        from cupy.cuda import nccl
    except Exception:  # noqa: BLE001 - no CuPy, no CUDA driver: no NCCL
        return False
    return bool(nccl.available)


def is_initialized() -> bool:
    return GroupMember.WORLD is not None


def _mpi():
    try:
        from mpi4py import MPI
    except ImportError:
        raise RuntimeError("graphtorch.distributed needs mpi4py and an MPI library: "
                           "pip install 'graphtorch[distributed]' (mpi4py, mpich)") from None
    return MPI


def init_process_group(backend: str | None = None, init_method: str | None = None,
                       timeout=None, world_size: int = -1, rank: int = -1, store=None,
                       group_name: str = "", pg_options=None, device_id=None) -> None:
    """Join the default process group: every rank started by the MPI launcher.

    backend: "mpi" (default; CPU tensors, CUDA tensors staged through host memory),
        "nccl" (CUDA tensors through NCCL, CPU tensors through MPI) or "gloo" (served by
        MPI: same collectives and semantics for CPU tensors).
    timeout: how long a collective waits for the other ranks before raising
        `DistBackendError` (``datetime.timedelta`` or seconds; default 30 minutes).
    world_size, rank: optional; when given they must agree with the launcher.

    >>> dist.init_process_group(backend="mpi")     # mpiexec -n 2 python train.py
    >>> dist.get_rank(), dist.get_world_size()
    (0, 2)
    """
    if is_initialized():
        raise ValueError("trying to initialize the default process group twice!")
    backend = (backend or "mpi").lower()
    if backend not in BACKENDS:
        raise ValueError(f"Invalid backend: '{backend}'; graphtorch.distributed supports "
                         f"{', '.join(BACKENDS)} (gloo is served by MPI)")
    if init_method not in (None, "env://", "mpi://") or store is not None:
        raise ValueError("graphtorch.distributed takes ranks from the MPI launcher: start "
                         "the script with `mpiexec -n N python script.py` (or `graphtorch "
                         "run -n N script.py`) and leave init_method/store unset")
    MPI = _mpi()
    size, my_rank = MPI.COMM_WORLD.Get_size(), MPI.COMM_WORLD.Get_rank()
    launched = os.environ.get("WORLD_SIZE")
    if size == 1 and launched not in (None, "", "1"):
        raise RuntimeError(f"WORLD_SIZE={launched} is set (torchrun?) but MPI started a single "
                           "process: launch with `mpiexec -n N` or `graphtorch run -n N`")
    if world_size not in (-1, size) or rank not in (-1, my_rank):
        raise ValueError(f"init_process_group(world_size={world_size}, rank={rank}) disagrees "
                         f"with the MPI launcher (world size {size}, this rank {my_rank}); "
                         f"launch with `mpiexec -n {world_size} python ...`")
    seconds = _seconds(timeout) if timeout is not None else default_pg_timeout.total_seconds()
    world = ProcessGroup(MPI.COMM_WORLD.Dup(), backend, seconds, 0, list(range(size)),
                         device_id)
    GroupMember.WORLD = GroupNamespace.WORLD = world
    _STATE["groups"] = {0: world}
    graph_ops.COMMUNICATORS[0] = world
    if size > 1:
        _install_abort_on_uncaught(my_rank, size)


def new_group(ranks=None, timeout=None, backend=None, pg_options=None,
              use_local_synchronization: bool = False, group_desc=None, device_id=None,
              sort_ranks: bool = True):
    """A process group of the given global `ranks` (all by default). Every rank of the
    default group must call it, as in PyTorch; ranks outside get ``NON_GROUP_MEMBER``.

    >>> evens = dist.new_group([0, 2])
    """
    world = _world()
    members = list(range(world.size())) if ranks is None else [int(r) for r in ranks]
    if sort_ranks:
        members = sorted(members)
    if len(set(members)) != len(members) or any(not 0 <= r < world.size() for r in members):
        raise ValueError(f"new_group: invalid ranks {members} for world size {world.size()}")
    MPI = _mpi()
    me = world.rank()
    color = 0 if me in members else MPI.UNDEFINED
    comm = world.mpi.comm.Split(color, members.index(me) if me in members else 0)
    group_id = _STATE["next_id"]
    _STATE["next_id"] += 1
    if comm == MPI.COMM_NULL:
        return GroupMember.NON_GROUP_MEMBER
    seconds = world.timeout if timeout is None else _seconds(timeout)
    pg = ProcessGroup(comm, (backend or world.backend).lower(), seconds, group_id, members,
                      device_id)
    _STATE["groups"][group_id] = pg
    graph_ops.COMMUNICATORS[group_id] = pg
    return pg


def destroy_process_group(group=None) -> None:
    """Leave `group` (default: every group, and the default one). MPI itself stays
    initialised (it can start only once per process) and finalises at exit."""
    if group is None or group is GroupMember.WORLD:
        if not is_initialized():
            raise ValueError("Default process group has not been initialized, please make "
                             "sure to call init_process_group.")
        for pg in _STATE["groups"].values():
            _free(pg)
        _STATE["groups"] = {}
        GroupMember.WORLD = GroupNamespace.WORLD = None
        if _STATE["excepthook"] is not None:
            sys.excepthook, _STATE["excepthook"] = _STATE["excepthook"], None
        return
    if group is GroupMember.NON_GROUP_MEMBER:
        return
    _free(_STATE["groups"].pop(group.id, group))


def _free(pg: ProcessGroup) -> None:
    graph_ops.COMMUNICATORS.pop(pg.id, None)
    pg.mpi.free()
    if pg.nccl is not None:
        pg.nccl.free()


def _world() -> ProcessGroup:
    if GroupMember.WORLD is None:
        raise ValueError(graph_ops.NOT_INITIALIZED)
    return GroupMember.WORLD


def resolve(group) -> ProcessGroup | None:
    """The group a collective runs on: the default one for None; None for a rank outside
    `group` (the collective is then a no-op, as in PyTorch)."""
    if group is None or group is GroupMember.WORLD:
        return _world()
    if group is GroupMember.NON_GROUP_MEMBER:
        _world()
        return None
    if not isinstance(group, ProcessGroup):
        raise TypeError(f"group must be a ProcessGroup, got {type(group).__name__}")
    return group


def get_rank(group=None) -> int:
    """This process's rank in `group` (-1 outside it), as in PyTorch."""
    pg = resolve(group)
    return -1 if pg is None else pg.rank()


def get_world_size(group=None) -> int:
    pg = resolve(group)
    return -1 if pg is None else pg.size()


def get_backend(group=None) -> str:
    pg = resolve(group)
    if pg is None:
        raise ValueError("Invalid process group specified")
    return pg.backend


def get_process_group_ranks(group) -> list[int]:
    pg = resolve(group)
    return [] if pg is None else list(pg.global_ranks)


def get_global_rank(group, group_rank: int) -> int:
    pg = resolve(group)
    return pg.global_ranks[group_rank]


def get_group_rank(group, global_rank: int) -> int:
    return resolve(group).group_rank(global_rank)


def _install_abort_on_uncaught(rank: int, size: int) -> None:
    previous = sys.excepthook

    def abort_all_ranks(exc_type, exc, tb):
        text = "".join(traceback.format_exception(exc_type, exc, tb))
        lines = [f"[rank{rank}]: {line}" for line in text.rstrip("\n").splitlines()]
        lines.append(f"[rank{rank}]: graphtorch.distributed: this rank raised "
                     f"{exc_type.__name__}; aborting all {size} ranks (MPI_Abort) so that "
                     "none of them waits for it forever")
        sys.stderr.write("\n".join(lines) + "\n")
        sys.stderr.flush()
        # MPI_Abort makes the launcher kill every rank; give it a moment to forward this
        # rank's output first (it can otherwise be lost with the process)
        time.sleep(ABORT_GRACE_SECONDS)
        _mpi().COMM_WORLD.Abort(1)

    if _STATE["excepthook"] is None:
        _STATE["excepthook"] = previous
    sys.excepthook = abort_all_ranks
