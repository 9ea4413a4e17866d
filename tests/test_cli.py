"""The `graphtorch` command line tool."""

from __future__ import annotations

import subprocess
import sys

from graphtorch.cli import main
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
