"""`gt.nn.utils.stateless.functional_call`: run a module with some of its parameters and
buffers replaced by given tensors (PyTorch's `torch.nn.utils.stateless`).

The module's own tensors are swapped out for the call (`_parameters`/`_buffers` entries and
plain tensor attributes) and put back afterwards, even when the forward raises. The swapped
stores bump the module's state version, so compiled callers see the change.
"""

from __future__ import annotations

import contextlib
import warnings

from ...tensor import Tensor

__all__ = ["functional_call"]


def _tied_names(module) -> dict:
    """name -> every name of the same tensor (tied weights), in registration order."""
    groups: dict = {}
    for name, t in list(module.named_parameters(remove_duplicate=False)) + \
            list(module.named_buffers(remove_duplicate=False)):
        groups.setdefault(id(t), []).append(name)
    return {name: names for names in groups.values() if len(names) > 1 for name in names}


def _untie(module, mapping: dict, tie_weights: bool) -> dict:
    if not tie_weights:
        return dict(mapping)
    tied = _tied_names(module)
    result = dict(mapping)
    for name, value in mapping.items():
        for other in tied.get(name, ()):
            if other in mapping and mapping[other] is not value:
                raise ValueError(f"functional_call got multiple values for keys "
                                 f"{sorted(set(tied[name]) & set(mapping))}, which are tied. "
                                 "Consider using tie_weights=False")
            result.setdefault(other, value)
    return result


def _owner(module, name: str):
    *path, leaf = name.split(".")
    for part in path:
        module = getattr(module, part)
    return module, leaf


def _check_strict(module, names) -> None:
    expected = {n for n, _ in module.named_parameters(remove_duplicate=False)} | \
        {n for n, _ in module.named_buffers(remove_duplicate=False)}
    missing = sorted(expected - set(names))
    unexpected = sorted(set(names) - expected)
    msgs = []
    if unexpected:
        msgs.append("Unexpected key(s): " + ", ".join(map(repr, unexpected)) + ".")
    if missing:
        msgs.append("Missing key(s): " + ", ".join(map(repr, missing)) + ".")
    if msgs:
        raise RuntimeError(f"Error(s) in reparametrizing for {type(module).__name__}:\n\t"
                           + "\n\t".join(msgs))


@contextlib.contextmanager
def _reparametrize(module, mapping: dict, tie_weights: bool = True, strict: bool = False):
    mapping = _untie(module, mapping, tie_weights)
    if strict:
        _check_strict(module, mapping)
    saved = []
    try:
        for name, value in mapping.items():
            owner, leaf = _owner(module, name)
            d = owner.__dict__
            if leaf in d.get("_parameters", {}):
                store = d["_parameters"]
            elif leaf in d.get("_buffers", {}):
                store = d["_buffers"]
            else:
                store = None
            if store is not None:
                saved.append((store, leaf, store[leaf], True))
                store[leaf] = value
            else:  # a new name or a plain attribute: set it on the instance
                had = leaf in d
                saved.append((d, leaf, d.get(leaf), had))
                d[leaf] = value
        yield
    finally:
        for store, leaf, old, had in reversed(saved):
            if had:
                store[leaf] = old
            else:
                store.pop(leaf, None)


def functional_call(module, parameters_and_buffers, args=None, kwargs=None, *,
                    tie_weights: bool = True, strict: bool = False):
    """`torch.nn.utils.stateless.functional_call` (deprecated in PyTorch 2.0 for
    `torch.func.functional_call`; it warns as PyTorch does): see `call_with`."""
    warnings.warn("`torch.nn.utils.stateless.functional_call` is deprecated as of PyTorch 2.0 "
                  "and will be removed in a future version of PyTorch. Please use "
                  "`torch.func.functional_call` instead which is a drop-in replacement.",
                  FutureWarning, stacklevel=2)
    return call_with(module, parameters_and_buffers, args, kwargs, tie_weights=tie_weights,
                     strict=strict)


def call_with(module, parameters_and_buffers, args=None, kwargs=None, *,
              tie_weights: bool = True, strict: bool = False):
    """Call `module(*args, **kwargs)` with its parameters and buffers named in
    `parameters_and_buffers` (a dict name -> tensor) replaced for this call only.

    `tie_weights`: a tensor given for one of several tied names is used for all of them.
    `strict`: the dict must name exactly the module's parameters and buffers.

    >>> m = gt.nn.Linear(2, 1)
    >>> call_with(m, {"weight": gt.ones(1, 2), "bias": gt.zeros(1)}, (gt.ones(2),))
    tensor([2.])
    """
    if not isinstance(parameters_and_buffers, dict):
        raise TypeError(f"Expected parameters_and_buffers to be a dict, but got "
                        f"{type(parameters_and_buffers)}")
    for name, value in parameters_and_buffers.items():
        if not isinstance(name, str):
            raise TypeError(f"Expected all keys of parameters_and_buffers to be strings, got "
                            f"{type(name)}")
        if value is not None and not isinstance(value, Tensor):
            raise TypeError(f"Expected all values of parameters_and_buffers to be Tensors, "
                            f"got {type(value)} for {name!r}")
    if kwargs is None:
        kwargs = {}
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    with _reparametrize(module, parameters_and_buffers, tie_weights=tie_weights,
                        strict=strict):
        return module(*args, **kwargs)
