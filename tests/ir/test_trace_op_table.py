"""Every op-table row traced with gt.trace, run by the interpreter, equals eager (values and
dtypes). Rows that cannot be captured yet must raise TracingError (never a wrong number)."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.ir.tracer import TracingError

from ..ops import harness as H
from ..ops.test_op_table import ROWS, _id

CASES = [(row, row.cases[0], row.dtypes[0]) for row in ROWS]


@pytest.mark.parametrize("row,case,dtype", CASES, ids=_id)
def test_traced_row_equals_eager(row, case, dtype):
    program = H.row_program(row, case, dtype)
    eager = program.fn(*program.tensors())
    try:
        traced = gt.trace(program.fn, *program.tensors())
    except TracingError:
        pytest.skip("not capturable yet (raises TracingError, as it must)")
    got = traced(*program.tensors())
    got = got if isinstance(got, tuple) else (got,)
    assert len(got) == len(eager)
    for g, e in zip(got, eager):
        assert g.dtype is e.dtype and tuple(g.shape) == tuple(e.shape), H.repro(row, case, dtype)
        np.testing.assert_allclose(g.detach().numpy().astype(np.complex128),
                                   e.detach().numpy().astype(np.complex128), rtol=1e-6,
                                   atol=1e-6, equal_nan=True, err_msg=H.repro(row, case, dtype))


# Ops that no CPU-only row can reach, and why.
NOT_TRACED_ON_CPU = {"to_device": "a copy between devices: needs a CUDA device"}
# Ops whose output size depends on tensor values: a trace refuses them with TracingError
# (the compiled function then runs that part eagerly), see tests/compiler.
DATA_DEPENDENT = {name: "output size depends on the values" for name in (
    "bincount", "linalg_lstsq", "masked_select", "nonzero", "repeat_interleave", "unique",
    "unique_consecutive")}
# Ops that read a tensor's storage, which a graph does not know (an argument may be a view of
# anything): a trace refuses them too, and compiled code runs them eagerly.
STORAGE_READS = {"as_strided": "sizes, strides and offset count elements of the storage"}


def test_every_registered_op_is_traced_by_some_row():
    from graphtorch.ir.graph import NodeKind
    from graphtorch.ops.registry import REGISTRY

    traced = set()
    for row, case, dtype in CASES:
        program = H.row_program(row, case, dtype)
        inputs = program.tensors()
        with_grad = [t.detach().requires_grad_() if t.is_floating_point() else t
                     for t in inputs]
        for args in (inputs, with_grad):  # some ops are traced only for inputs with grad
            try:
                graph = gt.trace(program.fn, *args, optimize=False).graph
            except TracingError:
                continue
            except RuntimeError:  # an input that may not require grad (a loss weight)
                if args is inputs:
                    raise
                continue
            traced.update(n.op.name for n in graph.nodes if n.kind is NodeKind.OP)
    missing = sorted(set(REGISTRY) - traced - set(NOT_TRACED_ON_CPU) - set(DATA_DEPENDENT)
                     - set(STORAGE_READS))
    assert not missing, f"registered ops that no op-table row traces: {missing}"
