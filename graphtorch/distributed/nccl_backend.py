"""The NCCL engine for CUDA tensors, through CuPy's bindings (``cupy.cuda.nccl``).

Same methods as `MPICommunicator`, on contiguous CuPy arrays of this rank's GPU. Every call
is queued on the current CUDA stream, so later GPU work sees its result without a host
wait, and the returned `CudaWork` is complete as far as the host is concerned (PyTorch's
NCCL semantics: ``wait()`` orders streams, it does not block the CPU). MPI bootstraps the
communicator (rank 0's NCCL id is broadcast over MPI) and picks each rank's GPU by its rank
on the node. Not exercised by the test suite without a GPU (see tests/distributed).
"""

from __future__ import annotations

from .mpi_backend import check_reduction, divide_in_place
from .work import CompletedWork

_DTYPES = {"b": "NCCL_INT8", "B": "NCCL_UINT8", "?": "NCCL_UINT8", "i": "NCCL_INT32",
           "I": "NCCL_UINT32", "l": "NCCL_INT64", "L": "NCCL_UINT64", "q": "NCCL_INT64",
           "Q": "NCCL_UINT64", "e": "NCCL_FLOAT16", "f": "NCCL_FLOAT32", "d": "NCCL_FLOAT64",
           "F": "NCCL_FLOAT32", "D": "NCCL_FLOAT64"}  # complex: pairs of reals
_OPS = {"sum": "NCCL_SUM", "avg": "NCCL_SUM", "product": "NCCL_PROD", "min": "NCCL_MIN",
        "max": "NCCL_MAX"}
_BOOL_OPS = {"sum": "NCCL_MAX", "max": "NCCL_MAX", "bor": "NCCL_MAX", "product": "NCCL_MIN",
             "min": "NCCL_MIN", "band": "NCCL_MIN"}  # bool as uint8: OR is max, AND is min


class CudaWork(CompletedWork):
    """NCCL work queued on a stream: ``wait()`` makes the current stream wait for it."""

    def __init__(self, what: str, stream, result=None, source=None):
        super().__init__(what, result, source)
        self._stream = stream
        self._event = stream.record()

    def wait(self, timeout=None) -> bool:
        import cupy

        current = cupy.cuda.get_current_stream()
        if current.ptr != self._stream.ptr:
            current.wait_event(self._event)
        return True

    def is_completed(self) -> bool:
        return self._event.done

    def synchronize(self) -> None:
        self._event.synchronize()


