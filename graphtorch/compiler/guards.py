"""Guards: what a compiled variant specialised on, checked before every call.

A variant is valid while the call looks like the traced one: the arguments' structure,
each tensor argument's shape, dtype, device, requires_grad and leaf-ness, each Python
argument's value, grad mode and the default dtype, the state version of every module the
code reached, the parameters' shapes, which have a ``.grad``, the optimizers'
hyper-parameters and state entries, and every piece of Python state the traced code read
(`read_recorder`). All checks of a variant are generated into one Python function, so a
call costs one function call plus a few comparisons per guard. When a variant's guards fail,
`first_failure` says which one, with the old and the new value, for the recompile log.
"""

from __future__ import annotations

import types

import numpy as np

from ..autograd import grad_mode
from ..autograd import graph as autograd_graph
from ..dtypes import DType, from_numpy_dtype, get_default_dtype
from ..ir.tracer import _layout_of as layout_of
from ..meta import MetaArray
from ..nn.modules.module import Module
from ..nn.modules.state_version import same_state, state_snapshot
from ..optim.optimizer import Optimizer
from ..tensor import Tensor
from .capture import Capture, all_params
from .hyperparameters import DYNAMIC_HYPERPARAMETERS, guard_view
from .discovery import State
from .sources import (
    GUARD_HELPERS,
    Guard,
    GuardKind,
    Namespace,
    equality_check,
    is_immutable_value,
)


class Guards:
    """All guards of one compiled variant, compiled into `check(leaves, spec)`."""

    def __init__(self, guards: list[Guard], ns: Namespace, spec):
        self.guards = guards
        self.spec = spec
        self._ns = {**GUARD_HELPERS, **ns.values, "SPEC": spec}
        body = " and\n            ".join(g.check for g in guards) or "True"
        source = ("def check(L, S):\n    try:\n        return S == SPEC and (\n            "
                  f"{body})\n    except Exception:\n        return False\n")
        self.source = source
        exec(compile(source, "<graphtorch guards>", "exec"), self._ns)  # noqa: S102
        self.check = self._ns["check"]

    def first_failure(self, leaves, spec) -> tuple[str, object, object] | None:
        """(description, value when compiled, value now) of the first failing guard."""
        if spec != self.spec:
            return "the arguments' structure", _spec_text(self.spec), _spec_text(spec)
        env = dict(self._ns)
        env["L"] = leaves
        for g in self.guards:
            try:
                ok = eval(g.check, env)  # noqa: S307 - our own generated expression
            except Exception:  # noqa: BLE001
                ok = False
            if not ok:
                now = "<unreadable>"
                if g.value is not None:
                    try:
                        now = eval(g.value, env)  # noqa: S307
                    except Exception as exc:  # noqa: BLE001
                        now = f"<{type(exc).__name__}: {exc}>"
                if g.kind is GuardKind.VERSION and isinstance(now, dict) and isinstance(
                        g.expected, dict):
                    return f"{g.description}: {_dict_diff(g.expected, now)}", g.expected, now
                return g.description, g.expected, now
        return None

    def __len__(self):
        return len(self.guards)

    def describe(self) -> list[str]:
        """One line per guard, in words (for `gt.explain`)."""
        out = []
        for g in self.guards:
            text = g.description
            if g.kind in (GuardKind.EQUAL, GuardKind.LENGTH):
                text += f" == {_show(g.expected)}"
            elif g.kind is GuardKind.TENSOR:
                shape, dtype, device, requires_grad = g.expected
                sizes = ", ".join("any" if n is None else str(n) for n in shape)
                text = (f"{text.split(': (')[0]}: shape [{sizes}], {dtype}, on {device}, "
                        f"requires_grad={requires_grad}")
            if g.where:
                text += f"  (read at {g.where})"
            out.append(text)
        return out


def _dict_diff(old: dict, new: dict) -> str:
    changes = [f"{k} {old.get(k, '(unset)')!r} -> {new.get(k, '(unset)')!r}"
               for k in list(old) + [k for k in new if k not in old] if old.get(k) != new.get(k)]
    return ", ".join(changes) or "changed"


def module_summary(module) -> dict:
    """What a module looks like to the code reading it: its plain attributes, the names of
    its parameters, buffers and submodules, and how many hooks it has (for the recompile
    log: the module's state version says *that* it changed, this says *what*)."""
    d = module.__dict__
    out = {k: v for k, v in d.items() if not k.startswith("_") and is_immutable_value(v)}
    for store in ("_parameters", "_buffers", "_modules"):
        out[store.strip("_")] = tuple(
            (k, type(v).__name__, id(v) if store != "_modules" else type(v).__name__)
            for k, v in d.get(store, {}).items())
    out["hooks"] = sum(len(d.get(k, ())) for k in d if k.endswith("hooks"))
    return out


