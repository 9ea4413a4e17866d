"""Op-table rows: collective communication ops in a world of one rank.

The test process joins a one-rank process group on both sides (graphtorch: MPI started
without a launcher; PyTorch: gloo on an in-memory store), so each collective is the
identity, and its vjp is checked against ``torch.distributed.nn.functional``'s. Every rank
count above one runs in tests/distributed under mpiexec.
"""

from __future__ import annotations

import warnings

from .harness import Row


def _world(lib):
    """`lib.distributed`, with the one-rank default group initialised once."""
    dist = lib.distributed
    if not dist.is_initialized():
        if lib.__name__ == "torch":
            dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
        else:
            dist.init_process_group("mpi")
    return dist


def _functional(lib, name):
    import importlib

    importlib.import_module(f"{lib.__name__}.distributed.nn")
    return getattr(_world(lib).nn.functional, name)


def _all_reduce(lib, x, op="SUM"):
    with warnings.catch_warnings():  # torch deprecates its functional collectives
        warnings.simplefilter("ignore", FutureWarning)
        return _functional(lib, "all_reduce")(x, op=getattr(lib.distributed.ReduceOp, op))


def _broadcast(lib, x):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return _functional(lib, "broadcast")(x, 0)


ROWS = [
    Row("all_reduce", _all_reduce, [((3, 4),), ((),), ((0, 2),)],
        dtypes=("float32", "float64")),
    Row("all_reduce", lambda lib, x: _all_reduce(lib, x, "MAX"), [((5,),)],
        dtypes=("float32", "int64"), name="all_reduce_max"),
    Row("broadcast", _broadcast, [((2, 3),), ((),)], dtypes=("float32", "float64")),
]
