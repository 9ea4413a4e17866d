"""PyTorch's NumPy-style keyword names: ``axis`` for ``dim`` and ``keepdims`` for ``keepdim``.

PyTorch's argument parser takes them on every native function and Tensor method with a
`dim`/`keepdim` parameter (``torch.cumprod(a, axis=0)``, ``x.sum(axis=1, keepdims=True)``),
but not on those written in Python (``torch.split``, ``Tensor.norm``, ``F.softmax``).
`add_numpy_names` wraps the first kind in a namespace (gt's functions, Tensor's methods).
"""

from __future__ import annotations

import functools
import inspect
import types

_ALIASES = (("axis", "dim"), ("keepdims", "keepdim"))

# Functions and methods that PyTorch defines in Python: they refuse the NumPy names.
PYTHON_LEVEL = frozenset({
    "split", "norm", "unique", "unique_consecutive", "unflatten", "stft", "istft",
    "mark_dynamic", "lu", "align_to", "refine_names", "rename", "rename_",
})


def accept_numpy_names(fn):
    """`fn`, taking ``axis=``/``keepdims=`` for its `dim`/`keepdim` parameters (or `fn`
    itself when it has neither, or takes ``**kwargs``).

    >>> accept_numpy_names(gt.sum)(gt.ones(2, 3), axis=1, keepdims=True).shape
    torch.Size([2, 1])
    """
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return fn
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return fn
    aliases = tuple((alias, name) for alias, name in _ALIASES
                    if name in params and alias not in params)
    if not aliases:
        return fn

    @functools.wraps(fn)
    def with_numpy_names(*args, **kwargs):
        if kwargs:
            for alias, name in aliases:
                if alias in kwargs:
                    if name in kwargs:  # PyTorch's parser words it so
                        raise TypeError(f"{fn.__name__}() got an unexpected keyword argument "
                                        f"'{alias}'")
                    kwargs[name] = kwargs.pop(alias)
        return fn(*args, **kwargs)
    with_numpy_names.__numpy_names__ = True
    return with_numpy_names


def add_numpy_names(namespace: dict, module: str, owner: str = "") -> None:
    """Wrap (in place) each plain function of `namespace` that PyTorch implements natively
    with `accept_numpy_names`. A wrapper is named where it is installed (`module`, and the
    class `owner` for methods), so pickle finds it there (``pickle.dumps(gt.sum)``)."""
    for name, value in list(namespace.items()):
        if name.startswith("_") or name in PYTHON_LEVEL:
            continue
        if isinstance(value, types.FunctionType) and \
                not getattr(value, "__numpy_names__", False):
            wrapped = accept_numpy_names(value)
            if wrapped is not value:
                wrapped.__module__ = module
                wrapped.__qualname__ = f"{owner}.{name}" if owner else name
                namespace[name] = wrapped
