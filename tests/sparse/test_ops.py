"""Sparse ops vs PyTorch: entrywise math, sums, softmax, transposes and the sparse-dense
products, forward and backward (gradients of the dense operand and of the sparse values)."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from tests.autograd.diff import LIBS, torch

pytestmark = [pytest.mark.filterwarnings("ignore:Sparse invariant checks:UserWarning"),
              pytest.mark.filterwarnings("ignore:Sparse CSR tensor support:UserWarning")]

INDICES = [[0, 1, 1, 0], [2, 0, 2, 2]]  # (0, 2) twice: an uncoalesced tensor
VALUES = [3., 4., -5., 1.]
DENSE = np.random.default_rng(0).standard_normal((3, 2)).astype(np.float32)


def coo(lib, **kwargs):
    return lib.sparse_coo_tensor(INDICES, VALUES, (2, 3), **kwargs)


def dense_form(x) -> np.ndarray:
    if x.layout != (torch.strided if isinstance(x, torch.Tensor) else gt.strided):
        x = x.to_dense()
    return x.detach().numpy()


# each: lib -> a tensor (sparse or dense), compared by dense value, layout and dtype
EXPRESSIONS = {
    "mul_scalar": lambda lib: coo(lib) * 2,
    "rmul_scalar": lambda lib: 2 * coo(lib),
    "mul_0d_tensor": lambda lib: coo(lib) * lib.tensor(3.),
    "div_scalar": lambda lib: coo(lib) / 4,
    "neg": lambda lib: -coo(lib),
    "abs_of_duplicates": lambda lib: coo(lib).abs(),  # |3| + |1| != |3 + 1|: coalesced first
    "sqrt": lambda lib: coo(lib).abs().sqrt(),
    "relu": lambda lib: lib.relu(coo(lib)),
    "pow": lambda lib: coo(lib).pow(2),
    "tanh": lambda lib: coo(lib).tanh(),
    "double": lambda lib: coo(lib).double(),
    "to_dtype": lambda lib: coo(lib).to(lib.float64),
    "int": lambda lib: coo(lib).int(),
    "clone": lambda lib: coo(lib).clone(),
    "sparse_plus_sparse": lambda lib: coo(lib) + coo(lib).coalesce() * 2,
    "sparse_minus_sparse": lambda lib: coo(lib) - coo(lib).t().t(),
    "add_alpha": lambda lib: lib.add(coo(lib), coo(lib), alpha=3),
    "dense_plus_sparse": lambda lib: lib.ones(2, 3) + coo(lib),
    "dense_minus_sparse": lambda lib: lib.ones(2, 3) - coo(lib),
    "eye_plus_int_sparse": lambda lib: lib.eye(2, 3) + lib.sparse_coo_tensor(
        INDICES, [1, 2, 3, 4], (2, 3)),
    "sparse_times_sparse": lambda lib: coo(lib) * coo(lib).coalesce(),
    "sparse_times_dense": lambda lib: coo(lib) * lib.arange(6.).reshape(2, 3),
    "dense_times_sparse": lambda lib: lib.arange(6.).reshape(2, 3) * coo(lib),
    "csr_plus_csr": lambda lib: coo(lib).to_sparse_csr() + coo(lib).to_sparse_csr(),
    "csr_times_scalar": lambda lib: coo(lib).to_sparse_csr() * 2,
    "sum": lambda lib: coo(lib).sum(),
    "sum_dim": lambda lib: coo(lib).sum(1),
    "sum_dim_0": lambda lib: lib.sum(coo(lib), dim=0),
    "sparse_sum": lambda lib: lib.sparse.sum(coo(lib)),
    "sparse_sum_dim": lambda lib: lib.sparse.sum(coo(lib), 0),
    "sparse_sum_all_dims": lambda lib: lib.sparse.sum(coo(lib), (0, 1)),
    "sparse_sum_dtype": lambda lib: lib.sparse.sum(coo(lib), dtype=lib.float64),
    "hybrid_sum_dense_dim": lambda lib: lib.sparse_coo_tensor(
        [[0, 2]], [[1., 2.], [3., 4.]], (3, 2)).sum(1),
    "t": lambda lib: coo(lib).t(),
    "T": lambda lib: coo(lib).T,
    "transpose": lambda lib: lib.transpose(coo(lib), 0, 1),
    "transpose_3d": lambda lib: lib.sparse_coo_tensor(
        [[0, 1], [1, 0], [2, 1]], [1., 2.], (2, 2, 3)).transpose(0, 2),
    "softmax": lambda lib: lib.sparse.softmax(coo(lib), 1),
    "softmax_dim0": lambda lib: lib.sparse.softmax(coo(lib), 0),
    "log_softmax": lambda lib: lib.sparse.log_softmax(coo(lib), 1),
}


@pytest.mark.parametrize("name", list(EXPRESSIONS))
def test_sparse_ops_match_pytorch(name):
    theirs, ours = (EXPRESSIONS[name](lib) for lib in LIBS)
    assert str(ours.layout) == str(theirs.layout)
    assert str(ours.dtype) == str(theirs.dtype)
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(dense_form(ours), dense_form(theirs), rtol=1e-6, atol=1e-6)


def _product(lib, how: str, csr: bool = False, sparse_grad: bool = True):
    """(result, grad of the sparse values as a dense matrix or None, grad of the dense)."""
    s = coo(lib, requires_grad=sparse_grad)
    operand = s.to_sparse_csr() if csr else s
    d = lib.tensor(DENSE, requires_grad=True)
    out = {
        "sparse.mm": lambda: lib.sparse.mm(operand, d),
        "mm": lambda: lib.mm(operand, d),
        "matmul_operator": lambda: operand @ d,
        "spmm": lambda: lib.spmm(operand, d),
        "matmul_vector": lambda: lib.matmul(operand, d[:, 0]),
        "dense_at_sparse": lambda: d.t() @ operand.t(),
        "sparse.addmm": lambda: lib.sparse.addmm(lib.ones(2, 2), operand, d, beta=.5, alpha=2.),
        "addmm": lambda: lib.addmm(lib.ones(2, 2), operand, d),
    }[how]()
    weights = lib.arange(out.numel(), dtype=out.dtype).reshape(out.shape)
    (out * weights).sum().backward()
    grad = s.grad
    return out.detach().numpy(), None if grad is None else grad.to_dense().numpy(), \
        d.grad.numpy()


# the products whose gradient w.r.t. the sparse operand is sparse (its pattern) in PyTorch
SPARSE_GRAD_PRODUCTS = ["sparse.mm", "sparse.addmm"]
# PyTorch gives the sparse operand of these a dense gradient (see the refusal test below)
DENSE_GRAD_PRODUCTS = ["mm", "matmul_operator", "spmm", "matmul_vector", "dense_at_sparse",
                       "addmm"]


@pytest.mark.parametrize("how", SPARSE_GRAD_PRODUCTS)
def test_sparse_products_and_both_gradients_match_pytorch(how):
    theirs, ours = (_product(lib, how) for lib in LIBS)
    for mine, want in zip(ours, theirs):
        np.testing.assert_allclose(mine, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("how", DENSE_GRAD_PRODUCTS + SPARSE_GRAD_PRODUCTS)
def test_products_and_the_dense_gradient_match_pytorch(how):
    theirs, ours = (_product(lib, how, sparse_grad=False) for lib in LIBS)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-5, atol=1e-6)


def _weighted_product(lib, how: str):
    """Learnable edge weights: the sparse matrix is built from values that require grad, so
    PyTorch's gradient of any product reaches the values on the pattern."""
    weights = lib.tensor(VALUES, requires_grad=True)
    s = lib.sparse_coo_tensor(INDICES, weights * 1, (2, 3))
    d = lib.tensor(DENSE, requires_grad=True)
    out = {"mm": lambda: lib.mm(s, d), "spmm": lambda: lib.spmm(s * 2, d),
           "matmul_operator": lambda: s.coalesce() @ d,
           "dense_at_sparse": lambda: d.t() @ s.t(),
           "addmm": lambda: lib.addmm(lib.ones(2, 2), s, d)}[how]()
    (out * lib.arange(out.numel(), dtype=out.dtype).reshape(out.shape)).sum().backward()
    return out.detach().numpy(), weights.grad.numpy(), d.grad.numpy()


