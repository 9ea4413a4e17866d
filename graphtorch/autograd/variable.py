"""`gt.autograd.Variable`, PyTorch's legacy wrapper: today simply a Tensor."""

from __future__ import annotations

from ..tensor import Tensor
from .engine import queue_callback


class _VariableMeta(type):
    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor)

    def __call__(cls, data, requires_grad: bool = False, volatile: bool = False):
        """``Variable(t, requires_grad=True)``: a leaf sharing `t`'s memory."""
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        out = data.detach()
        out._base = None  # a fresh leaf with its own version counter, as in PyTorch
        out._view_ops = ()
        out.requires_grad_(requires_grad)
        return out


class _ExecutionEngine:
    """`Variable._execution_engine`, as in PyTorch: only `queue_callback` is offered."""

    queue_callback = staticmethod(queue_callback)


class Variable(metaclass=_VariableMeta):
    """Legacy autograd wrapper; `Variable(t, requires_grad=True)` returns a leaf Tensor."""

    _execution_engine = _ExecutionEngine()
