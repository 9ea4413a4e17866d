"""`gt.utils.swap_tensors`, as PyTorch's `torch.utils.swap_tensors`: two tensor objects
exchange their whole content (class, attributes, data, autograd state) while each keeps its
identity, so references held elsewhere (an optimizer's parameter list) see the new content."""

from __future__ import annotations

import copyreg
import weakref

from ..tensor import Tensor

__all__ = ["swap_tensors"]


def swap_tensors(t1: Tensor, t2: Tensor) -> None:
    """Swap the content of `t1` and `t2` in place.

    >>> a, b = gt.zeros(2), gt.ones(3)
    >>> swap_tensors(a, b); a.shape, b.shape
    (torch.Size([3]), torch.Size([2]))
    """
    for name, t in (("t1", t1), ("t2", t2)):
        if not isinstance(t, Tensor):
            raise TypeError(f"swap_tensors(): {name} must be a Tensor, not {type(t).__name__}")
        if weakref.getweakrefs(t):
            raise RuntimeError(f"Cannot swap {name} because it has weakref associated with it")
    slots1 = set(copyreg._slotnames(type(t1)))
    if slots1 != set(copyreg._slotnames(type(t2))):
        raise RuntimeError("Cannot swap t1 and t2 if they have different slots")
    for t in (t1, t2):  # a graph built before the swap must not accumulate into it
        node = t._accumulator() if t._accumulator is not None else None
        if node is not None:
            node.register_prehook(_poisoned)
    t1.__class__, t2.__class__ = type(t2), type(t1)
    t1.__dict__, t2.__dict__ = t2.__dict__, t1.__dict__
    for name in slots1 - {"__dict__", "__weakref__"}:
        missing = object()
        v1, v2 = getattr(t1, name, missing), getattr(t2, name, missing)
        for target, value in ((t1, v2), (t2, v1)):
            if value is missing:
                delattr(target, name)
            else:
                setattr(target, name, value)
    t1._accumulator = t2._accumulator = None


def _poisoned(grad_outputs):
    raise RuntimeError("Trying to execute AccumulateGrad node that was poisoned by swap_tensors "
                       "this can happen when you try to run backward on a tensor that was "
                       "swapped. Change a module's device or dtype only before running forward "
                       "(or after both forward and backward).")
