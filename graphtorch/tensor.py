"""The Tensor: an array (NumPy or CuPy) plus autograd and view bookkeeping.

Views share memory with their base through the array module's own views; `_base` points
to the root tensor that owns the version counter (`_vc`) shared by all its views. Math is
not defined here: methods are attached from `graphtorch.functions`, which dispatches every
op through the registry.
"""

from __future__ import annotations

import numpy as np

from . import dtypes
from .autograd import grad_mode
from .autograd.graph import HookDict, accumulate_node, add_hook
from .device import CPU, as_device, cupy_module, device, host_array
from .layout import (check_memory_format, contiguous_format, dim_order, follows_order,
                     preserve_format)
from .meta import MetaArray
from .trace_state import SymbolicArray, TracingError, current_tracer, user_frame, where

META = device("meta")


class Size(tuple):
    """A tensor shape, printed as PyTorch prints it: ``torch.Size([2, 3])``."""

    def __repr__(self):
        return f"torch.Size({list(self)})"

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, item):
        out = tuple.__getitem__(self, item)
        return Size(out) if isinstance(item, slice) else out

    def __add__(self, other):
        return Size(tuple(self) + tuple(other))


_new = object.__new__


class Tensor:
    """A multi-dimensional array with autograd, used as in PyTorch.

    >>> x = gt.tensor([[1., 2.], [3., 4.]], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    tensor([[2., 4.],
            [6., 8.]])

    ``gt.Tensor(2, 3)`` (uninitialised, float32) and ``gt.Tensor([1, 2])`` (float32 data)
    are the legacy constructors.
    """

    __slots__ = (
        "__dict__",
        "__weakref__",
        "_base",
        "_data",
        "_grad",
        "_grad_fn",
        "_output_nr",
        "_requires_grad",
        "_vc",
    )
    __array_priority__ = 1000  # numpy scalars defer to our operators

    # Rarely set attributes live in the instance dict; these are their defaults.
    _view_ops = ()          # view steps from `_base` (None: a detached, non-differentiable alias)
    _view_grad_source = None
    _accumulator = None     # weakref to the leaf's AccumulateGrad node
    _hooks = None           # hooks of a leaf tensor
    _post_accumulate_grad_hooks = None  # HookDict: run after .grad of this leaf is updated
    _retains_grad = False
    _legacy_dtype = None
    _creation_meta = None   # set on views that must not be written in place with autograd

    def __init__(self, *args, **kwargs):
        pass

    @staticmethod
    def _wrap(data) -> Tensor:
        t = _new(Tensor)
        t._data = data
        t._requires_grad = False
        t._grad_fn = None
        t._output_nr = 0
        t._grad = None
        t._base = None
        t._vc = 0
        return t

    # --- metadata --------------------------------------------------------------------
    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim: int | None = None):
        """The shape, or the size of one dimension."""
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_dim_index(dim, self._data.ndim)]

    @property
    def dtype(self) -> dtypes.DType:
        return dtypes.from_numpy_dtype(self._data.dtype)

    @property
    def device(self) -> device:
        if type(self._data) is np.ndarray or type(self._data) is SymbolicArray:
            return CPU  # symbolic arrays (inside gt.trace) trace on the CPU
        if type(self._data) is MetaArray:
            return META
        return device("cuda", self._data.device.id)

    @property
    def is_cuda(self) -> bool:
        return type(self._data) is not np.ndarray and \
            type(self._data) is not SymbolicArray and type(self._data) is not MetaArray

    @property
    def is_meta(self) -> bool:
        """True for a tensor on the meta device (shape and dtype, no memory)."""
        return type(self._data) is MetaArray

    @property
    def is_cpu(self) -> bool:
        return not self.is_cuda and type(self._data) is not MetaArray

    def get_device(self) -> int:
        """The CUDA device index, or -1 for a CPU tensor (as PyTorch)."""
        return self._data.device.id if self.is_cuda else -1

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    def numel(self) -> int:
        return int(self._data.size)

    nelement = numel

    def element_size(self) -> int:
        return self._data.itemsize

    @property
    def itemsize(self) -> int:
        return self._data.itemsize

    @property
    def nbytes(self) -> int:
        return int(self._data.nbytes)

    def stride(self, dim: int | None = None):
        """Strides in elements, as PyTorch reports them."""
        _check_layout_known(self._data, "stride()")
        if type(self._data) is SymbolicArray:  # traced: the guards keep exact strides
            current_tracer().strides_read = True
        if self._data.size:
            item = self._data.itemsize
            strides = tuple(s // item for s in self._data.strides)
        else:  # NumPy zeroes the strides of empty arrays; PyTorch keeps contiguous ones
            strides = _contiguous_strides(self._data.shape)
        if dim is None:
            return strides
        return strides[_dim_index(dim, self._data.ndim)]

    def is_contiguous(self, memory_format=None) -> bool:
        """True when the dims lie in memory densely in `memory_format`'s order (row-major by
        default; ``gt.channels_last``: NHWC)."""
        _check_layout_known(self._data, "is_contiguous()", order_enough=True)
        fmt = contiguous_format if memory_format is None else \
            check_memory_format(memory_format, "is_contiguous")
        if fmt in (contiguous_format, preserve_format):
            return bool(self._data.flags.c_contiguous)
        try:
            order = dim_order(fmt, self.ndim)
        except RuntimeError:  # PyTorch: False for a rank the format does not fit
            return False
        return follows_order(self.shape, self.stride(), order)

    def data_ptr(self) -> int:
        """Address of the first element (0 for an empty tensor, as PyTorch)."""
        return _pointer(self._data) if self._data.size else 0

    def storage_offset(self) -> int:
        root = self._base if self._base is not None else self
        if not self._data.size or not root._data.size:
            return 0
        return (_pointer(self._data) - _pointer(root._data)) // self._data.itemsize

    def untyped_storage(self) -> Storage:
        """The memory shared by this tensor and its views (sizes in bytes)."""
        root = self._base if self._base is not None else self
        return Storage(root, typed=False)

    def storage(self) -> Storage:
        """Like `untyped_storage`, but sized in elements (PyTorch's TypedStorage)."""
        root = self._base if self._base is not None else self
        return Storage(root, typed=True)

    def is_floating_point(self) -> bool:
        return dtypes.is_float_array(self._data.dtype)

    def is_complex(self) -> bool:
        return self._data.dtype.kind == "c"

    def is_signed(self) -> bool:
        return self.dtype.is_signed

    @property
    def _version(self) -> int:
        if current_tracer() is not None:
            # a count of in-place writes: a graph would bake the traced call's count
            raise TracingError(f"{where(user_frame())}: reading ._version (a count of "
                               "in-place writes) while tracing; a compiled graph would keep "
                               "the traced call's count")
        root = self._base if self._base is not None else self
        return root._vc

    def _is_view(self) -> bool:
        return self._base is not None and self._view_ops is not None

    # --- autograd state ---------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        if not self._requires_grad and self._base is not None:
            return dispatch._stale_view_requires_grad(self)
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set whether autograd records ops on this leaf tensor (in place)."""
        if self._grad_fn is not None:
            if not requires_grad:
                raise RuntimeError("you can only change requires_grad flags of leaf variables. "
                                   "If you want to use a computed variable in a subgraph that "
                                   "doesn't require differentiation use "
                                   "var_no_grad = var.detach().")
            return self
        if requires_grad and not dtypes.is_inexact_array(self._data.dtype):
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        if bool(requires_grad) != self._requires_grad and _traced_argument(self):
            raise TracingError(f"{where(user_frame())}: requires_grad_() on an argument of a "
                               "compiled function changes the caller's tensor, which a "
                               "compiled graph cannot replay; this call runs eagerly")
        if bool(requires_grad) != self._requires_grad and _traced_outside_tensor(self):
            # the graph would not replay the flip, and the guards (taken after the trace)
            # would expect the flipped flag: every call recompiled (CycleGAN's
            # set_requires_grad(netD, False) in the generator step)
            raise TracingError(f"{where(user_frame())}: requires_grad_() on a tensor from "
                               "outside a compiled function (a parameter?) changes state "
                               "that a compiled graph cannot replay; this call runs eagerly")
        self._requires_grad = bool(requires_grad)
        return self

    @property
    def grad_fn(self):
        root = self._base
        if root is not None and self._view_ops:
            if root._grad_fn is not None and root._grad_fn is not self._view_grad_source:
                self._regenerate_grad_fn(root)
            elif not self._requires_grad and root._requires_grad:
                dispatch._stale_view_requires_grad(self)
        return self._grad_fn

    def _regenerate_grad_fn(self, root) -> None:
        """The base changed in place with autograd: rebuild this view's history from it."""
        t = root
        with grad_mode.enable_grad():
            for step in self._view_ops:
                op, attrs = step[0], step[1]
                t = dispatch.call(op, t, **attrs)
                if len(step) == 3:
                    t = t[step[2]]
        self._grad_fn = t._grad_fn
        self._output_nr = t._output_nr
        self._requires_grad = t._requires_grad
        self._view_grad_source = root._grad_fn

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def grad(self):
        if self._grad_fn is not None and not self._retains_grad and self._grad is None:
            import warnings

            warnings.warn("The .grad attribute of a Tensor that is not a leaf Tensor is being "
                          "accessed. Its .grad attribute won't be populated during "
                          "autograd.backward(). If you indeed want the .grad field to be "
                          "populated for a non-leaf Tensor, use .retain_grad() on the non-leaf "
                          "Tensor.", UserWarning, stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self, value) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of "
                                f"type {type(value).__name__}")
            if tuple(value.shape) != tuple(self.shape):
                raise RuntimeError(f"assigned grad has data of a different size: "
                                   f"{list(value.shape)} vs {list(self.shape)}")
            if value.dtype is not self.dtype:
                raise RuntimeError("assigned grad has data of a different type")
        self._grad = value

    @property
    def data(self) -> Tensor:
        """The same memory, detached from autograd and from the version counter."""
        if type(self._data) is SymbolicArray:  # traced: an alias of the storage
            return _traced_detach(self)
        return Tensor._wrap(self._data)

    @data.setter
    def data(self, value: Tensor) -> None:
        if type(self._data) is SymbolicArray or \
                type(value._data) is SymbolicArray:
            raise TracingError(f"{where(user_frame())}: assigning .data replaces a tensor's "
                               "storage, which a compiled graph cannot replay; use "
                               "`with torch.no_grad(): t.copy_(new)` instead")
        self._data = value._data

    def detach(self) -> Tensor:
        """A tensor sharing memory and version counter, outside the autograd graph."""
        if type(self._data) is SymbolicArray:  # traced: a gradient-barrier node
            return _traced_detach(self)
        out = Tensor._wrap(self._data)
        out._base = self._base if self._base is not None else self
        out._view_ops = None
        return out

    def detach_(self) -> Tensor:
        if self._base is not None and self._view_ops is not None:
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        if type(self._data) is SymbolicArray and (self._grad_fn is not None or
                                                  self._requires_grad):
            if _traced_argument(self):
                raise TracingError(f"{where(user_frame())}: detach_() on an argument of a "
                                   "compiled function changes the caller's tensor, which a "
                                   "compiled graph cannot replay; this call runs eagerly")
            # traced: from here on the tensor's graph value is a gradient barrier (an alias
            # recorded without grad), so generated backward code stops here as eager does
            alias = _traced_detach(self)._data
            self._data = SymbolicArray(alias.shape, alias.dtype, alias.value, alias._strides,
                                       known=alias.known, layout_unknown=alias.layout_unknown,
                                       hint_strides=alias.hint_strides)
        self._grad_fn = None
        self._requires_grad = False
        return self

    def retain_grad(self) -> None:
        """Populate `.grad` of this non-leaf tensor during backward."""
        if self.grad_fn is None:
            if not self._requires_grad:
                raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
            return
        if self._retains_grad:
            return
        _note_traced_hook(self, "retain_grad()")
        import weakref

        ref = weakref.ref(self)

        def retain(grad):
            t = ref()
            if t is not None:
                t._grad = grad.detach().clone() if t._grad is None else t._grad + grad.detach()

        node = self._grad_fn
        if node._retain_hooks is None:
            node._retain_hooks = {}
        node._retain_hooks[self._output_nr] = retain
        self._retains_grad = True

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    def register_hook(self, hook):
        """Call `hook(grad)` when this tensor's gradient is computed; it may return a new one."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        _note_traced_hook(self, "register_hook()")
        fn = self.grad_fn
        if fn is not None:
            return fn.add_tensor_hook(self._output_nr, hook)

        if self._hooks is None:  # a leaf keeps its hooks (its AccumulateGrad may be freed)
            self._hooks = HookDict()
            accumulate_node(self)._tensor_pre_hooks = {0: self._hooks}
        return add_hook(self._hooks, hook)

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(tensor)`` after a gradient was accumulated into this leaf's ``.grad``
        (what DistributedDataParallel uses to launch its all-reduce); returns a handle.

        >>> w = gt.ones(2, requires_grad=True)
        >>> h = w.register_post_accumulate_grad_hook(lambda p: print(p.grad))
        >>> (w * 3).sum().backward()
        tensor([3., 3.])
        """
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf "
                               "tensors")
        _note_traced_hook(self, "register_post_accumulate_grad_hook()")

        if self._post_accumulate_grad_hooks is None:
            self._post_accumulate_grad_hooks = HookDict()
        return add_hook(self._post_accumulate_grad_hooks, hook)

    # --- conversion to Python and NumPy ------------------------------------------------
    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The NumPy array behind this tensor (memory is shared)."""
        if type(self._data) is not np.ndarray:
            if hasattr(self._data, "_needs_value"):  # a symbolic tensor inside gt.trace
                self._data._needs_value("t.numpy()")
            if not force:
                raise TypeError(f"can't convert {self.device} device type tensor to numpy. "
                                "Use Tensor.cpu() to copy the tensor to host memory first.")
            return self._data.get()
        if self._requires_grad and grad_mode.is_grad_enabled() and not force:  # as PyTorch
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
        if self._data.dtype is dtypes.BFLOAT16_NP and not force:  # as PyTorch (NumPy has none)
            raise TypeError("Got unsupported ScalarType BFloat16")
        return self._data

    def __array__(self, dtype=None, copy=None):
        arr = self._data if type(self._data) is np.ndarray else self._data.get()
        return arr if dtype is None else arr.astype(dtype)

    def tolist(self):
        return host_array(self._data).tolist()

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted "
                               "to Scalar")
        if type(self._data) is MetaArray:
            raise RuntimeError("Tensor.item() cannot be called on meta tensors")
        return host_array(self._data).reshape(()).item()

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous"
                               if self._data.size else
                               "Boolean value of Tensor with no values is ambiguous")
        return bool(self.item())

    def _python_scalar(self):
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return self.item()

    def __float__(self) -> float:
        if self._requires_grad and grad_mode.is_grad_enabled():  # PyTorch: not under no_grad
            import warnings

            warnings.warn("Converting a tensor with requires_grad=True to a scalar may lead to "
                          "unexpected behavior.\nConsider using tensor.detach() first.",
                          UserWarning, stacklevel=2)
        return float(self._python_scalar())

    def __int__(self) -> int:
        return int(self._python_scalar())

    def __complex__(self) -> complex:
        return complex(self._python_scalar())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "biu" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an "
                            "index")
        return int(self.item())

    __hash__ = object.__hash__

    def __format__(self, spec: str) -> str:
        # As PyTorch: a 0-d tensor formats as its Python number (f"{loss}" -> "0.25").
        if self._data.ndim == 0 and type(self._data) is not SymbolicArray:
            return format(self.detach().item(), spec)
        if spec:  # object.__format__'s error, as PyTorch's
            raise TypeError(f"unsupported format string passed to {type(self).__name__}"
                            ".__format__")
        return repr(self)

    def __reduce_ex__(self, protocol):
        return (_rebuild, (host_array(self._data), self._requires_grad))

    def __deepcopy__(self, memo):
        if self.grad_fn is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) "
                               "support the deepcopy protocol at the moment.")
        out = type(self).__new__(type(self)) if type(self) is not Tensor else None
        copy = Tensor._wrap(self._data.copy())
        if out is not None and isinstance(out, Tensor):
            out._data, out._grad, out._base, out._vc = copy._data, None, None, 0
            out._grad_fn, out._output_nr = None, 0
            copy = out
        copy._requires_grad = self._requires_grad
        if self._grad is not None:
            copy._grad = self._grad.__deepcopy__(memo)
        memo[id(self)] = copy
        return copy

    # --- devices and dtypes ----------------------------------------------------------
    def cpu(self, memory_format=None) -> Tensor:
        return self.to("cpu")

    def cuda(self, device=None, non_blocking=False, memory_format=None) -> Tensor:
        """A copy on a CUDA device (``self`` if it is already there)."""
        cupy_module()  # raises a clear error without CuPy or a GPU
        return self.to(as_device(device if device is not None else "cuda"))

    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        """Export this tensor's memory as a DLPack capsule (shared, not copied)."""
        if self._requires_grad:
            raise BufferError("Can't export tensors that require gradient, use "
                              "tensor.detach()")
        if hasattr(self._data, "_needs_value"):  # a symbolic tensor inside gt.trace
            self._data._needs_value("t.__dlpack__()")
        kwargs = {} if stream is None else {"stream": stream}
        if max_version is not None:
            kwargs["max_version"] = max_version
        if dl_device is not None:
            kwargs["dl_device"] = dl_device
        if copy is not None:
            kwargs["copy"] = copy
        try:
            return self._data.__dlpack__(**kwargs)
        except TypeError:  # an array module without the newer keywords
            kwargs.pop("max_version", None)
            kwargs.pop("dl_device", None)
            kwargs.pop("copy", None)
            return self._data.__dlpack__(**kwargs)

    def __dlpack_device__(self) -> tuple:
        """(device type, index) as DLPack numbers them: (1, 0) CPU, (2, N) CUDA."""
        return (2, self._data.device.id) if self.is_cuda else (1, 0)

    def type(self, dtype=None, non_blocking=False):
        """Without argument, the legacy type name (``'torch.FloatTensor'``); else convert."""
        if dtype is None:
            return legacy_type_name(self.dtype, self.is_cuda)
        if isinstance(dtype, str):
            name = dtype.rsplit(".", 1)[-1]
            for d in dtypes.ALL_DTYPES:
                if d.legacy_name == name:
                    return self.to(d)
            raise ValueError(f"invalid type: '{dtype}'")
        if isinstance(dtype, type) and getattr(dtype, "_legacy_dtype", None) is not None:
            return self.to(dtype._legacy_dtype)
        return self.to(dtype)


