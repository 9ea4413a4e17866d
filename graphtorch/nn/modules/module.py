"""`nn.Module`: the container of parameters, buffers and submodules, as in PyTorch.

Registration happens in `__setattr__` (assigning a Parameter, Module or registered buffer
name), so iteration order is definition order; `state_dict` keys are dotted paths, and
loading reports missing/unexpected keys and errors with PyTorch's messages.
"""

from __future__ import annotations

import functools
from collections import OrderedDict

from ... import dtypes
from ...autograd import grad_mode
from ...device import as_device
from ...functions.conversion import _parse_to
from ...functions.creation import empty_like
from ...meta import COPY_OUT
from ...tensor import Tensor
from ...trace_state import current_tracer
from ..parameter import Buffer, Parameter
from . import _state_dict as state_dict_module
from . import hooks as hooks_module
from . import state_version as state_version_module


def _typename(obj) -> str:
    """`torch.typename`: legacy tensor type names, else module.qualname."""
    if isinstance(obj, Tensor):
        return obj.type()
    module = getattr(obj, "__module__", "") or ""
    if hasattr(obj, "__qualname__"):
        qualname = obj.__qualname__
    elif hasattr(obj, "__name__"):
        qualname = obj.__name__
    else:
        module = type(obj).__module__ or ""
        qualname = type(obj).__qualname__
    return qualname if module in ("", "builtins") else f"{module}.{qualname}"


def _addindent(text: str, spaces: int) -> str:
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    first = lines.pop(0)
    return first + "\n" + "\n".join(spaces * " " + line for line in lines)