class NCCLCommunicator:
    """Collectives over an NCCL communicator spanning the ranks of an MPI communicator."""

    def __init__(self, mpi_comm, timeout: float, device_id=None):
        import cupy
        from cupy.cuda import nccl
        from mpi4py import MPI

        if not nccl.available:
            raise RuntimeError("backend='nccl': this CuPy build has no NCCL; install the "
                               "cupy-cuda12x wheel with NCCL, or use backend='mpi'")
        self.xp, self.nccl = cupy, nccl
        self.rank, self.size, self.timeout = mpi_comm.Get_rank(), mpi_comm.Get_size(), timeout
        if device_id is None:
            node = mpi_comm.Split_type(MPI.COMM_TYPE_SHARED)
            device_id = node.Get_rank() % cupy.cuda.runtime.getDeviceCount()
            node.Free()
        self.device = int(getattr(device_id, "index", device_id) or 0)
        cupy.cuda.Device(self.device).use()
        uid = nccl.get_unique_id() if self.rank == 0 else None
        uid = mpi_comm.bcast(uid, root=0)
        self.comm = nccl.NcclCommunicator(self.size, uid, self.rank)

    # --- helpers ---------------------------------------------------------------------------

    def _stream(self):
        stream = self.xp.cuda.get_current_stream()
        capturing = getattr(stream, "is_capturing", None)
        if capturing is not None and capturing():
            # each rank would replay the collective on its own schedule: run it normally
            raise RuntimeError("NCCL collectives are not captured into CUDA graphs")
        return stream

    def _type(self, array):
        name = _DTYPES.get(array.dtype.char)
        if name is None:
            raise TypeError(f"NCCL has no type for {array.dtype}")
        if array.device.id != self.device:
            raise RuntimeError(f"tensor on cuda:{array.device.id}, but this rank's NCCL "
                               f"communicator uses cuda:{self.device}")
        count = array.size * (2 if array.dtype.kind == "c" else 1)
        return getattr(self.nccl, name), count

    def _op(self, op: str, array, what: str):
        check_reduction(op, array.dtype, what)
        if array.dtype.kind == "c" and op == "product":
            raise RuntimeError(f"{what}: NCCL cannot multiply complex tensors")
        table = _BOOL_OPS if array.dtype.char == "?" else _OPS
        if op not in table:
            raise RuntimeError(f"{what}: NCCL has no ReduceOp.{op.upper()}")
        return getattr(self.nccl, table[op])

    def _done(self, what, stream, array=None, op=None) -> CudaWork:
        if op == "avg":  # queued on the same stream, after the sum
            divide_in_place(self.xp, array, self.size)
        return CudaWork(what, stream)

    # --- collectives -----------------------------------------------------------------------

    def all_reduce(self, array, op: str) -> CudaWork:
        stream, (dtype, count) = self._stream(), self._type(array)
        self.comm.allReduce(array.data.ptr, array.data.ptr, count, dtype,
                            self._op(op, array, "all_reduce"), stream.ptr)
        return self._done("all_reduce", stream, array, op)

    def reduce(self, array, root: int, op: str) -> CudaWork:
        stream, (dtype, count) = self._stream(), self._type(array)
        self.comm.reduce(array.data.ptr, array.data.ptr, count, dtype,
                         self._op(op, array, "reduce"), root, stream.ptr)
        return self._done("reduce", stream, array, op if self.rank == root else None)

    def broadcast(self, array, root: int) -> CudaWork:
        stream, (dtype, count) = self._stream(), self._type(array)
        self.comm.broadcast(array.data.ptr, array.data.ptr, count, dtype, root, stream.ptr)
        return CudaWork("broadcast", stream)

    def all_gather(self, send, recv) -> CudaWork:
        stream, (dtype, count) = self._stream(), self._type(send)
        self.comm.allGather(send.data.ptr, recv.data.ptr, count, dtype, stream.ptr)
        return CudaWork("all_gather", stream)

    def reduce_scatter(self, send, recv, op: str) -> CudaWork:
        stream, (dtype, count) = self._stream(), self._type(recv)
        self.comm.reduceScatter(send.data.ptr, recv.data.ptr, count, dtype,
                                self._op(op, send, "reduce_scatter"), stream.ptr)
        return self._done("reduce_scatter", stream, recv, op)

    def _exchange(self, what, pairs) -> CudaWork:
        """Point-to-point transfers in one NCCL group: (kind, array, peer) entries."""
        stream = self._stream()
        self.nccl.groupStart()
        try:
            for kind, array, peer in pairs:
                dtype, count = self._type(array)
                if kind == "send":
                    self.comm.send(array.data.ptr, count, dtype, peer, stream.ptr)
                else:
                    self.comm.recv(array.data.ptr, count, dtype, peer, stream.ptr)
        finally:
            self.nccl.groupEnd()
        return CudaWork(what, stream)

    def gather(self, send, recv, root: int) -> CudaWork:
        if self.rank != root:
            return self._exchange("gather", [("send", send, root)])
        recv[root][...] = send
        return self._exchange("gather", [("recv", recv[r], r) for r in range(self.size)
                                         if r != root])

    def scatter(self, send, recv, root: int) -> CudaWork:
        if self.rank != root:
            return self._exchange("scatter", [("recv", recv, root)])
        recv[...] = send[root]
        return self._exchange("scatter", [("send", send[r], r) for r in range(self.size)
                                          if r != root])

    def all_to_all(self, send, recv, send_counts=None, recv_counts=None) -> CudaWork:
        flat_send, flat_recv = send.reshape(-1), recv.reshape(-1)
        if send_counts is None:
            send_counts = [flat_send.size // self.size] * self.size
            recv_counts = [flat_recv.size // self.size] * self.size
        pairs, s, r = [], 0, 0
        for peer in range(self.size):
            pairs.append(("send", flat_send[s:s + send_counts[peer]], peer))
            pairs.append(("recv", flat_recv[r:r + recv_counts[peer]], peer))
            s, r = s + send_counts[peer], r + recv_counts[peer]
        return self._exchange("all_to_all", pairs)

    def send(self, array, dst: int, tag: int) -> CudaWork:
        return self._exchange(f"send to rank {dst}", [("send", array, dst)])

    def recv(self, array, src: int | None, tag: int) -> CudaWork:
        if src is None:
            raise RuntimeError("NCCL cannot receive from any source: pass recv(..., src=rank)")
        work = self._exchange(f"recv from rank {src}", [("recv", array, src)])
        work._source = src
        return work

    def free(self) -> None:
        self.comm.destroy()
