"""Op-table rows: sort, topk, kthvalue, median, mode, unique, searchsorted, histograms."""

from __future__ import annotations

import numpy as np

from .harness import Row

SHAPES = [((3, 4),), ((2, 3, 4),), ((),), ((5,),)]
EMPTY = [((0, 3),)]
INTS = ("int64", "int32", "uint8")


def _distinct(rng, case, dtype):
    """Distinct values (no ties: tie order is unspecified for some ops)."""
    out = []
    for s in case:
        n = int(np.prod(s))
        perm = rng.permutation(n).reshape(s)
        if dtype.startswith(("int", "uint")):
            out.append(perm.astype(dtype))
        else:
            out.append((perm * 0.25 - 1 + rng.uniform(0, 0.1, size=s)).astype(dtype))
    return out


def _ties(rng, case, dtype):
    return [rng.integers(0, 3, size=s).astype(dtype) for s in case]


def _with_nan(rng, case, dtype):
    out = []
    for s in case:
        a = rng.integers(-3, 4, size=s).astype(dtype)
        a[rng.uniform(size=s) < 0.25] = np.nan
        out.append(a)
    return out


def _sort_fn(m, a):
    return (*a.sort(), *a.sort(0, descending=True), *m.sort(a, dim=-1, stable=True),
            a.argsort(0), m.argsort(a, descending=True), m.msort(a) if a.ndim else a)


def _topk_fn(m, a):
    if a.ndim == 0:
        return tuple(a.topk(1))
    k = min(2, a.shape[-1])
    return (*a.topk(k), *m.topk(a, 1, dim=0, largest=False), *a.topk(k, sorted=True))


def _kth_fn(m, a):
    if a.ndim == 0:
        return tuple(a.kthvalue(1))
    return (*a.kthvalue(2), *m.kthvalue(a, 1, 0, keepdim=True))


def _median_fn(m, a):
    outs = (a.median(), *a.median(-1), *m.median(a, 0, keepdim=True))
    return outs + (a.nanmedian(), *a.nanmedian(0))


def _sorted_bounds(rng, case, dtype):
    bounds, values = case
    b = np.sort(rng.integers(-5, 6, size=bounds), axis=-1).astype(dtype)
    v = rng.integers(-6, 7, size=values).astype(dtype)
    return [b, v]


def _bincount_make(rng, case, dtype):
    (n,) = case[0]
    return [rng.integers(0, 6, size=n).astype("int64"), rng.uniform(0, 1, size=n).astype(dtype)]


