"""Movement primitives: concatenation, flips and rolls, triangles and diagonals, repeats,
constant padding, embedding, unfold (index-driven ops live in `scatter.py`).

Every kernel returns a fresh array without negative strides (flips copy), in the dtype
PyTorch gives; `infer` reports a data-dependent output size (nonzero, masked_select,
repeat_interleave) as -1. Shape rules are shared by kernels and `infer`.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..dtypes import scalar_type_name
from ..layout import (channels_last_results, contiguous_format, empty_in_format,
                      empty_preserving, suggested_format)
from .devices import ufunc_at
from .dispatch import call
from .factories import arange, ones, zeros
from .registry import Category, OpDef, ResultLayout, TensorMeta, register, row_major_results
from .shape_rules import normalize_dim

_CPP = {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long int",
        "int32": "int", "int16": "short int", "int8": "signed char", "uint8": "unsigned char",
        "bool": "bool", "complex64": "c10::complex<float>"}
_INDEX_DTYPES = (dtypes.int32, dtypes.int64)


def _op(name, kernel, infer, vjp=None, **kw):
    return register(OpDef(name, Category.OPAQUE, kernel, infer, vjp, **kw))


def _meta(a) -> TensorMeta:
    return TensorMeta(tuple(a.shape), dtypes.from_numpy_dtype(a.dtype))


def _numel(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def _as_1d(a):
    """0-d arrays act as 1-element vectors in gather/scatter/index_* (as in PyTorch)."""
    return a.reshape(1) if a.ndim == 0 else a


def _check_bounds(xp, index, size, dim, exc=RuntimeError, prefix="", allow_negative=False):
    if index.size == 0:
        return
    lo, hi = int(index.min()), int(index.max())
    if lo < (-size if allow_negative else 0) or hi >= size:
        bad = hi if hi >= size else lo
        raise exc(f"{prefix}index {bad} is out of bounds for dimension {dim} with size {size}")


def _ufunc_at(xp, name, out, pos, vals):
    """`out[pos] op= vals` with repeated positions accumulating (NumPy's ufunc.at)."""
    ufunc_at(xp, name, out, pos, vals)


def _scalar_fill(xp, value, dtype, opname=""):
    """A Python scalar as a 0-d array of `dtype`, with PyTorch's complex->real error."""
    if isinstance(value, complex) and dtype.kind != "c":
        if opname:
            raise RuntimeError(f"{opname}: Converting complex Scalar to non-complex type is not "
                               "supported")
        cpp = "int64_t" if dtype.kind in "iu" else _CPP.get(dtype.name, dtype.name)
        raise RuntimeError(f"value cannot be converted to type {cpp} without overflow")
    return xp.asarray(value).astype(dtype)


# --- cat / stack -------------------------------------------------------------------------

def _promote_all(metas):
    dtype = metas[0].dtype
    for m in metas[1:]:
        dtype = dtypes.promote_types(dtype, m.dtype)
    return dtype


def cat_rule(metas, dim):
    """(output meta, wrapped dim, positions that take part): 1-D empty tensors are skipped."""
    for i, m in enumerate(metas):
        if not m.shape:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be "
                               "concatenated")
    dtype = _promote_all(metas)
    kept = [i for i, m in enumerate(metas) if m.shape != (0,)]
    if not kept:
        return TensorMeta((0,), dtype), dim, kept
    ref = metas[kept[0]].shape
    d = normalize_dim(dim, len(ref))
    total = 0
    for i in kept:
        shape = metas[i].shape
        if len(shape) != len(ref):
            raise RuntimeError(f"Tensors must have same number of dimensions: got {len(ref)} "
                               f"and {len(shape)}")
        for j, (s, r) in enumerate(zip(shape, ref)):
            if j != d and s != r:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {d}. "
                                   f"Expected size {r} but got size {s} for tensor number {i} "
                                   "in the list.")
        total += shape[d]
    return TensorMeta(ref[:d] + (total,) + ref[d + 1:], dtype), d, kept


def cat_format(layouts):
    """The memory format of cat's result given its inputs' (shape, strides), as PyTorch's:
    the format every input suggests (channels_last when all look channels-last), else
    row-major."""
    fmt = None
    for shape, strides in layouts:
        f = suggested_format(shape, strides)
        if f is contiguous_format or (fmt is not None and f is not fmt):
            return contiguous_format
        fmt = f
    return fmt


