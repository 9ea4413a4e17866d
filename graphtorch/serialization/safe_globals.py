"""User allow-list for `weights_only=True` loads: `add_safe_globals` and `safe_globals`.

The same API as `torch.serialization`: entries are classes/functions, or `(obj, "module.name")`
pairs naming them as the file does. Modules that reach the operating system stay blocked
whatever the list says.
"""

from __future__ import annotations

_BLOCKED_MODULES = ("sys", "os", "posix", "nt", "subprocess", "shutil", "importlib")
_BLOCKED_NAMES = ("builtins.eval", "builtins.exec", "builtins.compile", "builtins.__import__",
                  "builtins.getattr", "builtins.setattr", "builtins.open")
_marked: set = set()


def add_safe_globals(safe_globals: list) -> None:
    """Allow these classes/functions in `gt.load(..., weights_only=True)`.

    Only add classes you trust: loading calls their constructor and `__setstate__`.

    >>> gt.serialization.add_safe_globals([TheModelClass])
    >>> model = gt.load("model.pt")
    """
    global _marked
    _marked = _marked | set(safe_globals)


def get_safe_globals() -> list:
    """The user-added globals allowed for `weights_only=True` loads."""
    return list(_marked)


def clear_safe_globals() -> None:
    """Forget every global added with `add_safe_globals`."""
    global _marked
    _marked = set()


def _remove_safe_globals(globals_to_remove) -> None:
    global _marked
    _marked = _marked - set(globals_to_remove)


class safe_globals:
    """Context manager allowing globals for `weights_only=True` loads inside the block.

    >>> with gt.serialization.safe_globals([TheModelClass]):
    ...     model = gt.load("model.pt")
    """

    def __init__(self, safe_globals: list):
        self.safe_globals = safe_globals

    def __enter__(self):
        add_safe_globals(self.safe_globals)

    def __exit__(self, exc_type, exc, tb):
        _remove_safe_globals(self.safe_globals)


def user_allowed_globals() -> dict:
    """{"module.qualname": object} for every user-added global."""
    allowed = {}
    for entry in _marked:
        if isinstance(entry, tuple):
            if len(entry) != 2:
                raise ValueError(f"Expected tuple of length 2 (global, str of callable full "
                                 f"path), but got tuple of length: {len(entry)}")
            if type(entry[1]) is not str:
                raise TypeError(f"Expected second item in tuple to be str of callable full "
                                f"path, but got: {type(entry[1])}")
            allowed[entry[1]] = entry[0]
        else:
            allowed[f"{entry.__module__}.{entry.__qualname__}"] = entry
    return allowed


def is_blocked(full_path: str) -> bool:
    """Globals from these modules are refused even when a user allowed them."""
    module = full_path.rsplit(".", 1)[0]
    return full_path in _BLOCKED_NAMES or any(
        module == m or module.startswith(m + ".") for m in _BLOCKED_MODULES)
