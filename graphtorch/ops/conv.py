"""Convolution primitives (N-d, any groups): `convolution` (also transposed) and its weight
gradient `convolution_backward_weight`.

Kernels build im2col columns from a strided window view (no Python loop over output
pixels) and run one GEMM per group and L2-sized chunk of the batch; transposed convolution
is a GEMM followed by a col2im scatter-add that loops over kernel offsets only (depthwise
convolutions skip the columns). For 2-d float NumPy arrays, im2col and col2im are Numba
loops (`window_jit`) once compiled. 2-d convolutions with stride 1 (forward, transposed,
weight gradient) run `conv_native`'s direct loops once g++ has built them (no column
matrix: LeNet's five convolution kernels 3.2 -> 1.7 ms).
The two ops are each other's vjps, so gradients of any order stay inside them. Padding is
(low, high) pairs, so padding='same' with an even kernel needs no separate pad op.
"""

from __future__ import annotations

import math

from .. import blas
from ..dtypes import scalar_type_name
from ..layout import channels_last_results
from . import conv_native
from .dispatch import call
from .registry import Category, OpDef, ResultLayout, TensorMeta, register
from .window_jit import COL2IM2D, IM2COL2D, numpy_float

# --- array helpers shared with pooling ---------------------------------------------------


def pad_spatial(xp, a, pads, value=0):
    """`a` with its trailing len(pads) dims padded by (low, high) pairs (a copy if needed)."""
    if not any(lo or hi for lo, hi in pads):
        return a
    width = [(0, 0)] * (a.ndim - len(pads)) + [tuple(p) for p in pads]
    return xp.pad(a, width, mode="constant", constant_values=value)


def window_view(xp, a, out_sizes, kernel, stride, dilation):
    """A read-only strided view (*lead, *out_sizes, *kernel) of the windows over the trailing
    len(kernel) dims of `a` (no copy)."""
    nsp = len(kernel)
    lead_shape, lead_strides = a.shape[:-nsp], a.strides[:-nsp]
    sp_strides = a.strides[-nsp:]
    shape = tuple(lead_shape) + tuple(out_sizes) + tuple(kernel)
    strides = (tuple(lead_strides) + tuple(st * s for st, s in zip(sp_strides, stride))
               + tuple(st * d for st, d in zip(sp_strides, dilation)))
    if xp.__name__ == "numpy":
        return xp.lib.stride_tricks.as_strided(a, shape, strides, writeable=False)
    return xp.lib.stride_tricks.as_strided(a, shape, strides)  # CuPy has no `writeable`


def col2im_add(xp, buf, cols, kernel, stride, dilation, in_sizes):
    """buf[..., k*d + i*s] += cols[..., k, i] for every kernel offset k (loop over k only).

    `cols` is (*lead, *kernel, *in_sizes); `buf` is (*lead, *spatial), large enough.
    """
    nsp = len(kernel)
    lead = (slice(None),) * (buf.ndim - nsp)
    for offs in _ndindex(kernel):
        target = lead + tuple(slice(k * d, k * d + (n - 1) * s + 1, s)
                              for k, d, n, s in zip(offs, dilation, in_sizes, stride))
        buf[target] += cols[lead + offs]
    return buf


def _ndindex(shape):
    if not shape:
        yield ()
        return
    for i in range(shape[0]):
        for rest in _ndindex(shape[1:]):
            yield (i,) + rest


def prod(values):
    return math.prod(values)


def conv_out_size(size, pad_lo, pad_hi, k, s, d):
    return (size + pad_lo + pad_hi - d * (k - 1) - 1) // s + 1


def transposed_out_size(size, pad_lo, pad_hi, k, s, d, out_pad):
    return (size - 1) * s - pad_lo - pad_hi + d * (k - 1) + 1 + out_pad


# --- kernels ------------------------------------------------------------------------------

def _check_dtypes(x, w, b):
    if x.dtype != w.dtype or (b is not None and b.dtype != x.dtype) or x.dtype == bool:
        raise ValueError("convolution operands must share one non-bool dtype")


