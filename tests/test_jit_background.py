"""GRAPHTORCH_JIT, the one switch of both JIT tiers (`graphtorch/jit_background.py`)."""

from __future__ import annotations

import pytest

from graphtorch import jit_background


@pytest.mark.parametrize("value, mode", [("0", "off"), ("off", "off"), ("sync", "sync"),
                                         ("background", "background"), ("1", "background")])
def test_setting(monkeypatch, value, mode):
    monkeypatch.setenv("GRAPHTORCH_JIT", value)
    assert jit_background.setting() == mode


def test_unknown_value_warns_and_means_background(monkeypatch):
    monkeypatch.setenv("GRAPHTORCH_JIT", "snyc")
    with pytest.warns(RuntimeWarning, match="'snyc' is not one of background, sync, 0"):
        assert jit_background.setting() == "background"


def test_wait_runs_what_was_submitted():
    done = []
    jit_background.submit(done.append, 1)
    jit_background.wait(timeout=30)
    assert done == [1]
