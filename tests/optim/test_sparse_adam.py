"""optim.SparseAdam against torch.optim.SparseAdam: trajectories with sparse COO gradients
(repeated and 2-d indices, maximize, an empty gradient), the state, and the errors."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from tests.autograd.diff import same

# PyTorch warns once that its sparse invariant checks are off (its default).
pytestmark = pytest.mark.filterwarnings("ignore:Sparse invariant checks:UserWarning")

rng = np.random.default_rng(0)
START = rng.standard_normal((6, 3))
# (indices, values) per step; step 1 repeats index 4, step 3 is empty.
GRADS = [(np.array([[4, 1, 4]]), rng.standard_normal((3, 3))),
         (np.array([[0, 5]]), rng.standard_normal((2, 3))),
         (np.zeros((1, 0), dtype=np.int64), np.zeros((0, 3))),
         (np.array([[1, 2, 3]]), rng.standard_normal((3, 3)))]


def _run(lib, maximize, grads=GRADS, start=START):
    param = lib.nn.Parameter(lib.tensor(start.copy()))
    opt = lib.optim.SparseAdam([param], lr=0.05, betas=(0.8, 0.9), maximize=maximize)
    for indices, values in grads:
        param.grad = lib.sparse_coo_tensor(lib.tensor(indices), lib.tensor(values),
                                           tuple(start.shape))
        opt.step()
    state = opt.state[param]
    return param.detach(), state["exp_avg"], state["exp_avg_sq"], state["step"]


@pytest.mark.parametrize("maximize", [False, True])
def test_trajectory_and_state_as_torch(maximize):
    same(lambda lib: _run(lib, maximize), rtol=1e-12, atol=1e-14)


def test_two_sparse_dims():
    start = rng.standard_normal((3, 4))
    grads = [(np.array([[0, 2, 0], [1, 3, 1]]), rng.standard_normal(3))]
    same(lambda lib: _run(lib, False, grads, start)[0], rtol=1e-12)


def test_rows_outside_the_gradient_stay_unchanged():
    grads = [(np.array([[4, 1, 4]]), np.ones((3, 3)))]
    param, exp_avg, _, _ = _run(gt, False, grads)
    np.testing.assert_array_equal(param.numpy()[[0, 2, 3, 5]], START[[0, 2, 3, 5]])
    assert not np.any(exp_avg.numpy()[[0, 2, 3, 5]])


@pytest.mark.parametrize("call, match", [
    (lambda lib: lib.optim.SparseAdam([lib.nn.Parameter(lib.ones(2))], lr=0.0),
     "Invalid learning rate"),
    (lambda lib: lib.optim.SparseAdam([lib.nn.Parameter(lib.ones(2))], eps=0.0),
     "Invalid epsilon"),
    (lambda lib: lib.optim.SparseAdam([lib.nn.Parameter(lib.ones(2))], betas=(1.0, 0.9)),
     "Invalid beta parameter at index 0"),
    (lambda lib: lib.optim.SparseAdam([lib.ones(2, dtype=lib.complex64)]),
     r"Complex params at indices \[\[0, 0\]\]"),
])
def test_constructor_errors_as_torch(call, match):
    same(call, match=match)


def test_dense_gradient_raises_as_torch():
    def dense(lib):
        param = lib.nn.Parameter(lib.ones(3))
        opt = lib.optim.SparseAdam([param])
        (param * 2).sum().backward()
        opt.step()
    same(dense, match="^SparseAdam does not support dense gradients, please consider Adam "
                      "instead")


def test_dense_gradient_of_a_sparse_embedding_says_why():
    """graphtorch's Embedding(sparse=True) gives a dense gradient (PyTorch's is sparse)."""
    embedding = gt.nn.Embedding(5, 2, sparse=True)
    opt = gt.optim.SparseAdam(embedding.parameters())
    embedding(gt.tensor([1, 3])).sum().backward()
    with pytest.raises(RuntimeError, match=r"Embedding\(sparse=True\).*dense gradients"):
        opt.step()
