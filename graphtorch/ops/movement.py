"""Movement primitives: concatenation, flips and rolls, triangles and diagonals, repeats,
gather/scatter, the index_* and masked_* families, put/take, constant padding, embedding.

Every kernel returns a fresh array without negative strides (flips copy), in the dtype
PyTorch gives; `infer` reports a data-dependent output size (nonzero, masked_select,
repeat_interleave) as -1. Shape rules are shared by kernels and `infer`.
"""

from __future__ import annotations

from .. import dtypes
from .grad_utils import unbroadcast
from .registry import Category, OpDef, TensorMeta, register
from .shape_rules import broadcast_shapes, normalize_dim

_WORDS = {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16",
          "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
          "bool": "Bool", "complex64": "ComplexFloat", "complex128": "ComplexDouble"}
_CPP = {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long int",
        "int32": "int", "int16": "short int", "int8": "signed char", "uint8": "unsigned char",
        "bool": "bool", "complex64": "c10::complex<float>"}
_INDEX_DTYPES = (dtypes.int32, dtypes.int64)


def _word(dtype) -> str:
    return _WORDS.get(dtype.name, dtype.name)


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
    if xp.__name__ == "numpy":
        getattr(xp, name).at(out, pos, vals)
        return
    import cupyx

    fn = {"add": "scatter_add", "maximum": "scatter_max", "minimum": "scatter_min"}.get(name)
    if fn is None:
        raise NotImplementedError(f"{name}.at is not available on CUDA")
    getattr(cupyx, fn)(out, pos, vals)


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


def _cat_kernel(xp, arrays, dim=0):
    meta, d, kept = cat_rule([_meta(a) for a in arrays], dim)
    np_dtype = meta.dtype.np_dtype
    parts = [arrays[i] if arrays[i].dtype == np_dtype else arrays[i].astype(np_dtype)
             for i in kept]
    if not parts:
        return xp.zeros((0,), dtype=np_dtype)
    return xp.concatenate(parts, axis=d)


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
        import graphtorch as gt

        grads = [gt.zeros((0,), dtype=grad.dtype) if g is None else g for g in grads]
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
    meta, d = stack_rule([_meta(a) for a in arrays], dim)
    np_dtype = meta.dtype.np_dtype
    return xp.stack([a if a.dtype == np_dtype else a.astype(np_dtype) for a in arrays], axis=d)


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
    if a.ndim == 0 or not axes:
        return a.copy()
    return xp.flip(a, axes).copy()  # copy: PyTorch tensors never have negative strides


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
    axes = _roll_dims(a.shape, shifts, dims)
    return xp.roll(a, shifts[0]) if not axes else xp.roll(a, tuple(shifts), axes)


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
    return xp.rot90(a, k, _rot90_axes(a.shape, dims)).copy()  # copy: no negative strides


def _rot90_vjp(ctx, grad):
    return (grad.rot90(-ctx.attrs.get("k", 1), ctx.attrs.get("dims", (0, 1))),)


ROT90 = _op("rot90", _rot90_kernel, _rot90_infer, _rot90_vjp,
            doc="rotate by 90 degrees k times in the plane of dims")


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

    return _op(name, kernel, rule, vjp, doc=f"{name} of the last two dims (batched)")


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
                                  f"'{_word(repeats.dtype)}'")


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


# --- gather / scatter --------------------------------------------------------------------

def _check_index_dtype(index, fname):
    if index.dtype not in _INDEX_DTYPES:
        raise RuntimeError(f"{fname}(): Expected dtype int32/int64 for index")


