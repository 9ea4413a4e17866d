"""`nn.Parameter` (a leaf tensor a Module registers as learnable state) and `nn.Buffer`
(a plain tensor marked to be registered as a buffer when assigned to a Module)."""

from __future__ import annotations

from ..device import host_array
from ..functions.creation import empty
from ..tensor import Tensor


class Parameter(Tensor):
    """A tensor that modules pick up as a parameter (`requires_grad=True` by default).

    >>> p = gt.nn.Parameter(gt.zeros(2))
    >>> p.requires_grad, p.is_leaf
    (True, True)
    """

    def __new__(cls, data=None, requires_grad: bool = True):
        if data is None:
            data = empty(0)
        if not isinstance(data, Tensor):
            # PyTorch's path for tensor-likes calls data.detach() first
            raise AttributeError(f"'{type(data).__name__}' object has no attribute 'detach'")
        p = object.__new__(cls)
        p._data = data._data
        p._requires_grad = False
        p._grad_fn = None
        p._output_nr = 0
        p._grad = None
        p._base = None
        p._vc = 0
        p.requires_grad_(requires_grad)
        return p

    def __init__(self, data=None, requires_grad: bool = True):
        pass

    _repr_prefix = "Parameter containing:\n"  # read by graphtorch.printing

    def __reduce_ex__(self, protocol):
        return (_rebuild_parameter, (host_array(self._data), self._requires_grad))

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        out = Parameter(Tensor._wrap(self._data.copy()), self._requires_grad)
        if self._grad is not None:
            out._grad = self._grad.__deepcopy__(memo)
        memo[id(self)] = out
        return out


def _rebuild_parameter(array, requires_grad):
    import numpy as np

    return Parameter(Tensor._wrap(np.array(array)), requires_grad)


class _BufferMeta(type):
    # `isinstance(t, Buffer)` is true for tensors that Buffer() marked, as in PyTorch.
    def __instancecheck__(cls, instance):
        if cls is Buffer:
            return isinstance(instance, Tensor) and getattr(instance, "_is_buffer", False)
        return super().__instancecheck__(instance)


class Buffer(Tensor, metaclass=_BufferMeta):
    """Marks a tensor to be registered as a buffer when assigned to a Module attribute.

    >>> m = gt.nn.Module(); m.steps = gt.nn.Buffer(gt.zeros(1))
    >>> list(m.state_dict())
    ['steps']
    """

    def __new__(cls, data=None, *, persistent: bool = True):
        if data is None:
            data = empty(0)
        t = data.detach().requires_grad_(data.requires_grad)
        t.persistent = persistent
        t._is_buffer = True
        return t
