"""`gt.autograd.Function`: user-defined ops with a hand-written backward.

`MyFn.apply(*args)` runs `forward` without recording (``forward(ctx, *args)``, or
``forward(*args)`` then ``setup_context(ctx, args, output)`` when the class defines
`setup_context`), then attaches one node whose backward calls the user's
`backward(ctx, *grad_outputs)`.
"""

from __future__ import annotations

import inspect

from ..ops.dispatch import adopt_autograd, bump_version, meta_of
from ..ops.factories import zeros_for_meta
from ..tensor import Tensor
from . import grad_mode
from .graph import _FREED_MESSAGE, Node, _saved_tensors_hooks, gradient_edge, pack_saved


class FunctionCtx:
    """The `ctx` passed to `forward`/`backward` of a custom Function."""

    def __init__(self):
        self._saved = ()
        self._saved_versions = ()
        self.needs_input_grad = ()
        self.materialize_grads = True
        self._dirty = ()
        self._non_differentiable = ()
        self._freed = False

    def save_for_backward(self, *tensors) -> None:
        """Keep tensors (or None) for backward; their versions are checked on use."""
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward can only save variables, but argument {i} "
                                f"is of type {type(t).__name__}")
        if _saved_tensors_hooks:  # packed now, unpacked at each `saved_tensors`
            self._saved = tuple(pack_saved(t) if t is not None else None for t in tensors)
            self._saved_versions = None
            return
        self._saved = tensors
        self._saved_versions = tuple(
            (t._base if t._base is not None else t)._vc if t is not None else None
            for t in tensors)

    @property
    def saved_tensors(self) -> tuple:
        if self._freed:
            raise RuntimeError(_FREED_MESSAGE)
        if self._saved_versions is None:  # packed by saved_tensors_hooks
            return tuple(t.unpack() if t is not None else None for t in self._saved)
        for t, version in zip(self._saved, self._saved_versions):
            if t is not None and (t._base if t._base is not None else t)._vc != version:
                raise RuntimeError("one of the variables needed for gradient computation has "
                                   "been modified by an inplace operation (saved by a custom "
                                   "Function's save_for_backward)")
        return self._saved

    def mark_dirty(self, *tensors) -> None:
        self._dirty = tensors

    def mark_non_differentiable(self, *tensors) -> None:
        self._non_differentiable = tensors

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = value


# While a forward-AD dual level is open: fn(cls, args, kwargs) runs `Function.apply`, adding
# the outputs' tangents from the Function's `jvp` (autograd/forward_ad.py).
forward_ad_apply = [None]


class FunctionNode(Node):
    """The autograd node of one `Function.apply` call."""

    __slots__ = ("ctx", "fn_cls", "input_metas", "output_metas")

    def __init__(self, fn_cls, ctx, next_functions, input_metas, output_metas):
        super().__init__(next_functions)
        self.fn_cls = fn_cls
        self.ctx = ctx
        self.input_metas = input_metas
        self.output_metas = output_metas

    def name(self) -> str:
        return f"{self.fn_cls.__name__}Backward"

    def apply(self, grad_outputs, create_graph, retain_graph):
        if self.ctx.materialize_grads:
            like = next((g for g in grad_outputs if g is not None), None)
            device = like.device if like is not None else None
            grad_outputs = [g if g is not None else zeros_for_meta(m, device)
                            for g, m in zip(grad_outputs, self.output_metas)]
        with grad_mode.set_grad_enabled(create_graph):
            result = self.fn_cls.backward(self.ctx, *grad_outputs)
        if not isinstance(result, tuple):
            result = (result,)
        n = len(self.next_functions)
        if len(result) > n and all(r is None for r in result[n:]):
            result = result[:n]
        if len(result) != n:
            raise RuntimeError(f"function {self.name()} returned an incorrect number of "
                               f"gradients (expected {n}, got {len(result)})")
        if not retain_graph:
            self.ctx._freed = bool(self.ctx._saved)
        return result


class _FunctionMeta(type):
    def __init__(cls, name, bases, attrs):
        super().__init__(name, bases, attrs)
        # PyTorch's per-Function node class: type(y.grad_fn).__name__ == "MyFnBackward"
        cls._backward_cls = type(f"{name}Backward", (FunctionNode,),
                                 {"__slots__": (), "__module__": cls.__module__})


