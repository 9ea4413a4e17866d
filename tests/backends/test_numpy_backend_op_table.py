"""Every op-table row traced, compiled to NumPy source and run equals eager (values, dtypes
and shapes), on every dtype of the row."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.backends.numpy_backend import NumpyProgram
from graphtorch.ir.graph import NodeKind
from graphtorch.ir.tracer import TracingError

from ..ops import harness as H
from ..ops.test_op_table import ROWS, _id

CASES = [(row, case, dtype) for row in ROWS for case in row.cases[:2] for dtype in row.dtypes]


def _graph_arrays(traced, inputs):
    arrays, it = [], iter(inputs)
    for node in traced.graph.nodes:
        if node.kind is NodeKind.INPUT:
            arrays.append(next(it))
        elif node.kind is NodeKind.PARAM:
            arrays.append(traced.params[node.name]._data)
    return arrays


@pytest.mark.parametrize("row,case,dtype", CASES, ids=_id)
def test_numpy_program_equals_eager(row, case, dtype):
    program = H.row_program(row, case, dtype)
    gt.manual_seed(0)
    eager = program.fn(*program.tensors())
    try:
        traced = gt.trace(program.fn, *program.tensors(), optimize=False)
    except (TracingError, RuntimeError, TypeError, ValueError, IndexError):
        pytest.skip("not capturable")
    compiled = NumpyProgram(traced.graph)
    gt.manual_seed(0)
    got = compiled(*_graph_arrays(traced, [t.numpy() for t in program.tensors()]))
    got = got[:len(eager)]
    for g, e in zip(got, eager):
        assert isinstance(g, np.ndarray), (type(g), compiled.code)
        assert g.dtype == e._data.dtype, (H.repro(row, case, dtype), compiled.code)
        assert g.shape == tuple(e.shape), H.repro(row, case, dtype)
        np.testing.assert_allclose(g.astype(np.complex128),
                                   e.detach().numpy().astype(np.complex128), rtol=1e-6,
                                   atol=1e-6, equal_nan=True,
                                   err_msg=H.repro(row, case, dtype) + "\n" + compiled.code)
