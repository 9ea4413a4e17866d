"""SyncBatchNorm on every rank against one BatchNorm on the concatenated batch (computed on
each rank): outputs, input gradients, summed weight/bias gradients and running statistics,
for unequal per-rank batches, momentum=None, eval mode, a subgroup, a compiled step, and
DDP training of a converted model."""

from __future__ import annotations

import numpy as np
from common import close, finish, ok, start

import graphtorch as gt
import graphtorch.distributed as dist
from graphtorch import nn
from graphtorch.nn.parallel import DistributedDataParallel as DDP

rank, size = start()
rng = np.random.default_rng(0)  # the same data on every rank
SIZES = [3 + r for r in range(size)]  # unequal batches: counts are all-reduced, not assumed
FULL = rng.standard_normal((sum(SIZES), 4, 5, 3)).astype(np.float32) * 2 + 1.5
GRAD = rng.standard_normal(FULL.shape).astype(np.float32)
lo = sum(SIZES[:rank])
hi = lo + SIZES[rank]


def pair(momentum=0.1):
    gt.manual_seed(1)
    ref = nn.BatchNorm2d(4, momentum=momentum)
    with gt.no_grad():
        ref.weight.uniform_(0.5, 1.5)
        ref.bias.uniform_(-0.5, 0.5)
    sync = nn.SyncBatchNorm.convert_sync_batchnorm(
        nn.Sequential(nn.BatchNorm2d(4, momentum=momentum)))[0]
    sync.load_state_dict(ref.state_dict())
    return ref, sync


def compare(ref, sync, what, steps=2):
    for step in range(steps):
        full = gt.tensor(FULL * (1 + step), requires_grad=True)
        mine = gt.tensor(FULL[lo:hi] * (1 + step), requires_grad=True)
        out_ref, out = ref(full), sync(mine)
        (out_ref * gt.tensor(GRAD)).sum().backward()
        (out * gt.tensor(GRAD[lo:hi])).sum().backward()
        close(out.detach().numpy(), out_ref.detach().numpy()[lo:hi], f"{what} output",
              atol=1e-5)
        close(mine.grad.numpy(), full.grad.numpy()[lo:hi], f"{what} input grad", atol=1e-4)
    for name in ("weight", "bias"):
        grad = getattr(sync, name).grad.clone()
        dist.all_reduce(grad)  # per-rank gradients, summed as DDP would
        close(grad.numpy(), getattr(ref, name).grad.numpy(), f"{what} {name} grad",
              atol=1e-4)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        close(getattr(sync, name).numpy(), getattr(ref, name).numpy(), f"{what} {name}",
              atol=1e-5)


ref, sync = pair()
compare(ref, sync, "momentum 0.1")
ok("training")

ref, sync = pair(momentum=None)
compare(ref, sync, "cumulative")
ok("cumulative_average")

ref.eval()
sync.eval()
mine = gt.tensor(FULL[lo:hi])
# eval: this rank's batch with the (synchronised) running statistics, no collective
close(sync(mine).detach().numpy(), ref(mine).detach().numpy(), "eval", atol=1e-6)
ok("eval")

# a group of one rank: plain BatchNorm on this rank's batch
solo = dist.new_group([0])
if rank == 0:
    gt.manual_seed(2)
    local = nn.BatchNorm2d(4)
    alone = nn.SyncBatchNorm(4, process_group=solo)
    close(alone(mine).detach().numpy(), local(mine).detach().numpy(), "group of one",
          atol=1e-6)
ok("group_of_one")

ref, sync = pair()
x_full, x_mine = gt.tensor(FULL), gt.tensor(FULL[lo:hi])


@gt.compile
def compiled_step(x):
    return (sync(x) ** 2).sum()


for _ in range(2):
    ref(x_full)
    compiled_step(x_mine)
for name in ("running_mean", "running_var"):
    close(getattr(sync, name).numpy(), getattr(ref, name).numpy(), f"compiled {name}",
          atol=1e-5)
if compiled_step.stats.graph_breaks:
    raise AssertionError(f"graph breaks: {compiled_step.stats.graph_breaks}")
ok("compiled")

# DDP over a converted model (the tutorials' recipe), equal batches: each step equals one
# process training on the concatenated batch with the mean loss
def convnet():
    gt.manual_seed(3)
    return nn.Sequential(nn.Conv2d(4, 3, 1), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(),
                         nn.Linear(45, 2))


per_rank = 3
x_all = gt.tensor(FULL[:per_rank * size])
x_rank = gt.tensor(FULL[rank * per_rank:(rank + 1) * per_rank])
single = convnet()
ddp = DDP(nn.SyncBatchNorm.convert_sync_batchnorm(convnet()))
opt_single = gt.optim.SGD(single.parameters(), lr=0.1)
opt_ddp = gt.optim.SGD(ddp.parameters(), lr=0.1)
for _ in range(3):
    for model, opt, x in ((single, opt_single, x_all), (ddp, opt_ddp, x_rank)):
        opt.zero_grad()
        (model(x) ** 2).mean().backward()
        opt.step()
for (name, a), b in zip(single.state_dict().items(), ddp.module.state_dict().values()):
    close(b.numpy(), a.numpy(), f"ddp {name}", atol=1e-5)
ok("ddp")

finish()
