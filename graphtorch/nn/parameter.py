"""`nn.Parameter` (a leaf tensor a Module registers as learnable state) and `nn.Buffer`
(a plain tensor marked to be registered as a buffer when assigned to a Module)."""

from __future__ import annotations

from ..device import host_array
from ..functions.creation import empty
from ..sparse import SparseTensor
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
        if isinstance(data, SparseTensor):
            raise NotImplementedError(
                "nn.Parameter of a sparse tensor is not supported: keep the sparse tensor as "
                "a plain attribute or buffer, or make its values the Parameter (gradients of "
                "gt.sparse.mm reach them)")
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


def _make_subclass(cls, data: Tensor, requires_grad: bool):
    t = object.__new__(cls)
    t._data = data._data
    t._requires_grad = False
    t._grad_fn = None
    t._output_nr = 0
    t._grad = None
    t._base = None
    t._vc = 0
    t.requires_grad_(requires_grad)
    return t


class UninitializedTensorMixin:
    """A placeholder whose shape is not known yet (a lazy module's parameters and buffers).

    It holds an empty tensor that carries the dtype and device to materialize with;
    `materialize(shape)` gives it data and turns it into `cls_to_become`.
    """

    cls_to_become: type = Tensor

    def materialize(self, shape, device=None, dtype=None) -> None:
        """Give this placeholder zeros of `shape` (on its device, with its dtype unless
        given) and make it a `cls_to_become` (the same object)."""
        device = self.device if device is None else device
        dtype = self.dtype if dtype is None else dtype
        self.data = empty(tuple(shape), device=device, dtype=dtype)
        self.__class__ = self.cls_to_become

    @property
    def shape(self):
        raise RuntimeError(
            "Can't access the shape of an uninitialized parameter or buffer. This error "
            "usually happens in `load_state_dict` when trying to load an uninitialized "
            "parameter into an initialized one. Call `forward` to initialize the parameters "
            "before accessing their attributes.")

    def share_memory_(self):
        raise RuntimeError("Can't share memory on an uninitialized parameter or buffer. Call "
                           "`forward` to initialize the parameters before calling "
                           "`module.share_memory()`.")

    def __repr__(self) -> str:
        return f"<{self.__class__.__name__}>"

    def __reduce_ex__(self, protocol):
        return (self.__class__, (self.requires_grad,))


def is_lazy(param) -> bool:
    """Whether `param` is an `UninitializedParameter` or `UninitializedBuffer`."""
    return isinstance(param, UninitializedTensorMixin)


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """A parameter whose shape a lazy module infers at its first forward.

    >>> p = gt.nn.UninitializedParameter(); p.materialize((2, 3)); type(p).__name__, p.shape
    ('Parameter', torch.Size([2, 3]))
    """

    cls_to_become = Parameter

    def __new__(cls, requires_grad: bool = True, device=None, dtype=None):
        return _make_subclass(cls, empty(0, device=device, dtype=dtype), requires_grad)

    def __init__(self, requires_grad: bool = True, device=None, dtype=None):
        pass

    def __deepcopy__(self, memo):
        if id(self) not in memo:
            memo[id(self)] = type(self)(self.requires_grad, self.device, self.dtype)
        return memo[id(self)]


class UninitializedBuffer(UninitializedTensorMixin, Tensor):
    """A buffer whose shape a lazy module infers at its first forward (e.g. running_mean)."""

    cls_to_become = Tensor

    def __new__(cls, requires_grad: bool = False, device=None, dtype=None,
                persistent: bool = True):
        buf = _make_subclass(cls, empty(0, device=device, dtype=dtype), requires_grad)
        buf.persistent = persistent
        buf._is_buffer = True
        return buf

    def __init__(self, requires_grad: bool = False, device=None, dtype=None,
                 persistent: bool = True):
        pass

    def __deepcopy__(self, memo):
        if id(self) not in memo:
            memo[id(self)] = type(self)(self.requires_grad, self.device, self.dtype,
                                        self.persistent)
        return memo[id(self)]
