"""Every op's shape/dtype rule (`infer`) agrees with what its kernel produces.

The tracer will rely on `infer` alone, so each kernel run of the op table is recorded
(through dispatch's kernel entry point) and its output compared with `infer` on the
inputs' metadata. -1 in an inferred shape stands for a data-dependent size.
"""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.ops import dispatch
from graphtorch.ops.registry import TensorMeta

from . import harness as H
from .test_op_table import FORWARD, _id


def _metas(op, inputs):
    if op.variadic:
        return [[dispatch.meta_of(t) for t in inputs[0]],
                *(dispatch.meta_of(x) for x in inputs[1:])]
    return [dispatch.meta_of(x) for x in inputs]


def _as_tuple(x):
    return x if isinstance(x, tuple) and not isinstance(x, TensorMeta) else (x,)


def _check(op, inputs, attrs, out):
    inferred = _as_tuple(op.infer(*_metas(op, inputs), **attrs))
    produced = _as_tuple(out)
    assert len(inferred) == len(produced), f"{op.name}: {len(inferred)} metas for " \
                                            f"{len(produced)} outputs"
    for i, (meta, array) in enumerate(zip(inferred, produced)):
        array = np.asarray(array) if not hasattr(array, "shape") else array
        assert isinstance(meta, TensorMeta), f"{op.name}: infer returned {meta!r}"
        shape = tuple(meta.shape)
        assert len(shape) == array.ndim and all(
            s == -1 or s == a for s, a in zip(shape, array.shape)), \
            f"{op.name} output {i}: infer says {shape}, kernel made {array.shape}"
        assert meta.dtype.np_dtype == array.dtype, \
            f"{op.name} output {i}: infer says {meta.dtype}, kernel made {array.dtype}"


@pytest.mark.parametrize("row,case,dtype", FORWARD, ids=_id)
def test_infer_matches_kernel(row, case, dtype, monkeypatch):
    seen = []
    original = dispatch._run_kernel

    def recording(op, inputs, attrs):
        out = original(op, inputs, attrs)
        seen.append((op, inputs, dict(attrs), out))
        return out

    monkeypatch.setattr(dispatch, "_run_kernel", recording)
    inputs = H.make_inputs(row, case, dtype)
    row.fn(gt, *H.to_lib(gt, inputs, ()))
    monkeypatch.undo()
    for op, op_inputs, attrs, out in seen:
        _check(op, op_inputs, attrs, out)
