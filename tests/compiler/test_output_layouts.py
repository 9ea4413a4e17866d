"""A compiled function's results have eager's strides: `view`, `is_contiguous()` and
`stride()` on them answer as eager's do. Fused kernels write in C order and passes drop
copies, so the executable lays each result out as traced (`OutputPlan.layouts`)."""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pytest

import graphtorch as gt
from tests.ops import harness as H
from tests.ops.test_op_table import ROWS
from tests.ops.test_result_layout import _strided


def _stride_mismatches(layout_inputs, strided_results_only=False):
    """(rows checked, mismatches) of every op-table row compiled on inputs laid out by
    `layout_inputs(array)`: each result's strides against eager's (with
    `strided_results_only`, only rows whose eager result is not C-contiguous)."""
    checked, wrong = 0, []
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for row in ROWS:
                for case in row.cases:
                    inputs = [layout_inputs(x) if isinstance(x, np.ndarray) else x
                              for x in H.make_inputs(row, case, row.dtypes[0])]

                    def tensors():
                        return [gt.from_numpy(x) if isinstance(x, np.ndarray) else x
                                for x in inputs]
                    try:
                        want = H.flat_outputs(row.fn(gt, *tensors()))
                    except Exception:  # noqa: BLE001, S112 - rows that need their own layout
                        continue
                    if strided_results_only and all(not isinstance(w, gt.Tensor) or
                                                    w.is_contiguous() for w in want):
                        continue
                    compiled = gt.compile(lambda *a, _fn=row.fn: _fn(gt, *a))
                    compiled(*tensors())  # the first call may run eagerly
                    got = H.flat_outputs(compiled(*tensors()))
                    checked += 1
                    for i, (w, g) in enumerate(zip(want, got)):
                        if isinstance(w, gt.Tensor) and w.stride() != g.stride():
                            wrong.append(f"{row.name} {case} output {i}: eager strides "
                                         f"{w.stride()}, compiled {g.stride()}")
    finally:
        logging.disable(logging.NOTSET)
    return checked, wrong


@pytest.mark.parametrize("how", ["fortran", "transposed", "slice"])
def test_every_op_table_row_returns_eager_strides(how):
    """Every op-table row, on inputs in another memory order, compiled: each result's
    strides equal eager's."""
    checked, wrong = _stride_mismatches(
        lambda x: _strided(x, how) if x.ndim >= 2 and x.size else x)
    assert checked > 500
    assert not wrong, "\n".join(wrong[:10])


def test_fused_result_of_a_transposed_input_keeps_eager_order():
    def f(x):
        return gt.where(x > 0, x, 0.0) * 2, (x * 3).exp()

    x = gt.randn(5, 4).t()
    compiled = gt.compile(f)
    for _ in range(3):
        for got, want in zip(compiled(x), f(x)):
            assert got.stride() == want.stride() and not got.is_contiguous()
            assert gt.allclose(got, want)
            with pytest.raises(RuntimeError, match="view size is not compatible"):
                got.view(-1)


def test_equal_results_merged_by_cse_keep_eager_order():
    def f(x):
        return x.exp(), gt.exp(x)  # one value after CSE, two tensors as in eager

    x = gt.randn(5, 4).t()
    compiled = gt.compile(f)
    for _ in range(3):
        a, b = compiled(x)
        assert a.stride() == b.stride() == x.stride()
        assert a.data_ptr() != b.data_ptr()


def test_result_computed_in_another_dtype_has_strides_in_its_own_elements():
    def f(x, y):
        return x / y  # integer tensors divide in float

    x, y = gt.arange(12).reshape(3, 4).t(), gt.arange(1, 4)
    compiled = gt.compile(f)
    for _ in range(3):
        assert compiled(x, y).stride() == f(x, y).stride() == (1, 4)


