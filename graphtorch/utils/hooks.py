"""`RemovableHandle`: what every register_*_hook returns (PyTorch's torch.utils.hooks)."""

from __future__ import annotations

import itertools
import weakref


class RemovableHandle:
    """Returned by the register_*_hook methods; `remove()` unregisters the hook (also
    from the `extra_dict`s that hold its flags, such as with_kwargs)."""

    _ids = itertools.count()

    def __init__(self, hooks_dict, *, extra_dict=None):
        self.hooks_dict_ref = _ref(hooks_dict)
        self.id = next(RemovableHandle._ids)
        extras = extra_dict if isinstance(extra_dict, list) else \
            ([extra_dict] if extra_dict is not None else [])
        self.extra_dict_ref = tuple(_ref(d) for d in extras)

    def remove(self) -> None:
        hooks = self.hooks_dict_ref()
        if hooks is not None and self.id in hooks:
            del hooks[self.id]
        for ref in self.extra_dict_ref:
            extra = ref()
            if extra is not None and self.id in extra:
                del extra[self.id]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def _ref(d):
    """A weak reference where the dict type allows one (plain dicts do not)."""
    try:
        return weakref.ref(d)
    except TypeError:
        return lambda: d
