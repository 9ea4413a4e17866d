"""Op-table rows: sum, mean, var/std, amax/amin, max/min with indices, arg*, all/any."""

from __future__ import annotations

import numpy as np

from .harness import Row

SHAPES = [((3, 4),), ((2, 3, 4),), ((),), ((5,),)]


def _distinct(rng, case, dtype):
    return [(rng.permutation(int(np.prod(s))).reshape(s) * 0.25 - 1).astype(dtype)
            for s in case]


ROWS = [
    Row("sum", lambda m, a: (a.sum(), a.sum(-1), a.sum(0, keepdim=True)), SHAPES[:2],
        dtypes=("float32", "int64", "bool")),
    Row("sum", lambda m, a: (a.sum(), m.sum(a, dim=(0, 1))), [((0, 3),), ((3, 2),)],
        name="sum_empty_multi"),
    Row("sum", lambda m, a: a.sum(), [((),), ((4,),)], dtypes=("int32", "float64"),
        name="sum_scalar"),
    Row("mean", lambda m, a: (a.mean(), a.mean(1), a.mean((0, 1), keepdim=True)),
        SHAPES[:2], dtypes=("float32", "float64")),
    Row("mean", lambda m, a: a.mean(), [((),)], name="mean_0d"),
    Row("var", lambda m, a: (a.var(), a.var(1), a.std(0, keepdim=True),
                             m.var(a, 1, correction=0)), SHAPES[:2]),
    Row("amax", lambda m, a: (a.amax(), a.amax(1), m.amax(a, (0, 1), keepdim=True), a.max()),
        SHAPES[:2], make=_distinct),
    Row("amin", lambda m, a: (a.amin(), a.amin(-1), a.min()), SHAPES[:2], make=_distinct),
    Row("amax", lambda m, a: (a.amax(), a.max(1).values), [((3, 4),)], grad=True, fd=False,
        make=lambda rng, c, d: [np.ones(c[0], dtype=d)], name="amax_ties"),
    Row("max_dim", lambda m, a: tuple(a.max(1)) + tuple(m.max(a, 0, keepdim=True)),
        SHAPES[:2], make=_distinct, dtypes=("float32", "int64")),
    Row("min_dim", lambda m, a: tuple(a.min(-1)), SHAPES[:2], make=_distinct),
    Row(("argmax", "argmin"),
        lambda m, a: (a.argmax(), a.argmin(), a.argmax(1), a.argmin(0, keepdim=True)),
        SHAPES[:2], make=_distinct, grad=False, name="arg_extremes"),
    Row(("all", "any"), lambda m, a: (a.all(), a.any(), (a > 0).all(1), (a > 0).any(0)),
        [((3, 4),), ((0, 2),)], grad=False, name="all_any"),
]
