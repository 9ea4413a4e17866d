"""One process of `graphtorch.multiprocessing.spawn`, started by the MPI launcher:
``python -m graphtorch.multiprocessing.spawn_worker FOLDER``.

Imports the parent's main script as ``__mp_main__`` (as multiprocessing's "spawn" start
method does, so `fn` defined there unpickles), then calls ``fn(rank, *args)`` with this
process's MPI rank. Writes its pid, and its traceback if `fn` raises, into FOLDER for the
parent; "done" once `fn` returned.
"""

from __future__ import annotations

import json
import os
import pickle
import runpy
import sys
import traceback
import types


def _rank() -> int:
    for name in ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "MPI_LOCALRANKID"):
        if name in os.environ:
            return int(os.environ[name])
    from mpi4py import MPI

    return MPI.COMM_WORLD.Get_rank()


def _import_main(path: str) -> None:
    """The parent's main script as module ``__mp_main__`` (also ``__main__`` here)."""
    module = types.ModuleType("__mp_main__")
    module.__dict__.update(runpy.run_path(path, run_name="__mp_main__"))
    sys.modules["__main__"] = sys.modules["__mp_main__"] = module


def _write(folder: str, kind: str, rank: int, text: str) -> None:
    with open(os.path.join(folder, f"{kind}.{rank}"), "w", encoding="utf-8") as f:
        f.write(text)


def main(folder: str) -> int:
    rank = _rank()
    _write(folder, "pid", rank, str(os.getpid()))
    try:
        with open(os.path.join(folder, "setup.json"), encoding="utf-8") as f:
            setup = json.load(f)
        sys.path[:0] = [p for p in setup["sys_path"] if p not in sys.path]
        os.chdir(setup["cwd"])
        if setup["main_path"]:
            _import_main(setup["main_path"])
        with open(os.path.join(folder, "call.pkl"), "rb") as f:
            fn, args = pickle.load(f)
        fn(rank, *args)
    except SystemExit as exc:  # sys.exit(0) in fn is a normal end, as in PyTorch
        if exc.code not in (None, 0):
            return exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - reported to the parent with its traceback
        _write(folder, "error", rank, traceback.format_exc())
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)  # no MPI finalize: other ranks may wait for this one in a collective
    _write(folder, "done", rank, "")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
