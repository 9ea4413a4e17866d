"""Every op-table row traced and exported to ONNX: ONNX Runtime equals eager (values, dtypes,
shapes), or the export raises UnsupportedOperatorError naming the op and the row's line.

ONNX Runtime's CPU kernels do not cover every type the ONNX standard allows (float64
convolutions, trigonometry in float64, ...): such rows are skipped with ORT's message, since
the model is valid ONNX. Rows with random ops (dropout masks) are checked for shapes and
dtypes only (tests/ir/test_onnx_models.py checks a mask's statistics)."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.ir.onnx_errors import UnsupportedOperatorError
from graphtorch.ir.tracer import TracingError

from ..ops import harness as H
from ..ops.test_op_table import ROWS, _id

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from graphtorch.ir.onnx_export import RENDERERS, find_renderer  # after the skip: needs onnx

CASES = [(row, case, row.dtypes[0]) for row in ROWS for case in row.cases]
EXPORTED: set = set()   # ops some row exported and ONNX Runtime ran


def _ops(graph) -> set:
    ops = set()
    for node in graph.op_nodes:
        ops.add(node.op)
        for value in node.attrs.values():
            if isinstance(value, type(graph)):
                ops |= _ops(value)
    return ops


def _run(row, case, dtype):
    """('skip', reason) | ('unsupported', error, graph) | ('ran', got, eager, graph)."""
    program = H.row_program(row, case, dtype)
    try:
        want = program.fn(*program.tensors())
        traced = gt.trace(program.fn, *program.tensors())
    except TracingError:
        return ("skip", "not capturable by gt.trace (raises TracingError, as it must)")
    try:
        model = traced.graph.to_onnx(traced.params, num_outputs=len(want))
    except UnsupportedOperatorError as exc:
        return ("unsupported", exc, traced.graph)
    onnx.checker.check_model(model, full_check=True)
    try:
        session = ort.InferenceSession(model.SerializeToString(),
                                       providers=["CPUExecutionProvider"])
    except Exception as exc:
        if "NOT_IMPLEMENTED" in str(exc):
            return ("skip", f"ONNX Runtime has no CPU kernel: {str(exc)[:160]}")
        raise
    feeds = {i.name: t.detach().numpy() for i, t in zip(session.get_inputs(), program.tensors())}
    return ("ran", session.run(None, feeds), want, traced.graph)


@pytest.mark.parametrize("row,case,dtype", CASES, ids=_id)
def test_exported_row_equals_eager(row, case, dtype):
    result = _run(row, case, dtype)
    if result[0] == "skip":
        pytest.skip(result[1])
    if result[0] == "unsupported":
        exc, graph = result[1], result[2]
        names = {op.name for op in _ops(graph)}
        assert any(f"'{n}'" in str(exc) or f"export {n} " in str(exc) for n in names), exc
        assert "tests/ops/table_" in str(exc), f"the error names no user line: {exc}"
        return
    got, want, graph = result[1], result[2], result[3]
    assert len(got) == len(want)
    random = any(op.random for op in _ops(graph))
    for g, w in zip(got, want):
        w = w.detach().numpy()
        assert g.dtype == w.dtype and g.shape == w.shape, H.repro(row, case, dtype)
        if random:  # ONNX Runtime draws its own numbers
            continue
        tol = 2e-3 if w.dtype == np.float16 else 1e-5
        np.testing.assert_allclose(g, w, rtol=tol, atol=tol, equal_nan=True,
                                   err_msg=H.repro(row, case, dtype))
    EXPORTED.update(_ops(graph))


# Renderings that no row can run here, and where they are checked instead.
NOT_RUN_BY_ROWS = {
    "to_device": "a copy between devices: needs a CUDA device (rendered as the identity)",
    "untracked_write": "traced only for inputs that require grad; "
                       "tests/ir/test_onnx_models.py exports one",
    "constant": "not a registry op; every model with a tensor made while tracing has one",
    "adaptive_max_pool": "the rows return the indices, which have no ONNX form; "
                         "tests/ir/test_onnx_models.py exports the values",
}


def test_every_rendering_is_run_by_some_row():
    """Each registry op with an ONNX rendering is exported and run by at least one row (so
    a rendering cannot rot untested). Runs the rows itself when run alone."""
    if not EXPORTED:
        for row, case, dtype in CASES:
            result = _run(row, case, dtype)
            if result[0] == "ran":
                EXPORTED.update(_ops(result[3]))
    untested = sorted(op.name for op in RENDERERS
                      if op not in EXPORTED and op.name not in NOT_RUN_BY_ROWS)
    assert not untested, f"ONNX renderings no op-table row runs: {untested}"


def test_renderers_are_found_by_opdef_object():
    from graphtorch.ops.registry import REGISTRY

    for op in RENDERERS:
        assert REGISTRY.get(op.name, op) is op  # `constant` is made by passes, unregistered
        assert find_renderer(op) is RENDERERS[op]
