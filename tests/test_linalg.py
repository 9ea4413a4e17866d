"""torch.linalg and the legacy linear-algebra functions against PyTorch: error types and
messages, return types, legacy conventions, complex gradients and what the op table cannot
express (warnings, LinAlgError, data-dependent outputs)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import graphtorch as gt

torch = pytest.importorskip("torch")

INF = float("inf")
RNG = np.random.default_rng(0)
M23 = RNG.uniform(-1, 1, (2, 3)).astype(np.float32)
M33 = RNG.uniform(-1, 1, (3, 3)).astype(np.float32)


def _t(m, x, **kw):
    return m.tensor(np.asarray(x), **kw)


def _both(fn):
    """Run fn(lib) on torch and graphtorch; return both outcomes (value or exception)."""
    out = []
    for m in (torch, gt):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out.append(fn(m))
        except Exception as exc:  # noqa: BLE001  (the exception is the result under test)
            out.append(exc)
    return out


ERRORS = {
    "inv_nonsquare": lambda m: m.linalg.inv(_t(m, M23)),
    "inv_int": lambda m: m.linalg.inv(m.ones(3, 3, dtype=m.long)),
    "inv_1d": lambda m: m.linalg.inv(m.ones(3)),
    "inv_half": lambda m: m.linalg.inv(m.eye(3, dtype=m.half)),
    "inv_singular": lambda m: m.linalg.inv(m.zeros(3, 3)),
    "inv_singular_batch": lambda m: m.linalg.inv(
        _t(m, np.stack([np.eye(3), np.zeros((3, 3))]).astype(np.float32))),
    "inv_ex_check": lambda m: m.linalg.inv_ex(m.zeros(2, 2), check_errors=True),
    "inv_list": lambda m: m.linalg.inv([1.0]),
    "det_nonsquare": lambda m: m.linalg.det(_t(m, M23)),
    "det_int": lambda m: m.linalg.det(m.ones(3, 3, dtype=m.long)),
    "det_half": lambda m: m.linalg.det(m.eye(3, dtype=m.half)),
    "slogdet_1d": lambda m: m.linalg.slogdet(m.ones(3)),
    "svd_int": lambda m: m.linalg.svd(m.ones(3, 3, dtype=m.long)),
    "svd_driver": lambda m: m.linalg.svd(m.eye(2), driver="gesvd"),
    "svdvals_1d": lambda m: m.linalg.svdvals(m.ones(3)),
    "eig_nonsquare": lambda m: m.linalg.eig(_t(m, M23)),
    "eig_int": lambda m: m.linalg.eig(m.ones(3, 3, dtype=m.long)),
    "eigvals_nonsquare": lambda m: m.linalg.eigvals(_t(m, M23)),
    "eigh_int": lambda m: m.linalg.eigh(m.ones(3, 3, dtype=m.long)),
    "eigh_uplo": lambda m: m.linalg.eigh(m.eye(3), UPLO="X"),
    "eigvalsh_nonsquare": lambda m: m.linalg.eigvalsh(_t(m, M23)),
    "qr_mode": lambda m: m.linalg.qr(_t(m, M23), mode="bad"),
    "qr_int": lambda m: m.linalg.qr(m.ones(3, 3, dtype=m.long)),
    "cholesky_not_pd": lambda m: m.linalg.cholesky(-m.eye(3)),
    "cholesky_not_pd_batch": lambda m: m.linalg.cholesky(
        _t(m, np.stack([np.eye(3), -np.eye(3)]).astype(np.float32))),
    "cholesky_minor": lambda m: m.linalg.cholesky(_t(m, np.diag([1.0, 2.0, -1.0]))),
    "cholesky_ex_check": lambda m: m.linalg.cholesky_ex(-m.eye(2), check_errors=True),
    "cholesky_nonsquare": lambda m: m.linalg.cholesky(_t(m, M23)),
    "solve_singular": lambda m: m.linalg.solve(m.zeros(3, 3), m.ones(3)),
    "solve_shape": lambda m: m.linalg.solve(m.eye(3), m.ones(4)),
    "solve_shape_matrix": lambda m: m.linalg.solve(m.eye(3), m.ones(4, 2)),
    "solve_shape_batch": lambda m: m.linalg.solve(m.ones(2, 3, 3), m.ones(4, 3)),
    "solve_right_vector": lambda m: m.linalg.solve(m.eye(3), m.ones(3), left=False),
    "solve_dtype": lambda m: m.linalg.solve(m.eye(3), m.ones(3, dtype=m.float64)),
    "solve_int": lambda m: m.linalg.solve(m.ones(3, 3, dtype=m.long), m.ones(3)),
    "solve_1d_A": lambda m: m.linalg.solve(m.ones(3), m.ones(3)),
    "solve_0d_B": lambda m: m.linalg.solve(m.eye(3), m.tensor(1.0)),
    "solve_0d_B_dtype": lambda m: m.linalg.solve(m.eye(3), _t(m, 1.0)),
    "pinv_int": lambda m: m.linalg.pinv(m.ones(3, 3, dtype=m.long)),
    "pinv_1d": lambda m: m.linalg.pinv(m.ones(3)),
    "lstsq_half": lambda m: m.linalg.lstsq(m.eye(3, dtype=m.half), m.eye(3, dtype=m.half)),
    "cholesky_ex_half": lambda m: m.linalg.cholesky_ex(m.eye(3, dtype=m.half)),
    "solve_half": lambda m: m.linalg.solve(m.eye(3, dtype=m.half), m.eye(3, dtype=m.half)),
    "eigh_half": lambda m: m.linalg.eigh(m.eye(3, dtype=m.half)),
    "lstsq_driver": lambda m: m.linalg.lstsq(m.eye(3), m.eye(3), driver="foo"),
    "lstsq_dtype": lambda m: m.linalg.lstsq(m.eye(3), m.eye(3, dtype=m.float64)),
    "lstsq_shape": lambda m: m.linalg.lstsq(m.ones(5, 3), m.ones(4, 2)),
    "matrix_rank_1d": lambda m: m.linalg.matrix_rank(m.ones(3)),
    "matrix_rank_int": lambda m: m.linalg.matrix_rank(m.ones(3, 3, dtype=m.long)),
    "vector_norm_int": lambda m: m.linalg.vector_norm(m.ones(3, dtype=m.long)),
    "vector_norm_str": lambda m: m.linalg.vector_norm(m.ones(3), "fro"),
    "vector_norm_empty_neg": lambda m: m.linalg.vector_norm(m.zeros(0), -1),
    "vector_norm_empty_negf": lambda m: m.linalg.vector_norm(m.zeros(0), -1.5),
    "vector_norm_empty_inf": lambda m: m.linalg.vector_norm(m.zeros(0), INF),
    "vector_norm_empty_dim": lambda m: m.linalg.vector_norm(m.zeros(0, 3), INF, dim=0),
    "vector_norm_dup_dim": lambda m: m.linalg.vector_norm(m.ones(3, 2), dim=(0, 0)),
    "vector_norm_dtype_int": lambda m: m.linalg.vector_norm(m.ones(3), dtype=m.long),
    "vector_norm_dtype_narrow": lambda m: m.linalg.vector_norm(m.ones(3, dtype=m.float64),
                                                               dtype=m.float32),
    "vector_norm_dtype_complex": lambda m: m.linalg.vector_norm(
        m.ones(3, dtype=m.complex64), dtype=m.float32),
    "vector_norm_list": lambda m: m.linalg.vector_norm([1.0]),
    "matrix_norm_ord": lambda m: m.linalg.matrix_norm(m.ones(3, 3), 3),
    "matrix_norm_ord_float": lambda m: m.linalg.matrix_norm(m.ones(3, 3), 2.5),
    "matrix_norm_ord_str": lambda m: m.linalg.matrix_norm(m.ones(3, 3), "abc"),
    "matrix_norm_dim1": lambda m: m.linalg.matrix_norm(m.ones(3, 2, 2), dim=(1,)),
    "matrix_norm_dim3": lambda m: m.linalg.matrix_norm(m.ones(3, 3, 3), dim=(0, 1, 2)),
    "matrix_norm_same_dims": lambda m: m.linalg.matrix_norm(m.ones(3, 2, 2), dim=(1, -2)),
    "matrix_norm_1d": lambda m: m.linalg.matrix_norm(m.ones(3)),
    "matrix_norm_int": lambda m: m.linalg.matrix_norm(m.ones(3, 3, dtype=m.long)),
    "norm_3d_ord": lambda m: m.linalg.norm(m.ones(3, 3, 3), 2),
    "norm_3d_fro": lambda m: m.linalg.norm(m.ones(3, 3, 3), "fro"),
    "norm_dim3": lambda m: m.linalg.norm(m.ones(3, 2, 2), dim=(0, 1, 2)),
    "norm_vector_fro": lambda m: m.linalg.norm(m.ones(3), "fro"),
    "cond_ord": lambda m: m.linalg.cond(m.eye(2), 3),
    "cond_ord_str": lambda m: m.linalg.cond(m.eye(2), "abc"),
    "cond_nonsquare": lambda m: m.linalg.cond(m.ones(2, 3), 1),
    "cond_nonsquare_fro": lambda m: m.linalg.cond(m.ones(2, 3), "fro"),
    "cond_nonsquare_inf": lambda m: m.linalg.cond(m.ones(2, 3), INF),
    "cond_1d": lambda m: m.linalg.cond(m.ones(3)),
    "matrix_power_nonsquare": lambda m: m.linalg.matrix_power(_t(m, M23), 2),
    "matrix_power_1d": lambda m: m.linalg.matrix_power(m.ones(3), 2),
    "matrix_power_int_neg": lambda m: m.linalg.matrix_power(m.ones(2, 2, dtype=m.long), -1),
    "multi_dot_one": lambda m: m.linalg.multi_dot([m.ones(2, 2)]),
    "multi_dot_none": lambda m: m.linalg.multi_dot([]),
    "multi_dot_shape": lambda m: m.linalg.multi_dot([m.ones(2, 3), m.ones(2, 3)]),
    "multi_dot_vector_shape": lambda m: m.linalg.multi_dot([m.ones(3), m.ones(2, 2)]),
    "multi_dot_last_3d": lambda m: m.linalg.multi_dot([m.ones(2, 3), m.ones(2, 3, 3)]),
    "multi_dot_first_0d": lambda m: m.linalg.multi_dot([m.ones(()), m.ones(2)]),
    "multi_dot_middle_1d": lambda m: m.linalg.multi_dot([m.ones(2, 3), m.ones(3), m.ones(3)]),
    "multi_dot_dtype": lambda m: m.linalg.multi_dot([m.ones(2, 3),
                                                     m.ones(3, dtype=m.float64)]),
    "multi_dot_dtype_int": lambda m: m.linalg.multi_dot([m.ones(2, 2, dtype=m.long),
                                                         m.ones(2, 2)]),
    "cross_size": lambda m: m.linalg.cross(m.ones(4), m.ones(4)),
    "cross_ndim": lambda m: m.linalg.cross(m.ones(3), m.ones(2, 3)),
    "cross_dtype": lambda m: m.linalg.cross(m.ones(3), m.ones(3, dtype=m.float64)),
    "cross_no_dim_of_3": lambda m: m.cross(m.ones(2, 2), m.ones(2, 2)),
    "vecdot_int": lambda m: m.linalg.vecdot(m.ones(3, dtype=m.long), m.ones(3, dtype=m.long)),
    "vecdot_dtype": lambda m: m.linalg.vecdot(m.ones(3), m.ones(3, dtype=m.complex64)),
    "vecdot_size": lambda m: m.linalg.vecdot(m.ones(3), m.ones(4)),
    "trace_3d": lambda m: m.trace(m.ones(2, 2, 2)),
    "trace_1d": lambda m: m.trace(m.ones(2)),
    "trace_bool": lambda m: m.trace(m.ones(2, 2, dtype=m.bool)),
    "logdet_nonsquare": lambda m: m.logdet(_t(m, M23)),
    "logdet_int": lambda m: m.logdet(m.ones(2, 2, dtype=m.long)),
    "legacy_cholesky_not_pd": lambda m: m.cholesky(-m.eye(2)),
    "legacy_cholesky_nonsquare": lambda m: m.cholesky(_t(m, M23)),
    "legacy_cholesky_int": lambda m: m.cholesky(m.ones(2, 2, dtype=m.long)),
    "legacy_inverse_singular": lambda m: m.inverse(m.zeros(2, 2)),
    "legacy_dist_int": lambda m: m.dist(m.ones(2, dtype=m.long), m.ones(2, dtype=m.long)),
    "legacy_norm_nuc_3d": lambda m: m.norm(m.ones(2, 2, 2), p="nuc"),
    "legacy_norm_bad_str": lambda m: m.norm(m.ones(2, 2), p="abc"),
    "legacy_norm_nuc_dim1": lambda m: m.norm(m.ones(3, 3), p="nuc", dim=1),
    "legacy_chain_matmul_none": lambda m: m.chain_matmul(),
    "legacy_cholesky_solve_vector": lambda m: m.cholesky_solve(m.ones(2), m.eye(2)),
    "removed_eig": lambda m: m.eig(m.eye(2)),
    "removed_eig_method": lambda m: m.eye(2).eig(eigenvectors=False),
    "removed_symeig": lambda m: m.eye(2).symeig(),
    "removed_lstsq": lambda m: m.lstsq(m.eye(2), m.eye(2)),
    "removed_solve": lambda m: m.eye(2).solve(m.eye(2)),
    "removed_matrix_rank": lambda m: m.matrix_rank(m.eye(2)),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_error_matches_torch(name):
    expected, got = _both(ERRORS[name])
    assert isinstance(expected, Exception), f"torch did not raise: {expected!r}"
    assert isinstance(got, Exception), f"graphtorch did not raise, returned {got!r}"
    if isinstance(expected, torch.linalg.LinAlgError):
        assert isinstance(got, gt.linalg.LinAlgError), repr(got)
    else:
        assert type(got).__name__ == type(expected).__name__, repr(got)
    assert str(got) == str(expected)


def test_linalg_error_is_runtime_error():
    assert issubclass(gt.linalg.LinAlgError, RuntimeError)
    with pytest.raises(RuntimeError, match="singular"):
        gt.linalg.inv(gt.zeros(2, 2))


RETURN_TYPES = [
    ("linalg_inv_ex", lambda m, a: m.linalg.inv_ex(a)),
    ("linalg_slogdet", lambda m, a: m.linalg.slogdet(a)),
    ("linalg_svd", lambda m, a: m.linalg.svd(a)),
    ("linalg_eig", lambda m, a: m.linalg.eig(a)),
    ("linalg_eigh", lambda m, a: m.linalg.eigh(a + a.mT)),
    ("linalg_qr", lambda m, a: m.linalg.qr(a)),
    ("linalg_cholesky_ex", lambda m, a: m.linalg.cholesky_ex(a @ a.mT + m.eye(3))),
    ("linalg_solve_ex", lambda m, a: m.linalg.solve_ex(a, a)),
    ("linalg_lstsq", lambda m, a: m.linalg.lstsq(a, a)),
    ("slogdet", lambda m, a: m.slogdet(a)),
    ("svd", lambda m, a: m.svd(a)),
    ("qr", lambda m, a: m.qr(a)),
]


@pytest.mark.parametrize("name,fn", RETURN_TYPES, ids=[r[0] for r in RETURN_TYPES])
def test_return_types(name, fn):
    expected, got = _both(lambda m: fn(m, _t(m, M33)))
    assert type(got).__name__ == type(expected).__name__ == name
    for field in got._fields:
        assert getattr(got, field) is not None and getattr(expected, field) is not None
    assert len(got) == len(expected)
    assert repr(got).startswith(f"torch.return_types.{name}(")
    for g, e in zip(got, expected):
        assert tuple(g.shape) == tuple(e.shape)
        assert repr(g.dtype) == str(e.dtype)


def test_grad_fn_names():
    a = gt.tensor(M33.astype(np.float64) + 3 * np.eye(3), requires_grad=True)
    spd = (a @ a.mT).detach().requires_grad_()
    names = {
        "LinalgInvExBackward0": gt.linalg.inv(a), "LinalgDetBackward0": gt.linalg.det(a),
        "LinalgSlogdetBackward0": gt.linalg.slogdet(a).logabsdet,
        "LinalgSvdBackward0": gt.linalg.svdvals(a), "LinalgEigBackward0": gt.linalg.eigvals(a),
        "LinalgEighBackward0": gt.linalg.eigvalsh(spd), "LinalgQrBackward0": gt.linalg.qr(a).R,
        "LinalgCholeskyExBackward0": gt.linalg.cholesky(spd),
        "LinalgSolveExBackward0": gt.linalg.solve(a, a), "LinalgPinvBackward0": gt.linalg.pinv(a),
        "LinalgLstsqBackward0": gt.linalg.lstsq(a, a).solution,
        "LinalgVectorNormBackward0": gt.linalg.norm(a),
        "LinalgCrossBackward0": gt.linalg.cross(a, a), "TraceBackward0": gt.trace(a),
    }
    for name, t in names.items():
        assert t.grad_fn.name() == name


def test_eig_matches_numpy_order_and_normalisation():
    a = RNG.uniform(-1, 1, (2, 4, 4))
    lam, v = gt.linalg.eig(gt.tensor(a))
    tl, tv = torch.linalg.eig(torch.tensor(a))
    assert lam.dtype == gt.complex128 and v.dtype == gt.complex128
    np.testing.assert_allclose(lam.numpy(), tl.numpy(), atol=1e-10)
    # unit-norm columns, equal to PyTorch's up to a phase per column
    overlap = np.abs(np.sum(v.numpy().conj() * tv.numpy(), axis=-2))
    np.testing.assert_allclose(overlap, 1.0, atol=1e-10)
    np.testing.assert_allclose(v.numpy()[0], tv.numpy()[0], atol=1e-10)
    assert gt.linalg.eigvals(gt.tensor(a.astype(np.float32))).dtype == gt.complex64


def test_inv_ex_and_cholesky_ex_report_info():
    batch = np.stack([np.eye(2), np.zeros((2, 2)), [[1.0, 2.0], [2.0, 4.0]]])
    inverse, info = gt.linalg.inv_ex(gt.tensor(batch))
    assert info.dtype == gt.int32
    np.testing.assert_array_equal(info.numpy(), [0, 1, 2])
    np.testing.assert_allclose(inverse.numpy()[0], np.eye(2))
    mats = np.stack([np.eye(3), np.diag([1.0, -1.0, 1.0]), np.diag([1.0, 1.0, 0.0])])
    low, info = gt.linalg.cholesky_ex(gt.tensor(mats))
    np.testing.assert_array_equal(info.numpy(), torch.linalg.cholesky_ex(
        torch.tensor(mats)).info.numpy())
    np.testing.assert_allclose(low.numpy()[0], np.eye(3))
    _, info = gt.linalg.solve_ex(gt.tensor(batch), gt.ones(3, 2, dtype=gt.float64))
    np.testing.assert_array_equal(info.numpy(), [0, 1, 2])


def test_empty_inputs_match_torch():
    cases = [
        lambda m: m.linalg.svd(m.zeros(0, 3)),
        lambda m: m.linalg.svd(m.zeros(2, 0, 3), full_matrices=False),
        lambda m: m.linalg.eig(m.zeros(0, 3, 3)),
        lambda m: (m.linalg.det(m.zeros(0, 0)), m.linalg.inv(m.zeros(2, 0, 0))),
        lambda m: (m.linalg.matrix_norm(m.ones(0, 2), 2), m.linalg.matrix_norm(m.ones(0, 2), 1),
                   m.linalg.matrix_norm(m.ones(0, 2), INF), m.linalg.matrix_norm(m.ones(0, 2),
                                                                                 "nuc")),
        lambda m: (m.linalg.svdvals(m.ones(3, 0)), m.linalg.eigvalsh(m.ones(0, 0)),
                   m.linalg.matrix_rank(m.ones(2, 0, 3)), m.linalg.vector_norm(m.zeros(0))),
        lambda m: (m.linalg.cond(m.ones(0, 2, 2)), m.linalg.matrix_power(m.ones(0, 3, 3), 5)),
    ]
    for fn in cases:
        expected, got = _both(fn)
        for e, g in zip(expected if isinstance(expected, tuple) else (expected,),
                        got if isinstance(got, tuple) else (got,)):
            assert tuple(g.shape) == tuple(e.shape)
            assert repr(g.dtype) == str(e.dtype)
            np.testing.assert_allclose(g.numpy(), e.numpy())


def test_lstsq_drivers_and_broadcasting():
    a = RNG.uniform(-1, 1, (2, 5, 3))
    b = RNG.uniform(-1, 1, (1, 5, 2))
    for driver in (None, "gels", "gelsy", "gelsd", "gelss"):
        expected, got = _both(lambda m: m.linalg.lstsq(_t(m, a), _t(m, b), driver=driver))
        for e, g in zip(expected, got):
            assert tuple(g.shape) == tuple(e.shape), driver
            assert repr(g.dtype) == str(e.dtype)
            np.testing.assert_allclose(g.numpy(), e.numpy(), atol=1e-10)
    rank = gt.linalg.lstsq(gt.tensor(np.ones((4, 3))), gt.tensor(np.ones((4, 1)))).rank
    assert rank.item() == 1


def test_pinv_and_matrix_rank_tolerances():
    diag = np.diag([1.0, 1e-3, 0.0]).astype(np.float32)
    for kwargs in ({"atol": 1e-3}, {"rtol": 1e-3}, {"rcond": 1e-2}, {"hermitian": True},
                   {"atol": 0.5, "rtol": 0.0}):
        expected, got = _both(lambda m: m.linalg.pinv(_t(m, diag), **kwargs))
        np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-5)
    for kwargs in ({"atol": 1e-3}, {"tol": 1e-3}, {"hermitian": True}, {"rtol": 1e-2}):
        expected, got = _both(lambda m: m.linalg.matrix_rank(_t(m, diag), **kwargs))
        assert got.item() == expected.item() and got.dtype == gt.int64
    expected, got = _both(lambda m: m.pinverse(_t(m, diag), rcond=1e-2))
    np.testing.assert_allclose(got.numpy(), expected.numpy())


def test_legacy_svd_returns_v_and_zero_factors_without_uv():
    a = RNG.uniform(-1, 1, (2, 5, 3))
    for kwargs in ({}, {"some": False}, {"compute_uv": False}):
        expected, got = _both(lambda m: m.svd(_t(m, a), **kwargs))
        assert got._fields == ("U", "S", "V")
        for e, g in zip(expected, got):
            assert tuple(g.shape) == tuple(e.shape)
        np.testing.assert_allclose(got.S.numpy(), expected.S.numpy())
        if kwargs.get("compute_uv", True):
            u, s, v = got
            rebuilt = (u[..., :3] * s.unsqueeze(-2)) @ v.mT
            np.testing.assert_allclose(rebuilt.numpy(), a, atol=1e-12)
        else:
            assert not got.U.numpy().any() and not got.V.numpy().any()
    got = gt.tensor(a).svd()
    np.testing.assert_allclose(np.abs(got.V.numpy()), np.abs(torch.tensor(a).svd().V.numpy()))


def test_legacy_functions_warn_once_like_torch():
    import graphtorch.linalg as la

    la._warn_once.__defaults__[0].clear()
    a = gt.tensor(M33.astype(np.float64))
    spd = a @ a.mT + gt.eye(3, dtype=gt.float64)
    with pytest.warns(UserWarning, match="torch.qr is deprecated"):
        q, r = gt.qr(a)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gt.qr(a, some=False)  # only once per process, as TORCH_WARN_ONCE
    np.testing.assert_allclose((q @ r).numpy(), a.numpy(), atol=1e-12)
    with pytest.warns(UserWarning, match="torch.cholesky is deprecated"):
        low = gt.cholesky(spd)
    np.testing.assert_allclose(low.numpy(), np.linalg.cholesky(spd.numpy()))
    np.testing.assert_allclose(spd.cholesky(upper=True).numpy(), low.mT.numpy())
    with pytest.warns(UserWarning, match="without specifying the dim"):
        out = gt.cross(gt.ones(3, 4), gt.tensor(np.arange(12.0).reshape(3, 4)).float())
    expected = torch.cross(torch.ones(3, 4), torch.arange(12.0).reshape(3, 4), dim=0)
    np.testing.assert_allclose(out.numpy(), expected.numpy())
    with pytest.warns(UserWarning, match="chain_matmul is deprecated"):
        out = gt.chain_matmul(a, a, a)
    np.testing.assert_allclose(out.numpy(), (a @ a @ a).numpy())


def test_legacy_norm_matches_torch():
    a = RNG.uniform(-1, 1, (2, 3, 4))
    cases = [
        lambda m, x: m.norm(x), lambda m, x: m.norm(x, p=1), lambda m, x: m.norm(x, p="fro"),
        lambda m, x: m.norm(x, p="fro", dim=(1, 2)), lambda m, x: m.norm(x, p="nuc", dim=(0, 2)),
        lambda m, x: m.norm(x, 3, 1, True), lambda m, x: m.norm(x, p=INF, dim=-1),
        lambda m, x: m.norm(x, dtype=m.float32), lambda m, x: x.norm(p=None, dim=0),
        lambda m, x: m.norm(x, p="fro", dim=(0, 1, 2)),
    ]
    for fn in cases:
        expected, got = _both(lambda m: fn(m, _t(m, a)))
        if isinstance(expected, Exception):
            assert str(got) == str(expected)
            continue
        assert tuple(got.shape) == tuple(expected.shape)
        assert repr(got.dtype) == str(expected.dtype)
        np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-6)


def test_logdet_negative_and_complex():
    expected, got = _both(lambda m: (m.logdet(_t(m, [[-1.0, 0.0], [0.0, 1.0]])),
                                     m.logdet(_t(m, [[1j, 0.0], [0.0, 1.0]])),
                                     m.logdet(m.zeros(2, 2))))
    for e, g in zip(expected, got):
        np.testing.assert_allclose(g.numpy(), e.numpy())


def test_out_arguments():
    a = gt.tensor(M33.astype(np.float64) + 3 * np.eye(3))
    out = gt.empty(3, 3, dtype=gt.float64)
    assert gt.linalg.inv(a, out=out) is out
    np.testing.assert_allclose((out @ a).numpy(), np.eye(3), atol=1e-12)
    u, s, vh = (gt.empty(0, dtype=gt.float64) for _ in range(3))
    result = gt.linalg.svd(a, out=(u, s, vh))
    assert result.U is u and result.S is s and tuple(vh.shape) == (3, 3)
    norm = gt.empty((), dtype=gt.float64)
    assert gt.linalg.vector_norm(a, out=norm) is norm


def _complex_grads(fn, *arrays):
    grads = []
    for m in (torch, gt):
        ts = [m.tensor(x.copy(), requires_grad=True) for x in arrays]
        outs = fn(m, *ts)
        outs = outs if isinstance(outs, tuple) else (outs,)
        rng = np.random.default_rng(1)
        loss = 0
        for o in outs:
            c = rng.uniform(-1, 1, tuple(o.shape))
            if o.is_complex():
                c = c + 1j * rng.uniform(-1, 1, tuple(o.shape))
            term = (o * m.tensor(c)).sum()
            loss = loss + (term.real if term.is_complex() else term)
        loss.backward()
        grads.append([t.grad.resolve_conj().numpy() if m is torch else t.grad.numpy()
                      for t in ts])
    return grads


def _crandn(*shape):
    return RNG.standard_normal(shape) + 1j * RNG.standard_normal(shape)


def _spd_c(n, batch=()):
    x = _crandn(*batch, n, n)
    return x @ np.swapaxes(x.conj(), -1, -2) + n * np.eye(n)


COMPLEX_GRADS = {
    "inv": (lambda m, a: m.linalg.inv(a), lambda: [_crandn(2, 3, 3)]),
    "det": (lambda m, a: m.linalg.det(a), lambda: [_crandn(2, 3, 3)]),
    "slogdet": (lambda m, a: tuple(m.linalg.slogdet(a)), lambda: [_crandn(2, 3, 3)]),
    "svd_tall": (lambda m, a: (lambda u, s, vh: (s, u @ u.mH, vh.mH @ vh, (u * s.to(u.dtype)
                                                                          .unsqueeze(-2)) @ vh))(
        *m.linalg.svd(a, full_matrices=False)), lambda: [_crandn(2, 4, 3)]),
    "svd_wide": (lambda m, a: (lambda u, s, vh: (s, u.abs(), vh.abs()))(
        *m.linalg.svd(a, full_matrices=False)), lambda: [_crandn(3, 5)]),
    "svdvals": (lambda m, a: m.linalg.svdvals(a), lambda: [_crandn(2, 3, 4)]),
    "eig": (lambda m, a: (lambda lam, v: (lam, v.abs(),
                                          v * v[..., :1, :].reciprocal()))(*m.linalg.eig(a)),
            lambda: [_crandn(2, 3, 3)]),
    "eig_real_input": (lambda m, a: (lambda lam, v: (lam, v.abs()))(*m.linalg.eig(a)),
                       lambda: [RNG.standard_normal((4, 4))]),
    "eigvals": (lambda m, a: m.linalg.eigvals(a), lambda: [_crandn(3, 3)]),
    "eigh": (lambda m, a: (lambda lam, v: (lam, v.abs(), v @ v.mH))(*m.linalg.eigh(a + a.mH)),
             lambda: [_spd_c(3, (2,))]),
    "qr_tall": (lambda m, a: tuple(m.linalg.qr(a)), lambda: [_crandn(2, 4, 3)]),
    "qr_wide": (lambda m, a: tuple(m.linalg.qr(a)), lambda: [_crandn(3, 5)]),
    "cholesky": (lambda m, a: (m.linalg.cholesky(a), m.linalg.cholesky(a, upper=True)),
                 lambda: [_spd_c(3, (2,))]),
    "solve": (lambda m, a, b: (m.linalg.solve(a, b), m.linalg.solve(a, b.mT, left=False),
                               m.linalg.solve(a, b[0])),
              lambda: [_crandn(2, 3, 3), _crandn(3, 3)]),
    "pinv": (lambda m, a: m.linalg.pinv(a), lambda: [_crandn(2, 4, 3)]),
    "lstsq": (lambda m, a, b: tuple(m.linalg.lstsq(a, b, driver="gelsd")[:2]),
              lambda: [_crandn(5, 3), _crandn(5, 2)]),
    "norms": (lambda m, a: (m.linalg.vector_norm(a, 3), m.linalg.vector_norm(a, INF, dim=-1),
                            m.linalg.vector_norm(a, 1, dim=0), m.linalg.matrix_norm(a, "nuc"),
                            m.linalg.matrix_norm(a, 2), m.linalg.norm(a)),
              lambda: [_crandn(3, 3)]),
    "cross": (lambda m, a, b: m.linalg.cross(a, b), lambda: [_crandn(2, 3), _crandn(1, 3)]),
    "trace_matrix_power": (lambda m, a: (m.trace(a), m.linalg.matrix_power(a, -2)),
                           lambda: [_crandn(3, 3) + 3 * np.eye(3)]),
    "vecdot_multi_dot": (lambda m, a, b: (m.linalg.vecdot(a, b),
                                          m.linalg.multi_dot([a, b.mT, a])),
                         lambda: [_crandn(3, 3), _crandn(3, 3)]),
}


@pytest.mark.parametrize("name", sorted(COMPLEX_GRADS))
def test_complex_gradients_match_torch(name):
    fn, make = COMPLEX_GRADS[name]
    expected, got = _complex_grads(fn, *make())
    for e, g in zip(expected, got):
        assert g.dtype == e.dtype
        np.testing.assert_allclose(g, e, atol=1e-8, rtol=1e-6)


def test_qr_and_svd_backward_errors():
    a = gt.tensor(RNG.uniform(-1, 1, (5, 3)), requires_grad=True)
    with pytest.raises(RuntimeError, match="mode='r'"):
        gt.linalg.qr(a, mode="r").R.sum().backward()
    with pytest.raises(RuntimeError, match="mode='complete' and nrows > ncols"):
        gt.linalg.qr(a, mode="complete").Q.sum().backward()


def test_degenerate_spectra_give_finite_gradients():
    """Repeated eigen/singular values: value-only losses stay finite (as in PyTorch)."""
    for fn in (lambda m, a: m.linalg.eigvalsh(a).sum(), lambda m, a: m.linalg.svdvals(a).sum(),
               lambda m, a: m.linalg.eigh(a).eigenvalues.sum(),
               lambda m, a: m.linalg.svd(a).S.sum(), lambda m, a: m.linalg.matrix_norm(a, 2)):
        grads = []
        for m in (torch, gt):
            a = m.eye(3, dtype=m.float64, requires_grad=True)
            fn(m, a).backward()
            grads.append(a.grad.numpy())
        np.testing.assert_allclose(grads[1], grads[0], atol=1e-12)


@pytest.mark.parametrize("scale", [0.1, 1.0, 7.0])
@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4), (0, 0)])
def test_matrix_exp_values_and_gradient(shape, scale):
    """linalg.matrix_exp / torch.matrix_exp / Tensor.matrix_exp in float64, also where the
    norm needs squarings, with the gradient of a weighted sum."""
    A = RNG.standard_normal(shape) * scale
    weights = RNG.standard_normal(shape)
    results = []
    for m in (torch, gt):
        a = m.tensor(A, requires_grad=True)
        out = m.linalg.matrix_exp(a)
        np.testing.assert_allclose(m.matrix_exp(a).detach().numpy(), out.detach().numpy())
        np.testing.assert_allclose(a.matrix_exp().detach().numpy(), out.detach().numpy())
        (out * m.tensor(weights)).sum().backward()
        results.append((out.detach().numpy(), a.grad.numpy()))
    (t_out, t_grad), (g_out, g_grad) = results
    np.testing.assert_allclose(g_out, t_out, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(g_grad, t_grad, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("bad", [M23, M23[0], np.ones((2, 2), dtype=np.int64)])
def test_matrix_exp_errors(bad):
    t_err, g_err = _both(lambda m: m.linalg.matrix_exp(_t(m, bad)))
    assert type(g_err) is type(t_err) and str(g_err) == str(t_err)
