"""Failure behaviour. Usage: failures.py raise|hang

raise: rank 1 raises before a collective that rank 0 is already waiting in; MPI_Abort must
       end both at once, with rank 1's traceback.
hang:  rank 1 sleeps instead of joining; rank 0's all_reduce must raise DistBackendError
       after the 2 s timeout (which then aborts rank 1 too).
"""

from __future__ import annotations

import datetime
import sys
import time

from common import start

import graphtorch as gt
import graphtorch.distributed as dist

rank, size = start(timeout=datetime.timedelta(seconds=2))
dist.barrier()
if rank == 1:
    if sys.argv[1] == "raise":
        raise ValueError("boom on rank 1")
    time.sleep(60)
dist.all_reduce(gt.ones(4))
print("rank 0 finished the all_reduce alone: this must not happen", flush=True)
