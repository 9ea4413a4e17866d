"""Public shape functions: views (`view`, `permute`, `narrow`, ...), `reshape`, splits,
`contiguous`, `clone`, `copy_`, and the in-place metadata ops (`t_`, `squeeze_`, ...)."""

from __future__ import annotations

import math
import numbers

import numpy as np

from .. import dtypes
from ..device import cupy_module
from ..layout import (channels_last, channels_last_3d, check_memory_format, contiguous_format,
                      dim_order, follows_order, inverse, preserve_format, suggested_format)
from ..ops import elementwise as elementwise_ops
from ..ops import views as views_ops
from ..meta import MetaArray
from ..ops.dispatch import (bump_version, call, call_inplace, check_inplace_allowed,
                            multi_output_views)
from ..ops.shape_rules import broadcast_shapes as rule
from ..ops.shape_rules import normalize_dim
from ..symbolic import SymInt
from ..tensor import Size, Tensor
from ..trace_state import SymbolicArray, TracingError, current_tracer, user_frame, where
from ._wrap import as_operand, check_tensor, name_as

__all__ = ["reshape", "flatten", "unflatten", "permute", "transpose", "swapaxes", "swapdims",
           "t", "squeeze", "unsqueeze", "select", "narrow", "movedim", "moveaxis", "unbind",
           "split", "split_with_sizes", "chunk", "tensor_split", "diagonal", "clone", "broadcast_to",
           "broadcast_tensors", "broadcast_shapes", "atleast_1d", "atleast_2d", "ravel", "view_as_real",
           "view_as_complex"]


def _sizes(args) -> tuple:
    if len(args) == 1 and isinstance(args[0], (tuple, list, Size)):
        return tuple(args[0])
    return tuple(args)


def size_argument(args, keyword, fname: str, argname: str) -> tuple:
    """A size given as varargs (``view(2, 3)``), as one sequence (``view((2, 3))``) or by
    PyTorch's keyword (``view(size=(2, 3))``). Elements must be integers: a float raises
    PyTorch's TypeError instead of being truncated."""
    if keyword is not None:
        if args:
            raise TypeError(f"{fname}() got multiple values for argument '{argname}'")
        args = (keyword,)
    sizes = _sizes(args)
    for i, s in enumerate(sizes):
        if type(s) is not SymInt and not hasattr(type(s), "__index__"):
            raise TypeError(f"{fname}(): argument '{argname}' (position 1) must be tuple of "
                            f"ints, but found element of type {type(s).__name__} at pos {i}")
    return sizes


def view(self, *shape, size=None, dtype=None):
    """The same memory with a new shape (RuntimeError if the strides don't allow it).

    ``view(dtype)`` reinterprets the bytes as another dtype of the same size.

    >>> gt.arange(6).view(2, 3).shape
    torch.Size([2, 3])
    """
    if dtype is not None and not shape and size is None:
        return _view_dtype(self, dtypes.dtype_argument(dtype, "view"))
    if len(shape) == 1 and isinstance(shape[0], dtypes.DType):
        return _view_dtype(self, shape[0])
    if not shape and size is None:  # `view(())` is a 0-d view; `view()` is no call at all
        raise TypeError("view() received an invalid combination of arguments - got (), but "
                        "expected one of:\n * (torch.dtype dtype)\n * (tuple of ints size)\n")
    return call(views_ops.VIEW_OP, self, shape=size_argument(shape, size, "view", "size"))


def _view_dtype(self, dtype):
    """The same bytes read as `dtype`; with another element size the last dim (stride 1)
    grows or shrinks by the size ratio, as PyTorch's `view_dtype`."""
    old_size, new_size = self.element_size(), dtype.itemsize
    if new_size != old_size:
        _check_view_dtype(self, dtype, old_size, new_size)
    out = Tensor._wrap(self._data.view(dtype.np_dtype))
    out._base = self._base if self._base is not None else self
    out._view_ops = None
    return out


