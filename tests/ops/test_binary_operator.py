"""The operators' fast paths (`dispatch.binary_operator`: in C, `dispatch_native`, and in
Python) give what `call` gives and what PyTorch gives: values, dtypes, autograd graphs,
gradients, version errors, op hooks, views of tensors that require grad, and errors, for
random operands of every kind. The C path also keeps every reference count."""

from __future__ import annotations

import contextlib
import gc
import operator
import os
import subprocess
import sys
import threading
import weakref

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import graphtorch as gt
from graphtorch.ops import dispatch
from graphtorch.ops import elementwise as E
from tests.autograd.diff import torch

NATIVE = dispatch._NATIVE_BINARY[0]
PATHS = ["native", "python"] if NATIVE is not None else ["python"]


@contextlib.contextmanager
def fast_path(which):
    """Run the operators through the C path ("native") or the Python one."""
    saved = dispatch._NATIVE_BINARY[0]
    dispatch._NATIVE_BINARY[0] = NATIVE if which == "native" else None
    try:
        yield
    finally:
        dispatch._NATIVE_BINARY[0] = saved

OPS = {"add": operator.add, "mul": operator.mul, "truediv": operator.truediv,
       "floordiv": operator.floordiv, "mod": operator.mod, "lt": operator.lt,
       "eq": operator.eq}
DTYPES = ["float16", "float32", "float64", "int32", "bool", "complex64"]
# float16 with a complex number is complex32 in PyTorch, a dtype graphtorch does not have
SHAPES = [(), (1,), (3,), (2, 3), (3, 1), (1, 3), (4, 3)]


@st.composite
def operand(draw):
    """(kind, dtype, shape, requires_grad, seed): a tensor (kind "tensor", or "view": a
    transposed view of a leaf), or a Python/NumPy number."""
    kind = draw(st.sampled_from(["tensor", "tensor", "view", "int", "float", "bool",
                                 "complex", "np_float32"]))
    return (kind, draw(st.sampled_from(DTYPES)), draw(st.sampled_from(SHAPES)),
            draw(st.booleans()), draw(st.integers(0, 1000)))


def _make(lib, spec):
    """The operand and the leaves to read gradients from."""
    kind, dtype, shape, requires_grad, seed = spec
    rng = np.random.default_rng(seed)
    if kind == "int":
        return int(rng.integers(-3, 4)), []
    if kind == "float":
        return float(rng.normal()), []
    if kind == "bool":
        return bool(rng.integers(2)), []
    if kind == "complex":
        return complex(rng.normal(), rng.normal()), []
    if kind == "np_float32":
        return np.float32(rng.normal()), []
    data = rng.normal(size=shape[::-1] if kind == "view" else shape) * 3
    data = np.where(np.abs(data) < 0.3, 1.5, data)  # no division by ~0 (fp16 overflow)
    if dtype == "bool":
        data = data > 0
    elif dtype == "complex64":
        data = data + 1j * np.flip(data)
    leaf = lib.tensor(data.astype(dtype))
    differentiable = requires_grad and dtype.startswith(("float", "complex"))
    if differentiable:
        leaf.requires_grad_(True)
    value = leaf.t() if kind == "view" else leaf
    return value, [leaf] if differentiable else []


def _run(lib, op_name, a_spec, b_spec):
    kinds = {a_spec[0], b_spec[0], a_spec[1], b_spec[1]}
    if "float16" in kinds and kinds & {"complex", "complex64"}:
        return None
    a, leaves_a = _make(lib, a_spec)
    b, leaves_b = _make(lib, b_spec)
    if not isinstance(a, lib.Tensor):
        a, b, leaves_a, leaves_b = b, a, leaves_b, leaves_a  # the operator of a tensor
        if not isinstance(a, lib.Tensor):
            return None
    try:
        out = OPS[op_name](a, b)
    except Exception as exc:  # noqa: BLE001 - compared by type below
        return ("error", type(exc).__name__)
    result = [("out", str(out.dtype), tuple(out.shape), out.requires_grad,
               out.detach().to(lib.complex128).numpy())]
    leaves = leaves_a + leaves_b
    if out.requires_grad and op_name != "floordiv":  # PyTorch: floor_divide has no derivative
        weights = lib.tensor(np.random.default_rng(7).normal(size=tuple(out.shape))
                             .astype(np.float32)).to(out.dtype)
        try:
            (out * weights).sum().abs().backward()
        except Exception as exc:  # noqa: BLE001 - compared by type below
            return result + [("backward error", type(exc).__name__)]
        result += [("grad", leaf.grad.to(lib.complex128).numpy()) for leaf in leaves]
    return result


