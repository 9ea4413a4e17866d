"""DistributedDataParallel on every rank against one process training on the concatenated
batches (computed on each rank), eagerly and compiled; no_sync, unused parameters, bucket
views, buffers, checkpoints. Usage: ddp.py CHECKPOINT_DIR"""

from __future__ import annotations

import os
import sys

import numpy as np
from common import close, finish, ok, raises, start

import graphtorch as gt
import graphtorch.distributed as dist
import graphtorch.nn.functional as F
from graphtorch import nn
from graphtorch.nn.parallel import DistributedDataParallel as DDP
from graphtorch.utils.data import DataLoader, TensorDataset
from graphtorch.utils.data.distributed import DistributedSampler

rank, size = start()
out_dir = sys.argv[1]
rng = np.random.default_rng(0)   # the same data on every rank
N, BATCH, STEPS = 48, 6, 4
X_FLAT = gt.from_numpy(rng.standard_normal((N, 10)).astype(np.float32))
X_IMG = gt.from_numpy(rng.standard_normal((N, 1, 8, 8)).astype(np.float32))
Y = gt.from_numpy(rng.integers(0, 4, N))


def mlp():
    return nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 16), nn.Tanh(),
                         nn.Linear(16, 4))


def cnn():
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(32, 4))


def built(factory, seed):
    gt.manual_seed(seed)
    return factory()


def batches(x):
    """Per step: this rank's batch and the concatenation of every rank's batch (the
    DistributedSampler of each rank, shuffled with seed 3 for epoch 1)."""
    dataset = TensorDataset(x, Y)
    loaders = []
    for r in range(size):
        sampler = DistributedSampler(dataset, num_replicas=size, rank=r, shuffle=True, seed=3)
        sampler.set_epoch(1)
        loaders.append(DataLoader(dataset, batch_size=BATCH, sampler=sampler))
    mine = DistributedSampler(dataset, shuffle=True, seed=3)   # rank/size from the group
    mine.set_epoch(1)
    assert list(mine) == list(loaders[rank].sampler)
    for parts in zip(*loaders):
        yield parts[rank], (gt.cat([p[0] for p in parts]), gt.cat([p[1] for p in parts]))


def train(factory, x, compiled=False, **ddp_options):
    """(DDP model after STEPS steps, reference model after the same steps)."""
    model = DDP(built(factory, seed=100 + rank), **ddp_options)   # rank 0's weights win
    reference = built(factory, seed=100)
    opt = gt.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    ref_opt = gt.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9)

    def step(xb, yb):
        opt.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        return loss

    run = gt.compile(step) if compiled else step
    for k, ((xb, yb), (x_all, y_all)) in enumerate(batches(x)):
        if k == STEPS:
            break
        run(xb, yb)
        ref_opt.zero_grad()
        F.cross_entropy(reference(x_all), y_all).backward()
        ref_opt.step()
    for (name, p), q in zip(model.module.named_parameters(), reference.parameters()):
        close(p.detach().numpy(), q.detach().numpy(), f"{name} after {STEPS} steps",
              atol=2e-6, rtol=1e-5)
    return model, run


for label, factory, x in (("mlp", mlp, X_FLAT), ("cnn", cnn, X_IMG)):
    model, _ = train(factory, x)
    assert len(model.reducer.buckets) == 1
    ok(f"eager_{label}")
    model, _ = train(factory, x, bucket_cap_mb=0.0002)
    assert len(model.reducer.buckets) > 2
    ok(f"eager_buckets_{label}")
    model, step = train(factory, x, compiled=True, bucket_cap_mb=0.0002)
    assert not step.stats.graph_breaks, step.stats.graph_breaks
    assert step.compile_count == 1, step.compile_count   # the first call creates momentum
    names = [n.op.name for n in step.graph.op_nodes]
    assert names.count("all_reduce") == len(model.reducer.buckets), names
    ok(f"compiled_{label}")

model, _ = train(mlp, X_FLAT, gradient_as_bucket_view=True, bucket_cap_mb=0.0002)
for p in model.parameters():
    owner = model.reducer.slot[model.reducer.index[id(p)]][0]
    assert np.shares_memory(p.grad.numpy(), owner.buffer), "grad is a view of its bucket"
ok("gradient_as_bucket_view")

# --- no_sync: two local micro-steps, then a synchronised one ---------------------------------
model = DDP(built(mlp, 100 + rank))
reference = built(mlp, 100)
micro = list(batches(X_FLAT))[:3]
with model.no_sync():
    for k, ((xb, yb), _) in enumerate(micro[:2]):
        F.cross_entropy(model(xb), yb).backward()
        if k == 0:
            grads = [None] * size
            dist.all_gather_object(grads, model.module[0].weight.grad.numpy())
            assert not np.allclose(grads[0], grads[1]), "no_sync must not communicate"