def _concatenate(xp, layouts, parts, axis, shape, np_dtype):
    out = empty_in_format(xp, shape, np_dtype, cat_format(layouts))
    return xp.concatenate(parts, axis=axis, out=out)


def _layouts(arrays):
    return [(a.shape, a.strides) for a in arrays]


def _cat_kernel(xp, arrays, dim=0):
    if xp is np and arrays:  # the common case: one dtype, equal shapes but along dim
        first = arrays[0]
        nd = first.ndim
        d = dim + nd if -nd <= dim < 0 else dim
        if 0 <= d < nd and (nd > 1 or first.shape[0]):
            dtype, before, after = first.dtype, first.shape[:d], first.shape[d + 1:]
            total = 0
            for a in arrays:
                if a.dtype is not dtype or a.ndim != nd or a.shape[:d] != before or \
                        a.shape[d + 1:] != after:
                    break
                total += a.shape[d]
            else:
                return _concatenate(xp, _layouts(arrays), arrays, d, before + (total,) + after,
                                   dtype)
    meta, d, kept = cat_rule([_meta(a) for a in arrays], dim)
    np_dtype = meta.dtype.np_dtype
    parts = [arrays[i] if arrays[i].dtype == np_dtype else arrays[i].astype(np_dtype)
             for i in kept]
    if not parts:
        return xp.zeros((0,), dtype=np_dtype)
    return _concatenate(xp, _layouts(arrays), parts, d, meta.shape, np_dtype)


def _cat_vjp(ctx, grad):
    metas = ctx.input_metas
    _, d, kept = cat_rule(metas, ctx.attrs.get("dim", 0))
    grads = [None] * len(metas)
    offset = 0
    for i in kept:
        size = metas[i].shape[d]
        grads[i] = grad.narrow(d, offset, size)
        offset += size
    if len(kept) != len(metas):  # skipped 1-D empty inputs get empty gradients
        empty = zeros((0,), dtype=grad.dtype, device=grad.device)
        grads = [empty if g is None else g for g in grads]
    return tuple(grads)


CAT = _op("cat", _cat_kernel, lambda metas, dim=0: cat_rule(metas, dim)[0], _cat_vjp,
          variadic=True, doc="concatenate along an existing dim (dtypes promoted)")


def stack_rule(metas, dim):
    if not metas:
        raise RuntimeError("stack expects a non-empty TensorList")
    ref = metas[0].shape
    for i, m in enumerate(metas[1:], 1):
        if m.shape != ref:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(ref)} at entry 0 and {list(m.shape)} at entry {i}")
    d = normalize_dim(dim, len(ref) + 1)
    return TensorMeta(ref[:d] + (len(metas),) + ref[d:], _promote_all(metas)), d


def _stack_kernel(xp, arrays, dim=0):
    """PyTorch's stack: a cat along `dim` split by a view (so the result keeps the inputs'
    channels-last layout), or a cat of unsqueezed inputs when `dim` is the new last dim."""
    meta, d = stack_rule([_meta(a) for a in arrays], dim)
    if d < arrays[0].ndim:
        return _cat_kernel(xp, list(arrays), d).reshape(meta.shape)
    # unsqueezed as PyTorch strides a new last dim (1 element), whatever NumPy's stride
    layouts = [(a.shape + (1,), a.strides + (a.itemsize,)) for a in arrays]
    parts = [xp.expand_dims(a if a.dtype == meta.dtype.np_dtype else
                            a.astype(meta.dtype.np_dtype), d) for a in arrays]
    return _concatenate(xp, layouts, parts, d, meta.shape, meta.dtype.np_dtype)


def _stack_vjp(ctx, grad):
    _, d = stack_rule(ctx.input_metas, ctx.attrs.get("dim", 0))
    return tuple(grad.select(d, i) for i in range(len(ctx.input_metas)))


STACK = _op("stack", _stack_kernel, lambda metas, dim=0: stack_rule(metas, dim)[0],
            _stack_vjp, variadic=True, doc="join equal-shaped tensors along a new dim")


# --- flip / roll / rot90 -----------------------------------------------------------------

def _same(a, *args, **kw):
    return a


def _flip_dims(dims, ndim):
    axes = tuple(normalize_dim(d, ndim) for d in dims)
    for i, d in enumerate(axes):
        if d in axes[:i]:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    return axes