def legacy_type_name(dtype, cuda: bool = False) -> str:
    if not isinstance(dtype, dtypes.DType):
        dtype = dtypes.from_numpy_dtype(np.dtype(dtype))
    name = dtype.legacy_name or f"{dtype.name.capitalize()}Tensor"
    return f"torch.{'cuda.' if cuda else ''}{name}"


def _rebuild(array, requires_grad):
    t = Tensor._wrap(np.array(array))
    t._requires_grad = requires_grad
    return t


def _check_layout_known(array, what: str, order_enough: bool = False) -> None:
    """Break the graph when tracing reads a layout it does not know (`order_enough`: the
    memory order learnt at the trace-time sizes is enough, as for contiguity)."""
    if type(array) is SymbolicArray and array.layout_unknown and not (
            order_enough and array.hint_strides is not None):  # a graph break
        raise TracingError(f"{where(user_frame())}: {what} of a tensor whose memory layout "
                           "depends on dynamic sizes (a permuted view, or a result computed "
                           "from one), which the trace does not track")


def _pointer(array) -> int:
    if type(array) is np.ndarray:
        return array.__array_interface__["data"][0]
    if type(array) is SymbolicArray:  # traced: a graph break (`gt.compile` runs it eagerly)
        raise TracingError(f"{where(user_frame())}: data_ptr()/storage_offset() need the "
                           "tensor's memory address, which is unknown while tracing")
    return array.data.ptr


