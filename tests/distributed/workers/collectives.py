"""Every collective against NumPy on every rank (any world size >= 2).

Rank r's data comes from ``np.random.default_rng(SEED + r)``, so each rank can compute what
every collective must give from all ranks' data.
"""

from __future__ import annotations

import numpy as np
from common import close, finish, ok, raises, same, start

import graphtorch as gt
import graphtorch.distributed as dist

rank, size = start()


def data(r, shape=(3, 4), dtype=np.float32, seed=0):
    rng = np.random.default_rng(1000 * seed + r)
    if np.dtype(dtype).kind in "iu":
        return rng.integers(-5, 6, size=shape).astype(dtype)
    if np.dtype(dtype) == np.bool_:
        return rng.random(size=shape) > 0.5
    return rng.standard_normal(shape).astype(dtype)


everyone = [data(r) for r in range(size)]


# --- all_reduce: every op, dtypes, layouts, async -----------------------------------------------
REDUCE = {"SUM": np.sum, "PRODUCT": np.prod, "MIN": np.min, "MAX": np.max,
          "AVG": lambda a, axis: np.sum(a, axis=axis) / size}
for dtype in (np.float32, np.float64, np.int64):
    for name, fn in REDUCE.items():
        if name == "AVG" and dtype == np.int64:
            continue
        arrays = [data(r, dtype=dtype, seed=1) for r in range(size)]
        t = gt.from_numpy(arrays[rank].copy())
        version, ptr = t._version, t.data_ptr()
        dist.all_reduce(t, op=getattr(dist.ReduceOp, name))
        close(t.numpy(), fn(np.stack(arrays), axis=0).astype(dtype), f"all_reduce {name} {dtype}")
        assert t._version == version + 1 and t.data_ptr() == ptr, "all_reduce is in place"
ints = [data(r, dtype=np.int32, seed=2) for r in range(size)]
for name, fn in {"BAND": np.bitwise_and, "BOR": np.bitwise_or, "BXOR": np.bitwise_xor}.items():
    t = gt.from_numpy(ints[rank].copy())
    dist.all_reduce(t, op=getattr(dist.ReduceOp, name))
    same(t.numpy(), fn.reduce(np.stack(ints), axis=0), f"all_reduce {name}")
bools = [data(r, dtype=np.bool_, seed=3) for r in range(size)]
t = gt.from_numpy(bools[rank].copy())
dist.all_reduce(t)  # SUM of bools is OR, as PyTorch's NCCL backend maps it
same(t.numpy(), np.any(np.stack(bools), axis=0), "all_reduce bool SUM")
dist.all_reduce(t, op=dist.ReduceOp.PRODUCT)
same(t.numpy(), np.any(np.stack(bools), axis=0), "all_reduce bool PRODUCT")
t = gt.from_numpy(data(rank, (), np.float64, seed=4).copy())      # 0-d
dist.all_reduce(t)
close(t.numpy(), sum(data(r, (), np.float64, seed=4) for r in range(size)), "0-d all_reduce")
t = gt.zeros(0, 3)
dist.all_reduce(t)
same(t.numpy(), np.zeros((0, 3), np.float32), "empty all_reduce")
raises(RuntimeError, lambda: dist.all_reduce(gt.tensor([True]), op=dist.ReduceOp.AVG),
       "AVG", "bool AVG")
raises(RuntimeError, lambda: dist.all_reduce(gt.ones(2), op=dist.ReduceOp.BAND), "BAND",
       "float BAND")
ok("all_reduce")

# A contiguous tensor's own buffer goes to MPI; a transposed view is staged and written back.
group = dist.group.WORLD
seen = []
original = group.mpi.all_reduce
group.mpi.all_reduce = lambda array, op: seen.append(array) or original(array, op)
t = gt.from_numpy(everyone[rank].copy())
dist.all_reduce(t)
assert seen[-1] is t._data, "a contiguous tensor is passed to MPI without a copy"
base = gt.from_numpy(everyone[rank].copy())
view = base.t()
dist.all_reduce(view)
assert seen[-1] is not view._data and seen[-1].flags.c_contiguous
group.mpi.all_reduce = original
close(base.numpy(), np.sum(everyone, axis=0), "all_reduce through a transposed view")
ok("zero_copy")

t = gt.from_numpy(everyone[rank].copy())
work = dist.all_reduce(t, op=dist.ReduceOp.AVG, async_op=True)
assert isinstance(work, dist.Work)
assert work.wait() is True and work.is_completed() and work.is_success()
close(t.numpy(), np.mean(everyone, axis=0), "async AVG")
assert work.result()[0] is t
works = [dist.all_reduce(gt.full((5,), float(rank + k)), async_op=True) for k in range(3)]
for k, w in enumerate(works):
    w.wait()
    close(w.result()[0].numpy(), np.full(5, sum(r + k for r in range(size))), "queued works")
