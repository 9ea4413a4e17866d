"""``axis=``/``keepdims=`` where PyTorch's native functions and methods take them, and not
where PyTorch's Python-level ones refuse them (`graphtorch/functions/numpy_names.py`)."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from tests.autograd.diff import torch

# (call, whether PyTorch takes it): `lib` is torch or graphtorch, `x` a 2x3 tensor
CALLS = [
    ("lib.cumprod(x, axis=0)", True),          # the annotated-diffusion betas schedule
    ("x.cumprod(axis=1)", True),
    ("lib.cumsum(x, axis=0)", True),
    ("lib.sum(x, axis=1, keepdims=True)", True),
    ("x.sum(axis=1, keepdims=True)", True),
    ("x.mean(axis=0)", True),
    ("lib.amax(x, axis=0, keepdims=True)", True),
    ("x.max(axis=1).values", True),
    ("lib.argmax(x, axis=1)", True),
    ("lib.std(x, axis=1)", True),
    ("lib.logsumexp(x, axis=0)", True),
    ("lib.softmax(x, axis=1)", True),
    ("x.log_softmax(axis=0)", True),
    ("lib.stack([x, x], axis=0)", True),
    ("x.squeeze(axis=0)", True),
    ("x.unsqueeze(axis=0)", True),
    ("lib.flip(x, (0,))", True),
    ("x.topk(1, axis=0).values", True),
    ("x.sort(axis=0).values", True),
    ("lib.index_select(x, axis=0, index=lib.tensor([1]))", True),
    ("lib.split(x, 1, axis=0)", False),        # Python-level in PyTorch
    ("x.split(1, axis=0)", False),
    ("x.norm(axis=0)", False),
    ("x.unflatten(axis=1, sizes=(3, 1))", False),
    ("lib.nn.functional.softmax(x, axis=1)", False),
    ("x.sum(dim=1, axis=1)", False),           # both names: PyTorch's error
]


def _run(lib, call):
    x = lib.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    return eval(call, {"lib": lib, "x": x})  # a fixed table of calls


@pytest.mark.parametrize("call, accepted", CALLS, ids=[c for c, _ in CALLS])
def test_numpy_names_as_pytorch(call, accepted):
    if not accepted:
        with pytest.raises(TypeError) as want:
            _run(torch, call)
        with pytest.raises(TypeError) as got:
            _run(gt, call)
        assert "unexpected keyword argument 'axis'" in str(want.value)
        assert "unexpected keyword argument 'axis'" in str(got.value)
        return
    want, got = _run(torch, call), _run(gt, call)
    want = want if isinstance(want, (tuple, list)) else [want]
    got = got if isinstance(got, (tuple, list)) else [got]
    for w, g in zip(want, got, strict=True):
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-6)


def test_wrapped_functions_keep_their_signature_and_docs():
    import inspect
    assert "dim" in inspect.signature(gt.cumprod).parameters
    assert gt.Tensor.sum.__doc__ == gt.functions.reduce.sum.__doc__


def test_wrapped_functions_pickle_by_name():
    import pickle
    for fn in (gt.sum, gt.cumprod, gt.max, gt.Tensor.sum, gt.Tensor.softmax):
        assert pickle.loads(pickle.dumps(fn)) is fn
