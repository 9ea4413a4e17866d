"""tools/api_probe.py: README's "What is not supported yet" list is the probe's output,
and the probe's lookups are right."""

from __future__ import annotations

import importlib.util
import os

import pytest

import graphtorch as gt

torch = pytest.importorskip("torch")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _probe():
    spec = importlib.util.spec_from_file_location("api_probe",
                                                  os.path.join(ROOT, "tools", "api_probe.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_lists_what_the_probe_finds_missing():
    probe = _probe()
    with open(os.path.join(ROOT, "README.md")) as f:
        readme = f.read()
    start, end = readme.index(probe.START), readme.index(probe.END) + len(probe.END)
    assert readme[start:end] == probe.readme_section(), (
        "README.md's 'What is not supported yet' list is out of date: run "
        "`python3 tools/api_probe.py --update-readme`")


def test_every_tutorial_name_exists_in_pytorch():
    probe = _probe()
    unknown = [n for n in probe.tutorial_names() if not probe.resolve(torch, n)]
    assert not unknown, f"not PyTorch names (typos?): {unknown}"


def test_lookups():
    probe = _probe()
    assert probe.resolve(gt, "torch.nn.Linear") and probe.resolve(gt, "torch.optim.LBFGS")
    assert probe.resolve(gt, "torch.nn.utils.rnn.pad_sequence")  # reached through submodules
    assert not probe.resolve(gt, "torch.nn.NoSuchLayer")
    assert not probe.resolve(gt, "torch.no_such_module.thing")
    names = probe.probed_names()
    assert "torch.nn.functional.relu" in names and "torch.multinomial" in names
    assert len(names) == len(set(names))
    missing, total = probe.missing_names()
    assert total == len(names) and set(missing) <= set(names)
    assert "torch.multinomial" not in missing and "torch.distributions.Normal" not in missing
