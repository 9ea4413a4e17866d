"""DistributedDataParallel's gradient reducer: buckets, hooks, overlap with backward.

Parameters are grouped into buckets (one dtype and device each, ~25 MiB, the first 1 MiB so
that communication starts early), in reverse registration order, since gradients become
ready roughly back to front (an explicit ``bucket_cap_mb`` applies to the first bucket too,
as in PyTorch). A post-accumulate-grad hook on every parameter copies its
``.grad`` scaled by 1/world_size into the bucket's flat buffer (PyTorch divides before the
sum, too); a bucket whose gradients are all in starts a non-blocking all-reduce at once,
buckets strictly in order (every rank must start the same collectives in the same order),
while backward goes on. A final callback of the autograd engine waits for them at the end of
backward and writes the averages back into ``.grad``.

Inside ``gt.compile`` the same hooks fire while the compiler traces ``loss.backward()``; the
gradients are symbolic and each ready bucket is recorded as graph ops instead (concatenate,
scale, one ``all_reduce`` node, slices back into ``.grad``), so the compiled step is one
graph per rank.
"""

from __future__ import annotations

import numpy as np

from ...autograd import grad_mode
from ...autograd.engine import queue_callback
from ...autograd.graph import AccumulateGrad
from ...distributed import collectives as dist
from ...distributed import nn as dist_nn
from ...functions.movement import cat
from ...ops.dispatch import bump_version
from ...tensor import Tensor
from ...trace_state import SymbolicArray, current_tracer

FIRST_BUCKET_BYTES = 1024 * 1024


class Bucket:
    """Parameters (indices) whose gradients are reduced together, with a flat buffer."""

    def __init__(self, index: int, members: list[int], params: list):
        self.index = index
        self.members = members
        first = params[members[0]]
        xp = np if type(first._data) is np.ndarray else _cupy()
        sizes = [params[i].numel() for i in members]
        self.offsets = [int(x) for x in np.cumsum([0] + sizes[:-1])]
        self.buffer = xp.zeros(sum(sizes), dtype=first._data.dtype)
        self.tensor = Tensor._wrap(self.buffer)
        self.views = [self.buffer[o:o + n].reshape(params[i]._data.shape)
                      for i, o, n in zip(members, self.offsets, sizes)]


def _cupy():
    import cupy

    return cupy


def assign_buckets(params: list, cap_bytes: int, first_cap_bytes: int) -> list[Bucket]:
    """Buckets of parameter indices in reverse order; a bucket closes when it reaches the cap
    (`first_cap_bytes` for the first one); dtypes and devices never share a bucket."""
    open_buckets: dict = {}   # (dtype, device) -> [indices, bytes]
    closed: list[list[int]] = []
    for i in reversed(range(len(params))):
        p = params[i]
        key = (p._data.dtype, str(p.device))
        members, size = open_buckets.get(key, ([], 0))
        members.append(i)
        size += p._data.nbytes
        limit = first_cap_bytes if not closed else cap_bytes
        if size >= limit:
            closed.append(members)
            open_buckets.pop(key, None)
        else:
            open_buckets[key] = (members, size)
    closed.extend(members for members, _ in open_buckets.values())
    return [Bucket(k, members, params) for k, members in enumerate(closed)]


