"""Differential testing of `gt.compile`: random programs, compiled == eager.

Programs come from `random_programs.programs()` (random DAGs of registered ops over 1-3
float32/float64 inputs). For each one:
- values: backend "numpy" gives the eager values, dtypes and shapes (float64: 1e-10
  relative, float32: 1e-5), and so does backend "eager" on a subset;
- gradients: with inputs requiring grad, the loss sum(out_i * w_i) with fixed random weights
  gives the eager input gradients through the generated backward graph;
- reuse: one compiled function called on new values of the same shapes compiles once.

The default pass pipeline runs, so these tests guard every pass (simplify, cse, constant
folding, dce, fusion, memory planning). To find the pass behind a failure, rerun with
``GRAPHTORCH_DISABLE_PASSES=fuse,memory_plan`` etc. The program source is printed on failure.

Two bugs these tests found (detach()/no_grad regions ignored by compiled gradients; outputs
independent of every grad-requiring input) have regression tests below, and the generator
now draws detach too.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

import graphtorch as gt
from tests.compiler.random_programs import Program, programs

SETTINGS = {"deadline": None, "derandomize": True, "print_blob": True,
            "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large,
                                      HealthCheck.filter_too_much]}
seeds = st.integers(0, 2**31)


def _as_tuple(out) -> tuple:
    return out if isinstance(out, tuple) else (out,)


def _tolerances(program: Program) -> tuple[float, float]:
    return (1e-5, 1e-6) if program.low_precision else (1e-10, 1e-12)


def assert_close(actual, expected, program: Program, what: str) -> None:
    """Same dtype and shape, values within the program's tolerance (absolute tolerance
    scaled by the largest magnitude, so cancellation does not fail float32 sums)."""
    assert actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype} != {expected.dtype}"
    assert tuple(actual.shape) == tuple(expected.shape), \
        f"{what}: shape {tuple(actual.shape)} != {tuple(expected.shape)}"
    a = np.asarray(actual.detach().numpy())
    e = np.asarray(expected.detach().numpy())
    assert np.isfinite(e).all(), f"{what}: eager result not finite (generator bug)"
    rtol, atol = _tolerances(program)
    scale = max(1.0, float(np.abs(e).max())) if e.size else 1.0
    np.testing.assert_allclose(a, e, rtol=rtol, atol=atol * scale, err_msg=what)


def _snapshot(tensors) -> list:
    return [t.detach().numpy().copy() for t in tensors]


def check_values(program: Program, seed: int, backend: str, transposed: bool = False) -> None:
    """Compiled outputs equal eager ones; the inputs are left unchanged."""
    note(program.source)
    inputs = program.make_inputs(seed, transposed=transposed)
    before = _snapshot(inputs)
    expected = _as_tuple(program.fn(*inputs))
    compiled = gt.compile(program.fn, backend=backend)
    actual = _as_tuple(compiled(*inputs))
    note(compiled.code)
    assert compiled.compile_count == 1, compiled.stats.graph_breaks
    assert len(actual) == len(expected)
    for i, (a, e) in enumerate(zip(actual, expected)):
        assert_close(a, e, program, f"output {i}")
        assert not a.requires_grad
    for i, (t, old) in enumerate(zip(inputs, before)):
        np.testing.assert_array_equal(t.numpy(), old, err_msg=f"x{i} was modified")


def _loss(outputs, seed: int):
    """sum_i (out_i * w_i).sum() with weights drawn from `seed` (same for both runs)."""
    rng = np.random.default_rng(seed)
    total = None
    for out in outputs:
        w = gt.tensor(rng.standard_normal(tuple(out.shape)).astype(np.float64))
        term = (out * w.to(out.dtype)).sum()
        total = term if total is None else total + term
    return total


def check_gradients(program: Program, seed: int, flags: list[bool]) -> None:
    """Inputs with `flags` require grad: compiled outputs and input gradients (through the
    generated backward graph) equal eager ones."""
    note(program.source)
    note(f"requires_grad: {flags}")
    eager_inputs = program.make_inputs(seed, requires_grad=flags)
    compiled_inputs = program.make_inputs(seed, requires_grad=flags)
    expected = _as_tuple(program.fn(*eager_inputs))
    compiled = gt.compile(program.fn)
    actual = _as_tuple(compiled(*compiled_inputs))
    note(compiled.code)
    assert compiled.compile_count == 1, compiled.stats.graph_breaks
    for i, (a, e) in enumerate(zip(actual, expected)):
        assert_close(a, e, program, f"output {i}")
        assert a.requires_grad == e.requires_grad, f"output {i}: requires_grad"
    if not any(e.requires_grad for e in expected):
        return  # nothing to differentiate
    _loss(expected, seed + 1).backward()
    _loss(actual, seed + 1).backward()
    for i, (c, e) in enumerate(zip(compiled_inputs, eager_inputs)):
        if e.grad is None:
            assert c.grad is None or not np.any(c.grad.numpy()), f"x{i}.grad"
            continue
        assert c.grad is not None, f"x{i}.grad is None, eager has one"
        assert_close(c.grad, e.grad, program, f"x{i}.grad")


@st.composite
def programs_with_grad_flags(draw):
    """A program and which of its inputs require grad (at least one)."""
    program = draw(programs(known_bad=True))
    n = len(program.input_shapes)
    flags = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    flags[draw(st.integers(0, n - 1))] = True
    return program, flags


@settings(max_examples=200, **SETTINGS)
@given(programs(known_bad=True), seeds, st.booleans())
def test_compiled_values_match_eager(program, seed, transposed):
    check_values(program, seed, "numpy", transposed)


@settings(max_examples=250, **SETTINGS)
@given(programs_with_grad_flags(), seeds)
def test_compiled_gradients_match_eager(program_and_flags, seed):
    program, flags = program_and_flags
    check_gradients(program, seed, flags)


@settings(max_examples=60, **SETTINGS)
@given(programs(max_ops=8), seeds)
def test_eager_backend_values_match_eager(program, seed):
    check_values(program, seed, "eager")


@settings(max_examples=40, **SETTINGS)
@given(programs(), seeds, st.integers(2, 3))
def test_compiled_function_reused_for_new_values(program, seed, calls):
    """New values of the same shapes run the cached graph (one compile), and results of
    earlier calls keep their values (no buffer is shared between calls)."""
    note(program.source)
    compiled = gt.compile(program.fn)
    kept = []
    for k in range(calls):
        inputs = program.make_inputs(seed + k)
        actual = _as_tuple(compiled(*inputs))
        expected = _as_tuple(program.fn(*inputs))
        kept.append((actual, expected, _snapshot(actual)))
    assert compiled.compile_count == 1
    for actual, expected, snapshot in kept:
        for a, e, old in zip(actual, expected, snapshot):
            np.testing.assert_array_equal(a.numpy(), old, err_msg="overwritten by a later call")
            assert_close(a, e, program, "earlier call")


def _detach_program(x):
    return x.detach() * x


def _no_grad_program(x):
    with gt.no_grad():
        y = x * 3.0
    return y * x


def _ignores_grad_input(x, y):
    return gt.abs(x)


@pytest.mark.parametrize("passes", [None, []])
def test_outputs_independent_of_grad_inputs(passes):
    x = gt.tensor([1.0, -2.0], dtype=gt.float64)
    y = gt.tensor([3.0], dtype=gt.float64, requires_grad=True)
    out = gt.compile(_ignores_grad_input, passes=passes)(x, y)
    assert not out.requires_grad
    np.testing.assert_array_equal(out.numpy(), [1.0, 2.0])


@pytest.mark.parametrize("fn", [_detach_program, _no_grad_program])
def test_stop_gradient_in_compiled_graph(fn):
    x = gt.tensor([1.0, 2.0, 3.0], dtype=gt.float64, requires_grad=True)
    fn(x).sum().backward()
    x2 = gt.tensor([1.0, 2.0, 3.0], dtype=gt.float64, requires_grad=True)
    gt.compile(fn)(x2).sum().backward()
    np.testing.assert_allclose(x2.grad.numpy(), x.grad.numpy())


FAMILIES = {  # family: any of these in a program's source
    "unary": ("gt.tanh", "gt.exp", "gt.sigmoid", "gt.log", "gt.sqrt", "gt.abs", ".cos("),
    "binary": ("gt.maximum", "gt.minimum", "gt.where", "gt.pow", "gt.atan2", "gt.hypot"),
    "reduction": ("sum(", "mean(", "amax(", "amin(", "logsumexp(", "var(", "gt.prod"),
    "scan/sort": ("gt.cumsum", "gt.cummax", "gt.sort", "gt.topk", "gt.max("),
    "view": (".reshape(", ".permute(", ".transpose(", ".mT", "gt.unsqueeze", ".select(",
             ".narrow(", ".squeeze("),
    "movement": (".expand(", "gt.flip", "gt.roll", ".repeat(", "gt.tril", "["),
    "join": ("gt.cat", "gt.stack"),
    "contraction": ("gt.matmul", "gt.einsum", " @ "),
    "normalization": ("softmax", "layer_norm"),
    "cast": (".to(",),
}


def test_generated_programs_are_broad():
    """The generator reaches every op family (a guard against a strategy that collapses)."""
    seen = set()

    @settings(max_examples=150, database=None, **SETTINGS)
    @given(programs())
    def collect(program):
        seen.update(f for f, words in FAMILIES.items()
                    if any(w in program.source for w in words))

    collect()
    assert not set(FAMILIES) - seen, f"never drawn: {sorted(set(FAMILIES) - seen)}"


@settings(max_examples=80, **SETTINGS)
@given(programs(known_bad=True), seeds)
def test_dynamic_sizes_match_eager(program, seed):
    """Random programs compiled with dynamic=True: the symbolic graph (or, where the trace
    needs a concrete size, the specialised one its guards fall back to) equals eager."""
    note(program.source)
    inputs = program.make_inputs(seed)
    expected = _as_tuple(program.fn(*inputs))
    compiled = gt.compile(program.fn, dynamic=True)
    actual = _as_tuple(compiled(*inputs))
    note(compiled.code)
    assert len(actual) == len(expected)
    for i, (a, e) in enumerate(zip(actual, expected)):
        assert_close(a, e, program, f"output {i}")
    again = _as_tuple(compiled(*program.make_inputs(seed + 1)))  # same sizes: no recompile
    assert len(again) == len(expected) and compiled.compile_count == 1
    # every size >= 2 grows by one (equal sizes stay equal, so broadcasting still holds):
    # the symbolic graph serves the new sizes, or a guard sends them to a new graph
    bigger = {n: n + 1 for shape in program.input_shapes for n in shape if n >= 2}
    grown = dataclasses.replace(program, input_shapes=[
        tuple(bigger.get(n, n) for n in shape) for shape in program.input_shapes])
    new_inputs = grown.make_inputs(seed + 2)
    try:
        want = _as_tuple(program.fn(*new_inputs))
    except (RuntimeError, ValueError, IndexError):
        return  # the program itself only works at the drawn sizes (e.g. a literal reshape)
    got = _as_tuple(compiled(*new_inputs))
    for i, (a, e) in enumerate(zip(got, want)):
        assert_close(a, e, program, f"output {i} at grown sizes")
