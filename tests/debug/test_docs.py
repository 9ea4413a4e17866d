"""Every ```python snippet of docs/debugging.md runs, in order, in one namespace."""

from __future__ import annotations

import os
import re

import pytest

import graphtorch.debug  # noqa: F401 - makes gt.debug available (until graphtorch exports it)

DOC = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "debugging.md")


def snippets() -> list[str]:
    with open(DOC) as f:
        return re.findall(r"```python\n(.*?)```", f.read(), flags=re.DOTALL)


def test_the_page_has_snippets():
    assert len(snippets()) >= 8


def test_snippets_run(capsys):
    from graphtorch.passes import pipeline

    namespace: dict = {"__name__": "debugging_md"}
    try:
        for i, code in enumerate(snippets()):
            try:
                exec(compile(code, f"debugging.md (snippet {i + 1})", "exec"), namespace)  # noqa: S102
            except Exception as exc:  # noqa: BLE001 - report which snippet failed
                pytest.fail(f"snippet {i + 1} of docs/debugging.md failed: "
                            f"{type(exc).__name__}: {exc}\n{code}")
    finally:
        pipeline.PASSES.pop("broken_rule", None)
    out = capsys.readouterr().out
    assert "culprit: broken_rule" in out
    assert "recompiles:" in out
