"""An eager optimizer step's update of one parameter as one g++-built pass.

Eagerly, SGD with momentum runs three in-place ops per parameter (``buf.mul_(m)``,
``.add_(grad)``, ``param.add_(buf, alpha=-lr)``): five passes over parameter-sized arrays
on one thread, 1.4 ms of an MLP step's 4.5. Here the same arithmetic, in the same order
and roundings (each product and sum rounded to the parameter's dtype, no FMA contraction:
`native_build.FLAGS`), runs in one pass split over threads. Used only outside traces, with
grad mode off, for C-contiguous CPU float arrays of one dtype; otherwise, or before g++
has built it (`GRAPHTORCH_JIT`), `sgd_momentum` returns False and the ops run.
"""

from __future__ import annotations

import ctypes

import numpy as np

from ..autograd import grad_mode
from ..native_build import FloatKernels, openmp_usable
from ..ops.dispatch import bump_version
from ..threads import get_num_threads
from ..trace_state import STATE as _TRACE_STATE

__all__ = ["sgd_momentum"]

SOURCE = r"""
// buf = buf * m + g (or + g * a when dampened); p = p + buf * s (s = -lr)
template <typename T>
static void sgd_momentum(T* p, T* buf, const T* g, long long n, T m, T a, int dampened, T s,
                         int threads) {
    #pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
    for (long long i = 0; i < n; ++i) {
        T b = buf[i] * m;
        b = dampened ? b + g[i] * a : b + g[i];
        buf[i] = b;
        p[i] = p[i] + b * s;
    }
}

extern "C" void gt_sgd_momentum_f32(float* p, float* buf, const float* g, long long n,
                                    float m, float a, int dampened, float s, int threads) {
    sgd_momentum<float>(p, buf, g, n, m, a, dampened, s, threads);
}
extern "C" void gt_sgd_momentum_f64(double* p, double* buf, const double* g, long long n,
                                    double m, double a, int dampened, double s, int threads) {
    sgd_momentum<double>(p, buf, g, n, m, a, dampened, s, threads);
}
"""

_P, _LL, _INT, _S = ctypes.c_void_p, ctypes.c_longlong, ctypes.c_int, FloatKernels.SCALAR
KERNELS = FloatKernels(SOURCE, {"gt_sgd_momentum": [_P, _P, _P, _LL, _S, _S, _INT, _S, _INT]})
THREAD_MIN = 1 << 17  # elements; as the native tier's OpenMP threshold
_NUMBERS = (int, float)


def _arrays(*tensors):
    """The NumPy arrays of (param, buf, grad) when all are CPU arrays of one float dtype and
    shape, the first two C-contiguous and writable, none overlapping; else None. A strided
    gradient (a Linear weight's comes out transposed) is copied: one pass, not five."""
    arrays = [t._data for t in tensors]
    first = arrays[0]
    if type(first) is not np.ndarray or first.dtype not in (np.float32, np.float64):
        return None
    for a in arrays:
        if type(a) is not np.ndarray or a.dtype != first.dtype or a.shape != first.shape:
            return None
    if not (arrays[0].flags.c_contiguous and arrays[1].flags.c_contiguous):
        return None
    if not (arrays[0].flags.writeable and arrays[1].flags.writeable) or \
            np.may_share_memory(arrays[0], arrays[1]) or \
            np.may_share_memory(arrays[0], arrays[2]) or np.may_share_memory(arrays[1], arrays[2]):
        return None
    return arrays


def sgd_momentum(param, buf, grad, momentum, dampening, lr) -> bool:
    """``buf.mul_(momentum).add_(grad, alpha=1 - dampening); param.add_(buf, alpha=-lr)``
    in one pass; False (nothing done) when this path does not apply."""
    if grad_mode.is_grad_enabled() or _TRACE_STATE.__dict__.get("tracer") is not None or \
            not all(type(v) in _NUMBERS for v in (momentum, dampening, lr)):
        return False
    arrays = _arrays(param, buf, grad)
    if arrays is None:
        return False
    kernels = KERNELS.get(arrays[0].dtype)
    if kernels is None:
        return False
    p, b, g = arrays
    g = np.ascontiguousarray(g)
    alpha = 1 - dampening
    threads = get_num_threads() if p.size >= THREAD_MIN and openmp_usable() else 1
    kernels[0](p.ctypes.data, b.ctypes.data, g.ctypes.data, p.size, momentum, alpha,
               int(alpha != 1), -lr, threads)
    bump_version(param)
    bump_version(buf)
    return True
