"""Op-table rows: binary arithmetic, comparison, logic, bit ops, where, clamp, casts."""

from __future__ import annotations

import numpy as np

from .harness import Row

BROADCAST = [((3, 4), (3, 4)), ((2, 3), (3,)), ((4, 1), (1, 5)), ((), ()), ((0, 3), (3,)),
             ((2, 1, 3), ())]
SCALAR_RIGHT = [((3, 4), 2.5), ((3,), 2)]


def _positive(rng, case, dtype):
    return [rng.uniform(0.5, 2.0, size=s).astype(dtype) if isinstance(s, tuple) else s
            for s in case]


def _distinct(rng, case, dtype):
    """Values without ties (min/max gradients are split on ties)."""
    out = []
    for k, s in enumerate(case):
        out.append((rng.permutation(int(np.prod(s))).reshape(s) * 0.37 + 0.1 * k).astype(dtype)
                   if isinstance(s, tuple) else s)
    return out


def _ints(rng, case, dtype):
    return [rng.integers(1, 9, size=s).astype(dtype) if isinstance(s, tuple) else s
            for s in case]


def _off_integer_quotients(rng, case, dtype):
    """a / b well away from integers, so the piecewise-constant quotient is locally flat."""
    b = rng.uniform(1.0, 2.0, size=case[1])
    a = (rng.integers(-3, 4, size=case[0]) + rng.uniform(0.3, 0.7, size=case[0])) * b
    return [a.astype(dtype), b.astype(dtype)]


INT_DTYPES = ("int64", "int32", "uint8")

ROWS = [
    Row("add", lambda m, a, b: m.add(a, b), BROADCAST + SCALAR_RIGHT,
        dtypes=("float32", "float64", "int64", "int16")),
    Row("add", lambda m, a, b: m.add(a, b, alpha=3), [((3, 4), (4,))], name="add_alpha"),
    Row("add", lambda m, a, b: b + a, [((3,), (3,)), ((2, 2), ())], dtypes=("bool",),
        grad=False, name="add_bool"),
    Row("sub", lambda m, a, b: a - b, BROADCAST + SCALAR_RIGHT, dtypes=("float32", "int64")),
    Row("sub", lambda m, a, b: 3 - a * b, [((3,), (3,))], name="rsub_scalar"),
    Row("mul", lambda m, a, b: a * b, BROADCAST + SCALAR_RIGHT,
        dtypes=("float32", "float64", "int32")),
    Row("mul", lambda m, a, b: a * b, [((4,), (4,))], dtypes=("bool",), grad=False,
        name="mul_bool"),
    Row("div", lambda m, a, b: a / b, BROADCAST, make=_positive),
    Row("div", lambda m, a, b: a / b, [((3, 4), (4,))], dtypes=("int64",), make=_ints,
        name="div_int_true"),
    Row("floor_divide", lambda m, a, b: m.div(a, b, rounding_mode="floor"),
        [((3, 4), (4,)), ((5,), 2)], dtypes=("float32", "int64"), make=_ints, grad=False),
    Row("trunc_divide", lambda m, a, b: m.div(-a, b, rounding_mode="trunc"),
        [((3, 4), (4,)), ((5,), 2)], dtypes=("float32", "int64"), make=_ints, grad=False),
    Row(("floor_divide", "trunc_divide"),
        lambda m, a, b: (m.div(a, b, rounding_mode="floor"), m.div(-a, b, rounding_mode="trunc")),
        [((2, 3), (3,))], make=_off_integer_quotients, name="rounding_divide_grad"),
    Row("remainder", lambda m, a, b: a % b, [((3, 4), (4,)), ((5,), 1.5)], make=_positive),
    Row("fmod", lambda m, a, b: m.fmod(a - 1, b), [((3, 4), (4,))], make=_positive),
    Row("pow", lambda m, a, b: a ** b, [((3, 4), (4,)), ((3,), 2), ((3,), 0.5), ((), ())],
        make=_positive),
    Row("pow", lambda m, a: (a ** 3, a ** -2, a ** -0.5, a ** -1, a ** 3.0, a ** 2),
        [((3, 4),), ((),)], dtypes=("float32", "float64", "float16"), make=_positive,
        name="pow_small_exponents"),  # the strength-reduced kernels
    Row("pow", lambda m, a: 2 ** a, [((3, 4),)], name="rpow_scalar"),
    Row("pow", lambda m, a, b: a ** b, [((4,), 3)], dtypes=("int64",), grad=False,
        make=_ints, name="pow_int"),
    Row("maximum", lambda m, a, b: m.maximum(a, b), BROADCAST[:4], make=_distinct),
    Row("minimum", lambda m, a, b: m.minimum(a, b), BROADCAST[:4], make=_distinct),
    Row("atan2", lambda m, a, b: m.atan2(a, b), BROADCAST[:3], make=_positive),
    Row(("eq", "ne", "lt", "le", "gt", "ge"),
        lambda m, a, b: (a == b, a != b, a < b, a <= b, a > b, a >= b),
        BROADCAST + SCALAR_RIGHT, dtypes=("float32", "int64"), grad=False, name="compare"),
    Row(("logical_and", "logical_or", "logical_xor", "logical_not"),
        lambda m, a, b: (m.logical_and(a, b), m.logical_or(a, b), m.logical_xor(a, b),
                         m.logical_not(a)),
        BROADCAST[:4], dtypes=("bool", "float32"), grad=False, name="logical"),
    Row(("bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not"),
        lambda m, a, b: (a & b, a | b, a ^ b, ~a), BROADCAST[:4],
        dtypes=INT_DTYPES + ("bool",), grad=False, make=_ints, name="bitwise"),
    Row(("bitwise_left_shift", "bitwise_right_shift"), lambda m, a, b: (a << b, a >> 1),
        [((3, 4), (4,))], dtypes=("int64", "int32"), grad=False, make=_ints, name="shifts"),
    Row("where", lambda m, a, b: m.where(a > 0, a, b), BROADCAST[:4]),
    Row("where", lambda m, a: m.where(a > 0, a, 0.5), [((3, 4),)], name="where_scalar"),
    Row("clamp", lambda m, a: (m.clamp(a, -0.5, 0.7), a.clamp(min=0.1), a.clip(max=0.2)),
        [((3, 4),), ((),), ((0,),)]),
    Row("clamp", lambda m, a: m.clamp(a, 1, 3), [((3, 4),)], dtypes=("int64",), grad=False,
        name="clamp_int"),
    # fd=False: the float16 round trip is a step function at finite-difference scale.
    Row("to_dtype", lambda m, a: (a.double(), a.int(), a.to(m.float16).float(), a.bool()),
        [((3, 4),), ((),)], fd=False),
    # Casts that lose nothing in float64 (the finite-difference dtype): up to complex128 and
    # back through `.real`, so the vjp's complex-to-real branch is exercised too.
    Row("to_dtype", lambda m, a: (a.double() * 2, (a.to(m.complex128) * (1 - 2j)).real),
        [((3, 4),), ((),)], name="to_dtype_fd"),
    Row("clone", lambda m, a: (a.clone(), a.t().clone(), a.t().contiguous()), [((3, 4),)]),
    Row("copy", lambda m, a, b: a.clone().copy_(b), [((3, 4), (4,)), ((3, 4), (3, 4))]),
    Row("fill", lambda m, a: (a * 1).fill_(2.5) + a, [((3, 4),), ((),)]),
]
