"""Collective communication as graph ops: ``all_reduce`` and ``broadcast``.

Each is one OpDef with ``side_effects=True``: every rank must run the same collectives in the
same order, so passes keep these nodes, in order, even where nothing reads their output, and
never merge, cache or fold them. Kernels talk to a communicator looked up by group id in
`COMMUNICATORS`, which `graphtorch.distributed` fills at ``init_process_group`` (this layer
knows only the small array-level protocol: ``rank()``, ``all_reduce_copy(array,
op)`` and ``broadcast_copy(array, src)``, each returning a new array). Eager
``dist.all_reduce`` on concrete tensors bypasses these ops and hands the tensor's own
buffer to MPI; inside ``gt.compile`` the collective is recorded as one of these nodes.
"""

from __future__ import annotations

from .dispatch import call
from .grad_utils import zeros_for
from .registry import Category, OpDef, TensorMeta, register

# group id -> communicator; 0 is the default (WORLD) group.
COMMUNICATORS: dict[int, object] = {}

REDUCE_OPS = ("sum", "avg", "product", "min", "max", "band", "bor", "bxor")

NOT_INITIALIZED = ("Default process group has not been initialized, please make sure to call "
                   "init_process_group.")


def communicator(group: int):
    """The communicator of process group `group` (raises PyTorch's error before init)."""
    comm = COMMUNICATORS.get(group)
    if comm is None:
        if group == 0:
            raise ValueError(NOT_INITIALIZED)
        raise ValueError(f"process group {group} does not exist (destroyed?)")
    return comm


def _same_meta(x: TensorMeta, **attrs) -> TensorMeta:
    op = attrs.get("reduce_op")
    if op is not None and op not in REDUCE_OPS:
        raise ValueError(f"unknown reduce op {op!r}; expected one of {', '.join(REDUCE_OPS)}")
    return TensorMeta(tuple(x.shape), x.dtype, x.device)


def _all_reduce_kernel(xp, x, reduce_op: str = "sum", group: int = 0):
    return communicator(group).all_reduce_copy(x, reduce_op)


def _all_reduce_vjp(ctx, grad_out):
    # PyTorch's torch.distributed.nn.functional.all_reduce: the gradient is all-reduced
    # with the same op (exact for SUM and AVG).

    return (call(ALL_REDUCE, grad_out, **ctx.attrs),)


ALL_REDUCE = register(OpDef(
    "all_reduce", Category.OPAQUE, _all_reduce_kernel, _same_meta, vjp=_all_reduce_vjp,
    side_effects=True, backward_name="AllReduceBackward",
    doc="reduce a tensor over every rank of a process group (gt.distributed)"))


def _broadcast_kernel(xp, x, src: int = 0, group: int = 0):
    return communicator(group).broadcast_copy(x, src)


def _broadcast_vjp(ctx, grad_out):
    # PyTorch's rule: the source receives the sum of every rank's gradient, others zero.

    group = ctx.attrs.get("group", 0)
    total = call(ALL_REDUCE, grad_out, reduce_op="sum", group=group)
    if communicator(group).rank() != ctx.attrs.get("src", 0):
        return (zeros_for(ctx.input_metas[0], like=grad_out),)
    return (total,)


BROADCAST = register(OpDef(
    "broadcast", Category.OPAQUE, _broadcast_kernel, _same_meta, vjp=_broadcast_vjp,
    side_effects=True, backward_name="BroadcastBackward",
    doc="copy a tensor from one rank to every rank of a process group (gt.distributed)"))
