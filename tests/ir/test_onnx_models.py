"""gt.onnx.export on whole models, checked by ONNX Runtime against graphtorch eager.

Every exported model passes `onnx.checker.check_model(full_check=True)` (which runs ONNX's
strict shape inference against the shapes the exporter wrote), and its ONNX Runtime outputs
equal eager at two input sizes of one export (the dynamic axes are symbolic ONNX dims)."""

from __future__ import annotations

import io

import numpy as np
import pytest

import graphtorch as gt
from graphtorch import nn
from graphtorch.ir.graph import NodeKind

from . import onnx_models as M
from .models import MLP

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from graphtorch.ir.onnx_export import find_renderer  # after the skip: needs onnx


def export(model, args, **options):
    """(ModelProto, InferenceSession) of an export that passes the full checker."""
    proto = gt.onnx.export(model, args, **options)
    onnx.checker.check_model(proto, full_check=True)
    session = ort.InferenceSession(proto.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    return proto, session


def eager(model, *inputs):
    if isinstance(model, nn.Module):
        model.eval()
    with gt.no_grad():
        out = model(*inputs)
    return [o.numpy() for o in (out if isinstance(out, tuple) else (out,))]


def assert_runs_like_eager(session, model, *inputs, atol=1e-5):
    feeds = {i.name: x.numpy() for i, x in zip(session.get_inputs(), inputs)}
    got = session.run(None, feeds)
    want = eager(model, *inputs)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=atol)


def dims(value_info) -> list:
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


def test_mlp_two_batch_sizes():
    gt.manual_seed(0)
    model = MLP()
    proto, session = export(model, (gt.randn(2, 4),), input_names=["x"],
                            output_names=["logits"], dynamic_axes={"x": {0: "batch"},
                                                                   "logits": {0: "batch"}})
    assert dims(proto.graph.input[0]) == ["batch", 4]
    assert dims(proto.graph.output[0]) == ["batch", 3]
    for batch in (2, 7):
        assert_runs_like_eager(session, model, gt.randn(batch, 4))


def test_seed_notes_lenet_two_batch_sizes():
    gt.manual_seed(0)
    model = M.seed_lenet()
    proto, session = export(model, (gt.randn(2, 1, 32, 32),), input_names=["image"],
                            dynamic_axes={"image": [0]})
    ops = {n.op_type for n in proto.graph.node}
    assert {"Conv", "MaxPool", "Relu", "Reshape", "Gemm"} <= ops
    for batch in (2, 5):
        assert_runs_like_eager(session, model, gt.randn(batch, 1, 32, 32))


def test_lstm_classifier_dynamic_batch_and_length():
    gt.manual_seed(0)
    model = M.LSTMClassifier()
    tokens = gt.randint(0, 20, (3, 5))
    proto, session = export(model, (tokens,), input_names=["tokens"],
                            dynamic_axes={"tokens": {0: "batch", 1: "length"}})
    assert dims(proto.graph.input[0]) == ["batch", "length"]
    assert [n.op_type for n in proto.graph.node].count("LSTM") == 2  # one per layer
    for shape in ((3, 5), (6, 11), (2, 1)):
        assert_runs_like_eager(session, model, gt.randint(0, 20, shape))


def test_bidirectional_gru_and_rnn_reverse_scan():
    gt.manual_seed(0)
    model = M.GRUTagger()
    _, session = export(model, (gt.randn(2, 5, 4),), input_names=["x"],
                        dynamic_axes={"x": {0: "batch", 1: "length"}})
    for shape in ((2, 5, 4), (3, 8, 4)):
        assert_runs_like_eager(session, model, gt.randn(*shape))


def test_cond_model_takes_both_branches_at_two_sizes():
    gt.manual_seed(0)
    model = M.Gated()
    proto, session = export(model, (gt.randn(3, 4),), input_names=["x"],
                            dynamic_axes={"x": {0: "batch"}})
    assert [n.op_type for n in proto.graph.node].count("If") == 1
    branches = set()
    for batch in (3, 6):
        for sign in (1.0, -1.0):
            x = gt.randn(batch, 4).abs() * sign * 3
            branches.add(bool(model.fc(x).mean() > 0))
            assert_runs_like_eager(session, model, x)
    assert branches == {True, False}


def test_while_loop_becomes_loop():
    proto, session = export(M.halve_until_small, (gt.randn(3, 2) * 10,), input_names=["x"],
                            dynamic_axes={"x": [0]})
    assert any(n.op_type == "Loop" for n in proto.graph.node)
    for x in (gt.randn(3, 2) * 10, gt.randn(5, 2) * 100, gt.randn(4, 2) * 0.1):
        assert_runs_like_eager(session, M.halve_until_small, x)


