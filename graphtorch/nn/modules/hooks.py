"""Module hooks as in PyTorch: forward (pre-)hooks, full backward (pre-)hooks and the
legacy non-full backward hooks, plus the call path that runs them.

Full backward hooks wrap the tensor inputs and outputs of one call in identity autograd
Functions: the output identity records grad_output (and runs backward pre-hooks), the
input identity, once every input gradient is known, calls hook(module, grad_input,
grad_output) and may replace grad_input. Positions of non-tensor arguments get None.
"""

from __future__ import annotations

import warnings
import weakref
from collections import OrderedDict

from ...autograd import grad_mode
from ...autograd.function import Function
from ...tensor import Tensor
from ...utils.hooks import RemovableHandle


def add(hooks: OrderedDict, hook, prepend: bool = False, extra_dict=None) -> RemovableHandle:
    handle = RemovableHandle(hooks, extra_dict=extra_dict)
    hooks[handle.id] = hook
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    return handle


def _identity(ctx, args):
    """New views of `args`; those that do not require grad are marked non-differentiable."""
    outs = tuple(a.view_as(a) for a in args)
    ctx.mark_non_differentiable(*[o for o, a in zip(outs, args) if not a.requires_grad])
    return outs


class BackwardHookFunction(Function):
    """Identity on tensors; the ones that do not require grad stay non-differentiable."""

    @staticmethod
    def forward(ctx, *args):
        return _identity(ctx, args)

    @staticmethod
    def backward(ctx, *grads):
        return grads


class _InputHookFunction(BackwardHookFunction):
    """The input identity: its backward calls the module's full backward hooks."""

    @staticmethod
    def forward(ctx, state, *args):
        ctx.state = state
        return _identity(ctx, args)

    @staticmethod
    def backward(ctx, *grads):
        return (None, *ctx.state.input_hook(grads))


class _OutputHookFunction(BackwardHookFunction):
    """The output identity: its backward records grad_output and runs pre-hooks."""

    @staticmethod
    def forward(ctx, state, *args):
        ctx.state = state
        ctx.set_materialize_grads(False)  # unused outputs give None, as in PyTorch
        return _identity(ctx, args)

    @staticmethod
    def backward(ctx, *grads):
        return (None, *ctx.state.output_hook(grads))


class BackwardHook:
    """One call's bookkeeping for full backward hooks and backward pre-hooks."""

    def __init__(self, module, user_hooks, user_pre_hooks):
        self.module = module
        self.user_hooks = user_hooks
        self.user_pre_hooks = user_pre_hooks
        self.grad_outputs = None
        self.n_outputs = -1
        self.output_tensors_index = None
        self.n_inputs = -1
        self.input_tensors_index = None

    @staticmethod
    def _pack_with_none(indices, values, size):
        res = [None] * size
        for idx, val in zip(indices, values):
            res[idx] = val
        return tuple(res)

    def input_hook(self, grad_input):
        if self.grad_outputs is None:  # gradient reached the inputs without the outputs
            return grad_input
        res = self._pack_with_none(self.input_tensors_index, grad_input, self.n_inputs)
        for hook in self.user_hooks:
            out = hook(self.module, res, self.grad_outputs)
            if out is None:
                continue
            if len(out) != len(res):
                raise RuntimeError("Backward hook returned an invalid number of grad_input, "
                                   f"got {len(out)}, but expected {len(res)}")
            res = out
        self.grad_outputs = None
        return tuple(res[i] for i in self.input_tensors_index)

    def output_hook(self, grad_output):
        self.grad_outputs = self._pack_with_none(self.output_tensors_index, grad_output,
                                                 self.n_outputs)
        if self.user_pre_hooks:
            expected = len(self.grad_outputs)
            for pre_hook in self.user_pre_hooks:
                new = pre_hook(self.module, self.grad_outputs)
                if new is None:
                    continue
                if len(new) != expected:
                    raise RuntimeError("Backward pre hook returned an invalid number of "
                                       f"grad_output, got {len(new)}, but expected {expected}")
                self.grad_outputs = new
        local = self.grad_outputs
        if self.input_tensors_index is None:
            warnings.warn("Full backward hook is firing when gradients are computed with "
                          "respect to module outputs since no inputs require gradients. See "
                          "https://docs.pytorch.org/docs/main/generated/torch.nn.Module.html"
                          "#torch.nn.Module.register_full_backward_hook for more details.",
                          stacklevel=5)
            grad_inputs = self._pack_with_none([], [], self.n_inputs)
            for hook in self.user_hooks:
                res = hook(self.module, grad_inputs, self.grad_outputs)
                if res is not None and not (isinstance(res, tuple)
                                            and all(r is None for r in res)):
                    raise RuntimeError("Backward hook for Modules where no input requires "
                                       "gradient should always return None or None for all "
                                       "gradients.")
            self.grad_outputs = None
        return tuple(local[i] for i in self.output_tensors_index)

    def _apply_on_tensors(self, function, args):
        index, tensors = [], []
        requires_grad = False
        for i, arg in enumerate(args):
            if isinstance(arg, Tensor):
                index.append(i)
                tensors.append(arg)
                requires_grad |= arg.requires_grad
        if not (requires_grad and grad_mode.is_grad_enabled()):
            return args, None
        new = function.apply(self, *tensors)
        if len(new) == 0:
            raise RuntimeError("Cannot set Module backward hook for a Module with no input "
                               "Tensors.")
        out = list(args)
        for i, t in zip(index, new):
            out[i] = t
        return (tuple(out) if type(args) is tuple else type(args)(*out)), index

    def setup_input_hook(self, args):
        res, index = self._apply_on_tensors(_InputHookFunction, args)
        self.n_inputs = len(args)
        self.input_tensors_index = index
        return res

    def setup_output_hook(self, result):
        is_tuple = isinstance(result, tuple)
        args = result if is_tuple else (result,)
        res, index = self._apply_on_tensors(_OutputHookFunction, args)
        self.n_outputs = len(args)
        self.output_tensors_index = index
        return res if is_tuple else res[0]


