"""Layouts vs PyTorch: `gt.strided` and the sparse layouts print as PyTorch's, and every
tensor (and view) reports the strided layout and no sparse/quantized kind."""

from __future__ import annotations

import pickle

import pytest

import graphtorch as gt
from tests.autograd.diff import same, torch

LAYOUTS = ["strided", "sparse_coo", "sparse_csr", "sparse_csc", "sparse_bsr", "sparse_bsc",
           "jagged"]


@pytest.mark.parametrize("name", LAYOUTS)
def test_layout_objects_print_as_torch(name):
    ours, theirs = getattr(gt, name), getattr(torch, name)
    assert repr(ours) == repr(theirs) == str(ours) == str(theirs)
    assert isinstance(ours, gt.layout)
    assert pickle.loads(pickle.dumps(ours)) is ours


def test_tensors_report_the_strided_layout():
    def fn(lib):
        x = lib.ones(2, 3)
        made = lib.zeros(2, layout=lib.strided)
        return ([str(t.layout) for t in (x, x.t(), x[0], made)],
                x.layout == lib.strided, x.layout == lib.sparse_coo,
                x.is_sparse, x.is_sparse_csr, x.is_quantized, x.is_mkldnn)
    same(fn)