def _gather_rule(a, index, dim):
    _check_index_dtype(index, "gather")
    nd = len(a.shape)
    d = normalize_dim(dim, nd)
    if max(len(index.shape), 1) != max(nd, 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    for j in range(len(index.shape)):
        if j != d and index.shape[j] > a.shape[j]:
            raise RuntimeError(f"Size does not match at dimension {j} expected index "
                               f"{list(index.shape)} to be no larger than self {list(a.shape)} "
                               f"apart from dimension {d}")
    return TensorMeta(index.shape, a.dtype), d


def _region(a, shape):
    """The leading `shape` corner of `a` (gather/scatter only read index.shape of it)."""
    return a[tuple(slice(0, n) for n in shape)]


def _gather_kernel(xp, a, index, dim, sparse_grad=False):
    _, d = _gather_rule(_meta(a), _meta(index), dim)
    if index.size == 0:
        return xp.zeros(index.shape, dtype=a.dtype)
    a1, i1 = _as_1d(a), _as_1d(index)
    _check_bounds(xp, i1, a1.shape[d], d)
    shape = tuple(n if j != d else a1.shape[d] for j, n in enumerate(i1.shape))
    return xp.take_along_axis(_region(a1, shape), i1, axis=d).reshape(index.shape)


def _gather_vjp(ctx, grad):
    import graphtorch as gt

    index, dim = ctx.inputs[1], ctx.attrs["dim"]
    zeros = gt.zeros(ctx.input_metas[0].shape, dtype=grad.dtype)
    return call_op(SCATTER_ADD, zeros, index, grad, dim=dim), None


GATHER = _op("gather", _gather_kernel,
             lambda a, index, dim, sparse_grad=False: _gather_rule(a, index, dim)[0],
             _gather_vjp, save_inputs=(1,), doc="out[i][j] = a[index[i][j]][j] (for dim 0)")


def _scatter_rule(a, index, src, dim):
    _check_index_dtype(index, "scatter")
    nd = len(a.shape)
    d = normalize_dim(dim, nd)
    is_tensor = isinstance(src, TensorMeta)
    if is_tensor and src.dtype != a.dtype:
        raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
    if max(len(index.shape), 1) != max(nd, 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as self tensor")
    if is_tensor and max(len(src.shape), 1) != max(nd, 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as src tensor")
    if not index.shape or not nd:
        return d
    over_self = any(j != d and index.shape[j] > a.shape[j] for j in range(nd))
    over_src = is_tensor and src.shape and any(i > s for i, s in zip(index.shape, src.shape))
    if over_self or over_src:
        text = (f"Expected index {list(index.shape)} to be no larger than self {list(a.shape)} "
                f"apart from dimension {d}")
        if is_tensor:
            text += f" and to be no larger size than src {list(src.shape)}"
        raise RuntimeError(text)
    return d


def _positions(xp, index, d):
    """The index tuple addressing out[..., index[p], ...] for every position p of `index`."""
    pos = []
    for j, n in enumerate(index.shape):
        if j == d:
            pos.append(index)
        else:
            shape = [1] * index.ndim
            shape[j] = n
            pos.append(xp.arange(n).reshape(shape))
    return tuple(pos)


def _scatter_setup(xp, a, index, src, dim):
    """(out, out as >=1-d, positions or None when index is empty, values)."""
    d = _scatter_rule(_meta(a), _meta(index), _meta(src) if hasattr(src, "shape") else src, dim)
    out = a.copy()
    if index.size == 0:
        return out, None, None, None
    o1, i1 = _as_1d(out), _as_1d(index)
    _check_bounds(xp, i1, o1.shape[d], d)
    if hasattr(src, "shape"):
        vals = _region(_as_1d(src), i1.shape)
    else:
        vals = _scalar_fill(xp, src, a.dtype)
    return out, o1, _positions(xp, i1, d), vals


def _scatter_kernel(xp, a, index, src, dim, reduce=None):
    if reduce not in (None, "add", "multiply"):
        raise RuntimeError("reduce argument must be either add or multiply.")
    out, o1, pos, vals = _scatter_setup(xp, a, index, src, dim)
    if pos is not None:
        if reduce is None:
            o1[pos] = vals
        else:
            _ufunc_at(xp, "add" if reduce == "add" else "multiply", o1, pos, vals)
    return out


def _fit(grad, meta):
    """Zero-pad a gathered gradient (index-shaped) up to the shape of src."""
    if meta is None or tuple(grad.shape) == tuple(meta.shape) or not meta.shape:
        return grad.reshape(meta.shape) if meta is not None else None
    pad = []
    for have, want in zip(reversed(grad.shape), reversed(meta.shape)):
        pad += [0, want - have]
    return call_op(CONSTANT_PAD_ND, grad, pad=tuple(pad), value=0)


def _scatter_vjp(ctx, grad):
    index, dim = ctx.inputs[1], ctx.attrs["dim"]
    if ctx.attrs.get("reduce") is not None:
        raise RuntimeError("derivative for aten::scatter is not implemented")
    grad_src = None
    if ctx.input_metas[2] is not None:
        grad_src = _fit(call_op(GATHER, grad, index, dim=dim), ctx.input_metas[2])
    return call_op(SCATTER, grad, index, 0, dim=dim), None, grad_src


def _scatter_infer(a, index, src, dim, reduce=None):
    _scatter_rule(a, index, src, dim)
    return a


SCATTER = _op("scatter", _scatter_kernel, _scatter_infer, _scatter_vjp, save_inputs=(1,),
              backward_name=lambda metas: "ScatterBackward0" if metas[2] is not None
              else "ScatterBackward1",
              doc="a copy of a with out[index[i][j]][j] = src[i][j] (or a scalar value)")


def _scatter_add_kernel(xp, a, index, src, dim):
    out, o1, pos, vals = _scatter_setup(xp, a, index, src, dim)
    if pos is not None:
        _ufunc_at(xp, "add", o1, pos, vals)
    return out


SCATTER_ADD = _op(
    "scatter_add", _scatter_add_kernel, lambda a, index, src, dim: _scatter_infer(a, index, src,
                                                                                   dim),
    lambda ctx, grad: (grad, None, _fit(call_op(GATHER, grad, ctx.inputs[1],
                                                dim=ctx.attrs["dim"]), ctx.input_metas[2])),
    save_inputs=(1,), doc="a copy of a with src added at the positions index names")

_REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


def _scatter_reduce_kernel(xp, a, index, src, dim, reduce, include_self=True):
    if reduce not in _REDUCTIONS:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got "
                           f"{reduce}")
    if reduce in ("amax", "amin") and a.dtype.kind == "c":
        raise NotImplementedError(f"\"scatter_gather_tensor_cpu_reduce_{reduce}\" not "
                                  f"implemented for '{_word(_meta(a).dtype)}'")
    out, o1, pos, vals = _scatter_setup(xp, a, index, src, dim)
    if pos is None:
        return out
    if not include_self:
        o1[pos] = _identity(xp, reduce, out.dtype)
    ufunc = {"sum": "add", "mean": "add", "prod": "multiply", "amax": "maximum",
             "amin": "minimum"}[reduce]
    _ufunc_at(xp, ufunc, o1, pos, vals)
    if reduce == "mean":
        count = (xp.ones if include_self else xp.zeros)(o1.shape, dtype=xp.int64)
        _ufunc_at(xp, "add", count, pos, 1)
        count = xp.maximum(count, 1)
        if out.dtype.kind in "fc":
            o1[...] = o1 / count
        else:
            o1[...] = xp.floor_divide(o1, count)
    return out


def _identity(xp, reduce, dtype):
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    if dtype.kind == "b":
        return reduce == "amin"
    if dtype.kind in "fc":
        return -xp.inf if reduce == "amax" else xp.inf
    info = xp.iinfo(dtype)
    return info.min if reduce == "amax" else info.max


def _scatter_reduce_vjp(ctx, grad):
    """PyTorch's scatter_reduce_backward (ties in amax/amin share the gradient evenly)."""
    import graphtorch as gt

    x, index, src = ctx.inputs
    dim, reduce = ctx.attrs["dim"], ctx.attrs["reduce"]
    include_self = ctx.attrs.get("include_self", True)
    result = ctx.output
    if reduce == "sum":
        grad_self, grad_src = grad, grad.gather(dim, index)
    elif reduce == "mean":
        n = gt.ones_like(grad) if include_self else gt.zeros_like(grad)
        n = n.scatter_add(dim, index, gt.ones_like(src))
        n = n.masked_fill(n == 0, 1)
        grad_self, grad_src = grad / n, grad.gather(dim, index) / n.gather(dim, index)
    elif reduce == "prod":
        masked_self = x.masked_fill(x == 0, 1)
        masked_self_result = masked_self.scatter_reduce(dim, index, src, reduce,
                                                        include_self=include_self)
        grad_self = grad * masked_self_result / masked_self
        src_zero = src == 0
        zeros_in = gt.zeros_like(x).scatter_add(dim, index, src_zero.to(x.dtype))
        single_zero = src_zero & (zeros_in.gather(dim, index) == 1)
        masked_src_result = x.scatter_reduce(dim, index, src.masked_fill(single_zero, 1),
                                             reduce, include_self=include_self)
        grad_src = gt.where(single_zero, (grad * masked_src_result).gather(dim, index),
                            (grad * result).gather(dim, index) / src.masked_fill(src_zero, 1))
    else:
        value = result.gather(dim, index)
        self_is = (x == result).to(grad.dtype)
        src_is = (src == value).to(grad.dtype)
        shared = grad / self_is.scatter_add(dim, index, src_is)
        grad_self = self_is * shared
        grad_src = src_is * shared.gather(dim, index)
    if not include_self:
        grad_self = grad_self.scatter(dim, index, 0)
    return grad_self, None, _fit(grad_src, ctx.input_metas[2])


SCATTER_REDUCE = _op(
    "scatter_reduce", _scatter_reduce_kernel,
    lambda a, index, src, dim, reduce, include_self=True: _scatter_infer(a, index, src, dim),
    _scatter_reduce_vjp, save_inputs=(0, 1, 2), save_output=True,
    doc="a copy of a with src reduced (sum/prod/mean/amax/amin) into the indexed positions")


# --- index_select / index_add / index_copy / index_fill ----------------------------------

def _index_select_rule(a, index, dim):
    d = normalize_dim(dim, len(a.shape))
    if len(index.shape) > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    if index.dtype not in _INDEX_DTYPES:
        raise RuntimeError("index_select(): Expected dtype int32 or int64 for index")
    n = _numel(index.shape)
    if not a.shape:
        if n != 1:
            raise RuntimeError(f"index_select(): Index to scalar can have only 1 value, got {n} "
                               "value(s)")
        return TensorMeta((), a.dtype), d
    return TensorMeta(a.shape[:d] + (n,) + a.shape[d + 1:], a.dtype), d


def _index_select_kernel(xp, a, index, dim):
    _, d = _index_select_rule(_meta(a), _meta(index), dim)
    size = a.shape[d] if a.ndim else 1
    if index.size and (int(index.min()) < 0 or int(index.max()) >= size):
        raise IndexError("index out of range in self")
    if a.ndim == 0:
        return a.copy()
    return xp.take(a, index.reshape(-1), axis=d)


def _index_select_vjp(ctx, grad):
    import graphtorch as gt

    zeros = gt.zeros(ctx.input_metas[0].shape, dtype=grad.dtype)
    return call_op(INDEX_ADD, zeros, ctx.inputs[1], grad, dim=ctx.attrs["dim"]), None


INDEX_SELECT = _op("index_select", _index_select_kernel,
                   lambda a, index, dim: _index_select_rule(a, index, dim)[0],
                   _index_select_vjp, save_inputs=(1,),
                   doc="the entries of a at `index` along dim (a copy)")


def _source_rule(fname, a, index, source, d, message, scalar_source=False):
    """index_add/index_copy: source matches a except along d, with one slice per index."""
    n = _numel(index.shape)
    src_n = source.shape[d] if source.shape else 1
    if n != src_n:
        if fname == "index_copy_":
            raise IndexError(f"index_copy_(): Number of indices ({n}) should be equal to "
                             f"source.size(dim) ({src_n})")
        raise RuntimeError(f"{fname}(): Number of indices ({n}) should be equal to "
                           f"source.size(dim): ({src_n}), for dim: {d}")
    scalar_ok = scalar_source and not source.shape and len(a.shape) == 1
    same_rank = len(source.shape) == len(a.shape) or scalar_ok
    if not same_rank or any(j != d and s != t for j, (s, t) in enumerate(zip(a.shape,
                                                                            source.shape))):
        raise RuntimeError(message(a.shape, source.shape, d))


def _add_shape_message(a_shape, s_shape, d):
    return (f"source tensor shape must match self tensor shape, excluding the specified "
            f"dimension. Got self.shape = {list(a_shape)} source.shape = {list(s_shape)}")


def _copy_shape_message(a_shape, s_shape, d):
    dst = [s for j, s in enumerate(a_shape) if j != d]
    src = [s for j, s in enumerate(s_shape) if j != d]
    j = next((j for j, (p, q) in enumerate(zip(dst, src)) if p != q), min(len(dst), len(src)))
    p = dst[j] if j < len(dst) else 1
    q = src[j] if j < len(src) else 1
    return (f"index_copy_(): Source/destination tensor must have same slice shapes. "
            f"Destination slice shape: {p} at dimension {j} and source slice shape: {q} at "
            f"dimension {j}.")


def _index_add_rule(a, index, source, dim, alpha=1):
    d = normalize_dim(dim, len(a.shape))
    if len(index.shape) > 1:
        raise IndexError(f"index_add_(): Index is supposed to be a vector, but got dim: "
                         f"{len(index.shape)} with type: {_word(index.dtype)} and size: "
                         f"{list(index.shape)}")
    if index.dtype not in _INDEX_DTYPES:
        raise RuntimeError(f"index_add_(): Expected dtype int32/int64 for index but got: "
                           f"{_word(index.dtype)}")
    if source.dtype != a.dtype:
        raise RuntimeError(f"index_add_(): self ({_word(a.dtype)}) and source "
                           f"({_word(source.dtype)}) must have the same scalar type")
    _source_rule("index_add_", a, index, source, d, _add_shape_message)
    return d


def _moved(xp, a, d, ndim):
    """`a` as >=1-d with dim d first (a view), matching an output of `ndim` dims."""
    a = a.reshape((1,) * max(ndim, 1)) if a.ndim == 0 else a
    return xp.moveaxis(a, d, 0)


def _index_add_kernel(xp, a, index, source, dim, alpha=1):
    d = _index_add_rule(_meta(a), _meta(index), _meta(source), dim, alpha)
    out = a.copy()
    o1, idx = _as_1d(out), index.reshape(-1)
    _check_bounds(xp, idx, o1.shape[d], d)
    vals = _moved(xp, source, d, out.ndim)
    if alpha != 1:
        vals = (vals * alpha).astype(a.dtype)
    _ufunc_at(xp, "add", xp.moveaxis(o1, d, 0), idx, vals)
    return out


def _index_add_vjp(ctx, grad):
    index, dim, alpha = ctx.inputs[1], ctx.attrs["dim"], ctx.attrs.get("alpha", 1)
    grad_source = grad.index_select(dim, index)
    if alpha != 1:
        grad_source = grad_source * alpha
    return grad, None, grad_source.reshape(ctx.input_metas[2].shape)


INDEX_ADD = _op("index_add", _index_add_kernel,
                lambda a, index, source, dim, alpha=1: _same(a, _index_add_rule(
                    a, index, source, dim)), _index_add_vjp, save_inputs=(1,),
                doc="a copy of a with alpha * source added at `index` along dim")


def _index_copy_rule(a, index, source, dim):
    d = normalize_dim(dim, len(a.shape))
    if len(index.shape) > 1:
        raise IndexError(f"index_copy_(): Index should have dimension 1 or 0 (got "
                         f"{len(index.shape)})")
    if index.dtype is not dtypes.int64:
        raise RuntimeError(f"index_copy_(): Expected a long tensor for index, but got "
                           f"{_word(index.dtype)}")
    if source.dtype != a.dtype:
        raise RuntimeError(f"index_copy_(): self and source expected to have the same dtype, "
                           f"but got (self) {_word(a.dtype)} and (source) "
                           f"{_word(source.dtype)}")
    _source_rule("index_copy_", a, index, source, d, _copy_shape_message, True)
    return d


def _index_copy_kernel(xp, a, index, source, dim):
    d = _index_copy_rule(_meta(a), _meta(index), _meta(source), dim)
    out = a.copy()
    o1, idx = _as_1d(out), index.reshape(-1)
    _check_bounds(xp, idx, o1.shape[d], d, IndexError, "index_copy_(): ")
    xp.moveaxis(o1, d, 0)[idx] = _moved(xp, source, d, out.ndim)
    return out


def _index_copy_vjp(ctx, grad):
    index, dim = ctx.inputs[1], ctx.attrs["dim"]
    return (call_op(INDEX_FILL, grad, index, 0, dim=dim), None,
            grad.index_select(dim, index).reshape(ctx.input_metas[2].shape))


INDEX_COPY = _op("index_copy", _index_copy_kernel,
                 lambda a, index, source, dim: _same(a, _index_copy_rule(a, index, source, dim)),
                 _index_copy_vjp, save_inputs=(1,),
                 doc="a copy of a with the slices at `index` along dim replaced by source")


def _index_fill_rule(a, index, value, dim):
    d = normalize_dim(dim, len(a.shape))
    if index.dtype is not dtypes.int64:
        raise IndexError("index_fill_(): Expected dtype int64 for index.")
    if len(index.shape) > 1:
        raise RuntimeError("Index has to be a vector/scalar")
    if isinstance(value, TensorMeta) and value.shape:
        raise RuntimeError(f"index_fill_ only supports a 0-dimensional value tensor, but got "
                           f"tensor with {len(value.shape)} dimension(s).")
    return d


def _index_fill_kernel(xp, a, index, value, dim):
    d = _index_fill_rule(_meta(a), _meta(index), _meta(value) if hasattr(value, "shape")
                         else value, dim)
    out = a.copy()
    o1, idx = _as_1d(out), index.reshape(-1)
    _check_bounds(xp, idx, o1.shape[d], d, IndexError, allow_negative=True)
    fill = value.astype(a.dtype) if hasattr(value, "shape") else _scalar_fill(
        xp, value, a.dtype, "index_fill_()")
    xp.moveaxis(o1, d, 0)[idx] = fill
    return out


def _index_fill_vjp(ctx, grad):
    grad_self = call_op(INDEX_FILL, grad, ctx.inputs[1], 0, dim=ctx.attrs["dim"])
    grad_value = (grad - grad_self).sum() if ctx.input_metas[2] is not None else None
    return grad_self, None, grad_value


INDEX_FILL = _op("index_fill", _index_fill_kernel,
                 lambda a, index, value, dim: _same(a, _index_fill_rule(a, index, value, dim)),
                 _index_fill_vjp, save_inputs=(1,),
                 backward_name=lambda metas: "IndexFillBackward0" if metas[2] is None
                 else "IndexFillBackward1",
                 doc="a copy of a with the slices at `index` along dim set to value")


# --- masked_fill / masked_scatter / masked_select / nonzero ------------------------------

def _masked_fill_rule(a, mask, value):
    if mask.dtype is not dtypes.bool_:
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype "
                           f"{_CPP.get(mask.dtype.name, mask.dtype.name)}")
    if isinstance(value, TensorMeta) and value.shape:
        raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but got "
                           f"tensor with {len(value.shape)} dimension(s).")
    return TensorMeta(broadcast_shapes(mask.shape, a.shape), a.dtype)


