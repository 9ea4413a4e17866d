"""Collectives on tensors, with PyTorch's names, arguments and semantics.

A tensor's own memory is handed to the engine when it is contiguous (NumPy arrays go to
MPI's buffer API, CuPy arrays to NCCL), so eager collectives copy nothing; a non-contiguous
tensor, or a CUDA tensor under the MPI backend, goes through a contiguous staging buffer
written back on completion. ``async_op=True`` returns a `Work`; otherwise the call waits.
Ranks (``src``, ``dst``) are global ranks, ``group_src``/``group_dst`` ranks in the group.

Inside ``gt.compile`` (or ``gt.trace``) ``all_reduce`` and ``broadcast`` record a graph op
(`graphtorch.ops.collectives`), so compiled data-parallel training needs no graph break;
the other collectives raise `TracingError` (a graph break: that call runs eagerly).
"""

from __future__ import annotations

import numpy as np

from ..ops.collectives import ALL_REDUCE, BROADCAST
from ..ops.dispatch import bump_version, call_inplace
from ..trace_state import SymbolicArray, TracingError, current_tracer, user_frame, where
from .process_group import resolve
from .reduce_op import ReduceOp, op_name
from .work import CompletedWork

# --- helpers ---------------------------------------------------------------------------------


def _traced(*tensors) -> bool:
    return current_tracer() is not None or any(type(t._data) is SymbolicArray for t in tensors)


def _not_a_graph_op(name: str):
    raise TracingError(f"{where(user_frame())}: dist.{name} is not a graph op (inside "
                       "gt.compile only all_reduce and broadcast are recorded); this call runs "
                       "eagerly unless fullgraph=True")


def _assign(dst, src) -> None:
    """Copy `src` into `dst` across host/device memory."""
    if type(dst) is np.ndarray and type(src) is not np.ndarray:
        src = src.get()
    dst[...] = src.reshape(dst.shape)


class _Staged:
    """A tensor's memory as an engine buffer: the tensor's own array when it is contiguous
    and in the engine's memory, else a contiguous copy that `write_back` copies back."""

    __slots__ = ("array", "copied", "tensor")

    def __init__(self, tensor, engine):
        data = tensor._data
        self.tensor = tensor
        if engine.xp is np and type(data) is not np.ndarray:
            self.array, self.copied = np.ascontiguousarray(data.get()), True
        elif data.flags.c_contiguous:
            self.array, self.copied = data, False
        else:
            self.array, self.copied = engine.xp.ascontiguousarray(data), True

    def write_back(self) -> None:
        if self.copied:
            _assign(self.tensor._data, self.array)
        bump_version(self.tensor)


def _finish(work, async_op: bool, result: list):
    work._result = result
    if async_op:
        return work
    work.wait()
    return None


def _group_rank(pg, global_rank, group_rank, default=None) -> int:
    if global_rank is not None and group_rank is not None:
        raise ValueError("Can't specify both global_rank and group_rank")
    if group_rank is not None:
        if not 0 <= group_rank < pg.size():
            raise ValueError(f"group rank {group_rank} is out of range for a group of size "
                             f"{pg.size()}")
        return int(group_rank)
    if global_rank is None:
        if default is None:
            raise ValueError("Must specify global_rank or group_rank")
        return default
    return pg.group_rank(int(global_rank))


def _check_list(name: str, tensors, like, size: int, what: str) -> None:
    if len(tensors) != size:
        raise RuntimeError(f"{name}: invalid {what} list (expected length {size}, got "
                           f"{len(tensors)})")
    for i, t in enumerate(tensors):
        if tuple(t.shape) != tuple(like.shape) or t.dtype is not like.dtype:
            raise RuntimeError(f"{name}: invalid tensor at index {i} (expected "
                               f"{tuple(like.shape)} {like.dtype}, got {tuple(t.shape)} "
                               f"{t.dtype})")


