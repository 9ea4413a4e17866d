"""Tensor utilities PyTorch code calls: triangle indices, unravel_index, aminmax,
sum_to_size, fill_diagonal_, addr and in-place matmul twins, h/v/dsplit, atleast_3d, no-op
memory queries, and the torch.<name> forms of nn.functional ops.

All are decompositions into registered ops (or plain metadata answers).
"""

from __future__ import annotations

import builtins
import math
import mmap

import numpy as np

from .. import dtypes, layout
from ..dtypes import scalar_type_name
from ..linalg import vector_norm
from ..ops import movement as movement_ops
from ..ops.dispatch import call
from ..ops.elementwise import WHERE
from ..ops.shape_rules import normalize_dim
from ..tensor import Tensor
from ..trace_state import TracingError, current_tracer, user_frame, where
from ._wrap import accepts_out, check_tensor, finish
from .creation import tensor, zeros_like
from .reduce import return_types
from .shape import one_of_split_arguments

__all__ = []


def _export(name, fn, method=True):
    """Make `fn` the public function `name` (`method`: also `Tensor.name`, which
    graphtorch/tensor_methods.py binds; the flag only documents that here)."""
    globals()[name] = fn
    __all__.append(name)


# --- index helpers, reductions, in-place twins, splits ----------------------------------


def _index_pair(np_pair, dtype):
    import numpy as np


    return tensor(np.stack(np_pair).reshape(2, -1), dtype=dtype)


def tril_indices(row, col, offset=0, *, dtype=None, device=None, layout=None,
                 pin_memory=False, requires_grad=False):
    """2 x N (row, col) indices of the lower triangle, row-major."""
    import numpy as np

    return _index_pair(np.tril_indices(row, offset, col), dtype or dtypes.int64)


def triu_indices(row, col, offset=0, *, dtype=None, device=None, layout=None,
                 pin_memory=False, requires_grad=False):
    """2 x N (row, col) indices of the upper triangle, row-major."""
    import numpy as np

    return _index_pair(np.triu_indices(row, offset, col), dtype or dtypes.int64)


def unravel_index(indices, shape):
    """Flat indices -> a tuple of coordinate tensors for `shape` (negative indices wrap)."""
    if not isinstance(indices, Tensor):
        indices = tensor(indices)
    if indices.dtype.category > dtypes.Category.INT or indices.dtype is dtypes.bool_:
        raise TypeError(f"expected 'indices' to be integer dtype, but got {indices.dtype}")
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if any(s < 0 for s in shape):
        raise ValueError("'shape' cannot have negative values, but got " + str(shape))
    flat = indices.to(dtypes.int64) % builtins.max(math.prod(shape), 1)
    coords = []
    for size in reversed(shape):
        coords.append(flat % size if size else flat * 0)
        flat = flat // size if size else flat
    return tuple(reversed(coords))


@accepts_out
def aminmax(input, *, dim=None, keepdim=False):
    """(min, max) in one call, as torch.return_types.aminmax."""
    check_tensor(input, "aminmax")
    if input.is_complex():
        raise NotImplementedError(f"\"aminmax_cpu\" not implemented for "
                                  f"'{scalar_type_name(input.dtype)}'")
    size = input.numel() if dim is None else input.shape[dim] if input.dim() else 1
    if size == 0:
        raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as the "
                           "operation has no identity.")
    dims = () if dim is None else dim
    result = return_types.get("aminmax", ("min", "max"))
    return result(input.amin(dims, keepdim), input.amax(dims, keepdim))


def sum_to_size(self, *sizes, size=None):
    """Sum `self` down to `size` (the reverse of expand)."""
    if size is not None:
        if sizes:
            raise TypeError("sum_to_size() got multiple values for argument 'size'")
        sizes = (size,)
    size = sizes
    if len(size) == 1 and isinstance(size[0], (list, tuple)):
        size = tuple(size[0])
    shape = tuple(self.shape)
    lead = len(shape) - len(size)
    if lead < 0 or any(s != 1 and s != t for s, t in zip(size, shape[lead:])):
        raise RuntimeError(f"size {{{list(size)}}} is not expandable to size {{{list(shape)}}}.")
    dims = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(size)
                                      if s == 1 and shape[lead + i] != 1)
    if not dims:
        return self
    out = self.sum(dims, keepdim=True)
    return out.reshape(size) if lead else out


