"""Pooling primitives over the trailing spatial dims of (N, C, *S): max (with int64 indices
into the flattened spatial input, as PyTorch), average, adaptive average and adaptive max.

Kernels loop over kernel offsets only (each step a vectorised pass over all outputs), never
over output pixels. Max pools pair with `max_pool_backward` (an index scatter whose vjp is
a gather); each average pool pairs with its backward, and the two are each other's vjps.
"""

from __future__ import annotations

from .. import dtypes
from ..dtypes import scalar_type_name
from ..layout import channels_last_results
from .conv import _ndindex, int_tuple, pad_spatial, prod
from .dispatch import call
from .factories import arange
from .indexing import INDEX
from .registry import Category, OpDef, ResultLayout, TensorMeta, register
from .window_jit import INDEX_SCATTER, MAX_POOL2D, numpy_float

OPAQUE = Category.OPAQUE


def pool_out_size(size, k, s, p, d, ceil_mode):
    """PyTorch's pooling_output_shape."""
    numer = size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)
    out = numer // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _lowest(xp, dtype):
    return -xp.inf if dtype.kind == "f" else xp.iinfo(dtype).min


def _scan_max(xp, x, offsets, values_at, index_at, first_index):
    """Running max over candidate views in scan order, with PyTorch's rule: a candidate
    wins if it is greater or NaN; the index starts at the first valid window element."""
    best = xp.full(x.shape[:2] + first_index.shape, _lowest(xp, x.dtype), dtype=x.dtype)
    index = xp.empty(best.shape, dtype=xp.int64)
    index[...] = first_index
    # the NaN test per candidate is only needed when the input has a NaN (one pass to know)
    check_nan = x.dtype.kind == "f" and bool(xp.isnan(x).any())
    for off in offsets:
        v = values_at(off)
        better = xp.greater(v, best)
        if check_nan:
            better |= xp.isnan(v)
        xp.copyto(best, v, where=better)
        xp.copyto(index, index_at(off), where=better)
    return best, index


def _grid(xp, per_dim):
    """Sum of per-dimension 1-D int arrays, broadcast to the full grid (dim i on axis i)."""
    n = len(per_dim)
    total = xp.zeros((1,) * n, dtype=xp.int64)
    for i, a in enumerate(per_dim):
        total = total + a.reshape((1,) * i + (-1,) + (1,) * (n - i - 1))
    return total


def _row_strides(sizes):
    return tuple(prod(sizes[i + 1:]) for i in range(len(sizes)))


# --- max_pool -----------------------------------------------------------------------------

def _max_pool_kernel(xp, x, kernel, stride, padding, dilation, ceil_mode=False):
    nsp = len(kernel)
    sizes = x.shape[2:]
    out = tuple(pool_out_size(sizes[i], kernel[i], stride[i], padding[i], dilation[i],
                              ceil_mode) for i in range(nsp))
    if min(out, default=1) <= 0:
        raise ValueError("pooling output is empty")
    fast = _max_pool_fast(xp, x, out, kernel, stride, padding, dilation)
    if fast is not None:
        return fast
    tiles = _max_pool_tiles(xp, x, out, kernel, stride, padding, dilation)
    if tiles is not None:
        return tiles
    # pad low by `padding`, high far enough for the last (ceil-mode) window
    pads = tuple((padding[i], max(0, (out[i] - 1) * stride[i] + dilation[i] * (kernel[i] - 1)
                                  + 1 - sizes[i] - padding[i])) for i in range(nsp))
    xpd = pad_spatial(xp, x, pads, _lowest(xp, x.dtype))
    row = _row_strides(sizes)
    starts = [xp.arange(out[i], dtype=xp.int64) * stride[i] - padding[i] for i in range(nsp)]
    base = _grid(xp, [starts[i] * row[i] for i in range(nsp)])
    # the first in-bounds coordinate of each window (PyTorch's initial max index)
    first = _grid(xp, [xp.maximum(starts[i], starts[i] % dilation[i]) * row[i]
                       if padding[i] else starts[i] * row[i] for i in range(nsp)])
    lead = (slice(None), slice(None))

    def values_at(off):
        return xpd[lead + tuple(slice(k * d, k * d + (o - 1) * s + 1, s) for k, d, o, s
                                in zip(off, dilation, out, stride))]

    def index_at(off):
        return base + sum(k * d * r for k, d, r in zip(off, dilation, row))

    return _scan_max(xp, x, _ndindex(tuple(kernel)), values_at, index_at, first)