def _same(expected, actual, dtype):
    assert (expected is None) == (actual is None)
    if expected is None:
        return
    assert len(expected) == len(actual), (expected, actual)
    for e, a in zip(expected, actual):
        assert e[:-1] == a[:-1], (e, a)
        if isinstance(e[-1], np.ndarray):
            tol = 1e-2 if "float16" in dtype else 1e-5
            np.testing.assert_allclose(a[-1], e[-1], rtol=tol, atol=tol, equal_nan=True)


@pytest.mark.parametrize("path", PATHS)
@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(op_name=st.sampled_from(sorted(OPS)), a_spec=operand(), b_spec=operand())
def test_operators_match_torch(path, op_name, a_spec, b_spec):
    expected = _run(torch, op_name, a_spec, b_spec)
    with fast_path(path):
        actual = _run(gt, op_name, a_spec, b_spec)
    _same(expected, actual, a_spec[1] + b_spec[1])


@pytest.mark.parametrize("path", PATHS)
@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(op_name=st.sampled_from(["add", "mul", "truediv"]), a_spec=operand(), b_spec=operand())
def test_fast_path_records_the_graph_call_records(path, op_name, a_spec, b_spec):
    """The same autograd node as `call`: name, edges (the very nodes), saved inputs."""
    a, _ = _make(gt, a_spec)
    b, _ = _make(gt, b_spec)
    if not isinstance(a, gt.Tensor):
        return
    op = {"add": E.ADD, "mul": E.MUL, "truediv": E.DIV}[op_name]
    try:
        with fast_path(path):
            fast = OPS[op_name](a, b)
    except Exception as exc:  # noqa: BLE001
        with pytest.raises(type(exc)):
            dispatch.call(op, a, b if not isinstance(b, np.floating) else float(b))
        return
    slow = dispatch.call(op, a, b if not isinstance(b, np.floating) else float(b))
    assert fast.dtype == slow.dtype and fast.shape == slow.shape
    np.testing.assert_allclose(fast.detach().numpy(), slow.detach().numpy(), rtol=1e-6)
    assert fast.requires_grad == slow.requires_grad
    if slow.grad_fn is None:
        assert fast.grad_fn is None
        return
    assert type(fast.grad_fn) is type(slow.grad_fn)
    assert fast.grad_fn.name() == slow.grad_fn.name()
    assert fast.grad_fn.attrs == slow.grad_fn.attrs and fast.grad_fn.op is slow.grad_fn.op
    assert fast.grad_fn.saved_outputs is None and not fast.grad_fn._freed
    assert fast.grad_fn._sequence_nr > slow.grad_fn._sequence_nr - 2
    assert fast.grad_fn.next_functions == slow.grad_fn.next_functions
    assert fast.grad_fn._in_info == slow.grad_fn._in_info
    assert fast.grad_fn._out_info == slow.grad_fn._out_info
    saved_fast = [s if not isinstance(s, tuple) else (id(s[0]), s[1])
                  for s in fast.grad_fn.saved_inputs]
    saved_slow = [s if not isinstance(s, tuple) else (id(s[0]), s[1])
                  for s in slow.grad_fn.saved_inputs]
    assert saved_fast == saved_slow


@pytest.mark.parametrize("path", PATHS)
def test_saved_input_written_in_place_raises_the_version_error(path):
    for lib in (torch, gt):
        a = lib.ones(3, requires_grad=True)
        b = lib.full((3,), 2.0)
        with fast_path(path):
            y = a * b
        b.add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


@pytest.mark.parametrize("path", PATHS)
def test_op_hooks_see_fast_path_ops(path):
    seen = []

    def hook(op, inputs, outputs):
        seen.append(op.name)

    dispatch.op_hooks.append(hook)
    try:
        with fast_path(path):
            a = gt.ones(3)
            _ = a * 2.0
            _ = a + a
    finally:
        dispatch.op_hooks.remove(hook)
    assert seen == ["mul", "add"]


def test_broadcast_error_is_torch_runtime_error():
    a, b = gt.ones(2, 3), gt.ones(4)
    with pytest.raises(RuntimeError, match="must match the size"):
        _ = a * b


