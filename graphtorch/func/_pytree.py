"""A small pytree: tuples, lists, dicts (and namedtuples) of leaves, as torch.func sees
its arguments and results."""

from __future__ import annotations


class Spec:
    """The structure of a pytree: `kind` ("leaf", "tuple", "list", "dict", "namedtuple"),
    the dict keys or namedtuple type in `context`, the children's specs."""

    __slots__ = ("kind", "context", "children", "num_leaves")

    def __init__(self, kind, context=None, children=()):
        self.kind = kind
        self.context = context
        self.children = tuple(children)
        self.num_leaves = 1 if kind == "leaf" else sum(c.num_leaves for c in self.children)

    def __eq__(self, other):
        return isinstance(other, Spec) and (self.kind, self.context, self.children) == (
            other.kind, other.context, other.children)

    def __hash__(self):
        return hash((self.kind, self.children))

    def __repr__(self):
        if self.kind == "leaf":
            return "*"
        if self.kind == "dict":
            inner = ", ".join(f"{k!r}: {c!r}" for k, c in zip(self.context, self.children))
            return "{" + inner + "}"
        inner = ", ".join(repr(c) for c in self.children)
        return f"({inner},)" if self.kind != "list" else f"[{inner}]"


LEAF = Spec("leaf")


def tree_flatten(tree):
    """(leaves, spec)."""
    leaves: list = []
    return leaves, _flatten(tree, leaves)


def _flatten(tree, leaves) -> Spec:
    if isinstance(tree, tuple) and hasattr(tree, "_fields"):
        return Spec("namedtuple", type(tree), [_flatten(x, leaves) for x in tree])
    if isinstance(tree, tuple):
        return Spec("tuple", None, [_flatten(x, leaves) for x in tree])
    if isinstance(tree, list):
        return Spec("list", None, [_flatten(x, leaves) for x in tree])
    if isinstance(tree, dict):
        keys = tuple(tree.keys())
        return Spec("dict", keys, [_flatten(tree[k], leaves) for k in keys])
    leaves.append(tree)
    return LEAF


def tree_unflatten(leaves, spec: Spec):
    it = iter(leaves)
    return _build(it, spec)


def _build(it, spec: Spec):
    if spec.kind == "leaf":
        return next(it)
    items = [_build(it, c) for c in spec.children]
    if spec.kind == "tuple":
        return tuple(items)
    if spec.kind == "namedtuple":
        return spec.context(*items)
    if spec.kind == "list":
        return items
    return dict(zip(spec.context, items))


def tree_map(fn, tree):
    leaves, spec = tree_flatten(tree)
    return tree_unflatten([fn(x) for x in leaves], spec)


def broadcast_prefix(prefix, tree, error):
    """The leaves of `prefix` repeated over `tree`'s leaves (a prefix leaf covers a whole
    subtree); `error()` makes the exception for structures that do not match."""
    out: list = []
    _broadcast(prefix, tree, out, error)
    return out


def _broadcast(prefix, tree, out, error):
    p_leaves, p_spec = tree_flatten(prefix) if isinstance(prefix, (tuple, list, dict)) \
        else ([prefix], LEAF)
    if p_spec.kind == "leaf":
        out.extend([prefix] * tree_flatten(tree)[1].num_leaves)
        return
    if isinstance(prefix, dict):
        if not isinstance(tree, dict) or set(prefix) != set(tree):
            raise error()
        for k in tree:
            _broadcast(prefix[k], tree[k], out, error)
        return
    if type(prefix) is not type(tree) and not (isinstance(prefix, (tuple, list))
                                               and isinstance(tree, (tuple, list))):
        raise error()
    if len(prefix) != len(tree):
        raise error()
    for p, t in zip(prefix, tree):
        _broadcast(p, t, out, error)
