"""Op-table rows: torch.linalg (factorizations, solves, norms, cross, trace).

Inputs are well conditioned (`make=`). Outputs defined only up to sign or phase (singular
vectors, eigenvectors) are compared through invariants: |U|, projectors U U^H, |V|.
Inputs of Hermitian-only ops are symmetrised inside `fn`, so finite differences see the
same function PyTorch differentiates.
"""

from __future__ import annotations

import numpy as np

from .harness import Row

F32_64 = ("float32", "float64")
INF = float("inf")


def _shapes(case):
    return [s for s in case if isinstance(s, tuple)]


def _square(rng, case, dtype):
    """Well-conditioned square matrices (random + a dominant diagonal)."""
    out = []
    for shape in case:
        a = rng.uniform(-1, 1, size=shape)
        if len(shape) >= 2 and shape[-1] == shape[-2]:
            a = a + 2.5 * np.eye(shape[-1])
        out.append(a.astype(dtype))
    return out


def _spd(rng, case, dtype):
    """Symmetric positive-definite matrices first, then plain random operands."""
    out = []
    for i, shape in enumerate(case):
        a = rng.uniform(-1, 1, size=shape)
        if i == 0:
            a = a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])
        out.append(a.astype(dtype))
    return out


def _distinct(rng, case, dtype):
    """Matrices with well-separated eigenvalues (real, or complex pairs)."""
    out = []
    for shape in case:
        n = shape[-1]
        q = rng.uniform(-1, 1, size=shape) + 2 * np.eye(n)
        d = np.diag(np.arange(1, n + 1) * 1.5 - n + 0.3)
        out.append((q @ d @ np.linalg.inv(q)).astype(dtype))
    return out


def _sym(m, a):
    return (a + a.mT) * 0.5


def _svd_parts(m, a, full):
    u, s, vh = m.linalg.svd(a, full_matrices=full)
    k = s.shape[-1]
    return s, u[..., :k].abs(), vh[..., :k, :].abs(), u @ u.mT, vh.mT @ vh


def _eig_parts(m, a):
    lam, v = m.linalg.eig(a)
    return lam.real, lam.imag, v.abs()


def _eigh_parts(m, a, uplo="L"):
    lam, v = m.linalg.eigh(_sym(m, a), UPLO=uplo)
    return lam, v.abs()


def _lstsq(driver):
    def fn(m, a, b):
        r = m.linalg.lstsq(a, b, driver=driver)
        return r.solution, r.residuals, r.rank, r.singular_values
    return fn


SQUARE = [((3, 3),), ((2, 4, 4),), ((0, 3, 3),), ((1, 1),)]
RECT = [((4, 4),), ((5, 3),), ((3, 5),), ((2, 4, 3),), ((2, 3, 4),), ((0, 3, 2),)]
VECTORS = [((2, 3, 4),), ((4,),), ((),), ((0, 3),)]