def _masked_fill_kernel(xp, a, mask, value):
    _masked_fill_rule(_meta(a), _meta(mask), _meta(value) if hasattr(value, "shape") else value)
    if hasattr(value, "shape"):
        if value.dtype.kind == "c" and a.dtype.kind != "c":
            _scalar_fill(xp, complex(value), a.dtype)
        fill = value.astype(a.dtype)
    else:
        fill = _scalar_fill(xp, value, a.dtype)
    return xp.where(mask, fill, a)


def _masked_fill_vjp(ctx, grad):
    mask = ctx.inputs[1]
    kept = grad.masked_fill(mask, 0)
    grad_value = (grad - kept).sum() if ctx.input_metas[2] is not None else None
    return unbroadcast(kept, ctx.input_metas[0]), None, grad_value


MASKED_FILL = _op("masked_fill", _masked_fill_kernel, _masked_fill_rule, _masked_fill_vjp,
                  save_inputs=(1,),
                  backward_name=lambda metas: "MaskedFillBackward0" if metas[2] is None
                  else "MaskedFillBackward1",
                  doc="a where mask is False, value where it is True (broadcast)")


def _masked_scatter_rule(a, mask, source):
    if mask.dtype is not dtypes.bool_:
        raise RuntimeError(f"masked_scatter_ only supports boolean masks, but got mask with "
                           f"dtype {_word(mask.dtype)}")
    if source.dtype != a.dtype:
        raise RuntimeError(f"masked_scatter: expected self and source to have same dtypes but "
                           f"got{_word(a.dtype)} and {_word(source.dtype)}")
    return TensorMeta(broadcast_shapes(a.shape, mask.shape), a.dtype)