def _max_pool_fast(xp, x, out, kernel, stride, padding, dilation):
    """(values, indices) from the 2-d machine-code loop (one pass over the input, ~4x
    faster than the scan below on LeNet's pools), or None while it is not available.
    A NumPy tiling formulation (reshape, argmax, gather) measured no faster than the
    scan, so the scan stays the fallback."""
    if len(kernel) != 2 or not numpy_float(xp, x):
        return None
    loop = MAX_POOL2D.get()
    if loop is None:
        return None
    n, c, height, width = x.shape
    planes = xp.ascontiguousarray(x).reshape(n * c, height, width)
    values = xp.empty((n * c,) + tuple(out), dtype=x.dtype)
    indices = xp.empty(values.shape, dtype=xp.int64)
    loop(planes, *kernel, *stride, *padding, *dilation, -xp.inf, values, indices)
    shape = (n, c) + tuple(out)
    return values.reshape(shape), indices.reshape(shape)


def _max_pool_tiles(xp, x, out, kernel, stride, padding, dilation):
    """(values, indices) of a 2-d pool whose windows tile the input (kernel == stride, no
    padding or dilation: LeNet's, VGG's), by comparing the kh*kw strided candidate views
    of one reshaped array (LeNet's first pool 2.4 -> 0.8 ms; the general scan below pads
    and builds index grids); None for other pools and for inputs holding a NaN (PyTorch's
    last-NaN-wins index rule stays with the scan)."""
    if len(kernel) != 2 or tuple(kernel) != tuple(stride) or any(padding) \
            or any(d != 1 for d in dilation) or x.dtype.kind != "f" or x.ndim != 4:
        return None
    (kh, kw), (oh, ow) = kernel, out
    n, c, height, width = x.shape
    if oh * kh > height or ow * kw > width or bool(xp.isnan(x).any()):
        return None  # ceil_mode's partial windows, or a NaN
    v = x[:, :, :oh * kh, :ow * kw].reshape(n, c, oh, kh, ow, kw)
    candidates = [v[:, :, :, a, :, b] for a in range(kh) for b in range(kw)]
    best = xp.array(candidates[0]) if len(candidates) == 1 else candidates[0]  # no view
    for cand in candidates[1:]:
        best = xp.maximum(best, cand)
    # the first candidate equal to the maximum (ties keep their first place, as PyTorch)
    small = xp.int8 if len(candidates) <= 127 else xp.int64  # a quarter of the traffic
    which = xp.full(best.shape, len(candidates) - 1, dtype=small)
    for k in range(len(candidates) - 2, -1, -1):
        which = xp.where(candidates[k] == best, k, which)
    rows = xp.arange(oh, dtype=xp.int64)[:, None] * kh + which // kw
    cols = xp.arange(ow, dtype=xp.int64) * kw + which % kw
    return best, rows * width + cols


def _max_pool_infer(x, kernel, stride, padding, dilation, ceil_mode=False):
    out = check_pool_args("max", x.shape, kernel, stride, padding, dilation, ceil_mode)
    shape = tuple(x.shape[:2]) + out

    return TensorMeta(shape, x.dtype), TensorMeta(shape, dtypes.int64)


def _max_pool_vjp(ctx, grad, grad_indices=None):
    indices = ctx.outputs[1]
    sizes = tuple(ctx.input_metas[0].shape[2:])
    return (call(MAX_POOL_BACKWARD, grad, indices, input_sizes=sizes),)


