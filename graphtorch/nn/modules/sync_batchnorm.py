"""SyncBatchNorm: batch normalisation whose training statistics span every rank of a process
group, as `torch.nn.SyncBatchNorm`.

Training with `gt.distributed` initialised on more than one rank, each rank all-reduces its
per-channel sums and element count, then its centred sums of squares: every rank normalises
with the global mean and biased variance and updates the same running statistics (with the
unbiased variance of the global batch). The all-reduces are differentiable (their gradient is
all-reduced too), so input gradients are those of one BatchNorm over the concatenated batch;
weight and bias gradients stay per rank, as in PyTorch (DDP averages them). Otherwise (eval
mode, no process group, a world of one) it is BatchNorm. Unlike PyTorch, which syncs CUDA
tensors only, CPU tensors sync over MPI.
"""

from __future__ import annotations

from ... import distributed as dist
from ...autograd.grad_mode import no_grad
from ...distributed.nn.functional import all_reduce
from ...functions.creation import full
from ...functions.movement import cat
from .batchnorm import _BatchNorm


class SyncBatchNorm(_BatchNorm):
    """Batch normalisation synchronised across the ranks of `process_group` (the world
    when None) of (N, C, ...) inputs.

    Example:
        >>> model = gt.nn.Sequential(gt.nn.Conv2d(3, 8, 3), gt.nn.BatchNorm2d(8))
        >>> model = gt.nn.SyncBatchNorm.convert_sync_batchnorm(model)
        >>> model[1]
        SyncBatchNorm(8, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, process_group=None, device=None, dtype=None, *,
                 bias=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats,
                         device=device, dtype=dtype, bias=bias)
        self.process_group = process_group

    def _check_input_dim(self, input):
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {input.dim()}D input)")

    def forward(self, input):
        """BatchNorm's forward, with the batch statistics of every rank while training."""
        self._check_input_dim(input)
        if input.size(1) == 0:
            raise ValueError("SyncBatchNorm number of input channels should be non-zero")
        if not (self.training and dist.is_initialized()):
            return super().forward(input)
        group = self.process_group if self.process_group else dist.group.WORLD
        if dist.get_world_size(group) <= 1:
            return super().forward(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.track_running_stats:
            with no_grad():
                self.num_batches_tracked.add_(1)
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked)
        track = self.track_running_stats
        return sync_batch_norm(input, self.weight, self.bias,
                               self.running_mean if track else None,
                               self.running_var if track else None, self.eps, factor, group)

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """`module` with every BatchNorm*d layer replaced by a SyncBatchNorm sharing its
        parameters and buffers (a new module when `module` itself is one), as PyTorch's."""
        module_output = module
        if isinstance(module, _BatchNorm):
            module_output = cls(module.num_features, module.eps, module.momentum,
                                module.affine, module.track_running_stats, process_group,
                                bias=module.bias is not None)
            if module.affine:
                with no_grad():
                    module_output.weight = module.weight
                    module_output.bias = module.bias
            module_output.running_mean = module.running_mean
            module_output.running_var = module.running_var
            module_output.num_batches_tracked = module.num_batches_tracked
            module_output.training = module.training
            if hasattr(module, "qconfig"):
                module_output.qconfig = module.qconfig
        for name, child in module.named_children():
            module_output.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        del module
        return module_output


def sync_batch_norm(input, weight, bias, running_mean, running_var, eps, momentum, group):
    """Training-mode batch norm of `input` (N, C, ...) with statistics over every rank of
    `group`: two differentiable all-reduces, of [per-channel sums, count] and of the
    centred sums of squares (two passes, as stable as one process's variance)."""
    reduce_dims = [0, *range(2, input.dim())]
    stat_shape = [1, input.size(1)] + [1] * (input.dim() - 2)
    local_count = full((1,), input.numel() // input.size(1), dtype=input.dtype,
                       device=input.device)
    sums_and_count = all_reduce(cat([input.sum(reduce_dims), local_count]), group=group)
    count = sums_and_count[-1]
    mean = sums_and_count[:-1] / count
    centred = input - mean.reshape(stat_shape)
    var = all_reduce((centred * centred).sum(reduce_dims), group=group) / count
    output = centred * (var + eps).rsqrt().reshape(stat_shape)
    if weight is not None:
        output = output * weight.reshape(stat_shape)
    if bias is not None:
        output = output + bias.reshape(stat_shape)
    if running_mean is not None:
        with no_grad():
            running_mean.mul_(1 - momentum).add_(mean.detach() * momentum)
            unbiased = var.detach() * count / (count - 1)
            running_var.mul_(1 - momentum).add_(unbiased * momentum)
    return output