ROWS = [
    Row("sort", _sort_fn, SHAPES + EMPTY, dtypes=("float32", "float64") + INTS, make=_distinct),
    Row("sort", lambda m, a: (*a.sort(), *a.sort(descending=True), *a.sort(dim=0, stable=True)),
        [((4, 6),), ((7,),)], dtypes=("float32", "int64", "bool"), make=_ties, fd=False,
        name="sort_ties"),
    Row("sort", lambda m, a: (*a.sort(), *a.sort(descending=True), a.argsort(0)),
        [((4, 6),)], make=_with_nan, grad=False, name="sort_nan"),
    Row("topk", _topk_fn, SHAPES + [((3, 0),)], dtypes=("float32", "int64"), make=_distinct),
    Row("topk", lambda m, a: tuple(a.topk(2)), [((2, 6),)], make=_with_nan, grad=False,
        name="topk_nan"),
    Row("kthvalue", _kth_fn, SHAPES, dtypes=("float32", "float64", "int64"), make=_distinct),
    Row(("median", "median_dim", "nanmedian", "nanmedian_dim"), _median_fn, SHAPES,
        dtypes=("float32", "float64", "int64"), make=_distinct, name="median"),
    Row(("median", "median_dim", "nanmedian", "nanmedian_dim"),
        lambda m, a: (a.median(), *a.median(1), a.nanmedian(), *a.nanmedian(1)),
        [((3, 5),), ((4, 4),)], make=_with_nan, grad=False, name="median_nan"),
    Row("median", lambda m, a: (a.median(), m.median(a * 2)), [((3, 4),)], make=_ties,
        fd=False, name="median_ties_grad"),
    Row("median", lambda m, a: (a.median(), a.nanmedian()), [((0,),), ((0, 2),)],
        grad=False, name="median_empty"),
    Row("mode", lambda m, a: (*a.mode(), *m.mode(a, 0, keepdim=True)),
        [((3, 7),), ((2, 3, 5),), ((),), ((6,),)], dtypes=("float32", "int64", "uint8"),
        make=_ties, fd=False),
    Row("mode", lambda m, a: tuple(a.mode(1)), [((0, 3),)], grad=False, name="mode_empty"),
    Row("unique", lambda m, a: (m.unique(a), *m.unique(a, return_inverse=True,
                                                       return_counts=True),
                                a.unique(sorted=True, return_counts=True)[1]),
        [((3, 7),), ((),), ((0,),), ((10,),)], dtypes=("float32", "int64", "bool"),
        make=_ties, grad=False),
    Row("unique", lambda m, a: (*m.unique(a, dim=0, return_inverse=True, return_counts=True),
                                *m.unique(a, dim=1, return_inverse=True, return_counts=True)),
        [((5, 3),), ((4, 2, 3),)], dtypes=("float32", "int64"), grad=False,
        make=lambda rng, case, dtype: [rng.integers(0, 2, size=s).astype(dtype)
                                       for s in case], name="unique_dim"),
    Row("unique", lambda m, a: m.unique(a, dim=0, return_inverse=True, return_counts=True),
        [((0, 3),)], grad=False, name="unique_dim_empty"),
    Row("unique", lambda m, a: m.unique(a), [((9,),)], make=_with_nan, grad=False,
        name="unique_nan"),
    Row("unique_consecutive",
        lambda m, a: (m.unique_consecutive(a),
                      *m.unique_consecutive(a, return_inverse=True, return_counts=True),
                      *(m.unique_consecutive(a, dim=1, return_inverse=True,
                                             return_counts=True) if a.ndim == 2 else ())),
        [((3, 8),), ((12,),), ((0,),)], dtypes=("float32", "int64"), make=_ties, grad=False),
    Row("searchsorted",
        lambda m, b, v: (m.searchsorted(b, v), m.searchsorted(b, v, right=True),
                         m.searchsorted(b, v, side="right", out_int32=True),
                         *((m.bucketize(v, b), m.bucketize(v, b, right=True))
                           if b.ndim == 1 else ())),
        [((6,), (3, 4)), ((6,), ()), ((2, 5), (2, 3)), ((1,), (0,))],
        dtypes=("int64", "float32", "float64"), make=_sorted_bounds, grad=False),
    Row("searchsorted",
        lambda m, b, v: (m.searchsorted(b, v), m.searchsorted(b, 0.5),
                         m.searchsorted(b, v, sorter=b.argsort())),
        [((5,), (4,))], make=_with_nan, grad=False, name="searchsorted_nan_sorter"),
    Row("histc", lambda m, a: (m.histc(a, bins=5), a.histc(4, min=-1, max=1),
                               m.histc(a, 3, 0.5, 0.5)),
        [((40,),), ((3, 4),), ((0,),), ((),)], dtypes=("float32", "float64"), grad=False),
    Row("histogram", lambda m, a, w: (*m.histogram(a, 5), *m.histogram(a, 4, range=(-1., 1.)),
                                      *m.histogram(a, 3, weight=w, density=True),
                                      *a.histogram(m.tensor([-2.0, -0.5, 0.0, 2.0],
                                                            dtype=a.dtype))),
        [((30,), (30,)), ((3, 4), (3, 4))], dtypes=("float32", "float64"), grad=False),
    Row("bincount", lambda m, a, w: (m.bincount(a), a.bincount(minlength=9),
                                     m.bincount(a, w), m.bincount(a, w.double())),
        [((12,),), ((0,),)], make=_bincount_make, grad=False),
]
