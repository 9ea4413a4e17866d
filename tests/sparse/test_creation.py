"""Sparse tensors vs PyTorch: construction, repr, metadata, coalesce and layout conversions
(COO, CSR, dense)."""

from __future__ import annotations

import re

import numpy as np
import pytest

import graphtorch as gt
from tests.autograd.diff import LIBS, torch

# PyTorch warns that its invariant checks are off (the default) and that CSR is beta
pytestmark = [pytest.mark.filterwarnings("ignore:Sparse invariant checks:UserWarning"),
              pytest.mark.filterwarnings("ignore:Sparse CSR tensor support:UserWarning"),
              pytest.mark.filterwarnings("ignore:torch.sparse.*is deprecated:UserWarning")]

INDICES = [[0, 1, 1, 0], [2, 0, 2, 2]]  # (0, 2) twice: an uncoalesced tensor
VALUES = [3., 4., 5., 1.]


def coo(lib, **kwargs):
    return lib.sparse_coo_tensor(INDICES, VALUES, (2, 3), **kwargs)


def dense(t) -> np.ndarray:
    return t.to_dense().detach().numpy()


MAKERS = {
    "uncoalesced": coo,
    "coalesced": lambda lib: coo(lib).coalesce(),
    "float64": lambda lib: coo(lib, dtype=lib.float64),
    "int64": lambda lib: lib.sparse_coo_tensor([[0, 2]], [1, 2], (3,)),
    "requires_grad": lambda lib: coo(lib, requires_grad=True),
    "from_values_with_grad": lambda lib: lib.sparse_coo_tensor(
        [[0, 1]], lib.tensor([1., 2.], requires_grad=True), (3,)),
    "inferred_size": lambda lib: lib.sparse_coo_tensor(INDICES, VALUES),
    "hybrid": lambda lib: lib.sparse_coo_tensor([[0, 2]], [[1., 2.], [3., 4.]], (3, 2)),
    "empty": lambda lib: lib.zeros(2, 2).to_sparse(),
    "numpy_int32_indices": lambda lib: lib.sparse_coo_tensor(
        np.array([[0, 1], [1, 0]], dtype=np.int32), lib.ones(2), (2, 2), dtype=lib.int64),
    "to_sparse": lambda lib: lib.tensor([[0., 1.5], [2., 0.]]).to_sparse(),
    "to_sparse_1": lambda lib: lib.tensor([[0., 0.], [2., 0.]]).to_sparse(1),
    "legacy_float": lambda lib: lib.sparse.FloatTensor(
        lib.tensor(INDICES), lib.tensor(VALUES), lib.Size([2, 3])),
    "legacy_empty": lambda lib: lib.sparse.DoubleTensor(2, 3),
    "legacy_long": lambda lib: lib.sparse.LongTensor(lib.tensor([[0, 2]]), lib.tensor([1, 2]),
                                                     lib.Size([3])),
    "csr": lambda lib: lib.sparse_csr_tensor([0, 2, 3], [0, 2, 1], [1., 2., 3.], (2, 3)),
    "csr_from_coo": lambda lib: coo(lib).to_sparse_csr(),
    "csr_from_dense": lambda lib: lib.tensor([[0., 1.], [2., 0.]]).to_sparse_csr(),
    "csr_by_layout": lambda lib: lib.tensor([[0., 1.], [2., 0.]]).to_sparse(
        layout=lib.sparse_csr),
}


def _without_grad_fn(text: str) -> str:
    """The repr without its grad_fn suffix (graphtorch's node names are its own)."""
    return re.sub(r",\s*grad_fn=<\w+>", "", text)