def _masked_scatter_kernel(xp, a, mask, source):
    meta = _masked_scatter_rule(_meta(a), _meta(mask), _meta(source))
    out = xp.array(xp.broadcast_to(a, meta.shape))
    where = xp.broadcast_to(mask, meta.shape)
    n = int(where.sum())
    if source.size < n:
        raise RuntimeError("Number of elements of source < number of ones in mask")
    out[where] = source.reshape(-1)[:n]
    return out


def _masked_scatter_vjp(ctx, grad):
    mask = ctx.inputs[1]
    src_meta = ctx.input_metas[2]
    taken = call_op(MASKED_SELECT, grad, mask)
    missing = _numel(src_meta.shape) - taken.shape[0]
    if missing:
        taken = call_op(CONSTANT_PAD_ND, taken, pad=(0, missing), value=0)
    return (unbroadcast(grad.masked_fill(mask, 0), ctx.input_metas[0]), None,
            taken.reshape(src_meta.shape))


MASKED_SCATTER = _op("masked_scatter", _masked_scatter_kernel, _masked_scatter_rule,
                     _masked_scatter_vjp, save_inputs=(1,),
                     doc="a with the True positions of mask filled by source, in order")


def _masked_select_rule(a, mask):
    if mask.dtype is not dtypes.bool_:
        raise RuntimeError("masked_select: expected BoolTensor for mask")
    return broadcast_shapes(a.shape, mask.shape)


