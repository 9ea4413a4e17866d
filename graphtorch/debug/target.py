"""What the debugging tools inspect: a function's compiled variant for given arguments.

`resolve` accepts a plain function, a Module, a `gt.compile`'d function or module, and
returns the original callable with the compile options. `build` traces and compiles one
variant for the arguments (without running it and without touching the compiled function's
cache); `StateSnapshot` saves and restores the state (parameters, buffers, gradients,
optimizer state) a function reaches, so tools can run it more than once without side effects.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import random
from ..compiler.capture import _state_names, flatten_args
from ..compiler.compiled_function import CompiledFunction, _arg_names, capture_variant
from ..compiler.discovery import discover
from ..compiler.optimized_module import OptimizedModule
from ..passes.pipeline import DEFAULT_PIPELINE
from ..tensor import Tensor
from ..trace_state import TracingError


@dataclass
class Target:
    """The original callable and how `gt.compile` was (or would be) asked to compile it."""

    fn: object
    compiled: object | None       # the CompiledFunction, when one was given
    backend: str = "numpy"
    passes: tuple | None = None


def resolve(fn, passes=None, backend=None) -> Target:
    """Unwrap a compiled function or module (see the module docstring)."""
    compiled = None
    if isinstance(fn, OptimizedModule):
        compiled = fn._compiled
    elif isinstance(fn, CompiledFunction):
        compiled = fn
    if compiled is not None:
        return Target(compiled.fn, compiled, backend or compiled.backend,
                      tuple(passes) if passes is not None else
                      (tuple(compiled.passes) if compiled.passes is not None else None))
    return Target(fn, None, backend or "numpy", tuple(passes) if passes is not None else None)


class GraphBreak(Exception):
    """The function cannot be captured whole; `reason` names the line."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def pipeline(target: Target) -> tuple:
    """The pass names the target's compiled code runs."""
    return tuple(DEFAULT_PIPELINE if target.passes is None else target.passes)


def build(target: Target, args: tuple):
    """(Executable, leaves) for `target` called on `args`; raises `GraphBreak`."""
    leaves, _ = flatten_args(args)
    names = _arg_names(target.fn)
    try:
        cap, exe, _ = capture_variant(target.fn, args, leaves, discover(target.fn, leaves, names),
                                      names, target.backend, target.passes)
    except TracingError as exc:
        raise GraphBreak(str(exc)) from None
    if exe is None:
        raise GraphBreak("the call creates optimizer state (it runs eagerly the first time); "
                         "call the function once before inspecting it")
    return exe, leaves


def forward_inputs(exe, leaves) -> dict:
    """Input name -> array for the executable's forward graph (before and after passes)."""
    names = [n.name for n in exe.forward_graph.nodes if n.kind.value in ("input", "param")]
    return dict(zip(names, exe._arrays(leaves)))


def reference_graphs(exe):
    """(forward, backward or None) as traced and differentiated, before any pass ran."""
    if exe.differentiable:
        return exe.split.forward, exe.split.backward
    return exe.capture.graph, None


class StateSnapshot:
    """Saved values of everything `fn` can change; `restore()` puts them back."""

    def __init__(self, fn):
        state = discover(fn)
        self.tensors = [(t, t._data.copy()) for t in _state_names(state)[0].values()
                        if isinstance(t, Tensor) and isinstance(t._data, np.ndarray)]
        params = []
        for m in state.modules.values():
            params.extend(m.parameters())
        for opt in state.optimizers.values():
            for g in opt.param_groups:
                params.extend(g["params"])
        self.grads = [(p, p._grad) for p in params]
        self.optimizers = [(opt, {p: dict(s) for p, s in opt.state.items()},
                            [dict(g) for g in opt.param_groups])
                           for opt in state.optimizers.values()]

        self.rng = random.get_rng_state()

    def restore(self) -> None:
        for t, data in self.tensors:
            np.copyto(t._data, data)
        for p, g in self.grads:
            p._grad = g
        for opt, states, groups in self.optimizers:
            opt.state.clear()
            opt.state.update({p: dict(s) for p, s in states.items()})
            for group, saved in zip(opt.param_groups, groups):
                group.clear()
                group.update(saved)
        random.set_rng_state(self.rng)