def _spec_text(spec) -> str:
    return f"{spec} positional arguments" if isinstance(spec, int) else str(spec)


def _show(value) -> str:
    if isinstance(value, np.dtype):
        try:
            return str(from_numpy_dtype(value))
        except (KeyError, TypeError, ValueError):
            return str(value)
    if isinstance(value, DType):
        return str(value)
    return repr(value)


def tensor_signature(t, free=()) -> tuple:
    """(shape, dtype, device, requires_grad) of a tensor, as the recompile log shows them;
    sizes of `free` (dynamic) dims are None."""
    data = t._data
    shape = tuple(None if d in free else n for d, n in enumerate(data.shape))

    device = "cpu" if isinstance(data, np.ndarray) else "meta" if type(data) is MetaArray \
        else f"cuda:{data.device.id}"
    return (shape, str(from_numpy_dtype(data.dtype)), device, t.requires_grad)


def leaf_hooks(t) -> tuple:
    """The handle ids of a leaf's gradient hooks (`register_hook`) and post-accumulate-grad
    hooks: a backward traced inside the function ran (and baked in) exactly these."""
    return (tuple(t._hooks or ()), tuple(t._post_accumulate_grad_hooks or ()))


def _hook_guard(ns: Namespace, expr: str, label: str, t) -> Guard:
    hooks = leaf_hooks(t)
    ns.values["_leaf_hooks"] = leaf_hooks
    check = f"(not {expr}._hooks and not {expr}._post_accumulate_grad_hooks)" \
        if hooks == ((), ()) else f"(_leaf_hooks({expr}) == {hooks!r})"
    return Guard(f"{label}: gradient hooks (ids of register_hook, post-accumulate-grad "
                 "hooks), run by the backward traced inside", check, hooks,
                 f"_leaf_hooks({expr})", kind=GuardKind.EQUAL)


def _tensor_guards(ns: Namespace, expr: str, label: str, t, dims_free=(),
                   leafness: bool = True, hooks: bool = False,
                   unit_strides_free: bool = False) -> list[Guard]:
    """Shape (with `dims_free` dynamic), dtype, device, requires_grad (and leaf-ness) of the
    tensor that `expr` reads; with `hooks`, a leaf's gradient hooks too. With
    `unit_strides_free` (the trace read no `stride()`), a C-contiguous tensor of under four
    dims with at most one dim longer than 1 is guarded by contiguity alone: the strides of
    its size-1 dims change no layout decision then (`idx[:, -8:]` of a growing (1, T)
    sequence has a new one at every call)."""
    data = t._data
    shape = tuple(data.shape)
    checks = []
    if dims_free:
        checks.append(f"len(_d.shape) == {len(shape)}")
        checks += [f"_d.shape[{d}] == {n}" for d, n in enumerate(shape) if d not in dims_free]
    else:
        checks.append(f"_d.shape == {shape!r}")
    checks.append(f"_d.dtype == {ns.name(data.dtype, 'DT')}")
    checks.append(f"type(_d) is {ns.name(type(data), 'AT')}")
    requires_grad = t.requires_grad
    checks.append(f"_t.requires_grad is {requires_grad}")
    check = f"((_d := (_t := {expr})._data) is not None and " + " and ".join(checks) + ")"
    free = tuple(sorted(dims_free))
    ns.values["_signature"] = tensor_signature
    what = f"{label}: (shape{f' with dynamic dims {list(free)} free' if free else ''}, " \
           "dtype, device, requires_grad)"
    out = [Guard(what, check, tensor_signature(t, free), f"_signature({expr}, {free!r})",
                 kind=GuardKind.TENSOR),
           # its class (nn.Parameter or another subclass): `isinstance(x, nn.Parameter)`
           Guard(f"{label} is a {type(t).__qualname__}",
                 f"(type({expr}) is {ns.name(type(t), 'TT')})", type(t), f"type({expr})",
                 kind=GuardKind.TYPE)]
    # The trace recorded the memory layout (`ir.tracer._layout_of`): `view`, `is_contiguous`,
    # `stride()` and in-place writes into expanded (stride-0) memory depend on it.
    ns.values["_layout"] = layout_of
    layout = layout_of(data)
    # C-contiguous means the canonical strides, size-1 dims included (`stride()` reads
    # them); with free dims or no elements those vary, so `_layout` decides
    if unit_strides_free and data.size and data.flags.c_contiguous and data.ndim < 4 \
            and sum(n > 1 for n in shape) <= 1:
        layout_check = f"{expr}._data.flags.c_contiguous"  # size-1 strides left free
    elif layout is not None:
        layout_check = f"{expr}._data.strides == {layout!r}"
    elif dims_free or not data.size:
        layout_check = f"_layout({expr}._data) is None"
    else:
        layout_check = f"{expr}._data.strides == {tuple(data.strides)!r}"
    out.append(Guard(f"{label}: memory layout (strides; None: C-contiguous)",
                     f"({layout_check})", layout, f"_layout({expr}._data)",
                     kind=GuardKind.EQUAL))
    if leafness and requires_grad:
        leaf = t._grad_fn is None
        out.append(Guard(f"{label} is {'a leaf' if leaf else 'not a leaf'} (grad_fn "
                         f"{'None' if leaf else 'set'})", f"(({expr})._grad_fn is None) is {leaf}",
                         leaf, f"({expr})._grad_fn is None", kind=GuardKind.EQUAL))
    if hooks and requires_grad and t._grad_fn is None:
        out.append(_hook_guard(ns, expr, label, t))
    return out