class Reducer:
    """Averages the gradients of `params` over `group` (see the module docstring)."""

    def __init__(self, params: list, names: list[str], group, cap_bytes: int,
                 first_cap_bytes: int, allow_unused: bool, find_unused: bool,
                 gradient_as_bucket_view: bool):
        self.params = params
        self.names = names
        self.group = group
        self.allow_unused = allow_unused
        self.find_unused = find_unused
        self.gradient_as_bucket_view = gradient_as_bucket_view
        self.index = {id(p): i for i, p in enumerate(params)}
        self.buckets = assign_buckets(params, cap_bytes, first_cap_bytes)
        self.slot = {}
        for bucket in self.buckets:
            for position, i in enumerate(bucket.members):
                self.slot[i] = (bucket, position)
        self.iteration = None           # the backward pass being reduced
        self.sync_next_backward = True  # decided at forward time, as PyTorch does
        self.unused = ()                # params the last forward did not reach
        self.handles = [p.register_post_accumulate_grad_hook(self._on_grad_ready)
                        for p in params]

    # --- called by DistributedDataParallel.forward ----------------------------------------

    def prepare_for_forward(self, sync: bool) -> None:
        it = self.iteration
        if it is not None and not it.stale():
            self.iteration = None
            raise RuntimeError(
                "Expected to have finished reduction in the prior iteration before starting a "
                "new one: the last backward pass stopped before DistributedDataParallel could "
                "average every gradient (an exception during backward?).")
        self.iteration = None
        self.sync_next_backward = sync
        self.unused = ()

    def prepare_for_backward(self, outputs) -> None:
        """With find_unused_parameters: parameters the outputs do not depend on are marked
        ready as soon as backward starts, so that their buckets need not wait for them."""
        reached = _reachable_leaves(outputs)
        self.unused = tuple(i for i, p in enumerate(self.params) if id(p) not in reached)

    # --- hooks -----------------------------------------------------------------------------

    def _on_grad_ready(self, param) -> None:
        if not self.sync_next_backward:
            return
        it = self.iteration
        if it is None or it.stale():
            traced = type(param._grad._data) is SymbolicArray
            it = self.iteration = (_TracedIteration if traced else _EagerIteration)(self)
        it.mark_ready(self.index[id(param)], used=True)


class _Iteration:
    """One backward pass: which gradients are in, which buckets have started."""

    def __init__(self, reducer: Reducer):
        self.reducer = reducer
        self.ready = [False] * len(reducer.params)
        self.used = [False] * len(reducer.params)
        self.pending = [len(b.members) for b in reducer.buckets]
        self.next_bucket = 0
        self.world_size = reducer.group.size()
        queue_callback(self.finalize)
        for i in reducer.unused:
            self.mark_ready(i, used=False)

    def stale(self) -> bool:
        return False

    def mark_ready(self, i: int, used: bool) -> None:
        if self.ready[i]:
            raise RuntimeError(
                f"Expected to mark a variable ready only once: parameter "
                f"{self.reducer.names[i]!r} received a gradient after it was marked unused "
                "(find_unused_parameters=True looks for parameters the forward outputs do not "
                "reach; a loss term computed outside forward from the parameters is not seen)")
        self.ready[i] = True
        self.used[i] = used
        bucket, position = self.reducer.slot[i]
        self.fill(bucket, position, i)
        self.pending[bucket.index] -= 1
        buckets = self.reducer.buckets
        while self.next_bucket < len(buckets) and self.pending[self.next_bucket] == 0:
            self.launch(buckets[self.next_bucket])
            self.next_bucket += 1

    def finalize(self) -> None:
        reducer = self.reducer
        if reducer.iteration is self:
            reducer.iteration = None
        reducer.unused = ()
        missing = [i for i, ready in enumerate(self.ready) if not ready]
        if missing and not reducer.allow_unused:
            names = ", ".join(reducer.names[i] for i in missing)
            raise RuntimeError(
                "DistributedDataParallel: parameters that did not receive a gradient in this "
                f"backward pass: {names}. Their bucket's all-reduce cannot complete. If your "
                "module has parameters that were not used in producing loss, enable unused "
                "parameter detection by passing the keyword argument "
                "`find_unused_parameters=True` to DistributedDataParallel, and make sure all "
                "`forward` function outputs participate in calculating loss. Parameter indices "
                f"which did not receive grad for rank {reducer.group.rank()}: "
                f"{' '.join(map(str, missing))}")
        for i in missing:
            self.mark_ready(i, used=False)
        self.complete()

    def fill(self, bucket: Bucket, position: int, i: int) -> None:
        raise NotImplementedError

    def launch(self, bucket: Bucket) -> None:
        raise NotImplementedError

    def complete(self) -> None:
        raise NotImplementedError


