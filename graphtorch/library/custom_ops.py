"""`gt.library.custom_op`, as PyTorch's `torch.library.custom_op`: a Python function made an
operator with a name ("mylib::crop"), an optional fake (shape) function, an optional
autograd formula, declared in-place arguments and per-device kernels.

The body may read tensor data (``x.numpy()``), so it is never traced: under gt.compile a call
is a graph break (the function runs eagerly, the reason logged), and under gt.trace it raises.
"""

from __future__ import annotations

import inspect

import numpy as np

from ..autograd.function import Function
from ..ops import CUSTOM_NAMESPACES
from ..ops.dispatch import bump_version
from ..tensor import Tensor
from ..trace_state import current_tracer

__all__ = ["CustomOpDef", "custom_op", "get_op", "register_fake"]

OPS: dict[str, CustomOpDef] = {}  # "ns::name" -> its op, for register_fake and gt.ops.ns


def custom_op(name: str, fn=None, /, *, mutates_args, device_types=None, schema=None):
    """Make `fn` the operator `name` ("namespace::opname"); as a decorator without `fn`.

    >>> @gt.library.custom_op("mylib::numpy_sin", mutates_args=())
    ... def numpy_sin(x: gt.Tensor) -> gt.Tensor:
    ...     return gt.from_numpy(np.sin(x.numpy()))
    """
    def wrap(func):
        return CustomOpDef(name, func, mutates_args, device_types, schema)
    return wrap if fn is None else wrap(fn)


def get_op(qualname: str) -> CustomOpDef:
    if qualname not in OPS:
        raise RuntimeError(f"operator {qualname} does not exist")
    return OPS[qualname]


def register_fake(op, func=None, /, *, lib=None, _stacklevel=1, allow_override=True):
    """Register the fake (shape) function of `op` (a CustomOpDef or "ns::name"); as a
    decorator without `func`."""
    target = get_op(op) if isinstance(op, str) else op

    def wrap(fake):
        return target.register_fake(fake)
    return wrap if func is None else wrap(func)


def _mutated_names(mutates_args, signature, name) -> tuple[str, ...] | str:
    if mutates_args == "unknown":
        return "unknown"
    if isinstance(mutates_args, str) or not hasattr(mutates_args, "__iter__"):
        raise ValueError("mutates_args must either be a sequence of the names of the arguments "
                         "that are mutated or the string 'unknown'. ")
    names = tuple(mutates_args)
    missing = set(names) - set(signature.parameters)
    if missing:
        raise ValueError(f"infer_schema(func): {missing} in mutates_args were not found in the "
                         f"custom op's signature. mutates_args should contain the names of all "
                         f"args that the custom op mutates, or just the string 'unknown' if "
                         f"you don't know. Got func with signature {signature})")
    return names


def _check_annotations(signature) -> None:
    """PyTorch infers the op's schema from the type hints, so it requires them."""
    for param in signature.parameters.values():
        if param.annotation is inspect.Parameter.empty:
            raise ValueError(f"infer_schema(func): Parameter {param.name} must have a type "
                             f"annotation. Got func with signature {signature})")
    if signature.return_annotation is inspect.Signature.empty:
        raise ValueError(f"infer_schema(func): No return type annotation was provided. Please "
                         f"add one. Got func with signature {signature})")