def fill_diagonal_(self, fill_value, wrap=False):
    """Write fill_value on the main diagonal (of tall matrices every ncols + 1 rows when
    wrap=True), in place."""
    if self.dim() < 2:
        raise RuntimeError("dimensions must larger than 1")
    shape = tuple(self.shape)
    if self.dim() > 2 and len(set(shape)) != 1:
        raise RuntimeError("all dimensions of input must be of equal length")
    if self.dim() == 2:
        rows, cols = shape
        count = rows if wrap else builtins.min(rows, cols)
        flat = [k for k in range(0, rows * cols, cols + 1)] if wrap or rows <= cols else \
            [k * (cols + 1) for k in range(count)]
        flat = [f for f in flat if f // cols < (rows if wrap else cols)][:rows]
        index = (tensor([f // cols for f in flat]), tensor([f % cols for f in flat]))
    else:
        index = (tensor(list(range(shape[0]))),) * self.dim()
    self[index] = fill_value
    return self


def addr(input, vec1, vec2, *, beta=1, alpha=1, out=None):
    """beta * input + alpha * outer(vec1, vec2) (input ignored when beta == 0)."""
    for name, v in (("vec1", vec1), ("vec2", vec2)):
        if check_tensor(v, "addr", name).dim() != 1:
            raise RuntimeError(f"addr: Expected 1-D argument {name}, but got {v.dim()}-D")
    product = vec1.unsqueeze(1) * vec2.unsqueeze(0)
    if alpha != 1:
        product = product * alpha
    if beta == 0:  # NaN and inf in input are not propagated (PyTorch)

        return finish(zeros_like(input) + product, out)
    return finish((input if beta == 1 else input * beta) + product, out)


def inplace_method(fn):
    """`Tensor.addmm_`-style method: ``self.copy_(fn(self, ...))``."""
    name = fn.__name__

    def method(self, *args, **kwargs):
        return self.copy_(fn(self, *args, **kwargs))

    method.__name__ = name + "_"
    method.__doc__ = f"In-place {name}: self = {name}(self, ...)."
    return method




def _split_at(name, input, indices_or_sections, dim, min_dim):
    if input.dim() < min_dim:
        raise RuntimeError(f"torch.{name} requires a tensor with at least {min_dim} dimension, "
                           f"but got a tensor with {input.dim()} dimensions!")
    if isinstance(indices_or_sections, int):
        size = input.shape[dim]
        if indices_or_sections == 0 or size % indices_or_sections:
            raise RuntimeError(f"torch.{name} attempted to split along dimension {dim}, but the "
                               f"size of the dimension {size} is not divisible by the "
                               f"split_size {indices_or_sections}!")
    return input.tensor_split(indices_or_sections, dim)


def hsplit(input, indices_or_sections=None, *, sections=None, indices=None):
    """Split along dim 1 (dim 0 for 1-D tensors)."""
    spec = one_of_split_arguments("hsplit", indices_or_sections, sections, indices)
    return _split_at("hsplit", input, spec, 1 if input.dim() > 1 else 0, 1)


def vsplit(input, indices_or_sections=None, *, sections=None, indices=None):
    """Split along dim 0 (at least 2-D)."""
    spec = one_of_split_arguments("vsplit", indices_or_sections, sections, indices)
    return _split_at("vsplit", input, spec, 0, 2)


def dsplit(input, indices_or_sections=None, *, sections=None, indices=None):
    """Split along dim 2 (at least 3-D)."""
    spec = one_of_split_arguments("dsplit", indices_or_sections, sections, indices)
    return _split_at("dsplit", input, spec, 2, 3)


def atleast_3d(*tensors):
    """Views with at least three dims: () -> (1,1,1), (n,) -> (1,n,1), (m,n) -> (m,n,1)."""
    as_sequence = len(tensors) == 1 and isinstance(tensors[0], (list, tuple))
    items = list(tensors[0]) if as_sequence else list(tensors)
    out = []
    for t in items:
        if t.dim() == 0:
            t = t.reshape(1, 1, 1)
        elif t.dim() == 1:
            t = t.reshape(1, -1, 1)
        elif t.dim() == 2:
            t = t.unsqueeze(-1)
        out.append(t)
    return out[0] if len(out) == 1 and not as_sequence else tuple(out)


def adjoint(input):
    """The conjugate transpose of the last two dims (a view, as Tensor.mH)."""
    return input.mH


for _name in ("tril_indices", "triu_indices", "unravel_index", "aminmax",
              "sum_to_size", "fill_diagonal_", "addr", "hsplit", "vsplit", "dsplit",
              "atleast_3d", "adjoint"):
    _export(_name, globals()[_name], method=_name in (
        "aminmax", "sum_to_size", "fill_diagonal_", "addr", "hsplit", "vsplit", "dsplit",
        "adjoint"))
for _name in ("sum_to_size", "fill_diagonal_"):  # Tensor methods only in PyTorch
    __all__.remove(_name)

# --- small forms PyTorch code calls -----------------------------------------------------------


def renorm(input, p, dim, maxnorm, *, out=None):
    """Scale each slice along `dim` whose p-norm exceeds maxnorm down to norm maxnorm."""
    check_tensor(input, "renorm")
    if p <= 0:
        raise RuntimeError("renorm: non-positive-norm not supported")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm:g}")
    if input.dim() <= 1:
        raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {input.dim()} "
                           f"dimensions")
    d = normalize_dim(dim, input.dim())
    norm = vector_norm(input, p, tuple(k for k in range(input.dim()) if k != d), keepdim=True)
    factor = call(WHERE, norm > maxnorm, maxnorm / (norm + 1e-7), 1.0)
    return finish(input * factor, out)


def renorm_(self, p, dim, maxnorm):
    """In-place renorm."""
    return self.copy_(renorm(self, p, dim, maxnorm))


def detach(input):
    """torch.detach: a view outside the autograd graph."""
    return check_tensor(input, "detach").detach()


def detach_(input):
    """torch.detach_: detach in place."""
    return check_tensor(input, "detach_").detach_()


def real(input):
    """torch.real: the real part (the input itself for real dtypes)."""
    return check_tensor(input, "real").real


def imag(input):
    """torch.imag: the imaginary part (complex dtypes only)."""
    return check_tensor(input, "imag").imag


def zero_(input):
    """torch.zero_: fill with zeros in place."""
    return check_tensor(input, "zero_").zero_()


def fill(input, value):
    """torch.fill: a copy of input filled with `value` (a number or 0-d tensor)."""
    return fill_(check_tensor(input, "fill").clone(), value)


def fill_(input, value):
    """torch.fill_: fill in place with `value` (a number or 0-d tensor)."""
    check_tensor(input, "fill_")
    if isinstance(value, Tensor):
        if value.dim():
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor "
                               f"with {value.dim()} dimensions.")
        value = value.item()
    return input.fill_(value)


def conj_physical_(input):
    """In-place complex conjugate."""
    return input.copy_(input.conj()) if input.is_complex() else input


def addmv_(input, mat, vec, *, beta=1, alpha=1):
    """torch.addmv_: input = beta * input + alpha * (mat @ vec), in place."""
    return input.addmv_(mat, vec, beta=beta, alpha=alpha)


for _name in ("renorm", "renorm_", "conj_physical_"):
    _export(_name, globals()[_name])
for _name in ("detach", "detach_", "real", "imag", "zero_", "fill", "fill_", "addmv_"):
    _export(_name, globals()[_name], method=False)
__all__.remove("renorm_")  # a Tensor method only



def is_pinned(self, device=None) -> bool:
    """Host memory is never page-locked here."""
    return False


def _memory_owner(array):
    while isinstance(array, np.ndarray):
        array = array.base
    return array


def is_shared(self) -> bool:
    """Whether the data lives in shared memory (`share_memory_`)."""
    return isinstance(_memory_owner(self._data), mmap.mmap)


def share_memory_(self):
    """Move the data into anonymous shared memory (a no-op if it is there, or on a GPU):
    processes forked afterwards (`graphtorch.multiprocessing`, start method "fork") read
    and write the same numbers, as hogwild training needs. Returns self."""
    data = self._data
    if type(data) is not np.ndarray or is_shared(self):
        return self
    if self._base is not None:
        raise RuntimeError("share_memory_: graphtorch moves a tensor's own memory only; "
                           "call it on the base tensor, before taking views of it")
    buffer = mmap.mmap(-1, max(data.nbytes, 1))  # MAP_SHARED: inherited across fork()
    shared = np.ndarray(data.shape, data.dtype, buffer=buffer)
    shared[...] = data
    self._data = shared
    return self


def never(self) -> bool:
    """False: graphtorch has no nested, quantized or MKL-DNN tensors (`Tensor.is_nested`,
    ...), and a dense tensor is not sparse (`is_sparse`; `SparseTensor` overrides it)."""
    return False


def strided_layout(self) -> layout.layout:
    """`Tensor.layout`: always `gt.strided` (graphtorch tensors are dense)."""
    return layout.strided


def as_strided(input, size, stride, storage_offset=None):
    """A view of `input`'s storage with the given sizes, strides (in elements) and offset
    (default: `input`'s own), as PyTorch's.

    >>> gt.arange(6.0).as_strided((2, 2), (1, 2))
    tensor([[0., 2.],
            [1., 3.]])
    """
    check_tensor(input, "as_strided")
    if current_tracer() is not None:
        # the storage of an argument (a view of what? laid out how?) is not in the graph
        raise TracingError(f"{where(user_frame())}: as_strided() reads the tensor's storage, "
                           "which is unknown while tracing")
    root = input._base if input._base is not None else input
    if not root.is_contiguous():
        raise RuntimeError("as_strided: graphtorch needs a contiguous storage (this tensor's "
                           "base is a strided NumPy array)")
    offset = input.storage_offset() if storage_offset is None else storage_offset
    return call(movement_ops.AS_STRIDED, root, size=tuple(int(s) for s in size),
                stride=tuple(int(s) for s in stride), storage_offset=int(offset))


_export("as_strided", as_strided)
