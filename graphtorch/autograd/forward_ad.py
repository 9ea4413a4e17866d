"""`gt.autograd.forward_ad`: PyTorch's forward-mode AD API (`dual_level`, `make_dual`,
`unpack_dual`, `enter_dual_level`/`exit_dual_level`).

Tangents live in one table for the (single) level, keyed by tensor; exiting the level drops
the table. Only while a level is open does eager dispatch carry them: this module then
installs interposition hooks (`ops.interpose`: the C fast path steps aside for them), an
in-place hook (`ops.dispatch.forward_ad_inplace`) and a custom-Function hook
(`autograd.function.forward_ad_apply`), so code outside a level runs exactly as before.
Each op's tangent comes from its vjp rule (`jvp_from_vjp`); a custom Function's from its
`jvp` staticmethod. Where primals or tangents require grad, the tangents found are
differentiable w.r.t. them (reverse over forward), as PyTorch's are.
"""

from __future__ import annotations

import weakref
from typing import Any, NamedTuple

import numpy as np

from ..ops import dispatch, interpose
from ..ops.dispatch import array_module, flat_inputs
from ..tensor import Tensor
from . import function as function_module
from .function import Function, FunctionCtx
from .jvp_from_vjp import op_jvp

__all__ = ["UnpackedDualTensor", "dual_level", "enter_dual_level", "exit_dual_level",
           "make_dual", "unpack_dual"]

_current_level = -1
# id(tensor) -> (weak reference to the tensor, its tangent) at the current level
_TANGENTS: dict = {}
# Set while tangents are being computed (or a custom Function's forward runs): the ops run
# then are not followed.
_BUSY = [False]


def _tangent_of(x) -> Tensor | None:
    entry = _TANGENTS.get(id(x))
    if entry is None or entry[0]() is not x:
        return None
    return entry[1]


def _set_tangent(x: Tensor, tangent: Tensor) -> None:
    key = id(x)

    def forget(_ref, key=key):
        entry = _TANGENTS.get(key)
        if entry is not None and entry[0] is _ref:
            del _TANGENTS[key]

    _TANGENTS[key] = (weakref.ref(x, forget), tangent)


def _same_layout(a, b) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and a.strides == b.strides and \
        type(a) is type(b)


def enter_dual_level() -> int:
    """Enter a new forward grad level (only one at a time, as in PyTorch) and return it."""
    global _current_level
    if _current_level >= 0:
        raise RuntimeError("Nested forward mode AD is not supported at the moment")
    _current_level += 1
    _TANGENTS.clear()
    interpose.add(interpose.pre_call, _on_call)
    interpose.add(interpose.pre_binary, _on_binary)
    dispatch.forward_ad_inplace[0] = _on_inplace
    function_module.forward_ad_apply[0] = _on_function_apply
    return _current_level


def exit_dual_level(*, level=None) -> None:
    """Exit the current level: every tangent of this level is dropped."""
    global _current_level
    if level is None:
        level = _current_level
    if level != _current_level:
        raise RuntimeError("Trying to exit a forward AD level that was not the last one that "
                           "was created. This is not supported.")
    if level < 0:
        raise RuntimeError("Dual level must be a positive number.")
    _TANGENTS.clear()
    interpose.remove(interpose.pre_call, _on_call)
    interpose.remove(interpose.pre_binary, _on_binary)
    dispatch.forward_ad_inplace[0] = None
    function_module.forward_ad_apply[0] = None
    _current_level = level - 1


def is_active() -> bool:
    """Whether a dual level is open (compiled functions then run eagerly)."""
    return _current_level >= 0


