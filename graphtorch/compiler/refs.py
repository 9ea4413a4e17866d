"""Where a compiled program finds each tensor it reads or writes, resolved at every call.

A graph input is not a tensor object frozen at trace time but a path: argument ``i`` of
this call, a module's parameter (the object itself: the module's state version guards which
one it is), ``p.grad`` of a parameter or argument, ``opt.state[p]["exp_avg"]``, or an
optimizer hyper-parameter. So when eager code replaces ``p.grad`` or an optimizer's state
between calls, the compiled program reads and writes the current one.
"""

from __future__ import annotations

import numpy as np


class TensorRef:
    """Resolves to a tensor for one call (`get(leaves)`)."""

    def get(self, leaves):
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


class ArgRef(TensorRef):
    __slots__ = ("index", "name")

    def __init__(self, index: int, name: str):
        self.index = index
        self.name = name

    def get(self, leaves):
        return leaves[self.index]

    def describe(self):
        return self.name


class FixedRef(TensorRef):
    """A tensor object that stays the same (a parameter, a buffer, a captured tensor)."""

    __slots__ = ("tensor", "name")

    def __init__(self, tensor, name: str):
        self.tensor = tensor
        self.name = name

    def get(self, leaves):
        return self.tensor

    def describe(self):
        return self.name


class GradRef(TensorRef):
    """``owner.grad`` as it is at call time."""

    __slots__ = ("owner",)

    def __init__(self, owner: TensorRef):
        self.owner = owner

    def get(self, leaves):
        return self.owner.get(leaves)._grad

    def describe(self):
        return f"{self.owner.describe()}.grad"


class OptimizerStateRef(TensorRef):
    """``opt.state[param][key]`` as it is at call time."""

    __slots__ = ("optimizer", "param", "key", "name")

    def __init__(self, optimizer, param, key: str, name: str):
        self.optimizer = optimizer
        self.param = param
        self.key = key
        self.name = name

    def get(self, leaves):
        # `.get`: optimizer state is a defaultdict, and a guard asking about a parameter
        # with no state must not give it an (empty) entry that eager would not have
        entry = self.optimizer.state.get(self.param)
        if entry is None:
            raise KeyError(self.key)
        return entry[self.key]

    def describe(self):
        return self.name


class HyperParameter:
    """An optimizer hyper-parameter fed to the graph as a float64 scalar at every call
    (``opt.param_groups[g]["lr"]``, or entry `index` of ``["betas"]``), so a scheduler
    changing it never recompiles (`hyperparameters`)."""

    __slots__ = ("optimizer", "group", "key", "name", "index")

    def __init__(self, optimizer, group: int, key: str, name: str, index: int | None = None):
        self.optimizer = optimizer
        self.group = group
        self.key = key
        self.name = name
        self.index = index

    def array(self):
        value = self.optimizer.param_groups[self.group][self.key]
        if self.index is not None:
            value = value[self.index]
        return np.asarray(value, dtype=np.float64)

    def describe(self):
        return self.name