def _scatter_into(tensors, parts):
    def write():
        for t, part in zip(tensors, parts):
            _assign(t._data, part)
            bump_version(t)
    return write


# --- reductions ------------------------------------------------------------------------------


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op: bool = False):
    """Reduce `tensor` over every rank of `group`, in place on every rank.

    >>> t = gt.tensor([float(dist.get_rank() + 1)])
    >>> dist.all_reduce(t)            # 2 ranks: t == tensor([3.]) on both
    """
    name = op_name(op)
    pg = resolve(group)
    if pg is None:
        return None
    if _traced(tensor):
        call_inplace(ALL_REDUCE, tensor, reduce_op=name, group=pg.id)
        return CompletedWork("all_reduce", [tensor]) if async_op else None
    engine = pg.engine_for(tensor._data)
    staged = _Staged(tensor, engine)
    return _finish(engine.all_reduce(staged.array, name).then(staged.write_back), async_op,
                   [tensor])


def reduce(tensor, dst=None, op=ReduceOp.SUM, group=None, async_op: bool = False,
           group_dst=None):
    """Reduce `tensor` over the ranks of `group` into rank `dst`'s `tensor`."""
    name = op_name(op)
    pg = resolve(group)
    if pg is None:
        return None
    if _traced(tensor):
        _not_a_graph_op("reduce")
    root = _group_rank(pg, dst, group_dst)
    engine = pg.engine_for(tensor._data)
    staged = _Staged(tensor, engine)
    work = engine.reduce(staged.array, root, name)
    if pg.rank() == root:
        work.then(staged.write_back)
    return _finish(work, async_op, [tensor])


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op: bool = False):
    """Reduce `input` (world_size blocks) over the ranks; rank i gets block i in `output`."""
    name = op_name(op)
    pg = resolve(group)
    if pg is None:
        return None
    if _traced(output, input):
        _not_a_graph_op("reduce_scatter_tensor")
    if input.numel() != pg.size() * output.numel() or input.dtype is not output.dtype:
        raise RuntimeError(f"reduce_scatter_tensor: input tensor must be world_size "
                           f"({pg.size()}) times the output tensor's size, same dtype; got "
                           f"{tuple(input.shape)} {input.dtype} and {tuple(output.shape)} "
                           f"{output.dtype}")
    engine = pg.engine_for(input._data)
    send, recv = _Staged(input, engine), _Staged(output, engine)
    work = engine.reduce_scatter(send.array, recv.array, name).then(recv.write_back)
    return _finish(work, async_op, [output])


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None, async_op: bool = False):
    """Reduce the list `input_list` (one tensor per rank) over the ranks; rank i gets the
    reduction of everyone's ``input_list[i]`` in `output`."""
    name = op_name(op)
    pg = resolve(group)
    if pg is None:
        return None
    if _traced(output, *input_list):
        _not_a_graph_op("reduce_scatter")
    _check_list("reduce_scatter", input_list, output, pg.size(), "input")
    engine = pg.engine_for(output._data)
    send = engine.xp.stack([_Staged(t, engine).array for t in input_list])
    recv = _Staged(output, engine)
    work = engine.reduce_scatter(send, recv.array, name).then(recv.write_back)
    return _finish(work, async_op, [output])


# --- data movement ---------------------------------------------------------------------------


def broadcast(tensor, src=None, group=None, async_op: bool = False, group_src=None):
    """Copy rank `src`'s `tensor` into `tensor` on every rank of `group`.

    >>> dist.broadcast(weights, src=0)
    """
    pg = resolve(group)
    if pg is None:
        return None
    root = _group_rank(pg, src, group_src)
    if _traced(tensor):
        call_inplace(BROADCAST, tensor, src=root, group=pg.id)
        return CompletedWork("broadcast", [tensor]) if async_op else None
    engine = pg.engine_for(tensor._data)
    staged = _Staged(tensor, engine)
    work = engine.broadcast(staged.array, root)
    if pg.rank() != root:
        work.then(staged.write_back)
    return _finish(work, async_op, [tensor])


