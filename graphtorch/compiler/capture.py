"""Capture one call of a function as a graph, with every effect it has on state.

A compiled function may write its arguments in place, update parameters, set ``.grad``
(``loss.backward()``) and update optimizer state. While tracing, all of that is
functionalized: parameters, buffers, existing gradients and optimizer state are PARAM inputs
found through `refs` (paths resolved at every call); their new values are extra graph
outputs that `writebacks` put where eager code would. Learning rates of optimizers are
graph INPUTS read from the param group at every call, and so are momentum, betas and
weight decay while positive (`hyperparameters`), so a scheduler never recompiles.

Everything the traced code read from Python state is recorded by a `ReadRecorder` and
becomes a guard; what a graph cannot replay (a write to Python state, Python's random
numbers, a value read from a tensor) makes `capture` raise TracingError, and the caller
runs the function eagerly. Modules and optimizers the code reached but `discovery` did not
find raise `NeedsState`, and the caller traces again with them bound.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..ir import tracer as tracing
from ..trace_state import SymbolicArray
from ..ir.graph import Graph
from ..nn.modules.module import Module
from ..sparse import SparseTensor
from ..tensor import Tensor
from . import arg_tree
from .discovery import State
from .outputs import OutputPlan, history_of, plan_outputs, stale_saved_tensor
from .read_recorder import ReadRecorder
from .hyperparameters import DYNAMIC_HYPERPARAMETERS  # noqa: F401 (its old home)
from .hyperparameters import feed_group, refuse_number_results
from .refs import ArgRef, FixedRef, GradRef, OptimizerStateRef
from .sources import Namespace


class NeedsState(Exception):
    """The traced code reached modules or optimizers that were not bound as state."""

    def __init__(self, found: list):
        super().__init__(f"{len(found)} module(s)/optimizer(s) found while tracing")
        self.found = found  # (name, object)


@dataclass
class Capture:
    """A traced call: the graph plus how to feed it and where its extra outputs go."""

    graph: Graph
    params: dict                 # PARAM name -> tensor when traced (shape, dtype, grad flag)
    refs: dict                   # PARAM name -> TensorRef resolved at every call
    feeds: list                  # per INPUT node: ArgRef or HyperParameter
    outputs: OutputPlan          # the user's result; its graph values come first
    writebacks: list             # per trailing output: ("copy", ref) or ("grad", owner ref)
    clear_grads: list            # owner refs whose .grad the function set to None
    ran_backward: bool
    recorder: ReadRecorder
    spec: object                 # the arguments' pytree structure
    created_state: list = field(default_factory=list)  # lazily created optimizer state
    grads_reset: set = field(default_factory=set)  # ids of params zero_grad'ed before use
    grad_args: list = field(default_factory=list)  # leaf indices whose .grad matters
    # per write-back: whether the write is part of autograd history (an in-place op with
    # grad), so the tensor adopts it; writes through .data or a detached alias are not
    writeback_grads: list = field(default_factory=list)
    # results that are the very value written back (``return a.grad`` after a backward
    # inside): they share memory with that state, as eager's do; other results never do
    shares_state: set = field(default_factory=set)
    strides_read: bool = True     # whether the traced code read a tensor's stride()

    @property
    def num_results(self) -> int:
        return len(self.outputs.values)

    @property
    def output_grads(self) -> list:
        """Per graph output, whether eager code could differentiate it."""
        spent = self.outputs.spent
        return [rg and k not in spent for k, rg in enumerate(self.outputs.requires_grad)] + \
            list(self.writeback_grads)


def flatten_args(args) -> tuple[list, object]:
    """(leaves, spec) of a call's arguments (see `arg_tree`)."""
    return arg_tree.flatten(args)


