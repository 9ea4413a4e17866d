"""graphtorch.malloc_tuning: a step's freed activations are reused, not page-faulted back."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from graphtorch import malloc_tuning

GLIBC = malloc_tuning._glibc()

# Five 1.2 MB arrays allocated and freed together per "step", as a LeNet step's
# activations: glibc's adaptive thresholds alone trim them from the heap top and fault them
# back in every step.
PROBE = """
import resource, numpy as np
import graphtorch
from graphtorch import malloc_tuning
def step():
    arrays = [np.ones(300_000, np.float32) for _ in range(5)]
    del arrays
for _ in range(5):
    step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(50):
    step()
print(malloc_tuning.applied(), (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 50)
"""


def _probe(**env):
    result = subprocess.run([sys.executable, "-c", PROBE], env={**os.environ, **env}, check=False,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    applied, faults = result.stdout.split()
    return applied == "True", float(faults)


@pytest.mark.skipif(not GLIBC, reason="glibc's mallopt only")
def test_freed_arrays_are_reused_without_page_faults():
    applied, faults = _probe()
    assert applied
    assert faults < 50, f"{faults} page faults per step with the tuning"
    applied_off, faults_off = _probe(GRAPHTORCH_MALLOC="0")
    assert not applied_off
    assert faults_off > 10 * max(faults, 1)  # what the tuning avoids (~1,500 per step)


def test_switched_off_or_not_glibc_leaves_malloc_alone(monkeypatch):
    monkeypatch.setenv("GRAPHTORCH_MALLOC", "0")
    assert malloc_tuning.apply_default() is False
    monkeypatch.setenv("GRAPHTORCH_MALLOC", "1")
    monkeypatch.setattr(malloc_tuning, "_glibc", lambda: False)
    assert malloc_tuning.apply_default() is False