def build_guards(leaves: list, arg_names: list[str], state: State, cap: Capture,
                 ns: Namespace, shape_env=None) -> Guards:
    """The guards of the variant `cap` traced from a call with argument `leaves`."""
    guards: list[Guard] = []
    free: dict[int, set] = {}
    for _, i, d in (shape_env.sources if shape_env is not None else ()):
        free.setdefault(i, set()).add(d)
    for i, x in enumerate(leaves):
        name = arg_names[i] if i < len(arg_names) else f"argument {i}"
        expr = f"L[{i}]"
        if isinstance(x, Tensor):
            guards += _tensor_guards(ns, expr, name, x, free.get(i, ()),
                                     hooks=cap.ran_backward,
                                     unit_strides_free=not cap.strides_read)
            if i in cap.grad_args:
                has = x._grad is not None
                guards.append(Guard(f"argument {name} {'has' if has else 'has no'} .grad",
                                    f"({expr}._grad is None) is {not has}", has,
                                    f"{expr}._grad is not None"))
        elif is_immutable_value(x):
            check = equality_check(expr, x, ns)
            guards.append(Guard(f"{name} (a Python {type(x).__name__}, baked into the graph)",
                                check, x, expr, kind=GuardKind.EQUAL))
        elif isinstance(x, (Module, Optimizer, types.FunctionType, types.ModuleType, type,
                            types.MethodType, types.BuiltinFunctionType)):
            guards.append(Guard(f"argument {name} is the same {type(x).__name__}",
                                f"({expr} is {ns.name(x)})", x, expr,
                                kind=GuardKind.IDENTITY))
        else:
            guards.append(Guard(f"argument {name} is a {type(x).__qualname__}",
                                f"(type({expr}) is {ns.name(type(x), 'T')})", type(x),
                                f"type({expr})", kind=GuardKind.TYPE))
    guards += _alias_guards(leaves, cap, ns)
    if shape_env is not None and shape_env.guards:
        guards.append(_size_guard(shape_env, ns))
    guards.append(Guard("grad mode enabled", f"({ns.name(grad_mode.STATE, 'GM')}.enabled is "
                        f"{grad_mode.STATE.enabled})", grad_mode.STATE.enabled,
                        f"{ns.name(grad_mode.STATE, 'GM')}.enabled", kind=GuardKind.EQUAL))
    # a graph saves its tensors itself: under saved_tensors_hooks the function runs eagerly
    hooks_active = bool(autograd_graph._saved_tensors_hooks)
    guards.append(Guard("saved_tensors_hooks active",
                        f"(bool({ns.name(autograd_graph._saved_tensors_hooks, 'SH')}) is "
                        f"{hooks_active})", hooks_active,
                        f"bool({ns.name(autograd_graph._saved_tensors_hooks, 'SH')})",
                        kind=GuardKind.EQUAL))
    default = get_default_dtype()
    guards.append(Guard("default dtype", f"(_default_dtype() is {ns.name(default, 'DT')})",
                        default, "_default_dtype()", kind=GuardKind.EQUAL))
    ns.values["_default_dtype"] = get_default_dtype
    for label, where, obj in state.roots:
        guards.append(_root_guard(label, where, obj, ns))
    modules, module_names = {}, {}
    for rname, root in state.modules.items():
        for sub, m in root.named_modules(prefix=rname):
            modules.setdefault(id(m), m)
            module_names.setdefault(id(m), sub or "(the module)")
    for m in cap.recorder.modules.values():
        modules.setdefault(id(m), m)
    for m in modules.values():
        expr = f"{ns.name(m, 'M')}._state_version"
        label = module_names.get(id(m)) or cap.recorder.name_of(m)
        ns.values["_module_summary"] = module_summary
        ns.values["_same_state"] = same_state
        # a version that moved on passes when the state came back (train() after eval())
        snap = ns.name(state_snapshot(m), "MS")
        guards.append(Guard(f"module {label} ({type(m).__name__}) is "
                            "unchanged (attributes, submodules, parameters, hooks)",
                            f"({expr} == {m._state_version} or "
                            f"_same_state({ns.name(m, 'M')}, {snap}))", module_summary(m),
                            f"_module_summary({ns.name(m, 'M')})", kind=GuardKind.VERSION))
        # Module.__call__ (a graphtorch frame, not watched) looks `forward` up on the class:
        # a class patched after tracing (`Net.forward = ...`) must not reuse the graph
        forward = type(m).forward
        guards.append(Guard(f"module {label} ({type(m).__name__}): the class's forward is "
                            "the traced one", f"(type({ns.name(m, 'M')}).forward is "
                            f"{ns.name(forward, 'FWD')})", forward,
                            f"type({ns.name(m, 'M')}).forward", kind=GuardKind.IDENTITY))
    params = all_params(state)
    tensor_names = {id(t): n for n, t in cap.params.items()}
    for p in params:
        guards += _tensor_guards(ns, ns.name(p, "P"), f"parameter {tensor_names.get(id(p), '?')}",
                                 p, leafness=False, hooks=cap.ran_backward)
    observed = [p for p in params if id(p) not in cap.grads_reset]
    if observed:
        names = ", ".join(ns.name(p, "P") for p in observed)
        flags = tuple(p._grad is None for p in observed)
        guards.append(Guard("which parameters have a .grad",
                            f"(tuple(p._grad is None for p in ({names},)) == {flags!r})",
                            flags, f"tuple(p._grad is None for p in ({names},))"))
    bound = {id(p) for p in params}
    for name, t in cap.params.items():
        ref = cap.refs.get(name)
        if id(t) in bound or type(ref).__name__ != "FixedRef" or id(t) in _state_ids(state):
            continue
        guards += _tensor_guards(ns, ns.name(t, "P"), f"captured tensor {name}", t,
                                 leafness=False, hooks=cap.ran_backward)
        if t.requires_grad and t._grad_fn is None:  # a backward inside accumulates into it
            has = t._grad is not None
            guards.append(Guard(f"captured tensor {name} {'has' if has else 'has no'} .grad",
                                f"({ns.name(t, 'P')}._grad is None) is {not has}", has,
                                f"{ns.name(t, 'P')}._grad is not None"))
    for oname, opt in state.optimizers.items():
        o = ns.name(opt, "OPT")
        ns.values["_hyper"], ns.values["_state_keys"] = _hyper, _state_keys
        dynamic = ", ".join(DYNAMIC_HYPERPARAMETERS)
        guards.append(Guard(f"optimizer {oname}: hyper-parameters and parameters ({dynamic}: "
                            "graph inputs, compared by type and sign)",
                            f"(_hyper({o}) == {ns.name(_hyper(opt), 'H')})",
                            _hyper(opt), f"_hyper({o})", kind=GuardKind.CONTENT))
        guards.append(Guard(f"optimizer {oname}: which state entries exist",
                            f"(_state_keys({o}) == {ns.name(_state_keys(opt), 'H')})",
                            _state_keys(opt), f"_state_keys({o})", kind=GuardKind.CONTENT))
    guards += list(cap.recorder.guards.values())
    return Guards(_dedupe(guards), ns, cap.spec)


