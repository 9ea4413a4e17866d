"""`ReduceOp`: how a collective combines the ranks' values (PyTorch's names and numbers).

The graph ops and the communicators name reductions by their lower-case name ("sum",
"avg", ...), so `op_name` is the one place that translates a user's argument.
"""

from __future__ import annotations

import enum


class ReduceOp:
    """Reductions of ``all_reduce``, ``reduce`` and ``reduce_scatter_tensor``.

    >>> dist.all_reduce(t, op=dist.ReduceOp.MAX)
    """

    class RedOpType(enum.IntEnum):
        SUM = 0
        AVG = 1
        PRODUCT = 2
        MIN = 3
        MAX = 4
        BAND = 5
        BOR = 6
        BXOR = 7
        PREMUL_SUM = 8
        UNUSED = 9

    SUM = RedOpType.SUM
    AVG = RedOpType.AVG
    PRODUCT = RedOpType.PRODUCT
    MIN = RedOpType.MIN
    MAX = RedOpType.MAX
    BAND = RedOpType.BAND
    BOR = RedOpType.BOR
    BXOR = RedOpType.BXOR
    PREMUL_SUM = RedOpType.PREMUL_SUM
    UNUSED = RedOpType.UNUSED


_SUPPORTED = {ReduceOp.SUM: "sum", ReduceOp.AVG: "avg", ReduceOp.PRODUCT: "product",
              ReduceOp.MIN: "min", ReduceOp.MAX: "max", ReduceOp.BAND: "band",
              ReduceOp.BOR: "bor", ReduceOp.BXOR: "bxor"}


def op_name(op) -> str:
    """The lower-case name ("sum", "avg", ...) of a `ReduceOp` member (or of its name)."""
    if isinstance(op, str) and op.upper() in ReduceOp.RedOpType.__members__:
        op = ReduceOp.RedOpType[op.upper()]
    try:
        return _SUPPORTED[op]
    except (KeyError, TypeError):
        raise ValueError(f"unsupported reduce op {op!r}: graphtorch.distributed supports "
                         "ReduceOp.SUM, AVG, PRODUCT, MIN, MAX, BAND, BOR and BXOR") from None
