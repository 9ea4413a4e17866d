"""Op-table rows: torch.special's own ops (entr, xlog1py, erfcx, i0/i0e/i1/i1e, ndtri, zeta)
through gt.special."""

from __future__ import annotations

import numpy as np

from .harness import Row

F32_64 = ("float32", "float64")
SHAPES = [((3, 4),), ((),), ((0, 2),)]
PAIRS = [((3, 4), (3, 4)), ((2, 3), (3,)), ((), ())]


def _range(lo, hi):
    def make(rng, case, dtype):
        return [rng.uniform(lo, hi, size=s).astype(dtype) if isinstance(s, tuple) else s
                for s in case]
    return make


def _edges(values):
    def make(rng, case, dtype):
        return [np.array(values, dtype=dtype)]
    return make


def _zeta_args(rng, case, dtype):
    x_shape, q_shape = case
    return [rng.uniform(1.5, 4.0, size=x_shape).astype(dtype),
            rng.uniform(0.5, 3.0, size=q_shape).astype(dtype)]


ROWS = [
    Row("entr", lambda m, a: m.special.entr(a), SHAPES, dtypes=F32_64, make=_range(0.1, 3.0)),
    Row("entr", lambda m, a: m.special.entr(a), [((6,),)], dtypes=F32_64, grad=False,
        make=_edges([0.0, -0.0, -1.0, 2.0, np.inf, np.nan]), name="entr_edges"),
    Row("xlog1py", lambda m, a, b: m.special.xlog1py(a, b), PAIRS, dtypes=F32_64,
        make=_range(0.1, 3.0)),
    Row("xlog1py", lambda m, a, b: (m.special.xlog1py(a * 0, b), m.special.xlog1py(2.0, b),
                                    m.special.xlog1py(a, 0.5)),
        [((3, 4), (3, 4))], dtypes=F32_64, make=_range(0.1, 3.0), name="xlog1py_zero_scalar"),
    Row("erfcx", lambda m, a: m.special.erfcx(a), SHAPES, dtypes=F32_64, make=_range(-2, 5)),
    Row("erfcx", lambda m, a: m.special.erfcx(a), [((8,),)], dtypes=F32_64, grad=False,
        make=_edges([-30.0, -5.0, 0.0, 2.999, 3.001, 60.0, np.inf, np.nan]),
        name="erfcx_edges"),
    Row(("i0", "i0e", "i1", "i1e"),
        lambda m, a: (m.special.i0(a), m.special.i0e(a), m.special.i1(a), m.special.i1e(a)),
        SHAPES, dtypes=F32_64, make=_range(-12, 12), name="bessel_i"),
    Row(("i0", "i0e", "i1", "i1e"),
        lambda m, a: (m.special.i0(a), m.special.i0e(a), m.special.i1(a), m.special.i1e(a)),
        [((7,),)], dtypes=F32_64, grad=False,
        make=_edges([0.0, -0.0, 8.0, -8.0, 50.0, -np.inf, np.nan]), name="bessel_i_edges"),
    Row("ndtri", lambda m, a: m.special.ndtri(a), SHAPES, dtypes=F32_64,
        make=_range(0.01, 0.99)),
    Row("ndtri", lambda m, a: m.special.ndtri(a), [((8,),)], dtypes=("float64",), grad=False,
        make=_edges([0.0, 1.0, 1e-300, 1e-20, 0.2, 1 - 1e-12, -0.5, np.nan]),
        name="ndtri_edges"),
    Row("zeta", lambda m, a, b: m.special.zeta(a, b), PAIRS, dtypes=F32_64, make=_zeta_args,
        grad_inputs=(1,)),
    Row("zeta", lambda m, a, b: (m.special.zeta(a, 2.0), m.special.zeta(3.0, b)),
        [((3, 4), (3, 4))], dtypes=F32_64, make=_zeta_args, grad_inputs=(1,),
        name="zeta_scalars"),
]
