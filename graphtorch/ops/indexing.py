"""Advanced indexing primitives: `index` (x[tensor, ...]) and `index_put` (its scatter).

The index structure is an attribute `spec`: one entry per index item, ("slice", start,
stop, step), ("int", i), ("none",), ("ellipsis",) or ("tensor", k) for the k-th index
tensor input. NumPy's fancy-indexing rules equal PyTorch's for these cases.
"""

from __future__ import annotations

from ..layout import empty_preserving, inverse, reorder_dimensions
from .devices import ufunc_at
from .dispatch import call
from .factories import zeros
from .grad_utils import unbroadcast
from .registry import Category, OpDef, TensorMeta, register

_MAX_INDEX_TENSORS = 32


def build_index(spec, arrays):
    """The NumPy index tuple for `spec`, with tensor items taken from `arrays`."""
    out = []
    for item in spec:
        kind = item[0]
        if kind == "slice":
            out.append(slice(item[1], item[2], item[3]))
        elif kind == "int":
            out.append(item[1])
        elif kind == "none":
            out.append(None)
        elif kind == "ellipsis":
            out.append(Ellipsis)
        else:
            out.append(arrays[item[1]])
    return tuple(out)


def _check_index_arrays(arrays):
    for a in arrays:
        if a.dtype.kind not in "biu":
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")


def _index_kernel(xp, a, *indices, spec):
    _check_index_arrays(indices)
    out = a[build_index(spec, indices)]
    if not indices or any(item[0] in ("int", "none") for item in spec):
        return out  # a view (basic indices only), or NumPy's layout (see `_result_order`)
    order = _result_order(a, spec, indices, out.ndim)
    return xp.ascontiguousarray(out.transpose(order)).transpose(inverse(order))


def _result_order(a, spec, indices, out_ndim):
    """The dim order (outermost first) of PyTorch's result of ``a[spec]``, or None for
    row-major. NumPy puts the broadcast index dims outermost in memory (``x[:, i]`` of a
    contiguous x is not contiguous); PyTorch's TensorIterator orders the result's dims by
    the strides of `a` restrided to the result (0 on the index dims) and of each index
    tensor broadcast to it (0 on the other dims), as `layout.preserved_order` does for one
    operand. Specs with ints or None are applied as views before `index` and not seen here.
    """
    def consumed_by(item) -> int:  # dims of `a` an item indexes (a bool mask: its rank)
        if item[0] == "slice":
            return 1
        index = indices[item[1]]
        return index.ndim if index.dtype.kind == "b" else 1

    consumed = sum(consumed_by(item) for item in spec if item[0] != "ellipsis")
    rest = a.ndim - consumed
    # the result's dims: ("self", stride) per sliced dim, "index" where the block goes
    dims, in_dim, positions = [], 0, []
    for k, item in enumerate(spec):
        if item[0] == "ellipsis":
            dims += [("self", a.strides[in_dim + j]) for j in range(rest)]
            in_dim += rest
        elif item[0] == "slice":
            dims.append(("self", a.strides[in_dim] * (item[3] or 1)))
            in_dim += 1
        else:
            positions.append(k)
            if len(positions) == 1 or positions[-2] != k - 1:
                dims.append("index")
            in_dim += consumed_by(item)
    if "ellipsis" not in [item[0] for item in spec]:
        dims += [("self", a.strides[in_dim + j]) for j in range(a.ndim - in_dim)]
    adjacent = positions == list(range(positions[0], positions[-1] + 1))
    if not adjacent or dims.count("index") != 1:
        dims = ["index"] + [d for d in dims if d != "index"]
    block = out_ndim - (len(dims) - 1)
    at = dims.index("index")
    # per operand, its strides over the result's dims (a bool mask is a 1-d index)
    index_strides = []
    for i in indices:
        own = i.strides if i.dtype.kind != "b" else (i.itemsize,)
        own = (0,) * (block - len(own)) + tuple(own)  # broadcast to the block's rank
        index_strides.append((0,) * at + own + (0,) * (len(dims) - 1 - at))
    self_strides = tuple(s for d in dims for s in ((0,) * block if d == "index" else (d[1],)))
    return _tensor_iterator_order([self_strides, *index_strides])


def _tensor_iterator_order(operand_strides) -> tuple:
    """PyTorch's `TensorIterator::reorder_dimensions`: an insertion sort of the dims,
    innermost first, where the first operand with unequal non-zero strides decides."""
    ndim = len(operand_strides[0])

    def should_swap(d0, d1) -> int:
        for strides in operand_strides:
            s0, s1 = strides[d0], strides[d1]
            if s0 == 0 or s1 == 0 or s0 == s1:
                continue
            return -1 if s0 < s1 else 1
        return 0

    return reorder_dimensions(ndim, should_swap)


def _index_infer(a, *indices, spec):
    """Index a zero-strided stand-in of `a`; sizes that depend on a bool mask's count of
    True values are data-dependent (-1): they differ between all-False and all-True masks."""
    import numpy as np

    probe = np.lib.stride_tricks.as_strided(np.zeros(1, dtype=np.int8), a.shape,
                                            (0,) * len(a.shape))
    shapes = []
    for fill in (False, True):
        fake = [np.full(i.shape, fill, dtype=bool) if i.dtype.name == "bool"
                else np.zeros(i.shape, dtype=i.dtype.np_dtype) for i in indices]
        shapes.append(probe[build_index(spec, fake)].shape)
    shape = tuple(s if s == t else -1 for s, t in zip(*shapes))
    return TensorMeta(shape, a.dtype)


def _index_vjp(ctx, grad):
    indices = ctx.inputs[1:]
    blank = zeros(ctx.input_metas[0].shape, dtype=grad.dtype, device=grad.device)
    return (call(INDEX_PUT, blank, grad, *indices, spec=ctx.attrs["spec"], accumulate=True),
            *([None] * len(indices)))


INDEX = register(OpDef("index", Category.OPAQUE, _index_kernel, _index_infer, _index_vjp,
                       save_inputs=tuple(range(1, _MAX_INDEX_TENSORS + 1)),
                       may_alias_input=True,  # basic indices only: a NumPy view
                       doc="advanced indexing a[spec] with index tensors"))


def _index_put_kernel(xp, base, values, *indices, spec, accumulate=False):
    _check_index_arrays(indices)
    out = empty_preserving(xp, base)  # a clone in base's layout, as PyTorch's
    out[...] = base
    index = build_index(spec, indices)
    values = values.astype(base.dtype) if hasattr(values, "astype") else values
    if accumulate:
        ufunc_at(xp, "add", out, index, values)
    else:
        out[index] = values
    return out


def _index_put_vjp(ctx, grad):
    indices = ctx.inputs[2:]
    spec = ctx.attrs["spec"]
    values_meta = ctx.input_metas[1]
    grad_base = grad
    if not ctx.attrs.get("accumulate", False):
        zero = zeros((), dtype=grad.dtype, device=grad.device)
        grad_base = call(INDEX_PUT, grad, zero, *indices, spec=spec)
    grad_values = None
    if values_meta is not None:
        grad_values = unbroadcast(call(INDEX, grad, *indices, spec=spec), values_meta)
    return (grad_base, grad_values, *([None] * len(indices)))


INDEX_PUT = register(OpDef(
    "index_put", Category.OPAQUE, _index_put_kernel, lambda base, values, *i, spec,
    accumulate=False: base, _index_put_vjp, save_inputs=tuple(range(2, _MAX_INDEX_TENSORS + 2)),
    backward_name="IndexPutBackward0",
    doc="base with base[spec] set to (or, with accumulate, incremented by) values"))