def all_gather(tensor_list, tensor, group=None, async_op: bool = False):
    """Fill `tensor_list` (one tensor per rank) with every rank's `tensor`."""
    pg = resolve(group)
    if pg is None:
        return None
    if _traced(tensor, *tensor_list):
        _not_a_graph_op("all_gather")
    _check_list("all_gather", tensor_list, tensor, pg.size(), "output tensor")
    engine = pg.engine_for(tensor._data)
    send = _Staged(tensor, engine)
    recv = engine.xp.empty((pg.size(),) + send.array.shape, send.array.dtype)
    work = engine.all_gather(send.array, recv).then(_scatter_into(tensor_list, recv))
    return _finish(work, async_op, list(tensor_list))


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op: bool = False):
    """Every rank's `input_tensor`, concatenated (or stacked) in rank order, in
    `output_tensor` of world_size times its size."""
    pg = resolve(group)
    if pg is None:
        return None
    if _traced(output_tensor, input_tensor):
        _not_a_graph_op("all_gather_into_tensor")
    if output_tensor.numel() != pg.size() * input_tensor.numel() or \
            output_tensor.dtype is not input_tensor.dtype:
        raise RuntimeError(f"all_gather_into_tensor: output tensor must be world_size "
                           f"({pg.size()}) times the input tensor's size, same dtype; got "
                           f"{tuple(output_tensor.shape)} {output_tensor.dtype} and "
                           f"{tuple(input_tensor.shape)} {input_tensor.dtype}")
    engine = pg.engine_for(input_tensor._data)
    send, recv = _Staged(input_tensor, engine), _Staged(output_tensor, engine)
    work = engine.all_gather(send.array, recv.array).then(recv.write_back)
    return _finish(work, async_op, [output_tensor])


def gather(tensor, gather_list=None, dst=None, group=None, async_op: bool = False,
           group_dst=None):
    """Collect every rank's `tensor` into `gather_list` on rank `dst` (default 0)."""
    pg = resolve(group)
    if pg is None:
        return None
    if _traced(tensor):
        _not_a_graph_op("gather")
    root = _group_rank(pg, dst, group_dst, default=0)
    engine = pg.engine_for(tensor._data)
    send, recv = _Staged(tensor, engine), None
    if pg.rank() == root:
        if not gather_list:
            raise ValueError("Argument ``gather_list`` must be specified on destination rank.")
        _check_list("gather", gather_list, tensor, pg.size(), "output")
        recv = engine.xp.empty((pg.size(),) + send.array.shape, send.array.dtype)
    elif gather_list:
        raise ValueError("Argument ``gather_list`` must NOT be specified on non-destination "
                         "ranks.")
    work = engine.gather(send.array, recv, root)
    if recv is not None:
        work.then(_scatter_into(gather_list, recv))
    return _finish(work, async_op, list(gather_list or []))


def scatter(tensor, scatter_list=None, src=None, group=None, async_op: bool = False,
            group_src=None):
    """Rank `src` (default 0) sends ``scatter_list[i]`` to rank i's `tensor`."""
    pg = resolve(group)
    if pg is None:
        return None
    if _traced(tensor):
        _not_a_graph_op("scatter")
    root = _group_rank(pg, src, group_src, default=0)
    engine = pg.engine_for(tensor._data)
    send = None
    if pg.rank() == root:
        if not scatter_list:
            raise ValueError("Argument ``scatter_list`` must be specified on source rank.")
        _check_list("scatter", scatter_list, tensor, pg.size(), "input")
        send = engine.xp.stack([_Staged(t, engine).array for t in scatter_list])
    elif scatter_list:
        raise ValueError("Argument ``scatter_list`` must NOT be specified on non-source ranks.")
    recv = _Staged(tensor, engine)
    work = engine.scatter(send, recv.array, root).then(recv.write_back)
    return _finish(work, async_op, [tensor])