def _masked_select_kernel(xp, a, mask):
    shape = _masked_select_rule(_meta(a), _meta(mask))
    return xp.broadcast_to(a, shape)[xp.broadcast_to(mask, shape)]


def _masked_select_vjp(ctx, grad):
    import graphtorch as gt

    a_meta, mask_meta = ctx.input_metas
    shape = broadcast_shapes(a_meta.shape, mask_meta.shape)
    full = call_op(MASKED_SCATTER, gt.zeros(shape, dtype=grad.dtype), ctx.inputs[1], grad)
    return unbroadcast(full, a_meta), None


MASKED_SELECT = _op("masked_select", _masked_select_kernel,
                    lambda a, mask: _same(TensorMeta((-1,), a.dtype), _masked_select_rule(
                        a, mask)), _masked_select_vjp, save_inputs=(1,),
                    doc="the entries of a where mask is True, as a 1-D tensor")

NONZERO = _op("nonzero", lambda xp, a: xp.argwhere(a).astype(xp.int64),
              lambda a: TensorMeta((-1, len(a.shape)), dtypes.int64),
              doc="(n, ndim) int64 coordinates of the non-zero entries")


# --- take / put --------------------------------------------------------------------------

def _check_flat_bounds(xp, index, n):
    if index.size == 0:
        return
    lo, hi = int(index.min()), int(index.max())
    if lo < -n or hi >= n:
        raise IndexError(f"out of range: tried to access index {hi if hi >= n else lo} on a "
                         f"tensor of {n} elements.")


