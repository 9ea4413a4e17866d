"""A state version per module: one integer that changes whenever the module changes.

`gt.compile` bakes what a module's forward reads (``Dropout.p``, ``training``, which
submodules and hooks exist) into its graph, so before every call it must know whether any of
that changed. Rather than re-reading every attribute, each module carries
``_state_version``, bumped by every assignment of an attribute to a different value and by
every change of its parameter, buffer, submodule and hook dictionaries (which are
`VersionedDict`/`VersionedOrderedDict`s owned by the module). A guard then compares one
integer per module.
"""

from __future__ import annotations

from collections import OrderedDict

_MISSING = object()

# The module dictionaries whose changes bump the version.
VERSIONED_STORES = (
    "_parameters", "_buffers", "_modules", "_backward_pre_hooks", "_backward_hooks",
    "_forward_hooks", "_forward_hooks_with_kwargs", "_forward_hooks_always_called",
    "_forward_pre_hooks", "_forward_pre_hooks_with_kwargs")


def bump(module) -> None:
    """Record that `module` changed."""
    d = module.__dict__
    d["_state_version"] = d.get("_state_version", 0) + 1


def _bump_owner(store) -> None:
    owner = getattr(store, "_owner", None)
    if owner is not None:
        bump(owner)


class _Versioned:
    """Mixin for dict types: every change bumps the owner module's version."""

    def __setitem__(self, key, value):
        if self.get(key, _MISSING) is not value:
            _bump_owner(self)
        super().__setitem__(key, value)

    def __delitem__(self, key):
        _bump_owner(self)
        super().__delitem__(key)

    def pop(self, *args):
        _bump_owner(self)
        return super().pop(*args)

    def popitem(self, *args, **kwargs):
        _bump_owner(self)
        return super().popitem(*args, **kwargs)

    def clear(self):
        _bump_owner(self)
        super().clear()

    def update(self, *args, **kwargs):
        _bump_owner(self)
        super().update(*args, **kwargs)

    def setdefault(self, key, default=None):
        if key not in self:
            _bump_owner(self)
        return super().setdefault(key, default)

    def move_to_end(self, *args, **kwargs):
        _bump_owner(self)
        return super().move_to_end(*args, **kwargs)


class VersionedDict(_Versioned, dict):
    """A dict whose changes bump its owner module's state version."""


class VersionedOrderedDict(_Versioned, OrderedDict):
    """An OrderedDict whose changes bump its owner module's state version."""


def versioned(store, owner):
    """`store` as a versioned dict owned by `owner` (the same object if it already is)."""
    if isinstance(store, _Versioned) and getattr(store, "_owner", None) is owner:
        return store
    cls = VersionedOrderedDict if isinstance(store, OrderedDict) else VersionedDict
    new = cls(store)
    new._owner = owner
    return new


def plain(store):
    """A versioned dict as the plain dict (or OrderedDict) it stands for."""
    return OrderedDict(store) if isinstance(store, OrderedDict) else dict(store)


def changed(old, new) -> bool:
    """Whether assigning `new` over `old` changes what code reading the attribute sees."""
    if old is new:
        return False
    scalar = (bool, int, float, str, type(None))
    return not (type(old) in scalar and type(old) is type(new) and old == new)


def state_snapshot(module) -> tuple:
    """What `_state_version` stands for, held by reference: every attribute, and every item
    of the versioned stores. A compiled variant keeps one, so that a module whose version
    moved on but whose state came back (``model.train()`` after ``model.eval()``) still
    matches the variant traced in that state."""
    d = module.__dict__
    return tuple((k, tuple(v.items()) if k in VERSIONED_STORES else v)
                 for k, v in d.items() if k != "_state_version")


def same_state(module, snap: tuple) -> bool:
    """Whether `module` looks as it did when `snap` was taken (`state_snapshot`): the same
    attributes in the same order, each the same object or an equal scalar of the same type,
    and the same items, by identity, in each versioned store."""
    now = state_snapshot(module)
    if len(now) != len(snap):
        return False
    for (key, value), (old_key, old) in zip(now, snap):
        if key != old_key:
            return False
        if key in VERSIONED_STORES:
            if len(value) != len(old) or any(
                    k != ok or v is not ov for (k, v), (ok, ov) in zip(value, old)):
                return False
        elif changed(old, value):
            return False
    return True


def restore_state(module, snap: tuple, version: int) -> None:
    """Give `module` back the attributes and store items of `snap` (`state_snapshot`) and
    its state version then: undoes what an aborted trace changed."""
    d = module.__dict__
    kept = {key for key, _ in snap}
    for key in [k for k in d if k not in kept and k != "_state_version"]:
        del d[key]
    for key, value in snap:
        if key in VERSIONED_STORES:
            store = d.get(key)
            if store is None:
                continue
            # the base class's operations: no version bumps (dict's own would corrupt an
            # OrderedDict's order links: iterating it then raises KeyError)
            base = OrderedDict if isinstance(store, OrderedDict) else dict
            base.clear(store)
            for k, v in value:
                base.__setitem__(store, k, v)
        else:
            d[key] = value
    d["_state_version"] = version
