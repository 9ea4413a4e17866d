"""The op-table harness: one row per op, run on PyTorch and graphtorch with the same data.

A `Row` names the registry ops it covers and gives `fn(lib, *inputs)`, called once with
`lib=torch` and once with `lib=graphtorch`. The harness compares outputs (values, dtype,
shape), gradients of sum(output * cotangent) against PyTorch, and gradients against
central finite differences in float64. Failures print a one-line repro.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

import graphtorch as gt


@dataclass
class Row:
    """One op-table row.

    ops: registry op names this row exercises (the coverage test reads them).
    fn: fn(lib, *inputs) -> tensor or tuple of tensors; `lib` is torch or graphtorch.
    cases: each case is a tuple of input shapes; a non-tuple entry is passed as a Python
        scalar. Include broadcasting, 0-d `()` and empty shapes where the op allows.
    dtypes: input dtypes (names) to test the forward pass with.
    make: optional make(rng, case, dtype) -> list of inputs (np.ndarray or scalars)
        for ops that need special inputs (indices, positive numbers, ...).
    grad: whether gradients are compared (floating inputs only).
    grad_inputs: which input positions get requires_grad (None: every float array).
    """

    ops: tuple[str, ...]
    fn: Callable[..., Any]
    cases: list[tuple]
    dtypes: tuple[str, ...] = ("float32",)
    low: float = -2.0
    high: float = 2.0
    make: Callable | None = None
    grad: bool = True
    grad_inputs: tuple[int, ...] | None = None
    fd: bool = True          # run the float64 finite-difference check
    atol: float = 1e-5
    rtol: float = 1e-4
    name: str = ""
    skip_dtype_check: bool = False
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        if isinstance(self.ops, str):
            self.ops = (self.ops,)
        if not self.name:
            self.name = self.ops[0]


def make_inputs(row: Row, case, dtype: str, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    if row.make is not None:
        return [np.asarray(x) if isinstance(x, np.generic) else x
                for x in row.make(rng, case, dtype)]
    out = []
    for spec in case:
        if isinstance(spec, tuple):
            arr = rng.uniform(row.low, row.high, size=spec)
            if dtype == "bool":
                arr = arr > (row.low + row.high) / 2
            elif dtype.startswith(("int", "uint")):
                arr = np.round(arr * 3)
                if dtype.startswith("uint"):
                    arr = np.abs(arr)
            out.append(np.asarray(arr).astype(dtype))
        else:
            out.append(spec)
    return out


def to_lib(lib, inputs, requires_grad_positions):
    tensors = []
    for i, x in enumerate(inputs):
        if isinstance(x, np.ndarray):
            t = lib.tensor(x.copy())
            if i in requires_grad_positions:
                t.requires_grad_(True)
            tensors.append(t)
        else:
            tensors.append(x)
    return tensors


def flat_outputs(out) -> list:
    if isinstance(out, (tuple, list)):
        items = []
        for o in out:
            items.extend(flat_outputs(o))
        return items
    return [out]


def as_numpy(t):
    if hasattr(t, "detach"):
        t = t.detach()
        if hasattr(t, "resolve_conj"):
            t = t.resolve_conj()
        return np.array(t.cpu().numpy() if hasattr(t, "cpu") else t.numpy())
    return np.asarray(t)


def repro(row: Row, case, dtype: str) -> str:
    return (f"repro: row={row.name!r} case={case!r} dtype={dtype} "
            f"(python -m pytest tests/ops -k '{row.name}')")


def assert_close(ours, theirs, atol, rtol, what: str):
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} != torch {theirs.shape}"
    if ours.dtype.kind in "biu" and theirs.dtype.kind in "biu":
        np.testing.assert_array_equal(ours, theirs, err_msg=what)
    else:
        np.testing.assert_allclose(ours.astype(np.complex128 if ours.dtype.kind == "c"
                                               else np.float64),
                                   theirs, atol=atol, rtol=rtol, equal_nan=True, err_msg=what)


def grad_positions(row: Row, inputs) -> tuple[int, ...]:
    if not row.grad:
        return ()
    float_positions = tuple(i for i, x in enumerate(inputs)
                            if isinstance(x, np.ndarray) and x.dtype.kind in "fc")
    if row.grad_inputs is None:
        return float_positions
    return tuple(i for i in row.grad_inputs if i in float_positions)


def cotangents(outputs, seed: int = 1):
    rng = np.random.default_rng(seed)
    cots = []
    for o in outputs:
        if hasattr(o, "dtype") and (o.dtype.is_floating_point or o.dtype.is_complex) \
                and o.requires_grad:
            cots.append(rng.uniform(-1, 1, size=tuple(o.shape)))
        else:
            cots.append(None)
    return cots


def weighted_sum(lib, outputs, cots):
    total = None
    for o, c in zip(outputs, cots):
        if c is None:
            continue
        term = (o * lib.tensor(c.astype(as_numpy(o).dtype if as_numpy(o).dtype.kind == "f"
                                         else np.float64))).sum()
        if term.dtype.is_complex:
            term = term.real
        total = term if total is None else total + term
    return total


def numerical_grads(row: Row, inputs, positions, cots, eps: float = 1e-6):
    """Central differences of sum(fn(...) * cot) in float64."""
    def value(xs):
        outs = flat_outputs(row.fn(gt, *to_lib(gt, xs, ())))
        total = 0.0
        for o, c in zip(outs, cots):
            if c is not None:
                total += float((as_numpy(o).astype(np.float64) * c).real.sum())
        return total

    grads = []
    for p in positions:
        base = inputs[p]
        g = np.zeros(base.shape, dtype=np.float64)
        for idx in np.ndindex(base.shape):
            plus = [x.copy() if isinstance(x, np.ndarray) else x for x in inputs]
            minus = [x.copy() if isinstance(x, np.ndarray) else x for x in inputs]
            plus[p][idx] += eps
            minus[p][idx] -= eps
            g[idx] = (value(plus) - value(minus)) / (2 * eps)
        grads.append(g)
    return grads


@dataclass
class RowProgram:
    """An op-table row case as a function of its tensor arguments only (what tracers and
    compilers take): `fn(*tensors)` returns the flat tuple of tensor outputs."""

    inputs: list          # NumPy inputs of the case (tensors and other arguments)
    positions: list       # which of them are tensors
    fn: Callable

    def tensors(self) -> list:
        """The tensor arguments, built from the case's inputs."""
        return [gt.tensor(self.inputs[i].copy()) for i in self.positions]


def row_program(row: Row, case, dtype: str) -> RowProgram:
    inputs = make_inputs(row, case, dtype)
    args = to_lib(gt, inputs, ())
    positions = [i for i, t in enumerate(args) if isinstance(t, gt.Tensor)]

    def fn(*xs):
        call = list(args)
        for i, x in zip(positions, xs):
            call[i] = x
        return tuple(o for o in flat_outputs(row.fn(gt, *call)) if isinstance(o, gt.Tensor))

    return RowProgram(inputs, positions, fn)