def capture(fn, args: tuple, state: State, arg_names: list[str], ns: Namespace,
            shape_env=None, dynamic_dims=None) -> Capture:
    """Trace `fn(*args)` with the modules/optimizers in `state` bound by reference. With a
    `shape_env` (`graphtorch.symbolic.ShapeEnv`), dims listed in `dynamic_dims` (argument index ->
    dims, or None for every dim of size >= 2) are symbolic."""
    if tracing.current_tracer() is not None:
        raise tracing.TracingError(f"{tracing._where(tracing.user_frame())}: a compiled "
                                   "function cannot be called while another trace is running")
    leaves, spec = flatten_args(args)
    names, refs = _state_names(state)
    tracer = tracing.Tracer({id(t): n for n, t in names.items()})
    tracer.eager_semantics = True
    feeds, input_leaf = [], []
    stand_ins: dict[int, object] = {}
    stand_in_leaf: dict[int, int] = {}
    sym_leaves = list(leaves)
    grads_before: dict[int, tuple] = {}
    for i, x in enumerate(leaves):
        if not isinstance(x, Tensor):
            continue
        if id(x) in stand_ins:  # the same tensor passed twice: one graph input
            sym_leaves[i] = stand_ins[id(x)]
            continue
        name = _arg_name(arg_names, i)
        if isinstance(x, SparseTensor):
            raise tracing.TracingError(f"argument {name} is a sparse tensor: sparse tensors "
                                       "cannot be compiled (graphs hold dense tensors only); "
                                       "this call runs eagerly")
        shape = _symbolic_shape(shape_env, dynamic_dims, x, i)
        s = tracer.symbolic(x, name, shape)
        feeds.append(ArgRef(i, name))
        input_leaf.append(i)
        stand_ins[id(x)] = s
        stand_in_leaf[id(s)] = i
        sym_leaves[i] = s
    sym_args = arg_tree.unflatten(spec, sym_leaves)

    saved_groups, saved_states = [], []
    grad_args = []
    recorder = ReadRecorder(leaves, arg_names, ns)
    tracing._STATE.tracer = tracer
    try:
        for name, t in names.items():
            if isinstance(t, SparseTensor):
                raise tracing.TracingError(f"{name} is a sparse tensor: sparse tensors cannot "
                                           "be compiled (graphs hold dense tensors only); "
                                           "this call runs eagerly")
            tracer.bind_state(t, name)
        for i in input_leaf:  # existing .grad of arguments (backward accumulates into it)
            x, s = leaves[i], sym_leaves[i]
            if x.requires_grad and x._grad_fn is None:
                grad_args.append(i)
                if x._grad is not None:
                    gname = f"{_arg_name(arg_names, i)}.grad"
                    tracer.bind_state(x._grad, gname)
                    refs[gname] = GradRef(ArgRef(i, _arg_name(arg_names, i)))
                    s._grad = x._grad
            grads_before[id(s)] = (s, s._grad, ArgRef(i, _arg_name(arg_names, i)))
        for opt_name, opt in state.optimizers.items():
            saved_states.append((opt, {p: (st, dict(st)) for p, st in opt.state.items()}))
            for g, group in enumerate(opt.param_groups):
                saved_groups.append((group, dict(group)))
                feeds += feed_group(tracer.graph, opt, opt_name, g, group)
        param_names = {id(t): n for n, t in names.items()}
        for t in all_params(state):
            grads_before[id(t)] = (t, t._grad, FixedRef(t, param_names.get(id(t), "param")))
        for root in state.modules.values():
            recorder.watch_modules(root)
        with recorder:
            result = fn(*sym_args)
        recorder.finish()
        problems = tracer.refusals + recorder.breaks + (
            [recorder.unwatchable] if recorder.unwatchable else [])
        if problems:
            raise tracing.TracingError(problems[0])
        missing = _unbound(recorder, state)
        if missing:
            raise NeedsState(missing)
        for key, (value, t) in list(tracer.lifted.items()):
            if key not in grads_before and key in tracer.grad_at_lift:
                owner = FixedRef(t, value.node.name)
                grads_before[key] = (t, tracer.grad_at_lift[key], owner)
                grad = tracer.grad_at_lift[key]
                if grad is not None and id(grad) in tracer.lifted:
                    # its existing .grad (a backward inside accumulates into it) is read
                    # through the owner at every call, not as the tensor it was when traced
                    refs.setdefault(tracer.lifted[id(grad)][0].node.name, GradRef(owner))
        for name, t in tracer.params.items():
            refs.setdefault(name, FixedRef(t, name))

        def ref_of(t):
            if id(t) in stand_in_leaf:
                i = stand_in_leaf[id(t)]
                return ArgRef(i, _arg_name(arg_names, i))
            if id(t) in tracer.lifted:
                return refs[tracer.lifted[id(t)][0].node.name]
            return None

        _check_result_containers(result, recorder, sym_args)
        refuse_number_results(result, feeds)
        plan = plan_outputs(result, tracer, ref_of)
        writebacks, extra, writeback_grads = [], [], []
        for (kind, key), value, tensor in tracer.mutations(with_tensors=True):
            if kind == "param":
                target = refs[key]
            else:
                i = input_leaf[key]
                target = ArgRef(i, _arg_name(arg_names, i))
                if tensor.requires_grad:  # the argument adopts this write's history
                    message = stale_saved_tensor(tensor)
                    if message:
                        plan.stale[len(plan.values) + len(extra)] = message
            writebacks.append(("copy", target))
            extra.append(value)
            writeback_grads.append(tensor._grad_fn is not None)
        clear_grads = []
        for t, before, owner in grads_before.values():
            after = t._grad
            if after is before:
                continue
            if id(t) in stand_in_leaf and t._grad_fn is not None:
                raise tracing.TracingError(f"backward() inside the compiled function sets "
                                           f".grad of the non-leaf argument {owner.describe()}")
            if after is None:
                clear_grads.append(owner)
            elif isinstance(after._data, tracing.SymbolicArray):
                writebacks.append(("grad", owner))
                extra.append(tracer.value_of(after))
                writeback_grads.append(False)
            else:
                raise tracing.TracingError(
                    f"the function assigns an existing tensor to {owner.describe()}.grad, "
                    "which a compiled graph cannot replay")
        _check_hooks(tracer, stand_in_leaf, any(plan.requires_grad) or any(writeback_grads))
        _check_custom_functions(plan, [t for (_, _, t), g in zip(
            tracer.mutations(with_tensors=True), writeback_grads) if g])
        created = _created_state(saved_states)
        _check_overlaps(tracer, {id(sym_leaves[i]): leaves[i]._data for i in input_leaf})
        shares_state = {k for k, v in enumerate(plan.values) if any(v is e for e in extra)}
        tracer.graph.set_outputs(list(plan.values) + extra)
        ran_backward = tracer.ran_backward
    finally:
        tracing._STATE.tracer = None
        tracer.restore()
        recorder.restore_modules()
        for t, before, _ in grads_before.values():
            t._grad = before
        for key, (_, t) in tracer.lifted.items():  # tensors reached without being bound
            if key in tracer.grad_at_lift:
                t._grad = tracer.grad_at_lift[key]
        bound_optimizers = {id(o) for o in state.optimizers.values()}
        for opt, states, groups in recorder.optimizer_snapshots:
            if id(opt) not in bound_optimizers:  # reached, not bound (this trace aborts)
                saved_states.append((opt, states))
                saved_groups.extend(groups)
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
    return Capture(tracer.graph, dict(tracer.params), refs, feeds, plan, writebacks,
                   clear_grads, ran_backward, recorder, spec, created,
                   set(tracer.grads_reset), grad_args, writeback_grads, shares_state,
                   tracer.strides_read)


