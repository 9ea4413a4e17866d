"""Advanced indexing primitives: `index` (x[tensor, ...]) and `index_put` (its scatter).

The index structure is an attribute `spec`: one entry per index item, ("slice", start,
stop, step), ("int", i), ("none",), ("ellipsis",) or ("tensor", k) for the k-th index
tensor input. NumPy's fancy-indexing rules equal PyTorch's for these cases.
"""

from __future__ import annotations

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
    return a[build_index(spec, indices)]


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
    out = base.copy()
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
