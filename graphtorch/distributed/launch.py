"""Starting N ranks: the MPI launcher (``mpiexec``) that ``graphtorch run`` calls.

The ``mpich`` wheel installs ``mpiexec`` next to the Python interpreter, so that one is
preferred over whatever ``mpiexec`` comes first on PATH (an MPI library mpi4py was not built
against would start N unrelated singletons).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys


def find_mpiexec() -> str:
    """The path of the MPI launcher (see the module docstring)."""
    for folder in (os.path.dirname(sys.executable), os.path.join(sys.prefix, "bin")):
        path = os.path.join(folder, "mpiexec")
        if os.access(path, os.X_OK):
            return path
    found = shutil.which("mpiexec") or shutil.which("mpirun")
    if found is None:
        raise FileNotFoundError("mpiexec not found: pip install 'graphtorch[distributed]' "
                                "(the mpich wheel provides it) or install an MPI library")
    return found


def launch_command(nproc: int, argv: list[str], module: bool = False,
                   mpiexec: str | None = None) -> list[str]:
    """``mpiexec -n NPROC python [-m] ARGV...`` as an argument list.

    >>> launch_command(2, ["train.py", "--epochs", "3"])[-4:]
    ['python3', 'train.py', '--epochs', '3']      # (the full interpreter path)
    """
    if nproc < 1:
        raise ValueError(f"the number of processes must be at least 1, got {nproc}")
    python = [sys.executable, "-m"] if module else [sys.executable]
    return [mpiexec or find_mpiexec(), "-n", str(nproc), *python, *argv]


def run(nproc: int, argv: list[str], module: bool = False, mpiexec: str | None = None) -> int:
    """Run `argv` (a script and its arguments) on `nproc` ranks; returns the exit status."""
    return subprocess.call(launch_command(nproc, argv, module, mpiexec))