def _conv_kernel(xp, x, w, b, stride, padding, dilation, groups, transposed=False,
                 output_padding=None):
    _check_dtypes(x, w, b)
    out_channels = w.shape[1] * groups if transposed else w.shape[0]
    if _direct(x.ndim - 2, stride) and not _depthwise(x.shape[1], out_channels, groups):
        # the bias goes in as each sum's start
        out = conv_native.transposed(x, w, padding, dilation, groups, output_padding, b) \
            if transposed else conv_native.forward(x, w, padding, dilation, groups, b)
        if out is not None:
            return out
    if transposed:
        out = _transposed(xp, x, w, stride, padding, dilation, groups, output_padding)
    else:
        out = _forward(xp, x, w, stride, padding, dilation, groups)
    if b is not None:
        out += b.reshape((1, -1) + (1,) * (out.ndim - 2))
    return out


# im2col columns per GEMM, in bytes: the batch is split so that each chunk's columns stay
# in the L2 cache between the im2col pass that writes them and the GEMM that reads them
# (LeNet's convolutions are skinny, memory-bound GEMMs: 1.2-2.4x faster than one GEMM
# over the whole batch on OpenBLAS). MKL is slower on small chunks of such skinny GEMMs
# and best on the whole batch (LeNet's three convolution kernels: 4.1 ms with OpenBLAS in
# 512 KB chunks, 5.1 with MKL in 512 KB chunks, 4.05 with MKL unchunked). CuPy runs the
# whole batch at once.
CHUNK_BYTES = 1 << 19
CHUNK_BYTES_MKL = 1 << 24


