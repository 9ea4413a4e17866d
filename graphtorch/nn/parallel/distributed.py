"""`nn.parallel.DistributedDataParallel`: one model replica per rank, gradients averaged.

At construction the parameters and buffers of rank 0 are broadcast to every rank (after
checking that every rank built the same parameter shapes). Before each forward with grad
enabled, buffers (BatchNorm's running statistics) are broadcast from rank 0 again. During
backward, `Reducer` averages the gradients in buckets that overlap with the rest of
backward. ``no_sync()`` skips the averaging (gradient accumulation); the next synchronised
backward averages the accumulated gradients. The wrapped model is ``.module``, so state_dict
keys carry PyTorch's ``module.`` prefix.
"""

from __future__ import annotations

import contextlib
import warnings

import numpy as np

from ...autograd import grad_mode
from ...distributed import collectives as dist
from ...distributed.process_group import resolve
from ...ops.dispatch import bump_version
from ...tensor import Tensor
from ...trace_state import SymbolicArray, TracingError, current_tracer, user_frame, where
from ..modules.module import Module
from .reducer import FIRST_BUCKET_BYTES, Reducer

BROADCAST_BUCKET_BYTES = 250 * 1024 * 1024

_UNSUPPORTED = ("delay_all_reduce_named_params", "param_to_hook_all_reduce", "mixed_precision",
                "device_mesh", "bucket_cap_mb_list")


