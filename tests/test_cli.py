"""The `graphtorch` command line tool."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from graphtorch.cli import main
from graphtorch.ir.graph import Graph
from graphtorch.ops.registry import REGISTRY


def test_ops_lists_every_registered_op(capsys):
    assert main(["ops"]) == 0
    out = capsys.readouterr().out
    names = {line.split()[0] for line in out.splitlines() if line.strip()}
    assert names == set(REGISTRY)


def test_ops_filters_by_category(capsys):
    main(["ops", "--category", "view"])
    out = capsys.readouterr().out
    assert "transpose" in out and "add " not in out


def test_console_entry_point_runs():
    result = subprocess.run([sys.executable, "-m", "graphtorch.cli", "--version"],
                            capture_output=True, text=True, check=True)
    assert result.stdout.strip()


# --- graphtorch dump ------------------------------------------------------------------------

MODEL = textwrap.dedent("""\
    import graphtorch as gt
    import graphtorch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 3)

        def forward(self, x):
            return self.fc(x).relu()


    def double(x):
        return x * 2


    def make():
        return Net()


    instance = Net()


    def branchy(x):
        if x.sum() > 0:
            return x
        return -x


    def embed(idx):
        return gt.ones(10, 2)[idx]


    if __name__ == "__main__":
        raise SystemExit("the main block must not run")
    """)


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "my_model.py"
    path.write_text(MODEL)
    return path


def _dump(capsys, *argv):
    code = main(["dump", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_dump_text_names_params_and_user_lines(capsys, model_file):
    code, out, err = _dump(capsys, f"{model_file}:Net", "--input", "2,4")
    assert code == 0, err
    assert "%0 = input x : f32[2, 4]" in out
    assert "param fc.weight : f32[3, 4]" in out
    assert "my_model.py:11 in forward" in out   # the line of `return self.fc(x).relu()`
    assert out.rstrip().splitlines()[-1].startswith("return (")


@pytest.mark.parametrize("name", ["double", "make", "instance"])
def test_dump_functions_factories_and_instances(capsys, model_file, name):
    code, out, err = _dump(capsys, f"{model_file}:{name}", "--input", "2,4")
    assert code == 0, err
    assert "input x : f32[2, 4]" in out
    if name != "double":
        assert "param fc.bias : f32[3]" in out


def test_dump_integer_input_and_default_dtype(capsys, model_file):
    code, out, err = _dump(capsys, f"{model_file}:embed", "--input", "5:int64")
    assert code == 0, err
    assert "input idx : i64[5]" in out
    code, out, err = _dump(capsys, f"{model_file}:double", "--input", "3", "--dtype", "float64")
    assert code == 0, err
    assert "input x : f64[3]" in out


def test_dump_json_round_trips(capsys, model_file, tmp_path):
    code, out, err = _dump(capsys, f"{model_file}:Net", "--input", "2,4", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["version"] == 1
    graph = Graph.from_json(out)
    assert graph.to_json() == out.rstrip("\n")
    assert any(n.name == "fc.weight" for n in graph.params)
    # -o writes the same text to a file
    target = tmp_path / "net.json"
    code, out2, _ = _dump(capsys, f"{model_file}:Net", "--input", "2,4", "--format", "json",
                          "-o", target)
    assert code == 0 and out2 == ""
    assert target.read_text() == out


@pytest.mark.parametrize("passes", [None, "default"])
def test_dump_onnx_runs_in_onnx_runtime(capsys, model_file, tmp_path, passes):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    import numpy as np

    target = tmp_path / "net.onnx"
    extra = ["--passes", passes] if passes else []
    code, _, err = _dump(capsys, f"{model_file}:Net", "--input", "2,4", "--format", "onnx",
                         "-o", target, *extra)
    assert code == 0, err
    model = onnx.load(str(target))
    onnx.checker.check_model(model, full_check=True)
    assert {t.name for t in model.graph.initializer} >= {"fc.weight", "fc.bias"}
    assert any(n.doc_string.endswith("my_model.py:11 in forward") for n in model.graph.node)
    x = np.ones((2, 4), np.float32)
    (got,) = ort.InferenceSession(str(target), providers=["CPUExecutionProvider"]).run(
        None, {"x": x})
    w = onnx.numpy_helper.to_array(next(t for t in model.graph.initializer
                                        if t.name == "fc.weight"))
    b = onnx.numpy_helper.to_array(next(t for t in model.graph.initializer
                                        if t.name == "fc.bias"))
    np.testing.assert_allclose(got, np.maximum(x @ w.T + b, 0), rtol=1e-6)


def test_dump_onnx_needs_an_output_file(capsys, model_file):
    pytest.importorskip("onnx")
    code, _, err = _dump(capsys, f"{model_file}:Net", "--input", "2,4", "--format", "onnx")
    assert code == 1 and "-o FILE.onnx" in err


def test_dump_dot(capsys, model_file):
    code, out, err = _dump(capsys, f"{model_file}:Net", "--input", "2,4", "--format", "dot")
    assert code == 0, err
    assert out.startswith("digraph ")
    assert "->" in out and 'label="fc"' in out


def test_dump_svg_without_graphviz_says_how_to_get_dot(capsys, model_file, monkeypatch):
    import shutil

    monkeypatch.setattr(shutil, "which", lambda name: None)
    for fmt in ("svg", "png"):
        code, out, err = _dump(capsys, f"{model_file}:Net", "--input", "2,4", "--format", fmt)
        assert code == 1 and out == ""
        assert "Graphviz" in err and "--format dot" in err and "Traceback" not in err


def test_dump_missing_file(capsys, tmp_path):
    code, _, err = _dump(capsys, f"{tmp_path / 'nope.py'}:Net", "--input", "1")
    assert code == 1
    assert "file not found" in err and "nope.py" in err
    assert len(err.strip().splitlines()) == 1


def test_dump_missing_name(capsys, model_file):
    code, _, err = _dump(capsys, f"{model_file}:Missing", "--input", "1")
    assert code == 1
    assert "has no 'Missing'" in err and "Net" in err
    assert len(err.strip().splitlines()) == 1


def test_dump_tracing_error_names_user_line(capsys, model_file):
    code, _, err = _dump(capsys, f"{model_file}:branchy", "--input", "3")
    assert code == 1
    assert "TracingError" in err and "my_model.py:26 in branchy" in err
    assert len(err.strip().splitlines()) == 1


def test_dump_bad_target_and_passes(capsys, model_file):
    code, _, err = _dump(capsys, "model_without_colon", "--input", "1")
    assert code == 1 and "FILE.py:NAME" in err
    code, _, err = _dump(capsys, f"{model_file}:Net", "--input", "2,4", "--passes", "nope")
    assert code == 1 and "unknown pass 'nope'" in err


def test_dump_after_passes_shows_fused_graph(capsys, model_file):
    code, out, _ = _dump(capsys, f"{model_file}:Net", "--input", "2,4", "--passes", "default")
    assert code == 0 and "return" in out
    code, plain, _ = _dump(capsys, f"{model_file}:Net", "--input", "2,4")
    assert code == 0


def test_dump_subprocess_exit_code_and_no_traceback(model_file):
    result = subprocess.run([sys.executable, "-m", "graphtorch.cli", "dump",
                             f"{model_file}:branchy", "--input", "3"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "TracingError" in result.stderr


def test_help_mentions_dump():
    result = subprocess.run([sys.executable, "-m", "graphtorch.cli", "--help"],
                            capture_output=True, text=True, check=True)
    assert "dump" in result.stdout
    result = subprocess.run([sys.executable, "-m", "graphtorch.cli", "dump", "--help"],
                            capture_output=True, text=True, check=True)
    assert "FILE.py:NAME" in result.stdout and "--input 1,1,32,32" in result.stdout


def test_dump_svg_runs_dot(capsys, model_file, tmp_path, monkeypatch):
    fake = tmp_path / "dot"
    fake.write_text('#!/bin/sh\ngrep -q "^digraph" && echo "<svg>$1</svg>"\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    out_file = tmp_path / "net.svg"
    code, _, err = _dump(capsys, f"{model_file}:Net", "--input", "2,4", "--format", "svg",
                         "-o", out_file)
    assert code == 0, err
    assert out_file.read_text().strip() == "<svg>-Tsvg</svg>"
