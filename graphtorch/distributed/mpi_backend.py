"""The MPI engine: collectives on contiguous host arrays, through mpi4py's buffer API.

Every method starts a non-blocking MPI operation (``Iallreduce``, ``Ibcast``, ...) on the
arrays it is given - no copies: MPI reads and writes their memory - and returns a `Work`.
Reductions MPI lacks are finished on completion: AVG is a SUM divided by the group size,
and bool tensors reduce with MPI's logical ops (SUM and MAX are OR, PRODUCT and MIN are
AND, as PyTorch's NCCL backend maps them).
"""

from __future__ import annotations

import numpy as np

from .work import Work

_MPI_OPS = {"sum": "SUM", "avg": "SUM", "product": "PROD", "min": "MIN", "max": "MAX",
            "band": "BAND", "bor": "BOR", "bxor": "BXOR"}
_BOOL_OPS = {"sum": "LOR", "max": "LOR", "bor": "LOR", "product": "LAND", "min": "LAND",
             "band": "LAND", "bxor": "LXOR"}


def check_reduction(op: str, dtype, what: str) -> None:
    """Raise for a reduction the dtype does not have (before any rank starts it)."""
    dtype = np.dtype(dtype)
    if dtype == np.bool_ and op == "avg":
        raise RuntimeError(f"{what}: cannot use ReduceOp.AVG with boolean inputs")
    if dtype.kind == "c" and op not in ("sum", "avg", "product"):
        raise RuntimeError(f"{what}: ReduceOp.{op.upper()} is not defined for complex tensors")
    if dtype.kind in "fc" and op in ("band", "bor", "bxor"):
        raise RuntimeError(f"{what}: ReduceOp.{op.upper()} needs integer or bool tensors, got "
                           f"{dtype}")


def divide_in_place(xp, array, size: int) -> None:
    """AVG's last step; integer tensors truncate toward zero, as NCCL's ncclAvg does."""
    if array.dtype.kind in "iu":
        array[...] = (array / size).astype(array.dtype)
    else:
        xp.divide(array, size, out=array)


class MPICommunicator:
    """Collectives over one MPI communicator (see the module docstring)."""

    xp = np  # where buffers of this engine live

    def __init__(self, comm, timeout: float):
        from mpi4py import MPI  # an optional dependency: imported when a group is created

        self.MPI = MPI
        self.comm = comm
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
        self.timeout = timeout

    def _work(self, request, what: str, keep: tuple) -> Work:
        return Work([request], what, self.timeout, self.rank, keep=keep)

    def _op(self, op: str, dtype, what: str):
        check_reduction(op, dtype, what)
        names = _BOOL_OPS if np.dtype(dtype) == np.bool_ else _MPI_OPS
        return getattr(self.MPI, names[op])

    def _averaged(self, work: Work, array, op: str) -> Work:
        if op == "avg":
            work.then(lambda: divide_in_place(np, array, self.size))
        return work

    def all_reduce(self, array, op: str) -> Work:
        mpi_op = self._op(op, array.dtype, "all_reduce")
        request = self.comm.Iallreduce(self.MPI.IN_PLACE, array, mpi_op)
        return self._averaged(self._work(request, "all_reduce", (array,)), array, op)

    def reduce(self, array, root: int, op: str) -> Work:
        mpi_op = self._op(op, array.dtype, "reduce")
        if self.rank == root:
            request = self.comm.Ireduce(self.MPI.IN_PLACE, array, mpi_op, root)
            return self._averaged(self._work(request, "reduce", (array,)), array, op)
        return self._work(self.comm.Ireduce(array, None, mpi_op, root), "reduce", (array,))

    def broadcast(self, array, root: int) -> Work:
        return self._work(self.comm.Ibcast(array, root), "broadcast", (array,))

    def all_gather(self, send, recv) -> Work:
        return self._work(self.comm.Iallgather(send, recv), "all_gather", (send, recv))

    def reduce_scatter(self, send, recv, op: str) -> Work:
        mpi_op = self._op(op, send.dtype, "reduce_scatter")
        request = self.comm.Ireduce_scatter_block(send, recv, mpi_op)
        return self._averaged(self._work(request, "reduce_scatter", (send, recv)), recv, op)

    def gather(self, send, recv, root: int) -> Work:
        return self._work(self.comm.Igather(send, recv, root), "gather", (send, recv))

    def scatter(self, send, recv, root: int) -> Work:
        return self._work(self.comm.Iscatter(send, recv, root), "scatter", (send, recv))

    def all_to_all(self, send, recv, send_counts=None, recv_counts=None) -> Work:
        """Even blocks when the counts (elements per rank) are None, else ``Ialltoallv``."""
        if send_counts is None and recv_counts is None:
            request = self.comm.Ialltoall(send, recv)
        else:
            request = self.comm.Ialltoallv([send, _counts_and_offsets(send_counts)],
                                           [recv, _counts_and_offsets(recv_counts)])
        return self._work(request, "all_to_all", (send, recv))

    def send(self, array, dst: int, tag: int) -> Work:
        return self._work(self.comm.Isend(array, dst, tag), f"send to rank {dst}", (array,))

    def recv(self, array, src: int | None, tag: int) -> Work:
        source = self.MPI.ANY_SOURCE if src is None else src
        work = self._work(self.comm.Irecv(array, source, tag),
                          "recv" if src is None else f"recv from rank {src}", (array,))
        work._statuses = [self.MPI.Status()]
        return work

    def barrier(self) -> Work:
        return self._work(self.comm.Ibarrier(), "barrier", ())

    def free(self) -> None:
        if self.comm != self.MPI.COMM_NULL:
            self.comm.Free()


def _counts_and_offsets(counts) -> tuple:
    counts = [int(c) for c in counts]
    return counts, [int(x) for x in np.cumsum([0] + counts[:-1])]
