"""Saving sparse tensors: graphtorch's own format (JSON tree and pickled objects), pickle,
deepcopy, and PyTorch checkpoints holding sparse tensors."""

from __future__ import annotations

import copy
import io
import pickle

import numpy as np
import pytest

import graphtorch as gt
from tests.autograd.diff import torch

pytestmark = [pytest.mark.filterwarnings("ignore:Sparse invariant checks:UserWarning"),
              pytest.mark.filterwarnings("ignore:Sparse CSR tensor support:UserWarning")]


def coo(lib, **kwargs):
    return lib.sparse_coo_tensor([[0, 1, 1, 0], [2, 0, 2, 2]], [3., 4., 5., 1.], (2, 3),
                                 **kwargs)


def same_sparse(a, b) -> None:
    assert type(a) is type(b) and a.layout is b.layout and a.shape == b.shape
    assert a.dtype is b.dtype and a.requires_grad == b.requires_grad
    assert repr(a.detach()) == repr(b.detach())
    if a.is_sparse:
        assert a.is_coalesced() == b.is_coalesced()


CASES = {
    "coo": lambda: coo(gt),
    "coalesced": lambda: coo(gt).coalesce(),
    "requires_grad": lambda: coo(gt, requires_grad=True),
    "int64": lambda: gt.sparse_coo_tensor([[0, 2]], [1, 2], (3,)),
    "hybrid": lambda: gt.sparse_coo_tensor([[0, 2]], [[1., 2.], [3., 4.]], (3, 2)),
    "csr": lambda: coo(gt).to_sparse_csr(),
}


def _round_trip(obj, **load_kwargs):
    buffer = io.BytesIO()
    gt.save(obj, buffer)
    buffer.seek(0)
    return gt.load(buffer, **load_kwargs)


@pytest.mark.parametrize("name", list(CASES))
def test_gt_save_load_round_trip(name):
    s = CASES[name]()
    same_sparse(_round_trip({"adj": s, "x": gt.ones(2)})["adj"], s)
    shared = _round_trip([s, s])  # a shared object: the pickled form, weights_only too
    same_sparse(shared[0], s)
    same_sparse(pickle.loads(pickle.dumps(s)), s)
    same_sparse(copy.deepcopy(s), s)


class Holder(gt.nn.Module):
    def __init__(self):
        super().__init__()
        self.adj = coo(gt).coalesce()
        self.lin = gt.nn.Linear(3, 3)


def test_a_module_holding_a_sparse_adjacency_saves_whole():
    loaded = _round_trip(Holder(), weights_only=False)
    same_sparse(loaded.adj, Holder().adj)


@pytest.mark.parametrize("weights_only", [True, False])
def test_pytorch_checkpoints_with_sparse_tensors_load(weights_only):
    theirs = {"coo": coo(torch), "coalesced": coo(torch).coalesce(),
              "csr": coo(torch).to_sparse_csr()}
    buffer = io.BytesIO()
    torch.save(theirs, buffer)
    buffer.seek(0)
    ours = gt.load(buffer, weights_only=weights_only)
    for key, t in theirs.items():
        assert str(ours[key].layout) == str(t.layout)
        assert repr(ours[key]) == repr(t)
        np.testing.assert_array_equal(ours[key].to_dense().numpy(), t.to_dense().numpy())


def test_load_state_dict_copies_a_sparse_buffer():
    class Layer(gt.nn.Module):
        def __init__(self, adj):
            super().__init__()
            self.register_buffer("adj", adj)

    source = Layer(coo(gt).coalesce())
    target = Layer(gt.zeros(2, 3).to_sparse())
    target.load_state_dict(_round_trip(source.state_dict()))
    same_sparse(target.adj, source.adj)
    with pytest.raises(RuntimeError, match="size mismatch"):
        target.adj.copy_(gt.zeros(3, 3).to_sparse())
    with pytest.raises(RuntimeError, match="dense"):
        target.adj.copy_(gt.zeros(2, 3))