class DistributedDataParallel(Module):
    """Data-parallel training: wrap the model on every rank, train as usual.

    >>> dist.init_process_group(backend="mpi")          # mpiexec -n 2 python train.py
    >>> model = gt.nn.parallel.DistributedDataParallel(Net())
    >>> loss_fn(model(x), y).backward()                 # .grad: the average over ranks
    >>> with model.no_sync():                           # accumulate without communicating
    ...     loss_fn(model(x2), y2).backward()

    Supported: ``process_group``, ``bucket_cap_mb``, ``find_unused_parameters``,
    ``static_graph`` (unused parameters allowed), ``gradient_as_bucket_view``, ``init_sync``,
    ``broadcast_buffers``/``forward_sync_buffers``, ``device_ids`` (None or this rank's one
    GPU; inputs are not moved to it). Not supported (NotImplementedError): mixed precision,
    device meshes, delayed or custom-hooked all-reduces; ``register_comm_hook`` and ``join``
    do not exist. Inside ``gt.compile`` the whole step, all-reduces included, is one graph;
    a step traced under ``no_sync()`` runs eagerly (see `forward`).
    """

    def __init__(self, module, device_ids=None, output_device=None, dim=0,
                 broadcast_buffers=None, init_sync=True, process_group=None,
                 bucket_cap_mb=None, find_unused_parameters=False, check_reduction=False,
                 gradient_as_bucket_view=False, static_graph=False,
                 delay_all_reduce_named_params=None, param_to_hook_all_reduce=None,
                 mixed_precision=None, device_mesh=None, skip_all_reduce_unused_params=False,
                 bucket_cap_mb_list=None, batched_grad_copy=False, forward_sync_buffers=None):
        super().__init__()
        given = locals()
        for name in _UNSUPPORTED:
            if given[name] is not None:
                raise NotImplementedError(f"DistributedDataParallel({name}=...) is not "
                                          "supported by graphtorch")
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        if not named:
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't "
                               "have any parameter that requires a gradient.")
        devices = {str(p.device) for _, p in named}
        if device_ids is not None and (len(device_ids) != 1 or devices == {"cpu"}):
            raise ValueError(f"DistributedDataParallel device_ids and output_device arguments "
                             f"only work with single-device GPU modules, but got device_ids "
                             f"{device_ids}, output_device {output_device}, and module "
                             f"parameters {devices}.")
        if broadcast_buffers is not None:
            warnings.warn("`broadcast_buffers` is deprecated. Use `forward_sync_buffers` "
                          "instead.", FutureWarning, stacklevel=2)
        sync_buffers = forward_sync_buffers if forward_sync_buffers is not None else \
            broadcast_buffers if broadcast_buffers is not None else True
        self.module = module
        self.process_group = resolve(process_group)
        self.device_ids = device_ids
        self.output_device = output_device
        self.dim = dim
        self.find_unused_parameters = find_unused_parameters
        self.static_graph = static_graph
        self.gradient_as_bucket_view = gradient_as_bucket_view
        self.forward_sync_buffers = sync_buffers
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        self.bucket_bytes_cap = int((25 if bucket_cap_mb is None else bucket_cap_mb) * 2 ** 20)
        self._module_params = [p for _, p in named]
        if init_sync:
            self._verify_param_shapes()
            init_buffers = broadcast_buffers is not False or forward_sync_buffers is not None
            states = list(module.parameters())
            if init_buffers:
                states += list(module.buffers())
            self._broadcast_coalesced(states)
        first = FIRST_BUCKET_BYTES if bucket_cap_mb is None else self.bucket_bytes_cap
        self.reducer = Reducer(self._module_params, [n for n, _ in named], self.process_group,
                               self.bucket_bytes_cap, first,
                               allow_unused=find_unused_parameters or static_graph,
                               find_unused=find_unused_parameters and not static_graph,
                               gradient_as_bucket_view=gradient_as_bucket_view)

    @property
    def broadcast_buffers(self) -> bool:
        return self.forward_sync_buffers

    # --- forward ---------------------------------------------------------------------------

    def forward(self, *inputs, **kwargs):
        grad_enabled = grad_mode.is_grad_enabled()
        if grad_enabled and not self.require_backward_grad_sync and current_tracer():
            # A graph without the all-reduce would be reused for synchronised steps: the
            # compiler's guards do not cover no_sync() yet. Run this step eagerly instead.
            raise TracingError(f"{where(user_frame())}: DistributedDataParallel.no_sync() "
                               "inside gt.compile: compile the accumulation steps and the "
                               "synchronising step as two functions (this call runs eagerly)")
        sync = grad_enabled and self.require_backward_grad_sync
        if grad_enabled:
            self.reducer.prepare_for_forward(sync)
        if self.will_sync_module_buffers():
            self._sync_buffers()
        output = self.module(*inputs, **kwargs)
        self.require_forward_param_sync = sync
        if sync and self.find_unused_parameters and not self.static_graph:
            self.reducer.prepare_for_backward(output)
        return output

    def will_sync_module_buffers(self) -> bool:
        return self.require_forward_param_sync and self.forward_sync_buffers and \
            any(True for _ in self.module.buffers())

    @contextlib.contextmanager
    def no_sync(self):
        """Inside this block, forward+backward passes accumulate gradients locally; the first
        synchronised backward after it averages the accumulated gradients.

        >>> with ddp.no_sync():
        ...     ddp(x1).sum().backward()     # no communication
        >>> ddp(x2).sum().backward()         # .grad: average over ranks of both micro-steps
        """
        before = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = before

    # --- state synchronisation -------------------------------------------------------------

    def _verify_param_shapes(self) -> None:
        mine = [(tuple(p.shape), str(p.dtype)) for p in self.module.parameters()]
        everyone = self.process_group.mpi.comm.allgather(mine)
        for rank, theirs in enumerate(everyone):
            if len(theirs) != len(everyone[0]):
                raise RuntimeError(f"DDP expects same model across all ranks, but Rank {rank} "
                                   f"has {len(theirs)} params, while rank 0 has inconsistent "
                                   f"{len(everyone[0])} params.")
            for k, (a, b) in enumerate(zip(theirs, everyone[0])):
                if a != b:
                    raise RuntimeError(f"DDP expects same model across all ranks: parameter "
                                       f"{k} is {a[0]} {a[1]} on rank {rank} but {b[0]} "
                                       f"{b[1]} on rank 0.")

    def _sync_buffers(self) -> None:
        buffers = list(self.module.buffers())
        if any(type(b._data) is SymbolicArray for b in buffers) or current_tracer():
            for b in buffers:  # traced: one broadcast node per buffer
                dist.broadcast(b, group=self.process_group, group_src=0)
            return
        self._broadcast_coalesced(buffers)

    def _broadcast_coalesced(self, tensors) -> None:
        """Rank 0's values into `tensors` on every rank, one flat broadcast per dtype and
        device (up to 250 MiB each)."""
        groups: dict = {}
        for t in tensors:
            groups.setdefault((t._data.dtype, str(t.device)), []).append(t)
        for group in groups.values():
            start = 0
            while start < len(group):
                end, size = start, 0
                while end < len(group) and (end == start or size < BROADCAST_BUCKET_BYTES):
                    size += group[end]._data.nbytes
                    end += 1
                self._broadcast_flat(group[start:end])
                start = end

    def _broadcast_flat(self, tensors) -> None:
        xp = np if type(tensors[0]._data) is np.ndarray else _cupy()
        flat = xp.concatenate([xp.ravel(t._data) for t in tensors])
        dist.broadcast(Tensor._wrap(flat), group=self.process_group, group_src=0)
        if self.process_group.rank() == 0:
            return
        offset = 0
        with grad_mode.no_grad():
            for t in tensors:
                n = t._data.size
                t._data[...] = flat[offset:offset + n].reshape(t._data.shape)
                bump_version(t)
                offset += n


def _cupy():
    import cupy

    return cupy