def test_fori_loop_scan_without_xs():
    _, session = export(M.cumulative, (gt.randn(2, 3),), dynamic=True)
    for shape in ((2, 3), (4, 5)):
        assert_runs_like_eager(session, M.cumulative, gt.randn(*shape))


def test_attention_primitives_two_sequence_lengths():
    gt.manual_seed(0)
    model = M.Attention()
    proto, session = export(model, (gt.randn(2, 5, 8),), input_names=["x"],
                            dynamic_axes={"x": {0: "batch", 1: "seq"}})
    ops = {n.op_type for n in proto.graph.node}
    assert {"Gemm", "MatMul", "Softmax", "Where", "Trilu", "LayerNormalization"} <= ops
    for shape in ((2, 5, 8), (3, 9, 8)):
        assert_runs_like_eager(session, model, gt.randn(*shape))


def test_transformer_encoder_two_sequence_lengths():
    gt.manual_seed(0)
    model = M.transformer_encoder()
    if model is None:
        pytest.skip("gt.nn.TransformerEncoder does not exist yet (another helper adds it)")
    _, session = export(model, (gt.randn(2, 5, 8),), input_names=["src"],
                        dynamic_axes={"src": {0: "batch", 1: "seq"}})
    for shape in ((2, 5, 8), (3, 7, 8)):
        assert_runs_like_eager(session, model, gt.randn(*shape))


def test_conv_padding_modes_batch_norm_pools_and_dropout_in_eval():
    gt.manual_seed(0)
    model = M.Normed()
    model.train()
    model(gt.randn(4, 2, 9, 9))  # running statistics that differ from the defaults
    _, session = export(model, (gt.randn(2, 2, 9, 9),), input_names=["x"],
                        dynamic_axes={"x": [0]})
    assert model.training  # restored after the export ran it in eval mode
    for batch in (2, 3):
        assert_runs_like_eager(session, model, gt.randn(batch, 2, 9, 9))


@pytest.mark.parametrize("kernel,stride,padding,size", [
    (3, 2, 1, 6), (2, 2, 0, 5), (3, 3, 1, 7), (4, 3, 2, 10), (3, 2, 1, 9), (4, 3, 1, 8)])
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_ceil_mode_pooling_window_counts(kernel, stride, padding, size, count_include_pad):
    """PyTorch drops a last ceil-mode window that starts in the end padding (size 10 with
    kernel 4, stride 3, padding 2), where ONNX's shape rule keeps it."""
    pools = [nn.MaxPool2d(kernel, stride, padding, ceil_mode=True),
             nn.AvgPool2d(kernel, stride, padding, ceil_mode=True,
                          count_include_pad=count_include_pad)]
    for pool in pools:
        _, session = export(pool, (gt.randn(1, 2, size, size),))
        assert_runs_like_eager(session, pool, gt.randn(1, 2, size, size))


# --- names and source lines -------------------------------------------------------------------

def _graph_nodes(graph):
    """Value id -> op node, for a traced graph (subgraph nodes are prefixed separately)."""
    return {n.outputs[0].id: n for n in graph.nodes if n.kind is NodeKind.OP}


def test_names_and_source_lines_round_trip():
    gt.manual_seed(0)
    model = M.LSTMClassifier()
    tokens = gt.randint(0, 20, (3, 5))
    proto = gt.onnx.export(model, (tokens,), input_names=["tokens"], output_names=["logp"],
                           do_constant_folding=False)
    # parameters: initializers under their qualified names, with their values
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in proto.graph.initializer}
    for name, p in model.state_dict().items():
        np.testing.assert_array_equal(inits[name], p.numpy(), err_msg=name)
    assert [i.name for i in proto.graph.input] == ["tokens"]
    assert [o.name for o in proto.graph.output] == ["logp"]
    # nodes: named after the graph node (op and output id), doc_string = the user's line
    traced = gt.trace(model.eval(), tokens, optimize=False)
    by_id = _graph_nodes(traced.graph)
    seen = 0
    for node in proto.graph.node:
        if node.doc_string == "a symbolic size" or node.op_type == "Identity":
            continue
        base = node.name.split("/")[0]
        op_name, _, value_id = base.rpartition("_")
        graph_node = by_id[int(value_id)]
        assert graph_node.op.name == op_name
        file, line, fn = graph_node.source
        assert node.doc_string == f"{file}:{line} in {fn}"
        assert node.doc_string.startswith(M.__file__)
        seen += 1
    assert seen >= len(by_id) - 2
    assert [n.op_type for n in proto.graph.node].count("LSTM") == 2  # the fused recurrences
    # a Loop body's nodes carry the lines of the GRU step (inside graphtorch's nn module
    # the user line is the model's forward, where the GRU was called)
    proto = gt.onnx.export(M.GRUTagger(), (gt.randn(2, 5, 4),), input_names=["x"],
                           do_constant_folding=False)
    loop = next(n for n in proto.graph.node if n.op_type == "Loop")
    body = loop.attribute[0].g
    assert body.node and all(n.doc_string.startswith(M.__file__) for n in body.node
                             if n.op_type != "Identity")
    assert all(n.name.startswith(loop.name + "/body/") for n in body.node)