ROWS = [
    # inverse and determinants
    Row("linalg_inv_ex", lambda m, a: m.linalg.inv(a), SQUARE + [((0, 0),)], dtypes=F32_64,
        make=_square, atol=1e-4, name="linalg_inv"),
    Row("linalg_inv_ex", lambda m, a: tuple(m.linalg.inv_ex(a)) + (m.inverse(a), a.inverse()),
        [((2, 3, 3),)], dtypes=F32_64, make=_square, atol=1e-4, name="linalg_inv_ex"),
    Row("linalg_det", lambda m, a: (m.linalg.det(a), m.det(a), a.det()), SQUARE,
        dtypes=F32_64, make=_square, atol=1e-4, name="linalg_det"),
    Row("linalg_slogdet", lambda m, a: tuple(m.linalg.slogdet(a)) + tuple(m.slogdet(-a)),
        SQUARE, dtypes=F32_64, make=_square, atol=1e-4, name="linalg_slogdet"),
    Row("linalg_slogdet", lambda m, a: (m.logdet(a), a.logdet()), [((3, 3),), ((2, 2, 2),)],
        dtypes=F32_64, make=_spd, atol=1e-4, name="logdet"),
    # SVD: gauge-invariant views of U and Vh
    Row("linalg_svd", lambda m, a: _svd_parts(m, a, False), RECT, dtypes=F32_64, atol=1e-4,
        name="linalg_svd_reduced"),
    # full_matrices: the extra columns of U (or rows of Vh) are any orthonormal completion
    # and carry no gradient (as in PyTorch): only their shape and orthogonality are checked
    Row("linalg_svd", lambda m, a: _svd_parts(m, a, True)[:3], RECT, dtypes=F32_64,
        atol=1e-4, name="linalg_svd_full"),
    Row("linalg_svd", lambda m, a: _svd_parts(m, a, True)[3:], RECT, dtypes=F32_64,
        atol=1e-4, grad=False, name="linalg_svd_full_orthogonal"),
    Row("linalg_svd", lambda m, a: (m.linalg.svdvals(a), m.svd(a).S,
                                    m.svd(a, some=False).V.abs()[..., :1]),
        RECT, dtypes=F32_64, atol=1e-4, name="linalg_svdvals"),
    Row("linalg_svd", lambda m, a: (lambda u, s, vh: (u * s.unsqueeze(-2)) @ vh)(
        *m.linalg.svd(a, full_matrices=False)), [((4, 3),), ((2, 3, 5),)], dtypes=F32_64,
        atol=1e-4, name="linalg_svd_reconstruct"),
    # eigen-decompositions
    # LAPACK builds differ in the order of eigenvalues in float32: float64 compares the order
    # (NumPy and PyTorch agree there), float32 compares order-free functions of them.
    Row("linalg_eig", _eig_parts, [((3, 3),), ((2, 4, 4),), ((0, 2, 2),)], dtypes=("float64",),
        make=_distinct, atol=1e-4, name="linalg_eig"),
    Row("linalg_eig", lambda m, a: (lambda lam, v: ((lam * lam).sum(-1).real,
                                                    (lam * lam * lam).sum(-1).imag,
                                                    lam.abs().amax(-1),
                                                    v.abs().amax(-1).amax(-1)))(
        *m.linalg.eig(a)), [((3, 3),), ((2, 4, 4),)], dtypes=("float32",), make=_distinct,
        atol=1e-4, name="linalg_eig_f32"),
    Row("linalg_eig", lambda m, a: (m.linalg.eigvals(a), m.linalg.eig(a).eigenvalues),
        [((4, 4),), ((2, 3, 3),)], dtypes=("float64",), make=lambda r, c, d: [
            r.uniform(-1, 1, size=c[0]).astype(d)], grad=False, atol=1e-4,
        name="linalg_eigvals_complex"),
    Row("linalg_eig", lambda m, a: (lambda lam: (lam.real, lam.imag))(m.linalg.eigvals(a)),
        [((4, 4),), ((2, 3, 3),)], dtypes=("float64",), make=_distinct, atol=1e-4,
        name="linalg_eigvals"),
    Row("linalg_eigh", _eigh_parts, SQUARE, dtypes=F32_64, make=_distinct, atol=1e-4,
        name="linalg_eigh"),
    Row("linalg_eigh", lambda m, a: (m.linalg.eigvalsh(_sym(m, a)),
                                     m.linalg.eigvalsh(_sym(m, a), UPLO="U")),
        SQUARE, dtypes=F32_64, make=_distinct, atol=1e-4, name="linalg_eigvalsh"),
    # QR and Cholesky
    Row("linalg_qr", lambda m, a: tuple(m.linalg.qr(a)), RECT, dtypes=F32_64, atol=1e-4,
        name="linalg_qr"),
    Row("linalg_qr", lambda m, a: tuple(m.linalg.qr(a, mode="complete")),
        [((4, 4),), ((3, 5),), ((2, 2, 4),)], dtypes=F32_64, atol=1e-4,
        name="linalg_qr_complete"),
    Row("linalg_qr", lambda m, a: (m.linalg.qr(a, mode="complete").Q @ a.new_ones(5, 1),
                                   m.linalg.qr(a, mode="r").R),
        [((5, 3),)], dtypes=F32_64, atol=1e-4, grad=False, name="linalg_qr_complete_tall"),
    Row("linalg_cholesky_ex", lambda m, a: (m.linalg.cholesky(_sym(m, a)),
                                            m.linalg.cholesky(_sym(m, a), upper=True)),
        [((3, 3),), ((2, 4, 4),), ((0, 2, 2),)], dtypes=F32_64, make=_spd, atol=1e-4,
        name="linalg_cholesky"),
    Row("linalg_cholesky_ex", lambda m, a: tuple(m.linalg.cholesky_ex(_sym(m, a))),
        [((2, 3, 3),)], dtypes=F32_64, make=_spd, atol=1e-4, name="linalg_cholesky_ex"),
    # solves
    Row("linalg_solve_ex", lambda m, a, b: m.linalg.solve(a, b),
        [((3, 3), (3, 2)), ((3, 3), (3,)), ((2, 3, 3), (2, 3)), ((2, 3, 3), (3,)),
         ((2, 1, 3, 3), (4, 3, 2)), ((0, 3, 3), (0, 3, 1)), ((3, 3), (3, 0))],
        dtypes=F32_64, make=_square, atol=1e-4, name="linalg_solve"),
    Row("linalg_solve_ex", lambda m, a, b: (m.linalg.solve(a, b, left=False),
                                            *m.linalg.solve_ex(a, b.mT)),
        [((3, 3), (2, 3)), ((2, 3, 3), (1, 4, 3))], dtypes=F32_64, make=_square, atol=1e-4,
        name="linalg_solve_right"),
    Row("linalg_solve_ex", lambda m, a, b: (
        m.linalg.solve_triangular(a, b, upper=True),
        m.linalg.solve_triangular(a, b, upper=False, unitriangular=True),
        m.linalg.solve_triangular(a, b.mT, upper=False, left=False)),
        [((3, 3), (3, 2)), ((2, 3, 3), (3, 3))], dtypes=F32_64, make=_square, atol=1e-4,
        name="linalg_solve_triangular"),
    Row("linalg_solve_ex", lambda m, a, b: (m.cholesky_solve(b, a), m.cholesky_inverse(a)),
        [((3, 3), (3, 2))], dtypes=F32_64,
        make=lambda r, c, d: [np.linalg.cholesky(_spd(r, c[:1], "float64")[0]).astype(d),
                              r.uniform(-1, 1, size=c[1]).astype(d)],
        atol=1e-4, name="cholesky_solve"),
    Row("linalg_pinv", lambda m, a: (m.linalg.pinv(a), m.pinverse(a)), RECT, dtypes=F32_64,
        atol=1e-4, name="linalg_pinv"),
    Row("linalg_pinv", lambda m, a: m.linalg.pinv(_sym(m, a), hermitian=True), SQUARE,
        dtypes=F32_64, make=_square, atol=1e-4, name="linalg_pinv_hermitian"),
    Row("linalg_lstsq", _lstsq("gelsd"), [((5, 3), (5, 2)), ((2, 4, 2), (2, 4, 3))],
        dtypes=F32_64, atol=1e-4, name="linalg_lstsq_gelsd"),
    Row("linalg_lstsq", _lstsq(None), [((5, 3), (5, 2)), ((5, 3), (5,)), ((3, 5), (3, 2))],
        dtypes=F32_64, atol=1e-4, name="linalg_lstsq"),
    # norms
    Row("linalg_vector_norm", lambda m, a: tuple(
        m.linalg.vector_norm(a, o) for o in (2, 1, 3, 0.5, INF, -INF, -1.5, 0)),
        [((2, 3, 4),), ((4,),), ((),)], dtypes=F32_64, name="linalg_vector_norm"),
    Row("linalg_vector_norm", lambda m, a: (
        m.linalg.vector_norm(a, 2, dim=-1), m.linalg.vector_norm(a, 1, dim=(0, -1), keepdim=True),
        m.linalg.vector_norm(a, INF, dim=-1), m.linalg.vector_norm(a, 3, dim=-1, keepdim=True),
        m.linalg.vector_norm(a, dtype=m.float64)),
        [((2, 3, 4),), ((3, 4),), ((0, 4),)], dtypes=F32_64, name="linalg_vector_norm_dims"),
    Row("linalg_vector_norm", lambda m, a: (m.linalg.vector_norm(a, 2, dim=0),
                                            m.linalg.vector_norm(a, 0.5, 0, keepdim=True)),
        [((),)], dtypes=F32_64, name="linalg_vector_norm_0d"),
    Row(("linalg_vector_norm", "linalg_svd"), lambda m, a: tuple(
        m.linalg.matrix_norm(a, o) for o in ("fro", "nuc", 1, -1, 2, -2, INF, -INF)),
        [((3, 3),), ((2, 3, 4),), ((0, 2, 2),)], dtypes=F32_64, atol=1e-4,
        name="linalg_matrix_norm"),
    Row(("linalg_vector_norm", "linalg_svd"), lambda m, a: (
        m.linalg.matrix_norm(a, "nuc", dim=(0, 2), keepdim=True),
        m.linalg.matrix_norm(a, 1, dim=(2, 0)), m.linalg.matrix_norm(a, -INF, dim=(0, 1),
                                                                     keepdim=True),
        m.linalg.matrix_norm(a, 2, dim=(-1, 0))),
        [((3, 2, 4),)], dtypes=F32_64, atol=1e-4, name="linalg_matrix_norm_dims"),
    Row(("linalg_vector_norm", "linalg_svd"), lambda m, a: (
        m.linalg.norm(a), m.linalg.norm(a, INF), m.linalg.norm(a, 1, dim=0),
        m.linalg.norm(a, "nuc"), m.linalg.norm(a, -2, dim=(1, 0), keepdim=True)),
        [((3, 4),)], dtypes=F32_64, atol=1e-4, name="linalg_norm"),
    Row("linalg_vector_norm", lambda m, a: (m.linalg.norm(a), m.linalg.norm(a, 3),
                                            m.linalg.norm(a, -INF)),
        [((4,),)], dtypes=F32_64, name="linalg_norm_vector"),
    Row(("linalg_vector_norm", "linalg_svd"), lambda m, a: (
        m.norm(a), a.norm(p=1), m.norm(a, p="fro", dim=1), m.norm(a, p="nuc"),
        a.norm(3, dim=(0, 1), keepdim=True), m.norm(a, p=INF), m.norm(a, 0, 1, True)),
        [((3, 4),)], dtypes=F32_64, atol=1e-4, name="norm_legacy"),
    Row("linalg_vector_norm", lambda m, a, b: (m.dist(a, b), a.dist(b, 1), m.dist(a, b, INF),
                                               m.dist(a, b, 0.5)),
        [((2, 3), (3,))], dtypes=F32_64, name="dist"),
    Row("linalg_svd", lambda m, a: (m.linalg.cond(a), m.linalg.cond(a, -2)),
        [((3, 3),), ((2, 4, 4),)], dtypes=F32_64, make=_square, atol=1e-4, name="linalg_cond"),
    # PyTorch's own backward of cond(A, p) for p != +-2 fails (it modifies a saved inverse in place)
    Row(("linalg_svd", "linalg_inv_ex"), lambda m, a: tuple(
        m.linalg.cond(a, p) for p in (1, -1, INF, -INF, "nuc", "fro")), [((3, 3),), ((2, 4, 4),)],
        dtypes=F32_64, make=_square, atol=1e-4, grad=False, name="linalg_cond_orders"),
    Row(("linalg_svd", "linalg_eigh"), lambda m, a: (
        m.linalg.matrix_rank(a), m.linalg.matrix_rank(a, hermitian=True),
        m.linalg.matrix_rank(a, atol=0.5, rtol=0.0), m.linalg.matrix_rank(a, tol=1.0)),
        [((4, 4),), ((2, 3, 3),)], dtypes=F32_64,
        make=lambda r, c, d: [(lambda x: x @ np.swapaxes(x, -1, -2))(
            r.uniform(-1, 1, size=c[0][:-1] + (2,))).astype(d)],
        grad=False, name="linalg_matrix_rank"),
    # products
    Row(("matmul", "linalg_inv_ex"), lambda m, a: (
        m.linalg.matrix_power(a, 0), m.linalg.matrix_power(a, 1), m.linalg.matrix_power(a, 2),
        m.linalg.matrix_power(a, 5), m.matrix_power(a, -3), a.matrix_power(3)),
        [((3, 3),), ((2, 2, 2),), ((0, 2, 2),)], dtypes=F32_64, make=_square, atol=1e-3,
        rtol=1e-3, name="linalg_matrix_power"),
    Row("matmul", lambda m, a: (m.linalg.matrix_power(a, 4), m.linalg.matrix_power(a, 0)),
        [((3, 3),)], dtypes=("int64",), grad=False, name="linalg_matrix_power_int"),
    Row("matmul", lambda m, a, b, c, d: (m.linalg.multi_dot([a, b, c, d]),
                                         m.linalg.multi_dot([b, c]),
                                         m.linalg.multi_dot([a, b, c, d[:, 0]])),
        [((3,), (3, 4), (4, 2), (2, 5))], dtypes=F32_64, name="linalg_multi_dot"),
    Row("linalg_cross", lambda m, a, b: (m.linalg.cross(a, b), m.cross(a, b, dim=-1),
                                         a.cross(b, -1)),
        [((3,), (3,)), ((2, 3), (1, 3)), ((4, 2, 3), (4, 1, 3)),
         ((0, 3), (0, 3))], dtypes=F32_64, name="linalg_cross"),
    Row("linalg_cross", lambda m, a, b: m.linalg.cross(a, b, dim=0), [((3, 4), (3, 1))],
        dtypes=F32_64, name="linalg_cross_dim"),
    Row("linalg_cross", lambda m, a, b: m.linalg.cross(a, b), [((2, 3), (2, 3))],
        dtypes=("int64",), grad=False, name="linalg_cross_int"),
    Row(("mul", "sum"), lambda m, a, b: (m.linalg.vecdot(a, b), m.linalg.vecdot(a, b, dim=0)),
        [((3, 4), (4,)), ((4, 4), (4, 1))], dtypes=F32_64, name="linalg_vecdot"),
    Row("trace", lambda m, a: (m.trace(a), a.trace()), [((3, 3),), ((3, 5),), ((4, 2),),
                                                       ((0, 0),)],
        dtypes=F32_64, name="trace"),
    Row("trace", lambda m, a: m.trace(a), [((3, 4),)], dtypes=("int64", "int32"), grad=False,
        name="trace_int"),
]