def all_to_all_single(output, input, output_split_sizes=None, input_split_sizes=None,
                      group=None, async_op: bool = False):
    """Split `input` along dim 0 and send piece i to rank i; `output` receives the pieces in
    rank order (equal pieces unless split sizes are given)."""
    pg = resolve(group)
    if pg is None:
        return None
    if _traced(output, input):
        _not_a_graph_op("all_to_all_single")
    n = pg.size()
    if output_split_sizes is None and input_split_sizes is None:
        if input.shape[0] % n or output.shape[0] % n:
            raise ValueError(f"all_to_all_single: dim 0 of input ({input.shape[0]}) and "
                             f"output ({output.shape[0]}) must divide by world size {n}")
        send_counts = recv_counts = None
    else:
        row_in = input.numel() // max(input.shape[0], 1)
        row_out = output.numel() // max(output.shape[0], 1)
        send_counts = [s * row_in for s in (input_split_sizes or [input.shape[0] // n] * n)]
        recv_counts = [s * row_out for s in (output_split_sizes or [output.shape[0] // n] * n)]
    engine = pg.engine_for(input._data)
    send, recv = _Staged(input, engine), _Staged(output, engine)
    work = engine.all_to_all(send.array, recv.array, send_counts, recv_counts)
    return _finish(work.then(recv.write_back), async_op, [output])


# --- point to point --------------------------------------------------------------------------


def isend(tensor, dst=None, group=None, tag: int = 0, group_dst=None):
    """Start sending `tensor` to rank `dst`; returns a `Work`."""
    pg = resolve(group)
    if pg is None:
        return None
    if _traced(tensor):
        _not_a_graph_op("isend")
    peer = _group_rank(pg, dst, group_dst)
    if peer == pg.rank():
        raise ValueError("Invalid destination rank: destination rank should not be the same "
                         "as the rank of the current process.")
    engine = pg.engine_for(tensor._data)
    return engine.send(_Staged(tensor, engine).array, peer, tag)


def irecv(tensor, src=None, group=None, tag: int = 0, group_src=None):
    """Start receiving into `tensor` from rank `src` (any rank when None); returns a
    `Work` whose ``source_rank()`` is the sender's group rank."""
    pg = resolve(group)
    if pg is None:
        return None
    if _traced(tensor):
        _not_a_graph_op("irecv")
    peer = None if src is None and group_src is None else _group_rank(pg, src, group_src)
    if peer is not None and peer == pg.rank():
        raise ValueError("Invalid source rank: source rank should not be the same as the rank "
                         "of the current process.")
    engine = pg.engine_for(tensor._data)
    staged = _Staged(tensor, engine)
    return engine.recv(staged.array, peer, tag).then(staged.write_back)


def send(tensor, dst=None, group=None, tag: int = 0, group_dst=None) -> None:
    """Send `tensor` to rank `dst` (blocks until the send buffer may be reused)."""
    work = isend(tensor, dst, group, tag, group_dst)
    if work is not None:
        work.wait()


def recv(tensor, src=None, group=None, tag: int = 0, group_src=None) -> int:
    """Receive into `tensor` from rank `src` (any rank when None); returns the sender's
    global rank (-1 outside `group`)."""
    pg = resolve(group)
    work = irecv(tensor, src, group, tag, group_src)
    if work is None:
        return -1
    work.wait()
    return pg.global_ranks[work.source_rank()]


def barrier(group=None, async_op: bool = False, device_ids=None, timeout=None):
    """Wait until every rank of `group` has reached this barrier."""
    pg = resolve(group)
    if pg is None:
        return None
    if pg.nccl is not None:  # earlier GPU collectives finish first, as PyTorch's NCCL barrier
        pg.nccl.xp.cuda.get_current_stream().synchronize()
    work = pg.mpi.barrier()
    if async_op:
        return work
    work.wait(timeout)
    return None
