"""Every registered op against PyTorch CPU (values, dtype, shape, gradients) and against
float64 finite differences. A registered op without a row fails `test_every_op_has_a_row`."""

from __future__ import annotations

import importlib
import pkgutil

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.ops.registry import REGISTRY

from . import harness as H
from .harness import Row

torch = pytest.importorskip("torch")  # conftest makes a missing torch an error under CI

# Ops that have no public entry of their own: exercised through the rows named here.
INTERNAL = {
    "copy_into_view": "covered by the in-place-through-view rows (setitem) and select/slice "
                      "vjps",
}


def _load_rows() -> list[Row]:
    rows = []
    from . import __path__ as pkg_path

    for info in pkgutil.iter_modules(pkg_path):
        if info.name.startswith("table_"):
            module = importlib.import_module(f"{__package__}.{info.name}")
            rows.extend(module.ROWS)
    return rows


ROWS = _load_rows()
FORWARD = [(row, case, dtype) for row in ROWS for case in row.cases for dtype in row.dtypes]
BACKWARD = [(row, case) for row in ROWS if row.grad for case in row.cases]


def _id(param):
    if isinstance(param, Row):
        return param.name
    return str(param).replace(" ", "")


def test_every_op_has_a_row():
    covered = {op for row in ROWS for op in row.ops}
    missing = sorted(set(REGISTRY) - covered - set(INTERNAL))
    assert not missing, f"registered ops without an op-table row: {missing}"
    unknown = sorted(covered - set(REGISTRY))
    assert not unknown, f"rows name ops that are not registered: {unknown}"


@pytest.mark.parametrize("row,case,dtype", FORWARD, ids=_id)
def test_forward_matches_torch(row: Row, case, dtype):
    inputs = H.make_inputs(row, case, dtype)
    expected = H.flat_outputs(row.fn(torch, *H.to_lib(torch, inputs, ())))
    got = H.flat_outputs(row.fn(gt, *H.to_lib(gt, inputs, ())))
    assert len(got) == len(expected), H.repro(row, case, dtype)
    for i, (g, e) in enumerate(zip(got, expected)):
        what = f"output {i}; {H.repro(row, case, dtype)}"
        if hasattr(e, "dtype") and not row.skip_dtype_check:
            assert repr(g.dtype) == str(e.dtype), f"dtype {g.dtype} != {e.dtype}; {what}"
        H.assert_close(H.as_numpy(g), H.as_numpy(e), row.atol, row.rtol, what)


@pytest.mark.parametrize("row,case", BACKWARD, ids=_id)
def test_gradients_match_torch(row: Row, case):
    dtype = "float64" if "float64" in row.dtypes else "float32"
    inputs = H.make_inputs(row, case, dtype)
    positions = H.grad_positions(row, inputs)
    if not positions:
        pytest.skip("no floating input")
    t_inputs = H.to_lib(torch, inputs, positions)
    g_inputs = H.to_lib(gt, inputs, positions)
    t_out = H.flat_outputs(row.fn(torch, *t_inputs))
    g_out = H.flat_outputs(row.fn(gt, *g_inputs))
    cots = H.cotangents(t_out)
    t_loss = H.weighted_sum(torch, t_out, cots)
    if t_loss is None:
        pytest.skip("no differentiable output")
    g_loss = H.weighted_sum(gt, g_out, cots)
    assert g_loss is not None and g_loss.requires_grad, \
        f"graphtorch output does not require grad; {H.repro(row, case, dtype)}"
    t_loss.backward()
    g_loss.backward()
    for p in positions:
        t_grad, g_grad = t_inputs[p].grad, g_inputs[p].grad
        what = f"grad of input {p}; {H.repro(row, case, dtype)}"
        if t_grad is None:
            assert g_grad is None or not np.any(H.as_numpy(g_grad)), what
            continue
        assert g_grad is not None, f"missing gradient; {what}"
        assert repr(g_grad.dtype) == str(t_grad.dtype), what
        H.assert_close(H.as_numpy(g_grad), H.as_numpy(t_grad), row.atol * 10, row.rtol * 10,
                       what)


FD_CASES = [(row, case) for row, case in BACKWARD if row.fd
            and sum(int(np.prod(s)) for s in case if isinstance(s, tuple)) <= 60]


@pytest.mark.parametrize("row,case", FD_CASES, ids=_id)
def test_gradients_match_finite_differences(row: Row, case):
    inputs = H.make_inputs(row, case, "float64")
    positions = H.grad_positions(row, inputs)
    if not positions:
        pytest.skip("no floating input")
    g_inputs = H.to_lib(gt, inputs, positions)
    out = H.flat_outputs(row.fn(gt, *g_inputs))
    cots = H.cotangents(out)
    loss = H.weighted_sum(gt, out, cots)
    if loss is None:
        pytest.skip("no differentiable output")
    loss.backward()
    numeric = H.numerical_grads(row, inputs, positions, cots)
    for p, expected in zip(positions, numeric):
        got = g_inputs[p].grad
        assert got is not None, H.repro(row, case, "float64")
        H.assert_close(H.as_numpy(got), expected, 1e-5, 1e-4,
                       f"finite differences, input {p}; {H.repro(row, case, 'float64')}")


# Differentiable ops without a finite-difference case, and why.
NO_FINITE_DIFFERENCES = {
    "mode": "mode needs repeated values, where the choice among ties has no derivative",
    "untracked_write": "a write autograd does not record: its gradient is PyTorch's (compared "
                       "above), deliberately not the function's derivative",
    "unique": "its vjp raises NotImplementedError, as PyTorch's (tested below)",
    "unique_consecutive": "its vjp raises NotImplementedError, as PyTorch's (tested below)",
}


def test_every_differentiable_op_has_a_finite_difference_case():
    checked = {op for row, _ in FD_CASES for op in row.ops}
    differentiable = {name for name, op in REGISTRY.items() if op.vjp is not None}
    missing = sorted(differentiable - checked - set(NO_FINITE_DIFFERENCES) - set(INTERNAL))
    assert not missing, f"differentiable ops without a float64 finite-difference case: {missing}"


@pytest.mark.parametrize("fn", [lambda m, a: m.unique(a), lambda m, a: m.unique_consecutive(a)])
def test_ops_without_derivative_raise_like_pytorch(fn):
    for lib in (torch, gt):
        out = fn(lib, lib.tensor([1.0, 1.0, 2.0], requires_grad=True))
        with pytest.raises(NotImplementedError, match="derivative for"):
            out.sum().backward()


def test_rows_cover_broadcasting_zero_d_and_empty():
    """The table as a whole exercises 0-d, empty and broadcast shapes."""
    shapes = [s for row in ROWS for case in row.cases for s in case if isinstance(s, tuple)]
    assert () in shapes
    assert any(0 in s for s in shapes)
