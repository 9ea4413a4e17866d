"""An eager optimizer step's update of one parameter as one g++-built pass.

Eagerly, SGD with momentum runs three in-place ops per parameter (``buf.mul_(m)``,
``.add_(grad)``, ``param.add_(buf, alpha=-lr)``): five passes over parameter-sized arrays
on one thread, 1.4 ms of an MLP step's 4.5; Adam runs seven ops and their temporaries.
Here the same arithmetic, in the same order and roundings (each product, quotient, sum and
square root rounded to the parameter's dtype, no FMA contraction: `native_build.FLAGS`),
runs in one pass split over threads: bit for bit what the ops give. Used only outside
traces, with grad mode off, for CPU float arrays of one dtype and plain Python numbers as
hyperparameters; otherwise, or before g++ has built it (`GRAPHTORCH_JIT`), `sgd_momentum`
and `adam` return False and the optimizer runs its ops.
"""

from __future__ import annotations

import ctypes

import numpy as np

from ..autograd import grad_mode
from ..native_build import OPENMP_MIN_ELEMENTS, FloatKernels, openmp_usable
from ..ops.dispatch import bump_version
from ..threads import get_num_threads
from ..trace_state import STATE as _TRACE_STATE

__all__ = ["adam", "sgd_momentum"]

SOURCE = r"""
#include <cmath>

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

// Adam's eager step (no AMSGrad, no weight decay folded here), op for op as adam() runs it:
// m.lerp_(g, w1); v.mul_(b2).addcmul_(g, g, value=c2); d = sqrt(v) / r + eps;
// p.addcdiv_(m, d, value=-step_size). far: lerp's |w1| >= 0.5 form; scaled: c2 != 1.
template <typename T>
static void adam(T* p, T* m, T* v, const T* g, long long n, T w1, int far, T b2, T c2,
                 int scaled, T r, T eps, T step, int threads) {
    #pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
    for (long long i = 0; i < n; ++i) {
        const T gi = g[i];
        const T diff = gi - m[i];
        const T mi = far ? gi - diff * w1 : m[i] + diff * w1;
        m[i] = mi;
        T vi = v[i] * b2;
        const T term = scaled ? (gi * c2) * gi : gi * gi;
        vi = vi + term;
        v[i] = vi;
        T d = std::sqrt(vi) / r;
        d = d + eps;
        p[i] = p[i] + (mi * step) / d;
    }
}

extern "C" void gt_adam_f32(float* p, float* m, float* v, const float* g, long long n,
                            float w1, int far, float b2, float c2, int scaled, float r,
                            float eps, float step, int threads) {
    adam<float>(p, m, v, g, n, w1, far, b2, c2, scaled, r, eps, step, threads);
}
extern "C" void gt_adam_f64(double* p, double* m, double* v, const double* g, long long n,
                            double w1, int far, double b2, double c2, int scaled, double r,
                            double eps, double step, int threads) {
    adam<double>(p, m, v, g, n, w1, far, b2, c2, scaled, r, eps, step, threads);
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
KERNELS = FloatKernels(SOURCE, {"gt_sgd_momentum": [_P, _P, _P, _LL, _S, _S, _INT, _S, _INT],
                                "gt_adam": [_P] * 4 + [_LL, _S, _INT, _S, _S, _INT, _S, _S,
                                                       _S, _INT]})
_NUMBERS = (int, float)


def _arrays(tensors, written: int):
    """The NumPy arrays of `tensors` (the first `written` updated in place, the last one the
    gradient) when all are CPU arrays of one float dtype and shape, the written ones
    C-contiguous, writable and not overlapping any other; else None. A strided gradient (a
    Linear weight's can come out transposed) is copied: one pass, not five."""
    arrays = [t._data for t in tensors]
    first = arrays[0]
    if type(first) is not np.ndarray or first.dtype not in (np.float32, np.float64):
        return None
    for a in arrays:
        if type(a) is not np.ndarray or a.dtype != first.dtype or a.shape != first.shape:
            return None
    for k, a in enumerate(arrays[:written]):
        if not (a.flags.c_contiguous and a.flags.writeable) or any(
                np.may_share_memory(a, b) for b in arrays[k + 1:]):
            return None
    arrays[-1] = np.ascontiguousarray(arrays[-1])
    return arrays


def _usable(*scalars) -> bool:
    """Eagerly (no trace), grad mode off, plain Python numbers as hyperparameters."""
    return not grad_mode.is_grad_enabled() and \
        _TRACE_STATE.__dict__.get("tracer") is None and \
        all(type(v) in _NUMBERS for v in scalars)


def _threads(size: int) -> int:
    return get_num_threads() if size >= OPENMP_MIN_ELEMENTS and openmp_usable() else 1


def sgd_momentum(param, buf, grad, momentum, dampening, lr) -> bool:
    """``buf.mul_(momentum).add_(grad, alpha=1 - dampening); param.add_(buf, alpha=-lr)``
    in one pass; False (nothing done) when this path does not apply."""
    if not _usable(momentum, dampening, lr):
        return False
    arrays = _arrays((param, buf, grad), 2)
    kernels = None if arrays is None else KERNELS.get(arrays[0].dtype)
    if kernels is None:
        return False
    p, b, g = arrays
    alpha = 1 - dampening
    kernels[0](p.ctypes.data, b.ctypes.data, g.ctypes.data, p.size, momentum, alpha,
               int(alpha != 1), -lr, _threads(p.size))
    bump_version(param)
    bump_version(buf)
    return True


def adam(param, exp_avg, exp_avg_sq, grad, beta1, beta2, eps, bias_correction2_sqrt,
         step_size) -> bool:
    """Adam's update of one parameter as `optim.adam.adam` runs it eagerly (lerp_, mul_,
    addcmul_, sqrt, div, add_, addcdiv_) in one pass; False when this path does not apply."""
    if not _usable(beta1, beta2, eps, bias_correction2_sqrt, step_size):
        return False
    arrays = _arrays((param, exp_avg, exp_avg_sq, grad), 3)
    kernels = None if arrays is None else KERNELS.get(arrays[0].dtype)
    if kernels is None:
        return False
    p, m, v, g = arrays
    w1 = 1 - beta1
    far = abs(w1) >= 0.5
    c2 = 1 - beta2
    kernels[1](p.ctypes.data, m.ctypes.data, v.ctypes.data, g.ctypes.data, p.size,
               1 - w1 if far else w1, int(far), beta2, c2, int(c2 != 1), bias_correction2_sqrt,
               eps, -step_size, _threads(p.size))
    for t in (param, exp_avg, exp_avg_sq):
        bump_version(t)
    return True