def test_constant_folding_keeps_weights_named():
    gt.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU())
    model.train()
    model(gt.randn(6, 3))
    x = gt.randn(5, 3)
    folded, s1 = export(model, (x,), input_names=["x"], dynamic_axes={"x": [0]})
    plain, s2 = export(model, (x,), input_names=["x"], dynamic_axes={"x": [0]},
                       do_constant_folding=False)
    names = {t.name for t in folded.graph.initializer}
    assert {"0.weight", "0.bias"} <= names and "1.running_var" not in names
    assert {"1.running_mean", "1.running_var", "1.weight"} <= {t.name for t in
                                                               plain.graph.initializer}
    assert len(folded.graph.node) < len(plain.graph.node)
    for session in (s1, s2):
        assert_runs_like_eager(session, model, gt.randn(7, 3))


def test_export_params_false_and_initializers_as_inputs():
    gt.manual_seed(0)
    model = nn.Linear(3, 2)
    proto = gt.onnx.export(model, (gt.randn(2, 3),), export_params=False,
                           input_names=["x"])
    assert not proto.graph.initializer
    assert [i.name for i in proto.graph.input] == ["x", "weight", "bias"]
    proto = gt.onnx.export(model, (gt.randn(2, 3),), keep_initializers_as_inputs=True)
    assert {i.name for i in proto.graph.input} == {"input", "weight", "bias"}
    assert {t.name for t in proto.graph.initializer} == {"weight", "bias"}


def test_writes_a_path_or_a_file_object(tmp_path):
    gt.manual_seed(0)
    model = MLP()
    x = gt.randn(2, 4)
    path = tmp_path / "mlp.onnx"
    returned = gt.onnx.export(model, (x,), str(path))
    buffer = io.BytesIO()
    gt.onnx.export(model, x, buffer)
    assert onnx.load(str(path)) == returned
    assert onnx.load_from_string(buffer.getvalue()) == returned


@pytest.mark.parametrize("opset", [17, 18, 20])
def test_opsets(opset):
    gt.manual_seed(0)
    model = nn.Sequential(nn.LayerNorm(4), nn.GELU(), nn.Linear(4, 4), nn.Softmax(-1))
    extra = lambda x: (model(x), x.amax(1), x.mean(0))
    proto, session = export(extra, (gt.randn(3, 4),), opset_version=opset)
    assert proto.opset_import[0].version == opset
    assert_runs_like_eager(session, extra, gt.randn(3, 4))


def test_dropout_in_training_mode_draws_a_mask():
    gt.manual_seed(0)
    model = nn.Dropout(0.5).eval()
    _, session = export(model, (gt.ones(400, 50),), training=gt.onnx.TrainingMode.TRAINING)
    (out,) = session.run(None, {"input": np.ones((400, 50), np.float32)})
    assert set(np.unique(out)) <= {0.0, 2.0}
    assert 0.45 < (out == 0).mean() < 0.55
    assert not model.training  # restored


# --- what cannot be exported says so ----------------------------------------------------------

def test_an_op_without_onnx_form_names_the_op_and_the_line():
    def solve(a):
        return gt.linalg.det(a) * 2  # the line the error names

    line = solve.__code__.co_firstlineno + 1
    with pytest.raises(gt.onnx.UnsupportedOperatorError,
                       match=rf"linalg_det.*{__file__}:{line} in solve"):
        gt.onnx.export(solve, (gt.randn(3, 3),))


def test_a_specialized_dynamic_axis_is_an_error():
    def loop(x):
        return sum(x[i] for i in range(x.shape[0]))  # needs the batch size as a number

    with pytest.raises(gt.onnx.OnnxExporterError, match="fixed number"):
        gt.onnx.export(loop, (gt.randn(3, 2),), dynamic_axes={"x": [0]})


