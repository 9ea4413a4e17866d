"""`gt.utils.checkpoint`: activation checkpointing (PyTorch's `torch.utils.checkpoint`).

`checkpoint(fn, *args)` keeps only `fn`'s inputs for backward: the forward's intermediate
tensors are dropped, and backward runs `fn` again (with grad) from the saved inputs, with the
RNG state of the first run restored (`preserve_rng_state=True`), so dropout masks match and
gradients equal those of the plain run.

- `use_reentrant=True` (PyTorch 2.13's default, with its UserWarning when the argument is
  left out): the forward runs under no_grad; backward recomputes and calls
  `gt.autograd.backward` on the recomputed outputs, so tensors that `fn` only captures
  (module parameters) get their `.grad` accumulated directly, as in PyTorch. As there, an
  output needs an input that requires grad.
- `use_reentrant=False`: the forward runs once with grad to find the leaves the outputs
  depend on (parameters captured by `fn`); they become inputs of the checkpoint node, so
  `gt.autograd.grad(loss, params)` works too; the recorded graph is then dropped. Should
  `fn` capture a non-leaf tensor that requires grad (not passed as an argument), that call
  keeps its graph instead (no memory saved, same gradients).
- Inside `gt.compile` (a trace) checkpoint calls `fn` directly: the compiled program
  computes the same values and gradients (checkpointing is an identity for results);
  a reentrant call without an input that requires grad runs `fn` under no_grad, as eager.
- Only the CPU generator's state is preserved (graphtorch's default generator).
"""

from __future__ import annotations

import warnings

from ..autograd import backward as _autograd_backward
from ..autograd import grad as _autograd_grad
from ..autograd.function import Function
from ..autograd.graph import AccumulateGrad
from ..autograd.graph import _sequence as _autograd_sequence
from ..autograd.grad_mode import enable_grad, is_grad_enabled, no_grad
from ..random import get_rng_state, set_rng_state
from ..tensor import Tensor
from ..trace_state import TracingError, current_tracer

__all__ = ["checkpoint", "checkpoint_sequential", "noop_context_fn"]

_REENTRANT_WARNING = (
    "torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly. "
    "Starting in PyTorch 2.9, calling checkpoint without use_reentrant will raise an "
    "exception. use_reentrant=False is recommended, but if you need to preserve the current "
    "default behavior, you can pass use_reentrant=True. Refer to docs for more details on "
    "the differences between the two variants.")


def noop_context_fn():
    """The default `context_fn`: two no-op context managers."""
    import contextlib  # noqa: PLC0415  (stdlib)

    return contextlib.nullcontext(), contextlib.nullcontext()


def _flatten_outputs(out):
    """(tensors, rebuild): the tensors of `out` (a tensor or a tuple/list), and a function
    that puts new tensors back into that structure."""
    if isinstance(out, Tensor):
        return [out], lambda ts: ts[0]
    if isinstance(out, (tuple, list)):
        idx = [i for i, o in enumerate(out) if isinstance(o, Tensor)]
        kind = type(out)

        def rebuild(ts):
            items = list(out)
            for i, t in zip(idx, ts):
                items[i] = t
            return kind(items) if kind in (tuple, list) else kind(*items)

        return [out[i] for i in idx], rebuild
    return [], lambda ts: out


class _RngSnapshot:
    """The generator state at the first forward, restored around the recomputation."""

    def __init__(self, preserve: bool):
        self.state = get_rng_state() if preserve else None

    def run(self, fn):
        if self.state is None:
            return fn()
        now = get_rng_state()
        set_rng_state(self.state)
        try:
            return fn()
        finally:
            set_rng_state(now)


class _Checkpoint(Function):
    """The checkpoint node: inputs are fn's tensor args (then the captured leaves, for
    use_reentrant=False); backward recomputes fn and differentiates the recomputation."""

    @staticmethod
    def forward(ctx, run, *tensors):
        ctx.run = run
        ctx.save_for_backward(*tensors)
        return tuple(run.outputs)

    @staticmethod
    def backward(ctx, *grad_outputs):
        run = ctx.run
        saved = ctx.saved_tensors
        n_args = run.n_args
        with enable_grad():
            inputs = [t.detach().requires_grad_(t.requires_grad) for t in saved[:n_args]]
            outs = run.rng.run(lambda: run.call(inputs))
        tensors, _ = _flatten_outputs(outs)
        pairs = [(o, g) for o, g in zip(tensors, grad_outputs)
                 if isinstance(o, Tensor) and o.requires_grad and g is not None]
        if not pairs:
            raise RuntimeError("none of output has requires_grad=True, this checkpoint() is "
                               "not necessary")
        if run.reentrant:
            _autograd_backward([p[0] for p in pairs], [p[1] for p in pairs])
            grads = [t.grad if t.requires_grad else None for t in inputs]
            return (None, *grads)
        targets = [t for t in inputs] + list(saved[n_args:])
        diff = [i for i, t in enumerate(targets) if t.requires_grad]
        grads = [None] * len(targets)
        if diff:
            got = _autograd_grad([p[0] for p in pairs], [targets[i] for i in diff],
                                 [p[1] for p in pairs], allow_unused=True)
            for i, g in zip(diff, got):
                grads[i] = g
        return (None, *grads)


class _Run:
    """What backward needs to call fn again: fn, the non-tensor args, kwargs, the RNG."""

    def __init__(self, fn, args, kwargs, rng, reentrant):
        self.fn = fn
        self.args = list(args)
        self.positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        self.n_args = len(self.positions)
        self.kwargs = kwargs
        self.rng = rng
        self.reentrant = reentrant
        self.outputs = ()

    def call(self, tensors):
        args = list(self.args)
        for i, t in zip(self.positions, tensors):
            args[i] = t
        return self.fn(*args, **self.kwargs)

    def release(self):
        self.args = [None if isinstance(a, Tensor) else a for a in self.args]
        self.outputs = ()


