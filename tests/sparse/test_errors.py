"""What sparse tensors refuse: PyTorch's error type for the ops its sparse backend lacks, and
never a dense kernel computing on the index set as if it were an array."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from tests.autograd.diff import LIBS, builtin_type

pytestmark = [pytest.mark.filterwarnings("ignore:Sparse invariant checks:UserWarning"),
              pytest.mark.filterwarnings("ignore:Sparse CSR tensor support:UserWarning")]


def coo(lib):
    return lib.sparse_coo_tensor([[0, 1, 1, 0], [2, 0, 2, 2]], [3., 4., 5., 1.], (2, 3))


# refused by both libraries, with the same builtin exception type
REFUSED = {
    "view": lambda s, lib: s.view(6),
    "exp": lambda s, lib: s.exp(),
    "exp_": lambda s, lib: s.exp_(),
    "cos": lambda s, lib: lib.cos(s),
    "mean": lambda s, lib: s.mean(),
    "max": lambda s, lib: s.max(),
    "eq": lambda s, lib: lib.eq(s, s),
    "isnan": lambda s, lib: s.isnan() if lib is gt else s.exp(),  # (PyTorch has isnan)
    "dense_softmax": lambda s, lib: lib.softmax(s, 1),
    "add_dense": lambda s, lib: s + lib.ones(2, 3),
    "add_scalar": lambda s, lib: s + 1,
    "pow_0": lambda s, lib: s.pow(0),
    "div_by_tensor": lambda s, lib: s / lib.ones(2, 3),
    "rdiv": lambda s, lib: 1 / s,
    "numpy": lambda s, lib: s.numpy(),
    "tolist": lambda s, lib: s.tolist(),
    "data_ptr": lambda s, lib: s.data_ptr(),
    "item": lambda s, lib: s.item(),
    "indices_uncoalesced": lambda s, lib: s.indices(),
    "values_uncoalesced": lambda s, lib: s.values(),
    "crow_indices_of_coo": lambda s, lib: s.crow_indices(),
    "indices_of_csr": lambda s, lib: s.coalesce().to_sparse_csr().indices(),
    "contiguous": lambda s, lib: s.contiguous(),
    "mm_shapes": lambda s, lib: lib.mm(s, lib.ones(2, 2)),
    "mm_dtypes": lambda s, lib: lib.mm(s, lib.ones(3, 2, dtype=lib.float64)),
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_refused_as_pytorch_refuses(name):
    kinds = []
    for lib in LIBS:
        with pytest.raises(Exception) as info:
            REFUSED[name](coo(lib), lib)
        kinds.append(builtin_type(info.value))
    assert kinds[1] is kinds[0], (name, kinds)


def test_the_refusal_names_the_op_and_the_way_out():
    with pytest.raises(NotImplementedError, match=r"aten::exp.*SparseCPU.*to_dense"):
        coo(gt).exp()


def test_no_array_conversion_densifies_silently():
    s = coo(gt)
    with pytest.raises(TypeError, match="to_dense"):
        np.asarray(s)
    with pytest.raises(TypeError, match="to_dense"):
        np.asarray(s._data)
    with pytest.raises(RuntimeError, match="strides"):
        s.stride()  # (PyTorch 2.13 answers (0, 0); older versions raise as here)


def test_ops_graphtorch_does_not_implement_raise_not_implemented():
    """PyTorch has these (or refuses them with another message); graphtorch refuses them."""
    s = coo(gt)
    for refused in (lambda: s.unsqueeze(0), lambda: gt.cat([s, s]), lambda: s[0],
                    lambda: s.reshape(6), lambda: s.mul_(2), lambda: s.add_(1)):
        with pytest.raises(NotImplementedError, match="SparseCPU"):
            refused()


def test_backward_from_a_sparse_tensor_is_refused():
    s = gt.sparse_coo_tensor([[0]], [1.], (2,), requires_grad=True)
    with pytest.raises(RuntimeError, match="sparse"):
        (s * 2).backward()


def test_values_that_are_sparse_or_float_indices_are_refused():
    with pytest.raises(RuntimeError, match="int64"):
        gt.sparse_coo_tensor(gt.tensor([[0.5]]), gt.ones(1))
    with pytest.raises(RuntimeError, match="dense"):
        gt.sparse_coo_tensor([[0]], coo(gt))
    with pytest.raises(RuntimeError, match="crow_indices"):
        gt.sparse_csr_tensor([0, 3, 2], [0, 1], [1., 2.], (2, 2))


def test_a_sparse_parameter_is_refused_not_made_a_dense_one():
    with pytest.raises(NotImplementedError, match="sparse"):
        gt.nn.Parameter(coo(gt))
