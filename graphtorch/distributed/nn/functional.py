"""Differentiable collectives that return new tensors (``torch.distributed.nn.functional``).

Each is the registry op itself (`graphtorch.ops.collectives`), so its gradient is the op's
vjp rule - PyTorch's rules: all_reduce's gradient is all-reduced with the same op;
broadcast's is the sum of every rank's gradient on the source and zero elsewhere - and it
traces into compiled graphs as one node.
"""

from __future__ import annotations

from ...ops.collectives import ALL_REDUCE, BROADCAST
from ...ops.dispatch import call
from ..collectives import _group_rank
from ..process_group import resolve
from ..reduce_op import ReduceOp, op_name


def all_reduce(tensor, op=ReduceOp.SUM, group=None):
    """A new tensor: `tensor` reduced over the ranks of `group`; differentiable.

    >>> y = dist.nn.functional.all_reduce(x)      # y.sum().backward() all-reduces x.grad
    """
    return call(ALL_REDUCE, tensor, reduce_op=op_name(op), group=resolve(group).id)


def broadcast(tensor, src: int, group=None):
    """A new tensor: rank `src`'s `tensor` on every rank; differentiable."""
    pg = resolve(group)
    return call(BROADCAST, tensor, src=_group_rank(pg, src, None), group=pg.id)
