"""Every collective against NumPy on each of 2 ranks (workers/collectives.py), launched
through `graphtorch run -n 2`."""

from __future__ import annotations

import pytest

from .conftest import launch

pytestmark = pytest.mark.mpi

CHECKS = ["all_reduce", "zero_copy", "async", "broadcast_reduce", "gather_scatter",
          "all_to_all", "point_to_point", "objects_groups", "functional", "compiled"]


@pytest.fixture(scope="module")
def ranks():
    return launch("collectives", via_cli=True)


def test_workers_exit_cleanly(ranks):
    assert ranks.returncode == 0, ranks.explain()


@pytest.mark.parametrize("check", CHECKS)
def test_collective_matches_numpy_on_every_rank(ranks, check):
    assert ranks.passed(check), ranks.explain()