def _take_rule(a, index):
    if index.dtype is not dtypes.int64:
        raise RuntimeError(f"take(): Expected a long tensor for index, but got "
                           f"{_word(index.dtype)}")
    return TensorMeta(index.shape, a.dtype)


def _take_kernel(xp, a, index):
    _take_rule(_meta(a), _meta(index))
    _check_flat_bounds(xp, index, a.size)
    if index.size == 0:
        return xp.zeros(index.shape, dtype=a.dtype)
    return xp.take(a.reshape(-1), index)


def _take_vjp(ctx, grad):
    import graphtorch as gt

    zeros = gt.zeros(ctx.input_metas[0].shape, dtype=grad.dtype)
    return call_op(PUT, zeros, ctx.inputs[1], grad, accumulate=True), None


TAKE = _op("take", _take_kernel, _take_rule, _take_vjp, save_inputs=(1,),
           doc="entries of the flattened tensor at `index` (negative indices wrap)")


def _put_rule(a, index, source, accumulate=False):
    if index.dtype is not dtypes.int64:
        raise RuntimeError(f"put_(): Expected a long tensor for index, but got "
                           f"{_word(index.dtype)}")
    if source.dtype != a.dtype:
        raise RuntimeError(f"put_(): self and source expected to have the same dtype, but got "
                           f"self.dtype = {_word(a.dtype)} and source.dtype = "
                           f"{_word(source.dtype)}")
    if _numel(source.shape) != _numel(index.shape):
        raise IndexError(f"put_(): Expected source and index to have the same number of "
                         f"elements, but got source.numel() = {_numel(source.shape)}, "
                         f"index.numel() = {_numel(index.shape)}")
    return a


