"""The nightly-size campaign: ``pytest -m fuzz`` (plain ``pytest`` deselects it).

GRAPHTORCH_FUZZ_EXAMPLES (default 50,000) scenarios from GRAPHTORCH_FUZZ_SEED (default
1,000,000, away from CI's seeds) on GRAPHTORCH_FUZZ_JOBS processes (default: all cores);
GRAPHTORCH_FUZZ_REPORT names a file for the markdown report. The same run from the shell:
``python3 tests/compiler/fuzz/run_campaign.py --examples 50000 --jobs 8``.
"""

from __future__ import annotations

import os

import pytest

from tests.compiler.fuzz.campaign import run_campaign


@pytest.mark.fuzz
def test_fuzz_campaign():
    examples = int(os.environ.get("GRAPHTORCH_FUZZ_EXAMPLES", "50000"))
    seed = int(os.environ.get("GRAPHTORCH_FUZZ_SEED", "1000000"))
    jobs = int(os.environ.get("GRAPHTORCH_FUZZ_JOBS", str(os.cpu_count() or 1)))
    report = run_campaign(examples, seed, jobs, minimize_failures=True)
    text = f"{report.total} scenarios in {report.seconds:.0f} s\n{report.table()}\n\n" + \
        report.failure_list()
    if os.environ.get("GRAPHTORCH_FUZZ_REPORT"):
        with open(os.environ["GRAPHTORCH_FUZZ_REPORT"], "w") as f:
            f.write(text + "\n")
    print(text)
    assert report.total == examples
    assert report.failed == 0, "\n" + text
