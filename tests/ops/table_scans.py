"""Op-table rows: cumsum, cumprod (with zeros), cummax/cummin, logcumsumexp."""

from __future__ import annotations

import numpy as np

from .harness import Row

SHAPES = [((3, 4),), ((2, 3, 4),), ((),), ((5,),), ((0, 3),)]


def _with_zeros(rng, case, dtype):
    """One zero in some rows, two in others, none in the rest."""
    out = []
    for s in case:
        a = rng.uniform(0.5, 1.5, size=s) * np.where(rng.uniform(size=s) < 0.5, -1, 1)
        if a.ndim:
            flat = a.reshape(-1, a.shape[-1])
            if flat.shape[0] and flat.shape[1] > 1:
                flat[0, 1] = 0
            if flat.shape[0] > 1 and flat.shape[1] > 2:
                flat[1, 0] = flat[1, 2] = 0
        out.append(a.astype(dtype))
    return out


def _distinct(rng, case, dtype):
    out = []
    for s in case:
        perm = rng.permutation(int(np.prod(s))).reshape(s)
        out.append((perm * 0.5 - 1).astype(dtype) if dtype.startswith("float")
                   else perm.astype(dtype))
    return out


def _ties(rng, case, dtype):
    return [rng.integers(0, 3, size=s).astype(dtype) for s in case]


def _with_nan(rng, case, dtype):
    out = []
    for s in case:
        a = rng.integers(-3, 4, size=s).astype(dtype)
        a[rng.uniform(size=s) < 0.2] = np.nan
        out.append(a)
    return out


def _cum_extremes(m, a):
    return (*a.cummax(0), *m.cummin(a, -1), *m.cummax(a, dim=-1))


ROWS = [
    Row("cumsum", lambda m, a: (a.cumsum(0), m.cumsum(a, dim=-1)), SHAPES,
        dtypes=("float32", "float64", "int64", "int32", "uint8", "bool")),
    Row("cumsum", lambda m, a: (a.cumsum(0, dtype=m.float64), m.cumsum(a, -1, dtype=m.int32)),
        [((3, 4),)], dtypes=("float32", "int16"), grad=False, name="cumsum_dtype"),
    Row("cumsum", lambda m, a: a.cumsum(-1, dtype=m.float64), [((3, 4),)],
        name="cumsum_dtype_grad"),
    Row("cumsum", lambda m, a: a.clone().cumsum_(1), [((3, 4),)], dtypes=("float32", "int64"),
        name="cumsum_inplace"),
    Row("cumprod", lambda m, a: (a.cumprod(0), m.cumprod(a, -1)), SHAPES,
        dtypes=("float32", "float64", "int64", "int8", "bool"), low=0.5, high=1.5),
    Row("cumprod", lambda m, a: (a.cumprod(-1), a.cumprod(0)), [((3, 4),), ((4, 5),), ((6,),)],
        dtypes=("float64", "float32"), make=_with_zeros, name="cumprod_zeros"),
    Row("cumprod", lambda m, a: (a.cumprod(-1, dtype=m.float64), a.clone().cumprod_(0)),
        [((3, 4),)], make=_with_zeros, name="cumprod_dtype_inplace"),
    Row(("cummax", "cummin"), _cum_extremes, [((3, 4),), ((2, 3, 4),), ((),), ((0, 3),)],
        dtypes=("float32", "float64", "int64"), make=_distinct, name="cummax_cummin"),
    Row(("cummax", "cummin"), _cum_extremes, [((3, 7),), ((9,),)],
        dtypes=("float32", "int64", "uint8", "bool"), make=_ties, fd=False,
        name="cummax_cummin_ties"),
    Row(("cummax", "cummin"), _cum_extremes, [((3, 7),)], make=_with_nan, grad=False,
        name="cummax_cummin_nan"),
    Row("logcumsumexp", lambda m, a: (a.logcumsumexp(0), m.logcumsumexp(a, -1)), SHAPES,
        dtypes=("float32", "float64")),
    Row("logcumsumexp", lambda m, a: (a.logcumsumexp(1), (a * 300).logcumsumexp(0)),
        [((3, 4),)], dtypes=("float64",), fd=False, name="logcumsumexp_large",
        make=lambda rng, case, dtype: [np.array([[1.0, -np.inf, 2.0, 700.0],
                                                 [-np.inf, -np.inf, -800.0, 3.0],
                                                 [0.5, 0.25, -0.5, 1.5]], dtype=dtype)],
        grad=False),
]
