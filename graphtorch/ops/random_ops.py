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


# Generator methods whose last argument is the dtype to draw in (the output's).
_TAKES_DTYPE = frozenset({"uniform", "normal"})


def draw(generator, method: str, args: tuple, np_dtype):
    """`method` of `generator` (None: the default one) with `args` (and the dtype)."""
    from ..random import generator_or_default

    extra = (np_dtype,) if method in _TAKES_DTYPE else ()
    return getattr(generator_or_default(generator), method)(*args, *extra)


def _draw_kernel(xp, method, args, shape, dtype, generator):
    values = draw(generator, method, args, dtype.np_dtype)
    array = values.reshape(shape).astype(dtype.np_dtype, copy=False)
    return array if xp.__name__ == "numpy" else xp.asarray(array)


def _draw_infer(method, args, shape, dtype, generator):
    return TensorMeta(tuple(shape), dtypes.as_dtype(dtype))


RANDOM_DRAW = register(OpDef(
    "random_draw", Category.OPAQUE, _draw_kernel, _draw_infer, random=True,
    doc="draws from a generator (`method` of graphtorch.random.Generator with `args`: "
        "uniform, normal, integers, permutation) as the eager functions do, in the same "
        "order, so a seeded compiled run equals the seeded eager run"))


def _seed_kernel(xp, seed, generator):
    from ..random import generator_or_default

    generator_or_default(generator).manual_seed(seed)
    return xp.zeros((), dtype=xp.int64)


SEED = register(OpDef(
    "manual_seed", Category.OPAQUE, _seed_kernel,
    lambda seed, generator: TensorMeta((), dtypes.int64), side_effects=True,
    doc="reseeds a generator when it runs (`gt.manual_seed` inside compiled code); its "
        "output is a dummy 0-d tensor"))