def _put_kernel(xp, a, index, source, accumulate=False):
    _put_rule(_meta(a), _meta(index), _meta(source))
    out = a.copy()
    _check_flat_bounds(xp, index, a.size)
    flat, idx, vals = out.reshape(-1), index.reshape(-1), source.reshape(-1)
    if accumulate:
        _ufunc_at(xp, "add", flat, idx, vals)
    else:
        flat[idx] = vals
    return out


def _put_vjp(ctx, grad):
    import graphtorch as gt

    index, src_meta = ctx.inputs[1], ctx.input_metas[2]
    grad_self = grad
    if not ctx.attrs.get("accumulate", False):
        grad_self = call_op(PUT, grad, index, gt.zeros(src_meta.shape, dtype=grad.dtype))
    return grad_self, None, call_op(TAKE, grad, index).reshape(src_meta.shape)


PUT = _op("put", _put_kernel, _put_rule, _put_vjp, save_inputs=(1,),
          doc="a copy of a whose flattened entries at `index` are set to (or, with "
              "accumulate, incremented by) source")


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
    "constant_pad_nd", _constant_pad_kernel,
    lambda a, pad, value=0: TensorMeta(_pad_rule(a.shape, pad), a.dtype),
    lambda ctx, grad: (call_op(CONSTANT_PAD_ND, grad, pad=tuple(-p for p in ctx.attrs["pad"]),
                               value=0),),
    doc="pad (last dim first, negative crops) with a constant")


