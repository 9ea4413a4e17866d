"""`torch.multiprocessing.spawn`: run ``fn(i, *args)`` in `nprocs` processes, i = 0..nprocs-1.

The processes are started as ranks of one MPI job (``mpiexec -n nprocs``), so code written
for PyTorch's spawn-then-``init_process_group`` pattern (the DDP tutorial) finds its group:
``dist.init_process_group("gloo", rank=i, world_size=nprocs)`` in process i joins the
ranks the launcher started (MASTER_ADDR/MASTER_PORT are not needed). As with the "spawn"
start method, each process imports the parent's main script as ``__mp_main__`` (code under
``if __name__ == "__main__":`` does not run again), then unpickles `fn` and `args`:
tensors among the args arrive as copies. An exception in a process is re-raised in the
parent as `ProcessRaisedException` with that process's traceback; a process that dies
otherwise gives `ProcessExitedException`. Needs an MPI launcher (the ``mpich`` wheel).
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
import time

__all__ = ["ProcessContext", "ProcessException", "ProcessExitedException",
           "ProcessRaisedException", "spawn", "start_processes"]


class ProcessException(Exception):
    """A spawned process failed (PyTorch's base class)."""

    def __init__(self, msg: str, error_index: int, error_pid: int):
        super().__init__(msg)
        self.msg = msg
        self.error_index = error_index
        self.pid = error_pid

    def __reduce__(self):
        return type(self), (self.msg, self.error_index, self.pid)


class ProcessRaisedException(ProcessException):
    """A spawned process raised; the message holds its traceback."""


class ProcessExitedException(ProcessException):
    """A spawned process exited with a non-zero status without raising (killed, or
    ``sys.exit(code)``)."""

    def __init__(self, msg: str, error_index: int, error_pid: int, exit_code: int,
                 signal_name: str | None = None):
        super().__init__(msg, error_index, error_pid)
        self.exit_code = exit_code
        self.signal_name = signal_name

    def __reduce__(self):
        return type(self), (self.msg, self.error_index, self.pid, self.exit_code,
                            self.signal_name)


class ProcessContext:
    """The running processes of one `start_processes` call (``join=False`` returns it)."""

    def __init__(self, launcher: subprocess.Popen, folder: str, nprocs: int):
        self._launcher = launcher
        self._folder = folder
        self.nprocs = nprocs

    def pids(self) -> list[int]:
        """The processes' ids, as far as they have started."""
        return [int(_read(self._path("pid", i)) or 0) for i in range(self.nprocs)]

    def join(self, timeout: float | None = None) -> bool:
        """Wait (at most `timeout` seconds) for every process; True once all finished well.
        Raises `ProcessRaisedException` / `ProcessExitedException` for a failed one; as in
        PyTorch, the others are then terminated (they may be waiting for it in a
        collective)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            code = self._launcher.poll()
            if code is not None:
                break
            if any(_read(self._path("error", i)) is not None for i in range(self.nprocs)):
                self._launcher.terminate()
                code = self._launcher.wait()
                break
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        try:
            self._raise_first_failure(code)
        finally:
            shutil.rmtree(self._folder, ignore_errors=True)
        return True

    def _path(self, kind: str, index: int) -> str:
        return os.path.join(self._folder, f"{kind}.{index}")

    def _raise_first_failure(self, code: int) -> None:
        pids = self.pids()
        for i in range(self.nprocs):
            trace = _read(self._path("error", i))
            if trace is not None:
                raise ProcessRaisedException(
                    f"\n\n-- Process {i} terminated with the following error:\n{trace}", i,
                    pids[i])
        if code != 0:
            failed = next((i for i in range(self.nprocs)
                           if _read(self._path("done", i)) is None), 0)
            signal_name = None
            if code < 0:
                signal_name = signal.Signals(-code).name
                raise ProcessExitedException(
                    f"process {failed} terminated with signal {signal_name}", failed,
                    pids[failed], code, signal_name)
            raise ProcessExitedException(f"process {failed} terminated with exit code {code}",
                                         failed, pids[failed], code)


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        return None


def start_processes(fn, args=(), nprocs: int = 1, join: bool = True, daemon: bool = False,
                    start_method: str = "spawn"):
    """Run ``fn(i, *args)`` for i in 0..nprocs-1, each in its own process (see the module
    docstring). With `join`, wait and return None; else return a `ProcessContext`.
    `daemon` and `start_method` are accepted for PyTorch compatibility: the processes are
    always fresh interpreters started by the MPI launcher."""
    # imported when processes start: gt.distributed is not needed to import this module
    from ..distributed.launch import find_mpiexec

    if nprocs < 1:
        raise ValueError(f"nprocs must be at least 1, got {nprocs}")
    if start_method not in ("spawn", "fork", "forkserver"):
        raise ValueError(f"unknown start method {start_method!r}")
    folder = tempfile.mkdtemp(prefix="graphtorch-spawn-")
    main = sys.modules.get("__main__")
    main_path = getattr(main, "__file__", None)
    with open(os.path.join(folder, "setup.json"), "w", encoding="utf-8") as f:
        json.dump({"main_path": os.path.abspath(main_path) if main_path else None,
                   "sys_path": [p for p in sys.path if isinstance(p, str)],
                   "cwd": os.getcwd()}, f)
    with open(os.path.join(folder, "call.pkl"), "wb") as f:
        pickle.dump((fn, tuple(args)), f)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([p for p in sys.path if p] +
                                        [p for p in [env.get("PYTHONPATH")] if p])
    command = [find_mpiexec(), "-n", str(nprocs), sys.executable, "-m",
               "graphtorch.multiprocessing.spawn_worker", folder]
    context = ProcessContext(subprocess.Popen(command, env=env), folder, nprocs)
    if not join:
        return context
    while not context.join():
        pass
    return None


def spawn(fn, args=(), nprocs: int = 1, join: bool = True, daemon: bool = False,
          start_method: str = "spawn"):
    """`torch.multiprocessing.spawn`: `start_processes` with the "spawn" method.

    >>> def train(rank, world_size):
    ...     dist.init_process_group("gloo", rank=rank, world_size=world_size)
    ...     ...
    >>> mp.spawn(train, args=(2,), nprocs=2, join=True)
    """
    return start_processes(fn, args, nprocs, join, daemon, start_method)