def _flip_kernel(xp, a, dims):
    axes = _flip_dims(dims, a.ndim)
    out = empty_preserving(xp, a)  # a fresh array (no negative strides) in a's layout
    out[...] = xp.flip(a, axes) if a.ndim and axes else a
    return out


def _flip_infer(a, dims):
    _flip_dims(dims, len(a.shape))
    return a


FLIP = _op("flip", _flip_kernel, _flip_infer,
           lambda ctx, grad: (grad.flip(ctx.attrs["dims"]),), doc="reverse the order along dims")


def _roll_dims(shape, shifts, dims):
    if not shifts:
        raise RuntimeError("`shifts` required")
    if (len(shifts) != len(dims)) if dims else len(shifts) != 1:
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, "
                           f"dims:{len(dims)}")
    if dims and not shape:
        raise IndexError(f"Dimension specified as {dims[0]} but tensor has no dimensions")
    return tuple(normalize_dim(d, len(shape)) for d in dims)


def _roll_kernel(xp, a, shifts, dims=()):
    """PyTorch's roll, layouts included: over the flattened tensor without dims, else one
    dim at a time as a cat of two slices (row-major unless channels-last survives)."""
    axes = _roll_dims(a.shape, shifts, dims)
    if not axes:
        return xp.roll(xp.ascontiguousarray(a).reshape(-1), shifts[0]).reshape(a.shape)
    if a.size == 0:
        out = empty_preserving(xp, a)
        out[...] = a
        return out
    for shift, axis in zip(shifts, axes):
        size = a.shape[axis]
        start = (size - shift) % size
        index = [slice(None)] * a.ndim
        index[axis] = slice(start, None)
        tail = tuple(index)
        index[axis] = slice(0, start)
        pieces = [a[tail], a[tuple(index)]]
        a = _concatenate(xp, _layouts(pieces), pieces, axis, a.shape, a.dtype)
    return a


def _roll_vjp(ctx, grad):
    shifts = tuple(-s for s in ctx.attrs["shifts"])
    return (grad.roll(shifts, ctx.attrs.get("dims", ()) or None),)


ROLL = _op("roll", _roll_kernel,
           lambda a, shifts, dims=(): _same(a, _roll_dims(a.shape, shifts, dims)), _roll_vjp,
           doc="rotate elements along dims (flattened when no dims)")


def _rot90_axes(shape, dims):
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if len(shape) < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {len(shape)}")
    if dims[0] == dims[1] or abs(dims[0] - dims[1]) == len(shape):
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {dims[0]} "
                           f"and dim1 = {dims[1]}")
    return normalize_dim(dims[0], len(shape)), normalize_dim(dims[1], len(shape))


def _rot90_infer(a, k=1, dims=(0, 1)):
    d0, d1 = _rot90_axes(a.shape, dims)
    shape = list(a.shape)
    if k % 2:
        shape[d0], shape[d1] = shape[d1], shape[d0]
    return TensorMeta(tuple(shape), a.dtype)


def _rot90_kernel(xp, a, k=1, dims=(0, 1)):
    """PyTorch's rot90, layouts included: a flip (in `a`'s layout) then a transposed view;
    a row-major copy for k = 0 (mod 4)."""
    d0, d1 = _rot90_axes(a.shape, dims)
    k %= 4
    if k == 0:
        return xp.array(a, order="C", copy=True)
    if k == 2:
        return _flip_kernel(xp, a, (d0, d1))
    return xp.swapaxes(_flip_kernel(xp, a, (d1,) if k == 1 else (d0,)), d0, d1)


def _rot90_vjp(ctx, grad):
    return (grad.rot90(-ctx.attrs.get("k", 1), ctx.attrs.get("dims", (0, 1))),)


ROT90 = _op("rot90", _rot90_kernel, _rot90_infer, _rot90_vjp,
            doc="rotate by 90 degrees k times in the plane of dims",
            strided_from_contiguous=True)


# --- tril / triu / diag_embed ------------------------------------------------------------

def _triangle(name):
    def rule(a, diagonal=0):
        if len(a.shape) < 2:
            raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions")
        return a

    def kernel(xp, a, diagonal=0):
        rule(a, diagonal)
        return getattr(xp, name)(a, diagonal)

    def vjp(ctx, grad):
        return (getattr(grad, name)(ctx.attrs.get("diagonal", 0)),)

    return _op(name, row_major_results(kernel), rule, vjp, result_layout=ResultLayout.CONTIGUOUS,
               doc=f"{name} of the last two dims (batched)")