def _max_pool_name(metas):
    nsp = max(2, len(metas[0].shape) - 2)
    return f"MaxPool{nsp}DWithIndicesBackward0"


MAX_POOL = register(OpDef(
    "max_pool", OPAQUE, _max_pool_kernel, _max_pool_infer, _max_pool_vjp, save_output=(1,),
    num_outputs=2, backward_name=_max_pool_name,
    doc="N-d max pooling over (N, C, *S): (values, flat spatial int64 indices)"))


# --- the index scatter shared by the max pools ---------------------------------------------

def _max_pool_backward_kernel(xp, grad, indices, input_sizes):
    n, c = grad.shape[:2]
    plane = prod(input_sizes)
    loop = INDEX_SCATTER.get() if numpy_float(xp, grad) else None
    if loop is not None:
        count = prod(grad.shape[2:])
        out = xp.zeros((n * c, plane), dtype=grad.dtype)
        loop(xp.ascontiguousarray(grad).reshape(n * c, count),
             xp.ascontiguousarray(indices, dtype=xp.int64).reshape(n * c, count), out)
        return out.reshape((n, c) + tuple(input_sizes))
    rows = xp.arange(n * c, dtype=xp.int64).reshape((n * c,) + (1,) * (grad.ndim - 2)) * plane
    local = indices.reshape((n * c,) + grad.shape[2:])
    weights = grad.reshape(local.shape)
    if local.size and int(local.max()) >= plane:
        # a window lying wholly in the padding has no element: PyTorch's index then points
        # past the plane (and its backward writes out of bounds); its gradient goes nowhere
        inside = local < plane
        local, weights = xp.where(inside, local, 0), xp.where(inside, weights, 0)
    flat = (local + rows).ravel()
    # bincount is a fast scatter-add (overlapping windows may pick the same element)
    out = xp.bincount(flat, weights=weights.ravel(), minlength=n * c * plane)
    return out.astype(grad.dtype, copy=False).reshape((n, c) + tuple(input_sizes))


def _max_pool_backward_infer(grad, indices, input_sizes):
    return TensorMeta(tuple(grad.shape[:2]) + tuple(input_sizes), grad.dtype)


def gather_spatial(x, indices):
    """x (N, C, *S) gathered at flat spatial `indices` (N, C, *L), written with graphtorch's
    `index` op so that it is differentiable again."""
    n, c = x.shape[0], x.shape[1]
    flat = x.reshape(n * c, -1)
    rows = arange(n * c, device=x.device).reshape(n * c, 1)
    picked = call(INDEX, flat, rows, indices.reshape(n * c, -1),
                  spec=(("tensor", 0), ("tensor", 1)))
    return picked.reshape(tuple(indices.shape))


def _max_pool_backward_vjp(ctx, grad_in):
    return gather_spatial(grad_in, ctx.inputs[1]), None


MAX_POOL_BACKWARD = register(OpDef(
    "max_pool_backward", OPAQUE, _max_pool_backward_kernel, _max_pool_backward_infer,
    _max_pool_backward_vjp, save_inputs=(1,), result_layout=ResultLayout.CONTIGUOUS,
    doc="scatter-add of pooled gradients to the input positions named by flat indices"))


# --- avg_pool -----------------------------------------------------------------------------

def _avg_divisor(xp, sizes, out, kernel, stride, padding, count_include_pad,
                 divisor_override):
    if divisor_override:
        return divisor_override
    counts = []
    for i in range(len(kernel)):
        start = xp.arange(out[i], dtype=xp.int64) * stride[i] - padding[i]
        end = xp.minimum(start + kernel[i], sizes[i] + padding[i])
        if count_include_pad:
            counts.append(end - start)
        else:
            counts.append(xp.minimum(end, sizes[i]) - xp.maximum(start, 0))
    total = xp.ones((1,) * len(kernel), dtype=xp.int64)
    for i, cnt in enumerate(counts):
        total = total * cnt.reshape((1,) * i + (-1,) + (1,) * (len(kernel) - i - 1))
    return total