def test_dynamic_sizes_keep_values_and_known_layouts():
    """With dynamic sizes a transposed input's layout is traced (guards fix it) and results
    keep eager's strides; a layout computed from a permuted view at symbolic sizes is not
    traced (values are eager's, strides as the program lays them out: a known gap)."""
    def f(x):
        return x * 2, x.t() * 2

    compiled = gt.compile(f, dynamic=True)
    for n in (5, 6, 7):
        x = gt.randn(3, n)
        (a, b), (want_a, want_b) = compiled(x), f(x)
        assert a.stride() == want_a.stride() and gt.equal(a, want_a) and gt.equal(b, want_b)
    assert compiled.compile_count == 1


@pytest.mark.parametrize("dynamic", [False, True])
def test_gradients_written_back_follow_the_layout_contract(dynamic):
    """`.grad` set by a compiled backward has eager's strides (the parameter's, PyTorch's
    gradient layout contract), though the backward program computes a Linear weight's
    gradient transposed: `p.grad.view(-1)` works as in eager."""
    def run(compiled):
        gt.manual_seed(0)
        model = gt.nn.Sequential(gt.nn.Linear(3, 5), gt.nn.Tanh(), gt.nn.Linear(5, 2))

        def step(x):
            model.zero_grad()
            model(x).square().mean().backward()

        fn = gt.compile(step, dynamic=dynamic) if compiled else step
        strides = []
        for n in (4, 6, 8):
            fn(gt.randn(n, 3))
            strides.append([p.grad.stride() for p in model.parameters()])
            for p in model.parameters():
                p.grad.view(-1)
        return strides

    assert run(True) == run(False)


def test_grad_read_after_a_backward_inside_has_eager_layout():
    """A Linear weight's gradient comes out of the backward transposed; eager's
    AccumulateGrad lays `.grad` out as the parameter (contiguous), so code reading it
    inside the compiled function sees eager's strides (`w.grad * 1.0` was (1, 6))."""
    gt.manual_seed(0)
    lin = gt.nn.Linear(4, 6)

    def step(x):
        lin.zero_grad()
        lin(x).sum().backward()
        return lin.weight.grad * 1.0

    compiled = gt.compile(step)
    for _ in range(2):
        x = gt.randn(5, 4)
        eager, out = step(x), compiled(x)
        assert out.stride() == eager.stride() == (4, 1)
        np.testing.assert_allclose(out.numpy(), eager.numpy(), rtol=1e-5, atol=1e-6)


def test_op_table_rows_striding_contiguous_inputs_return_eager_strides():
    """Rows whose eager result is strided though every input is C-contiguous (rot90's
    transposed view, einsum's contraction order): compiled results have eager's strides
    (rot90 came back C-contiguous: `OpDef.strided_from_contiguous`)."""
    checked, wrong = _stride_mismatches(np.ascontiguousarray, strided_results_only=True)
    assert checked > 20
    assert not wrong, "\n".join(wrong[:10])


def test_size_one_strides_of_a_sliced_sequence_do_not_recompile():
    """`idx[:, -k:]` of a growing (1, T) tensor is C-contiguous with a new stride on its
    size-1 dim at every call: with no stride() read in the trace, one variant serves them
    all, and results (values and strides) stay eager's. A stride() read keeps exact guards."""
    def f(x):
        return x * 2, x[:, 1:], x.sum(1, keepdim=True), x.t(), x.reshape(-1)

    compiled = gt.compile(f)
    for length in range(4, 12):
        x = gt.arange(float(length)).reshape(1, length)[:, -4:]
        for want, got in zip(f(x), compiled(x)):
            assert gt.equal(want, got) and want.stride() == got.stride()
    assert compiled.compile_count == 1

    def reads_stride(x):
        return x * x.stride(0)

    compiled = gt.compile(reads_stride)
    for length in range(4, 8):
        x = gt.arange(float(length)).reshape(1, length)[:, -4:]
        assert gt.equal(compiled(x), reads_stride(x))
    assert compiled.compile_count == 4
