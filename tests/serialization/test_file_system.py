"""Saving to a path: atomic replacement with the file-system manners of `open(path, "wb")`
(umask, kept mode, symlinks, read-only targets), stale temporaries removed after a SIGKILL,
and no kill during a save ever loses the previous checkpoint."""

from __future__ import annotations

import os
import random
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.serialization import native_write

REPO = Path(__file__).resolve().parents[2]
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("umask,expected", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_new_files_get_the_mode_the_umask_allows(tmp_path, umask, expected):
    old = os.umask(umask)
    try:
        gt.save({"w": gt.ones(2)}, tmp_path / "c.pt")
        with open(tmp_path / "plain", "wb"):
            pass
    finally:
        os.umask(old)
    assert _mode(tmp_path / "c.pt") == _mode(tmp_path / "plain") == expected


def test_replacing_keeps_the_existing_mode(tmp_path):
    path = tmp_path / "c.pt"
    gt.save({"w": gt.ones(2)}, path)
    os.chmod(path, 0o640)
    gt.save({"w": gt.zeros(2)}, path)
    assert _mode(path) == 0o640 and gt.load(path)["w"].tolist() == [0, 0]


def test_a_read_only_target_is_refused_not_replaced(tmp_path):
    path = tmp_path / "c.pt"
    gt.save({"w": gt.ones(2)}, path)
    before = path.read_bytes()
    os.chmod(path, 0o444)
    with pytest.raises(PermissionError) as info:
        gt.save({"w": gt.zeros(2)}, path)
    assert info.value.filename == str(path)
    assert path.read_bytes() == before and _mode(path) == 0o444
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.pt"]


@pytest.mark.skipif(IS_ROOT, reason="root may write into read-only folders")
def test_a_read_only_folder_is_refused(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    os.chmod(folder, 0o555)
    try:
        with pytest.raises(PermissionError):
            gt.save({"w": gt.ones(2)}, folder / "c.pt")
    finally:
        os.chmod(folder, 0o755)


def test_saving_through_a_symlink_replaces_its_target(tmp_path):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "ckpt.pt"
    gt.save({"w": gt.ones(2)}, target)
    os.chmod(target, 0o600)
    link = tmp_path / "latest.pt"
    link.symlink_to(Path("real") / "ckpt.pt")  # relative, as `ln -s` users write them
    chain = tmp_path / "chain.pt"
    chain.symlink_to(link)
    gt.save({"w": gt.full((2,), 5.0)}, chain)
    assert link.is_symlink() and chain.is_symlink()
    assert gt.load(target)["w"].tolist() == [5, 5] and _mode(target) == 0o600
    dangling = tmp_path / "next.pt"
    dangling.symlink_to(tmp_path / "real" / "new.pt")
    gt.save({"w": gt.ones(1)}, dangling)  # as open() does: creates the target
    assert dangling.is_symlink() and gt.load(tmp_path / "real" / "new.pt")["w"].tolist() == [1]
    assert sorted(p.name for p in (tmp_path / "real").iterdir()) == ["ckpt.pt", "new.pt"]


def test_a_folder_target_or_a_missing_folder_raise_as_open_does(tmp_path):
    with pytest.raises(IsADirectoryError):
        gt.save({"w": gt.ones(2)}, tmp_path)
    missing = tmp_path / "no" / "such" / "c.pt"
    with pytest.raises(FileNotFoundError) as info:
        gt.save({"w": gt.ones(2)}, missing)
    assert info.value.filename == str(missing)


def test_interrupted_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "c.pt"
    gt.save({"w": gt.ones(3)}, path)
    before = path.read_bytes()

    def crash(handle, *args):
        handle.write(b"partial")
        raise KeyboardInterrupt("simulated crash mid-save")

    monkeypatch.setattr(native_write, "write_archive", crash)
    with pytest.raises(KeyboardInterrupt):
        gt.save({"w": gt.zeros(3)}, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]  # no temporary file left


_KILLED_SAVER = textwrap.dedent("""
    import sys, time
    import graphtorch as gt
    import graphtorch.serialization.native_write as native_write

    def stall(handle, *args):
        handle.write(b"partial" * 1000)
        handle.flush()
        print("writing", flush=True)
        time.sleep(60)

    native_write.write_archive = stall
    gt.save({"w": gt.ones(3)}, sys.argv[1])
""")


def _child_env():
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO),
                                                        os.environ.get("PYTHONPATH", "")]))


def test_a_later_save_removes_temporaries_of_killed_saves(tmp_path):
    path = tmp_path / "c.pt"
    gt.save({"w": gt.ones(3)}, path)
    with subprocess.Popen([sys.executable, "-c", _KILLED_SAVER, str(path)],
                          stdout=subprocess.PIPE, text=True, env=_child_env()) as child:
        try:
            assert child.stdout.readline().strip() == "writing"
        finally:
            child.send_signal(signal.SIGKILL)
    stale = [p.name for p in tmp_path.iterdir() if p.name != "c.pt"]
    assert stale and stale[0].startswith(".c.pt.graphtorch-") and stale[0].endswith(".tmp")
    other = tmp_path / ".other.pt.graphtorch-1-abcd.tmp"  # another target's: left alone
    other.write_bytes(b"x")
    assert gt.load(path)["w"].tolist() == [1, 1, 1]  # the kill lost nothing
    gt.save({"w": gt.zeros(3)}, path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [other.name, "c.pt"]


_SAVE_LOOP = textwrap.dedent("""
    import sys
    import graphtorch as gt
    a = {"w": gt.zeros(1 << 18), "tag": "a"}
    b = {"w": gt.ones(1 << 18), "tag": "b"}
    print("ready", flush=True)
    while True:
        for obj in (a, b):
            gt.save(obj, sys.argv[1])
""")


def test_sigkill_during_saves_never_loses_the_checkpoint(tmp_path):
    """The issue's crash-safety property, in a few kills: after each SIGKILL at a random
    moment of a save loop, the file is one of the complete checkpoints."""
    path = tmp_path / "c.pt"
    gt.save({"w": gt.zeros(1 << 18), "tag": "a"}, path)
    rng = random.Random(0)
    for _ in range(3):
        with subprocess.Popen([sys.executable, "-c", _SAVE_LOOP, str(path)],
                              stdout=subprocess.PIPE, text=True, env=_child_env()) as child:
            try:
                assert child.stdout.readline().strip() == "ready"
                try:
                    child.wait(timeout=rng.uniform(0.05, 0.3))
                except subprocess.TimeoutExpired:
                    pass
            finally:
                child.send_signal(signal.SIGKILL)
        out = gt.load(path)
        expected = 0.0 if out["tag"] == "a" else 1.0
        assert out["tag"] in ("a", "b") and np.all(out["w"].numpy() == expected)
    gt.save({"w": gt.ones(1), "tag": "c"}, path)
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]
