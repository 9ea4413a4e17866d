"""Op-table rows: hypot/logaddexp/copysign/xlogy/fmax/gcd/sgn/signbit/sinc, einsum, and the
decompositions of functions/math_extra.py (tensordot, kron, diff, cdist, trapezoid, cov, ...).

Decomposition rows name the registered ops they are built on."""

from __future__ import annotations

import numpy as np

from .harness import Row

BROADCAST = [((3, 4), (3, 4)), ((2, 3), (3,)), ((4, 1), (1, 5)), ((), ()), ((0, 3), (3,))]
F32_64 = ("float32", "float64")


def _range(lo, hi):
    def make(rng, case, dtype):
        return [rng.uniform(lo, hi, size=s).astype(dtype) if isinstance(s, tuple) else s
                for s in case]
    return make


def _away_from_zero(rng, case, dtype):
    return [(np.where(rng.uniform(size=s) > 0.5, 1, -1) * rng.uniform(0.2, 2, size=s))
            .astype(dtype) if isinstance(s, tuple) else s for s in case]


def _with_zeros(rng, case, dtype):
    """Values in (0.2, 2) with every third element exactly 0."""
    out = []
    for s in case:
        if not isinstance(s, tuple):
            out.append(s)
            continue
        x = rng.uniform(0.2, 2.0, size=s)
        x.reshape(-1)[::3] = 0
        out.append(x.astype(dtype))
    return out


def _zeros_then_positive(rng, case, dtype):
    """First input with exact zeros, the others positive (x * log(y))."""
    first = _with_zeros(rng, case[:1], dtype)[0]
    return [first, *(_range(0.3, 2.0)(rng, [s], dtype)[0] for s in case[1:])]


def _distinct(rng, case, dtype):
    return [(rng.permutation(int(np.prod(s))).reshape(s) * 0.37 + 0.1 * k).astype(dtype)
            for k, s in enumerate(case)]


def _ints(rng, case, dtype):
    return [rng.integers(-12, 13, size=s).astype(dtype) for s in case]


def _ints_positive(rng, case, dtype):
    return [rng.integers(1, 9, size=s).astype(dtype) for s in case]


def _complex(rng, case, dtype):
    ctype = "complex128" if dtype == "float64" else "complex64"
    return [(rng.uniform(-2, 2, size=s) + 1j * rng.uniform(-2, 2, size=s)).astype(ctype)
            for s in case]


def _special_floats(rng, case, dtype):
    """Signed zeros, infinities and NaN (integer dtypes: small signed integers)."""
    vals = [0.0, -0.0, 1.5, -2.0, np.inf, -np.inf, np.nan, 3.0]
    if not dtype.startswith(("float", "complex")):
        vals = [0, 0, 1, -2, 5, -5, 7, 3]
    return [np.resize(np.array(vals, dtype=dtype), s) for s in case]


def _nan_pairs(rng, case, dtype):
    a = np.array([1.0, np.nan, 3.0, np.nan, -1.0, 2.0], dtype=dtype)
    b = np.array([np.nan, 2.0, 1.0, np.nan, -1.0, 5.0], dtype=dtype)
    return [a, b]


def _tensors(*shapes, lo=-2.0, hi=2.0):
    """make= for rows whose inputs have fixed shapes (the case only names them)."""
    def make(rng, case, dtype):
        return [rng.uniform(lo, hi, size=s).astype(dtype) for s in shapes]
    return make


EINSUM_CASES = [
    ("ij,jk->ik", [(2, 3), (3, 4)]), ("ij,jk", [(2, 3), (3, 4)]), ("ij->", [(2, 3)]),
    ("ji", [(2, 3)]), ("bij,bjk->bik", [(2, 2, 3), (2, 3, 4)]), ("i,j->ij", [(2,), (3,)]),
    ("i,i->", [(4,), (4,)]), ("ij,ij->ij", [(2, 1), (2, 3)]), ("ij,jk,kl->il", [(2, 3), (3, 4),
                                                                               (4, 2)]),
    ("...ij,...jk", [(5, 2, 3), (3, 4)]), ("...ij,...jk", [(5, 1, 2, 3), (4, 3, 2)]),
    ("i...->...", [(2, 3, 4)]), (",->", [(), ()]), ("i,->i", [(3,), ()]),
    ("ij,jk->ik", [(0, 3), (3, 4)]), ("ij,jk->ik", [(2, 0), (0, 4)]), ("ijk->kji", [(2, 3, 4)]),
    # gradients of summed-away subscripts (broadcast back) and of repeated ones (diagonals)
    ("ij,k->ik", [(2, 3), (4,)]), ("ii->i", [(3, 3)]), ("ii", [(3, 3)]),
    ("iij,j->i", [(2, 2, 3), (3,)]), ("iji->j", [(3, 2, 3)]), ("iii->i", [(2, 2, 2)]),
    ("bii,bi->b", [(2, 3, 3), (2, 3)]), ("Ab,bC->CA", [(2, 3), (3, 2)]),
]


