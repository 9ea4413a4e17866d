"""Random primitives: ops that draw from graphtorch's generator when they run.

They take no tensor inputs; their attributes give the shape and dtype. Inside `gt.trace`
they become graph nodes (so a traced dropout draws a fresh mask on every run, as eager
does); `random=True` tells passes never to merge or constant-fold them.
"""

from __future__ import annotations

from .. import dtypes
from .registry import Category, OpDef, TensorMeta, register


def _bernoulli_kernel(xp, shape, p, dtype):
    from ..random import default_generator

    mask = default_generator.bernoulli(p, tuple(shape), dtype.np_dtype)
    return mask if xp.__name__ == "numpy" else xp.asarray(mask)


def _bernoulli_infer(shape, p, dtype):
    if not 0 <= p <= 1:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
    return TensorMeta(tuple(shape), dtypes.as_dtype(dtype))


BERNOULLI_MASK = register(OpDef(
    "bernoulli_mask", Category.OPAQUE, _bernoulli_kernel, _bernoulli_infer, random=True,
    doc="a fresh 0/1 tensor, 1 with probability p (dropout's keep mask)"))
