"""`Optimizer`: PyTorch's optimizer base (param groups, per-parameter state, state_dict).

Parameters are updated in place under `no_grad` (their identity and memory never change);
`state` maps each parameter tensor to its dict; `state_dict()` uses PyTorch's layout,
parameters replaced by their index in group order.
"""

from __future__ import annotations

import functools
import warnings
from collections import OrderedDict, defaultdict
from copy import deepcopy
from itertools import chain

from .. import dtypes
from ..autograd import grad_mode
from ..autograd.grad_mode import enable_grad
from ..dtypes import float64
from ..functions.creation import tensor, zeros
from ..tensor import Tensor
from ..trace_state import SymbolicArray, current_tracer
from ..utils.hooks import RemovableHandle

__all__ = ["Optimizer", "register_optimizer_step_pre_hook",
           "register_optimizer_step_post_hook"]

_global_optimizer_pre_hooks: OrderedDict = OrderedDict()
_global_optimizer_post_hooks: OrderedDict = OrderedDict()

# PyTorch's list when a CPU tensor is given to a capturable optimizer.
_CAPTURABLE_DEVICES = ["cuda", "xpu", "hpu", "privateuseone", "xla"]


class _RequiredParameter:
    """Singleton marking a hyper-parameter every param group must give."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


def typename(obj) -> str:
    """PyTorch's `torch.typename`: legacy tensor type, else module-qualified class name."""
    if isinstance(obj, Tensor):
        return obj.type()
    module = getattr(obj, "__module__", None)
    prefix = module + "." if module not in ("builtins", "__builtin__", None) else ""
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) \
        or type(obj).__name__
    return prefix + name


def _use_grad_for_differentiable(func):
    """Run `step` with autograd enabled only when the optimizer is `differentiable`."""

    @functools.wraps(func)
    def _use_grad(self, *args, **kwargs):
        prev = grad_mode.is_grad_enabled()
        grad_mode.STATE.enabled = bool(self.defaults["differentiable"])
        try:
            return func(self, *args, **kwargs)
        finally:
            grad_mode.STATE.enabled = prev

    return _use_grad


def _get_value(x):
    """A Python number from a 0-d tensor or number (step counters, tensor lrs)."""
    return x.item() if isinstance(x, Tensor) else x


def note_grad_reset(p) -> None:
    tracer = current_tracer()
    if tracer is not None:
        tracer.note_grad_reset(p)


def _is_traced(x) -> bool:
    """Whether `x` is a tensor inside gt.compile's trace (a graph value, not a number)."""
    return isinstance(x, Tensor) and type(x._data) is SymbolicArray


def _hyper_value(x):
    """A hyper-parameter as a number, or as a 0-d tensor while tracing (gt.compile makes
    learning rates graph inputs so that schedulers never cause a recompile)."""
    x = _to_scalar(x)
    return x if _is_traced(x) else _get_value(x)


def _step_value(step_t):
    """The step counter as a number eagerly; as a float64 tensor while tracing."""
    if _is_traced(step_t):
        return step_t.to(float64)
    return _get_value(step_t)


def _add_scaled(param, tensor, scale) -> None:
    """param += scale * tensor (`scale` a number, or a 0-d float64 tensor while tracing)
    with the same float32 rounding as ``param.add_(tensor, alpha=scale)``: the scale is
    cast to the tensor's dtype as a number is (a 0-d float64 would promote a 0-d tensor)."""
    if isinstance(scale, Tensor):
        param.add_(tensor * scale.to(tensor.dtype))
    else:
        param.add_(tensor, alpha=scale)


def _addcdiv_scaled(param, tensor1, tensor2, scale) -> None:
    """param += scale * tensor1 / tensor2, as ``addcdiv_(..., value=scale)``."""
    if isinstance(scale, Tensor):
        param.add_(tensor1 * scale.to(tensor1.dtype) / tensor2)
    else:
        param.addcdiv_(tensor1, tensor2, value=scale)


def _to_scalar(x):
    """A 1-element hyper-parameter tensor squeezed to 0-d; numbers unchanged."""
    if isinstance(x, Tensor) and x.dim() != 0:
        return x.squeeze()
    return x


def _get_scalar_dtype(is_fused=None):
    """dtype of the `step` state: float64 only when it is the default dtype."""
    if is_fused:
        return dtypes.float32
    return dtypes.float64 if dtypes.get_default_dtype() is dtypes.float64 else dtypes.float32


def _new_step(group, param, fused_key: str = "fused", capturable_key: str = "capturable"):
    """The zero `step` tensor PyTorch creates for a fresh parameter state."""
    fused = group.get(fused_key) or False
    if fused or group.get(capturable_key):
        return zeros((), dtype=_get_scalar_dtype(is_fused=fused), device=param.device)
    return zeros((), dtype=_get_scalar_dtype())


