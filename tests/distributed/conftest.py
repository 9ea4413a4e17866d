"""Launching ranks for the `mpi` tests: ``mpiexec -n N python WORKER`` from a plain test.

Workers live in ``workers/`` (not collected by pytest). Each prints ``[rank R] OK <check>``
per passed check and raises on a failed one (which aborts every rank); the tests read the
markers (the launcher may interleave the ranks' lines, so they are searched, not split).
Every launch has a timeout. Without mpi4py or mpiexec the tests skip, except under
``CI=true`` where the test extra must have installed them.
"""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys
import time
from dataclasses import dataclass

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
WORKERS = pathlib.Path(__file__).resolve().parent / "workers"


def _missing() -> str | None:
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return "mpi4py is not installed (pip install -e '.[test]')"
    from graphtorch.distributed.launch import find_mpiexec

    try:
        find_mpiexec()
    except FileNotFoundError as exc:
        return str(exc)
    return None


MISSING = _missing()


def pytest_collection_modifyitems(config, items):
    if MISSING is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        raise pytest.UsageError(f"CI=true but the mpi tests cannot run: {MISSING}")
    skip = pytest.mark.skip(reason=MISSING)
    for item in items:
        if "mpi" in item.keywords:
            item.add_marker(skip)


def rank_env() -> dict:
    """This checkout first on the path; one BLAS thread per rank (2 ranks share 2 cores)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in [env.get("PYTHONPATH")] if p])
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    return env


@dataclass
class Ranks:
    """The outcome of one launch."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def passed(self, check: str, nproc: int = 2) -> bool:
        return all(re.search(rf"\[rank {r}\] OK {re.escape(check)}(\n|$)", self.stdout)
                   for r in range(nproc))

    def explain(self) -> str:
        return f"exit {self.returncode}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"


def launch(worker: str, *args: str, nproc: int = 2, timeout: float = 90,
           via_cli: bool = False) -> Ranks:
    """Run ``workers/<worker>.py`` on `nproc` ranks (through ``graphtorch run`` when
    `via_cli`); a launch that outlives `timeout` seconds fails the test."""
    from graphtorch.distributed.launch import launch_command

    script = [str(WORKERS / f"{worker}.py"), *args]
    if via_cli:
        command = [sys.executable, "-m", "graphtorch.cli", "run", "-n", str(nproc), *script]
    else:
        command = launch_command(nproc, script)
    start = time.monotonic()
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False,
                              stdin=subprocess.DEVNULL, timeout=timeout, env=rank_env(),
                              cwd=ROOT)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{worker} on {nproc} ranks did not finish in {timeout} s:\n"
                    f"{exc.stdout}\n{exc.stderr}")
    return Ranks(done.returncode, done.stdout, done.stderr, time.monotonic() - start)
