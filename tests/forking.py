"""Run code in a fresh interpreter that forks: what a DataLoader worker sees after its
parent ran native kernels (GNU OpenMP hangs a child that enters it again)."""

from __future__ import annotations

import subprocess
import sys

_SCRIPT = """
import os, sys
os.environ["GRAPHTORCH_JIT"] = "sync"
os.environ["GRAPHTORCH_CACHE_DIR"] = {cache!r}
{setup}
pid = os.fork()
if pid == 0:
    os._exit(0 if ({check}) else 3)
_, status = os.waitpid(pid, 0)
print("child", os.waitstatus_to_exitcode(status))
"""


def run_forked_check(setup: str, check: str, cache_dir) -> str:
    """Run `setup` (native tier on, kernels built into `cache_dir`), fork, evaluate the
    expression `check` in the child; returns the parent's stdout, whose last line is
    ``child 0`` when the check held (3: it failed; a hang times out after 120 s)."""
    code = _SCRIPT.format(cache=str(cache_dir), setup=setup, check=check)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()