def test_no_grad_and_views_of_grad_requiring_leaves():
    leaf = gt.ones(2, 3, requires_grad=True)
    with gt.no_grad():
        assert (leaf * 2.0).grad_fn is None
    view = leaf[0]
    y = view * 3.0
    assert y.grad_fn is not None
    y.sum().backward()
    np.testing.assert_array_equal(leaf.grad.numpy(), [[3, 3, 3], [0, 0, 0]])


def test_zero_dim_results_are_tensors_of_the_operand_dtype():
    a = gt.tensor(2.0, dtype=gt.float16)
    out = a * a
    assert isinstance(out, gt.Tensor) and out.dtype == gt.float16 and out.shape == ()
    assert type(out.numpy()) is np.ndarray


@pytest.mark.skipif(NATIVE is None, reason="the C fast path is not built here")
def test_native_path_keeps_reference_counts():
    """Operands, the op, the dtype and the shared edge tuple end with the counts they began
    with after many results were made, recorded, backpropagated and dropped."""
    leaf = gt.ones(4, 3, requires_grad=True)
    other = gt.full((4, 3), 2.0)
    scalar = 2.5
    watched = [leaf, other, leaf._data, other._data, E.MUL, leaf._data.dtype,
               dispatch._NO_EDGE, None, True, False]

    def run():
        for _ in range(200):
            y = leaf * other
            z = y * scalar
            w = z + y
            _ = other * other
            w.sum().backward()
        leaf.grad = None

    run()  # warm caches (metas, the leaf's accumulator dict)
    gc.collect()
    before = [sys.getrefcount(x) for x in watched]
    run()
    gc.collect()
    after = [sys.getrefcount(x) for x in watched]
    assert after[:7] == before[:7]
    # immortal singletons on 3.12+; on 3.11 a leak of one per op would show as >= 600
    assert all(abs(a - b) < 50 for a, b in zip(after[7:], before[7:]))


@pytest.mark.skipif(NATIVE is None, reason="the C fast path is not built here")
def test_native_results_and_nodes_are_freed():
    leaf = gt.ones(3, requires_grad=True)
    y = leaf * 3.0
    out_ref, node_ref = weakref.ref(y), weakref.ref(y.grad_fn)
    del y
    assert out_ref() is None and node_ref() is None  # freed by reference counting alone


def test_native_path_can_be_switched_off():
    code = ("from graphtorch.ops import dispatch; import graphtorch as gt; "
            "assert dispatch._NATIVE_BINARY[0] is None; "
            "assert (gt.ones(2) * 3.0).tolist() == [3.0, 3.0]")
    env = {**os.environ, "GRAPHTORCH_EAGER_NATIVE": "0"}
    subprocess.run([sys.executable, "-c", code], env=env, check=True)


@pytest.mark.parametrize("path", PATHS)
def test_grad_mode_and_traces_are_per_thread(path):
    """no_grad in one thread leaves another thread's operators recording."""
    leaf = gt.ones(3, requires_grad=True)
    results = {}

    def worker():
        with fast_path(path):
            results["other"] = (leaf * 2.0).requires_grad

    with fast_path(path), gt.no_grad():
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
        results["main"] = (leaf * 2.0).requires_grad
    assert results == {"other": True, "main": False}


@pytest.mark.parametrize("other", [None, "text"])
def test_none_and_strings_are_not_operands_as_in_pytorch(other):
    # PyTorch's operators return NotImplemented for them: `t == None` is False, `t != None`
    # True (so `slice(t, None) != slice(None)` works), arithmetic a TypeError from Python.
    for lib in (torch, gt):
        t = lib.tensor([1.0, 2.0])
        assert (t == other) is False and (t != other) is True and (other == t) is False
        for name in ("add", "sub", "mul", "truediv", "pow", "matmul", "lt", "and"):
            with pytest.raises(TypeError, match="not supported|unsupported operand|integer"):
                getattr(operator, name if name != "and" else "and_")(t, other)
            if other is None and name not in ("lt",):
                with pytest.raises(TypeError, match="unsupported operand"):
                    getattr(operator, name if name != "and" else "and_")(other, t)
            if name not in ("lt", "matmul"):
                with pytest.raises(TypeError, match="unsupported operand"):
                    getattr(operator, "i" + name if name != "and" else "iand")(t, other)