def _check_view_dtype(self, dtype, old_size: int, new_size: int) -> None:
    what = (f"to view {dtypes.scalar_type_name(self.dtype)} as "
            f"{dtypes.scalar_type_name(dtype)} (different element sizes)")
    if self.ndim == 0:
        raise RuntimeError(f"self.dim() cannot be 0 {what}")
    strides = self.stride()
    if new_size > old_size:
        ratio = new_size // old_size
        if self.shape[-1] % ratio:
            raise RuntimeError(f"self.size(-1) must be divisible by {ratio} {what}, but got "
                               f"{self.shape[-1]}")
        if self.storage_offset() % ratio:
            raise RuntimeError(f"self.storage_offset() must be divisible by {ratio} {what}, "
                               f"but got {self.storage_offset()}")
    if strides[-1] != 1:
        raise RuntimeError(f"self.stride(-1) must be 1 {what}, but got {strides[-1]}")
    if new_size > old_size:
        for dim, stride in enumerate(strides[:-1]):
            if stride % ratio:
                raise RuntimeError(f"self.stride({dim}) must be divisible by {ratio} {what}, "
                                   f"but got {stride}")


def view_as_real(input):
    """A complex tensor's memory as a float tensor with a last dim of (real, imag).

    >>> gt.view_as_real(gt.tensor([1 + 2j]))
    tensor([[1., 2.]])
    """
    check_tensor(input, "view_as_real")
    return call(views_ops.VIEW_AS_REAL, input)


def view_as_complex(input):
    """(..., 2) float pairs as a complex tensor on the same memory (`view_as_real`'s
    inverse); the last dim needs stride 1, the other strides and the offset even."""
    check_tensor(input, "view_as_complex")
    if input.ndim and input.shape[-1] == 2 and input.dtype in (dtypes.float32,
                                                                dtypes.float64):
        strides = input.stride()
        if strides[-1] != 1:
            raise RuntimeError("Tensor must have a last dimension with stride 1")
        if any(s % 2 for s in strides[:-1]):
            raise RuntimeError("Tensor must have a stride divisible by 2 for all but last "
                               "dimension")
        # a trace knows no memory addresses; its kernel reads any offset
        if current_tracer() is None and input.storage_offset() % 2:
            raise RuntimeError("Tensor must have a storage_offset divisible by 2")
    return call(views_ops.VIEW_AS_COMPLEX, input)


def reshape(input, *sizes, shape=None):
    """A view when the strides allow it, else a copy (``reshape(x, (2, 3))``,
    ``x.reshape(2, 3)``, ``x.reshape(shape=(2, 3))``)."""
    check_tensor(input, "reshape")
    if not sizes and shape is None:
        raise TypeError('reshape() missing 1 required positional arguments: "shape"')
    shape = size_argument(sizes, shape, "reshape", "shape")
    try:
        return call(views_ops.VIEW_OP, input, shape=shape)
    except RuntimeError as exc:
        if "view size is not compatible" not in str(exc):
            raise
    return call(views_ops.UNSAFE_VIEW, call(elementwise_ops.CLONE, input, contiguous=True),
                shape=shape)


def view_as(self, other):
    return view(self, tuple(other.shape))


def reshape_as(self, other):
    return reshape(self, tuple(other.shape))


def flatten(input, start_dim=0, end_dim=-1):
    """Merge dims start_dim..end_dim into one."""
    if input.ndim == 0:
        return reshape(input, 1)
    start, end = normalize_dim(start_dim, input.ndim), normalize_dim(end_dim, input.ndim)
    if start > end:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if start == end:
        return input
    shape = input.shape
    merged = 1
    for s in shape[start:end + 1]:
        merged *= s
    return reshape(input, tuple(shape[:start]) + (merged,) + tuple(shape[end + 1:]))


def ravel(input):
    return reshape(input, -1)


def unflatten(input, dim, sizes):
    """Split one dim into `sizes`."""
    d = normalize_dim(dim, input.ndim)
    shape = tuple(input.shape)
    sizes = _unflatten_sizes(tuple(sizes), shape[d], d)
    # reshape: a view wherever the strides allow one (always, for a contiguous input)
    return reshape(input, shape[:d] + sizes + shape[d + 1:])