def _einsum_row(eq, shapes):
    return Row("einsum", lambda m, *ops: m.einsum(eq, *ops), [tuple(shapes)], dtypes=F32_64,
               name=f"einsum[{eq}]")


ROWS = [
    # --- elementwise primitives
    Row("hypot", lambda m, a, b: m.hypot(a, b), BROADCAST, dtypes=F32_64 + ("float16",),
        make=_away_from_zero, atol=1e-3),
    Row("logaddexp", lambda m, a, b: m.logaddexp(a, b), BROADCAST, dtypes=F32_64),
    Row("logaddexp", lambda m, a, b: m.logaddexp(a, b), [((3, 4), (3, 4)), ((2, 3), (3,))],
        make=_complex, fd=False, name="logaddexp_complex"),
    Row("logaddexp", lambda m, a, b: (m.logaddexp(a, b), m.logaddexp2(a, b)), [((8,), (8,))],
        make=_special_floats, grad=False, name="logaddexp_inf_nan"),
    Row("logaddexp2", lambda m, a, b: m.logaddexp2(a, b), BROADCAST, dtypes=F32_64),
    Row("copysign", lambda m, a, b: m.copysign(a, b), BROADCAST + [((3, 4), -1), ((3,), 2.5)],
        dtypes=F32_64, make=_away_from_zero),
    Row("copysign", lambda m, a, b: (m.copysign(a, b), a.copysign(-0.0)),
        [((8,), (8,))], dtypes=("float32", "int64"), make=_special_floats, grad=False,
        name="copysign_special"),
    Row("xlogy", lambda m, a, b: m.xlogy(a, b), BROADCAST + [((3, 4), 2.5)], dtypes=F32_64,
        make=_zeros_then_positive),
    Row("xlogy", lambda m, a, b: (m.xlogy(2.0, b), m.xlogy(a, 3), b.xlogy(b)),
        [((3, 4), (3, 4))], dtypes=F32_64, make=_zeros_then_positive, name="xlogy_scalars"),
    Row("xlogy", lambda m, a, b: m.xlogy(a * 0, b), [((8,), (8,))], make=_special_floats,
        grad=False, name="xlogy_zero_times"),
    Row(("fmax", "fmin"), lambda m, a, b: (m.fmax(a, b), m.fmin(a, b)), BROADCAST[:4],
        dtypes=F32_64, make=_distinct, name="fmax_fmin"),
    Row(("fmax", "fmin"), lambda m, a, b: (m.fmax(a, b), m.fmin(a, b)), [((6,), (6,))],
        dtypes=F32_64, make=_nan_pairs, fd=False, name="fmax_fmin_nan"),
    Row("nextafter", lambda m, a, b: (m.nextafter(a, b), m.nextafter(a, a)), BROADCAST[:4],
        dtypes=F32_64, grad=False),
    Row(("gcd", "lcm"), lambda m, a, b: (m.gcd(a, b), m.lcm(a, b)), BROADCAST[:4],
        dtypes=("int64", "int32", "int16"), make=_ints, grad=False, name="gcd_lcm"),
    # grad=False: PyTorch's gradient of real sgn is a ZeroTensor (checked in test_math_extra)
    Row("sgn", lambda m, a: m.sgn(a), [((3, 4),), ((),), ((0,),)], dtypes=F32_64 + ("int64",),
        make=_away_from_zero, grad=False),
    Row("sgn", lambda m, a: m.sgn(a) * 2 + a, [((3, 4),)], dtypes=F32_64, make=_away_from_zero,
        name="sgn_grad"),
    Row("sgn", lambda m, a: (m.sgn(a), a.sgn().abs()), [((3, 4),), ((),)], make=_complex,
        fd=False, name="sgn_complex"),
    Row("signbit", lambda m, a: m.signbit(a), [((8,),)], dtypes=F32_64 + ("float16",),
        make=_special_floats, grad=False),
    Row("signbit", lambda m, a: m.signbit(a), [((3, 4),), ((),)],
        dtypes=("int64", "int8", "uint8", "bool"), grad=False, name="signbit_int"),
    Row("sinc", lambda m, a: m.sinc(a), [((3, 4),), ((),), ((0,),)], dtypes=F32_64,
        make=_with_zeros),
    Row("sinc", lambda m, a: m.sinc(a), [((3, 4),)], dtypes=("int64", "bool"), grad=False,
        name="sinc_int"),
    Row("sinc", lambda m, a: m.sinc(a), [((3, 4),)], make=_complex, fd=False,
        name="sinc_complex"),
    Row("lgamma", lambda m, a: m.lgamma(a), [((3, 4),), ((),), ((0,),)], dtypes=F32_64,
        make=_range(-4.9, 6.0)),
    Row("lgamma", lambda m, a: m.lgamma(a) + (a * 1).lgamma_(), [((3, 4),)], dtypes=F32_64,
        make=_range(0.1, 30.0), name="lgamma_large"),
    Row("digamma", lambda m, a: (m.digamma(a), a.digamma()), [((3, 4),), ((),)], dtypes=F32_64,
        make=_range(0.05, 25.0)),
    Row("digamma", lambda m, a: m.digamma(a - 3.1), [((3, 4),)], dtypes=F32_64,
        make=_range(0.05, 0.95), name="digamma_negative"),
    Row("polygamma", lambda m, a: (m.polygamma(0, a), m.polygamma(1, a), a.polygamma(2),
                                   m.polygamma(3, a)),
        [((3, 4),), ((),)], dtypes=F32_64, make=_range(0.2, 12.0), atol=1e-4),
    Row(("lgamma", "digamma", "polygamma"),
        lambda m, a: (m.lgamma(a), m.digamma(a), m.polygamma(1, a)), [((3,),)],
        dtypes=("int64", "bool"), make=_ints_positive, grad=False, name="gamma_int"),
    Row("lgamma", lambda m, a: (m.mvlgamma(a, 1), m.mvlgamma(a, 3), a.mvlgamma(2)),
        [((3, 4),), ((),)], dtypes=F32_64, make=_range(1.1, 5.0), name="mvlgamma"),
    # --- einsum
    *[_einsum_row(eq, shapes) for eq, shapes in EINSUM_CASES],
    Row("einsum", lambda m, a, b: m.einsum(a, [0, 1], b, [1, 2], [0, 2]), [((2, 3), (3, 4))],
        name="einsum_sublist"),
    Row("einsum", lambda m, a, b: m.einsum(a, [Ellipsis, 1], b, [1], [Ellipsis]),
        [((2, 3), (3,))], name="einsum_sublist_ellipsis"),
    Row("einsum", lambda m, a, b: m.einsum(" i j , j k -> i k ", [a, b]), [((2, 3), (3, 4))],
        name="einsum_list_spaces"),
    Row("einsum", lambda m, a, b: m.einsum("ij,jk", a, b), [((2, 3), (3, 4))],
        dtypes=("int64", "int32"), grad=False, name="einsum_int"),
    Row("einsum", lambda m, a, b: m.einsum("ij,jk", a, b), [((2, 3), (3, 4))], make=_complex,
        fd=False, name="einsum_complex"),
    # --- contractions and distances (decompositions)
    Row("matmul", lambda m, a, b: m.tensordot(a, b), [((2, 3, 4), (3, 4, 5))], dtypes=F32_64,
        name="tensordot"),
    Row("matmul", lambda m, a, b: (m.tensordot(a, b, dims=1), m.tensordot(a, b, dims=0)),
        [((2, 3), (3, 4))], dtypes=F32_64, name="tensordot_int_dims"),
    Row("matmul", lambda m, a, b: (m.tensordot(a, b, dims=([0, 1], [1, 0])),
                                   m.tensordot(a, b, ([1], [0])),
                                   m.tensordot(a, b, dims=[[0], [1]])),
        [((2, 3), (3, 2))], dtypes=F32_64, name="tensordot_lists"),
    Row("matmul", lambda m, a, b: m.tensordot(a, b, dims=([1], [0])), [((2, 1), (3, 4))],
        dtypes=F32_64, name="tensordot_size1"),
    Row("mul", lambda m, a, b: m.kron(a, b), [((2, 3), (4,)), ((2, 2), (3, 1)), ((), (3,)),
                                               ((2, 1, 2), (2, 2))], dtypes=F32_64, name="kron"),
    Row("mul", lambda m, a, b: m.kron(a, b), [((2, 3), (2,))], dtypes=("int64", "bool"),
        grad=False, name="kron_int_bool"),
    Row("linalg_vector_norm", lambda m, a, b: (m.cdist(a, b), m.cdist(a, b, p=1),
                                               m.cdist(a, b, p=3), m.cdist(a, b, p=float("inf"))),
        [((3, 2), (4, 2)), ((2, 3, 2), (1, 4, 2))], dtypes=F32_64, atol=1e-4, name="cdist"),
    Row("linalg_vector_norm", lambda m, a, b: m.cdist(a, b, p=0), [((3, 2), (4, 2))],
        grad=False, name="cdist_p0"),
    Row("matmul", lambda m, a, b: m.cdist(a, b), [((30, 3), (4, 3)), ((2, 3), (27, 3))],
        dtypes=F32_64, atol=1e-4, fd=False, name="cdist_mm"),
    # fd=False: the distance of a row to itself has a kink at 0 (both libraries give 0 there)
    Row("matmul", lambda m, a: m.cdist(a, a, compute_mode="use_mm_for_euclid_dist"),
        [((4, 3),)], dtypes=F32_64, atol=1e-3, fd=False, name="cdist_mm_zero_distance"),
    Row("index", lambda m, a: (m.pdist(a), m.pdist(a, p=1)), [((4, 3),), ((1, 3),)],
        dtypes=F32_64, atol=1e-4, name="pdist"),
    # --- calculus and statistics (decompositions)
    Row("sub", lambda m, a: (m.diff(a), m.diff(a, n=2, dim=0), a.diff(n=5)),
        [((3, 4),), ((4,),)], dtypes=F32_64 + ("int64",), name="diff"),
    Row("sub", lambda m, a, b: (m.diff(a, prepend=b, append=b), m.diff(a, dim=0, prepend=b)),
        [((3, 4), (3, 4))], dtypes=F32_64, name="diff_prepend"),
    Row("logical_xor", lambda m, a: m.diff(a), [((3, 5),)], dtypes=("bool",), grad=False,
        name="diff_bool"),
    Row("sum", lambda m, y: (m.trapezoid(y), m.trapezoid(y, dx=0.5, dim=0),
                             m.trapz(y), m.cumulative_trapezoid(y, dim=0)),
        [((3, 4),), ((5,),), ((0,),)], dtypes=F32_64 + ("int64",), name="trapezoid"),
    Row("sum", lambda m, y, x: (m.trapezoid(y, x), m.trapz(y, x), m.cumulative_trapezoid(y, x)),
        [((3, 4), (4,)), ((3, 4), (3, 4))], dtypes=F32_64, name="trapezoid_x"),
    Row("matmul", lambda m, a: (m.cov(a), m.cov(a, correction=0), m.corrcoef(a), a.cov()),
        [((3, 5),), ((5,),)], dtypes=F32_64 + ("int64",), name="cov"),
    Row("matmul", lambda m, a, w: (m.cov(a, aweights=w.abs() + 0.1),
                                   m.cov(a, fweights=m.arange(1, 6), aweights=w.abs() + 0.1)),
        [((3, 5), (5,))], dtypes=F32_64, grad_inputs=(0,), name="cov_weights"),
    # grad=False: PyTorch's own vander backward fails (in-place error); test_math_extra checks
    # graphtorch's gradient against x ** k.
    Row("cumprod", lambda m, x: (m.vander(x), m.vander(x, 4, True), m.vander(x, N=0)),
        [((4,),), ((0,),)], dtypes=F32_64 + ("int64",), grad=False, name="vander"),
    # --- pointwise decompositions
    Row("mul", lambda m, a: (m.deg2rad(a), m.rad2deg(a)), [((3, 4),), ((),)],
        dtypes=F32_64 + ("int64",), name="deg2rad_rad2deg"),
    Row("log", lambda m, a: (m.logit(a), m.logit(a, eps=0.2), a.logit(1e-6)),
        [((3, 4),), ((),)], dtypes=F32_64, make=_range(0.05, 0.95), name="logit"),
    Row("pow", lambda m, a, b: m.ldexp(a, b), [((3, 4), (4,))], dtypes=F32_64,
        # exponents >= 0: PyTorch's LdexpBackward0 gives 0 for negative ones (2 ** -k in
        # integers); test_math_extra checks those against finite differences
        make=lambda rng, case, dtype: [rng.uniform(-2, 2, size=(3, 4)).astype(dtype),
                                       rng.integers(0, 4, size=(4,))],
        name="ldexp"),
    Row("atan2", lambda m, a: m.angle(a), [((3, 4),), ((),)], make=_complex, fd=False,
        name="angle_complex"),
    Row("where", lambda m, a: m.angle(a), [((8,),)], dtypes=F32_64, make=_special_floats,
        grad=False, name="angle_real"),
    Row("sub", lambda m, a, b: (m.rsub(a, b), m.rsub(a, b, alpha=2), m.rsub(a, 3)),
        [((3, 4), (4,))], dtypes=F32_64, name="rsub"),
    Row("linalg_vector_norm", lambda m, a: (m.renorm(a, 2, 0, 1.0), a.renorm(1, 1, 0.5),
                                            m.renorm(a, float("inf"), -1, 0.8)),
        [((3, 4),), ((2, 3, 2),)], dtypes=F32_64, make=_away_from_zero, name="renorm"),
    Row("sum", lambda m, a: (a.sum_to_size(1, 4), a.sum_to_size((3, 1)), a.sum_to_size(4)),
        [((3, 4),)], dtypes=F32_64, name="sum_to_size"),
    Row("index_put", lambda m, a: ((a * 1).fill_diagonal_(2.5), (a * 1).t().fill_diagonal_(-1),
                                   (a * 1).t().fill_diagonal_(3, wrap=True)),
        [((3, 4),)], dtypes=F32_64, name="fill_diagonal_"),
    Row("index_put", lambda m, a: (a * 1).fill_diagonal_(7, wrap=True), [((7, 3),)],
        name="fill_diagonal_wrap_tall"),
    Row("add", lambda m, a, b, c: (m.addr(a, b, c), m.addr(a, b, c, beta=0.5, alpha=2),
                                   a.addr(b, c, beta=0)),
        [((2, 3), (2,), (3,)), ((3,), (2,), (3,))], dtypes=F32_64, name="addr"),
    Row("add", lambda m, a, b, c: (a * 1).addr_(b, c, alpha=2), [((2, 3), (2,), (3,))],
        dtypes=F32_64, name="addr_inplace"),
    Row("amin", lambda m, a: (tuple(m.aminmax(a)), tuple(a.aminmax(dim=1, keepdim=True))),
        [((3, 4),)], dtypes=F32_64 + ("int64",), make=_distinct, name="aminmax"),
    Row("eq", lambda m, a, b: (m.isclose(a, b), m.isclose(a, b, rtol=0.5, atol=0.1),
                               m.isclose(a, a, equal_nan=True), m.allclose(a, b),
                               m.equal(a, b), m.equal(a, a)),
        [((8,), (8,))], dtypes=F32_64, make=_special_floats, grad=False, name="isclose"),
    Row("eq", lambda m, a, b: (m.isclose(a, b), m.isclose(a, b, rtol=0.3, atol=1),
                               m.allclose(a, b, atol=30)),
        [((3, 4), (4,))], dtypes=("int64", "bool"), grad=False, make=_ints,
        name="isclose_int"),
    Row("eq", lambda m, a: (m.isposinf(a), m.isneginf(a), m.isreal(a), m.signbit(a)),
        [((8,),)], dtypes=("float32",), make=_special_floats, grad=False, name="inf_tests"),
    Row("searchsorted", lambda m, a, b: (m.isin(a, b), m.isin(a, b, invert=True),
                                         m.isin(a, b[:0]), m.isin(a, 3)),
        [((3, 4), (5,))], dtypes=("int64", "float32"), make=_ints, grad=False, name="isin"),
    Row("where", lambda m, a, b: m.heaviside(a, b), [((8,), (8,)), ((8,), ())],
        dtypes=F32_64, make=_special_floats, grad=False, name="heaviside"),
]