TRIL = _triangle("tril")
TRIU = _triangle("triu")


def _diag_embed_rule(a, offset=0, dim1=-2, dim2=-1):
    nd = len(a.shape) + 1
    d1, d2 = normalize_dim(dim1, nd), normalize_dim(dim2, nd)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    n = a.shape[-1] + abs(offset)
    rest = list(a.shape[:-1])
    for d in sorted((d1, d2)):
        rest.insert(d, n)
    return TensorMeta(tuple(rest), a.dtype), d1, d2


def _diag_embed_kernel(xp, a, offset=0, dim1=-2, dim2=-1):
    meta, d1, d2 = _diag_embed_rule(a, offset, dim1, dim2)
    out = xp.zeros(meta.shape, dtype=a.dtype)
    idx = xp.arange(a.shape[-1])
    xp.moveaxis(out, (d1, d2), (-2, -1))[..., idx + max(-offset, 0), idx + max(offset, 0)] = a
    return out


DIAG_EMBED = _op(
    "diag_embed", _diag_embed_kernel, lambda *a, **k: _diag_embed_rule(*a, **k)[0],
    lambda ctx, grad: (grad.diagonal(ctx.attrs.get("offset", 0), ctx.attrs.get("dim1", -2),
                                     ctx.attrs.get("dim2", -1)),),
    doc="matrices whose (offset) diagonals in dims (dim1, dim2) are the last dim of input")


# --- repeat / repeat_interleave ----------------------------------------------------------

def _repeat_rule(shape, repeats):
    if len(repeats) < len(shape):
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number "
                           "of dimensions of tensor")
    padded = (1,) * (len(repeats) - len(shape)) + tuple(shape)
    out = tuple(r * s for r, s in zip(repeats, padded))
    for s in out:
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: "
                               f"{list(out)}")
    return out, padded


def _repeat_kernel(xp, a, repeats):
    _, padded = _repeat_rule(a.shape, repeats)
    return xp.tile(a.reshape(padded), tuple(repeats))


def _repeat_vjp(ctx, grad):
    shape, repeats = ctx.input_metas[0].shape, tuple(ctx.attrs["repeats"])
    _, padded = _repeat_rule(shape, repeats)
    if repeats:
        interleaved = [n for pair in zip(repeats, padded) for n in pair]
        grad = grad.reshape(interleaved).sum(dim=tuple(range(0, len(interleaved), 2)))
    return (grad.reshape(shape),)


REPEAT = _op("repeat", _repeat_kernel,
             lambda a, repeats: TensorMeta(_repeat_rule(a.shape, repeats)[0], a.dtype),
             _repeat_vjp, doc="tile the tensor `repeats` times along each (new leading) dim")


def _interleave_check(repeats, output_size):
    if len(repeats.shape) != 1:
        raise RuntimeError("repeat_interleave only accept 1D vector as repeat")
    if repeats.dtype not in _INDEX_DTYPES:
        raise NotImplementedError(f"\"repeat_interleave_cpu\" not implemented for "
                                  f"'{scalar_type_name(repeats.dtype)}'")


def _interleave_kernel(xp, repeats, output_size=None):
    _interleave_check(_meta(repeats), output_size)
    if repeats.size and int(repeats.min()) < 0:
        raise RuntimeError("repeats can not be negative")
    out = xp.repeat(xp.arange(repeats.size, dtype=repeats.dtype), repeats.reshape(-1))
    if output_size is not None and out.size != output_size:
        raise RuntimeError(f"repeat_interleave: Invalid output_size, expected {out.size} but "
                           f"got {output_size}")
    return out


def _interleave_infer(repeats, output_size=None):
    _interleave_check(repeats, output_size)
    return TensorMeta((-1 if output_size is None else output_size,), repeats.dtype)


REPEAT_INTERLEAVE = _op("repeat_interleave", _interleave_kernel, _interleave_infer,
                        doc="i repeated repeats[i] times, for each i (the index behind "
                            "tensor-repeats repeat_interleave)")


# --- constant padding, embedding, unfold -------------------------------------------------