def _unflatten_sizes(sizes: tuple, size, d: int) -> tuple:
    """`sizes` with a -1 inferred from the unflattened dim's `size` (not from the tensor's
    numel, which is 0 whenever another dim is), checked as PyTorch checks them."""
    if not all(type(s) is int for s in (*sizes, size)):
        return sizes  # symbolic sizes: reshape checks them
    known = math.prod(s for s in sizes if s != -1)
    if sizes.count(-1) == 1 and known and size % known == 0:
        sizes = tuple(size // known if s == -1 else s for s in sizes)
    if sizes.count(-1) == 0 and math.prod(sizes) == size:
        return sizes
    raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size "
                       f"of dim {d} ({size}) in the input tensor")


def expand(self, *sizes, size=None, implicit=False):
    """Broadcast to `sizes` without copying (-1 keeps a dim)."""
    return call(views_ops.EXPAND, self, sizes=size_argument(sizes, size, "expand", "size"))


def expand_as(self, other):
    return expand(self, *other.shape)


def broadcast_to(input, size):
    return expand(input, *size)


def broadcast_shapes(*shapes):
    return Size(rule(*[(s,) if isinstance(s, int) else tuple(s) for s in shapes]))


def broadcast_tensors(*tensors):
    """The tensors expanded to their common shape; one already of that shape is returned
    itself, as PyTorch does (no ExpandBackward0 in its history)."""
    shape = tuple(broadcast_shapes(*(t.shape for t in tensors)))
    return tuple(t if tuple(t.shape) == shape else expand(t, *shape) for t in tensors)


def permute(input, *order, dims=None):
    """Reorder dimensions (a view): ``permute(x, (1, 0))``, ``x.permute(1, 0)``."""
    return call(views_ops.PERMUTE, input, dims=size_argument(order, dims, "permute", "dims"))


def transpose(input, dim0, dim1):
    """Swap two dimensions (a view)."""
    return call(views_ops.TRANSPOSE, input, dim0=dim0, dim1=dim1)


def swapaxes(input, axis0, axis1):
    """NumPy's name for `transpose`."""
    return transpose(input, axis0, axis1)


def swapdims(input, dim0, dim1):
    """Another name for `transpose`."""
    return transpose(input, dim0, dim1)


def t(input):
    """Transpose a tensor of at most 2 dims."""
    if input.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                           f"{input.ndim}D")
    if input.ndim < 2:
        return name_as(call(views_ops.ALIAS, input), "TBackward0")
    return name_as(call(views_ops.TRANSPOSE, input, dim0=0, dim1=1), "TBackward0")


def transposed(self):
    return permute(self, *reversed(range(self.ndim)))


def matrix_transposed(self):
    if self.ndim < 2:
        raise RuntimeError("tensor.mT is only supported on matrices or batches of matrices. Got "
                           f"{self.ndim}-D tensor.")
    return transpose(self, -2, -1)


def squeeze(input, dim=None):
    """Drop size-1 dims (all, or those in `dim`)."""
    dims = None if dim is None else tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
    return call(views_ops.SQUEEZE, input, dims=dims)



def unsqueeze(input, dim):
    """Insert a size-1 dim at `dim`."""
    return call(views_ops.UNSQUEEZE, input, dim=dim)


def select(input, dim, index):
    """Index `index` along `dim`, dropping the dim (a view)."""
    if isinstance(index, Tensor):
        index = index.item()
    return call(views_ops.SELECT, input, dim=dim, index=int(index))


def narrow(input, dim, start, length):
    """`length` elements from `start` along `dim` (a view)."""
    if isinstance(start, Tensor):
        start = start.item()
    d = normalize_dim(dim, input.ndim)
    size = input.shape[d]
    if start < 0:
        start += size
    if not 0 <= start <= size or length < 0 or start + length > size:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size "
                           f"({size}).")
    return call(views_ops.SLICE, input, dim=d, start=start, stop=start + length, step=1)