def _dim_index(dim, ndim: int) -> int:
    """`size(dim)`/`stride(dim)` index: a 0-d tensor has no dimension to ask about."""
    if ndim == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    return normalize_dim(dim, ndim)


def _contiguous_strides(shape) -> tuple:
    strides, acc = [], 1
    for s in reversed(shape):
        strides.append(acc)
        acc *= max(s, 1)
    return tuple(reversed(strides))


class Storage:
    """The memory behind a tensor and its views (`t.untyped_storage()`)."""

    def __init__(self, root: Tensor, typed: bool = False):
        self._root = root
        self._typed = typed

    def data_ptr(self) -> int:
        """Address of the first element of the root tensor's memory (0 when empty)."""
        return _pointer(self._root._data) if self._root._data.size else 0

    def nbytes(self) -> int:
        return int(self._root._data.nbytes)

    def size(self) -> int:
        """Bytes (untyped storage) or elements (typed storage), as PyTorch."""
        data = self._root._data
        return int(data.size) if self._typed else int(data.nbytes)

    def __len__(self) -> int:
        return self.size()

    def element_size(self) -> int:
        return self._root._data.itemsize

    @property
    def dtype(self):
        return self._root.dtype

    @property
    def device(self):
        return self._root.device

    def tolist(self):
        """The elements (typed storage) or bytes (untyped storage) as Python numbers."""
        flat = host_array(self._root._data).ravel(order="K")
        return flat.tolist() if self._typed else np.ascontiguousarray(flat).view(
            np.uint8).tolist()

    def __getitem__(self, index):
        if not isinstance(index, int):
            if self._typed:
                raise RuntimeError("slices are only supported in UntypedStorage.__getitem__")
            raise NotImplementedError("graphtorch storages are indexed by integers only")
        size = self.size()
        if not -size <= index < size:
            raise IndexError(f"index {index} out of range for storage of size {size}")
        return self.tolist()[index]

    def __iter__(self):
        return iter(self.tolist())

    def __repr__(self):
        # PyTorch's form: one element (or byte) per line, then the kind, dtype and size.
        kind = (f"TypedStorage(dtype={self.dtype}, device={self.device})" if self._typed
                else f"UntypedStorage(device={self.device})")
        items = " " + "\n ".join(str(x) for x in self.tolist())
        return f"{items}\n[torch.storage.{kind} of size {self.size()}]"




