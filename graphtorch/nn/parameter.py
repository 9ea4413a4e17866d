"""`nn.Parameter`: a leaf tensor that a Module registers as learnable state."""

from __future__ import annotations

from ..tensor import Tensor


class Parameter(Tensor):
    """A tensor that modules pick up as a parameter (`requires_grad=True` by default).

    >>> p = gt.nn.Parameter(gt.zeros(2))
    >>> p.requires_grad, p.is_leaf
    (True, True)
    """

    def __new__(cls, data=None, requires_grad: bool = True):
        if data is None:
            from ..functions.creation import empty

            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter data must be a Tensor, got {type(data).__name__}")
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
        from ..tensor import _host

        return (_rebuild_parameter, (_host(self._data), self._requires_grad))

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
