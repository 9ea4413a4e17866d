"""gt.debug.explain and `graphtorch explain`: guards, breaks, recompiles, fusion, residuals."""

from __future__ import annotations

import textwrap

import graphtorch as gt
from graphtorch import debug
from graphtorch.cli import main

from .helpers import line_of, mlp

MODEL = mlp()


def scaled_loss(x, scale):
    return (MODEL(x) * scale).sigmoid().sum()


def test_shape_and_python_argument_recompiles_are_explained():
    step = gt.compile(scaled_loss)
    step(gt.randn(5, 4), 2.0)
    step(gt.randn(6, 4), 2.0)
    step(gt.randn(6, 4), 3.0)
    report = debug.explain(step)
    assert report.compiles == 3 and len(report.recompiles) == 2
    shape, scalar = report.recompiles
    assert shape.guard.startswith("x: (shape")
    assert shape.old[0] == (5, 4) and shape.new[0] == (6, 4)
    assert "dimension 0" in shape.suggestion and "dynamic" in shape.suggestion
    assert shape.seconds > 0
    assert scalar.guard.startswith("scale (a Python float")
    assert (scalar.old, scalar.new) == (2.0, 3.0)
    assert "pass it as a tensor" in scalar.suggestion
    text = str(report)
    assert "was ((5, 4)" in text and "now ((6, 4)" in text
    assert "was 2.0, now 3.0" in text and "<class" not in text


def test_variant_report_contents():
    report = debug.explain(scaled_loss, gt.randn(5, 4), 2.0)
    (variant,) = report.variants
    assert variant.captured_ops > 0 and variant.forward_ops > 0 and variant.backward_ops > 0
    assert variant.op_counts["addmm"] == 2
    assert any("scale" in g for g in variant.baked)
    assert any("sigmoid" in members for members, _, _ in variant.fused_groups)
    assert variant.saved and all(s.nbytes > 0 for s in variant.saved)
    line = f"test_explain.py:{line_of(scaled_loss, 'sigmoid')}"
    sigmoid = [s for s in variant.saved if s.producer == "sigmoid"]
    assert sigmoid and line in sigmoid[0].line and sigmoid[0].shape == (5, 3)
    text = str(report)
    for heading in ("specialised on (guards)", "baked into the graph", "op counts",
                    "fused groups", "saved for backward"):
        assert heading in text


def test_graph_break_has_line_and_reason():
    def branchy(x):
        if x.sum() > 0:
            return x * 2
        return x

    report = debug.explain(branchy, gt.randn(3))
    assert report.compiles == 0 and len(report.graph_breaks) == 1
    assert f"test_explain.py:{line_of(branchy, 'if x.sum()')}" in report.graph_breaks[0]
    assert "graph break" in str(report)


def test_explain_restores_state():
    model = mlp()
    opt = gt.optim.SGD(model.parameters(), lr=0.1)

    def step(x):
        opt.zero_grad()
        loss = model(x).sum()
        loss.backward()
        opt.step()
        return loss

    before = [p.detach().clone() for p in model.parameters()]
    debug.explain(step, gt.randn(2, 4))
    assert all(gt.equal(p.detach(), b) for p, b in zip(model.parameters(), before))


def test_cli_explain(tmp_path, capsys):
    path = tmp_path / "model.py"
    path.write_text(textwrap.dedent("""
        import graphtorch as gt
        from graphtorch import nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(4, 3)

            def forward(self, x):
                return self.fc(x).relu().sum()
        """))
    assert main(["explain", f"{path}:Net", "--input", "2,4"]) == 0
    out = capsys.readouterr().out
    assert "1 compiled variant(s)" in out and "x: shape [" in out and "model.py:11" in out
    assert main(["explain", f"{path}:Missing", "--input", "2,4"]) == 1
    assert "graphtorch explain: error:" in capsys.readouterr().err