@pytest.mark.parametrize("how", ["mm", "spmm", "matmul_operator", "dense_at_sparse", "addmm"])
def test_products_of_a_sparse_matrix_with_learnable_values_match_pytorch(how):
    theirs, ours = (_weighted_product(lib, how) for lib in LIBS)
    for mine, want in zip(ours, theirs):
        np.testing.assert_allclose(mine, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("how", DENSE_GRAD_PRODUCTS)
def test_dense_gradient_of_a_sparse_operand_is_refused_not_masked(how):
    """PyTorch's mm gives a sparse operand requiring grad a dense gradient; graphtorch
    keeps sparse gradients on the pattern, so it raises instead of differing."""
    with pytest.raises(RuntimeError, match="gt.sparse.mm"):
        _product(gt, how)
    with gt.no_grad():
        assert coo(gt, requires_grad=True) @ gt.ones(3, 1) is not None
    x = gt.tensor([[0., 1.], [2., 0.]], requires_grad=True)
    with pytest.raises(RuntimeError, match="gt.sparse.mm"):
        gt.mm(x.to_sparse() * 2, gt.ones(2, 2))  # PyTorch: x.grad dense, also off-pattern


def test_sparse_mm_grad_is_sparse_with_the_pattern_as_pytorch():
    grads = []
    for lib in LIBS:
        s = lib.sparse_coo_tensor(INDICES, VALUES, (2, 3)).coalesce().requires_grad_()
        lib.sparse.mm(s, lib.tensor(DENSE)).sum().backward()
        grads.append(s.grad)
    theirs, ours = grads
    assert ours.layout is gt.sparse_coo
    np.testing.assert_array_equal(ours.coalesce().indices().numpy(),
                                  theirs.coalesce().indices().numpy())
    np.testing.assert_allclose(ours.coalesce().values().numpy(),
                               theirs.coalesce().values().numpy(), rtol=1e-6)


@pytest.mark.parametrize("how", ["mm", "matmul_operator", "sparse.mm"])
def test_csr_products_match_pytorch(how):
    theirs, ours = (_product(lib, how, csr=True, sparse_grad=False) for lib in LIBS)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-5)
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-5)