def make_dual(tensor, tangent, *, level=None):
    """A new tensor aliased to `tensor` (a view of it) that carries `tangent` at the level.
    `tangent` is kept as is when its layout matches `tensor`'s, else copied into one that
    does.

    >>> with gt.autograd.forward_ad.dual_level():
    ...     x = make_dual(gt.tensor([1., 2.]), gt.tensor([1., 0.]))
    ...     unpack_dual(x * x).tangent
    tensor([2., 0.])
    """
    if level is None:
        level = _current_level
    if level < 0:
        raise RuntimeError("Trying to create a dual Tensor for forward AD but no level exists, "
                           "make sure to enter_dual_level() first.")
    if not (tensor.is_floating_point() or tensor.is_complex()):
        raise ValueError(f"Expected primal to be floating point or complex, but got: "
                         f"{tensor.dtype}")
    if not (tangent.is_floating_point() or tangent.is_complex()):
        raise ValueError(f"Expected tangent to be floating point or complex, but got: "
                         f"{tangent.dtype}")
    if level != _current_level:
        raise RuntimeError(f"Invalid dual level {level}: the current level is "
                           f"{_current_level}")
    if tuple(tangent.shape) != tuple(tensor.shape):
        raise RuntimeError(f"Trying to set a forward gradient that has a different size than "
                           f"that of the original Tensor, this is not supported. Tensor is of "
                           f"size {list(tensor.shape)} while the given forward gradient is of "
                           f"size {list(tangent.shape)}.")
    if _tangent_of(tensor) is not None:
        raise RuntimeError(f"Making a dual Tensor based on a Tensor that already has a forward "
                           f"gradient at the same level {level} is not supported.")
    if tangent.device != tensor.device:
        raise RuntimeError(f"Expected tangent to be on the same device as the primal, but got "
                           f"{tangent.device} and {tensor.device}")
    if not _same_layout(tangent._data, tensor._data):
        copy = np.empty_like(tensor._data) if type(tensor._data) is np.ndarray else \
            array_module((tensor._data,)).empty_like(tensor._data)
        copy[...] = tangent._data
        tangent = Tensor._wrap(copy)
    _BUSY[0] = True
    try:
        dual = tensor.view_as(tensor)
    finally:
        _BUSY[0] = False
    _set_tangent(dual, tangent)
    return dual


class UnpackedDualTensor(NamedTuple):
    """What `unpack_dual` returns: the primal (a view) and the tangent (or None)."""

    primal: Any
    tangent: Any


def unpack_dual(tensor, *, level=None):
    """`(primal, tangent)` of a dual tensor: the primal is a view of `tensor` without tangent,
    the tangent is `tensor`'s as is (None for a tensor without one, or outside any level)."""
    if level is None:
        level = _current_level
    if level < 0 or level != _current_level:
        return UnpackedDualTensor(tensor, None)
    tangent = _tangent_of(tensor)
    if tangent is None:
        return UnpackedDualTensor(tensor, None)
    _BUSY[0] = True
    try:
        primal = tensor.view_as(tensor)
    finally:
        _BUSY[0] = False
    return UnpackedDualTensor(primal, tangent)


class dual_level:
    """Context manager (and decorator) in which forward-AD computation happens; leaving it
    exits the level and drops its tangents.

    >>> with gt.autograd.forward_ad.dual_level():
    ...     pass
    """

    def __enter__(self):
        return enter_dual_level()

    def __exit__(self, exc_type, exc_value, traceback) -> None:
        exit_dual_level()

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper


# --- the hooks installed while a level is open --------------------------------------------

def _tangents(tensors) -> list | None:
    """Per item its tangent (None when it has none); None when no item has one."""
    found = [_tangent_of(x) if isinstance(x, Tensor) else None for x in tensors]
    for t in found:
        if t is not None:
            return found
    return None


def _attach(outputs, tangents) -> None:
    if tangents is None:
        return
    for out, t in zip(outputs, tangents):
        if t is not None:
            _set_tangent(out, t)


def _run_and_follow(op, inputs, attrs, tangents):
    _BUSY[0] = True
    try:
        out = dispatch.call(op, *inputs, **attrs)  # the hooks see _BUSY: a plain call
        outs = (out,) if op.num_outputs == 1 else out
        _attach(outs, op_jvp(op, inputs, outs, attrs, tangents))
    finally:
        _BUSY[0] = False
    return out


def _on_call(op, inputs, attrs):
    """`interpose.pre_call`: an op with a dual input runs, then gets its tangents."""
    if _BUSY[0] or not _TANGENTS:
        return None
    tangents = _tangents(flat_inputs(op, inputs))
    if tangents is None:
        return None
    return _run_and_follow(op, inputs, attrs, tangents)


