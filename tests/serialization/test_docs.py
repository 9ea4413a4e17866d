"""Every ```python snippet of docs/checkpoints.md runs, in order, in one module namespace
(a real module, so that its classes pickle by reference), in a temporary folder."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "checkpoints.md"


def snippets() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


def test_snippets_run(tmp_path, monkeypatch, capsys):
    assert len(snippets()) >= 6
    monkeypatch.chdir(tmp_path)
    module = types.ModuleType("checkpoints_md")
    monkeypatch.setitem(sys.modules, "checkpoints_md", module)
    for i, code in enumerate(snippets()):
        try:
            exec(compile(code, f"checkpoints.md (snippet {i + 1})", "exec"), module.__dict__)  # noqa: S102
        except Exception as exc:  # noqa: BLE001 - report which snippet failed
            pytest.fail(f"snippet {i + 1} of docs/checkpoints.md failed: "
                        f"{type(exc).__name__}: {exc}\n{code}")
    out = capsys.readouterr().out
    assert "<stream> is not a readable checkpoint" in out
    assert "GLOBAL checkpoints_md.TheModelClass was not an allowed global" in out
    assert "tensor([ 3., 40.,  5.])" in out