def test_dynamic_axes_mistakes_raise():
    x = gt.randn(2, 4)
    with pytest.raises(ValueError, match="neither an input"):
        gt.onnx.export(MLP(), (x,), dynamic_axes={"y": [0]})
    with pytest.raises(ValueError, match="size >= 2"):
        gt.onnx.export(MLP(), (gt.randn(1, 4),), dynamic_axes={"x": [0]})
    traced = gt.trace(MLP(), x)
    with pytest.raises(gt.onnx.OnnxExporterError, match="static size"):
        traced.graph.to_onnx(traced.params, dynamic_axes={"x": [0]})
    with pytest.raises(gt.onnx.OnnxExporterError, match="opset"):
        traced.graph.to_onnx(traced.params, opset_version=11)


# --- graphs from elsewhere: optimised (fused), compiled with dynamic=True ---------------------

def test_fused_groups_are_expanded_back_to_primitives():
    from graphtorch.passes.pipeline import DEFAULT_PIPELINE, run_passes

    gt.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 5), nn.BatchNorm1d(5), nn.Tanh(), nn.Linear(5, 2))
    model.eval()
    x = gt.randn(3, 4)
    traced = gt.trace(model, x)
    graph = run_passes(traced.graph, list(DEFAULT_PIPELINE))
    assert any(n.op.name == "fused" for n in graph.op_nodes)
    proto = graph.to_onnx(traced.params)
    onnx.checker.check_model(proto, full_check=True)
    assert all("fused" not in n.op_type for n in proto.graph.node)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    assert_runs_like_eager(session, model, x)


def test_a_graph_compiled_with_dynamic_true_keeps_its_symbols():
    gt.manual_seed(0)
    model = MLP().eval()

    def predict(x):
        return model(x)

    compiled = gt.compile(predict, dynamic=True)
    with gt.no_grad():
        compiled(gt.randn(3, 4))
    params = {f"model.{k}": v for k, v in model.named_parameters()}
    proto = compiled.graph.to_onnx(params)
    onnx.checker.check_model(proto, full_check=True)
    assert dims(proto.graph.input[0]) == ["s0", "s1"]  # s1 == 4 is a guard of the variant
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    for batch in (3, 8):
        assert_runs_like_eager(session, model, gt.randn(batch, 4))


def test_every_op_of_the_covered_models_has_a_rendering():
    """The models this issue covers, traced: every op (inside subgraphs too) has an ONNX
    rendering. A new op in one of them without a rendering fails here by name."""
    gt.manual_seed(0)
    cases = [(MLP(), gt.randn(2, 4)), (M.seed_lenet(), gt.randn(1, 1, 32, 32)),
             (M.LSTMClassifier(), gt.randint(0, 20, (2, 5))), (M.GRUTagger(), gt.randn(2, 3, 4)),
             (M.Gated(), gt.randn(2, 4)), (M.Attention(), gt.randn(2, 5, 8)),
             (M.Normed(), gt.randn(2, 2, 9, 9)), (M.halve_until_small, gt.randn(2, 2))]
    encoder = M.transformer_encoder()
    if encoder is not None:
        cases.append((encoder, gt.randn(2, 5, 8)))
    missing = set()

    def visit(graph):
        for node in graph.op_nodes:
            if find_renderer(node.op) is None:
                missing.add(node.op.name)
            for value in node.attrs.values():
                if isinstance(value, type(graph)):
                    visit(value)

    for model, x in cases:
        if isinstance(model, nn.Module):
            model.eval()
        visit(gt.trace(model, x).graph)
    assert not missing, f"ops of the covered models without an ONNX rendering: {missing}"


def test_readme_snippet_runs(tmp_path, monkeypatch):
    import pathlib
    import re

    readme = (pathlib.Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Exporting to ONNX", 1)[1]
    (code,) = re.findall(r"```python\n(.*?)```", section.split("\n## ", 1)[0], re.DOTALL)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {})  # noqa: S102 - the README's own snippet
    assert (tmp_path / "mlp.onnx").exists()


def test_a_write_autograd_does_not_see_exports_as_the_new_value():
    def f(x):
        y = x * 1
        with gt.no_grad():
            y.mul_(2)  # traced as untracked_write, since x requires grad
        return y + 1

    import onnxruntime

    x = gt.randn(3, 4, requires_grad=True)
    traced = gt.trace(f, x, optimize=False)
    assert "untracked_write" in [n.op.name for n in traced.graph.op_nodes]
    proto = traced.graph.to_onnx(traced.params)
    assert "Identity" in {n.op_type for n in proto.graph.node}
    session = onnxruntime.InferenceSession(proto.SerializeToString())
    got = session.run(None, {session.get_inputs()[0].name: x.detach().numpy()})[0]
    np.testing.assert_allclose(got, f(x).detach().numpy(), rtol=1e-6)
