"""Crafted files (issue 14): every one refused with CheckpointError, in bounded memory and time.

All files are built in the test (tests/serialization/crafted_cases.py) and loaded by one child
process (crafted_child.py) under a 1 GiB address-space limit and a 2 s CPU budget per file,
with a secret planted in its heap: a segfault, a hang, an allocation beyond the limit or heap
bytes inside a tensor all show up as a failed case here. After the crafted files, genuine
checkpoints must still load exactly (no crafted file may change the loader).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .crafted_cases import accepted_cases, genuine_files, refused_cases

torch = pytest.importorskip("torch")
pytest.importorskip("resource", reason="RLIMIT_AS needs a POSIX system")

REPO = Path(__file__).resolve().parents[2]
REFUSED = refused_cases()
ACCEPTED = accepted_cases()
MARKER = Path("/tmp/gt_pwned")


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """{case: what the child saw}, plus the child's exit status and its final line."""
    if MARKER.exists():
        MARKER.unlink()
    folder = tmp_path_factory.mktemp("crafted")
    files = {**REFUSED, **ACCEPTED, **{f"zz_{k}": v for k, v in genuine_files().items()}}
    for name, data in files.items():
        (folder / name).write_bytes(data() if callable(data) else data)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, str(Path(__file__).with_name("crafted_child.py")),
                           str(folder)], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=600, check=False)
    seen, started = {}, None
    for line in proc.stdout.splitlines():
        record = json.loads(line)
        if record.get("started"):
            started = record["case"]
        elif "case" in record:
            seen[record["case"]] = record
            started = None
        else:
            seen["<done>"] = record
    return {"cases": seen, "returncode": proc.returncode, "crashed_in": started,
            "stderr": proc.stderr[-2000:]}


def _result(results, name):
    record = results["cases"].get(name)
    assert record is not None, (
        f"no result for {name}: the child exited with {results['returncode']} while loading "
        f"{results['crashed_in']!r}\n{results['stderr']}")
    return record


def test_the_child_finished_cleanly(results):
    assert results["returncode"] == 0, results["stderr"]
    assert results["cases"]["<done>"]["float32_name"] == "float32"


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_crafted_file_is_refused(results, name):
    record = _result(results, name)
    assert record["outcome"] == "CheckpointError", record
    assert name in record["message"]  # names the file
    # Refused by a check, not by running out of memory under the limit.
    assert "MemoryError" not in record["message"], record


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_odd_but_legitimate_file_loads_without_heap_bytes(results, name):
    record = _result(results, name)
    assert record["outcome"] == "loaded", record
    assert not record["leaked"]


def test_one_storage_referenced_200_times_is_read_once_and_shared(results):
    for name in ("ok_pt_200_views_of_16mib", "ok_gt_200_views_of_16mib"):
        record = _result(results, name)
        assert record["tensors"] == 200 and record["storages"] == 1, record


def test_genuine_files_still_load_after_the_crafted_ones(results):
    expected = {"w": [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]}
    assert _result(results, "zz_genuine_torch")["value"] == dict(expected, step=3)
    assert _result(results, "zz_genuine_gt")["value"] == dict(expected, n=3)


def test_no_crafted_file_ran_code(results):
    assert results["cases"]
    assert not MARKER.exists()
