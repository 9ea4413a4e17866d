"""Full backward hooks: identity autograd Functions around a module's inputs and outputs.

The output identity records grad_output; the input identity, which runs once all input
gradients are known, calls hook(module, grad_input, grad_output) and may replace them.
"""

from __future__ import annotations

from ...autograd.function import Function
from ...tensor import Tensor


class _OutputIdentity(Function):
    @staticmethod
    def forward(ctx, state, *tensors):
        ctx.state = state
        return tuple(t.view_as(t) for t in tensors)

    @staticmethod
    def backward(ctx, *grads):
        state = ctx.state
        state.grad_outputs = grads
        if not state.has_inputs:
            state.run_hooks((None,))
        return (None, *grads)


class _InputIdentity(Function):
    @staticmethod
    def forward(ctx, state, *tensors):
        ctx.state = state
        return tuple(t.view_as(t) for t in tensors)

    @staticmethod
    def backward(ctx, *grads):
        return (None, *ctx.state.run_hooks(grads))


class BackwardHookState:
    """Per-call bookkeeping for a module's full backward hooks."""

    def __init__(self, module, hooks):
        self.module = module
        self.hooks = hooks
        self.grad_outputs = None
        self.has_inputs = False

    def run_hooks(self, grad_inputs):
        grad_inputs = tuple(grad_inputs)
        for hook in self.hooks:
            result = hook(self.module, grad_inputs, self.grad_outputs)
            if result is not None:
                result = tuple(result) if isinstance(result, (tuple, list)) else (result,)
                if len(result) != len(grad_inputs):
                    raise RuntimeError(f"Backward hook returned an invalid number of grad_input, "
                                       f"got {len(result)}, but expected {len(grad_inputs)}")
                grad_inputs = result
        return grad_inputs

    def wrap_inputs(self, args):
        positions = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
        if not positions:
            return args
        self.has_inputs = True
        wrapped = _InputIdentity.apply(self, *[args[i] for i in positions])
        args = list(args)
        for i, w in zip(positions, wrapped):
            args[i] = w
        return tuple(args)

    def wrap_outputs(self, output):
        single = isinstance(output, Tensor)
        outputs = (output,) if single else output
        if not isinstance(outputs, tuple):
            return output
        positions = [i for i, o in enumerate(outputs) if isinstance(o, Tensor)
                     and o.requires_grad]
        if not positions:
            return output
        wrapped = _OutputIdentity.apply(self, *[outputs[i] for i in positions])
        outputs = list(outputs)
        for i, w in zip(positions, wrapped):
            outputs[i] = w
        return outputs[0] if single else tuple(outputs)
