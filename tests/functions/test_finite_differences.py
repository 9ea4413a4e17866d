"""gt.gradient against torch.gradient: every spacing form, dims, edge orders, integer input,
errors, gradients, float64 finite differences and gt.compile."""

import numpy as np
import pytest

import graphtorch as gt

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)
X = RNG.standard_normal((4, 5, 3))
COORDS = [np.sort(RNG.uniform(0, 5, n)) for n in X.shape]

CASES = [{}, {"spacing": 2.0}, {"spacing": 2, "dim": 1}, {"spacing": [2, 3, 0.5]},
         {"spacing": [2], "dim": 1}, {"dim": (0, 2)}, {"dim": -1, "edge_order": 2},
         {"edge_order": 2}, {"spacing": [1.5, 2, 3], "edge_order": 2},
         {"spacing": "coords"}, {"spacing": "coords", "edge_order": 2},
         {"spacing": "coords1", "dim": 1}, {"spacing": "coords1", "dim": [2], "edge_order": 2}]
ERRORS = [{"spacing": "mixed"}, {"edge_order": 3}, {"spacing": [2]}, {"dim": (0, 0)}, {"dim": 5},
          {"spacing": [2, 3], "dim": 0}, {"spacing": "scalars0d"}]


def _run(lib, kwargs, dtype="float64"):
    kwargs = dict(kwargs)
    if kwargs.get("spacing") == "coords":
        kwargs["spacing"] = [lib.tensor(c) for c in COORDS]
    elif kwargs.get("spacing") == "coords1":
        kwargs["spacing"] = [lib.tensor(COORDS[kwargs["dim"] if isinstance(kwargs["dim"], int)
                                               else kwargs["dim"][0]])]
    elif kwargs.get("spacing") == "mixed":
        kwargs["spacing"] = [lib.tensor(COORDS[0]), 2.0, 1.0]
    elif kwargs.get("spacing") == "scalars0d":
        kwargs["spacing"] = [lib.tensor(1.0)] * 3
    return lib.gradient(lib.tensor((X * 10).astype(dtype)), **kwargs)


@pytest.mark.parametrize("kwargs", CASES, ids=str)
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_matches_torch(kwargs, dtype):
    ours, theirs = _run(gt, kwargs, dtype), _run(torch, kwargs, dtype)
    assert isinstance(ours, tuple) and len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert repr(a.dtype) == str(b.dtype) and a.shape == b.shape
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kwargs", ERRORS, ids=str)
def test_errors_match_torch(kwargs):
    with pytest.raises(Exception) as theirs:
        _run(torch, kwargs)
    with pytest.raises(type(theirs.value)) as ours:
        _run(gt, kwargs)
    assert str(ours.value) == str(theirs.value)


def test_uint8_short_dims_and_0d():
    with pytest.raises(RuntimeError, match="does not support uint8"):
        gt.gradient(gt.ones(3, dtype=gt.uint8))
    with pytest.raises(RuntimeError, match="at least edge_order\\+1"):
        gt.gradient(gt.ones(2, 3), edge_order=2)
    assert gt.gradient(gt.tensor(3.0)) == ()
    with pytest.raises(TypeError, match="invalid combination of arguments"):
        gt.gradient(gt.ones(3), spacing=gt.ones(3))


def test_gradients_match_torch_and_finite_differences():
    x = gt.tensor(X, requires_grad=True)
    tx = torch.tensor(X, requires_grad=True)
    coords, tcoords = gt.tensor(COORDS[0], requires_grad=True), torch.tensor(COORDS[0],
                                                                             requires_grad=True)
    for lib, a, c in ((gt, x, coords), (torch, tx, tcoords)):
        parts = lib.gradient(a, spacing=[c, lib.arange(5.0) * 2, lib.tensor(COORDS[2])],
                             edge_order=2)
        sum((p * (i + 1.5)).sum() for i, p in enumerate(parts)).backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(coords.grad.numpy(), tcoords.grad.numpy(), rtol=1e-10)
    assert gt.autograd.gradcheck(
        lambda a, c: gt.gradient(a, spacing=(c,), dim=0, edge_order=2),
        (gt.tensor(X[:, :2, 0], requires_grad=True), gt.tensor(COORDS[0], requires_grad=True)))


def test_compiled():
    def fn(x, c0, c1, c2):
        return (gt.gradient(x, spacing=[c0, c1, c2 * 2], edge_order=2) +
                gt.gradient(x, spacing=0.5, dim=(1, 2)))

    compiled = gt.compile(fn)
    args = [gt.tensor(X)] + [gt.tensor(c) for c in COORDS]
    for _ in range(2):
        for a, b in zip(compiled(*args), fn(*args)):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12)
    assert not compiled.stats.graph_breaks
