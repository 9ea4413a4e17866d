"""The scenario families and `generate`, the one entry point both drivers use.

Each family module has ``KINDS``: name -> builder(chooser) returning a `Scenario` whose
family/kind/seed `generate` fills in. Every kind is reachable: `generate` picks the family
and then the kind from the chooser unless they are given.
"""

from __future__ import annotations

from dataclasses import replace

from ..choice import Chooser
from ..scenario import Scenario
from . import (
    autograd_edges,
    control_flow,
    custom_functions,
    dtypes,
    dynamic,
    errors,
    guards_module,
    guards_python,
    hooks_and_structure,
    mutation,
    nn_layers,
    numbers,
    ops,
    pytrees,
    randomness,
    training,
    views_aliasing,
)

FAMILIES = {
    "guards_python": guards_python.KINDS,
    "guards_module": guards_module.KINDS,
    "mutation": mutation.KINDS,
    "random": randomness.KINDS,
    "pytree": pytrees.KINDS,
    "dynamic": dynamic.KINDS,
    "autograd": autograd_edges.KINDS,
    "training": training.KINDS,
    "dtypes": dtypes.KINDS,
    "ops": ops.KINDS,
    "control_flow": control_flow.KINDS,
    "nn_layers": nn_layers.KINDS,
    "numbers": numbers.KINDS,
    "views_aliasing": views_aliasing.KINDS,
    "custom_functions": custom_functions.KINDS,
    "hooks_and_structure": hooks_and_structure.KINDS,
    "errors": errors.KINDS,
}


def kinds(family: str) -> list[str]:
    return list(FAMILIES[family])


def generate(ch: Chooser, seed: int, family: str | None = None,
             kind: str | None = None) -> Scenario:
    """A scenario of `family`/`kind` (drawn from `ch` when not given)."""
    family = family or ch.choice(list(FAMILIES))
    kind = kind or ch.choice(kinds(family))
    scenario = FAMILIES[family][kind](ch)
    return replace(scenario, family=family, kind=kind, seed=seed)