ok("async")

# --- broadcast, reduce -----------------------------------------------------------------------
for src in (0, size - 1):
    t = gt.from_numpy(everyone[rank].copy())
    dist.broadcast(t, src=src)
    same(t.numpy(), everyone[src], f"broadcast from {src}")
t = gt.from_numpy(everyone[rank].copy())
dist.broadcast(t, group_src=1)
same(t.numpy(), everyone[1], "broadcast group_src")
raises(ValueError, lambda: dist.broadcast(gt.ones(1)), "Must specify", "broadcast without src")
t = gt.from_numpy(everyone[rank].copy())
dist.reduce(t, dst=1, op=dist.ReduceOp.MAX)
close(t.numpy(), np.max(everyone, axis=0) if rank == 1 else everyone[rank], "reduce to 1")
ok("broadcast_reduce")

# --- gathers and scatters -----------------------------------------------------------------
out = [gt.empty(3, 4) for _ in range(size)]
dist.all_gather(out, gt.from_numpy(everyone[rank]))
for r in range(size):
    same(out[r].numpy(), everyone[r], f"all_gather slot {r}")
raises(RuntimeError, lambda: dist.all_gather([gt.empty(3, 4)] * (size + 1),
                                             gt.zeros(3, 4)), "expected length", "list size")
flat = gt.empty(size * 3, 4)
dist.all_gather_into_tensor(flat, gt.from_numpy(everyone[rank]))
same(flat.numpy(), np.concatenate(everyone), "all_gather_into_tensor (concatenated)")
stacked = gt.empty(size, 3, 4)
work = dist.all_gather_into_tensor(stacked, gt.from_numpy(everyone[rank]), async_op=True)
work.wait()
same(stacked.numpy(), np.stack(everyone), "all_gather_into_tensor (stacked, async)")
raises(RuntimeError, lambda: dist.all_gather_into_tensor(gt.empty(3), gt.empty(2)),
       "world_size", "all_gather_into_tensor size")

big = [data(r, (size * 2, 3), seed=5) for r in range(size)]
for name, fn in (("SUM", np.sum), ("AVG", np.mean), ("MAX", np.max)):
    part = gt.empty(2, 3)
    dist.reduce_scatter_tensor(part, gt.from_numpy(big[rank]), op=getattr(dist.ReduceOp, name))
    close(part.numpy(), fn(np.stack(big), axis=0)[2 * rank:2 * rank + 2],
          f"reduce_scatter_tensor {name}")
part = gt.empty(2, 3)
dist.reduce_scatter(part, [gt.from_numpy(b) for b in np.split(big[rank], size)])
close(part.numpy(), np.sum(big, axis=0)[2 * rank:2 * rank + 2], "reduce_scatter (list)")

if rank == 0:
    slots = [gt.empty(3, 4) for _ in range(size)]
    dist.gather(gt.from_numpy(everyone[rank]), slots, dst=0)
    for r in range(size):
        same(slots[r].numpy(), everyone[r], f"gather slot {r}")
    raises(ValueError, lambda: dist.gather(gt.ones(1), None, dst=0), "must be specified",
           "gather_list missing on dst")
else:
    dist.gather(gt.from_numpy(everyone[rank]), dst=0)
    raises(ValueError, lambda: dist.gather(gt.ones(1), [gt.ones(1)], dst=0), "must NOT",
           "gather_list on a non-destination rank")
mine = gt.empty(3, 4)
if rank == 1:
    dist.scatter(mine, [gt.from_numpy(everyone[r] * 10) for r in range(size)], src=1)
else:
    dist.scatter(mine, src=1)
same(mine.numpy(), everyone[rank] * 10, "scatter from 1")
ok("gather_scatter")

# --- all_to_all ----------------------------------------------------------------------------
send = gt.arange(float(size * 2)) + 100 * rank
received = gt.empty(size * 2)
dist.all_to_all_single(received, send)
expected = np.concatenate([np.arange(size * 2.0)[2 * rank:2 * rank + 2] + 100 * r
                           for r in range(size)])
same(received.numpy(), expected.astype(np.float32), "all_to_all_single (even)")
# uneven: rank r sends r + 1 rows to each rank
rows_in = [r + 1 for r in range(size)]
send = gt.full((sum([rank + 1] * size), 2), float(rank))
received = gt.empty(sum(rows_in), 2)
dist.all_to_all_single(received, send, output_split_sizes=rows_in,
                       input_split_sizes=[rank + 1] * size)
same(received.numpy(), np.concatenate([np.full((r + 1, 2), float(r), np.float32)
                                       for r in range(size)]), "all_to_all_single (uneven)")
