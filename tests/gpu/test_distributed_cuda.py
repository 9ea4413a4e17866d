"""gt.distributed on CUDA tensors: NCCL (one rank per GPU) and MPI staging (two ranks on one
GPU), collectives and DDP training, eager and compiled (workers/cuda.py)."""

from __future__ import annotations

import pytest

from ..distributed.conftest import MISSING, launch

pytestmark = [pytest.mark.gpu, pytest.mark.mpi,
              pytest.mark.skipif(MISSING is not None, reason=str(MISSING))]


@pytest.mark.parametrize("backend,nproc", [("nccl", 1), ("mpi", 2)])
def test_cuda_tensors(backend, nproc):
    ranks = launch("cuda", backend, nproc=nproc, timeout=300)
    assert ranks.returncode == 0, ranks.explain()
    for check in ("cuda_collectives", "cuda_ddp", "cuda_ddp_compiled"):
        assert ranks.passed(check, nproc), ranks.explain()