def movedim(input, source, destination):
    """Move dims from `source` positions to `destination` positions."""
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    nd = input.ndim
    src = [normalize_dim(s, nd) for s in src]
    dst = [normalize_dim(d, nd) for d in dst]
    order = [i for i in range(nd) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return permute(input, *order[:nd])  # a 0-d tensor: dim 0 (or -1) names the tensor


moveaxis = movedim


def unbind(input, dim=0):
    """The slices along `dim`, as a tuple of views."""
    d = normalize_dim(dim, input.ndim)
    out = tuple(name_as(select(input, d, i), "UnbindBackward0")
                for i in range(input.shape[d]))
    multi_output_views(out, "Unbind")
    return out


def split(tensor, split_size_or_sections, dim=0):
    """Views of size `split_size` (last may be smaller) or of the given section sizes."""
    d = normalize_dim(dim, tensor.ndim)
    size = tensor.shape[d]
    if isinstance(split_size_or_sections, numbers.Integral):
        step = int(split_size_or_sections)
        if step <= 0 and size:
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got "
                               f"dimension size of {size}")
        sections = [min(step, size - i) for i in range(0, size, step)] if size else [0]
    else:
        sections = list(split_size_or_sections)
        if sum(sections) != size:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {size} "
                               f"(input tensor's size at dimension {d}), but got "
                               f"split_sizes={sections}")
    name = "Split" if isinstance(split_size_or_sections, numbers.Integral) else "SplitWithSizes"
    out = tuple(name_as(part, f"{name}Backward0")
                for part in _narrow_sections(tensor, sections, d))
    multi_output_views(out, name)
    return out


def split_with_sizes(input, split_sizes, dim=0):
    """Views of the given section sizes along `dim` (`split` with a list).

    >>> [t.tolist() for t in gt.arange(5).split_with_sizes([2, 3])]
    [[0, 1], [2, 3, 4]]
    """
    if isinstance(split_sizes, numbers.Integral) or not isinstance(split_sizes,
                                                                   (list, tuple, Size)):
        raise TypeError(f"split_with_sizes(): argument 'split_sizes' (position 1) must be "
                        f"tuple of ints, not {type(split_sizes).__name__}")
    return split(input, list(split_sizes), dim)


def _narrow_sections(tensor, sections, d) -> tuple:
    out, start = [], 0
    for length in sections:
        out.append(narrow(tensor, d, start, length))
        start += length
    return tuple(out)


