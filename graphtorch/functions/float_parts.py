"""`gt.frexp` (and `Tensor.frexp`): split floats into mantissa and exponent (op `frexp`,
ops/float_parts.py). `gt.ldexp` (functions/math_extra.py) puts them back together.

>>> import graphtorch as gt
>>> mantissa, exponent = gt.frexp(gt.tensor([8.0, 0.75]))
>>> mantissa.tolist(), exponent.tolist()
([0.5, 0.75], [4, 0])
"""

from __future__ import annotations

from ..ops.dispatch import call, write_out
from ..ops.float_parts import FREXP
from ._wrap import check_tensor
from .reduce import return_types

__all__ = ["frexp"]


def frexp(input, *, out=None):
    """(mantissa, exponent) with input = mantissa * 2 ** exponent, |mantissa| in [0.5, 1)
    (0 for zero); the exponent is int32. Returns torch.return_types.frexp."""
    check_tensor(input, "frexp")
    values = call(FREXP, input)
    if out is not None:
        values = tuple(write_out(o, v) for o, v in zip(out, values))
    return return_types.get("frexp", ("mantissa", "exponent"))(*values)
