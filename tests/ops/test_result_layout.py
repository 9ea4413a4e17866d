"""`OpDef.result_layout`: what the tracer assumes about a result's strides must be what the
eager kernel does, or compiled `view` / `is_contiguous()` / `stride()` would differ from
eager. Every op claiming `ResultLayout.CONTIGUOUS` runs its op-table rows on inputs in
other memory orders (Fortran order, a transposed view, a strided slice), forward and
backward, and each call of its kernel must return a C-contiguous array."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.ops import dispatch
from graphtorch.ops.registry import REGISTRY, Category, OpDef, ResultLayout, register

from . import harness as H
from .test_op_table import ROWS

CONTIGUOUS_OPS = sorted(name for name, op in REGISTRY.items()
                        if op.result_layout is ResultLayout.CONTIGUOUS)


def _strided(x: np.ndarray, how: str) -> np.ndarray:
    """`x`'s values in another memory layout (the same values, other strides)."""
    if how == "fortran":
        return np.asfortranarray(x)
    if how == "transposed":  # the last two axes stored swapped
        return np.ascontiguousarray(np.swapaxes(x, -1, -2)).swapaxes(-1, -2)
    wide = np.zeros(x.shape[:-1] + (2 * x.shape[-1],), x.dtype)  # every other element
    wide[..., ::2] = x
    return wide[..., ::2]


@contextlib.contextmanager
def _checking_results(names, seen: list, wrong: list):
    """Wrap the kernels of ops `names`: each run appends the op's name to `seen`, and a
    description to `wrong` for each result that is not C-contiguous (an assertion inside
    the kernel would become the dispatcher's RuntimeError)."""
    saved = {}
    for name in names:
        op = REGISTRY[name]
        saved[name] = op.kernel

        def checked(*args, _kernel=op.kernel, _name=name, **kwargs):
            out = _kernel(*args, **kwargs)
            for o in out if isinstance(out, tuple) else (out,):
                if isinstance(o, np.ndarray):
                    seen.append(_name)
                    if not o.flags.c_contiguous:
                        wrong.append(f"{_name} claims ResultLayout.CONTIGUOUS but returned "
                                     f"strides {o.strides} for shape {o.shape}")
            return out
        object.__setattr__(op, "kernel", checked)
        dispatch._OP_INFO.pop(op, None)  # the C path keeps the kernel it first saw
    try:
        yield
    finally:
        for name, kernel in saved.items():
            object.__setattr__(REGISTRY[name], "kernel", kernel)
            dispatch._OP_INFO.pop(REGISTRY[name], None)


def _rows_of(name):
    return [row for row in ROWS if name in row.ops]


@pytest.mark.parametrize("name", CONTIGUOUS_OPS)
@pytest.mark.parametrize("how", ["fortran", "transposed", "slice"])
def test_contiguous_claims_hold_on_strided_inputs(name, how):
    rows = _rows_of(name)
    assert rows, f"{name} has no op-table row"
    seen: list = []
    wrong: list = []
    with _checking_results([name], seen, wrong):
        for row in rows:
            for case in row.cases:
                dtype = "float64" if "float64" in row.dtypes else row.dtypes[0]
                inputs = H.make_inputs(row, case, dtype)
                inputs = [_strided(x, how) if isinstance(x, np.ndarray) and x.ndim >= 2
                          and x.size else x for x in inputs]
                positions = [i for i, x in enumerate(inputs) if row.grad and
                             isinstance(x, np.ndarray) and x.dtype.kind in "fc"]
                tensors = [gt.from_numpy(x) if isinstance(x, np.ndarray) else x
                           for x in inputs]
                for i in positions:
                    tensors[i].requires_grad_(True)
                try:
                    out = H.flat_outputs(row.fn(gt, *tensors))
                except (RuntimeError, ValueError, TypeError, IndexError):
                    continue  # a row whose fn needs its own layout (e.g. .view)
                diff = [o for o in out if hasattr(o, "requires_grad") and o.requires_grad]
                if diff:
                    sum(o.float().sum() for o in diff).backward()
    assert not wrong, wrong[0]
    assert name in seen, f"no op-table row ran {name}'s kernel"


def test_a_wrong_claim_is_caught():
    """The check above fails for an op whose kernel keeps its input's order."""
    op = OpDef("_layout_probe_exp", Category.OPAQUE, lambda xp, a: np.exp(a),
               lambda a: a, result_layout=ResultLayout.CONTIGUOUS)
    REGISTRY[op.name] = op
    try:
        wrong: list = []
        with _checking_results([op.name], [], wrong):
            REGISTRY[op.name].kernel(np, np.asfortranarray(np.ones((3, 4))))
        assert wrong and "claims ResultLayout.CONTIGUOUS" in wrong[0]
    finally:
        del REGISTRY[op.name]


def test_claims_must_fit_the_category():
    with pytest.raises(ValueError, match="does not fit"):
        register(OpDef("_layout_probe_view", Category.VIEW, lambda xp, a: a, lambda a: a,
                       result_layout=ResultLayout.CONTIGUOUS))
    with pytest.raises(ValueError, match="does not fit"):
        register(OpDef("_layout_probe_add", Category.ELEMENTWISE, lambda xp, a: a,
                       lambda a: a, result_layout=ResultLayout.KEEPS_CONTIGUOUS))