(xb, yb), _ = micro[2]
F.cross_entropy(model(xb), yb).backward()
for _, (x_all, y_all) in micro:
    F.cross_entropy(reference(x_all), y_all).backward()
for p, q in zip(model.module.parameters(), reference.parameters()):
    close(p.grad.numpy(), q.grad.numpy(), "accumulated gradient after no_sync")
ok("no_sync")


# --- unused parameters ---------------------------------------------------------------------
class Branches(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b, self.c = nn.Linear(4, 2), nn.Linear(4, 2), nn.Linear(4, 2)
        self.use_b = True

    def forward(self, x):
        out = self.a(x)
        return out + self.b(x) if self.use_b else out


x = gt.from_numpy(np.random.default_rng(7 + rank).standard_normal((5, 4)).astype(np.float32))
net = built(Branches, 5)
net.use_b = rank == 0                      # b is used on rank 0 only, c nowhere
model = DDP(net, find_unused_parameters=True)
model(x).pow(2).sum().backward()
local = built(Branches, 5)
local.use_b = rank == 0
local(x).pow(2).sum().backward()
mine = {n: (None if p.grad is None else p.grad.numpy()) for n, p in local.named_parameters()}
everyone = [None] * size
dist.all_gather_object(everyone, mine)
for name, p in net.named_parameters():
    grads = [g[name] for g in everyone]
    if all(g is None for g in grads):
        assert p.grad is None, f"{name}: unused on every rank keeps grad None"
    else:
        expected = sum(g for g in grads if g is not None) / size
        close(p.grad.numpy(), expected, f"{name}: average, zero where unused")
assert net.c.weight.grad is None and net.b.weight.grad is not None
strict = DDP(built(Branches, 5))           # c unused, detection off: a clear error
raises(RuntimeError, lambda: strict(x).sum().backward(), "find_unused_parameters=True",
       "an unused parameter without find_unused_parameters")
ok("find_unused_parameters")

# --- buffers follow rank 0 -----------------------------------------------------------------
bn = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
bn[1].running_mean.fill_(float(rank))
model = DDP(bn)
assert np.all(bn[1].running_mean.numpy() == 0.0), "buffers are broadcast at construction"
model(x).sum().backward()                  # each rank's statistics move its own way
means = [None] * size
dist.all_gather_object(means, bn[1].running_mean.numpy())
assert not np.allclose(means[0], means[1])
model.eval()
with gt.no_grad():
    model(x)                               # rank 0's buffers again, before this forward
dist.all_gather_object(means, bn[1].running_mean.numpy())
close(means[rank], means[0], "buffers after the pre-forward broadcast")
ok("buffers")


def batchnorm_run(compiled):
    """State after 3 steps of a BatchNorm model, its buffers broadcast before each forward
    (inside gt.compile: broadcast nodes in the graph)."""
    net = built(lambda: nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(),
                                      nn.Linear(6, 3)), 100 + rank)
    model = DDP(net)
    opt = gt.optim.SGD(model.parameters(), lr=0.1)

    def step(xb, yb):
        opt.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        return loss

    run = gt.compile(step) if compiled else step
    gt.manual_seed(10 + rank)
    for _ in range(3):
        run(gt.randn(5, 4), gt.randint(0, 3, (5,)))
    return net.state_dict(), run


eager_state, _ = batchnorm_run(False)
compiled_state, step = batchnorm_run(True)
for key in eager_state:
    close(compiled_state[key].numpy(), eager_state[key].numpy(), f"compiled BatchNorm {key}")
names = [n.op.name for n in step.graph.op_nodes]
assert names.count("broadcast") == 3 and names.count("all_reduce") == 1, names
ok("compiled_buffers")

# --- rank-0 checkpoint ---------------------------------------------------------------------
model, _ = train(mlp, X_FLAT)
path = os.path.join(out_dir, "ddp.pt")
if rank == 0:
    gt.save(model.state_dict(), path)
dist.barrier()
state = gt.load(path)
assert all(k.startswith("module.") for k in state), list(state)
fresh = DDP(built(mlp, 42))
fresh.load_state_dict(state)
for p, q in zip(fresh.parameters(), model.parameters()):
    close(p.detach().numpy(), q.detach().numpy(), "checkpoint round trip")
ok("checkpoint")

raises(RuntimeError, lambda: DDP(nn.Linear(3, 2 + rank)), "same model across all ranks",
       "different models on different ranks")
ok("shape_check")
finish()
