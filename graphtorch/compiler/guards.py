"""Guards: what a compiled variant specialised on, checked before every call.

Each guard reads one property of the call (an argument's shape, dtype or requires_grad, a
Python argument's value, grad mode, a module's ``training`` flag, a parameter's identity, an
optimizer's hyper-parameters) and compares it with the value seen when tracing. When a
variant's guards fail, `first_failure` says which one, with the old and the new value, for
the recompile log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .capture import DYNAMIC_HYPERPARAMETERS, all_params
from .discovery import State, root_is_current

_ndarray = np.ndarray


@dataclass(frozen=True)
class Guard:
    """``read(leaves) == expected``, described for people as `description`."""

    description: str
    read: Callable[[list], Any]
    expected: Any


class Guards:
    """All guards of one compiled variant."""

    def __init__(self, guards: list[Guard]):
        self.guards = guards
        self._checks = tuple((g.read, g.expected) for g in guards)

    def check(self, leaves) -> bool:
        try:
            for read, expected in self._checks:
                if read(leaves) != expected:
                    return False
        except Exception:  # noqa: BLE001 - a changed structure fails the guard
            return False
        return True

    def first_failure(self, leaves) -> tuple[str, Any, Any] | None:
        """(description, value when compiled, value now) of the first failing guard."""
        for g in self.guards:
            try:
                now = g.read(leaves)
            except Exception as exc:  # noqa: BLE001
                now = f"<{type(exc).__name__}: {exc}>"
            if now != g.expected:
                return g.description, g.expected, now
        return None

    def __len__(self):
        return len(self.guards)

    def describe(self) -> list[str]:
        return [f"{g.description} == {g.expected!r}" for g in self.guards]


def _tensor_signature(t):
    """(shape, dtype, on the CPU, requires_grad): the NumPy dtype object and the array type
    stand for dtype and device, so the check costs no Python-level property calls."""
    data = t._data
    return (data.shape, data.dtype, type(data) is _ndarray, t._requires_grad)


def _dynamic_signature(t, symbolic_dims):
    """Like `_tensor_signature`, with the sizes of symbolic dims left out (None)."""
    data = t._data
    shape = tuple(None if d in symbolic_dims else n for d, n in enumerate(data.shape))
    return (shape, data.dtype, type(data) is _ndarray, t._requires_grad)


def _sizes(leaves, sources) -> dict:
    return {name: leaves[i]._data.shape[d] for name, i, d in sources}


def build_guards(leaves: list, arg_names: list[str], state: State,
                 grads_reset: set = frozenset(), shape_env=None) -> Guards:
    """Guards for a call with argument `leaves` and the state it reaches. Parameters in
    `grads_reset` (ids) had their .grad reset by zero_grad before the traced code read it,
    so whether they had a gradient is not guarded."""
    from ..autograd import grad_mode
    from ..dtypes import get_default_dtype
    from ..tensor import Tensor

    guards = [Guard("number of arguments", len, len(leaves))]
    symbolic_dims: dict[int, set] = {}
    for _, i, d in (shape_env.sources if shape_env is not None else ()):
        symbolic_dims.setdefault(i, set()).add(d)
    for i, x in enumerate(leaves):
        name = arg_names[i] if i < len(arg_names) else f"argument {i}"
        if isinstance(x, Tensor) and i in symbolic_dims:
            dims = symbolic_dims[i]
            guards.append(Guard(f"{name}: (shape with dynamic dims {sorted(dims)} free, dtype, "
                                "device, requires_grad)",
                                lambda ls, i=i, dims=dims: _dynamic_signature(ls[i], dims),
                                _dynamic_signature(x, dims)))
        elif isinstance(x, Tensor):
            guards.append(Guard(f"{name}: (shape, dtype, device, requires_grad)",
                                lambda ls, i=i: _tensor_signature(ls[i]),
                                _tensor_signature(x)))
        elif isinstance(x, (bool, int, float, str, type(None), complex)):
            guards.append(Guard(f"{name} (a Python {type(x).__name__}, baked into the graph)",
                                lambda ls, i=i: (type(ls[i]), ls[i]), (type(x), x)))
        else:
            guards.append(Guard(f"{name} is the same object", lambda ls, i=i: id(ls[i]),
                                id(x)))
    if shape_env is not None and shape_env.guards:
        sources = shape_env.sources
        conditions = " and ".join(f"({code}) == {value}" for code, value in shape_env.guards)
        check = compile(conditions, "<size guards>", "eval")
        guards.append(Guard(f"dynamic sizes satisfy: {conditions}",
                            lambda ls: eval(check, {}, _sizes(ls, sources)),  # noqa: S307
                            True))
    guards.append(Guard("grad mode enabled", lambda ls: grad_mode.STATE.enabled,
                        grad_mode.STATE.enabled))
    guards.append(Guard("default dtype", lambda ls: get_default_dtype(), get_default_dtype()))
    for name, where, obj in state.roots:
        guards.append(Guard(f"{name!r} refers to the same object",
                            lambda ls, w=where, o=obj: root_is_current(w, o), True))
    for mname, module in state.modules.items():
        label = mname or "the module"
        subs = [m for _, m in module.named_modules()]
        guards.append(Guard(f"{label}: training flags of its submodules",
                            lambda ls, subs=subs: tuple(m.training for m in subs),
                            tuple(m.training for m in subs)))
        guards.append(Guard(f"{label}: its parameters and buffers (same tensors)",
                            lambda ls, subs=subs: _state_ids(subs), _state_ids(subs)))
    params = all_params(state)
    if params:
        guards.append(Guard("parameters: (shape, dtype, device, requires_grad)",
                            lambda ls: tuple(_tensor_signature(p) for p in params),
                            tuple(_tensor_signature(p) for p in params)))
        observed = [p for p in params if id(p) not in grads_reset]
        if observed:
            guards.append(Guard("which parameters have a .grad",
                                lambda ls: tuple(p._grad is None for p in observed),
                                tuple(p._grad is None for p in observed)))
    for oname, opt in state.optimizers.items():
        dynamic = ", ".join(DYNAMIC_HYPERPARAMETERS)
        guards.append(Guard(f"{oname}: hyper-parameters (except {dynamic})",
                            lambda ls, o=opt: _hyper(o), _hyper(opt)))
        guards.append(Guard(f"{oname}: optimizer state entries",
                            lambda ls, o=opt: _state_keys(o), _state_keys(opt)))
    return Guards(guards)


def _state_ids(modules) -> tuple:
    return tuple(id(t) for m in modules for t in (*m._parameters.values(),
                                                   *m._buffers.values()))


def _hyper(opt) -> tuple:
    out = []
    for group in opt.param_groups:
        for key in sorted(group):
            if key == "params":
                continue
            value = group[key]
            if key in DYNAMIC_HYPERPARAMETERS and isinstance(value, float):
                out.append((key, "dynamic"))
            elif isinstance(value, (bool, int, float, str, type(None), tuple)):
                out.append((key, value))
            else:
                out.append((key, id(value)))
    return tuple(out)


def _state_keys(opt) -> tuple:
    return tuple((id(p), tuple(sorted(s))) for p, s in opt.state.items())