def chunk(input, chunks, dim=0):
    """Split into `chunks` nearly equal views (fewer if the dim is small)."""
    if chunks <= 0:
        raise RuntimeError("chunk expects `chunks` to be greater than 0, got: "
                           f"{chunks}")
    d = normalize_dim(dim, input.ndim)
    size = input.shape[d]
    step = -(-size // chunks) if size else 1
    return split(input, step, d)


def tensor_split(input, indices_or_sections=None, dim=0, *, sections=None, indices=None,
                 tensor_indices_or_sections=None):
    """numpy.array_split semantics: sections differ by at most one element. PyTorch's
    overloads name the second argument `sections` (an int), `indices` (a sequence) or
    `tensor_indices_or_sections` (a tensor)."""
    indices_or_sections = one_of_split_arguments(
        "tensor_split", indices_or_sections, sections, indices, tensor_indices_or_sections)
    if isinstance(indices_or_sections, Tensor):
        indices_or_sections = indices_or_sections.tolist()
    d = normalize_dim(dim, input.ndim)
    size = input.shape[d]
    if isinstance(indices_or_sections, numbers.Integral):
        n = int(indices_or_sections)
        if n <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {n}")
        base, extra = divmod(size, n)
        sections = [base + 1] * extra + [base] * (n - extra)
        return _narrow_sections(input, sections, d)
    bounds = [0, *[min(max(int(i), 0), size) for i in indices_or_sections], size]
    return tuple(narrow(input, d, a, max(b - a, 0)) for a, b in zip(bounds, bounds[1:]))


def one_of_split_arguments(fname: str, *given):
    """The one split specification passed, under whichever of PyTorch's names."""
    passed = [g for g in given if g is not None]
    if len(passed) != 1:
        raise TypeError(f"{fname}() takes exactly one of indices_or_sections, sections or "
                        f"indices ({len(passed)} given)")
    return passed[0]


def _split_method(self, split_size, dim=0):
    """`Tensor.split`: PyTorch names the method's argument `split_size`."""
    return split(self, split_size, dim)


def diagonal(input, offset=0, dim1=0, dim2=1):
    """A view of the diagonal of dims (dim1, dim2), appended as the last dim."""
    return call(views_ops.DIAGONAL, input, offset=offset, dim1=dim1, dim2=dim2)


def clone(input, *, memory_format=None):
    """A copy that is recorded by autograd (CloneBackward0): with the input's strides where
    it is dense (`preserve_format`, the default), else in `memory_format`'s order."""
    check_tensor(input, "clone")
    fmt = preserve_format if memory_format is None else \
        check_memory_format(memory_format, "clone")
    if fmt is preserve_format:
        return call(elementwise_ops.CLONE, input)
    return copy_in_order(input, dim_order(fmt, input.ndim))


def contiguous(self, memory_format=None):
    """`self` if already laid out in `memory_format` (row-major by default), else a copy
    that is."""
    fmt = contiguous_format if memory_format is None else \
        check_memory_format(memory_format, "contiguous")
    if fmt in (contiguous_format, preserve_format):
        data = self._data
        if type(data) is SymbolicArray and not data.order_known:  # a graph break
            raise TracingError(f"{where(user_frame())}: contiguous() of a tensor whose "
                               "memory layout depends on dynamic sizes, which the trace "
                               "does not track (eager returns it or a copy by its layout)")
        if data.flags.c_contiguous:
            return self
        if fmt is preserve_format:
            raise RuntimeError("preserve memory format is unsupported by the contiguous "
                               "operator")
        return call(elementwise_ops.CLONE, self, contiguous=True)
    order = dim_order(fmt, self.ndim)
    if follows_order(self.shape, self.stride(), order):
        return self
    return copy_in_order(self, order)


def copy_in_order(input, order):
    """A copy of `input` whose dims lie in memory in `order` (None: row-major): a
    row-major copy of the permuted view, permuted back."""
    if order is None:
        return call(elementwise_ops.CLONE, input, contiguous=True)
    copied = call(elementwise_ops.CLONE, input.permute(order), contiguous=True)
    return copied.permute(inverse(order))


def keep_channels_last(result, input):
    """`result` laid out channels-last when `input` suggests that format, as PyTorch's
    reflect/replicate padding and upsampling kernels keep it (one copy there, none
    otherwise), for those composites; single-op kernels use `layout.channels_last_results`."""
    if input.ndim not in (4, 5) or result.ndim != input.ndim or input.is_contiguous():
        return result
    fmt = channels_last if input.ndim == 4 else channels_last_3d
    strides, shape = input.stride(), tuple(input.shape)
    if all(type(n) is int for n in strides + shape):
        suggested = suggested_format(shape, strides) is fmt
    else:  # dynamic sizes: only a dense channels-last layout is known
        suggested = input.is_contiguous(memory_format=fmt)
    return result.contiguous(memory_format=fmt) if suggested else result


def atleast_1d(*tensors):
    out = [t.reshape(1) if t.ndim == 0 else t for t in _flat(tensors)]
    return out[0] if len(out) == 1 else tuple(out)


def atleast_2d(*tensors):
    out = []
    for t in _flat(tensors):
        out.append(t.reshape(1, 1) if t.ndim == 0 else t.unsqueeze(0) if t.ndim == 1 else t)
    return out[0] if len(out) == 1 else tuple(out)


def _flat(tensors):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        return list(tensors[0])
    return list(tensors)


# --- in-place ----------------------------------------------------------------------------

def copy_(self, other, non_blocking=False):
    """Copy `other` (broadcast, cast) into `self`; gradient flows to `other`."""
    src = as_operand(other)
    if isinstance(src, Tensor) and src.device != self.device:
        src = src.to(self.device)
    return call_inplace(elementwise_ops.COPY, self, src)


def fill_(self, value):
    """Fill with a number (or a 0-d tensor)."""
    if isinstance(value, Tensor):
        if value.ndim:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor "
                               f"with {value.ndim} dimensions.")
        return copy_(self, value)
    return call_inplace(elementwise_ops.FILL, self, value=value)