class CustomOpDef:
    """A custom operator: call it like its function; `register_fake`, `register_autograd`
    and `register_kernel` add to it."""

    def __init__(self, qualname, fn, mutates_args, device_types=None, schema=None):
        namespace, _, name = qualname.partition("::")
        if not namespace or not name:
            raise ValueError(f"custom_op: the name must be 'namespace::opname', got "
                             f"{qualname!r}")
        self._namespace, self._name, self._qualname = namespace, name, qualname
        self._init_fn = fn
        self._signature = inspect.signature(fn)
        if schema is None:
            _check_annotations(self._signature)
        self._schema = schema
        self._mutated = _mutated_names(mutates_args, self._signature, qualname)
        types = [device_types] if isinstance(device_types, str) else device_types
        self._kernels = {None: fn} if types is None else {t: fn for t in types}
        self._abstract_fn = None
        self._backward_fn = self._setup_context_fn = None
        self._autograd_function = _autograd_function(self)
        self.__name__ = name
        self.__doc__ = fn.__doc__
        # gt.compile's recorder runs a callable with this attribute eagerly (a graph break)
        self._graph_break_reason = f"custom op {qualname} (gt.library.custom_op) runs its " \
                                   "Python eagerly"
        OPS[qualname] = self
        CUSTOM_NAMESPACES.setdefault(namespace, _OpNamespace(namespace))

    def __repr__(self) -> str:
        return f"<CustomOpDef({self._qualname})>"

    @property
    def default(self) -> CustomOpDef:
        """torch.ops.ns.name.default: the op itself (graphtorch has no overloads)."""
        return self

    def register_fake(self, fn):
        """The function giving the output's shape and dtype from the inputs' (opcheck and
        shape checks call it with meta tensors); returns `fn`, so it can decorate."""
        self._abstract_fn = fn
        return fn

    def register_kernel(self, device_types, fn=None):
        """The implementation for `device_types` ("cpu", "cuda"); a decorator without `fn`."""
        types = [device_types] if isinstance(device_types, str) else list(device_types)

        def wrap(func):
            for t in types:
                self._kernels[t] = func
            return func
        return wrap if fn is None else wrap(fn)

    def register_autograd(self, backward, /, *, setup_context=None) -> None:
        """`backward(ctx, *grad_outputs)` returns one gradient (or None) per input;
        `setup_context(ctx, inputs, output)` saves what it needs on ctx."""
        self._backward_fn, self._setup_context_fn = backward, setup_context

    def __call__(self, *args, **kwargs):
        tensors = _tensors(args, kwargs)
        if current_tracer() is not None:  # even on constants: the graph would freeze its result
            raise RuntimeError(f"custom op {self._qualname}: its Python body cannot be traced "
                               "(it may read tensor data); gt.compile runs it eagerly (a graph "
                               "break); call it outside gt.trace")
        bound = self._signature.bind(*args, **kwargs)
        bound.apply_defaults()
        if not any(t.requires_grad for t in tensors):
            return self._run(*bound.args, **bound.kwargs)
        return self._autograd_function.apply(*bound.args, **bound.kwargs)

    def _kernel_for(self, tensors):
        device = tensors[0].device.type if tensors else "cpu"
        kernel = self._kernels.get(device, self._kernels.get(None))
        if kernel is None:
            raise NotImplementedError(f"{self._qualname}: no kernel for device type {device!r} "
                                      f"(registered for {sorted(k for k in self._kernels if k)})")
        return kernel

    def _run(self, *args, **kwargs):
        """The kernel, then PyTorch's checks: outputs never alias inputs; declared in-place
        arguments get a new version."""
        tensors = _tensors(args, kwargs)
        # the body runs below autograd, as PyTorch's kernels do: `x.numpy()` works there
        out = self._kernel_for(tensors)(*[_detached(a) for a in args],
                                        **{k: _detached(v) for k, v in kwargs.items()})
        for o in _tensors(out if isinstance(out, tuple) else (out,), {}):
            if any(_aliases(o, t) for t in tensors):
                raise RuntimeError(f"{self._name} (with implementation in "
                                   f"{self._init_fn.__module__}): The output of this custom "
                                   "operator (1) must not also be an input to this custom "
                                   "operator and (2) may not alias any inputs to this custom "
                                   "operator or other returns. The most common way to trigger "
                                   "this error is if we have y = custom_op(x) and y and x are "
                                   "the same Tensor. Please instead return a clone of the "
                                   "offending output tensor(s) (e.g. return x.clone()) or "
                                   "refactor the custom operator to not return y.")
        names = list(self._signature.parameters)
        mutated = names if self._mutated == "unknown" else self._mutated
        for param, value in [*zip(names, args), *kwargs.items()]:
            if param in mutated and isinstance(value, Tensor):
                bump_version(value)
        return out


class _OpNamespace:
    """gt.ops.<namespace>: its custom ops as attributes (gt.ops.mylib.crop)."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, name: str) -> CustomOpDef:
        op = OPS.get(f"{self._name}::{name}")
        if op is None:
            raise AttributeError(f"'_OpNamespace' '{self._name}' object has no attribute "
                                 f"'{name}'")
        return op


def _autograd_function(op: CustomOpDef) -> type:
    """A gt.autograd.Function running the op; its backward is the registered formula, or
    PyTorch's error when none was registered."""
    def forward(*args, **kwargs):
        return op._run(*args, **kwargs)

    def setup_context(ctx, inputs, output):
        if op._setup_context_fn is not None:
            op._setup_context_fn(ctx, inputs, output)

    def backward(ctx, *grad_outputs):
        if op._backward_fn is None:
            raise RuntimeError(f"Trying to backward through {op._namespace}.{op._name}.default "
                               "but no autograd formula was registered. Please use "
                               "register_autograd to add one.")
        grads = op._backward_fn(ctx, *grad_outputs)
        return grads if isinstance(grads, tuple) else (grads,)

    name = f"GeneratedBackwardFor_{op._namespace}_{op._name}_default"
    return type(name, (Function,), {"forward": staticmethod(forward),
                                    "setup_context": staticmethod(setup_context),
                                    "backward": staticmethod(backward)})


def _tensors(args, kwargs) -> list[Tensor]:
    found = []
    for value in list(args) + list(kwargs.values()):
        if isinstance(value, Tensor):
            found.append(value)
        elif isinstance(value, (list, tuple)):
            found.extend(v for v in value if isinstance(v, Tensor))
    return found


def _detached(value):
    if isinstance(value, Tensor):
        return value.detach()
    if isinstance(value, (list, tuple)):
        return type(value)(_detached(v) for v in value)
    return value


def _aliases(a: Tensor, b: Tensor) -> bool:
    if a is b:
        return True
    da, db = a._data, b._data
    return isinstance(da, np.ndarray) and isinstance(db, np.ndarray) and \
        np.may_share_memory(da, db)
