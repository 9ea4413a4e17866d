"""A failing rank never leaves the others waiting; a script without a launcher is a world of
one; the launcher command line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from .conftest import WORKERS, launch, rank_env

pytestmark = pytest.mark.mpi


def test_a_rank_that_raises_ends_every_rank_at_once():
    ranks = launch("failures", "raise", timeout=60)
    assert ranks.returncode != 0, ranks.explain()
    assert "[rank1]: ValueError: boom on rank 1" in ranks.stderr, ranks.explain()
    assert "aborting all 2 ranks" in ranks.stderr
    assert "must not happen" not in ranks.stdout
    assert ranks.seconds < 30, f"took {ranks.seconds:.1f} s"


def test_a_rank_that_never_joins_times_out_the_others():
    ranks = launch("failures", "hang", timeout=60)
    assert ranks.returncode != 0, ranks.explain()
    assert "[rank0]: graphtorch.distributed.work.DistBackendError: [rank 0] all_reduce timed " \
           "out after 2 s" in ranks.stderr, ranks.explain()
    assert "must not happen" not in ranks.stdout
    assert ranks.seconds < 30, f"took {ranks.seconds:.1f} s (rank 1 sleeps 60 s)"


def _python(code: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False, timeout=60, env={**rank_env(), **env})


def test_without_a_launcher_the_world_has_one_rank():
    done = _python(f"import runpy; runpy.run_path({str(WORKERS / 'hello.py')!r})")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "rank 0 of 1: sum 1\n"


def test_torchrun_environment_without_mpi_is_refused():
    done = _python("import graphtorch.distributed as d; d.init_process_group()",
                   WORLD_SIZE="2")
    assert done.returncode != 0 and "launch with `mpiexec -n N`" in done.stderr


def test_graphtorch_run_starts_n_ranks():
    done = subprocess.run([sys.executable, "-m", "graphtorch.cli", "run", "-n", "2",
                           str(WORKERS / "hello.py")], capture_output=True, text=True,
                          check=False, stdin=subprocess.DEVNULL, timeout=60, env=rank_env())
    assert done.returncode == 0, done.stderr
    # the launcher forwards each rank's output as it comes: lines may interleave
    assert "rank 0 of 2: sum 3" in done.stdout and "rank 1 of 2: sum 3" in done.stdout


def test_graphtorch_run_reports_a_missing_launcher(capsys):
    from graphtorch.cli import main

    assert main(["run", "-n", "2", "--mpiexec", "/nonexistent/mpiexec", "x.py"]) == 1
    assert "graphtorch run: error:" in capsys.readouterr().err
    assert main(["run", "-n", "0", "x.py"]) == 1
