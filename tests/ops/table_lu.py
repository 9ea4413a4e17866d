"""Op-table rows: LU with partial pivoting (linalg_lu_factor_ex), getrf pivots to a
permutation (through lu_unpack), and frexp.

LU inputs are well conditioned with distinct column maxima, so the pivots are PyTorch's
(LAPACK's) and stay put under the finite-difference steps.
"""

from __future__ import annotations

import numpy as np

from .harness import Row

F32_64 = ("float32", "float64")


def _matrices(rng, case, dtype):
    return [(rng.uniform(-1, 1, size=shape) + 2.0 * np.eye(*shape[-2:])).astype(dtype)
            for shape in case]


def _mantissa_safe(rng, case, dtype):
    """Values away from powers of two (where the mantissa jumps)."""
    out = []
    for shape in case:
        magnitude = 2.0 ** rng.integers(-3, 4, size=shape) * rng.uniform(0.55, 0.95, size=shape)
        out.append((magnitude * rng.choice([-1.0, 1.0], size=shape)).astype(dtype))
    return out


ROWS = [
    Row("linalg_lu_factor_ex", lambda m, a: tuple(m.linalg.lu_factor_ex(a)),
        [((4, 4),), ((2, 3, 5),), ((5, 3),), ((0, 3, 3),)], dtypes=F32_64, make=_matrices,
        name="lu_factor_ex"),
    Row(("linalg_lu_factor_ex", "lu_pivots_to_permutation"),
        lambda m, a: tuple(m.lu_unpack(*m.linalg.lu_factor(a))),
        [((4, 4),), ((2, 3, 5),), ((5, 3),)], dtypes=F32_64, make=_matrices,
        name="lu_unpack"),
    Row("frexp", lambda m, a: tuple(m.frexp(a)), [((3, 4),), ((),), ((0,),)],
        dtypes=F32_64 + ("float16",), make=_mantissa_safe, name="frexp"),
]
