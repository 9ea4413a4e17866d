"""Eager dispatch's C paths (`ops/dispatch_native.py`: `call` and the operators) give what
the Python paths give, for every row of the op table: outputs (values, dtypes, shapes,
requires_grad, aliasing of views), autograd nodes and gradients. Both paths run the same
kernels, so results are compared exactly (NaNs equal)."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.autograd.graph import OpNode
from graphtorch.ops import dispatch

from . import harness as H
from .test_op_table import BACKWARD, ROWS

NATIVE = (dispatch._NATIVE_CALL[0], dispatch._NATIVE_BINARY[0])
needs_native = pytest.mark.skipif(NATIVE[0] is None, reason="the C dispatch is not built here")


def test_extension_builds_where_it_can():
    """With a compiler and Python's headers the extension must build (conftest asks for a
    synchronous build): otherwise every test below would skip unnoticed."""
    import os
    import sysconfig

    from graphtorch import native_build

    if dispatch._ERRSTATE is None or native_build.compiler() is None or not os.path.exists(
            os.path.join(sysconfig.get_paths()["include"], "Python.h")):
        pytest.skip("no compiler or Python headers here")
    if os.environ.get("GRAPHTORCH_EAGER_NATIVE") != "sync":
        pytest.skip("the extension builds in the background in this run")
    assert dispatch.NATIVE.error is None
    assert NATIVE[0] is not None and NATIVE[1] is not None


@contextlib.contextmanager
def python_paths():
    dispatch._NATIVE_CALL[0] = dispatch._NATIVE_BINARY[0] = None
    try:
        yield
    finally:
        dispatch._NATIVE_CALL[0], dispatch._NATIVE_BINARY[0] = NATIVE


def _describe(out) -> list:
    described = []
    for o in H.flat_outputs(out):
        if isinstance(o, gt.Tensor):
            fn = o.grad_fn
            described.append((str(o.dtype), tuple(o.shape), o.requires_grad, o.is_leaf,
                              fn.name() if fn is not None else None, _node(fn),
                              o._base is not None, H.as_numpy(o)))
        else:
            described.append(("value", o))
    return described


def _node(fn):
    """What an OpNode holds, comparably: edges' node types, infos, attributes, saved
    entries' kinds."""
    if not isinstance(fn, OpNode):
        return None
    saved_outputs = None if fn.saved_outputs is None else [
        tuple(type(x).__name__ for x in entry) for entry in fn.saved_outputs]
    return (fn.op.name, [(type(n).__name__, nr) for n, nr in fn.next_functions],
            fn._in_info, fn._out_info, repr(fn.attrs), saved_outputs,
            [type(x).__name__ if not isinstance(x, tuple) else (x[1],)
             for x in fn.saved_inputs])


def _same(native, python, what):
    assert len(native) == len(python), what
    for a, b in zip(native, python):
        assert a[:-1] == b[:-1], (a[:-1], b[:-1], what)
        if isinstance(a[-1], np.ndarray):
            np.testing.assert_array_equal(a[-1], b[-1], err_msg=what)
        elif a[0] == "value":
            assert repr(a[-1]) == repr(b[-1]), what


def _run(row, case, dtype, positions):
    inputs = H.make_inputs(row, case, dtype)
    gt.manual_seed(0)
    tensors = H.to_lib(gt, inputs, positions)
    try:
        out = row.fn(gt, *tensors)
    except Exception as exc:  # noqa: BLE001 - both paths must raise alike
        return [("raised", type(exc).__name__, str(exc)[:200], None)], tensors
    return _describe(out), tensors, out


FORWARD = [(row, case, row.dtypes[0]) for row in ROWS for case in row.cases]


@pytest.mark.parametrize("row,case,dtype", FORWARD,
                         ids=lambda p: p.name if isinstance(p, H.Row) else str(p))
@needs_native
def test_forward_same_on_both_paths(row, case, dtype):
    _run(row, case, dtype, ())  # the first call of an op registers it for the C path
    native = _run(row, case, dtype, ())[0]
    with python_paths():
        python = _run(row, case, dtype, ())[0]
    _same(native, python, H.repro(row, case, dtype))


@pytest.mark.parametrize("row,case", BACKWARD,
                         ids=lambda p: p.name if isinstance(p, H.Row) else str(p))
@needs_native
def test_backward_same_on_both_paths(row, case):
    dtype = "float64" if "float64" in row.dtypes else "float32"
    positions = H.grad_positions(row, H.make_inputs(row, case, dtype))
    _run(row, case, dtype, positions)  # registers the row's ops for the C path
    results = []
    for context in (contextlib.nullcontext, python_paths):
        with context():
            ran = _run(row, case, dtype, positions)
            described, tensors = ran[0], ran[1]
            grads = []
            if len(ran) == 3:
                outs = H.flat_outputs(ran[2])
                loss = H.weighted_sum(gt, outs, H.cotangents(outs))
                if loss is not None and loss.requires_grad:
                    loss.backward()
                    grads = [tensors[p].grad for p in positions]
            results.append((described, [None if g is None else H.as_numpy(g) for g in grads]))
    (native, native_grads), (python, python_grads) = results
    what = H.repro(row, case, dtype)
    _same(native, python, what)
    assert len(native_grads) == len(python_grads), what
    for a, b in zip(native_grads, python_grads):
        assert (a is None) == (b is None), what
        if a is not None:
            np.testing.assert_array_equal(a, b, err_msg=what)


@needs_native
def test_views_share_memory_and_version_counters():
    base = gt.arange(12.0).reshape(3, 4)
    view = base.t()[1]
    view.add_(100)
    root = base if base._base is None else base._base
    assert base[0, 1].item() == 101.0 and view._base is root and root._vc == 1
    leaf = gt.ones(3, 4, requires_grad=True)
    v = leaf.view(-1)[2:5]
    assert v.grad_fn.name() == "SliceBackward0"
    v.sum().backward()
    assert leaf.grad.view(-1).tolist()[:6] == [0, 0, 1, 1, 1, 0]


@needs_native
def test_kernel_errors_keep_pytorch_types():
    with pytest.raises(RuntimeError, match="invalid for input of size"):
        gt.ones(6).view(4)
    with pytest.raises(IndexError):
        gt.ones(2, 3).select(0, 5)
