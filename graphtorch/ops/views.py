
"""View primitives: outputs alias their input's memory (PyTorch's view semantics).

A view records the steps that made it from its base (`Tensor._view_ops`), so an in-place
write through the view can be expressed as `copy_into_view(base, value, steps)`, the op
whose vjp is PyTorch's CopySlices. No view kernel may create negative strides: PyTorch
has none, so `flip` copies.
"""

from __future__ import annotations

from ..dtypes import scalar_type_name
from .devices import writable_alias, writeable
from .dispatch import call
from .factories import zeros
from .grad_utils import unbroadcast
from .registry import Category, OpDef, ResultLayout, TensorMeta, register
from .shape_rules import as_size, normalize_dim

VIEW = Category.VIEW


def _view_op(name, kernel, infer, vjp, backward_name="", doc="",
             result_layout=ResultLayout.FROM_KERNEL):
    return register(OpDef(name, VIEW, kernel, infer, vjp, backward_name=backward_name,
                          doc=doc, result_layout=result_layout))


def infer_size(shape, numel: int) -> tuple:
    """Resolve one -1 in `shape`; PyTorch's error when the sizes can't match."""
    if type(shape) is tuple and type(numel) is int:  # plain ints: resolved here
        known, unknown = 1, None
        for i, s in enumerate(shape):
            if type(s) is not int:
                break
            if s < 0:
                if s != -1 or unknown is not None:
                    break  # the general path below raises PyTorch's error
                unknown = i
            else:
                known *= s
        else:
            if unknown is None:
                if known == numel:
                    return shape
            elif known and numel % known == 0:
                return shape[:unknown] + (numel // known,) + shape[unknown + 1:]
    shape = tuple(as_size(s) for s in shape)
    unknown = [i for i, s in enumerate(shape) if s == -1]
    if len(unknown) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = 1
    for s in shape:
        if s != -1:
            if s < 0:
                raise RuntimeError(f"invalid shape dimension {s}")
            known *= s
    if unknown:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape = shape[:unknown[0]] + (numel // known,) + shape[unknown[0] + 1:]
    elif known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


def _numel(shape):
    n = 1
    for s in shape:
        n *= s
    return n


# --- view / reshape ----------------------------------------------------------------------

def _view_kernel(xp, a, shape):
    shape = infer_size(shape, a.size)
    try:
        return xp.reshape(a, shape, copy=False)
    except ValueError:
        raise RuntimeError("view size is not compatible with input tensor's size and stride (at "
                           "least one dimension spans across two contiguous subspaces). Use "
                           ".reshape(...) instead.") from None


VIEW_OP = _view_op(
    "view", _view_kernel,
    lambda a, shape: TensorMeta(infer_size(shape, _numel(a.shape)), a.dtype),
    lambda ctx, grad: (grad.reshape(ctx.input_metas[0].shape),),
    doc="the same memory with a new shape", result_layout=ResultLayout.KEEPS_CONTIGUOUS)


UNSAFE_VIEW = register(OpDef(
    "unsafe_view", Category.OPAQUE,
    lambda xp, a, shape: xp.reshape(a, infer_size(shape, a.size)),
    lambda a, shape: TensorMeta(infer_size(shape, _numel(a.shape)), a.dtype),
    lambda ctx, grad: (grad.reshape(ctx.input_metas[0].shape),),
    backward_name="UnsafeViewBackward0", may_alias_input=True,
    doc="reshape of a fresh (unaliased) tensor, not tracked as a view (reshape's copy path)"))
# Inside a compiled graph a `view` may meet another layout than eager's (passes drop
# copies eager code needed), so it runs as a reshape that copies when it must.
object.__setattr__(VIEW_OP, "graph_op", UNSAFE_VIEW)


def _expand_shape(in_shape, sizes):
    sizes = tuple(as_size(s) for s in sizes)
    if len(sizes) < len(in_shape):
        raise RuntimeError(f"expand(torch.FloatTensor{{{list(in_shape)}}}, size={list(sizes)}): "
                           "the number of sizes provided "
                           f"({len(sizes)}) must be greater or equal to the number of dimensions "
                           f"in the tensor ({len(in_shape)})")
    lead = len(sizes) - len(in_shape)
    out = []
    for i, s in enumerate(sizes):
        if i < lead:
            if s < 0:
                raise RuntimeError(f"The expanded size of the tensor (-1) isn't allowed in a "
                                   f"leading, non-existing dimension {i}")
            out.append(s)
            continue
        have = in_shape[i - lead]
        if s == -1:
            out.append(have)
        elif have == s or have == 1:
            out.append(s)
        else:
            raise RuntimeError(f"The expanded size of the tensor ({s}) must match the existing "
                               f"size ({have}) at non-singleton dimension {i}.  Target sizes: "
                               f"{list(sizes)}.  Tensor sizes: {list(in_shape)}")
    return tuple(out)


def _expand_vjp(ctx, grad):
    return (unbroadcast(grad, ctx.input_metas[0]),)


def _expand_kernel(xp, a, sizes):
    shape = _expand_shape(a.shape, sizes)
    out = xp.broadcast_to(a, shape)
    if shape == a.shape and getattr(a.flags, "writeable", True):
        # nothing is broadcast: PyTorch's result is an ordinary writable view
        out = xp.lib.stride_tricks.as_strided(a, shape, a.strides) if xp.__name__ == "numpy" \
            else a.view()
    return out


EXPAND = _view_op(
    "expand", _expand_kernel,
    lambda a, sizes: TensorMeta(_expand_shape(a.shape, sizes), a.dtype), _expand_vjp,
    doc="broadcast to a larger shape without copying (stride 0)")


def _permute_dims(dims, ndim):
    dims = tuple(normalize_dim(d, ndim) for d in dims)
    if len(dims) != ndim:
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does "
                           f"not match the length of the desired ordering of dimensions i.e. "
                           f"input.dim() = {ndim} is not equal to len(dims) = {len(dims)}")
    if len(set(dims)) != ndim:
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return dims


def _permute_vjp(ctx, grad):
    dims = _permute_dims(ctx.attrs["dims"], grad.ndim)
    inverse = [0] * len(dims)
    for i, d in enumerate(dims):
        inverse[d] = i
    return (grad.permute(*inverse),)


PERMUTE = _view_op(
    "permute", lambda xp, a, dims: xp.transpose(a, _permute_dims(dims, a.ndim)),
    lambda a, dims: TensorMeta(tuple(a.shape[d] for d in _permute_dims(dims, len(a.shape))),
                               a.dtype),
    _permute_vjp, doc="reorder dimensions")


def _transpose_kernel(xp, a, dim0, dim1):
    if a.ndim == 0:
        return a.view()
    return xp.swapaxes(a, normalize_dim(dim0, a.ndim), normalize_dim(dim1, a.ndim))


def _transpose_infer(a, dim0, dim1):
    shape = list(a.shape)
    if shape:
        i, j = normalize_dim(dim0, len(shape)), normalize_dim(dim1, len(shape))
        shape[i], shape[j] = shape[j], shape[i]
    return TensorMeta(tuple(shape), a.dtype)


TRANSPOSE = _view_op(
    "transpose", _transpose_kernel, _transpose_infer,
    lambda ctx, grad: (grad.transpose(ctx.attrs["dim0"], ctx.attrs["dim1"]),),
    doc="swap two dimensions")


def _squeeze_dims(shape, dims):
    if dims is None:
        return tuple(i for i, s in enumerate(shape) if s == 1)
    return tuple(d for d in (normalize_dim(d, len(shape)) for d in dims)
                 if len(shape) and shape[d] == 1)


SQUEEZE = _view_op(
    "squeeze", lambda xp, a, dims=None, inplace=False: xp.squeeze(a, _squeeze_dims(a.shape,
                                                                                 dims)),
    lambda a, dims=None, inplace=False: TensorMeta(
        tuple(s for i, s in enumerate(a.shape) if i not in _squeeze_dims(a.shape, dims)),
        a.dtype),
    lambda ctx, grad: (grad.reshape(ctx.input_metas[0].shape),),
    backward_name=lambda metas, attrs: _squeeze_name(attrs.get("dims"), attrs.get("inplace")),
    doc="drop size-1 dimensions", result_layout=ResultLayout.KEEPS_CONTIGUOUS)


def _squeeze_name(dims, inplace) -> str:
    # PyTorch's overloads: squeeze() -> 0, squeeze(dim) -> 1, squeeze(dims) -> 2, and the
    # in-place squeeze_ forms 3-5.
    if inplace:
        return "SqueezeBackward3" if dims is None else \
            "SqueezeBackward4" if len(dims) == 1 else "SqueezeBackward5"
    if dims is None:
        return "SqueezeBackward0"
    return "SqueezeBackward1" if len(dims) == 1 else "SqueezeBackward2"


def _unsqueeze_kernel(xp, a, dim):
    return xp.expand_dims(a, normalize_dim(dim, a.ndim + 1))


UNSQUEEZE = _view_op(
    "unsqueeze", _unsqueeze_kernel,
    lambda a, dim: TensorMeta(_insert(a.shape, normalize_dim(dim, len(a.shape) + 1)), a.dtype),
    lambda ctx, grad: (grad.squeeze(ctx.attrs["dim"]),), doc="insert a size-1 dimension",
    result_layout=ResultLayout.KEEPS_CONTIGUOUS)


def _insert(shape, d):
    return tuple(shape[:d]) + (1,) + tuple(shape[d:])


# --- select / slice / diagonal: their vjp scatters into zeros -----------------------------

def _scatter_vjp(op):
    def vjp(ctx, grad):
        blank = zeros(ctx.input_metas[0].shape, dtype=grad.dtype, device=grad.device)
        return (call(COPY_INTO_VIEW, blank, grad, view_ops=((op, ctx.attrs),)),)
    return vjp


def _check_index(size, index, dim):
    if not -size <= index < size:
        raise IndexError(f"index {index} is out of bounds for dimension {dim} with size {size}")
    return index % size


def _select_kernel(xp, a, dim, index):
    if a.ndim == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    dim = normalize_dim(dim, a.ndim)
    index = _check_index(a.shape[dim], index, dim)
    return a[(slice(None),) * dim + (index, Ellipsis)]


def _select_infer(a, dim, index):
    if not a.shape:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    dim = normalize_dim(dim, len(a.shape))
    _check_index(a.shape[dim], index, dim)
    return TensorMeta(a.shape[:dim] + a.shape[dim + 1:], a.dtype)


SELECT = _view_op("select", _select_kernel, _select_infer, None,
                  doc="index one position of a dimension (drops it)")


def slice_bounds(size, start, stop, step):
    if step <= 0:
        raise ValueError("step must be greater than zero")
    start = 0 if start is None else start
    stop = size if stop is None else stop
    start = max(0, min(size, start + size if start < 0 else start))
    stop = max(start, min(size, stop + size if stop < 0 else stop))
    return start, stop, step


def _slice_kernel(xp, a, dim, start=None, stop=None, step=1):
    dim = normalize_dim(dim, a.ndim)
    start, stop, step = slice_bounds(a.shape[dim], start, stop, step)
    return a[(slice(None),) * dim + (slice(start, stop, step),)]


def _slice_infer(a, dim, start=None, stop=None, step=1):
    dim = normalize_dim(dim, len(a.shape))
    start, stop, step = slice_bounds(a.shape[dim], start, stop, step)
    size = max(0, (stop - start + step - 1) // step)
    return TensorMeta(a.shape[:dim] + (size,) + a.shape[dim + 1:], a.dtype)


SLICE = _view_op("slice", _slice_kernel, _slice_infer, None,
                 doc="start:stop:step along one dimension (also narrow)")


def _diagonal_kernel(xp, a, offset=0, dim1=0, dim2=1):
    dim1, dim2 = normalize_dim(dim1, a.ndim), normalize_dim(dim2, a.ndim)
    if dim1 == dim2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    out = xp.diagonal(a, offset, dim1, dim2)
    if not writeable(out) and writeable(a):
        out.flags.writeable = True  # NumPy marks it read-only only out of caution
    return out


def _diagonal_infer(a, offset=0, dim1=0, dim2=1):
    nd = len(a.shape)
    dim1, dim2 = normalize_dim(dim1, nd), normalize_dim(dim2, nd)
    n1, n2 = a.shape[dim1], a.shape[dim2]
    length = max(0, min(n1, n2 - offset) if offset >= 0 else min(n1 + offset, n2))
    rest = [a.shape[i] for i in range(nd) if i not in (dim1, dim2)]
    return TensorMeta(tuple(rest) + (length,), a.dtype)


# --- the in-place write through a view ---------------------------------------------------

def apply_view_steps(xp, array, view_ops):
    for step in view_ops:
        array = step[0].kernel(xp, array, **step[1])
        if len(step) == 3:
            array = array[step[2]]
    return array


def _copy_into_view_kernel(xp, base, src, view_ops):
    # in `base`'s memory order: the steps were valid on the root's layout (`view(-1)` of a
    # transposed argument's transpose), which a graph input keeps; a gradient (the vjp
    # below) comes C-ordered, as before
    out = base.copy(order="K")
    try:
        target = apply_view_steps(xp, out, view_ops)
    except RuntimeError:
        out = base.copy()
        target = apply_view_steps(xp, out, view_ops)
    # the tracer refused targets that repeat elements, as eager does: each is written once
    writable_alias(target)[...] = src
    return out


def _copy_into_view_vjp(ctx, grad):
    view_ops = ctx.attrs["view_ops"]
    src_meta = ctx.input_metas[1]
    # the view's dtype: a view_as_real step reads a complex base as floats
    blank = zeros(src_meta.shape, dtype=src_meta.dtype, device=grad.device)
    grad_base = call(COPY_INTO_VIEW, grad, blank, view_ops=view_ops)
    grad_src = grad.contiguous()  # grads may be broadcast views; `view` steps need strides
    for step in view_ops:
        grad_src = call(step[0], grad_src, **step[1])
        if len(step) == 3:
            grad_src = grad_src[step[2]]

    return grad_base, unbroadcast(grad_src, src_meta)


COPY_INTO_VIEW = register(OpDef(
    "copy_into_view", Category.OPAQUE, _copy_into_view_kernel,
    lambda base, src, view_ops: base, _copy_into_view_vjp, backward_name="CopySlices",
    doc="base with the region selected by `view_ops` replaced by src"))

def _untracked_write_vjp(ctx, grad):
    return grad, None


UNTRACKED_WRITE = register(OpDef(
    "untracked_write", Category.OPAQUE, lambda xp, old, new: new,
    lambda old, new: old, _untracked_write_vjp, backward_name="UntrackedWriteBackward0",
    may_alias_input=True,
    doc="the value `new` carrying the autograd history of `old`: an in-place write that "
        "autograd does not record (under no_grad, or through detach()/.data)"))

DIAGONAL = _view_op("diagonal", _diagonal_kernel, _diagonal_infer, None,
                    doc="a view of the (offset) diagonal of two dimensions, appended last")

for _op in (SELECT, SLICE, DIAGONAL):  # their vjps scatter through COPY_INTO_VIEW
    object.__setattr__(_op, "vjp", _scatter_vjp(_op))


# --- complex <-> (real, imag) pairs: views that change the dtype ---------------------------

def _check_complex(dtype) -> None:
    """`dtype`: a gt.dtype (shape rule) or a NumPy dtype (kernel)."""
    if not (getattr(dtype, "is_complex", False) or getattr(dtype, "kind", "") == "c"):
        raise RuntimeError("view_as_real is only supported for complex tensors")


def _check_float_pairs(dtype, shape) -> None:
    """PyTorch's checks of `view_as_complex` that need no strides (`dtype`: a gt.dtype or
    a NumPy dtype; both have PyTorch's names)."""
    if dtype.name not in ("float32", "float64"):
        raise RuntimeError(f"view_as_complex is only supported for half, float and double "
                           f"tensors, but got a tensor of scalar type: "
                           f"{scalar_type_name(dtype)}")
    if not shape:
        raise RuntimeError("Input tensor must have one or more dimensions")
    if shape[-1] != 2:
        raise RuntimeError("Tensor must have a last dimension of size 2")


def _view_as_real_kernel(xp, a):
    _check_complex(a.dtype)
    real = a.real  # a view of the real parts (NumPy and CuPy), any strides
    return xp.lib.stride_tricks.as_strided(real, a.shape + (2,),
                                           real.strides + (real.itemsize,))


def _view_as_real_infer(a):
    _check_complex(a.dtype)
    return TensorMeta(tuple(a.shape) + (2,), a.dtype.to_real())


def _view_as_complex_kernel(xp, a):
    _check_float_pairs(a.dtype, a.shape)
    if a.strides[-1] != a.itemsize:
        # eager callers checked the layout; a compiled graph may hand over another one
        a = xp.ascontiguousarray(a)
    return a.view(xp.result_type(a.dtype, xp.complex64))[..., 0]


def _view_as_complex_infer(a):
    _check_float_pairs(a.dtype, a.shape)
    return TensorMeta(tuple(a.shape[:-1]), a.dtype.to_complex())


VIEW_AS_REAL = _view_op(
    "view_as_real", _view_as_real_kernel, _view_as_real_infer,
    lambda ctx, grad: (call(VIEW_AS_COMPLEX, grad.contiguous()),),
    doc="a complex tensor's memory as (..., 2) pairs of its real type")
# the caller checked the layout (last stride 1, even strides and offset)
VIEW_AS_COMPLEX = _view_op(
    "view_as_complex", _view_as_complex_kernel, _view_as_complex_infer,
    lambda ctx, grad: (call(VIEW_AS_REAL, grad),),
    doc="(..., 2) pairs of floats as the complex tensor on the same memory")


def _alias_vjp(ctx, grad):
    return (grad,)


ALIAS = _view_op("alias", lambda xp, a: a.view(), lambda a: a, _alias_vjp,
                 backward_name="AliasBackward0", doc="a new tensor object on the same memory",
                 result_layout=ResultLayout.KEEPS_CONTIGUOUS)