def _divide(xp, total, divisor):
    if total.dtype.kind == "f":
        return (total / divisor).astype(total.dtype, copy=False)
    q = xp.abs(total) // divisor  # C++ integer division truncates toward zero
    return (xp.sign(total) * q).astype(total.dtype, copy=False)


def _avg_pool_kernel(xp, x, kernel, stride, padding, ceil_mode=False, count_include_pad=True,
                     divisor_override=None):
    nsp = len(kernel)
    sizes = x.shape[2:]
    out = tuple(pool_out_size(sizes[i], kernel[i], stride[i], padding[i], 1, ceil_mode)
                for i in range(nsp))
    if min(out, default=1) <= 0:
        raise ValueError("pooling output is empty")
    pads = tuple((padding[i], max(0, (out[i] - 1) * stride[i] + kernel[i] - sizes[i]
                                  - padding[i])) for i in range(nsp))
    xpd = pad_spatial(xp, x, pads, 0)
    acc = xp.float64 if x.dtype.kind not in "fc" else x.dtype
    total = xp.zeros(x.shape[:2] + out, dtype=acc)
    lead = (slice(None), slice(None))
    for off in _ndindex(tuple(kernel)):
        total += xpd[lead + tuple(slice(k, k + (o - 1) * s + 1, s)
                                  for k, o, s in zip(off, out, stride))]
    if x.dtype.kind not in "fc":
        total = total.astype(xp.int64)
    div = _avg_divisor(xp, sizes, out, kernel, stride, padding, count_include_pad,
                       divisor_override)
    return _divide(xp, total, div).astype(x.dtype, copy=False)


def _avg_pool_infer(x, kernel, stride, padding, ceil_mode=False, count_include_pad=True,
                    divisor_override=None):
    out = check_pool_args("avg", x.shape, kernel, stride, padding, (1,) * len(kernel),
                          ceil_mode)
    return TensorMeta(tuple(x.shape[:2]) + out, x.dtype)


def _avg_pool_backward_kernel(xp, grad, input_sizes, kernel, stride, padding, ceil_mode=False,
                              count_include_pad=True, divisor_override=None):
    nsp = len(kernel)
    out = tuple(grad.shape[2:])
    div = _avg_divisor(xp, input_sizes, out, kernel, stride, padding, count_include_pad,
                       divisor_override)
    g = (grad / div).astype(grad.dtype, copy=False)
    buf_sizes = tuple(max(input_sizes[i] + 2 * padding[i], (out[i] - 1) * stride[i] + kernel[i])
                      for i in range(nsp))
    buf = xp.zeros(grad.shape[:2] + buf_sizes, dtype=grad.dtype)
    lead = (slice(None), slice(None))
    for off in _ndindex(tuple(kernel)):
        buf[lead + tuple(slice(k, k + (o - 1) * s + 1, s)
                         for k, o, s in zip(off, out, stride))] += g
    crop = lead + tuple(slice(padding[i], padding[i] + input_sizes[i]) for i in range(nsp))
    return xp.ascontiguousarray(buf[crop])


def _avg_pool_backward_infer(grad, input_sizes, **attrs):
    return TensorMeta(tuple(grad.shape[:2]) + tuple(input_sizes), grad.dtype)


def _avg_pool_vjp(ctx, grad):
    sizes = tuple(ctx.input_metas[0].shape[2:])
    return (call(AVG_POOL_BACKWARD, grad, input_sizes=sizes, **ctx.attrs),)


def _avg_pool_backward_vjp(ctx, grad_in):
    attrs = {k: v for k, v in ctx.attrs.items() if k != "input_sizes"}
    return (call(AVG_POOL, grad_in, **attrs),)


def _avg_pool_name(metas):
    return f"AvgPool{max(2, len(metas[0].shape) - 2)}DBackward0"