def _root(array):
    """The object owning `array`'s memory (the end of its ``.base`` chain)."""
    while True:
        base = getattr(array, "base", None)
        if base is None:
            return array
        array = base


def alias_key(tensors, full: bool) -> tuple:
    """How the tensors of a call alias each other: ((i, j, how), ...) for every pair that is
    the same tensor ("same") or, with `full`, whose memory overlaps ("overlap"). Tensors
    sharing an owner without overlapping (DDP's gradients as views of one bucket) count as
    independent, as they are for every read and write. Empty when all are independent (the
    usual case, which costs one pass over the tensors)."""
    if not full:
        ids = [id(t) for t in tensors]
        if len(set(ids)) == len(ids):
            return ()
        return tuple((i, j, "same") for j in range(len(ids)) for i in range(j)
                     if ids[i] == ids[j])
    groups: dict = {}
    for k, t in enumerate(tensors):
        if t is not None:
            groups.setdefault(id(_root(t._data)), []).append(k)
    if len(groups) == sum(1 for t in tensors if t is not None):
        return ()
    out = []
    for ks in groups.values():
        for jj, j in enumerate(ks):
            for i in ks[:jj]:
                a, b = tensors[i], tensors[j]
                if a is b:
                    out.append((i, j, "same"))
                elif type(a._data) is not np.ndarray or type(b._data) is not np.ndarray \
                        or np.shares_memory(a._data, b._data):
                    out.append((i, j, "overlap"))
    return tuple(sorted(out))


