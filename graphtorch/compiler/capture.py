"""Capture one call of a function as a graph, with every side effect it has on state.

A compiled function may update parameters in place, set ``.grad`` (``loss.backward()``),
and update optimizer state. While tracing, all of that is functionalized: parameters,
buffers, existing gradients and optimizer state are PARAM inputs by reference; their new
values are extra graph outputs; after each run the `writebacks` put them where eager code
would. Learning rates of optimizers found by `discovery` are graph INPUTS read from the
param group at every call, so a scheduler changing them never recompiles.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..ir import tracer as tracing
from ..ir.graph import Graph
from ..ops.registry import TensorMeta
from .discovery import State

# Optimizer hyper-parameters that are graph inputs rather than constants.
DYNAMIC_HYPERPARAMETERS = ("lr",)


@dataclass
class Capture:
    """A traced call: the graph plus how to feed it and where its extra outputs go."""

    graph: Graph
    params: dict                 # PARAM name -> tensor
    feeds: list                  # per INPUT node: ("arg", index) or ("hyper", group, key)
    num_results: int             # the user's outputs come first in graph.outputs
    single: bool                 # the function returned one tensor (not a tuple)
    writebacks: list             # per trailing output: ("copy", tensor) / ("grad", param) /
                                 # ("state", state dict, key)
    clear_grads: list            # params whose .grad the function set to None
    ran_backward: bool
    created_state: list = field(default_factory=list)  # lazily created optimizer state
    grads_reset: set = field(default_factory=set)  # ids of params zero_grad'ed before use


def flatten_args(args) -> tuple[list, list]:
    """(leaves, tensors' positions among leaves) for nested tuples/lists of arguments."""
    from ..tensor import Tensor

    for a in args:  # the common case: flat tensor arguments
        if type(a) is not Tensor:
            break
    else:
        return list(args), list(range(len(args)))
    leaves = []

    def walk(x):
        if isinstance(x, (tuple, list)):
            for item in x:
                walk(item)
        else:
            leaves.append(x)

    walk(args)
    return leaves, [i for i, x in enumerate(leaves) if isinstance(x, Tensor)]


def _rebuild(args, replacement: dict, counter: list):
    if isinstance(args, (tuple, list)):
        items = [_rebuild(x, replacement, counter) for x in args]
        return type(args)(items) if isinstance(args, list) else tuple(items)
    i = counter[0]
    counter[0] += 1
    return replacement.get(i, args)


def capture(fn, args: tuple, state: State, arg_names: list[str],
            shape_env=None, dynamic_dims=None) -> Capture:
    """Trace `fn(*args)` with the modules/optimizers in `state` bound by reference. With a
    `shape_env` (`ir.symbolic.ShapeEnv`), dims listed in `dynamic_dims` (argument index ->
    dims, or None for every dim of size >= 2) are symbolic."""
    from ..tensor import Tensor

    if tracing.current_tracer() is not None:
        raise tracing.TracingError(f"{tracing._where(tracing.user_frame())}: a compiled "
                                   "function cannot be called while another trace is running")
    leaves, positions = flatten_args(args)
    names = _state_names(state)
    tracer = tracing.Tracer({id(t): n for n, t in names.items()})
    feeds = []
    symbolic = {}
    for i in positions:
        name = arg_names[i] if i < len(arg_names) else f"input{i}"
        shape = None
        if shape_env is not None:
            dims = dynamic_dims.get(i) if dynamic_dims is not None else None
            if dynamic_dims is None or dims:
                shape = tuple(shape_env.symbol(n, i, d) if n >= 2 and (dims is None or d in dims)
                              else n for d, n in enumerate(leaves[i].shape))
        symbolic[i] = tracer.symbolic(leaves[i], name, shape)
        feeds.append(("arg", i))
    sym_args = _rebuild(args, symbolic, [0])

    grads_before = {}
    saved_groups = []
    saved_states = []
    tracing._STATE.tracer = tracer
    try:
        for name, t in names.items():
            if isinstance(t, Tensor):
                tracer.bind_state(t, name)
        for opt_name, opt in state.optimizers.items():
            saved_states.append((opt, {p: (s, dict(s)) for p, s in opt.state.items()}))
            for g, group in enumerate(opt.param_groups):
                saved_groups.append((group, dict(group)))
                for key in DYNAMIC_HYPERPARAMETERS:
                    value = group.get(key)
                    if isinstance(value, float) and not isinstance(value, bool):
                        meta = TensorMeta((), _f64())
                        v = tracer.graph.add_input(f"{opt_name}.param_groups.{g}.{key}", meta)
                        group[key] = Tensor._wrap(tracing.SymbolicArray((), np.float64, v))
                        feeds.append(("hyper", group, key))
        for t in all_params(state):
            grads_before[id(t)] = (t, t._grad)
        result = fn(*sym_args)
        single = isinstance(result, Tensor)
        outputs = (result,) if single else tuple(result) if isinstance(
            result, (tuple, list)) else None
        if outputs is None or not all(isinstance(o, Tensor) for o in outputs):
            raise tracing.TracingError(
                f"{tracing._where(tracing.user_frame())}: compiled functions must return a "
                f"tensor or a tuple of tensors, got {type(result).__name__}")
        for t in list(tracer.params.values()):  # tensors lifted while tracing, too
            grads_before.setdefault(id(t), (t, t._grad))
        writebacks, extra = [], []
        for (kind, key), value in tracer.mutations():
            target = tracer.params[key] if kind == "param" else leaves[positions[key]]
            writebacks.append(("copy", target))
            extra.append(value)
        clear_grads = []
        for t, before in grads_before.values():
            after = t._grad
            if after is before:
                continue
            if after is None:
                clear_grads.append(t)
            elif isinstance(after._data, tracing.SymbolicArray):
                writebacks.append(("grad", t))
                extra.append(after._data.value)
        created = []
        for opt, before in saved_states:
            for p, entries in opt.state.items():
                for key, value in entries.items():
                    old = before[p][1].get(key) if p in before else None
                    if isinstance(value, Tensor) and isinstance(value._data,
                                                                tracing.SymbolicArray):
                        if old is None:
                            created.append(f"{type(opt).__name__} state {key!r}")
                            writebacks.append(("state", entries, key))
                            extra.append(value._data.value)
                    elif value is not old and not isinstance(value, Tensor):
                        created.append(f"{type(opt).__name__} state {key!r} = {value!r}")
        tracer.graph.set_outputs([tracer.value_of(o) for o in outputs] + extra)
        ran_backward = tracer.ran_backward
    finally:
        tracing._STATE.tracer = None
        tracer.restore()
        for t, before in grads_before.values():
            t._grad = before
        for group, before in saved_groups:
            group.clear()
            group.update(before)
        for opt, before in saved_states:  # the same dicts, as they were
            for p in [p for p in opt.state if p not in before]:
                del opt.state[p]
            for p, (entries, content) in before.items():
                entries.clear()
                entries.update(content)
                opt.state[p] = entries
    tracer.graph.verify()
    return Capture(tracer.graph, dict(tracer.params), feeds, len(outputs), single,
                   writebacks, clear_grads, ran_backward, created, set(tracer.grads_reset))


def _f64():
    from .. import dtypes

    return dtypes.float64


def all_params(state: State) -> list:
    """Every parameter of the modules and optimizers in `state`, once each, in order."""
    seen, out = set(), []
    for module in state.modules.values():
        for p in module.parameters():
            if id(p) not in seen:
                seen.add(id(p))
                out.append(p)
    for opt in state.optimizers.values():
        for group in opt.param_groups:
            for p in group["params"]:
                if id(p) not in seen:
                    seen.add(id(p))
                    out.append(p)
    return out


def _state_names(state: State) -> dict:
    """Qualified name -> tensor for parameters, buffers, gradients and optimizer state."""
    from ..tensor import Tensor

    names: dict = {}
    by_id: dict = {}

    def add(name, t):
        if isinstance(t, Tensor) and id(t) not in by_id:
            by_id[id(t)] = name
            names[name] = t

    for mname, module in state.modules.items():
        prefix = f"{mname}." if mname else ""
        for n, p in module.named_parameters():
            add(prefix + n, p)
        for n, b in module.named_buffers():
            add(prefix + n, b)
    for oname, opt in state.optimizers.items():
        for g, group in enumerate(opt.param_groups):
            for k, p in enumerate(group["params"]):
                add(f"{oname}.param_groups.{g}.params.{k}", p)
    for p_id, pname in list(by_id.items()):
        p = names[pname]
        if p._grad is not None:
            add(pname + ".grad", p._grad)
    for oname, opt in state.optimizers.items():
        for p, entries in opt.state.items():
            pname = by_id.get(id(p), f"param{id(p)}")
            for key, value in entries.items():
                add(f"{oname}.state.{pname}.{key}", value)
    return names
