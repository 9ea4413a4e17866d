"""Op-table rows: softmax, log_softmax, logsumexp, prod (with zeros)."""

from __future__ import annotations

import numpy as np

from .harness import Row

SHAPES = [((3, 4),), ((2, 3, 4),), ((),), ((5,),), ((0, 3),)]


def _large(rng, case, dtype):
    """Values that overflow exp() unless the maximum is subtracted first."""
    return [(rng.uniform(-1, 1, size=s) * 3 + 1000 * np.sign(rng.uniform(-1, 1, size=s)))
            .astype(dtype) for s in case]


def _with_zeros(rng, case, dtype):
    out = []
    for s in case:
        a = rng.uniform(0.5, 1.5, size=s) * np.where(rng.uniform(size=s) < 0.5, -1, 1)
        if a.ndim == 2 and a.shape[0] >= 3 and a.shape[1] >= 3:
            a[0, 1] = 0              # a single zero in row 0 and column 1
            a[1, 0] = a[1, 2] = 0    # two zeros in row 1
        out.append(a.astype(dtype))
    return out


def _softmaxes(m, a):
    return (a.softmax(-1), m.softmax(a, 0), a.log_softmax(-1), m.log_softmax(a, 0))


def _functional(m, a):
    F = m.nn.functional
    return (F.softmax(a, dim=-1), F.log_softmax(a, dim=0), F.softmin(a, -1),
            F.softmax(a, -1, dtype=m.float64))


ROWS = [
    Row(("softmax", "log_softmax"), _softmaxes, SHAPES, dtypes=("float32", "float64"),
        name="softmax"),
    Row(("softmax", "log_softmax"), _functional, [((3, 4),), ((2, 3, 4),), ((),)],
        name="softmax_functional"),
    Row(("softmax", "log_softmax"), _softmaxes, [((3, 4),)], make=_large, atol=1e-4,
        fd=False, name="softmax_large"),
    Row(("softmax", "log_softmax"),
        lambda m, a: (a.softmax(1, dtype=m.float64), m.log_softmax(a, 0, dtype=m.float64)),
        [((3, 4),)], name="softmax_dtype"),
    Row(("softmax", "log_softmax"), lambda m, a: (a.half().softmax(1), a.half().log_softmax(0)),
        [((3, 4),)], grad=False, atol=2e-3, rtol=2e-3, name="softmax_half"),
    Row("logsumexp", lambda m, a: (a.logsumexp(-1), m.logsumexp(a, 0, keepdim=True),
                                   m.logsumexp(a, (0, -1)) if a.ndim > 1 else a.logsumexp(0)),
        SHAPES, dtypes=("float32", "float64")),
    Row("logsumexp", lambda m, a: (a.logsumexp(1), a.logsumexp(0)), [((3, 4),)], make=_large,
        fd=False, name="logsumexp_large"),
    Row("logsumexp", lambda m, a: (a.logsumexp(0), m.logsumexp(a, 1, keepdim=True)),
        [((3, 4),)], dtypes=("int64", "bool"), grad=False, name="logsumexp_int"),
    Row("logsumexp", lambda m, a: (a.log().logsumexp(1), a.log().logsumexp(0)), [((3, 4),)],
        make=lambda rng, case, dtype: [np.array([[0, 0, 0, 0], [0, 1, 2, 0], [1, 0, 3, 0]],
                                                dtype=dtype)],
        grad=False, name="logsumexp_neg_inf"),
    Row(("prod", "prod_dim"), lambda m, a: (a.prod(), a.prod(0), m.prod(a, -1, keepdim=True)),
        SHAPES, dtypes=("float32", "float64", "int64", "int32", "bool"), low=0.5, high=1.5,
        name="prod"),
    Row(("prod", "prod_dim"), lambda m, a: (a.prod(), a.prod(1), a.prod(0), a[:1].prod(),
                                            a[1:2].prod(), a[2:].prod()),
        [((3, 4),), ((4, 3),)], dtypes=("float64", "float32"), make=_with_zeros,
        name="prod_zeros"),
    Row(("prod", "prod_dim"), lambda m, a: (a.prod(dtype=m.float64), a.prod(1, dtype=m.int64)),
        [((3, 4),)], dtypes=("float32", "int16"), grad=False, name="prod_dtype"),
    Row("prod", lambda m, a: m.prod(a * 2, dtype=m.float64), [((3, 4),)], name="prod_dtype_grad"),
]
