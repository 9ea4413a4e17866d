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
    """Run `argv` (a script and its arguments) on `nproc` ranks; returns the exit status.
    Like torchrun, several ranks get ``OMP_NUM_THREADS=1`` unless it is set (N ranks each
    running as many BLAS threads as there are cores would overload the machine)."""
    command = launch_command(nproc, argv, module, mpiexec)
    env = dict(os.environ)
    if nproc > 1 and "OMP_NUM_THREADS" not in env:
        env["OMP_NUM_THREADS"] = "1"
        print("graphtorch run: setting OMP_NUM_THREADS=1 for each rank (set it yourself to "
              "tune)", file=sys.stderr)
    return subprocess.call(command, env=env)
