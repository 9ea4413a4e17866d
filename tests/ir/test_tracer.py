"""gt.trace: graphs recorded from eager code equal eager results; errors name the user line."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.ir.graph import NodeKind
from graphtorch.ir.tracer import TracingError

THIS_FILE = os.path.basename(__file__)
EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples")


class MLP(gt.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = gt.nn.Linear(4, 8)
        self.fc2 = gt.nn.Linear(8, 3)

    def forward(self, x):
        h = gt.nn.functional.relu(self.fc1(x))
        return self.fc2(h).softmax(-1)


def _close(a, b):
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-6, atol=1e-6)


def test_mlp_graph_reads_like_the_model_and_runs_like_eager():
    gt.manual_seed(0)
    net, x = MLP(), gt.randn(2, 4)
    traced = gt.trace(net, x, optimize=False)
    text = str(traced.graph)
    assert "%0 = input x : f32[2, 4]" in text
    assert "param fc1.weight : f32[8, 4]" in text
    assert "relu(%" in text and f"# {THIS_FILE}:" in text
    _close(traced(x), net(x))
    other = gt.randn(2, 4) * 3
    _close(traced(other), net(other))


def test_parameters_are_inputs_by_reference():
    gt.manual_seed(0)
    net, x = MLP(), gt.randn(2, 4)
    traced = gt.trace(net, x, optimize=False)
    with gt.no_grad():
        net.fc1.weight.mul_(2)  # a later weight update must be seen by the graph
    _close(traced(x), net(x))
    assert [n.name for n in traced.graph.nodes if n.kind is NodeKind.PARAM] == \
        ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]


def test_lenet_embedding_and_eval_mode_batchnorm_trace():
    sys.path.insert(0, EXAMPLES)
    try:
        from lenet import Net
    finally:
        sys.path.remove(EXAMPLES)
    gt.manual_seed(0)
    models = [(Net(), gt.randn(2, 1, 32, 32)),
              (gt.nn.Sequential(gt.nn.Embedding(10, 4), gt.nn.Flatten(), gt.nn.Linear(12, 2)),
               gt.tensor([[1, 2, 3]])),
              (gt.nn.Sequential(gt.nn.Linear(3, 4), gt.nn.BatchNorm1d(4),
                                gt.nn.Dropout(0.5)).eval(), gt.randn(5, 3))]
    for model, x in models:
        traced = gt.trace(model, x, optimize=False)
        traced.graph.verify()
        _close(traced(x), model(x))
        assert traced.training and not any(traced.training.values()) or model.training


def test_functions_and_captured_tensors():
    weights = gt.randn(3)

    def f(x, y):
        return (x * weights + y).sum(0)

    x, y = gt.randn(4, 3), gt.randn(3)
    traced = gt.trace(f, x, y, optimize=False)
    _close(traced(x, y), f(x, y))
    assert any(n.kind is NodeKind.PARAM for n in traced.graph.nodes)


def _line_of(marker):
    with open(__file__) as handle:
        for number, line in enumerate(handle, 1):
            if marker in line and "_line_of" not in line:
                return number
    raise AssertionError(marker)


def test_data_dependent_control_flow_names_the_user_line():
    def f(x):
        if x.sum() > 0:  # MARK-BOOL
            return x
        return -x

    with pytest.raises(TracingError) as info:
        gt.trace(f, gt.ones(3), optimize=False)
    assert f"{THIS_FILE}:{_line_of('MARK-BOOL')}" in str(info.value)
    assert "needs the value of a tensor" in str(info.value)


@pytest.mark.parametrize("what", ["item", "numpy", "tolist"])
def test_reading_values_while_tracing_is_refused(what):
    def f(x):
        getattr(x, what)()  # MARK-READ
        return x

    with pytest.raises(TracingError, match=f"{THIS_FILE}:{_line_of('MARK-READ')}"):
        gt.trace(f, gt.ones(1), optimize=False)


def test_random_ops_and_writes_through_views_are_graph_nodes():
    def noisy(x):
        return x + gt.randn(3)  # MARK-RAND

    traced = gt.trace(noisy, gt.ones(3), optimize=False)
    draw = next(n for n in traced.graph.op_nodes if n.op.name == "random_draw")
    assert draw.source[1] == _line_of("MARK-RAND")
    gt.manual_seed(5)
    want = noisy(gt.ones(3))
    gt.manual_seed(5)
    np.testing.assert_array_equal(traced(gt.ones(3)).numpy(), want.numpy())

    def through_view(x):
        y = x * 1
        y[0].add_(1)  # MARK-VIEW
        return y

    traced = gt.trace(through_view, gt.ones(3), optimize=False)
    assert "copy_into_view" in [n.op.name for n in traced.graph.op_nodes]
    np.testing.assert_array_equal(traced(gt.ones(3)).numpy(), [2.0, 1.0, 1.0])


def test_inplace_ops_are_functionalized_and_written_back():
    def f(x):
        y = x * 2
        y.add_(1)
        x.mul_(3)  # a mutated input: written back into the caller's tensor
        return y

    traced = gt.trace(f, gt.ones(3), optimize=False)
    x = gt.tensor([1.0, 2.0, 3.0])
    assert traced(x).tolist() == [3.0, 5.0, 7.0]
    assert x.tolist() == [3.0, 6.0, 9.0]


def test_batchnorm_train_mode_updates_running_stats_like_eager():
    gt.manual_seed(0)
    traced_model = gt.nn.Sequential(gt.nn.Linear(3, 4), gt.nn.BatchNorm1d(4))
    eager_model = gt.nn.Sequential(gt.nn.Linear(3, 4), gt.nn.BatchNorm1d(4))
    eager_model.load_state_dict(traced_model.state_dict())
    x = gt.randn(5, 3)
    traced = gt.trace(traced_model, x, optimize=False)
    assert traced_model[1].num_batches_tracked.item() == 0  # tracing changed no state
    assert {key for _, key in traced.mutated} == {"1.running_mean", "1.running_var",
                                                  "1.num_batches_tracked"}
    for _ in range(3):
        _close(traced(x), eager_model(x))
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        _close(getattr(traced_model[1], name), getattr(eager_model[1], name))


def test_eager_mode_is_untouched_after_a_trace_error():
    with pytest.raises(TracingError):
        gt.trace(lambda x: x if bool(x.sum()) else x, gt.ones(2), optimize=False)
    assert (gt.ones(2) + 1).tolist() == [2.0, 2.0]
    net = MLP()
    gt.trace(net, gt.randn(1, 4), optimize=False)
    assert isinstance(net.fc1.weight._data, np.ndarray)  # parameters restored


def test_python_loops_unroll_and_bad_returns_name_the_line():
    def f(x):
        for _ in range(3):
            x = x * 2
        return x

    graph = gt.trace(f, gt.ones(2), optimize=False).graph
    assert str(graph).count("= mul(") == 3

    with pytest.raises(TracingError, match="must return tensors") as info:
        gt.trace(lambda x: x.shape, gt.ones(2), optimize=False)  # MARK-RETURN
    assert f"{THIS_FILE}:{_line_of('MARK-RETURN')}" in str(info.value)


def test_nodes_record_shape_dtype_device_and_source():
    traced = gt.trace(lambda x: x.relu(), gt.ones(2, 3), optimize=False)  # MARK-NODE
    node = [n for n in traced.graph.nodes if n.kind is NodeKind.OP][0]
    meta = node.outputs[0].meta
    assert (meta.shape, repr(meta.dtype), meta.device) == ((2, 3), "torch.float32", "cpu")
    assert node.source[1] == _line_of("MARK-NODE") and node.source[0] == __file__


def test_nested_traces_and_leaked_symbolic_tensors_name_the_line():
    def outer(x):
        return gt.trace(lambda y: y * 2, x, optimize=False)  # MARK-NESTED

    with pytest.raises(TracingError, match="while another trace") as info:
        gt.trace(outer, gt.ones(2), optimize=False)
    assert f"{THIS_FILE}:{_line_of('MARK-NESTED')}" in str(info.value)

    leaked = []
    gt.trace(lambda x: leaked.append(x) or x * 1, gt.ones(2), optimize=False)
    with pytest.raises(TracingError, match="after the trace ended") as info:
        leaked[0] + 1  # MARK-LEAK
    assert f"{THIS_FILE}:{_line_of('MARK-LEAK')}" in str(info.value)


def test_kernel_layouts_are_learnt_with_eagers_promotion():
    # the stand-in run skipped dispatch's promotion: ``uint8 % -3`` raised OverflowError
    # there, so the compiled result was assumed C-contiguous (ops fuzz family)
    def fn(x):  # floor division by zeros raised in the stand-in run too
        return gt.remainder(x, -3), x.sin(), x // (x * 0 + 3)

    x = gt.randint(0, 5, (2, 3), dtype=gt.uint8).permute(1, 0).expand(2, 3, 2)
    for got, want in zip(gt.compile(fn)(x), fn(x)):
        assert got.stride() == want.stride()
        assert gt.equal(got, want)


def test_empty_inputs_keep_their_strides_for_non_empty_results():
    # NumPy flags every empty array contiguous, so a permuted empty input was traced as
    # C-ordered while eager's reduction of it (15 elements) followed its strides
    def fn(x):
        return x.mean(-2), x.sum(1, keepdim=True), x * 2

    compiled = gt.compile(fn)
    for x in (gt.randn(5, 0, 3, dtype=gt.float64).permute(2, 1, 0), gt.randn(3, 0, 5)):
        for got, want in zip(compiled(x), fn(x)):
            assert got.stride() == want.stride()
            gt.testing.assert_close(got, want, equal_nan=True)  # the mean of nothing: NaN


@pytest.mark.parametrize("scalar", [np.float64(1.5), np.int64(2), np.int32(2)])
@pytest.mark.parametrize("op", [lambda x, k: x.clamp(min=k), lambda x, k: x.clamp_max(k),
                                lambda x, k: x.clip(-k, k), lambda x, k: x.add(x, alpha=k)])
def test_numpy_scalar_attributes_are_python_numbers(op, scalar):
    # a NumPy scalar attribute kept in the graph made NumPy compute in float64 (NEP 50);
    # eager casts back to the float32 PyTorch gives (numbers fuzz family)
    x = gt.randn(4)
    want, got = op(x, scalar), gt.compile(op)(x, scalar)
    assert got.dtype == want.dtype == gt.float32
    assert gt.allclose(got, want)
