"""State dicts of modules: saving parameters and persistent buffers under dotted names,
and loading them back with PyTorch's missing/unexpected-key bookkeeping and error texts.

`Module.state_dict`, `_load_from_state_dict` and `load_state_dict` delegate here.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict, namedtuple
from collections.abc import Mapping

from ...autograd import grad_mode
from ...tensor import Tensor
from ..parameter import Parameter

EXTRA_STATE_KEY_SUFFIX = "_extra_state"


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """load_state_dict's result; prints `<All keys matched successfully>` when empty."""

    __slots__ = ()

    def __repr__(mod):
        if not mod.missing_keys and not mod.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


def _overrides(module, name) -> bool:
    # lazy: module.py imports this module before it defines Module
    from .module import Module

    return getattr(type(module), name) is not getattr(Module, name)


def save_to_state_dict(mod, destination, prefix, keep_vars) -> None:
    """The module's own parameters and persistent buffers (and extra state)."""
    for name, param in mod._parameters.items():
        if param is not None:
            destination[prefix + name] = param if keep_vars else param.detach()
    for name, buf in mod._buffers.items():
        if buf is not None and name not in mod._non_persistent_buffers_set:
            destination[prefix + name] = buf if keep_vars else buf.detach()
    if _overrides(mod, "get_extra_state"):
        destination[prefix + EXTRA_STATE_KEY_SUFFIX] = mod.get_extra_state()


def state_dict(mod, args, destination, prefix, keep_vars):
    """Parameters and persistent buffers by dotted name (detached unless keep_vars)."""
    if args:  # the deprecated positional form (destination, prefix, keep_vars)
        destination = args[0]
        if len(args) > 1 and prefix == "":
            prefix = args[1]
        if len(args) > 2 and keep_vars is False:
            keep_vars = args[2]
    if destination is None:
        destination = OrderedDict()
        destination._metadata = OrderedDict()
    local_metadata = {"version": mod._version}  # the hooks below may add to it
    if hasattr(destination, "_metadata"):
        destination._metadata[prefix[:-1]] = local_metadata
    for hook in mod._state_dict_pre_hooks.values():
        hook(mod, prefix, keep_vars)
    mod._save_to_state_dict(destination, prefix, keep_vars)
    for name, module in mod._modules.items():
        if module is not None:
            module.state_dict(destination=destination, prefix=prefix + name + ".",
                              keep_vars=keep_vars)
    for hook in mod._state_dict_hooks.values():
        result = hook(mod, destination, prefix, local_metadata)
        if result is not None:
            destination = result
    return destination


def load_from_state_dict(mod, state_dict, prefix, local_metadata, strict, missing_keys,
                         unexpected_keys, error_msgs) -> None:
    """Load this module's own tensors (not its children's) from `state_dict`."""
    for hook in mod._load_state_dict_pre_hooks.values():
        hook(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
             error_msgs)
    persistent = {k: v for k, v in mod._buffers.items()
                  if k not in mod._non_persistent_buffers_set}
    local_state = {k: v for k, v in itertools.chain(mod._parameters.items(),
                                                    persistent.items()) if v is not None}
    assign = local_metadata.get("assign_to_params_buffers", False)
    for name, param in local_state.items():
        key = prefix + name
        if key not in state_dict:
            if strict:
                missing_keys.append(key)
            continue
        value = state_dict[key]
        if not isinstance(value, Tensor):
            error_msgs.append(f'While copying the parameter named "{key}", expected torch.'
                              "Tensor or Tensor-like object from checkpoint but received "
                              f"{type(value)}")
            continue
        if len(param.shape) == 0 and len(value.shape) == 1 and value.shape[0] == 1:
            value = value[0]  # 1-element tensors from old checkpoints load into 0-d
        if tuple(value.shape) != tuple(param.shape):
            error_msgs.append(f"size mismatch for {key}: copying a param with shape "
                              f"{value.shape} from checkpoint, the shape in current model "
                              f"is {param.shape}.")
            continue
        try:
            with grad_mode.no_grad():
                if assign:
                    if isinstance(param, Parameter):
                        if not isinstance(value, Parameter):
                            value = Parameter(value, requires_grad=param.requires_grad)
                        else:
                            value.requires_grad_(param.requires_grad)
                    setattr(mod, name, value)
                else:
                    param.copy_(value)
        except Exception as ex:  # noqa: BLE001 - reported as PyTorch does
            error_msgs.append(f'While copying the parameter named "{key}", whose '
                              f"dimensions in the model are {param.size()} and whose "
                              f"dimensions in the checkpoint are {value.size()}, an "
                              f"exception occurred : {ex.args}.")
    extra_key = prefix + EXTRA_STATE_KEY_SUFFIX
    if _overrides(mod, "set_extra_state"):
        if extra_key in state_dict:
            mod.set_extra_state(state_dict[extra_key])
        elif strict:
            missing_keys.append(extra_key)
    elif strict and extra_key in state_dict:
        unexpected_keys.append(extra_key)
    if strict:
        for key in state_dict:
            if key.startswith(prefix) and key != extra_key:
                head = key[len(prefix):].split(".", 1)
                if len(head) > 1:
                    if head[0] not in mod._modules:
                        unexpected_keys.append(key)
                elif head[0] not in local_state:
                    unexpected_keys.append(key)


def load_state_dict(mod, state_dict, strict, assign):
    """Copy tensors from `state_dict` into this module's parameters and buffers.

    Returns (missing_keys, unexpected_keys); with strict=True a mismatch raises a
    RuntimeError listing every problem, as PyTorch does.
    """
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
    missing_keys, unexpected_keys, error_msgs = [], [], []
    metadata = getattr(state_dict, "_metadata", None)
    state_dict = OrderedDict(state_dict)
    if metadata is not None:
        state_dict._metadata = metadata

    def load(module, local_state, prefix=""):
        local_metadata = {} if metadata is None else metadata.get(prefix[:-1], {})
        if assign:
            local_metadata["assign_to_params_buffers"] = assign
        module._load_from_state_dict(local_state, prefix, local_metadata, True,
                                     missing_keys, unexpected_keys, error_msgs)
        for name, child in module._modules.items():
            if child is not None:
                child_prefix = prefix + name + "."
                load(child, {k: v for k, v in local_state.items()
                             if k.startswith(child_prefix)}, child_prefix)
        keys = _IncompatibleKeys(missing_keys, unexpected_keys)
        for hook in module._load_state_dict_post_hooks.values():
            if hook(module, keys) is not None:
                raise AssertionError("Hooks registered with "
                                     "``register_load_state_dict_post_hook`` are not "
                                     "expected to return new values, if incompatible_keys "
                                     "need to be modified, it should be done inplace.")

    load(mod, state_dict)
    if strict:
        if unexpected_keys:
            error_msgs.insert(0, "Unexpected key(s) in state_dict: {}. ".format(
                ", ".join(f'"{k}"' for k in unexpected_keys)))
        if missing_keys:
            error_msgs.insert(0, "Missing key(s) in state_dict: {}. ".format(
                ", ".join(f'"{k}"' for k in missing_keys)))
    if error_msgs:
        raise RuntimeError("Error(s) in loading state_dict for {}:\n\t{}".format(
            type(mod).__name__, "\n\t".join(error_msgs)))
    return _IncompatibleKeys(missing_keys, unexpected_keys)
