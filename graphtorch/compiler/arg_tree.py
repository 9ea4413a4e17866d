"""Pytrees of a compiled function's arguments and results.

Arguments and results may be nested tuples, lists, dicts (insertion order kept), namedtuples
and None, with anything at the leaves. `flatten` returns the leaves and a hashable `spec`
describing the structure (dict keys included), so a guard can compare structures with one
equality; `unflatten` rebuilds the same containers (a list stays a list).
"""

from __future__ import annotations

from typing import Any

LEAF = "leaf"


def flatten(tree) -> tuple[list, Any]:
    """(leaves, spec) of `tree`. Plain tuples of non-containers, the usual arguments, take
    a fast path whose spec is their length."""
    if type(tree) is tuple:
        for x in tree:
            if type(x) in _CONTAINERS or _is_namedtuple(x):
                break
        else:
            return list(tree), len(tree)
    leaves: list = []
    spec = _flatten(tree, leaves)
    return leaves, spec


_CONTAINERS = (tuple, list, dict)


def _is_namedtuple(x) -> bool:
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def _flatten(x, leaves: list):
    t = type(x)
    if t is tuple:
        return ("tuple", tuple(_flatten(v, leaves) for v in x))
    if t is list:
        return ("list", tuple(_flatten(v, leaves) for v in x))
    if t is dict:
        return ("dict", tuple(x.keys()), tuple(_flatten(v, leaves) for v in x.values()))
    if _is_namedtuple(x):
        return ("namedtuple", t, tuple(_flatten(v, leaves) for v in x))
    leaves.append(x)
    return LEAF


def unflatten(spec, leaves: list):
    """The tree `spec` describes, with `leaves` in order."""
    if type(spec) is int:
        return tuple(leaves)
    it = iter(leaves)
    return _build(spec, it)


def _build(spec, it):
    if spec == LEAF:
        return next(it)
    kind = spec[0]
    if kind == "tuple":
        return tuple(_build(s, it) for s in spec[1])
    if kind == "list":
        return [_build(s, it) for s in spec[1]]
    if kind == "dict":
        return {k: _build(s, it) for k, s in zip(spec[1], spec[2])}
    return spec[1](*(_build(s, it) for s in spec[2]))