@pytest.mark.parametrize("name", list(MAKERS))
def test_sparse_tensors_print_and_densify_as_pytorch(name):
    ours, theirs = MAKERS[name](gt), MAKERS[name](torch)
    assert _without_grad_fn(repr(ours)) == _without_grad_fn(repr(theirs))
    assert (ours.grad_fn is None) == (theirs.grad_fn is None)
    assert str(ours.layout) == str(theirs.layout)
    assert str(ours.dtype) == str(theirs.dtype)
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert ours._nnz() == theirs._nnz()
    assert (ours.is_sparse, ours.is_sparse_csr) == (theirs.is_sparse, theirs.is_sparse_csr)
    assert (ours.sparse_dim(), ours.dense_dim()) == (theirs.sparse_dim(), theirs.dense_dim())
    assert ours.numel() == theirs.numel() and ours.dim() == theirs.dim()
    assert (ours.requires_grad, ours.is_leaf) == (theirs.requires_grad, theirs.is_leaf)
    np.testing.assert_array_equal(dense(ours), dense(theirs))


def test_coalesce_sums_duplicates_and_sorts_as_pytorch():
    ours, theirs = coo(gt), coo(torch)
    assert not ours.is_coalesced() and not theirs.is_coalesced()
    ours_c, theirs_c = ours.coalesce(), theirs.coalesce()
    assert ours_c.is_coalesced() and ours_c.coalesce() is ours_c
    np.testing.assert_array_equal(ours_c.indices().numpy(), theirs_c.indices().numpy())
    np.testing.assert_array_equal(ours_c.values().numpy(), theirs_c.values().numpy())
    np.testing.assert_array_equal(ours._indices().numpy(), theirs._indices().numpy())
    np.testing.assert_array_equal(ours._values().numpy(), theirs._values().numpy())


def test_coalesce_of_a_shuffled_3d_tensor():
    rng = np.random.default_rng(0)
    index = rng.integers(0, 3, size=(3, 20))
    values = rng.standard_normal(20).astype(np.float32)
    results = [lib.sparse_coo_tensor(index, values, (3, 3, 3)).coalesce() for lib in LIBS]
    theirs, ours = results
    np.testing.assert_array_equal(ours.indices().numpy(), theirs.indices().numpy())
    np.testing.assert_allclose(ours.values().numpy(), theirs.values().numpy(), rtol=1e-6)


def test_csr_parts_as_pytorch():
    ours, theirs = coo(gt).to_sparse_csr(), coo(torch).to_sparse_csr()
    for part in ("crow_indices", "col_indices", "values"):
        np.testing.assert_array_equal(getattr(ours, part)().numpy(),
                                      getattr(theirs, part)().numpy())
    back = ours.to_sparse()
    assert back.layout is gt.sparse_coo and back.is_coalesced()
    np.testing.assert_array_equal(dense(back), dense(theirs))


def test_dense_tensors_answer_the_sparse_questions_as_pytorch():
    for lib in LIBS:
        x = lib.ones(2, 3)
        assert (x.sparse_dim(), x.dense_dim(), x.is_sparse) == (0, 2, False)
        assert x.to_dense() is x


@pytest.mark.parametrize("args, message", [
    (([[0, 1]], [1., 2., 3.]), "same nnz"),
    (([0, 1], [1., 2.]), "sparse_dim x nnz"),
    (([[0, -1]], [1., 2.], (3,)), "negative"),
    (([[0, 1]], [1., 2.], (3, 3)), "number of dimensions"),
])
def test_constructor_errors(args, message):
    with pytest.raises(RuntimeError, match=message):
        gt.sparse_coo_tensor(*args)


def test_out_of_range_indices_are_refused_not_left_to_crash():
    # PyTorch (invariant checks off by default) accepts this and fails later; we refuse it
    with pytest.raises(RuntimeError, match="size is inconsistent with indices"):
        gt.sparse_coo_tensor([[0, 5]], [1., 2.], (3,))


def test_legacy_constructors_warn_as_deprecated():
    with pytest.warns(UserWarning, match="deprecated"):
        gt.sparse.FloatTensor(2, 3)


def test_values_are_shared_and_layout_objects_are_pytorchs_names():
    values = gt.tensor([1., 2.])
    s = gt.sparse_coo_tensor([[0, 1]], values, (2,))
    assert s._values() is values
    assert s.layout == gt.sparse_coo and repr(s.layout) == "torch.sparse_coo"
    assert isinstance(s, gt.Tensor) and isinstance(s, gt.sparse.SparseTensor)
