"""DistributedDataParallel on 2 ranks (workers/ddp.py): training equals one process on the
concatenated batches (MLP and CNN, eager and compiled), no_sync, unused parameters, bucket
views, buffers, rank-0 checkpoints."""

from __future__ import annotations

import pytest

from .conftest import launch

pytestmark = pytest.mark.mpi

CHECKS = ["eager_mlp", "eager_buckets_mlp", "compiled_mlp", "eager_cnn", "eager_buckets_cnn",
          "compiled_cnn", "gradient_as_bucket_view", "no_sync", "find_unused_parameters",
          "buffers", "compiled_buffers", "checkpoint", "shape_check"]


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    return launch("ddp", str(tmp_path_factory.mktemp("ddp")), timeout=120)


def test_workers_exit_cleanly(ranks):
    assert ranks.returncode == 0, ranks.explain()


@pytest.mark.parametrize("check", CHECKS)
def test_ddp(ranks, check):
    assert ranks.passed(check), ranks.explain()