def _captured_leaves(tensors, start: int, inputs):
    """The leaves (requiring grad) the graph of `tensors` reaches, and whether it reaches a
    node made before `start` that is not an input's leaf (a captured non-leaf tensor)."""
    inputs = {id(t) for t in inputs}
    leaves, seen = [], set()
    external = False
    stack = [t.grad_fn for t in tensors if t.grad_fn is not None]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, AccumulateGrad):
            if id(node.variable) not in inputs:
                inputs.add(id(node.variable))  # once, however many nodes lead to it
                leaves.append(node.variable)
            continue
        if node._sequence_nr < start:
            external = True
            continue
        for nxt, _ in node.next_functions:
            if nxt is not None:
                stack.append(nxt)
    return leaves, external


def checkpoint(function, *args, use_reentrant=None, context_fn=noop_context_fn,
               determinism_check: str = "default", debug: bool = False,
               early_stop: bool = True, **kwargs):
    """Run `function(*args, **kwargs)` keeping only its inputs for backward, which
    recomputes the forward (see the module docstring). `preserve_rng_state=True` (a
    keyword) restores the generator state for the recomputation.

    >>> lin = gt.nn.Linear(3, 3)
    >>> y = checkpoint(lin, gt.randn(2, 3, requires_grad=True), use_reentrant=False)
    """
    if use_reentrant is None:
        warnings.warn(_REENTRANT_WARNING, stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs and use_reentrant:
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))
    if use_reentrant and (context_fn is not noop_context_fn or debug is not False):
        raise ValueError("Passing `context_fn` or `debug` is only supported when "
                         "use_reentrant=False.")
    if determinism_check not in ("default", "none"):
        raise ValueError(f"determinism_check should be one of ['default', 'none'], but got "
                         f"{determinism_check}")
    if current_tracer() is not None and not preserve and is_grad_enabled():
        raise TracingError("checkpoint(preserve_rng_state=False): eager's backward recomputes "
                           "the function with fresh random numbers (advancing the generator), "
                           "which a compiled backward does not; this call runs eagerly")
    if current_tracer() is not None and use_reentrant and is_grad_enabled() and not any(
            isinstance(a, Tensor) and a.requires_grad for a in args):
        # compiled code: eager's reentrant forward runs under no_grad, and without an input
        # that requires grad its outputs have no history (parameters get no gradient)
        warnings.warn("None of the inputs have requires_grad=True. Gradients will be None",
                      stacklevel=2)
        with no_grad():
            return function(*args, **kwargs)
    if current_tracer() is not None or not is_grad_enabled():
        # compiled code (the trace differentiates the whole program) or no graph to save
        return function(*args, **kwargs)
    if context_fn is not noop_context_fn:
        forward_ctx, _ = context_fn()
        with forward_ctx:
            return _checkpoint(function, args, kwargs, preserve, use_reentrant)
    return _checkpoint(function, args, kwargs, preserve, use_reentrant)


def _checkpoint(function, args, kwargs, preserve, reentrant):
    tensors = [a for a in args if isinstance(a, Tensor)]
    rng = _RngSnapshot(preserve)
    run = _Run(function, args, kwargs, rng, reentrant)
    if reentrant:
        if not any(t.requires_grad for t in tensors):
            warnings.warn("None of the inputs have requires_grad=True. Gradients will be None",
                          stacklevel=3)
        with no_grad():
            out = run.call(tensors)
        flat, rebuild = _flatten_outputs(out)
        run.outputs = flat
        result = _Checkpoint.apply(run, *tensors)
        run.outputs = ()
        result = result if isinstance(result, tuple) else (result,)
        return rebuild(list(result))
    start = next(_autograd_sequence)
    with enable_grad():
        stand_ins = [t.detach().requires_grad_(t.requires_grad) for t in tensors]
        out = run.call(stand_ins)
    flat, rebuild = _flatten_outputs(out)
    leaves, external = _captured_leaves([t for t in flat if t.requires_grad], start, stand_ins)
    if external:
        # fn reads a non-leaf tensor it was not given: keep this call's graph
        return _rerun_plain(run, tensors, rng)
    run.outputs = [t.detach() for t in flat]
    del out, flat, stand_ins
    result = _Checkpoint.apply(run, *tensors, *leaves)
    result = result if isinstance(result, tuple) else (result,)
    return rebuild(list(result))


def _rerun_plain(run, tensors, rng):
    """fn once more with the first run's random numbers, recorded as ordinary graph."""
    return rng.run(lambda: run.call(tensors))


def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):
    """Run a `nn.Sequential` (or a list of modules/functions) in `segments` chunks, each
    checkpointed but the last, as PyTorch's `checkpoint_sequential`.

    >>> model = gt.nn.Sequential(gt.nn.Linear(3, 3), gt.nn.ReLU(), gt.nn.Linear(3, 1))
    >>> y = checkpoint_sequential(model, 2, gt.randn(4, 3), use_reentrant=False)
    """
    if use_reentrant is None:
        warnings.warn(_REENTRANT_WARNING, stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))

    def run_function(start, end, functions):
        def forward(input):
            for j in range(start, end + 1):
                input = functions[j](input)
            return input
        return forward

    if hasattr(functions, "children") and callable(functions.children):
        functions = list(functions.children())
    segment_size = len(functions) // segments
    end = -1
    for start in range(0, segment_size * (segments - 1), segment_size):
        end = start + segment_size - 1
        input = checkpoint(run_function(start, end, functions), input,
                           use_reentrant=use_reentrant, preserve_rng_state=preserve)
    return run_function(end + 1, len(functions) - 1, functions)(input)
