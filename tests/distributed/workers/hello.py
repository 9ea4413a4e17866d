"""Prints each rank's view of the world (for `graphtorch run` and launcher-less starts)."""

from __future__ import annotations

import graphtorch as gt
import graphtorch.distributed as dist

dist.init_process_group()
t = gt.ones(1) * (dist.get_rank() + 1)
dist.all_reduce(t)
print(f"rank {dist.get_rank()} of {dist.get_world_size()}: sum {t.item():g}", flush=True)
dist.destroy_process_group()