def _step_to_tensor(optimizer, fused_key: str = "fused", capturable_key: str = "capturable"):
    """Old state dicts stored `step` as a number: make it the tensor PyTorch now keeps."""
    for group in optimizer.param_groups:
        for p in group["params"]:
            p_state = optimizer.state.get(p, [])
            if len(p_state) != 0 and "step" in p_state and not isinstance(p_state["step"],
                                                                           Tensor):
                fused = group.get(fused_key) or False
                special = fused or group.get(capturable_key)
                p_state["step"] = tensor(float(p_state["step"]), dtype=_get_scalar_dtype(
                    is_fused=fused), device=p.device if special else None)


def _restore_flags(optimizer, *extra: tuple, fused_key: str = "") -> None:
    """`__setstate__`'s common part: param groups pickled by older versions get the flags
    added since (foreach, maximize, differentiable, capturable, then `extra` (key, default)
    pairs), and `step` counters become tensors."""
    flags = (("foreach", None), ("maximize", False), ("differentiable", False),
             ("capturable", False), *extra)
    for group in optimizer.param_groups:
        for key, default in flags:
            group.setdefault(key, default)
    _step_to_tensor(optimizer, fused_key=fused_key)


def _params_with_grads(optimizer, group, init_state, names: tuple) -> tuple:
    """(params, grads, [state[name] per param, for each name]) over the parameters of
    `group` that have a gradient; `init_state(state, p)` fills an empty state first (PyTorch
    creates optimizer state at the first step that sees a gradient)."""
    params, grads = [], []
    per_name = [[] for _ in names]
    for p in group["params"]:
        if p.grad is None:
            continue
        params.append(p)
        grads.append(p.grad)
        state = optimizer.state[p]
        if len(state) == 0:
            init_state(state, p)
        for values, name in zip(per_name, names):
            values.append(state[name])
    return params, grads, per_name


def _check_lr(lr) -> None:
    """PyTorch's checks of a learning rate (a number, or a 1-element tensor)."""
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")


def _check_adam_family(lr, eps, betas, weight_decay) -> None:
    """PyTorch's argument checks of the Adam family (Adamax, NAdam, RAdam), in its order."""
    _check_lr(lr)
    if not 0.0 <= eps:
        raise ValueError(f"Invalid epsilon value: {eps}")
    for i in (0, 1):
        if not 0.0 <= betas[i] < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {betas[i]}")
    if not 0.0 <= weight_decay:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")


def _check_capturable(params):
    """PyTorch refuses capturable=True for parameters off an accelerator."""
    for p in params:
        if p.device.type not in _CAPTURABLE_DEVICES[:1]:
            raise AssertionError("If capturable=True, params and state_steps must be on "
                                 f"supported devices: {_CAPTURABLE_DEVICES}.")


def _as_real(t):
    """A real (..., 2) view sharing memory with complex `t` (PyTorch's view_as_real)."""
    if not t.is_complex():
        return t
    arr = t._data
    if not arr.flags.c_contiguous:
        raise RuntimeError("graphtorch.optim: complex tensors must be contiguous")
    real = arr.view(arr.real.dtype).reshape(arr.shape + (2,))
    return Tensor._wrap(real)


def register_optimizer_step_pre_hook(hook) -> RemovableHandle:
    """Register `hook(optimizer, args, kwargs)` run before every optimizer's step."""
    handle = RemovableHandle(_global_optimizer_pre_hooks)
    _global_optimizer_pre_hooks[handle.id] = hook
    return handle


def register_optimizer_step_post_hook(hook) -> RemovableHandle:
    """Register `hook(optimizer, args, kwargs)` run after every optimizer's step."""
    handle = RemovableHandle(_global_optimizer_post_hooks)
    _global_optimizer_post_hooks[handle.id] = hook
    return handle


def _register(hooks: OrderedDict, hook, prepend: bool = False) -> RemovableHandle:
    handle = RemovableHandle(hooks)
    hooks[handle.id] = hook
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    return handle