def batch_chunks(xp, n, sample_bytes):
    """[(start, stop)] slices of a batch of n samples, each within the chunk size."""
    if xp.__name__ != "numpy":
        return [(0, n)] if n else []
    limit = CHUNK_BYTES_MKL if blas.backend() == "mkl" else CHUNK_BYTES
    step = max(1, limit // max(1, sample_bytes))
    return [(s, min(n, s + step)) for s in range(0, n, step)]


def reuse(xp, scratch, shape, dtype):
    """A C-contiguous `shape` array: a view of the previous chunk's `scratch` when that is
    large enough (a fresh half-megabyte array per chunk costs its page faults again)."""
    size = prod(shape)
    if scratch is not None and scratch.size >= size and scratch.dtype == dtype:
        return scratch.reshape(-1)[:size].reshape(shape)
    return xp.empty(shape, dtype=dtype)


def _columns(xp, x, kernel, out_sizes, stride, padding, dilation, groups, scratch=None):
    """im2col: (G, C/G * prod(K), N * prod(L)) for input x (N, C, *S); one copy.

    Batch and output pixels are the GEMM's long dimension, so each group is a single
    matrix product over a chunk of the batch (see CHUNK_BYTES). The loop may write into
    `scratch`, the previous chunk's columns.
    """
    nsp = len(kernel)
    n, c = x.shape[:2]
    loop = IM2COL2D.get() if nsp == 2 and numpy_float(xp, x) else None
    if loop is not None:  # one pass, no padded copy of x (about 1.4x faster on LeNet)
        cols = reuse(xp, scratch, (groups, (c // groups) * prod(kernel), n * prod(out_sizes)),
                     x.dtype)
        if any(lo or hi for lo, hi in padding):
            cols.fill(0)  # the loop skips the entries in the padding
        loop(xp.ascontiguousarray(x), *kernel, *stride, padding[0][0], padding[1][0],
             *dilation, *out_sizes, cols)
        return cols
    win = window_view(xp, pad_spatial(xp, x, padding), out_sizes, kernel, stride, dilation)
    win = win.reshape((n, groups, c // groups) + tuple(out_sizes) + tuple(kernel))
    # (G, C/G, *K, N, *L)
    perm = (1, 2) + tuple(range(3 + nsp, 3 + 2 * nsp)) + (0,) + tuple(range(3, 3 + nsp))
    return xp.transpose(win, perm).reshape(groups, (c // groups) * prod(kernel),
                                           n * prod(out_sizes))


def _to_group_major(xp, y, groups):
    """(N, C, *S) -> (G, C/G, N * prod(S)) (one copy)."""
    n, c = y.shape[:2]
    sizes = prod(y.shape[2:])
    y = xp.transpose(y.reshape(n, groups, c // groups, sizes), (1, 2, 0, 3))
    return y.reshape(groups, c // groups, n * sizes)


def _depthwise(in_channels, out_channels, groups):
    """One input and one output channel per group: every kernel tap is a per-channel
    multiply-add, cheaper than an im2col matrix prod(K) times the input's size."""
    return groups > 1 and in_channels == out_channels == groups


def _offset_slices(kernel, step, spacing, sizes):
    """(kernel offset, index) pairs: the positions k*spacing + i*step, i < sizes, per dim."""
    lead = (slice(None), slice(None))
    for offs in _ndindex(tuple(kernel)):
        yield offs, lead + tuple(slice(k * d, k * d + (n - 1) * s + 1, s)
                                 for k, d, n, s in zip(offs, spacing, sizes, step))


def _tap(w, offs):
    """Weight (C, 1, *K) at one kernel offset, shaped to broadcast over (N, C, *L)."""
    return w[(slice(None), 0) + offs].reshape((1, -1) + (1,) * len(offs))


def _depthwise_forward(xp, x, w, out_sizes, stride, padding, dilation):
    xpd = pad_spatial(xp, x, padding)
    out = xp.zeros(x.shape[:2] + tuple(out_sizes), dtype=x.dtype)
    term = xp.empty_like(out)  # reused: no allocation per kernel tap
    for offs, source in _offset_slices(w.shape[2:], stride, dilation, out_sizes):
        xp.multiply(xpd[source], _tap(w, offs), out=term)
        out += term
    return out


def _forward(xp, x, w, stride, padding, dilation, groups):
    nsp = x.ndim - 2
    kernel = tuple(w.shape[2:])
    out_sizes = tuple(conv_out_size(x.shape[2 + i], *padding[i], kernel[i], stride[i],
                                    dilation[i]) for i in range(nsp))
    if min(out_sizes, default=1) <= 0:
        raise ValueError("kernel larger than the padded input")
    if _depthwise(x.shape[1], w.shape[0], groups):
        return _depthwise_forward(xp, x, w, out_sizes, stride, padding, dilation)
    n, c = x.shape[:2]
    o, rows = w.shape[0], w.shape[1] * prod(kernel)
    wm = w.reshape(groups, o // groups, rows)
    out = xp.empty((n, o) + out_sizes, dtype=x.dtype)
    # (N, G, O/G, L) view of out, written chunk by chunk straight from the GEMM's result
    target = out.reshape(n, groups, o // groups, prod(out_sizes))
    cols = y = None
    for start, stop in batch_chunks(xp, n, c * prod(kernel) * prod(out_sizes) * x.itemsize):
        cols = _columns(xp, x[start:stop], kernel, out_sizes, stride, padding, dilation,
                        groups, cols)
        y = blas.matmul_on(xp, wm, cols, out=reuse(
            xp, y, (groups, o // groups, cols.shape[2]), x.dtype))
        target[start:stop] = xp.transpose(
            y.reshape(groups, o // groups, stop - start, prod(out_sizes)), (2, 0, 1, 3))
    return out


def _transposed(xp, x, w, stride, padding, dilation, groups, output_padding):
    nsp = x.ndim - 2
    kernel = tuple(w.shape[2:])
    n, cin = x.shape[:2]
    in_sizes = tuple(x.shape[2:])
    cout = w.shape[1] * groups
    out_sizes = tuple(transposed_out_size(in_sizes[i], *padding[i], kernel[i], stride[i],
                                          dilation[i], output_padding[i]) for i in range(nsp))
    if min(out_sizes, default=1) < 0:
        raise ValueError("transposed convolution output size is negative")
    full = tuple((in_sizes[i] - 1) * stride[i] + dilation[i] * (kernel[i] - 1) + 1
                 for i in range(nsp))
    if _depthwise(cin, cout, groups):
        # each channel scatters only into itself: skip the (K times larger) column matrix
        buf = xp.zeros((n, cout) + _buf_sizes(full, padding, out_sizes), dtype=x.dtype)
        term = xp.empty_like(x)
        for offs, target in _offset_slices(kernel, stride, dilation, in_sizes):
            buf[target] += xp.multiply(x, _tap(w, offs), out=term)
        return _crop(xp, buf, padding, out_sizes)
    wm = xp.swapaxes(w.reshape(groups, cin // groups, w.shape[1] * prod(kernel)), 1, 2)
    loop = COL2IM2D.get() if nsp == 2 and numpy_float(xp, x, w) else None
    if loop is not None:  # scatter straight into the output (~3.5x faster on LeNet)
        buf = xp.zeros((n, cout) + out_sizes, dtype=x.dtype)
    else:
        buf = xp.zeros((n, cout) + _buf_sizes(full, padding, out_sizes), dtype=x.dtype)
    rows = cout * prod(kernel)
    cols = None
    for start, stop in batch_chunks(xp, n, rows * prod(in_sizes) * x.itemsize):
        chunk = _to_group_major(xp, x[start:stop], groups)
        cols = blas.matmul_on(xp, wm, chunk, out=reuse(
            xp, cols, (groups, wm.shape[1], chunk.shape[2]), x.dtype))
        if loop is not None:
            loop(cols.reshape(rows, (stop - start) * prod(in_sizes)), *kernel, *stride,
                 padding[0][0], padding[1][0], *dilation, *in_sizes, buf[start:stop])
            continue
        # (G, Cout/G * K, n * L) viewed as (n, Cout, *K, *L) for the scatter-add
        moved = xp.moveaxis(cols.reshape((cout,) + kernel + (stop - start,) + in_sizes),
                            1 + nsp, 0)
        col2im_add(xp, buf[start:stop], moved, kernel, stride, dilation, in_sizes)
    return buf if loop is not None else _crop(xp, buf, padding, out_sizes)


def _direct(nsp, stride) -> bool:
    """2-d with stride 1: `conv_native`'s direct loops (which decline other arrays)."""
    return nsp == 2 and stride[0] == 1 and stride[1] == 1


def _buf_sizes(full, padding, out_sizes):
    """Spatial sizes of a transposed convolution's scatter buffer: the full output, and
    at least the low padding plus the (output-padded) output."""
    return tuple(max(f, p[0] + o) for f, p, o in zip(full, padding, out_sizes))


def _crop(xp, buf, padding, out_sizes):
    crop = (slice(None), slice(None)) + tuple(slice(p[0], p[0] + o)
                                              for p, o in zip(padding, out_sizes))
    return xp.ascontiguousarray(buf[crop])


def _weight_kernel(xp, x, gout, kernel, stride, padding, dilation, groups):
    """d(loss)/d(weight) of convolution(x, weight): per group, gout @ columns(x)^T."""
    if x.dtype != gout.dtype:
        raise ValueError("convolution_backward_weight operands must share one dtype")
    kernel = tuple(kernel)
    c, o = x.shape[1], gout.shape[1]
    if _depthwise(c, o, groups):
        xpd = pad_spatial(xp, x, padding)
        spatial = "".join(chr(ord("h") + i) for i in range(x.ndim - 2))
        taps = [xp.einsum(f"nc{spatial},nc{spatial}->c", gout, xpd[target])
                for _, target in _offset_slices(kernel, stride, dilation, gout.shape[2:])]
        return xp.stack(taps, axis=1).reshape((o, 1) + kernel).astype(x.dtype, copy=False)
    if _direct(x.ndim - 2, stride):
        gw = conv_native.weight_grad(x, gout, kernel, padding, dilation, groups)
        if gw is not None:
            return gw
    out_sizes = tuple(gout.shape[2:])
    gw = xp.zeros((groups, o // groups, (c // groups) * prod(kernel)), dtype=x.dtype)
    cols = None
    for start, stop in batch_chunks(xp, x.shape[0],
                                    c * prod(kernel) * prod(out_sizes) * x.itemsize):
        cols = _columns(xp, x[start:stop], kernel, out_sizes, stride, padding, dilation,
                        groups, cols)
        gw += blas.matmul_on(xp, _to_group_major(xp, gout[start:stop], groups),
                             xp.swapaxes(cols, 1, 2))
    return gw.reshape((o, c // groups) + kernel)


# --- shape rules and PyTorch's errors ------------------------------------------------------

def _check_kernel_size(kernel) -> None:
    """PyTorch refuses an empty kernel (e.g. `Conv2d(3, 4, 0)`) when the layer runs."""
    if not any(type(k) is int and k <= 0 for k in kernel):  # symbolic sizes are >= 2
        return
    if len(kernel) == 3:
        raise RuntimeError(f"kernel size should be greater than zero, but got: "
                           f"{kernel[0]} x {kernel[1]} x {kernel[2]} (TxHxW)")
    height, width = (1, kernel[0]) if len(kernel) == 1 else kernel
    raise RuntimeError(f"kernel size should be greater than zero, but got kernel_height: "
                       f"{height} kernel_width: {width}")


def _sizes(shape):
    return "[" + ", ".join(str(s) for s in shape) + "]"


def check_conv(x, w, b, stride, padding, dilation, groups, transposed=False,
               output_padding=None):
    """PyTorch's checks for convolution arguments; returns the output shape."""
    nsp = len(w.shape) - 2
    if len(x.shape) != len(w.shape):
        raise RuntimeError(f"Expected {len(w.shape)}-dimensional input for {len(w.shape)}-"
                           f"dimensional weight {_sizes(w.shape)}, but got {len(x.shape)}-"
                           f"dimensional input of size {_sizes(x.shape)} instead")
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(lo < 0 or hi < 0 for lo, hi in padding):
        raise RuntimeError("negative padding is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError("non-positive dilation is not supported")
    _check_kernel_size(w.shape[2:])
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    if w.shape[0] < groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be at least {groups} at "
                           f"dimension 0, but got weight of size {_sizes(w.shape)} instead")
    if w.shape[0] % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} "
                           f"at dimension 0, but got weight of size [{_sizes(w.shape)}] instead")
    channels = w.shape[0] if transposed else w.shape[1] * groups
    if x.shape[1] != channels:
        head = "Given transposed=1, weight" if transposed else f"Given groups={groups}, weight"
        raise RuntimeError(f"{head} of size {_sizes(w.shape)}, expected input{_sizes(x.shape)} "
                           f"to have {channels} channels, but got {x.shape[1]} channels instead")
    out_channels = w.shape[1] * groups if transposed else w.shape[0]
    if b is not None and (len(b.shape) != 1 or b.shape[0] != out_channels):
        head = "Given transposed=1, weight" if transposed else "Given weight"
        raise RuntimeError(f"{head} of size {_sizes(w.shape)}, expected bias to be "
                           f"1-dimensional with {out_channels} elements, but got bias of size "
                           f"{_sizes(b.shape)} instead")
    in_sizes = x.shape[2:]
    if transposed:
        out = tuple(transposed_out_size(in_sizes[i], *padding[i], w.shape[2 + i], stride[i],
                                        dilation[i], output_padding[i]) for i in range(nsp))
        if any(o <= 0 for o in out):
            shown_in, shown_out = tuple(in_sizes), out
            if nsp == 1:  # PyTorch runs 1-d transposed convolutions as 2-d ones
                shown_in, shown_out = (1,) + shown_in, (1,) + shown_out
            raise RuntimeError(f"Given input size per channel: ({' x '.join(map(str, shown_in))}"
                               f"). Calculated output size per channel: "
                               f"({' x '.join(map(str, shown_out))}). Output size is too small")
    else:
        padded = tuple(in_sizes[i] + padding[i][0] + padding[i][1] for i in range(nsp))
        eff = tuple((w.shape[2 + i] - 1) * dilation[i] + 1 for i in range(nsp))
        if any(p < e for p, e in zip(padded, eff)):
            raise RuntimeError(f"Calculated padded input size per channel: "
                               f"({' x '.join(map(str, padded))}). Kernel size: "
                               f"({' x '.join(map(str, eff))}). Kernel size can't be greater "
                               "than actual input size")
        out = tuple(conv_out_size(in_sizes[i], *padding[i], w.shape[2 + i], stride[i],
                                  dilation[i]) for i in range(nsp))
    return (x.shape[0], out_channels) + out


def check_dtypes(x, w, b):
    if x.dtype is not w.dtype:
        if x.dtype.itemsize > w.dtype.itemsize:
            raise RuntimeError(f"expected scalar type {scalar_type_name(x.dtype)} but found "
                               f"{scalar_type_name(w.dtype)}")
        raise RuntimeError(f"Input type ({_legacy(x.dtype)}) and weight type "
                           f"({_legacy(w.dtype)}) should be the same or input should be a "
                           "MKLDNN tensor and weight is a dense tensor")
    if b is not None and b.dtype is not x.dtype:
        raise RuntimeError(f"Input type ({_c_name(x.dtype)}) and bias type "
                           f"({_c_name(b.dtype)}) should be the same")
    if x.dtype.name == "bool" or x.dtype.is_complex:
        raise NotImplementedError(f"\"slow_conv2d_cpu\" not implemented for "
                                  f"'{scalar_type_name(x.dtype)}'")


def _legacy(dtype):
    return f"torch.{scalar_type_name(dtype)}Tensor"


def _c_name(dtype):
    return {"float32": "float", "float64": "double", "float16": "c10::Half",
            "int64": "long int", "int32": "int"}.get(dtype.name, dtype.name)


def _conv_infer(x, w, b, stride, padding, dilation, groups, transposed=False,
                output_padding=None):
    check_dtypes(x, w, b)
    shape = check_conv(x, w, b, stride, padding, dilation, groups, transposed, output_padding)
    return TensorMeta(shape, x.dtype)


def _weight_infer(x, gout, kernel, stride, padding, dilation, groups):
    return TensorMeta((gout.shape[1], x.shape[1] // groups) + tuple(kernel), x.dtype)


# --- argument parsing for the public functions ------------------------------------------

def int_tuple(value):
    return tuple(int(v) for v in value) if isinstance(value, (tuple, list)) else (int(value),)


def conv_param(name, value, nsp):
    if isinstance(value, bool) or not isinstance(value, (int, tuple, list)):
        raise TypeError(f"conv{nsp}d(): argument '{name}' must be tuple of ints, not "
                        f"{type(value).__name__}")
    vals = int_tuple(value)
    return vals * nsp if len(vals) == 1 else vals


def check_conv_rank(x, nsp, fname):
    if x.ndim not in (nsp + 1, nsp + 2):
        raise RuntimeError(f"Expected {nsp + 1}D (unbatched) or {nsp + 2}D (batched) input to "
                           f"{fname}, but got input of size: {list(x.shape)}")


def check_param_lengths(w, nsp, **params):
    for name, vals in params.items():
        if len(vals) != w.ndim - 2:
            raise RuntimeError(f"expected {name} to be a single integer value or a list of "
                               f"{w.ndim - 2} values to match the convolution dimensions, but "
                               f"got {name}={list(vals)}")


_OP_AXES = {1: ("height", "width"), 2: ("height", "width"), 3: ("depth", "height", "width")}


def check_output_padding(nsp, output_padding, stride, dilation):
    if all(o < s or o < d for o, s, d in zip(output_padding, stride, dilation)):
        return
    # conv_transpose1d runs as a 2-D convolution in PyTorch, hence its "height" of 0/1/1
    pad = (0, 1, 1) if nsp == 1 else None
    parts = []
    for label, vals, fill in (("output_padding", output_padding, 0), ("stride", stride, 1),
                              ("dilation", dilation, 1)):
        vals = ((fill,) + tuple(vals)) if pad else tuple(vals)
        parts += [f"{label}_{axis}: {v}" for axis, v in zip(_OP_AXES[nsp], vals)]
    raise RuntimeError("output padding must be smaller than either stride or dilation, but "
                       "got " + " ".join(parts))


# --- vjps ---------------------------------------------------------------------------------

def _fit(t, sizes):
    """Crop the trailing spatial dims of `t` to `sizes` (only ever needed to drop extras)."""
    for i, size in enumerate(sizes):
        dim = 2 + i
        if t.shape[dim] > size:
            t = t.narrow(dim, 0, size)
    return t


def _input_grad_padding(in_sizes, out_sizes, kernel, stride, padding, dilation):
    """output_padding that makes a transposed convolution return exactly `in_sizes`."""
    return tuple(in_sizes[i] + padding[i][0] + padding[i][1] - dilation[i] * (kernel[i] - 1) - 1
                 - (out_sizes[i] - 1) * stride[i] for i in range(len(kernel)))


def _conv_vjp(ctx, grad):
    x, w = ctx.inputs[0], ctx.inputs[1]
    xm, wm, bm = ctx.input_metas
    a = ctx.attrs
    stride, padding, dilation, groups = a["stride"], a["padding"], a["dilation"], a["groups"]
    kernel = tuple(wm.shape[2:])
    in_sizes, out_sizes = tuple(xm.shape[2:]), tuple(grad.shape[2:])
    common = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    # eager backward skips the unwanted terms (a first layer's input, a frozen weight)
    gx = gw = gb = None
    if a.get("transposed"):
        if ctx.needs_input_grad[0]:
            gx = _fit(call(CONVOLUTION, grad, w, None, **common), in_sizes)
        if ctx.needs_input_grad[1]:
            gw = call(CONV_WEIGHT, grad, x, kernel=kernel, **common)
    else:
        if ctx.needs_input_grad[0]:
            out_pad = _input_grad_padding(in_sizes, out_sizes, kernel, stride, padding,
                                          dilation)
            gx = call(CONVOLUTION, grad, w, None, transposed=True, output_padding=out_pad,
                      **common)
        if ctx.needs_input_grad[1]:
            gw = call(CONV_WEIGHT, x, grad, kernel=kernel, **common)
    if bm is not None:
        gb = grad.sum(dim=(0,) + tuple(range(2, grad.ndim)))
    return gx, gw, gb


def _weight_vjp(ctx, grad_w):
    """convolution_backward_weight(x, gout) is bilinear; its adjoints are convolutions."""
    x, gout = ctx.inputs
    xm, gm = ctx.input_metas
    a = ctx.attrs
    stride, padding, dilation, groups = a["stride"], a["padding"], a["dilation"], a["groups"]
    kernel = tuple(a["kernel"])
    in_sizes, out_sizes = tuple(xm.shape[2:]), tuple(gm.shape[2:])
    out_pad = _input_grad_padding(in_sizes, out_sizes, kernel, stride, padding, dilation)
    gx = call(CONVOLUTION, gout, grad_w, None, stride=stride, padding=padding,
              dilation=dilation, groups=groups, transposed=True, output_padding=out_pad)
    ggout = _fit(call(CONVOLUTION, x, grad_w, None, stride=stride, padding=padding,
                      dilation=dilation, groups=groups), out_sizes)
    return gx, ggout


CONVOLUTION = register(OpDef(
    "convolution", Category.OPAQUE, channels_last_results(0, 1)(_conv_kernel), _conv_infer,
    _conv_vjp, save_inputs=(0, 1), backward_name="ConvolutionBackward0",
    doc="N-d (transposed) convolution with stride, (low, high) padding pairs, dilation, "
        "groups; input (N, C, *S), weight (O, C/G, *K) or, transposed, (C, O/G, *K)"))

CONV_WEIGHT = register(OpDef(
    "convolution_backward_weight", Category.OPAQUE, _weight_kernel, _weight_infer, _weight_vjp,
    save_inputs=(0, 1), result_layout=ResultLayout.CONTIGUOUS,
    doc="gradient of convolution with respect to its weight, given input and output grad"))
