"""SyncBatchNorm on 2 ranks (workers/sync_batchnorm.py) equals one BatchNorm over the
concatenated batch; on one process it is BatchNorm (tests/nn/test_sync_batchnorm.py)."""

from __future__ import annotations

import pytest

from .conftest import launch

pytestmark = pytest.mark.mpi

CHECKS = ["training", "cumulative_average", "eval", "group_of_one", "compiled", "ddp"]


@pytest.fixture(scope="module")
def ranks():
    return launch("sync_batchnorm", timeout=90)


def test_workers_exit_cleanly(ranks):
    assert ranks.returncode == 0, ranks.explain()


@pytest.mark.parametrize("check", CHECKS)
def test_sync_batchnorm(ranks, check):
    assert ranks.passed(check), ranks.explain()