def _alias_guards(leaves, cap: Capture, ns: Namespace) -> list[Guard]:
    """The trace merged a tensor passed twice into one graph input, and checked that nothing
    written in place overlaps another input (`capture._check_overlaps`): later calls must
    alias the same way. Without writes only identity matters; with writes (in-place updates,
    ``.grad`` set by a backward) every argument and, once arguments exist, every state
    tensor the graph reads is compared by memory too."""
    args = [i for i, x in enumerate(leaves) if isinstance(x, Tensor)]
    full = bool(cap.writebacks or cap.clear_grads)
    refs = list(cap.refs.values()) if full and args else []
    if len(args) + len(refs) < 2:
        return []

    def tensors(L, args=tuple(args), refs=tuple(refs)):
        out = [L[i] for i in args]
        for ref in refs:
            try:
                out.append(ref.get(L))
            except (KeyError, IndexError, AttributeError):
                out.append(None)
        return out

    def key(L):
        return alias_key(tensors(L), full)

    expected = key(leaves)
    name = ns.name(key, "AK")
    return [Guard("arguments alias each other (and state) as when traced" if full else
                  "arguments passed twice (the same tensor) as when traced",
                  f"({name}(L) == {expected!r})", expected, f"{name}(L)",
                  kind=GuardKind.EQUAL)]


def _dedupe(guards: list[Guard]) -> list[Guard]:
    seen, out = set(), []
    for g in guards:
        if g.check not in seen:
            seen.add(g.check)
            out.append(g)
    return out


def _state_ids(state: State) -> set:
    ids = set()
    for root in state.modules.values():
        ids |= {id(t) for t in root.parameters()} | {id(t) for t in root.buffers()}
    for opt in state.optimizers.values():
        for entries in opt.state.values():
            ids |= {id(v) for v in entries.values()}
    return ids


def _size_guard(shape_env, ns: Namespace) -> Guard:
    sources = shape_env.sources
    conditions = " and ".join(f"({code}) == {value}" for code, value in shape_env.guards)
    binds = ", ".join(f"{name}=L[{i}]._data.shape[{d}]" for name, i, d in sources)
    fn = eval(f"lambda L: (lambda {', '.join(n for n, _, _ in sources)}: {conditions})"  # noqa: S307
              f"(**dict({binds}))") if sources else (lambda L: True)
    return Guard(f"dynamic sizes satisfy: {conditions}", f"({ns.name(fn, 'SZ')}(L) is True)",
                 True, f"{ns.name(fn, 'SZ')}(L)")


def _root_guard(label: str, where, obj, ns: Namespace) -> Guard:
    kind, ref = where
    o = ns.name(obj)
    if kind == "closure":
        expr = f"{ns.name(ref, 'C')}.cell_contents"
        what = f"closure variable {label}"
    elif kind == "global":
        globs, name = ref
        expr = f"{ns.name(globs, 'G')}.get({name!r}, MISSING)"
        what = f"global {label}"
    else:
        return Guard(f"{label} is the same {type(obj).__name__}", "True", obj)
    return Guard(f"{what} is the same {type(obj).__name__}", f"({expr} is {o})", obj, expr,
                 kind=GuardKind.IDENTITY)


def _hyper(opt) -> tuple:
    out = []
    for group in opt.param_groups:
        for key in sorted(group):
            value = group[key]
            if key == "params":
                out.append((key, tuple(id(p) for p in value)))
                continue
            # graph inputs (lr, momentum, ...) by type and sign, other numbers by value
            view = guard_view(key, value) if key in DYNAMIC_HYPERPARAMETERS else value
            out.append((key, view if is_immutable_value(view) else id(value)))
    return tuple(out)


def _state_keys(opt) -> tuple:
    return tuple((id(p), tuple(sorted(s))) for p, s in opt.state.items())