def zero_(self):
    """Fill with zeros."""
    return call_inplace(elementwise_ops.FILL, self, value=0)


def metadata_inplace(fn):
    """`t_`, `squeeze_`, ...: `self` takes the shape (and history) of a view of itself."""
    def method(self, *args, **kwargs):
        check_inplace_allowed(self)
        if current_tracer() is not None and getattr(self._data, "root", None) is None:
            # the tensor owns its storage while tracing (an argument, state, a result): as a
            # view of itself it would be its own root, and an argument's new shape is a
            # change of the caller's object the graph cannot replay
            raise TracingError(f"{where(user_frame())}: {method.__name__}() changes the "
                               "shape of a tensor that owns its storage (an argument or a "
                               "result), which a compiled graph cannot replay; this call runs "
                               "eagerly")
        result = fn(self, *args, **kwargs)
        self._data = result._data
        if self._base is not None and self._view_ops is not None and \
                result._base is self._base:
            # a view stays a view of its base with one more step: a later in-place write
            # through it replays the new chain onto the base (autograd's rebase)
            self._view_ops = result._view_ops
        if result._grad_fn is not None:
            self._grad_fn = result._grad_fn
            self._output_nr = result._output_nr
        return self
    method.__name__ = fn.__name__ + "_"
    method.__doc__ = f"In-place {fn.__name__} (changes this tensor's shape, not its data)."
    return method


def resize_(self, *sizes, size=None, memory_format=None):
    """Give `self` the sizes `sizes` in place, as PyTorch: the first elements keep their
    values (row-major), new ones are uninitialised (zeros here). A tensor that requires
    grad, or a view, cannot be resized; inside `gt.compile` this breaks the graph."""
    if size is not None:  # resize_(size=(2, 3)), PyTorch's keyword
        sizes = (size,)
    sizes = tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list, Size)) \
        else sizes
    if self.requires_grad:
        raise RuntimeError("cannot resize variables that require grad")
    check_inplace_allowed(self)
    if current_tracer() is not None:
        raise TracingError(f"{where(user_frame())}: resize_() changes a tensor's storage, "
                           "which a compiled graph cannot replay; this call runs eagerly")
    if any(not isinstance(n, numbers.Integral) or n < 0 for n in sizes):
        raise RuntimeError(f"Trying to create tensor with negative dimension: {list(sizes)}")
    if self._base is not None and math.prod(sizes) != self.numel():
        raise RuntimeError("resize_ of a view to a different number of elements is not "
                           "supported in graphtorch")
    if type(self._data) is MetaArray:
        self._data = MetaArray(sizes, self._data.dtype)
    elif self._data.size == math.prod(sizes) and self._data.flags.c_contiguous:
        self._data = self._data.reshape(sizes)
    else:
        old = self._data.reshape(-1)  # a copy when not contiguous: row-major values
        xp = np if type(old) is np.ndarray else cupy_module()
        data = xp.zeros(math.prod(sizes), dtype=self._data.dtype)
        keep = min(old.size, data.size)
        data[:keep] = old[:keep]
        self._data = data.reshape(sizes)
    bump_version(self)
    return self


def resize_as_(self, the_template, memory_format=None):
    """`self.resize_(the_template.shape)`."""
    return resize_(self, tuple(the_template.shape))


def squeeze_inplace_view(input, dim=None):
    dims = None if dim is None else tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
    return call(views_ops.SQUEEZE, input, dims=dims, inplace=True)  # PyTorch's SqueezeBackward3-5


squeeze_inplace_view.__name__ = "squeeze"


def adjoint_2d(self):
    """`self.H`: the conjugate transpose of a matrix."""
    return transposed(self).conj()


def matrix_adjoint(self):
    """`self.mH`: the conjugate transpose of the last two dims."""
    return matrix_transposed(self).conj()