def _on_binary(op, x, y):
    """`interpose.pre_binary`: `a * b`-style operators (no attributes)."""
    if _BUSY[0] or not _TANGENTS:
        return None
    tangents = _tangents((x, y))
    if tangents is None:
        return None
    return _run_and_follow(op, (x, y), {}, tangents)


def _replay_view(view, root_tangent):
    """`view`'s steps from its base applied to the base's tangent: the view's tangent."""
    array = root_tangent._data
    xp = array_module((array,))
    for step in view._view_ops:
        viewed = step[0].kernel(xp, array, **step[1])
        array = viewed[step[2]] if len(step) == 3 else viewed
    return Tensor._wrap(array)


def _on_inplace(op, self, others, attrs) -> bool:
    """`dispatch.forward_ad_inplace`: an in-place op where a dual tensor takes part. Runs it
    out of place on a copy of `self` for the tangent, then in place; the new tangent is
    written into `self`'s (through its base's, for a view, as PyTorch)."""
    if _BUSY[0] or not _TANGENTS:
        return False
    base = self._base
    is_view = base is not None and self._view_ops is not None
    own = _tangent_of(self)
    base_tangent = _tangent_of(base) if is_view else None
    if own is None and base_tangent is not None:
        own = _replay_view(self, base_tangent)
    tangents = _tangents(others)
    if own is None and tangents is None:
        return False
    tangents = [own, *(tangents or [None] * len(others))]
    _BUSY[0] = True
    try:
        before = Tensor._wrap(self._data.copy())
        result = dispatch.call(op, before, *others, **attrs)
        outs = (result,) if op.num_outputs == 1 else result
        found = op_jvp(op, (before, *others), outs, attrs, tangents)
        dispatch.call_inplace(op, self, *others, **attrs)
    finally:
        _BUSY[0] = False
    new = found[0] if found is not None else None
    if new is None:
        new = Tensor._wrap(array_module((self._data,)).zeros_like(self._data))
    if is_view:
        if base_tangent is None:
            base_tangent = Tensor._wrap(array_module((base._data,)).zeros_like(base._data))
            _set_tangent(base, base_tangent)
        own = _replay_view(self, base_tangent)
        own._data[...] = new._data
        _set_tangent(self, own)
    elif own is not None and _same_layout(own._data, self._data):
        own._data[...] = new._data
    else:
        _set_tangent(self, new)
    return True


def _on_function_apply(cls, args, kwargs):
    """`function.forward_ad_apply`: a custom Function with a dual input runs its forward on
    the primals, then its `jvp(ctx, *input_tangents)` gives the outputs' tangents (zeros
    for tensor inputs without one, as PyTorch)."""
    tangents = None if _BUSY[0] else _tangents(args)
    if tangents is None:
        return cls._apply_with(FunctionCtx(), args, kwargs)
    if cls.jvp is Function.jvp:
        raise NotImplementedError("You must implement the jvp function for custom "
                                  "autograd.Function to use it with forward mode AD.")
    ctx = FunctionCtx()
    _BUSY[0] = True
    try:
        out = cls._apply_with(ctx, args, kwargs)
        input_tangents = [t if t is not None else (a.new_zeros(a.shape)
                                                   if isinstance(a, Tensor) else None)
                          for a, t in zip(args, tangents)]
        result = cls.jvp(ctx, *input_tangents)
    finally:
        _BUSY[0] = False
    outs = out if isinstance(out, tuple) else (out,)
    result = result if isinstance(result, tuple) else (result,)
    if len(result) != len(outs):
        raise RuntimeError(f"function {cls.__name__}.jvp returned an incorrect number of "
                           f"forward gradients (expected {len(outs)}, got {len(result)})")
    for o, t in zip(outs, result):
        if isinstance(o, Tensor) and t is not None and (o.is_floating_point() or
                                                        o.is_complex()):
            if tuple(t.shape) != tuple(o.shape):
                raise RuntimeError(f"Trying to set a forward gradient that has a different "
                                   f"size than that of the original Tensor, this is not "
                                   f"supported. Tensor is of size {list(o.shape)} while the "
                                   f"given forward gradient is of size {list(t.shape)}.")
            _set_tangent(o, t)
    return out
