"""LU against PyTorch: gt.linalg.lu_factor(_ex), lu, lu_solve (left/right, adjoint), the
deprecated gt.lu / gt.lu_solve and Tensor methods, gt.lu_unpack; errors, gradients,
float64 finite differences, and gt.compile."""

import warnings

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.functions import lu as lu_module

torch = pytest.importorskip("torch")

SHAPES = [(4, 4), (2, 3, 3), (3, 5), (5, 3), (0, 2, 2)]


def _matrix(shape, dtype="float64", seed=0):
    rng = np.random.default_rng(seed)
    a = rng.uniform(-1, 1, size=shape)
    if dtype.startswith("complex"):
        a = a + 1j * rng.uniform(-1, 1, size=shape)
    return (a + 2.0 * np.eye(*shape[-2:])).astype(dtype)


def _close(ours, theirs, tol=1e-10):
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert repr(ours.dtype) == str(theirs.dtype)
    np.testing.assert_allclose(ours.detach().resolve_conj().numpy(),
                               theirs.detach().resolve_conj().numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", ["float32", "float64", "complex128"])
def test_factorizations_match_torch(shape, dtype):
    a = _matrix(shape, dtype)
    tol = 1e-5 if dtype == "float32" else 1e-10
    for ours, theirs in zip(gt.linalg.lu_factor_ex(gt.tensor(a)),
                            torch.linalg.lu_factor_ex(torch.tensor(a))):
        _close(ours, theirs, tol)
    for ours, theirs in zip(gt.linalg.lu(gt.tensor(a)), torch.linalg.lu(torch.tensor(a))):
        _close(ours, theirs, tol)
    ours, theirs = gt.linalg.lu_factor(gt.tensor(a)), torch.linalg.lu_factor(torch.tensor(a))
    assert ours._fields == ("LU", "pivots")
    _close(ours.pivots, theirs.pivots)


@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("adjoint", [True, False])
@pytest.mark.parametrize("dtype", ["float64", "complex128"])
def test_lu_solve_matches_torch_with_gradients(left, adjoint, dtype):
    a = _matrix((2, 4, 4), dtype)
    b = _matrix((2, 4, 3) if left else (2, 3, 4), dtype, seed=1)
    results = []
    for lib in (gt, torch):
        A, B = lib.tensor(a, requires_grad=True), lib.tensor(b, requires_grad=True)
        LU, pivots = lib.linalg.lu_factor(A)
        x = lib.linalg.lu_solve(LU, pivots, B, left=left, adjoint=adjoint)
        (x.abs() ** 2).sum().backward()
        results.append((x, A.grad, B.grad))
    for ours, theirs in zip(*results):
        _close(ours, theirs, 1e-9)


def test_unpack_flags_and_legacy_functions():
    a = _matrix((3, 3))
    LU, pivots = gt.linalg.lu_factor(gt.tensor(a))
    tLU, tpivots = torch.linalg.lu_factor(torch.tensor(a))
    for flags in [(True, True), (False, True), (True, False)]:
        for ours, theirs in zip(gt.lu_unpack(LU, pivots, *flags),
                                torch.lu_unpack(tLU, tpivots, *flags)):
            _close(ours, theirs)
    b = _matrix((3, 2), seed=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # both are deprecated
        _close(gt.lu_solve(gt.tensor(b), LU, pivots), torch.lu_solve(torch.tensor(b), tLU,
                                                                      tpivots))
        _close(gt.tensor(b).lu_solve(LU, pivots), torch.tensor(b).lu_solve(tLU, tpivots))
        ours = gt.lu(gt.tensor(a), get_infos=True)
        theirs = torch.lu(torch.tensor(a), get_infos=True)
        for o, t in zip(ours, theirs):
            _close(o, t)
        assert len(gt.tensor(a).lu()) == 2


def test_deprecation_warnings(monkeypatch):
    monkeypatch.setattr(lu_module, "_WARNED", set())
    a = gt.tensor(_matrix((3, 3)))
    with pytest.warns(UserWarning, match="torch.lu is deprecated"):
        LU, pivots = gt.lu(a)
    with pytest.warns(UserWarning, match="torch.lu_solve is deprecated"):
        gt.lu_solve(gt.ones(3, 1, dtype=gt.float64), LU, pivots)


ERRORS = [
    lambda m: m.linalg.lu_factor(m.ones(3)),
    lambda m: m.linalg.lu_factor(m.zeros(3, 3)),
    lambda m: m.linalg.lu_factor(m.zeros(2, 3, 3)),
    lambda m: m.linalg.lu_factor(m.eye(3), pivot=False),
    lambda m: m.linalg.lu(m.eye(3), pivot=False),
    lambda m: m.linalg.lu(m.ones(3)),
    lambda m: m.lu_unpack(m.eye(3), m.tensor([1, 2, 3])),
    lambda m: m.lu_unpack(m.eye(3), m.tensor([1, 2, 5], dtype=m.int32)),
    lambda m: m.linalg.lu_solve(m.eye(3), m.tensor([1, 2, 3], dtype=m.int32), m.ones(3)),
]


@pytest.mark.parametrize("call", ERRORS)
def test_errors_match_torch(call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(RuntimeError) as theirs:
            call(torch)
        with pytest.raises(type(theirs.value)) as ours:
            call(gt)
    assert str(ours.value) == str(theirs.value)


def test_integer_input_and_info():
    with pytest.raises(NotImplementedError) as theirs:
        torch.linalg.lu_factor(torch.ones(2, 2, dtype=torch.int64))
    with pytest.raises(NotImplementedError) as ours:
        gt.linalg.lu_factor(gt.ones(2, 2, dtype=gt.int64))
    assert str(ours.value) == str(theirs.value)
    singular = np.array([[[1.0, 2.0], [2.0, 4.0]], [[1.0, 0.0], [0.0, 1.0]]])
    _close(gt.linalg.lu_factor_ex(gt.tensor(singular)).info,
           torch.linalg.lu_factor_ex(torch.tensor(singular)).info)
    with pytest.raises(RuntimeError) as theirs:
        torch.linalg.lu_factor_ex(torch.tensor(singular), check_errors=True)
    with pytest.raises(RuntimeError) as ours:
        gt.linalg.lu_factor_ex(gt.tensor(singular), check_errors=True)
    assert str(ours.value) == str(theirs.value)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _close(gt.lu(gt.tensor(singular))[0], torch.lu(torch.tensor(singular))[0])


def test_gradcheck_float64():
    for shape in [(3, 3), (3, 5), (5, 3)]:
        a = gt.tensor(_matrix(shape), requires_grad=True)
        assert gt.autograd.gradcheck(lambda x: tuple(gt.linalg.lu(x)), (a,))
    b = gt.tensor(_matrix((3, 2), seed=3), requires_grad=True)
    a = gt.tensor(_matrix((3, 3)), requires_grad=True)
    assert gt.autograd.gradcheck(
        lambda x, y: gt.linalg.lu_solve(*gt.linalg.lu_factor(x), y, adjoint=True), (a, b))


def test_compiled():
    def fn(a, b):
        LU, pivots = gt.linalg.lu_factor(a)
        P, L, U = gt.lu_unpack(LU, pivots)
        return gt.linalg.lu_solve(LU, pivots, b), P @ L @ U

    compiled = gt.compile(fn)
    a, b = gt.tensor(_matrix((2, 4, 4))), gt.tensor(_matrix((2, 4, 1), seed=4))
    for _ in range(2):
        for ours, eager in zip(compiled(a, b), fn(a, b)):
            np.testing.assert_allclose(ours.numpy(), eager.numpy(), rtol=1e-12)
    assert not compiled.stats.graph_breaks
    singular = gt.zeros(2, 4, 4, dtype=gt.float64)
    with pytest.raises(RuntimeError, match="U\\[1,1\\] is zero"):
        compiled(singular, b)


def test_keywords_and_out():
    a = _matrix((3, 3))
    out = (gt.empty(0, dtype=gt.float64), gt.empty(0, dtype=gt.int32))
    result = gt.linalg.lu_factor(A=gt.tensor(a), pivot=True, out=out)
    assert result.LU is out[0] and result.pivots is out[1]
    theirs = torch.linalg.lu_factor(A=torch.tensor(a), pivot=True)
    _close(out[0], theirs.LU)
    x = gt.linalg.lu_solve(LU=result.LU, pivots=result.pivots, B=gt.ones(3, 1,
                                                                          dtype=gt.float64))
    np.testing.assert_allclose(a @ x.numpy(), np.ones((3, 1)), atol=1e-12)