def _embedding_rule(indices, weight, padding_idx=None, scale_grad_by_freq=False):
    if indices.dtype not in _INDEX_DTYPES:
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got "
                           f"torch.{_word(indices.dtype)}Tensor instead (while checking "
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
    import graphtorch as gt

    indices, weight_meta = ctx.inputs[0], ctx.input_metas[1]
    padding_idx = ctx.attrs.get("padding_idx")
    idx = indices.reshape(-1)
    rows = grad.reshape(-1, weight_meta.shape[1])
    if padding_idx is not None:
        rows = rows.masked_fill((idx == padding_idx).unsqueeze(1), 0)
    if ctx.attrs.get("scale_grad_by_freq", False):
        ones = gt.ones(idx.shape, dtype=grad.dtype)
        counts = gt.zeros(weight_meta.shape[0], dtype=grad.dtype).index_add(0, idx, ones)
        rows = rows / counts.index_select(0, idx).unsqueeze(1)
    zeros = gt.zeros(weight_meta.shape, dtype=grad.dtype)
    return None, call_op(INDEX_ADD, zeros, idx, rows, dim=0)


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
    import graphtorch as gt

    meta = ctx.input_metas[0]
    size, step = ctx.attrs["size"], ctx.attrs["step"]
    if not meta.shape:  # one window of size 0 or 1
        return (grad.sum(),)
    _, d = _unfold_rule(meta, ctx.attrs["dimension"], size, step)
    starts = gt.arange(grad.shape[d]) * step
    index = (starts.unsqueeze(1) + gt.arange(size)).reshape(-1)
    windows = grad.movedim(-1, d + 1).flatten(d, d + 1)
    return (call_op(INDEX_ADD, gt.zeros(meta.shape, dtype=grad.dtype), index, windows, dim=d),)


UNFOLD = register(OpDef(
    "unfold", Category.VIEW, _unfold_kernel,
    lambda a, dimension, size, step: TensorMeta(_unfold_rule(a, dimension, size, step)[0],
                                                a.dtype),
    _unfold_vjp, doc="a view of all windows of `size` (stride `step`) along one dim"))


def call_op(op, *inputs, **attrs):
    from .dispatch import call

    return call(op, *inputs, **attrs)