def test_sparse_at_sparse_is_sparse_as_pytorch():
    theirs, ours = (coo(lib) @ coo(lib).t() for lib in LIBS)
    assert ours.layout is gt.sparse_coo
    np.testing.assert_allclose(dense_form(ours), dense_form(theirs))


def test_gradients_flow_through_to_dense_and_to_sparse():
    results = []
    for lib in LIBS:
        values = lib.tensor([1., 2., 3.], requires_grad=True)
        s = lib.sparse_coo_tensor([[0, 1, 0]], values, (3,))
        (s.to_dense() ** 2 * lib.tensor([1., 2., 3.])).sum().backward()
        x = lib.tensor([[0., 1.], [2., 0.]], requires_grad=True)
        lib.sparse.mm(x.to_sparse(), lib.tensor(DENSE[:2])).sum().backward()
        results.append((values.grad.numpy(), x.grad.numpy()))
    (tv, tx), (ov, ox) = results
    np.testing.assert_allclose(ov, tv)
    np.testing.assert_allclose(ox, tx, rtol=1e-6)


def test_softmax_gradient_matches_pytorch():
    grads = []
    for lib in LIBS:
        s = coo(lib).coalesce().requires_grad_()
        out = lib.sparse.softmax(s, 1).to_dense()
        (out * lib.arange(6.).reshape(2, 3)).sum().backward()
        grads.append(s.grad.to_dense().numpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-5, atol=1e-6)


def test_gcn_layer_with_a_sparse_normalised_adjacency():
    """pytorch/examples' GCN: D^-1/2 (A + I) D^-1/2 as a sparse matrix, trained a step."""
    edges = np.array([[0, 1], [1, 2], [2, 3], [4, 5], [5, 0]])
    results = []
    for lib in LIBS:
        adj = lib.sparse_coo_tensor(edges.T, lib.ones(len(edges)), (6, 6))
        adj = lib.eye(6) + adj + adj.t()
        degree = lib.diag(adj.sum(1) ** -0.5).to_sparse()
        adj = (degree @ adj @ degree).to_sparse()
        lib.manual_seed(0)
        weight = lib.nn.Parameter(lib.tensor(DENSE[:, :2].T.copy()))  # 2 x 3
        features = lib.arange(12.).reshape(6, 2) / 10
        out = lib.spmm(adj, lib.mm(features, weight)).relu()
        out.pow(2).sum().backward()
        results.append((out.detach().numpy(), weight.grad.numpy()))
    for mine, want in zip(results[1], results[0]):
        np.testing.assert_allclose(mine, want, rtol=1e-5, atol=1e-6)


def _special_spmm(lib):
    """pyGAT's sparse attention layer: an autograd.Function that builds a sparse matrix in
    forward, saves it, and reads its `_indices()` in backward."""

    class SpecialSpmmFunction(lib.autograd.Function):
        @staticmethod
        def forward(ctx, indices, values, shape, b):
            a = lib.sparse_coo_tensor(indices, values, shape)
            ctx.save_for_backward(a, b)
            ctx.N = shape[0]
            return lib.matmul(a, b)

        @staticmethod
        def backward(ctx, grad_output):
            a, b = ctx.saved_tensors
            grad_a_dense = grad_output.matmul(b.t())
            edge_idx = a._indices()[0, :] * ctx.N + a._indices()[1, :]
            return None, grad_a_dense.view(-1)[edge_idx], None, a.t().matmul(grad_output)

    values = lib.tensor([1., 2., 3., 4.], requires_grad=True)
    b = lib.tensor(DENSE, requires_grad=True)
    out = SpecialSpmmFunction.apply(lib.tensor([[0, 1, 2, 2], [1, 2, 0, 1]]), values,
                                    lib.Size([3, 3]), b)
    (out ** 2).sum().backward()
    return out.detach().numpy(), values.grad.numpy(), b.grad.numpy()


def test_pygat_special_spmm_function_matches_pytorch():
    theirs, ours = (_special_spmm(lib) for lib in LIBS)
    for mine, want in zip(ours, theirs):
        np.testing.assert_allclose(mine, want, rtol=1e-5, atol=1e-6)
