"""CUDA tensors through gt.distributed. Usage: cuda.py nccl|mpi

nccl: NCCL collectives (run on 1 rank: NCCL allows one rank per GPU, and CI machines have one);
mpi: CUDA tensors staged through host memory (runs on 2 ranks sharing the GPU).
Needs CuPy and a GPU: run by tests/gpu/test_distributed_cuda.py only where they exist.
"""

from __future__ import annotations

import sys

import numpy as np
from common import close, finish, ok, start

import graphtorch as gt
import graphtorch.distributed as dist
import graphtorch.nn.functional as F
from graphtorch import nn
from graphtorch.nn.parallel import DistributedDataParallel as DDP

rank, size = start(backend=sys.argv[1])
everyone = [np.random.default_rng(r).standard_normal((4, 3)).astype(np.float32)
            for r in range(size)]


def cuda(a):
    return gt.from_numpy(np.array(a)).cuda()


for name, fn in (("SUM", np.sum), ("AVG", np.mean), ("MAX", np.max)):
    t = cuda(everyone[rank])
    dist.all_reduce(t, op=getattr(dist.ReduceOp, name))
    close(t.cpu().numpy(), fn(np.stack(everyone), axis=0), f"cuda all_reduce {name}")
t = cuda(everyone[rank]).t()                       # non-contiguous: staged and written back
dist.all_reduce(t)
close(t.cpu().numpy(), np.sum(everyone, axis=0).T, "cuda all_reduce of a transposed view")
t = cuda(everyone[rank])
dist.broadcast(t, src=size - 1)
close(t.cpu().numpy(), everyone[size - 1], "cuda broadcast")
out = cuda(np.zeros((4 * size, 3)))
dist.all_gather_into_tensor(out, cuda(everyone[rank]))
close(out.cpu().numpy(), np.concatenate(everyone), "cuda all_gather_into_tensor")
part = cuda(np.zeros((4, 3)))
dist.reduce_scatter_tensor(part, cuda(np.concatenate([everyone[rank]] * size)))
close(part.cpu().numpy(), np.sum(everyone, axis=0), "cuda reduce_scatter_tensor")
work = dist.all_reduce(cuda(everyone[rank]), async_op=True)
work.wait()
close(work.result()[0].cpu().numpy(), np.sum(everyone, axis=0), "cuda async all_reduce")
ok("cuda_collectives")

rng = np.random.default_rng(0)
x, y = rng.standard_normal((4 * size, 5)).astype(np.float32), rng.integers(0, 3, 4 * size)


def ddp_run(compiled: bool) -> None:
    """3 DDP steps on this rank's 4 samples equal 3 steps of one model on all samples."""
    gt.manual_seed(0)
    net = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3)).cuda()
    gt.manual_seed(0)
    reference = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3)).cuda()
    model = DDP(net)
    opt = gt.optim.SGD(model.parameters(), lr=0.1)
    ref_opt = gt.optim.SGD(reference.parameters(), lr=0.1)

    def step(xb, yb):
        opt.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        return loss

    run = gt.compile(step) if compiled else step
    for _ in range(3):
        run(cuda(x[4 * rank:4 * rank + 4]), cuda(y[4 * rank:4 * rank + 4]))
        ref_opt.zero_grad()
        F.cross_entropy(reference(cuda(x)), cuda(y)).backward()
        ref_opt.step()
    for p, q in zip(net.parameters(), reference.parameters()):
        close(p.detach().cpu().numpy(), q.detach().cpu().numpy(), "cuda DDP", atol=1e-5)


ddp_run(compiled=False)
ok("cuda_ddp")
ddp_run(compiled=True)
ok("cuda_ddp_compiled")
finish()