class Optimizer:
    """Base class of all optimizers.

    Args:
        params: an iterable of tensors, of ``(name, tensor)`` pairs, or of dicts defining
            parameter groups (``{'params': [...], 'lr': ...}``).
        defaults: default hyper-parameters, used when a group does not give them.
    """

    def __init__(self, params, defaults: dict) -> None:
        self.defaults = defaults
        self._optimizer_step_pre_hooks = OrderedDict()
        self._optimizer_step_post_hooks = OrderedDict()
        self._optimizer_state_dict_pre_hooks = OrderedDict()
        self._optimizer_state_dict_post_hooks = OrderedDict()
        self._optimizer_load_state_dict_pre_hooks = OrderedDict()
        self._optimizer_load_state_dict_post_hooks = OrderedDict()
        self._patch_step_function()
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got " + typename(params))
        self.state = defaultdict(dict)
        self.param_groups = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for param_group in param_groups:
            self.add_param_group(param_group)

    def __getstate__(self) -> dict:
        return {"defaults": self.defaults, "state": self.state,
                "param_groups": self.param_groups}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        for name in ("_optimizer_step_pre_hooks", "_optimizer_step_post_hooks",
                     "_optimizer_state_dict_pre_hooks", "_optimizer_state_dict_post_hooks",
                     "_optimizer_load_state_dict_pre_hooks",
                     "_optimizer_load_state_dict_post_hooks"):
            if name not in self.__dict__:
                setattr(self, name, OrderedDict())
        self._patch_step_function()
        self.defaults.setdefault("differentiable", False)

    def __repr__(self) -> str:
        text = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            text += f"\nParameter Group {i}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    text += f"    {key}: {group[key]}\n"
        return text + ")"

    # --- step and its hooks ----------------------------------------------------------
    def _patch_step_function(self) -> None:
        """Wrap the class's `step` once so that step hooks run around it."""
        cls = self.__class__
        if not getattr(cls.step, "hooked", False):
            cls.step = self.profile_hook_step(cls.step)
            cls.step.hooked = True

    @staticmethod
    def profile_hook_step(func):
        """Decorate `step` with the global and per-optimizer pre/post hooks."""

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            self = args[0]
            for pre_hook in chain(_global_optimizer_pre_hooks.values(),
                                  self._optimizer_step_pre_hooks.values()):
                result = pre_hook(self, args, kwargs)
                if result is not None:
                    if isinstance(result, tuple) and len(result) == 2:
                        args, kwargs = result
                    else:
                        raise RuntimeError(f"{func} must return None or a tuple of "
                                           f"(new_args, new_kwargs), but got {result}.")
            out = func(*args, **kwargs)
            for post_hook in chain(self._optimizer_step_post_hooks.values(),
                                   _global_optimizer_post_hooks.values()):
                post_hook(self, args, kwargs)
            return out

        return wrapper

    def register_step_pre_hook(self, hook) -> RemovableHandle:
        """Run `hook(optimizer, args, kwargs)` before `step`; it may return new args."""
        return _register(self._optimizer_step_pre_hooks, hook)

    def register_step_post_hook(self, hook) -> RemovableHandle:
        """Run `hook(optimizer, args, kwargs)` after `step`."""
        return _register(self._optimizer_step_post_hooks, hook)

    def register_state_dict_pre_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        """Run `hook(optimizer)` before `state_dict()` builds its result."""
        return _register(self._optimizer_state_dict_pre_hooks, hook, prepend)

    def register_state_dict_post_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        """Run `hook(optimizer, state_dict)`, which may return a replacement."""
        return _register(self._optimizer_state_dict_post_hooks, hook, prepend)

    def register_load_state_dict_pre_hook(self, hook,
                                          prepend: bool = False) -> RemovableHandle:
        """Run `hook(optimizer, state_dict)` before loading; it may return a replacement."""
        return _register(self._optimizer_load_state_dict_pre_hooks, hook, prepend)

    def register_load_state_dict_post_hook(self, hook,
                                           prepend: bool = False) -> RemovableHandle:
        """Run `hook(optimizer)` after `load_state_dict`."""
        return _register(self._optimizer_load_state_dict_post_hooks, hook, prepend)

    def step(self, closure=None):
        """Perform one optimization step (implemented by subclasses)."""
        raise NotImplementedError

    # --- state_dict ------------------------------------------------------------------
    def state_dict(self) -> dict:
        """``{'state': {index: {...}}, 'param_groups': [{..., 'params': [indices]}]}``.

        Like PyTorch, the per-parameter dicts and tensors are the live ones (not copies).
        """
        for pre_hook in self._optimizer_state_dict_pre_hooks.values():
            pre_hook(self)
        param_mappings: dict[int, int] = {}
        start_index = 0

        def pack_group(group):
            nonlocal start_index
            packed = {k: v for k, v in group.items() if k != "params"}
            param_mappings.update({id(p): i for i, p in enumerate(group["params"], start_index)
                                   if id(p) not in param_mappings})
            packed["params"] = [param_mappings[id(p)] for p in group["params"]]
            start_index += len(packed["params"])
            return packed

        param_groups = [pack_group(g) for g in self.param_groups]
        packed_state = {(param_mappings[id(k)] if isinstance(k, Tensor) else k): v
                        for k, v in self.state.items()}
        state_dict = {"state": packed_state, "param_groups": param_groups}
        for post_hook in self._optimizer_state_dict_post_hooks.values():
            result = post_hook(self, state_dict)
            if result is not None:
                state_dict = result
        return state_dict

    @staticmethod
    def _process_value_according_to_param_policy(param, value, param_id, param_groups,
                                                 key=None):
        # Floating state follows the parameter's dtype; `step` keeps its own (float32/64)
        # unless the group is fused or capturable.
        fused = capturable = False
        for pg in param_groups:
            if param_id in pg["params"]:
                fused = pg.get("fused", False)
                capturable = pg.get("capturable", False)
                break
        if key == "step":
            if capturable or fused:
                return value.to(dtype=dtypes.float32, device=param.device)
            return value
        if param.is_floating_point():
            return value.to(dtype=param.dtype, device=param.device)
        return value.to(device=param.device)

    def load_state_dict(self, state_dict: dict) -> None:
        """Load a `state_dict()`; parameters are matched by position within their groups."""
        state_dict = state_dict.copy()
        for pre_hook in self._optimizer_load_state_dict_pre_hooks.values():
            result = pre_hook(self, state_dict)
            if result is not None:
                state_dict = result
        groups = self.param_groups
        saved_groups = deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match "
                             "the size of optimizer's group")
        id_map = dict(zip(chain.from_iterable(g["params"] for g in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))

        def cast(param, value, param_id=None, param_groups=None, key=None):
            if isinstance(value, Tensor):
                return Optimizer._process_value_according_to_param_policy(
                    param, value, param_id, param_groups, key)
            if isinstance(value, dict):
                return {k: cast(param, v, param_id=param_id, param_groups=param_groups, key=k)
                        for k, v in value.items()}
            if isinstance(value, (list, tuple, set)) and not isinstance(value, str):
                return type(value)(cast(param, v, param_id=param_id,
                                        param_groups=param_groups) for v in value)
            return value

        state = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                param = id_map[k]
                state[param] = cast(param, v, param_id=k,
                                    param_groups=state_dict["param_groups"])
            else:
                state[k] = v

        def update_group(group, new_group):
            new_group["params"] = group["params"]
            if "param_names" in group and "param_names" not in new_group:
                new_group["param_names"] = group["param_names"]
            return new_group

        param_groups = [update_group(g, ng) for g, ng in zip(groups, saved_groups)]
        self.__setstate__({"state": state, "param_groups": param_groups})
        for post_hook in self._optimizer_load_state_dict_post_hooks.values():
            post_hook(self)

    # --- gradients and groups ----------------------------------------------------------
    # Whether step() creates every parameter's state on first use (Adam's moments);
    # SGD decides per group (momentum buffers only with momentum).
    _creates_state_lazily = False

    def _lazy_state_pending(self) -> bool:
        """Whether the next `step()` creates per-parameter state (SGD's momentum buffers,
        Adam's moments) for a parameter that requires grad. gt.compile runs the first call
        of a function that reaches such an optimizer eagerly without tracing it: a graph of
        that call would serve it alone."""
        return self._creates_state_lazily and self._params_without_state()

    def _params_without_state(self, groups=None) -> bool:
        """Whether a parameter that requires grad has no state entry yet."""
        for group in self.param_groups if groups is None else groups:
            for p in group["params"]:
                if p.requires_grad and not self.state.get(p):
                    return True
        return False

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset gradients: set them to None (default) or zero them in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    note_grad_reset(p)
                grad = p._grad
                if grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                    continue
                if grad.grad_fn is not None:
                    grad.detach_()
                else:
                    grad.requires_grad_(False)
                grad.zero_()

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters (with its own hyper-parameters) to optimize."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            param_group["params"] = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        else:
            param_group["params"] = list(params)
        tensors, names = [], []
        for param in param_group["params"]:
            if isinstance(param, tuple):
                names.append(param[0])
                tensors.append(param[1])
            else:
                tensors.append(param)
        param_group["params"] = tensors
        if names:
            if len(names) != len(tensors):
                raise ValueError("all optimizer params should be with/without names. Some "
                                 "param names are missing")
            param_group["param_names"] = names
        for param in param_group["params"]:
            if not isinstance(param, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                + typename(param))
            if not self.defaults.get("differentiable", None) and not (
                    param.is_leaf or param.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError("parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            param_group.setdefault(name, default)
        params = param_group["params"]
        if len(params) != len({id(p) for p in params}):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in "
                          "future, this will cause an error; see "
                          "github.com/pytorch/pytorch/issues/40967 for more information",
                          stacklevel=3)
        seen: set[int] = set()
        for group in self.param_groups:
            seen.update(id(p) for p in group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {which} to the optimizer")
        if not seen.isdisjoint(id(p) for p in param_group["params"]):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)


def evaluate_closure(closure):
    """Run an optimizer's `closure` (which re-evaluates the loss) with grad enabled."""
    if closure is None:
        return None

    with enable_grad():
        return closure()
