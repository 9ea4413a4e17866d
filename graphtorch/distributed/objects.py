"""Collectives on picklable Python objects (``all_gather_object`` and friends).

They go through mpi4py's pickle-based lower-case calls (``allgather``, ``bcast``,
``gather``), between ranks of one job only; they block without the tensors' timeout.
"""

from __future__ import annotations

from .collectives import _group_rank
from .process_group import resolve


def all_gather_object(object_list: list, obj, group=None) -> None:
    """Fill `object_list` (world-size long) with every rank's `obj`.

    >>> out = [None] * dist.get_world_size()
    >>> dist.all_gather_object(out, {"loss": 0.25})
    """
    pg = resolve(group)
    if pg is None:
        return
    gathered = pg.mpi.comm.allgather(obj)
    if len(object_list) != len(gathered):
        raise RuntimeError(f"all_gather_object: object_list has {len(object_list)} entries, "
                           f"expected {len(gathered)} (the world size)")
    object_list[:] = gathered


def broadcast_object_list(object_list: list, src=None, group=None, device=None,
                          group_src=None) -> None:
    """Replace `object_list`'s items with rank `src`'s, on every rank."""
    pg = resolve(group)
    if pg is None:
        return
    root = _group_rank(pg, src, group_src)
    items = pg.mpi.comm.bcast(list(object_list) if pg.rank() == root else None, root)
    object_list[:] = items


def gather_object(obj, object_gather_list=None, dst=None, group=None, group_dst=None) -> None:
    """Collect every rank's `obj` into `object_gather_list` on rank `dst` (default 0)."""
    pg = resolve(group)
    if pg is None:
        return
    root = _group_rank(pg, dst, group_dst, default=0)
    if pg.rank() == root and object_gather_list is None:
        raise ValueError("Argument ``object_gather_list`` must be specified on destination "
                         "rank.")
    gathered = pg.mpi.comm.gather(obj, root)
    if pg.rank() == root:
        object_gather_list[:] = gathered