class Function(metaclass=_FunctionMeta):
    """Base class of user-defined differentiable ops.

    >>> class Exp(gt.autograd.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         y = x.exp()
    ...         ctx.save_for_backward(y)
    ...         return y
    ...     @staticmethod
    ...     def backward(ctx, grad_out):
    ...         (y,) = ctx.saved_tensors
    ...         return grad_out * y
    >>> Exp.apply(gt.zeros(2, requires_grad=True)).sum().backward()
    """

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom "
                                  "autograd.Function.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for "
                                  "your custom autograd.Function to use it with backward mode "
                                  "AD.")

    vjp = backward

    @staticmethod
    def setup_context(ctx, inputs, output):
        """Overridden by Functions whose `forward` takes no ctx (PyTorch's new style):
        `apply` runs ``forward(*args)``, then ``setup_context(ctx, args, output)``."""
        raise NotImplementedError("setup_context is not implemented.")

    @staticmethod
    def jvp(ctx, *grad_inputs):
        raise NotImplementedError("You must implement the jvp function for custom "
                                  "autograd.Function to use it with forward mode AD.")

    @classmethod
    def apply(cls, *args, **kwargs):
        hook = forward_ad_apply[0]
        if hook is not None:  # a forward-AD dual level is open (autograd/forward_ad.py)
            return hook(cls, args, kwargs)
        return cls._apply_with(FunctionCtx(), args, kwargs)

    @classmethod
    def _apply_with(cls, ctx, args, kwargs):
        separate_ctx = cls.setup_context is not Function.setup_context
        if separate_ctx:  # the inputs setup_context sees: every argument, defaults included
            bound = inspect.signature(cls.forward).bind(*args, **kwargs)
            bound.apply_defaults()
            args, kwargs = bound.args, bound.kwargs
        tensor_args = [a for a in args if isinstance(a, Tensor)]
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        with grad_mode.no_grad():
            if separate_ctx:
                outputs = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, outputs)
            else:
                outputs = cls.forward(ctx, *args, **kwargs)
        single = not isinstance(outputs, tuple)
        outs = (outputs,) if single else outputs
        if ctx._dirty:
            _check_dirty(ctx._dirty)
        if not grad_mode.is_grad_enabled() or not any(t.requires_grad for t in tensor_args):
            return outputs
        next_functions = tuple(gradient_edge(a) if isinstance(a, Tensor) and a.requires_grad
                               else (None, 0) for a in args)
        tensor_outs = [o for o in outs if isinstance(o, Tensor)]
        node = cls._backward_cls(cls, ctx, next_functions,
                                 tuple(meta_of(a) if isinstance(a, Tensor) else None
                                       for a in args),
                                 tuple(meta_of(o) for o in tensor_outs))
        result = []
        nr = 0
        for o in outs:
            if not isinstance(o, Tensor):
                result.append(o)
                continue
            if any(o is a for a in args) and not any(o is d for d in ctx._dirty):
                o = o.view_as(o)  # returning an input unchanged gives a new view of it
            if any(o is d for d in ctx._non_differentiable) or not (o.is_floating_point()
                                                                   or o.is_complex()):
                result.append(o)
                nr += 1
                continue
            if any(o is d for d in ctx._dirty):
                _adopt_dirty(o, node, nr)
            else:
                o._grad_fn = node
                o._output_nr = nr
                o._requires_grad = True
            result.append(o)
            nr += 1
        return result[0] if single else tuple(result)


def _check_dirty(dirty) -> None:
    """PyTorch's checks on tensors a forward changed in place (`ctx.mark_dirty`)."""
    for t in dirty:
        if grad_mode.is_grad_enabled() and t._requires_grad:
            if t._grad_fn is None and t._base is None:
                raise RuntimeError("a leaf Variable that requires grad has been used in an "
                                   "in-place operation.")
            base = t._base
            if base is not None and t._view_ops is not None and base._grad_fn is None \
                    and base._requires_grad:
                raise RuntimeError("a view of a leaf Variable that requires grad has been used "
                                   "in an in-place operation.")
        bump_version(t)  # marking dirty counts as one more in-place change, as in PyTorch


def _adopt_dirty(tensor, node, nr) -> None:
    """A dirty output takes the node's history (through its base when it is a view)."""
    carrier = Tensor._wrap(tensor._data)
    carrier._grad_fn = node
    carrier._output_nr = nr
    carrier._requires_grad = True
    adopt_autograd(tensor, carrier)


def once_differentiable(fn):
    """Decorator for `backward`: run it without building a graph (no double backward)."""
    import functools

    @functools.wraps(fn)
    def wrapper(ctx, *args):
        with grad_mode.no_grad():
            return fn(ctx, *args)

    return wrapper
