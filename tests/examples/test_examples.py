"""The examples run end to end and reach their stated results."""

from __future__ import annotations

import importlib.util
import pathlib
import shutil

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_eager_training_learns_the_spiral(capsys):
    final_loss = _load("eager_training").main(steps=150)
    assert final_loss < 0.7


def test_digits_cnn_reaches_95_percent(tmp_path):
    pytest.importorskip("sklearn")
    accuracy = _load("digits_cnn").main(["--no-progress", "--out", str(tmp_path)])
    assert accuracy >= 0.95
    assert (tmp_path / "digits_training.png").stat().st_size > 0
    assert (tmp_path / "digits.pt").stat().st_size > 0


def test_lenet_trains(capsys):
    losses = _load("lenet").main(steps=5)
    assert losses[-1] < losses[0]
    assert "Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))" in capsys.readouterr().out


def test_gradient_accumulation_matches_full_batch():
    assert _load("gradient_accumulation").main() < 1e-5


def test_compile_demo_matches_eager_and_compiles_once(capsys):
    _load("compile_demo").main(["--epochs", "2"])
    out = capsys.readouterr().out
    # the same float32 math; only BLAS summation order (threads, fused chunks) may differ
    difference = float(out.split("max difference over all steps ")[1].split(")")[0])
    assert difference < 1e-5, out
    assert "compiled 1 time(s)" in out and "fused" in out
    assert "opt.param_groups.0.lr" in out


def test_dynamic_vs_static_runs(capsys):
    _load("dynamic_vs_static").main()
    out = capsys.readouterr().out
    assert "compiled 1 time(s) for three different trip counts" in out
    assert "while_loop(" in out and "scan(" in out
    rows = [line.split() for line in out.splitlines() if line.count("|") == 2
            and line.split()[0].isdigit()]
    assert len(rows) == 4
    assert {r[6] for r in rows} == {rows[0][6]} and {r[7] for r in rows} == {"1"}  # scan
    assert int(rows[-1][2]) > 10 * int(rows[0][6]) and rows[-1][3] == "4"  # unrolled
    assert "compiles: static 4, dynamic 1" in out and "f32[s0, s1, s2]" in out


def test_onnx_export_matches_eager_and_draws_the_graph(tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    picture = tmp_path / "lenet.png"
    worst = _load("onnx_export").main(str(tmp_path / "lenet.onnx"), str(picture))
    assert worst < 1e-5
    assert "conv1.weight" in capsys.readouterr().out
    assert (tmp_path / "lenet.onnx").stat().st_size > 0
    if shutil.which("dot"):
        assert picture.read_bytes()[:4] == b"\x89PNG"