def _note_traced_hook(t: Tensor, what: str) -> None:
    """Inside gt.compile's trace, a hook (or retain_grad) is Python state the generated
    backward does not run: the tracer keeps a note, and `compiler.capture` decides whether
    the graph is still exact (the hook fired during a backward inside the trace) or the
    call runs eagerly."""
    tracer = current_tracer()
    notes = getattr(tracer, "hooked", None)
    if notes is not None:
        notes.append((t, what, user_frame()))


def _traced_argument(t: Tensor) -> bool:
    """Whether `t` is the stand-in of an argument of the function being compiled (a change
    to its Python-side state would not reach the caller's tensor)."""
    tracer = current_tracer()
    return tracer is not None and any(s is t for s in getattr(tracer, "tracked_inputs", ()))


def _traced_outside_tensor(t: Tensor) -> bool:
    """Whether, inside a trace, `t` is a tensor that existed before it (a module's parameter
    or buffer, bound or not yet used): tensors the trace creates hold symbolic data."""
    tracer = current_tracer()
    return tracer is not None and (type(t._data) is not SymbolicArray
                                   or id(t) in getattr(tracer, "lifted", ()))


def _traced_detach(t: Tensor) -> Tensor:
    """`detach()` inside gt.trace: an `alias` node recorded with grad mode off, so gradient
    generation treats it as a barrier (as eager autograd does)."""
    tracer = current_tracer()
    if tracer is None:
        raise TracingError(f"{where(user_frame())}: a tensor from inside gt.trace was used "
                           "after the trace ended; use the traced function's outputs instead")
    return tracer.detach(t)


# Tensor and dispatch need each other (dispatch wraps results in Tensors; a view's autograd
# state is recomputed through dispatch): these imports come after the class, so either
# module may be imported first. (Importing graphtorch.ops loads every op family.)
from .ops import dispatch  # noqa: E402
from .ops.shape_rules import normalize_dim  # noqa: E402
