"""`python -m graphtorch`, the examples in `--help`, and CLI messages that point at the user's
code: shape errors name the user's line, and nodes of graphtorch's own modules (an
nn.Sequential from a factory) are labelled with the user's file, not the console script."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import textwrap

import pytest

from graphtorch.cli import build_parser, main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SEQUENTIAL = textwrap.dedent("""\
    import graphtorch.nn as nn


    def make_model():
        return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))


    net = nn.Sequential(nn.Linear(4, 3))


    class Bad(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(5, 2)

        def forward(self, x):
            return self.fc(x)
    """)


def _run_module(*argv, cwd=ROOT):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "graphtorch", *argv], capture_output=True,
                          text=True, cwd=cwd, env=env)


def test_python_dash_m_graphtorch_help():
    result = _run_module("--help")
    assert result.returncode == 0, result.stderr
    assert "usage: graphtorch" in result.stdout and "dump" in result.stdout


@pytest.fixture
def sequential_file(tmp_path):
    path = tmp_path / "seq_model.py"
    path.write_text(SEQUENTIAL)
    return path


@pytest.mark.parametrize("name, line", [("make_model", 4), ("net", 8)])
def test_sequential_nodes_are_labelled_with_the_users_file(sequential_file, name, line):
    result = _run_module("dump", f"{sequential_file}:{name}", "--input", "2,4")
    assert result.returncode == 0, result.stderr
    labels = [ln.split("#", 1)[1].strip() for ln in result.stdout.splitlines() if "#" in ln]
    assert labels and set(labels) == {f"seq_model.py:{line} in {name}"}, labels


def test_shape_error_names_the_users_line(capsys, sequential_file):
    assert main(["dump", f"{sequential_file}:Bad", "--input", "2,4"]) == 1
    err = capsys.readouterr().err
    assert "seq_model.py:17 in forward" in err, err  # `return self.fc(x)`
    assert "mat1 and mat2 shapes cannot be multiplied" in err


def test_lenet_with_the_wrong_input_size_names_its_line(capsys):
    assert main(["dump", "examples/lenet.py:Net", "--input", "1,1,28,28"]) == 1
    err = capsys.readouterr().err
    with open(os.path.join(ROOT, "examples", "lenet.py")) as f:
        lines = f.read().splitlines()
    assert "failed at examples/lenet.py:" in err, err
    line = int(err.split("examples/lenet.py:", 1)[1].split()[0])
    assert "self.fc1(x)" in lines[line - 1], err  # 16*4*4 features reach fc1 (16*5*5)


def _help_examples(command: str) -> list[list[str]]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    lines = sub.format_help().split("examples:", 1)[1].splitlines()
    return [shlex.split(line.split("(needs")[0])[1:] for line in lines
            if line.strip().startswith("graphtorch ")]


@pytest.mark.parametrize("command", ["dump", "explain"])
def test_every_help_example_parses(command):
    examples = _help_examples(command)
    assert examples
    for argv in examples:
        args = build_parser().parse_args(argv)  # SystemExit on an unknown option
        assert args.command == command


@pytest.mark.parametrize("command", ["dump", "explain"])
def test_the_lenet_help_example_runs(capsys, command):
    (argv,) = [a for a in _help_examples(command) if "examples/lenet.py:Net" in a]
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        assert main(argv) == 0, capsys.readouterr().err
    finally:
        os.chdir(cwd)
    assert capsys.readouterr().out.strip()