ok("all_to_all")

# --- point to point ----------------------------------------------------------------------
right, left = (rank + 1) % size, (rank - 1) % size
box = gt.empty(3, 4)
if rank % 2 == 0:
    dist.send(gt.from_numpy(everyone[rank]), dst=right)
    source = dist.recv(box, src=left)
else:
    source = dist.recv(box, src=left)
    dist.send(gt.from_numpy(everyone[rank]), dst=right)
assert source == left
same(box.numpy(), everyone[left], "send/recv ring")
box = gt.empty(3, 4)
receive = dist.irecv(box)                      # from any rank
request = dist.isend(gt.from_numpy(everyone[rank]), dst=right)
receive.wait()
request.wait()
assert receive.source_rank() == left
same(box.numpy(), everyone[left], "isend/irecv any source")
raises(ValueError, lambda: dist.send(gt.ones(1), dst=rank), "destination rank", "send to self")
ok("point_to_point")

# --- objects, barrier, groups ---------------------------------------------------------------
objects = [None] * size
dist.all_gather_object(objects, {"rank": rank, "name": f"r{rank}"})
assert objects == [{"rank": r, "name": f"r{r}"} for r in range(size)]
items = [rank, "mine"] if rank == 1 else [None, None]
dist.broadcast_object_list(items, src=1)
assert items == [1, "mine"]
gathered = [None] * size if rank == 0 else None
dist.gather_object(rank * 2, gathered, dst=0)
assert rank != 0 or gathered == [r * 2 for r in range(size)]
dist.barrier()
assert dist.barrier(async_op=True).wait()

last = dist.new_group([size - 1])
if rank == size - 1:
    assert dist.get_rank(last) == 0 and dist.get_world_size(last) == 1
    t = gt.ones(2)
    dist.all_reduce(t, group=last)
    same(t.numpy(), np.ones(2, np.float32), "a one-rank group")
    assert dist.get_process_group_ranks(last) == [size - 1]
    assert dist.get_global_rank(last, 0) == size - 1
else:
    assert last is dist.GroupMember.NON_GROUP_MEMBER and dist.get_rank(last) == -1
    assert dist.all_reduce(gt.ones(2), group=last) is None
pair = dist.new_group([0, 1])
t = gt.full((2,), float(rank))
if rank < 2:
    dist.all_reduce(t, group=pair)
    same(t.numpy(), np.full(2, 1.0, np.float32), "a two-rank group")
ok("objects_groups")

# --- differentiable functional collectives ----------------------------------------------
x = gt.tensor(everyone[rank], requires_grad=True)
y = dist.nn.functional.all_reduce(x)
close(y.detach().numpy(), np.sum(everyone, axis=0), "functional all_reduce value")
weights = gt.full((3, 4), float(rank + 1))
(y * weights).sum().backward()
close(x.grad.numpy(), np.full((3, 4), sum(r + 1.0 for r in range(size))),
      "functional all_reduce gradient (the all-reduced upstream gradient)")
x = gt.tensor(everyone[rank], requires_grad=True)
y = dist.nn.functional.broadcast(x, src=1)
same(y.detach().numpy(), everyone[1], "functional broadcast value")
(y * weights).sum().backward()
close(x.grad.numpy(), np.full((3, 4), sum(r + 1.0 for r in range(size)) if rank == 1 else 0.0),
      "functional broadcast gradient (the sum on the source, zero elsewhere)")
ok("functional")

# --- compiled code: all_reduce and broadcast are graph ops --------------------------------


@gt.compile(fullgraph=True)
def summed(a):
    b = a * 2
    dist.all_reduce(b)                 # in place, recorded as one graph node
    c = dist.nn.functional.all_reduce(a, op=dist.ReduceOp.MAX)
    dist.broadcast(c, src=size - 1)
    return b + c


for k in range(2):
    a = gt.from_numpy(everyone[rank] + k)
    got = summed(a)
    close(got.numpy(), 2 * np.sum(everyone, axis=0) + 2 * size * k + np.max(everyone, axis=0) + k,
          f"compiled collectives, call {k}")
names = [n.op.name for n in summed.graph.op_nodes]
assert names.count("all_reduce") == 2 and names.count("broadcast") == 1, names
assert summed.compile_count == 1


@gt.compile
def gathered_sum(a):
    out = [gt.empty(3, 4) for _ in range(size)]
    dist.all_gather(out, a)            # not a graph op: a graph break, runs eagerly
    return sum(out)


close(gathered_sum(gt.from_numpy(everyone[rank])).numpy(), np.sum(everyone, axis=0),
      "all_gather in compiled code (graph break)")
assert gathered_sum.stats.graph_breaks and "all_gather" in gathered_sum.stats.graph_breaks[0]
ok("compiled")

finish()
