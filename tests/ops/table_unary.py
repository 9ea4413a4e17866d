"""Op-table rows: unary math, rounding, activations, special functions."""

from __future__ import annotations

import numpy as np

from .harness import Row

SHAPES = [((3, 4),), ((),), ((0, 2),)]


def _range(lo, hi):
    def make(rng, case, dtype):
        return [rng.uniform(lo, hi, size=s).astype(dtype) for s in case]
    return make


def _away_from_int(rng, case, dtype):
    """Avoid values at integer/half-integer kinks (rounding is piecewise constant)."""
    return [(rng.integers(-4, 4, size=s) + rng.uniform(0.1, 0.4, size=s)).astype(dtype)
            for s in case]


def _away_from_zero(rng, case, dtype):
    return [(np.where(rng.uniform(size=s) > 0.5, 1, -1) * rng.uniform(0.2, 2, size=s))
            .astype(dtype) for s in case]


def row(op, fn=None, make=None, dtypes=("float32", "float64"), **kw):
    fn = fn or (lambda m, a, _op=op: getattr(m, _op)(a))
    return Row(op, fn, SHAPES, dtypes=dtypes, make=make, **kw)


POS = _range(0.3, 2.0)
UNIT = _range(-0.9, 0.9)

ROWS = [
    row("exp"), row("exp2"), row("expm1"),
    row("log", make=POS), row("log2", make=POS), row("log10", make=POS),
    row("log1p", make=POS), row("sqrt", make=POS), row("rsqrt", make=POS),
    row("reciprocal", make=_away_from_zero),
    row("sin"), row("cos"), row("tan", make=UNIT), row("asin", make=UNIT),
    row("acos", make=UNIT), row("atan"), row("sinh"), row("cosh"), row("tanh"),
    row("asinh"), row("acosh", make=_range(1.2, 3.0)), row("atanh", make=UNIT),
    row("sigmoid"), row("erf"), row("erfc"), row("erfinv", make=UNIT),
    row("floor", make=_away_from_int), row("ceil", make=_away_from_int),
    row("trunc", make=_away_from_int), row("round", make=_away_from_int),
    Row("round", lambda m, a: m.round(a, decimals=2), [((3, 4),)], name="round_decimals",
        grad=False),
    row("frac", make=_away_from_int), row("sign", make=_away_from_zero),
    row("neg"), row("abs", make=_away_from_zero),
    Row(("floor", "ceil", "round", "trunc", "sign", "neg", "abs"),
        lambda m, a: (a.floor(), a.ceil(), a.round(), a.trunc(), a.sign(), -a, a.abs()),
        [((3, 4),)], dtypes=("int64", "int32"), grad=False, name="int_rounding"),
    Row(("exp", "sqrt", "sin"), lambda m, a: (a.exp(), a.sqrt(), a.sin()), [((3,),)],
        dtypes=("int64", "bool"), grad=False, name="int_to_float"),
    row("relu", fn=lambda m, a: m.relu(a), make=_away_from_zero),
    Row("leaky_relu", lambda m, a: m.nn.functional.leaky_relu(a, 0.2), SHAPES,
        make=_away_from_zero),
    Row("elu", lambda m, a: m.nn.functional.elu(a, 1.5), SHAPES, make=_away_from_zero),
    Row("softplus", lambda m, a: (m.nn.functional.softplus(a),
                                  m.nn.functional.softplus(a * 20, beta=2, threshold=5)),
        SHAPES, make=_away_from_zero),
    Row("hardtanh", lambda m, a: (m.nn.functional.hardtanh(a, -0.5, 0.5),
                                  m.nn.functional.relu6(a * 4)), SHAPES,
        make=_away_from_int),
    Row("silu", lambda m, a: m.nn.functional.silu(a), SHAPES),
    Row("gelu", lambda m, a: (m.nn.functional.gelu(a),
                              m.nn.functional.gelu(a, approximate="tanh")), SHAPES),
    Row("nan_to_num", lambda m, a: m.nan_to_num(m.log(a - 0.5), nan=0.0, posinf=9.0,
                                                neginf=-9.0),
        [((3, 4),)], make=_range(0.6, 2.0)),
    Row(("isnan", "isinf", "isfinite"),
        lambda m, a: (m.isnan(a.log()), m.isinf(1 / (a * 0)), m.isfinite(a.log())),
        [((3, 4),), ((),)], grad=False, name="float_tests"),
    # `.real`/`.imag` of a complex tensor are views (view_as_real, then select)
    Row(("conj", "view_as_real", "select"),
        lambda m, a, b: (m.complex(a, b).conj().real, (m.complex(a, b) * 2).imag),
        [((3, 4), (3, 4))], dtypes=("float32", "float64"), name="complex_parts"),
    Row("conj", lambda m, a: (m.real(a) * 2, a.conj() + 1), [((3, 4),)],
        dtypes=("float32", "int64"), name="real_parts_of_real"),
]