def _arg_name(arg_names: list[str], i: int) -> str:
    return arg_names[i] if i < len(arg_names) else f"input{i}"


def _symbolic_shape(shape_env, dynamic_dims, x, i):
    if shape_env is None:
        return None
    dims = dynamic_dims.get(i) if dynamic_dims is not None else None
    if dynamic_dims is not None and not dims:
        return None
    if tracing._layout_of(x._data) is not None:
        # symbolic sizes are traced as C-contiguous (strides would be symbolic): a strided
        # argument keeps static sizes, so its layout is recorded and guarded
        return None
    return tuple(shape_env.symbol(n, i, d) if n >= 2 and (dims is None or d in dims) else n
                 for d, n in enumerate(x.shape))


def _created_state(saved_states) -> list:
    """Optimizer state entries the traced call created (e.g. SGD's momentum buffer)."""
    created = []
    for opt, before in saved_states:
        for p, entries in opt.state.items():
            for key, value in entries.items():
                old = before[p][1].get(key) if p in before else None
                if isinstance(value, Tensor) and isinstance(value._data,
                                                            tracing.SymbolicArray):
                    if old is None:
                        created.append(f"{type(opt).__name__} state {key!r}")
                elif value is not old and not isinstance(value, Tensor):
                    created.append(f"{type(opt).__name__} state {key!r} = {value!r}")
    return created


def _unbound(recorder: ReadRecorder, state: State) -> list:
    """Modules and optimizers the traced code reached that `state` does not bind."""
    bound = {id(m) for root in state.modules.values() for m in root.modules()}
    bound |= {id(o) for o in state.optimizers.values()}
    missing = []
    for obj in list(recorder.modules.values()) + list(recorder.optimizers.values()):
        if id(obj) not in bound and not _inside_any(obj, missing):
            missing.append((recorder.name_of(obj), obj))
    return missing


def _inside_any(module, found) -> bool:
    return isinstance(module, Module) and any(
        isinstance(m, Module) and any(sub is module for sub in m.modules()) for _, m in found)


def _check_result_containers(result, recorder: ReadRecorder, args) -> None:
    """Compiled calls rebuild the result's lists and dicts each call (`arg_tree`): a result
    holding a list or dict that existed before the call (an argument, a global), or the same
    one twice, would not be the object eager returns, and mutating it would differ."""
    outside = set(recorder._sources)
    stack = list(args)
    while stack:  # the arguments' own containers
        x = stack.pop()
        if type(x) in (list, dict):
            outside.add(id(x))
            stack.extend(x.values() if type(x) is dict else x)
        elif isinstance(x, tuple):
            stack.extend(x)
    seen: set[int] = set()
    stack = [result]
    while stack:
        x = stack.pop()
        if type(x) in (list, dict):
            if id(x) in seen or id(x) in outside:
                raise tracing.TracingError(
                    f"the function returns a {type(x).__name__} that "
                    f"{'it returns twice' if id(x) in seen else 'existed before the call'}; "
                    "a compiled call returns a new one, so this call runs eagerly")
            seen.add(id(x))
            stack.extend(x.values() if type(x) is dict else x)
        elif isinstance(x, tuple):
            stack.extend(x)