class _WrappedHook:
    """A non-full backward hook bound to its module: hook(module, grad_in, grad_out)."""

    def __init__(self, hook, module):
        self.hook = hook
        self.module = weakref.ref(module)

    def __call__(self, grad_inputs, grad_outputs):
        module = self.module()
        if module is None:
            raise RuntimeError("You are trying to call the hook of a dead Module!")
        return self.hook(module, grad_inputs, grad_outputs)


def _warn_non_full_hook(inputs, result, grad_fn) -> None:
    """PyTorch's FutureWarnings for the cases where a legacy backward hook sees only part
    of the module's gradients."""
    def warn(what):
        warnings.warn(f"Using a non-full backward hook when {what} is deprecated and will be "
                      "removed in future versions. This hook will be missing some grad_input. "
                      "Please use register_full_backward_hook to get the documented behavior.",
                      FutureWarning, stacklevel=4)

    results = (result,) if isinstance(result, Tensor) else result
    if not (isinstance(results, tuple) and all(isinstance(r, Tensor) for r in results)):
        return warn("outputs are nested in python data structure")
    if not all(isinstance(i, Tensor) for i in inputs):
        return warn("the forward takes non-Tensor inputs")
    out_fns = {r.grad_fn for r in results if r.grad_fn is not None}
    if not out_fns or (len(out_fns) == 1 and grad_fn not in out_fns):
        return warn("outputs are nested in python data structure")
    if len(out_fns) > 1:
        return warn("outputs are generated by different autograd Nodes")
    input_fns = {i.grad_fn for i in inputs if i.grad_fn is not None}
    if input_fns != {n for n, _ in grad_fn.next_functions}:
        warn("the forward contains multiple autograd Nodes")
    return None


def call_with_hooks(module, args, kwargs):
    """Module.__call__ with hooks: PyTorch's `_call_impl` order and semantics."""
    result = None
    called_always = set()
    try:
        pre_hooks = list(module._backward_pre_hooks.values())
        full, non_full = module._get_backward_hooks()
        for hook_id, hook in list(module._forward_pre_hooks.items()):
            if hook_id in module._forward_pre_hooks_with_kwargs:
                out = hook(module, args, kwargs)
                if out is not None:
                    if isinstance(out, tuple) and len(out) == 2:
                        args, kwargs = out
                    else:
                        raise RuntimeError("forward pre-hook must return None or a tuple of "
                                           f"(new_args, new_kwargs), but got {out}.")
            else:
                out = hook(module, args)
                if out is not None:
                    args = out if isinstance(out, tuple) else (out,)
        bw_hook = None
        if full or pre_hooks:
            bw_hook = BackwardHook(module, full, pre_hooks)
            args = bw_hook.setup_input_hook(args)
        result = module.forward(*args, **kwargs)
        for hook_id, hook in list(module._forward_hooks.items()):
            if hook_id in module._forward_hooks_always_called:
                called_always.add(hook_id)
            if hook_id in module._forward_hooks_with_kwargs:
                out = hook(module, args, kwargs, result)
            else:
                out = hook(module, args, result)
            if out is not None:
                result = out
        if bw_hook is not None:
            if not isinstance(result, (Tensor, tuple)):
                warnings.warn("For backward hooks to be called, module output should be a "
                              f"Tensor or a tuple of Tensors but received {type(result)}",
                              stacklevel=3)
            result = bw_hook.setup_output_hook(result)
        if non_full:
            var = result
            while not isinstance(var, Tensor):
                var = next(v for v in var.values() if isinstance(v, Tensor)) \
                    if isinstance(var, dict) else var[0]
            grad_fn = var.grad_fn
            if grad_fn is not None:
                _warn_non_full_hook(args, result, grad_fn)
                for hook in non_full:
                    grad_fn.register_hook(_WrappedHook(hook, module))
        return result
    except Exception:
        for hook_id, hook in list(module._forward_hooks.items()):
            if hook_id in module._forward_hooks_always_called and hook_id not in called_always:
                try:
                    if hook_id in module._forward_hooks_with_kwargs:
                        out = hook(module, args, kwargs, result)
                    else:
                        out = hook(module, args, result)
                    if out is not None:
                        result = out
                except Exception as exc:  # noqa: BLE001 - PyTorch silences these too
                    warnings.warn("module forward hook with ``always_call=True`` raised an "
                                  "exception that was silenced as another error was raised in "
                                  f"forward: {exc}", stacklevel=3)
        raise