def _pad_rule(shape, pad):
    if len(pad) % 2:
        raise RuntimeError(f"Length of pad must be even but instead it equals {len(pad)}")
    if len(pad) // 2 > len(shape):
        raise RuntimeError(f"Length of pad should be no more than twice the number of "
                           f"dimensions of the input. Pad length is {len(pad)} while the input "
                           f"has {len(shape)} dimensions.")
    out = list(shape)
    for i in range(len(pad) // 2):
        j = len(shape) - 1 - i
        left, right = pad[2 * i], pad[2 * i + 1]
        out[j] = shape[j] + left + right
        if out[j] < 0:
            raise RuntimeError(f"The input size {shape[j]}, plus negative padding {left} and "
                               f"{right} resulted in a negative output size, which is invalid. "
                               f"Check dimension {j} of your input.")
    return tuple(out)


def _constant_pad_kernel(xp, a, pad, value=0):
    shape = _pad_rule(a.shape, pad)
    crop, place = [slice(None)] * a.ndim, [slice(None)] * a.ndim
    for i in range(len(pad) // 2):
        j = a.ndim - 1 - i
        left, right = pad[2 * i], pad[2 * i + 1]
        start, stop = max(-left, 0), a.shape[j] - max(-right, 0)
        crop[j] = slice(start, max(start, stop))
        place[j] = slice(max(left, 0), max(left, 0) + max(stop - start, 0))
    out = xp.full(shape, _scalar_fill(xp, value, a.dtype), dtype=a.dtype)
    out[tuple(place)] = a[tuple(crop)]
    return out


CONSTANT_PAD_ND = _op(
    "constant_pad_nd", channels_last_results(0)(_constant_pad_kernel),
    lambda a, pad, value=0: TensorMeta(_pad_rule(a.shape, pad), a.dtype),
    lambda ctx, grad: (call_op(CONSTANT_PAD_ND, grad, pad=tuple(-p for p in ctx.attrs["pad"]),
                               value=0),),
    doc="pad (last dim first, negative crops) with a constant")


def _embedding_rule(indices, weight, padding_idx=None, scale_grad_by_freq=False):
    if indices.dtype not in _INDEX_DTYPES:
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got "
                           f"torch.{scalar_type_name(indices.dtype)}Tensor instead (while checking "
                           f"arguments for embedding)")
    if len(weight.shape) != 2:
        raise RuntimeError("'weight' must be 2-D")
    return TensorMeta(tuple(indices.shape) + (weight.shape[1],), weight.dtype)


def _embedding_kernel(xp, indices, weight, padding_idx=None, scale_grad_by_freq=False):
    _embedding_rule(_meta(indices), _meta(weight))
    if indices.size and (int(indices.min()) < 0 or int(indices.max()) >= weight.shape[0]):
        raise IndexError("index out of range in self")
    return xp.take(weight, indices, axis=0)


def _embedding_vjp(ctx, grad):
    indices, weight_meta = ctx.inputs[0], ctx.input_metas[1]
    padding_idx = ctx.attrs.get("padding_idx")
    idx = indices.reshape(-1)
    rows = grad.reshape(-1, weight_meta.shape[1])
    if padding_idx is not None:
        rows = rows.masked_fill((idx == padding_idx).unsqueeze(1), 0)
    if ctx.attrs.get("scale_grad_by_freq", False):
        ones_ = ones(idx.shape, dtype=grad.dtype, device=grad.device)
        counts = zeros(weight_meta.shape[0], dtype=grad.dtype, device=grad.device)
        counts = counts.index_add(0, idx, ones_)
        rows = rows / counts.index_select(0, idx).unsqueeze(1)
    blank = zeros(weight_meta.shape, dtype=grad.dtype, device=grad.device)
    return None, call_op(scatter.INDEX_ADD, blank, idx, rows, dim=0)


EMBEDDING = _op("embedding", _embedding_kernel, _embedding_rule, _embedding_vjp,
                save_inputs=(0,), backward_name="EmbeddingBackward0",
                doc="rows of weight at indices (padding_idx rows get no gradient)")


def _unfold_rule(a, dimension, size, step):
    nd = len(a.shape)
    d = normalize_dim(dimension, nd)
    n = a.shape[d] if nd else 1
    if size > n:
        raise RuntimeError(f"maximum size for tensor at dimension {d} is {n} but size is {size}")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    if not nd:
        return (size,), d
    count = (n - size) // step + 1
    return tuple(a.shape[:d]) + (count,) + tuple(a.shape[d + 1:]) + (size,), d


def _unfold_kernel(xp, a, dimension, size, step):
    shape, d = _unfold_rule(a, dimension, size, step)
    if a.ndim == 0:
        return a.reshape(1)[:size]
    strides = a.strides[:d] + (a.strides[d] * step,) + a.strides[d + 1:] + (a.strides[d],)
    return xp.lib.stride_tricks.as_strided(a, shape, strides)


def _unfold_vjp(ctx, grad):
    meta = ctx.input_metas[0]
    size, step = ctx.attrs["size"], ctx.attrs["step"]
    if not meta.shape:  # one window of size 0 or 1
        return (grad.sum(),)
    _, d = _unfold_rule(meta, ctx.attrs["dimension"], size, step)
    starts = arange(grad.shape[d], device=grad.device) * step
    index = (starts.unsqueeze(1) + arange(size, device=grad.device)).reshape(-1)
    windows = grad.movedim(-1, d + 1).flatten(d, d + 1)
    blank = zeros(meta.shape, dtype=grad.dtype, device=grad.device)
    return (call_op(scatter.INDEX_ADD, blank, index, windows, dim=d),)


UNFOLD = register(OpDef(
    "unfold", Category.VIEW, _unfold_kernel,
    lambda a, dimension, size, step: TensorMeta(_unfold_rule(a, dimension, size, step)[0],
                                                a.dtype),
    _unfold_vjp, doc="a view of all windows of `size` (stride `step`) along one dim"))


def _as_strided_check(numel: int, itemsize: int, size, stride, storage_offset) -> None:
    """PyTorch's checks of `as_strided` against a storage of `numel` elements."""
    if len(size) != len(stride):
        raise RuntimeError("mismatch in length of strides and shape")
    if any(s < 0 for s in stride):
        raise RuntimeError(f"as_strided: Negative strides are not supported at the moment, "
                           f"got strides: {list(stride)}")
    needed = 0 if 0 in size else storage_offset + 1 + sum(
        st * (n - 1) for n, st in zip(size, stride))
    if needed > numel:
        raise RuntimeError(f"setStorage: sizes {list(size)}, strides {list(stride)}, storage "
                           f"offset {storage_offset}, and itemsize {itemsize} requiring a "
                           f"storage size of {needed * itemsize} are out of bounds for storage "
                           f"of size {numel * itemsize}")


def _as_strided_kernel(xp, a, size, stride, storage_offset):
    # `a` is the whole storage (the caller passes the root tensor) in C order
    _as_strided_check(a.size, a.itemsize, size, stride, storage_offset)
    flat = (a if a.flags.c_contiguous else xp.ascontiguousarray(a)).reshape(-1)
    return xp.lib.stride_tricks.as_strided(flat[storage_offset:], tuple(size),
                                           tuple(st * a.itemsize for st in stride))


def _as_strided_infer(a, size, stride, storage_offset):
    _as_strided_check(int(np.prod(a.shape)), a.dtype.itemsize, size, stride, storage_offset)
    return TensorMeta(tuple(size), a.dtype)


def _as_strided_vjp(ctx, grad):
    meta = ctx.input_metas[0]
    size, stride, offset = (ctx.attrs[k] for k in ("size", "stride", "storage_offset"))
    index = (arange(1, device=grad.device) + offset).reshape(())
    for n, st in zip(size, stride):  # each element's position in the storage
        index = index.unsqueeze(-1) + arange(n, device=grad.device) * st
    blank = zeros((int(np.prod(meta.shape)),), dtype=grad.dtype, device=grad.device)
    flat = call_op(scatter.INDEX_ADD, blank, index.reshape(-1), grad.reshape(-1), dim=0)
    return (flat.reshape(meta.shape),)


AS_STRIDED = register(OpDef(
    "as_strided", Category.VIEW, _as_strided_kernel, _as_strided_infer, _as_strided_vjp,
    doc="a view of the storage (the root tensor's memory) with the given sizes, strides "
        "and offset"))


def call_op(op, *inputs, **attrs):
    return call(op, *inputs, **attrs)


# scatter's ops build on this module's helpers; movement's vjps use INDEX_ADD from it.
from . import scatter  # noqa: E402