def _check_custom_functions(plan, written) -> None:
    """A custom autograd.Function (or a module's full backward hook, which is one) whose
    backward would run after the call: the generated backward cannot run its Python
    ``backward``, so the call runs eagerly."""
    names = [plan.custom[k] for k, rg in enumerate(plan.requires_grad)
             if rg and k not in plan.spent and k in plan.custom]
    for t in written:
        freed, custom = history_of(t)
        if custom and not freed:
            names.append(custom)
    if names:
        raise tracing.TracingError(
            f"the outputs' autograd graph reaches the custom autograd.Function {names[0]} "
            "(module full backward hooks use one), whose Python backward a compiled backward "
            "cannot run; this call runs eagerly")


def _check_hooks(tracer, stand_ins: dict, differentiable: bool) -> None:
    """Tensor hooks and retain_grad() registered while tracing are Python state: one on an
    argument, a parameter or a captured tensor outlives the call (eager adds one per call),
    and one on a tensor made inside fires only during a backward that runs inside the
    trace; a compiled backward (after the call) would skip it. Refuse both."""
    for t, what, source in tracer.hooked:
        local = type(t._data) is SymbolicArray and id(t) not in stand_ins and \
            id(t) not in tracer.lifted
        if not local:
            raise tracing.TracingError(
                f"{tracing._where(source)}: {what} on a tensor from outside the compiled "
                "function (an argument or state) changes it for later calls; this call "
                "runs eagerly")
        if differentiable:
            raise tracing.TracingError(
                f"{tracing._where(source)}: {what} on a tensor inside the compiled function, "
                "whose outputs are differentiated after the call: the generated backward "
                "does not run tensor hooks; this call runs eagerly")


def _check_overlaps(tracer, arg_arrays: dict) -> None:
    """A tensor written in place that shares memory with another tensor the graph reads as
    a separate input (a captured ``W.data``, a view made before the call, an argument that
    is a view of another) would leave that one stale inside the graph: refuse instead.
    `arg_arrays` maps id(argument stand-in) -> the argument's array."""
    written = [t for t, original, _ in tracer.tracked
               if type(t._data) is tracing.SymbolicArray and t._data.value is not original]
    if not written:
        return
    arrays = dict(arg_arrays)
    for t, data in tracer._saved_data:
        arrays.setdefault(id(t), data)
    for _, t in tracer.lifted.values():
        if type(t._data) is not tracing.SymbolicArray:
            arrays.setdefault(id(t), t._data)
    for w in written:
        mine = arrays.get(id(w))
        if type(mine) is not np.ndarray:
            continue
        for key, other in arrays.items():
            if key != id(w) and type(other) is np.ndarray and \
                    np.may_share_memory(mine, other) and np.shares_memory(mine, other):
                raise tracing.TracingError(
                    "the function writes in place into a tensor that shares memory with "
                    "another tensor it reads separately (an argument that is a view of "
                    "another, or a captured alias such as `W.data`); a compiled graph cannot "
                    "keep them consistent")


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


def _state_names(state: State) -> tuple[dict, dict]:
    """(qualified name -> tensor, qualified name -> TensorRef) for parameters, buffers,
    gradients and optimizer state."""
    names: dict = {}
    refs: dict = {}
    by_id: dict = {}

    def add(name, t, ref):
        if isinstance(t, Tensor) and id(t) not in by_id:
            by_id[id(t)] = name
            names[name] = t
            refs[name] = ref

    for mname, module in state.modules.items():
        prefix = f"{mname}." if mname else ""
        for n, p in module.named_parameters():
            add(prefix + n, p, FixedRef(p, prefix + n))
        for n, b in module.named_buffers():
            add(prefix + n, b, FixedRef(b, prefix + n))
    for oname, opt in state.optimizers.items():
        for g, group in enumerate(opt.param_groups):
            for k, p in enumerate(group["params"]):
                name = f"{oname}.param_groups.{g}.params.{k}"
                add(name, p, FixedRef(p, name))
    for p_id, pname in list(by_id.items()):
        p = names[pname]
        if p._grad is not None:
            add(pname + ".grad", p._grad, GradRef(refs[pname]))
    for oname, opt in state.optimizers.items():
        for p, entries in opt.state.items():
            pname = by_id.get(id(p), f"param{id(p)}")
            for key, value in entries.items():
                name = f"{oname}.state.{pname}.{key}"
                add(name, value, OptimizerStateRef(opt, p, key, name))
    return names, refs
