"""Find the state a function uses: modules, optimizers and tensors it reaches by name.

`gt.compile` binds this state into the graph by reference, with readable names
(``model.fc1.weight``, ``opt.state.model.fc1.weight.momentum_buffer``), so that parameter
updates, optimizer state and gradients written by a compiled training step land where eager
code would put them. Names are looked up where Python would: the function's closure cells,
the globals its code (and nested code) names, default arguments, and ``self`` of a bound
method.
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field

from ..nn.modules.module import Module
from ..optim.optimizer import Optimizer


@dataclass
class State:
    """What a function reaches: named modules, optimizers, and where each was found."""

    modules: dict = field(default_factory=dict)      # name -> Module
    optimizers: dict = field(default_factory=dict)   # name -> Optimizer
    roots: list = field(default_factory=list)        # (description, getter, object)

    def add(self, name: str, obj) -> None:
        """Bind a module or optimizer found another way (an argument, or while tracing)."""
        store = self.modules if isinstance(obj, Module) else self.optimizers
        if any(o is obj for o in store.values()):
            return
        base, k = name, 1
        while name in self.modules or name in self.optimizers:
            k += 1
            name = f"{base}{k}"
        store[name] = obj


def _code_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const)
    return names


def discover(fn, leaves=(), arg_names=()) -> State:
    """The modules and optimizers `fn` refers to (see the module docstring), and those
    passed as arguments (`leaves`, named by `arg_names`)."""
    state = _discover(fn, Module, Optimizer)
    for i, x in enumerate(leaves):
        if isinstance(x, (Module, Optimizer)):
            state.add(arg_names[i] if i < len(arg_names) else f"arg{i}", x)
    return state


def _discover(fn, Module, Optimizer) -> State:  # noqa: N803 - the classes
    state = State()
    candidates = []
    if isinstance(fn, Module):
        candidates.append(("", fn, ("module", None)))
        return _collect(state, candidates, Module, Optimizer)
    if isinstance(fn, types.MethodType):
        candidates.append(("self", fn.__self__, ("self", None)))
        fn = fn.__func__
    code = getattr(fn, "__code__", None)
    if code is None:
        return state
    for name, cell in zip(code.co_freevars, fn.__closure__ or ()):
        try:
            candidates.append((name, cell.cell_contents, ("closure", cell)))
        except ValueError:  # an empty cell
            continue
    globs = getattr(fn, "__globals__", {})
    for name in sorted(_code_names(code)):
        if name in globs:
            candidates.append((name, globs[name], ("global", (globs, name))))
    for i, default in enumerate(fn.__defaults__ or ()):
        candidates.append((f"default{i}", default, ("default", None)))
    return _collect(state, candidates, Module, Optimizer)


def _collect(state: State, candidates, module_cls, optimizer_cls) -> State:
    for name, obj, where in candidates:
        if isinstance(obj, module_cls) and all(obj is not m for m in state.modules.values()):
            state.modules[name] = obj
            state.roots.append((name, where, obj))
        elif isinstance(obj, optimizer_cls) and all(
                obj is not o for o in state.optimizers.values()):
            state.optimizers[name] = obj
            state.roots.append((name, where, obj))
    return state


def root_is_current(where, obj) -> bool:
    """Whether the name a root was found under still refers to the same object."""
    kind, ref = where
    if kind == "closure":
        try:
            return ref.cell_contents is obj
        except ValueError:
            return False
    if kind == "global":
        globs, name = ref
        return globs.get(name) is obj
    return True