AVG_POOL = register(OpDef(
    "avg_pool", OPAQUE, channels_last_results(0)(_avg_pool_kernel), _avg_pool_infer,
    _avg_pool_vjp, backward_name=_avg_pool_name,
    doc="N-d average pooling (count_include_pad, ceil_mode, divisor_override)"))
AVG_POOL_BACKWARD = register(OpDef(
    "avg_pool_backward", OPAQUE, _avg_pool_backward_kernel, _avg_pool_backward_infer,
    _avg_pool_backward_vjp, result_layout=ResultLayout.CONTIGUOUS,
    doc="gradient of avg_pool (the adjoint of the same pooling)"))


# --- adaptive pools -------------------------------------------------------------------------

def adaptive_bounds(size, out):
    """PyTorch's adaptive windows: [floor(i*S/O), ceil((i+1)*S/O)) for each output i."""
    starts = [(i * size) // out for i in range(out)]
    ends = [-((-(i + 1) * size) // out) for i in range(out)]
    return starts, ends


def _window_matrix(xp, size, out, dtype):
    """(out, size) 0/1 matrix selecting each adaptive window, and the window lengths."""
    starts, ends = adaptive_bounds(size, out)
    cols = xp.arange(size)
    st = xp.asarray(starts).reshape(-1, 1)
    en = xp.asarray(ends).reshape(-1, 1)
    m = ((cols >= st) & (cols < en)).astype(dtype)
    return m, xp.asarray([e - s for s, e in zip(starts, ends)], dtype=dtype)


def _apply_along(xp, a, axis, matrix):
    """Contract `a`'s `axis` with matrix (rows: new size, cols: old size) as one GEMM."""
    moved = xp.moveaxis(a, axis, -1)
    shape = moved.shape
    res = xp.matmul(moved.reshape(-1, shape[-1]), matrix.T)
    return xp.moveaxis(res.reshape(shape[:-1] + (matrix.shape[0],)), -1, axis)


def _adaptive_avg_kernel(xp, x, output_size):
    if x.dtype.kind not in "fc":
        raise ValueError("adaptive_avg_pool needs floating input")
    out = x
    div = None
    for i, o in enumerate(output_size):
        m, counts = _window_matrix(xp, x.shape[2 + i], o, x.dtype)
        out = _apply_along(xp, out, 2 + i, m)
        shape = (1,) * i + (-1,) + (1,) * (len(output_size) - i - 1)
        div = counts.reshape(shape) if div is None else div * counts.reshape(shape)
    return xp.ascontiguousarray(out / div).astype(x.dtype, copy=False)


def _adaptive_avg_backward_kernel(xp, grad, input_sizes):
    nsp = len(input_sizes)
    mats = [_window_matrix(xp, s, grad.shape[2 + i], grad.dtype)
            for i, s in enumerate(input_sizes)]
    div = None
    for i, (_, counts) in enumerate(mats):
        shape = (1,) * i + (-1,) + (1,) * (nsp - i - 1)
        div = counts.reshape(shape) if div is None else div * counts.reshape(shape)
    out = (grad / div).astype(grad.dtype, copy=False)
    for i, (m, _) in enumerate(mats):
        out = _apply_along(xp, out, 2 + i, m.T)
    return xp.ascontiguousarray(out)


def _adaptive_avg_vjp(ctx, grad):
    return (call(ADAPTIVE_AVG_POOL_BACKWARD, grad,
                 input_sizes=tuple(ctx.input_metas[0].shape[2:])),)


def _adaptive_avg_backward_vjp(ctx, grad_in):
    return (call(ADAPTIVE_AVG_POOL, grad_in, output_size=tuple(ctx.input_metas[0].shape[2:])),)


def _adaptive_name(kind):
    def name(metas):
        return f"Adaptive{kind}Pool{max(2, len(metas[0].shape) - 2)}DBackward0"
    return name


ADAPTIVE_AVG_POOL = register(OpDef(
    "adaptive_avg_pool", OPAQUE, channels_last_results(0)(_adaptive_avg_kernel),
    lambda x, output_size: TensorMeta(tuple(x.shape[:2]) + tuple(output_size), x.dtype),
    _adaptive_avg_vjp, backward_name=_adaptive_name("Avg"),
    doc="N-d adaptive average pooling to `output_size` (separable window-sum GEMMs)"))
ADAPTIVE_AVG_POOL_BACKWARD = register(OpDef(
    "adaptive_avg_pool_backward", OPAQUE, _adaptive_avg_backward_kernel,
    lambda grad, input_sizes: TensorMeta(tuple(grad.shape[:2]) + tuple(input_sizes),
                                         grad.dtype),
    _adaptive_avg_backward_vjp, result_layout=ResultLayout.CONTIGUOUS,
    doc="gradient of adaptive_avg_pool (its adjoint)"))


def _adaptive_max_kernel(xp, x, output_size):
    if x.dtype.kind != "f":
        raise ValueError("adaptive_max_pool needs floating input")
    nsp = len(output_size)
    sizes = x.shape[2:]
    row = _row_strides(sizes)
    idx, widths = [], []
    for i, o in enumerate(output_size):
        starts, ends = adaptive_bounds(sizes[i], o)
        kmax = max((e - s for s, e in zip(starts, ends)), default=1)
        st = xp.asarray(starts, dtype=xp.int64).reshape(-1, 1)
        en = xp.asarray(ends, dtype=xp.int64).reshape(-1, 1)
        # windows padded to the longest by repeating their last element (never a new max)
        idx.append(xp.minimum(st + xp.arange(kmax), en - 1))
        widths.append(kmax)
    # gathered: (N, C, O1, k1, O2, k2, ...)
    gather = (slice(None), slice(None)) + tuple(
        idx[i].reshape((1,) * (2 * i) + idx[i].shape + (1,) * (2 * (nsp - i - 1)))
        for i in range(nsp))
    windows = x[gather]
    lead = (slice(None), slice(None))

    def values_at(off):
        return windows[lead + tuple(item for i in range(nsp) for item in (slice(None), off[i]))]

    def index_at(off):
        return _grid(xp, [idx[i][:, off[i]] * row[i] for i in range(nsp)])

    first = _grid(xp, [idx[i][:, 0] * row[i] for i in range(nsp)])
    return _scan_max(xp, x, _ndindex(tuple(widths)), values_at, index_at, first)


def _adaptive_max_infer(x, output_size):
    shape = tuple(x.shape[:2]) + tuple(output_size)
    return TensorMeta(shape, x.dtype), TensorMeta(shape, dtypes.int64)


ADAPTIVE_MAX_POOL = register(OpDef(
    "adaptive_max_pool", OPAQUE, channels_last_results(0)(_adaptive_max_kernel),
    _adaptive_max_infer, _max_pool_vjp, save_output=(1,), num_outputs=2,
    backward_name=_adaptive_name("Max"),
    doc="N-d adaptive max pooling: (values, flat spatial int64 indices)"))


# --- argument checks for the public functions, in PyTorch's order and words ------------------
# PyTorch has its own 1-d max-pool kernel (used without return_indices); every other 1-d
# pool runs as a 2-d pool over a unit height, and its messages show that height.

_DIM_WORDS = {1: "one", 2: "two", 3: "three"}
_AXES = {1: ("W",), 2: ("H", "W"), 3: ("T", "H", "W")}


def pool_param(fname, name, value, nsp, default=None, own_1d=False):
    """An int or a sequence of 1 or nsp ints -> nsp ints; None/() -> `default`."""
    if default is not None and (value is None or (isinstance(value, (tuple, list))
                                                  and len(value) == 0)):
        return default
    vals = int_tuple(value)
    if len(vals) == 1:
        return vals * nsp
    if len(vals) == nsp:
        return vals
    if own_1d:
        what = ("None, an int, list of ints, or tuple of ints" if name == "stride"
                else "an int, list of ints or tuple of ints")
        raise RuntimeError(f"max_pool1d() {name} must be {what} of size 1 but got size "
                           f"{len(vals)}")
    if nsp == 1 or fname.startswith("adaptive"):
        raise RuntimeError(f"{fname}() argument '{name}' should contain one int (got "
                           f"{len(vals)})")
    how = {"stride": "must either be omitted, a single int, or",
           "dilation": "must be either a single int, or"}.get(name, "must either be a single "
                                                                  "int, or")
    raise RuntimeError(f"{fname}: {name} {how} a tuple of {_DIM_WORDS[nsp]} ints")


def check_pool_input(x, nsp, kind, own_1d=False):
    """Rank and emptiness of a pool's (C, *S) or (N, C, *S) input; kind is 'max' or 'avg'."""
    shape, nd = list(x.shape), len(x.shape)
    if nsp == 1 and own_1d:
        if nd not in (2, 3) or 0 in shape[-2:]:
            raise RuntimeError(f"max_pool1d: Expected 2D or 3D (batch mode) tensor with optional "
                               f"0 dim batch size for input, but got:{shape}")
        return
    if nsp == 1:
        if nd not in (2, 3):
            raise RuntimeError(f"Expected 2 to 3 dimensions, but got {nd}-dimensional tensor "
                               f"for argument #1 'self' (while checking arguments for "
                               f"{kind}_pool1d)")
        shape = shape[:-1] + [1] + shape[-1:]
    elif nd not in (nsp + 1, nsp + 2):
        if kind == "avg" and nsp == 2 and nd < 3:
            raise IndexError(f"Dimension out of range (expected to be in range of [{-nd}, "
                             f"{nd - 1}], but got -3)")
        if kind == "max" or nsp == 3:
            raise RuntimeError(f"non-empty {nsp + 1}D or {nsp + 2}D (batch mode) tensor "
                               "expected for input")
        raise RuntimeError(f"Expected 3D or 4D (batch mode) tensor with optional 0 dim batch "
                           f"size for input, but got:{shape}")
    dims = len(shape)
    for i, size in enumerate(shape[dims - 3 if nsp < 3 else dims - 4:]):
        if size == 0:
            if nsp == 3:
                who = "max_pool3d_with_indices_out_cpu_template" if kind == "max" \
                    else "avg_pool3d"
                raise RuntimeError(f"{who}(): Expected input's non-batch dimensions to have "
                                   f"positive length, but input has a shape of {shape} and "
                                   f"non-batch dimension {i} has length zero!")
            raise RuntimeError(f"Expected 3D or 4D (batch mode) tensor with optional 0 dim "
                               f"batch size for input, but got:{shape}")


def _own_1d_checks(k, s, p, d):
    if k <= 0:
        raise RuntimeError(f"max_pool1d() kernel_size must be greater than zero, but got {k}")
    if s <= 0:
        raise RuntimeError(f"max_pool1d() stride must be greater than zero, but got {s}")
    if p < 0:
        raise RuntimeError(f"max_pool1d() padding must be non-negative, but got {p}")
    if d <= 0:
        raise RuntimeError(f"max_pool1d() dilation must be greater than zero, but got {d}")
    if p > k // 2:
        raise RuntimeError(f"max_pool1d() padding should be at most half of kernel size, but "
                           f"got padding={p} and kernel_size={k}")


def _shown(values, fill, nsp):
    """Per-axis 'nameH: v' text; 1-d values get PyTorch's unit height in front."""
    values = ((fill,) + tuple(values)) if nsp == 1 else tuple(values)
    return zip(_AXES[len(values)], values)


def check_pool_args(kind, shape, kernel, stride, padding, dilation, ceil_mode, own_1d=False):
    """PyTorch's parameter checks for a pool on batched `shape` (N, C, *S); returns the
    output spatial sizes."""
    nsp = len(kernel)
    sizes = tuple(shape[2:])
    if own_1d:
        _own_1d_checks(kernel[0], stride[0], padding[0], dilation[0])
    else:
        if 0 in stride:
            raise RuntimeError("stride should not be zero")
        for label, vals, word in (("kernel size", kernel, "k"), ("stride", stride, "d"),
                                  ("dilation", dilation, "dilation")):
            if any(v <= 0 for v in vals):
                raise RuntimeError(f"{label} should be greater than zero, but got " + " ".join(
                    f"{word}{axis}: {v}" for axis, v in _shown(vals, 1, nsp)))
        if any(p < 0 for p in padding):
            raise RuntimeError(f"pad must be non-negative, but got pad: {min(padding)}")
        for k, p, d in zip(kernel, padding, dilation):
            if p > ((k - 1) * d + 1) // 2:
                raise RuntimeError(f"pad should be at most half of effective kernel size, but "
                                   f"got pad={p}, kernel_size={k} and dilation={d}")
        if kind == "avg" and nsp == 3 and any(n < k for n, k in zip(sizes, kernel)):
            raise RuntimeError(f"input image (T: {sizes[0]} H: {sizes[1]} W: {sizes[2]}) "
                               f"smaller than kernel size (kT: {kernel[0]} kH: {kernel[1]} "
                               f"kW: {kernel[2]})")
    out = tuple(pool_out_size(sizes[i], kernel[i], stride[i], padding[i], dilation[i],
                              ceil_mode) for i in range(nsp))
    if min(out, default=1) <= 0:
        if own_1d:
            raise RuntimeError(f"max_pool1d() Invalid computed output size: {out[0]}")
        lead = (1,) if nsp == 1 else ()
        given = "x".join(map(str, (shape[1],) + lead + sizes))
        calc = "x".join(map(str, (shape[1],) + lead + out))
        raise RuntimeError(f"Given input size: ({given}). Calculated output size: ({calc}). "
                           "Output size is too small")
    return out


def adaptive_output_sizes(fname, output_size, x, nsp):
    if nsp == 1:
        if isinstance(output_size, (tuple, list)) and len(output_size) != 1:
            raise RuntimeError(f"{fname}() argument 'output_size' should contain one int (got "
                               f"{len(output_size)})")
    sizes = list(output_size) if isinstance(output_size, (tuple, list)) else [output_size]
    if len(sizes) == 1:
        sizes = sizes * nsp
    if len(sizes) != nsp:
        raise RuntimeError(f"{fname.replace('1d', '2d')}: output_size must be {nsp}")
    spatial = x.shape[-nsp:]
    return tuple(int(spatial[i]) if s is None else int(s) for i, s in enumerate(sizes))


def check_adaptive_input(kind, nsp, input):
    fname = f"adaptive_{kind}_pool{nsp}d"
    if nsp == 1:
        if input.ndim not in (2, 3):
            raise RuntimeError(f"Expected 2 to 3 dimensions, but got {input.ndim}-dimensional "
                               f"tensor for argument #1 'self' (while checking arguments for "
                               f"{fname})")
    elif input.ndim not in (nsp + 1, nsp + 2):
        sep = ":" if kind == "max" else ""
        raise RuntimeError(f"{fname}(): Expected {nsp + 1}D or {nsp + 2}D tensor, but got{sep} "
                           f"{list(input.shape)}")
    name2 = f"adaptive_{kind}_pool{max(nsp, 2)}d"
    for d in range(1 if input.ndim == nsp + 2 else 0, input.ndim):
        if input.shape[d] == 0:
            raise RuntimeError(f"{name2}(): Expected input to have non-zero size for non-batch "
                               f"dimensions, but input has sizes {list(input.shape)} with "
                               f"dimension {d} being empty")
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"\"{name2}\" not implemented for "
                                  f"'{scalar_type_name(input.dtype)}'")
    return fname
