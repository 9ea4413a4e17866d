"""Numba kernels for one LSTM cell step (forward and backward), used by `ops.rnn`.

Each replaces several NumPy ufunc calls per time step (each a pass over a (B, H) block plus
call overhead) by one loop. They compile in the background (`numba_jit`), per dtype; until
then, without Numba, or with GRAPHTORCH_JIT=0, `forward_cell`/`backward_cell` return None
and `ops.rnn` runs its NumPy code. Arrays are 2-D and C-contiguous; gate order is
PyTorch's (i, f, g, o) along the columns of the gate blocks.
"""

from __future__ import annotations

import numpy as np

from .. import numba_jit


def _forward(a, c_prev, c_out):
    """a: gates (B, 4H) after tanh of their pre-activations, the i, f, o columns halved
    first, so that sigmoid(x) = (tanh(x / 2) + 1) / 2 (NumPy's vectorised tanh beats a
    scalar exp here); makes them the activated gates and writes c_t."""
    batch, hidden = c_out.shape
    half = a.dtype.type(0.5)  # a typed constant: float32 math stays float32
    for b in range(batch):
        ab, cp, co = a[b], c_prev[b], c_out[b]  # row views: the inner loop vectorises
        for j in range(hidden):
            i = ab[j] * half + half
            f = ab[hidden + j] * half + half
            ab[j] = i
            ab[hidden + j] = f
            ab[3 * hidden + j] = ab[3 * hidden + j] * half + half
            co[j] = f * cp[j] + i * ab[2 * hidden + j]


def _backward(a, c_prev, tanh_c, g_h, dh, dc, d):
    """One step back: a the activated gates, g_h the gradient of output h_t, dh/dc the
    gradients reaching h_t/c_t from the next step (dc is replaced by the gradient reaching
    c_{t-1}); d <- gate gradients. Written without literals, so float32 stays float32."""
    batch, hidden = dc.shape
    for b in range(batch):
        ab, cp, tcb, ghb, dhb, dcb, db = a[b], c_prev[b], tanh_c[b], g_h[b], dh[b], dc[b], d[b]
        for j in range(hidden):
            i = ab[j]
            f = ab[hidden + j]
            g = ab[2 * hidden + j]
            o = ab[3 * hidden + j]
            tc = tcb[j]
            d_h = dhb[j] + ghb[j]
            d_ho = d_h * o
            d_c = dcb[j] + (d_ho - d_ho * tc * tc)
            d_ci = d_c * i
            db[j] = d_c * g * (i - i * i)
            db[hidden + j] = d_c * cp[j] * (f - f * f)
            db[2 * hidden + j] = d_ci - d_ci * g * g
            db[3 * hidden + j] = d_h * tc * (o - o * o)
            dcb[j] = d_c * f


def _kernels(dtype: str) -> tuple:
    """The (forward, backward) handles for one dtype: only the dtype a program uses is
    compiled (or loaded from Numba's cache) in the background."""
    array = f"{dtype}[:, ::1]"
    # no fastmath: the loops vectorise without it, and NaN/inf propagate as in NumPy
    return tuple(numba_jit.lazy_kernel(fn, signature=f"void({', '.join([array] * count)})")
                 for fn, count in ((_forward, 3), (_backward, 7)))


_KERNELS = {np.dtype(np.float32): _kernels("float32"), np.dtype(np.float64): _kernels("float64")}


def c_array(a):
    """`a` as the kernels take it: C-contiguous and writable (Numba types read-only arrays
    apart), copied only when it is not already."""
    return np.require(a, requirements=("C", "W"))


def forward_cell(xp, dtype):
    """The compiled forward cell for NumPy arrays of `dtype`, or None (use NumPy)."""
    handles = _KERNELS.get(dtype) if xp is np else None
    return handles[0].get() if handles is not None else None


def backward_cell(xp, dtype):
    """The compiled backward cell for NumPy arrays of `dtype`, or None (use NumPy)."""
    handles = _KERNELS.get(dtype) if xp is np else None
    return handles[1].get() if handles is not None else None
