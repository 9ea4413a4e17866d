"""examples/ddp_digits.py on 2 ranks: each rank's progress printed once per epoch, a rank-0
checkpoint, and a model that learns."""

from __future__ import annotations

import re
import subprocess

import pytest

from .conftest import ROOT, rank_env

pytestmark = pytest.mark.mpi


def test_ddp_digits_trains_on_two_ranks(tmp_path):
    pytest.importorskip("sklearn")
    from graphtorch.distributed.launch import launch_command

    command = launch_command(2, [str(ROOT / "examples" / "ddp_digits.py"), "--epochs", "3",
                                 "--compile", "--out", str(tmp_path)])
    done = subprocess.run(command, capture_output=True, text=True, check=False,
                          stdin=subprocess.DEVNULL, timeout=120, env=rank_env())
    assert done.returncode == 0, done.stderr
    epochs = [line for line in done.stdout.splitlines() if line.startswith("epoch ")]
    assert [line.split()[1] for line in epochs] == ["1", "2", "3"]
    assert all("rank 0: loss" in line and "rank 1: loss" in line for line in epochs)
    accuracy = float(re.search(r"test accuracy ([\d.]+) on 2 rank", done.stdout).group(1))
    assert accuracy >= 0.9, done.stdout
    assert (tmp_path / "ddp_digits.pt").stat().st_size > 0