class _EagerIteration(_Iteration):
    """Concrete gradients: bucket buffers and non-blocking all-reduces."""

    def __init__(self, reducer: Reducer):
        self.works = []
        self.completed = 0
        super().__init__(reducer)

    def fill(self, bucket, position, i):
        # MPI moves data only inside MPI calls: polling the oldest all-reduce in flight
        # whenever a gradient arrives lets it progress while backward goes on
        while self.completed < len(self.works) and self.works[self.completed].is_completed():
            self.completed += 1
        view = bucket.views[position]
        grad = self.reducer.params[i]._grad
        if grad is None:
            view[...] = 0
        elif grad._data is view:  # gradient_as_bucket_view: .grad already lives here
            if self.world_size != 1:
                view *= 1.0 / self.world_size
        else:
            bucket_xp(bucket).multiply(grad._data, 1.0 / self.world_size, out=view)

    def launch(self, bucket):
        self.works.append(dist.all_reduce(bucket.tensor, group=self.reducer.group,
                                          async_op=True))

    def complete(self):
        reducer = self.reducer
        for work in self.works:
            work.wait()
        used = self.used
        if reducer.allow_unused:  # a parameter some rank used gets the average everywhere
            mask = Tensor._wrap(np.asarray(used, dtype=np.uint8))
            dist.all_reduce(mask, op="max", group=reducer.group)
            used = mask._data.astype(bool).tolist()
        for i, p in enumerate(reducer.params):
            if not used[i]:
                continue  # unused on every rank: .grad is left as it is, as in PyTorch
            bucket, position = reducer.slot[i]
            view = bucket.views[position]
            grad = p._grad
            if reducer.gradient_as_bucket_view:
                if grad is None or grad._data is not view:
                    p._grad = Tensor._wrap(view)
            elif grad is None:
                p._grad = Tensor._wrap(view.copy())
            else:
                grad._data[...] = view
                bump_version(grad)


def bucket_xp(bucket: Bucket):
    return np if type(bucket.buffer) is np.ndarray else _cupy()


class _TracedIteration(_Iteration):
    """Symbolic gradients inside gt.compile: each bucket becomes graph ops. Which parameters
    get a gradient is then a property of the traced program, the same on every rank, so
    unused ones are simply left out of their bucket."""

    def __init__(self, reducer: Reducer):
        self.tracer = current_tracer()
        super().__init__(reducer)

    def stale(self) -> bool:
        return current_tracer() is not self.tracer

    def fill(self, bucket, position, i):
        pass  # the gradient is read when the bucket is recorded

    def launch(self, bucket):
        params = self.reducer.params
        members = [i for i in bucket.members if self.used[i] and params[i]._grad is not None]
        if not members:
            return
        with grad_mode.no_grad():
            flat = [params[i]._grad.reshape(-1) for i in members]
            flat = (cat(flat) if len(flat) > 1 else flat[0]) * (1.0 / self.world_size)
            total = dist_nn.functional.all_reduce(flat, group=self.reducer.group)
            offset = 0
            for i in members:
                n = params[i].numel()
                params[i]._grad = total[offset:offset + n].view(params[i].shape)
                offset += n

    def complete(self):
        pass


def _reachable_leaves(outputs) -> set:
    """ids of the leaf tensors the autograd graph of `outputs` reaches."""
    stack, seen, leaves = [], set(), set()
    for t in _tensors(outputs):
        if t.grad_fn is not None:
            stack.append(t.grad_fn)
        elif t.requires_grad:
            leaves.add(id(t))
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if isinstance(node, AccumulateGrad):
            leaves.add(id(node.variable))
        stack.extend(n for n, _ in node.next_functions if n is not None)
    return leaves


def _tensors(obj):
    if isinstance(obj, Tensor):
        yield obj
    elif isinstance(obj, (list, tuple)):
        for item in obj:
            yield from _tensors(item)
    elif isinstance(obj, dict):
        for item in obj.values():
            yield from _tensors(item)