class Module:
    """Base class of all neural-network modules.

    >>> class Net(gt.nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.fc = gt.nn.Linear(3, 2)
    ...     def forward(self, x):
    ...         return self.fc(x)
    >>> [name for name, _ in Net().named_parameters()]
    ['fc.weight', 'fc.bias']
    """

    dump_patches = False
    _version = 1
    _state_version = 0  # bumped by every change a forward could see (`state_version`)
    training: bool
    call_super_init = False

    def __init__(self, *args, **kwargs):
        if self.call_super_init is False and kwargs:
            raise TypeError(f"{type(self).__name__}.__init__() got an unexpected keyword "
                            f"argument '{next(iter(kwargs))}'")
        if self.call_super_init is False and args:
            raise TypeError(f"{type(self).__name__}.__init__() takes 1 positional argument but "
                            f"{len(args) + 1} were given")
        setattr_ = super().__setattr__
        setattr_("training", True)
        setattr_("_non_persistent_buffers_set", set())
        setattr_("_is_full_backward_hook", None)
        setattr_("_state_dict_hooks", OrderedDict())
        setattr_("_state_dict_pre_hooks", OrderedDict())
        setattr_("_load_state_dict_pre_hooks", OrderedDict())
        setattr_("_load_state_dict_post_hooks", OrderedDict())
        for name in state_version_module.VERSIONED_STORES:  # changes to these bump _state_version
            setattr_(name,
                     state_version_module.versioned(OrderedDict() if "hooks" in name else {}, self))
        if self.call_super_init:
            super().__init__(*args, **kwargs)

    def forward(self, *input):
        """The computation of this module; subclasses override it."""
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required '
                                  '"forward" function')

    # --- registration ----------------------------------------------------------------
    def register_buffer(self, name: str, tensor, persistent: bool = True) -> None:
        """Add state that is saved (if persistent) and moved with the module, not learned."""
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        if not isinstance(name, str):
            raise TypeError(f"buffer name should be a string. Got {_typename(name)}")
        if "." in name:
            raise KeyError('buffer name can\'t contain "."')
        if name == "":
            raise KeyError('buffer name can\'t be empty string ""')
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{_typename(tensor)}' object to buffer '{name}' "
                            "(torch Tensor or None required)")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def register_parameter(self, name: str, param) -> None:
        """Add a parameter (or None) under `name`."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        if not isinstance(name, str):
            raise TypeError(f"parameter name should be a string. Got {_typename(name)}")
        if "." in name:
            raise KeyError('parameter name can\'t contain "."')
        if name == "":
            raise KeyError('parameter name can\'t be empty string ""')
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        if param is None:
            self._parameters[name] = None
        elif not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{_typename(param)}' object to parameter '{name}' "
                            "(torch.nn.Parameter or None required)")
        elif param.grad_fn:
            raise ValueError(f"Cannot assign non-leaf Tensor to parameter '{name}'. Model "
                             f"parameters must be created explicitly. To express '{name}' "
                             "as a function of another Tensor, compute the value in the "
                             "forward() method.")
        else:
            self._parameters[name] = param

    def add_module(self, name: str, module) -> None:
        """Add a child module under `name`."""
        if not isinstance(module, Module) and module is not None:
            raise TypeError(f"{_typename(module)} is not a Module subclass")
        if not isinstance(name, str):
            raise TypeError(f"module name should be a string. Got {_typename(name)}")
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        if "." in name:
            raise KeyError(f'module name can\'t contain ".", got: {name}')
        if name == "":
            raise KeyError('module name can\'t be empty string ""')
        self._modules[name] = module

    def register_module(self, name: str, module) -> None:
        """Alias of add_module."""
        self.add_module(name, module)

    def get_submodule(self, target: str) -> Module:
        """The submodule at dotted path `target` ("" is self)."""
        if target == "":
            return self
        mod = self
        for item in target.split("."):
            if not hasattr(mod, item):
                raise AttributeError(mod._get_name() + " has no attribute `" + item + "`")
            mod = getattr(mod, item)
            if not isinstance(mod, Module):
                raise AttributeError("`" + item + "` is not an nn.Module")
        return mod

    def get_parameter(self, target: str) -> Parameter:
        """The parameter at dotted path `target`."""
        path, _, name = target.rpartition(".")
        mod = self.get_submodule(path)
        if not hasattr(mod, name):
            raise AttributeError(mod._get_name() + " has no attribute `" + name + "`")
        param = getattr(mod, name)
        if not isinstance(param, Parameter):
            raise AttributeError("`" + name + "` is not an nn.Parameter")
        return param

    def get_buffer(self, target: str) -> Tensor:
        """The buffer at dotted path `target`."""
        path, _, name = target.rpartition(".")
        mod = self.get_submodule(path)
        if not hasattr(mod, name):
            raise AttributeError(mod._get_name() + " has no attribute `" + name + "`")
        if name not in mod._buffers:
            raise AttributeError("`" + name + "` is not a buffer")
        return getattr(mod, name)

    def get_extra_state(self):
        raise RuntimeError("Reached a code path in Module.get_extra_state() that should never "
                           "be called. Please file an issue at https://github.com/pytorch/"
                           "pytorch/issues/new?template=bug-report.yml to report this bug.")

    def set_extra_state(self, state) -> None:
        raise RuntimeError("Reached a code path in Module.set_extra_state() that should never "
                           "be called. Please file an issue at https://github.com/pytorch/"
                           "pytorch/issues/new?template=bug-report.yml to report this bug.")

    # --- attributes ---------------------------------------------------------------------
    def __getattr__(self, name: str):
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            items = d.get(store)
            if items is not None and name in items:
                return items[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __setattr__(self, name: str, value) -> None:
        d = self.__dict__

        def remove_from(*stores):
            for s in stores:
                if name in s:
                    if isinstance(s, dict):
                        del s[name]
                    else:
                        s.discard(name)
            state_version_module.bump(self)

        params = d.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            remove_from(d, self._buffers, self._modules, self._non_persistent_buffers_set)
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{_typename(value)}' as parameter '{name}' "
                                "(torch.nn.Parameter or None expected)")
            self.register_parameter(name, value)
        else:
            modules = d.get("_modules")
            if isinstance(value, Module):
                if modules is None:
                    raise AttributeError("cannot assign module before Module.__init__() call")
                remove_from(d, self._parameters, self._buffers,
                            self._non_persistent_buffers_set)
                modules[name] = value
            elif modules is not None and name in modules:
                if value is not None:
                    raise TypeError(f"cannot assign '{_typename(value)}' as child module "
                                    f"'{name}' (torch.nn.Module or None expected)")
                modules[name] = value
            else:
                buffers = d.get("_buffers")
                if isinstance(value, Buffer) or (buffers is not None and name in buffers):
                    if value is not None and not isinstance(value, Tensor):
                        raise TypeError(f"cannot assign '{_typename(value)}' as buffer "
                                        f"'{name}' (torch.nn.Buffer, torch.Tensor or None "
                                        "expected)")
                    persistent = value.persistent if isinstance(value, Buffer) else \
                        name not in self._non_persistent_buffers_set
                    self.register_buffer(name, value, persistent)
                else:
                    if name in state_version_module.VERSIONED_STORES and isinstance(value, dict):
                        value = state_version_module.versioned(value, self)
                    if state_version_module.changed(d.get(name, state_version_module._MISSING),
                                                    value):
                        state_version_module.bump(self)
                    super().__setattr__(name, value)

    def __delattr__(self, name: str) -> None:
        state_version_module.bump(self)
        if name in self._parameters:
            del self._parameters[name]
        elif name in self._buffers:
            del self._buffers[name]
            self._non_persistent_buffers_set.discard(name)
        elif name in self._modules:
            del self._modules[name]
        else:
            super().__delattr__(name)

    def __dir__(self):
        keys = (dir(type(self)) + list(self.__dict__) + list(self._parameters)
                + list(self._modules) + list(self._buffers))
        return sorted(k for k in keys if not k[0].isdigit())

    # --- iteration ----------------------------------------------------------------------
    def _named_members(self, get_members, prefix="", recurse=True, remove_duplicate=True):
        memo = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) \
            if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for k, v in get_members(module):
                if v is None or id(v) in memo:
                    continue
                if remove_duplicate:
                    memo.add(id(v))
                yield module_prefix + ("." if module_prefix else "") + k, v

    def parameters(self, recurse: bool = True):
        """The parameters, in registration order (a generator, as in PyTorch)."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True):
        """(dotted name, parameter) pairs, each shared parameter once."""
        yield from self._named_members(lambda m: m._parameters.items(), prefix, recurse,
                                       remove_duplicate)

    def buffers(self, recurse: bool = True):
        """The buffers (persistent or not), in registration order."""
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True):
        """(dotted name, buffer) pairs."""
        yield from self._named_members(lambda m: m._buffers.items(), prefix, recurse,
                                       remove_duplicate)

    def children(self):
        """The direct submodules."""
        for _, m in self.named_children():
            yield m

    def named_children(self):
        """(name, direct submodule) pairs, each module once."""
        memo = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in memo:
                memo.add(id(module))
                yield name, module

    def modules(self):
        """This module and all submodules, depth first."""
        for _, m in self.named_modules():
            yield m

    def named_modules(self, memo=None, prefix: str = "", remove_duplicate: bool = True):
        """(dotted name, module) pairs for this module and all submodules, depth first."""
        if memo is None:
            memo = set()
        if id(self) in memo:
            return
        if remove_duplicate:
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            sub = prefix + ("." if prefix else "") + name
            yield from module.named_modules(memo, sub, remove_duplicate)

    # --- modes, conversions, gradients --------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set training mode recursively (dropout active, batch norm uses batch stats)."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        self.training = mode
        for module in self.children():
            module.train(mode)
        return self

    def eval(self) -> Module:
        """Set evaluation mode; same as `train(False)`."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Set requires_grad of every parameter."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters (to None by default, else to zeros)."""
        tracer = current_tracer()
        for p in self.parameters():
            if set_to_none and tracer is not None:
                tracer.note_grad_reset(p)
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                if p.grad.grad_fn is not None:
                    p.grad.detach_()
                else:
                    p.grad.requires_grad_(False)
                with grad_mode.no_grad():
                    p.grad.zero_()

    def apply(self, fn) -> Module:
        """Call fn on every submodule (children first) and then on self."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    def _apply(self, fn, recurse: bool = True) -> Module:
        """Replace every parameter's data by fn(param) (keeping the Parameter object) and
        every buffer by fn(buffer); gradients are converted too."""
        if recurse:
            for module in self.children():
                module._apply(fn)
        for key, param in self._parameters.items():
            if param is None:
                continue
            with grad_mode.no_grad():
                applied = fn(param)
            param.data = applied
            if param.grad is not None:
                with grad_mode.no_grad():
                    grad = fn(param.grad)
                param._grad = grad if grad is param.grad else grad.detach()
        for key, buf in self._buffers.items():
            if buf is not None:
                self._buffers[key] = fn(buf)
        return self

    def to(self, *args, **kwargs) -> Module:
        """Move/cast parameters and buffers in place; only floating and complex tensors
        change dtype; `memory_format` lays out the 4-d and 5-d ones (conv weights)."""
        kwargs = dict(kwargs)
        fmt = kwargs.pop("memory_format", None)
        dtype, device, _ = _parse_to(args, kwargs)
        if dtype is not None:
            dtype = dtypes.as_dtype(dtype)
            if not (dtype.is_floating_point or dtype.is_complex):
                raise TypeError("nn.Module.to only accepts floating point or complex dtypes, "
                                f"but got desired dtype={dtype}")

        def convert(t):
            out = t
            if t.is_meta and device is not None and as_device(device).type != "meta":
                raise NotImplementedError(COPY_OUT)
            if dtype is not None and (t.is_floating_point() or t.is_complex()):
                out = out.to(dtype)
            if device is not None:
                out = out.to(device)
            if fmt is not None and t.dim() in (4, 5):
                out = out.to(memory_format=fmt)
            return out

        return self._apply(convert)

    def to_empty(self, *, device, recurse: bool = True) -> Module:
        """Give every parameter and buffer fresh, uninitialised storage on `device` (the way
        off the meta device; graphtorch's empty memory holds zeros)."""
        return self._apply(lambda t: empty_like(t, device=device), recurse)

    def cpu(self) -> Module:
        """Move to the CPU."""
        return self._apply(lambda t: t.cpu())

    def cuda(self, device=None) -> Module:
        """Move to a CUDA device."""
        return self._apply(lambda t: t.cuda(device))

    def float(self) -> Module:
        """Cast floating-point parameters and buffers to float32."""
        return self._apply(lambda t: t.float() if t.is_floating_point() else t)

    def double(self) -> Module:
        """Cast floating-point parameters and buffers to float64."""
        return self._apply(lambda t: t.double() if t.is_floating_point() else t)

    def half(self) -> Module:
        """Cast floating-point parameters and buffers to float16."""
        return self._apply(lambda t: t.half() if t.is_floating_point() else t)

    def bfloat16(self) -> Module:
        """Cast floating-point parameters and buffers to bfloat16."""
        return self._apply(lambda t: t.bfloat16() if t.is_floating_point() else t)

    def type(self, dst_type) -> Module:
        """Cast all parameters and buffers to `dst_type`."""
        return self._apply(lambda t: t.type(dst_type))

    def share_memory(self) -> Module:
        """Move parameters, their gradients and buffers into shared memory (see
        `Tensor.share_memory_`): processes forked afterwards train the same numbers."""
        return self._apply(lambda t: t.share_memory_())

    # --- state dict (implemented in _state_dict.py) -----------------------------------------
    def _save_to_state_dict(self, destination, prefix, keep_vars) -> None:
        state_dict_module.save_to_state_dict(self, destination, prefix, keep_vars)

    def state_dict(self, *args, destination=None, prefix: str = "", keep_vars: bool = False):
        """Parameters and persistent buffers by dotted name (detached unless keep_vars)."""
        return state_dict_module.state_dict(self, args, destination, prefix, keep_vars)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs) -> None:
        """Load this module's own tensors (not its children's) from `state_dict`."""
        state_dict_module.load_from_state_dict(self, state_dict, prefix, local_metadata, strict,
                                               missing_keys,
                               unexpected_keys, error_msgs)

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """Copy tensors from `state_dict` into this module's parameters and buffers.

        Returns (missing_keys, unexpected_keys); with strict=True a mismatch raises a
        RuntimeError listing every problem, as PyTorch does.
        """
        return state_dict_module.load_state_dict(self, state_dict, strict, assign)

    def register_load_state_dict_post_hook(self, hook) -> hooks_module.RemovableHandle:
        """hook(module, incompatible_keys) after this module's load_state_dict."""
        return hooks_module.add(self._load_state_dict_post_hooks, hook)

    def register_state_dict_pre_hook(self, hook) -> hooks_module.RemovableHandle:
        """hook(module, prefix, keep_vars) before this module's state_dict."""
        return hooks_module.add(self._state_dict_pre_hooks, hook)

    def _register_state_dict_hook(self, hook) -> hooks_module.RemovableHandle:
        """hook(module, state_dict, prefix, local_metadata) after this module's state_dict;
        it may return a replacement dict (PyTorch's private API, used by spectral_norm)."""
        return hooks_module.add(self._state_dict_hooks, hook)

    def _register_load_state_dict_pre_hook(self, hook, with_module: bool = False):
        """hook(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
        error_msgs) before this module loads its own tensors (with_module: module first)."""
        if with_module:
            hook = functools.partial(hook, self)
        return hooks_module.add(self._load_state_dict_pre_hooks, hook)

    # --- hooks and calling -------------------------------------------------------------------
    def register_forward_pre_hook(self, hook, *, prepend: bool = False,
                                  with_kwargs: bool = False) -> hooks_module.RemovableHandle:
        """hook(module, args) before forward; it may return replacement args."""
        handle = hooks_module.add(self._forward_pre_hooks, hook, prepend,
                       extra_dict=self._forward_pre_hooks_with_kwargs)
        if with_kwargs:
            self._forward_pre_hooks_with_kwargs[handle.id] = True
        return handle

    def register_forward_hook(self, hook, *, prepend: bool = False, with_kwargs: bool = False,
                              always_call: bool = False) -> hooks_module.RemovableHandle:
        """hook(module, args, output) after forward; it may return a replacement output."""
        handle = hooks_module.add(self._forward_hooks, hook, prepend,
                       extra_dict=[self._forward_hooks_with_kwargs,
                                   self._forward_hooks_always_called])
        if with_kwargs:
            self._forward_hooks_with_kwargs[handle.id] = True
        if always_call:
            self._forward_hooks_always_called[handle.id] = True
        return handle

    def register_full_backward_pre_hook(self, hook, prepend: bool = False):
        """hook(module, grad_output) before the input gradients; may replace grad_output."""
        return hooks_module.add(self._backward_pre_hooks, hook, prepend)

    def register_full_backward_hook(self, hook,
                                    prepend: bool = False) -> hooks_module.RemovableHandle:
        """hook(module, grad_input, grad_output) once the module's input grads are known;
        it may return a replacement grad_input."""
        if self._is_full_backward_hook is False:
            raise RuntimeError("Cannot use both regular backward hooks and full backward hooks "
                               "on a single Module. Please use only one of them.")
        self._is_full_backward_hook = True
        return hooks_module.add(self._backward_hooks, hook, prepend)

    def register_backward_hook(self, hook) -> hooks_module.RemovableHandle:
        """Legacy hook on the grad_fn of the output (use register_full_backward_hook)."""
        if self._is_full_backward_hook is True:
            raise RuntimeError("Cannot use both regular backward hooks and full backward hooks "
                               "on a single Module. Please use only one of them.")
        self._is_full_backward_hook = False
        return hooks_module.add(self._backward_hooks, hook)

    def _get_backward_hooks(self):
        hooks = list(self._backward_hooks.values())
        if self._is_full_backward_hook is True:
            return hooks, []
        if self._is_full_backward_hook is False:
            return [], hooks
        return [], []

    def __call__(self, *args, **kwargs):
        compiled = self.__dict__.get("_compiled_call")
        if compiled is not None:  # model.compile() was called
            return compiled(*args, **kwargs)
        return self._call_eagerly(*args, **kwargs)

    def _call_eagerly(self, *args, **kwargs):
        if not (self._backward_hooks or self._backward_pre_hooks or self._forward_hooks
                or self._forward_pre_hooks):
            return self.forward(*args, **kwargs)
        return hooks_module.call_with_hooks(self, args, kwargs)

    def compile(self, *args, **kwargs) -> None:
        """Compile this module's calls in place (``model.compile()``, as PyTorch): later
        calls run through ``gt.compile`` with these arguments; the module stays itself."""
        # lazy: Module.compile() is nn's API for gt.compile, a layer above nn
        from ...compiler import compile as gt_compile

        self.__dict__["_compiled_call"] = gt_compile(self._call_eagerly, *args, **kwargs)

    # --- printing ---------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The module-specific part of repr (one line or several)."""
        return ""

    def _get_name(self) -> str:
        return type(self).__name__

    def __repr__(self):
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({key}): " + _addindent(repr(module), 2)
                       for key, module in self._modules.items()]
        lines = extra_lines + child_lines
        main = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                main += extra_lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_state_version", None)
        # pickles hold plain dicts, as PyTorch's do
        for name in state_version_module.VERSIONED_STORES:
            if isinstance(state.get(name), dict):
                state[name] = state_version_module.plain(state[name])
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        for name in ("_forward_pre_hooks", "_forward_pre_hooks_with_kwargs",
                     "_forward_hooks", "_forward_hooks_with_kwargs",
                     "_forward_hooks_always_called", "_state_dict_hooks",
                     "_state_dict_pre_hooks", "_load_state_dict_pre_hooks",
                     "_load_state_dict_post_hooks", "_backward_pre_hooks"):
            if name not in self.__dict__:
                self.__dict__[name] = OrderedDict()
        for name in state_version_module.VERSIONED_STORES:
            if isinstance(self.__dict__.get(name), dict):
                self.__dict__[name] = state_version_module.versioned(self.__dict__[name], self)
        self.__dict__.setdefault("_non_persistent_buffers_set", set())
        self.__dict__.setdefault("_is_full_backward_hook", None)
