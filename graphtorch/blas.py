"""Matrix products through Intel MKL when it is installed (``pip install graphtorch[mkl]``),
else through NumPy's BLAS (OpenBLAS in the NumPy wheels).

PyTorch's CPU builds multiply with MKL; on the shapes of a small MLP, LeNet or LSTM step
NumPy's OpenBLAS is 20-45% slower on the same machine (benchmarks/RESULTS.md). `matmul`
and `addmm` here call MKL's ``cblas_?gemm`` through ctypes (the GIL released) when the
operands are float32/float64 matrices in a BLAS layout (row- or column-major, any leading
dimension) and the product is big enough to pay for the call; everything else, and every
call while MKL is not loaded, goes to `np.matmul` with the same result up to rounding.

Loading MKL costs ~30 ms at its first product, so by default it loads on the background
worker once the process has asked for products for `WARMUP_SECONDS` (a short script never
pays). ``GRAPHTORCH_BLAS``: ``auto`` (default: MKL when installed, following
``GRAPHTORCH_JIT``: loaded in the background, at the first product under ``sync``, never
under ``0``), ``mkl`` (load at the first product whatever GRAPHTORCH_JIT says) or ``numpy``
(never). `backend()` says which one runs now.

Also here: `sum_by_gemv` (large column sums as products with a ones vector, through
whichever BLAS runs: NumPy reduces a leading axis row by row) and `gemm_pointer` (a CBLAS
gemm's address for machine code that multiplies in its own loop, `ops/rnn_native.py`).
"""

from __future__ import annotations

import ctypes
import glob
import os
import sys
import threading
import time
import warnings

import numpy as np

from .jit_background import setting as jit_setting
from .jit_background import submit
from .threads import get_num_threads

__all__ = ["addmm", "addmm_on", "backend", "gemm_pointer", "load", "matmul", "matmul_on",
           "sum_by_gemv", "why_not"]

WARMUP_SECONDS = 0.5
# Products below this many multiply-adds go to np.matmul: the ctypes call (~2 us) costs
# more than MKL saves on them. Keep it low: larger products in NumPy run on threaded
# OpenBLAS, whose threads fight MKL's still-spinning ones (at 700K: W3 2.4 -> 8.4 ms).
MIN_MACS = 32 * 32 * 32

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112
_STATE = {"gemm": None, "tried": False, "future": None, "first_ask": None, "error": None,
          "lib": None}
_LOCK = threading.Lock()


def _one_thread_in_child() -> None:
    """MKL's OpenMP team does not survive fork: a child (a DataLoader worker) whose
    graphtorch kernels ran on threads hangs in its next threaded GEMM. Children multiply on
    one thread, as PyTorch's DataLoader workers do (torch.set_num_threads(1))."""
    lib = _STATE["lib"]
    if lib is not None:
        lib.MKL_Set_Num_Threads(ctypes.c_int(1))


os.register_at_fork(after_in_child=_one_thread_in_child)
_WARNED: set[str] = set()


_SETTING_CACHE: dict = {}


def _setting() -> str:
    """'numpy', 'mkl' or 'auto' from GRAPHTORCH_BLAS and GRAPHTORCH_JIT (cached per value:
    this runs before every product, where parsing both took 1.5 us)."""
    key = (os.environ.get("GRAPHTORCH_BLAS"), os.environ.get("GRAPHTORCH_JIT"))
    mode = _SETTING_CACHE.get(key)
    if mode is None:
        mode = _SETTING_CACHE[key] = _parse_setting()
    return mode


def _parse_setting() -> str:
    value = os.environ.get("GRAPHTORCH_BLAS", "auto").strip().lower()
    if value in ("numpy", "0", "off"):
        return "numpy"
    if value == "mkl":
        return "mkl"
    if value not in ("auto", "") and value not in _WARNED:
        _WARNED.add(value)
        warnings.warn(f"GRAPHTORCH_BLAS={value!r} is not one of auto, mkl, numpy: using auto",
                      RuntimeWarning, stacklevel=3)
    jit = jit_setting()
    return {"off": "numpy", "sync": "mkl"}.get(jit, "auto")


def _library_paths() -> list[str]:
    found = []
    for prefix in dict.fromkeys((sys.prefix, sys.base_prefix)):
        found += sorted(glob.glob(os.path.join(prefix, "lib", "libmkl_rt.so*")))
    return found + ["libmkl_rt.so.3", "libmkl_rt.so.2", "libmkl_rt.so"]


def _load() -> None:
    """Open libmkl_rt, size its threads, and run one tiny product (MKL loads its kernels
    for this CPU at the first call). Sets _STATE['gemm'] or leaves the reason in 'error'."""
    lib = None
    for path in _library_paths():
        try:
            lib = ctypes.CDLL(path)
            break
        except OSError:
            continue
    if lib is None:
        _STATE["error"] = "MKL is not installed (pip install graphtorch[mkl])"
        return
    try:
        lib.MKL_Set_Num_Threads(ctypes.c_int(get_num_threads()))
        _STATE["lib"] = lib
        gemms = {}
        for dtype, name, scalar in ((np.float32, "cblas_sgemm", ctypes.c_float),
                                    (np.float64, "cblas_dgemm", ctypes.c_double)):
            fn = getattr(lib, name)
            fn.restype = None
            fn.argtypes = [ctypes.c_int] * 6 + [scalar, ctypes.c_void_p, ctypes.c_int,
                                                ctypes.c_void_p, ctypes.c_int, scalar,
                                                ctypes.c_void_p, ctypes.c_int]
            gemms[np.dtype(dtype)] = fn
        probe = np.arange(4, dtype=np.float32).reshape(2, 2)
        out = np.empty((2, 2), np.float32)
        _call(gemms[probe.dtype], probe, probe, out, 1.0, 0.0)
        if not np.array_equal(out, probe @ probe):
            raise RuntimeError(f"MKL's sgemm gave {out.tolist()} for a 2x2 check")
        _STATE["gemm"] = gemms
    except Exception as exc:  # noqa: BLE001 - NumPy's BLAS keeps serving
        _STATE["error"] = f"MKL found but unusable: {exc}"


def _gemms():
    """The loaded MKL functions, or None (not loaded yet, not installed, or switched off)."""
    gemm = _STATE["gemm"]
    if gemm is not None or _STATE["tried"]:
        return gemm
    mode = _setting()
    if mode == "numpy":
        return None
    if mode == "mkl":
        load()
        return _STATE["gemm"]
    now = time.monotonic()
    with _LOCK:
        if _STATE["first_ask"] is None:
            _STATE["first_ask"] = now
        if now - _STATE["first_ask"] >= WARMUP_SECONDS and _STATE["future"] is None:
            _STATE["future"] = submit(_load_once)
    return None


def _load_once() -> None:
    with _LOCK:
        if _STATE["tried"]:
            return
    _load()
    with _LOCK:
        _STATE["tried"] = True


def load() -> bool:
    """Load MKL now (tests and benchmarks); True when products will go through it."""
    if _setting() == "numpy":
        return False
    _load_once()
    return _STATE["gemm"] is not None


def backend() -> str:
    """'mkl' when products go through MKL now, else 'numpy' (with `why_not()` saying why)."""
    return "mkl" if _STATE["gemm"] is not None else "numpy"


def why_not() -> str | None:
    """Why MKL is not serving products, or None when it is."""
    if _STATE["gemm"] is not None:
        return None
    if _setting() == "numpy":
        return "GRAPHTORCH_BLAS=numpy (or GRAPHTORCH_JIT=0)"
    return _STATE["error"] or "not loaded yet (it loads in the background after a warm-up)"


def _layout(x: np.ndarray):
    """(transpose flag, leading dimension) of a 2-D array as a row-major BLAS operand."""
    s0, s1 = x.strides
    size = x.itemsize
    rows, cols = x.shape
    if s1 == size and s0 % size == 0 and s0 >= max(1, cols) * size:
        return _NO_TRANS, s0 // size
    if s0 == size and s1 % size == 0 and s1 >= max(1, rows) * size:
        return _TRANS, s1 // size
    if rows == 1 and s1 == size:
        return _NO_TRANS, max(1, cols)
    if cols == 1 and s0 == size:
        return _TRANS, max(1, rows)
    return None


def _call(fn, a, b, out, alpha, beta) -> None:
    ta, lda = _layout(a)
    tb, ldb = _layout(b)
    m, k = a.shape
    n = b.shape[1]
    fn(_ROW_MAJOR, ta, tb, m, n, k, alpha, a.ctypes.data, lda, b.ctypes.data, ldb, beta,
       out.ctypes.data, out.strides[0] // out.itemsize)


def _usable(a, b, out) -> bool:
    if a.ndim != 2 or b.ndim != 2 or a.dtype != b.dtype or a.dtype not in (np.float32,
                                                                           np.float64):
        return False
    m, k = a.shape
    n = b.shape[1]
    if k != b.shape[0] or m * n * k < max(MIN_MACS, 1):
        return False
    if out is not None and (out.shape != (m, n) or out.dtype != a.dtype
                            or out.strides[1] != out.itemsize
                            or out.strides[0] < n * out.itemsize
                            or np.may_share_memory(out, a) or np.may_share_memory(out, b)):
        return False
    return _layout(a) is not None and _layout(b) is not None


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``np.matmul(a, b, out=out)``, through MKL for large enough float matrices.

    Stacked operands with a matrix on the right (``(..., m, k) @ (k, n)``, nn.Linear on a
    batch of sequences) become one product when the left one is contiguous; other
    batched shapes loop over at most 16 matrices, else NumPy does them."""
    if type(a) is not np.ndarray or type(b) is not np.ndarray or (
            a.ndim == 2 == b.ndim and a.size * b.shape[1] < MIN_MACS):
        return np.matmul(a, b, out=out)  # small products: no MKL call pays off
    gemms = _gemms()
    if gemms is None:
        return np.matmul(a, b, out=out)
    if a.ndim > 2 and b.ndim == 2 and a.flags.c_contiguous and a.size \
            and (out is None or out.flags.c_contiguous):
        rows = a.size // a.shape[-1]
        flat_out = None if out is None else out.reshape(rows, out.shape[-1])
        res = matmul(a.reshape(rows, a.shape[-1]), b, flat_out)
        return res.reshape(a.shape[:-1] + (b.shape[1],)) if out is None else out
    if a.ndim == 3 and b.ndim == 3 and a.shape[0] == b.shape[0] and 0 < a.shape[0] <= 16 \
            and (out is None or out.shape == (a.shape[0], a.shape[1], b.shape[2])):
        if not _usable(a[0], b[0], None if out is None else out[0]) or out is not None and (
                np.may_share_memory(out, a) or np.may_share_memory(out, b)):
            return np.matmul(a, b, out=out)
        if out is None:
            out = np.empty((a.shape[0], a.shape[1], b.shape[2]), a.dtype)
        for i in range(a.shape[0]):
            _call(gemms[a.dtype], a[i], b[i], out[i], 1.0, 0.0)
        return out
    if not _usable(a, b, out):
        return np.matmul(a, b, out=out)
    if out is None:
        out = np.empty((a.shape[0], b.shape[1]), a.dtype)
    _call(gemms[a.dtype], a, b, out, 1.0, 0.0)
    return out


def addmm(input: np.ndarray, mat1: np.ndarray, mat2: np.ndarray, beta=1, alpha=1):
    """``beta * input + alpha * (mat1 @ mat2)`` for NumPy arrays (`addmm_on`)."""
    return addmm_on(np, input, mat1, mat2, beta, alpha)


def addmm_on(xp, input, mat1, mat2, beta=1, alpha=1):
    """``beta * input + alpha * (mat1 @ mat2)`` on array module `xp`. With MKL and beta=1
    (nn.Linear) the broadcast `input` is copied into the result and the GEMM accumulates
    onto it (one pass); otherwise the product and then the add."""
    gemms = _gemms() if xp is np and beta == 1 and type(input) is np.ndarray \
        and input.dtype == mat1.dtype and _usable(mat1, mat2, None) else None
    if gemms is not None:
        out = np.empty((mat1.shape[0], mat2.shape[1]), mat1.dtype)
        np.copyto(out, input)
        _call(gemms[out.dtype], mat1, mat2, out, float(alpha), 1.0)
        return out
    out = matmul_on(xp, mat1, mat2)
    if alpha != 1:
        out *= alpha
    out += input if beta == 1 else input * beta  # in place on the fresh product
    return out


def matmul_on(xp, a, b, out=None):
    """`matmul` for NumPy arrays, ``xp.matmul`` for another array module (CuPy)."""
    return matmul(a, b, out) if xp is np else xp.matmul(a, b, out=out)


def gemm_pointer(dtype) -> tuple[int, bool] | None:
    """(address, takes 64-bit ints) of a CBLAS ``cblas_?gemm`` for `dtype` (float32 or
    float64), for machine code that multiplies inside its own loop (the LSTM recurrence):
    MKL's when it serves products now, else the OpenBLAS inside NumPy's wheel; None when
    neither is there. The arguments are CBLAS's (row-major layout and transpose flags as
    ints, then m, n, k, alpha, A, lda, B, ldb, beta, C, ldc), the ints 64-bit when the flag
    says so."""
    dtype = np.dtype(dtype)
    gemms = _gemms()
    if gemms is not None and dtype in gemms:
        return ctypes.cast(gemms[dtype], ctypes.c_void_p).value, False
    if not _NUMPY_BLAS:
        _NUMPY_BLAS.append(_numpy_openblas())
    return _NUMPY_BLAS[0].get(dtype)


_NUMPY_BLAS: list[dict] = []


def _numpy_openblas() -> dict:
    """{dtype: (address, ilp64)} of the gemms in the OpenBLAS NumPy's wheel vendors
    (``numpy.libs/libscipy_openblas*.so``, symbols ``scipy_cblas_?gemm[64_]``)."""
    folder = os.path.dirname(os.path.dirname(np.__file__))
    found = {}
    for path in sorted(glob.glob(os.path.join(folder, "numpy.libs", "libscipy_openblas*.so*"))):
        try:
            lib = ctypes.CDLL(path)  # already loaded by NumPy: this only finds it
        except OSError:
            continue
        for dtype, letter in ((np.dtype(np.float32), "s"), (np.dtype(np.float64), "d")):
            for name, ilp64 in ((f"scipy_cblas_{letter}gemm64_", True),
                                (f"scipy_cblas_{letter}gemm", False)):
                fn = getattr(lib, name, None)
                if fn is not None and dtype not in found:
                    found[dtype] = (ctypes.cast(fn, ctypes.c_void_p).value, ilp64)
    return found


# Below these, NumPy's own reduction is as fast (a (128, 512) column sum: 6 us vs 10 us).
GEMV_MIN_ROWS = 256
GEMV_MIN_ELEMENTS = 1 << 17


def sum_by_gemv(a, axes, keepdims: bool = False):
    """``a.sum(axis=axes)`` as products with a vector of ones, or None where that does not
    apply. NumPy sums over a C array's leading axis row by row (a (1600, 512) float32 sum:
    133 us; (50176, 6): 628 us); a GEMV does it at memory speed (37 / 44 us with MKL, 50 /
    80 with OpenBLAS). Two layouts: leading axes summed ((..., C) -> (C,): bias gradients
    of linear layers), and every axis but axis 1 ((N, C, *S) -> (C,): convolution bias
    gradients, batch-norm statistics). Float32/float64, C-contiguous, large enough only;
    the result differs from NumPy's by summation order (rounding) only."""
    if type(a) is not np.ndarray or a.dtype not in (np.float32, np.float64) \
            or a.ndim < 2 or a.size < GEMV_MIN_ELEMENTS or not a.flags.c_contiguous:
        return None
    axes = tuple(sorted(axes)) if axes is not None else tuple(range(a.ndim))
    shape = a.shape
    if axes == tuple(range(len(axes))) and len(axes) < a.ndim:  # leading axes
        rows = 1
        for s in shape[:len(axes)]:
            rows *= s
        if rows < GEMV_MIN_ROWS:
            return None
        ones = np.ones((1, rows), a.dtype)
        out = matmul(ones, a.reshape(rows, a.size // rows)).reshape(shape[len(axes):])
    elif a.ndim >= 3 and axes == (0,) + tuple(range(2, a.ndim)):  # all but axis 1
        n, c = shape[0], shape[1]
        per = a.size // (n * c)
        if n * per < GEMV_MIN_ROWS:
            return None
        planes = matmul(a.reshape(n * c, per), np.ones((per, 1), a.dtype))  # (N*C, 1)
        out = matmul(np.ones((1, n), a.dtype), planes.reshape(n, c)).reshape(c)
    else:
        return None
    if keepdims:
        out = out.reshape(tuple(1 if i in axes else s for i, s in enumerate(shape)))
    return out


def sum_into(a, axis, keepdims, dtype):
    """``np.add.reduce(a, axis, keepdims=..., dtype=...)`` through `sum_by_gemv` when it
    applies (the NumPy backend's rendering of `sum`)."""
    if dtype == a.dtype:
        out = sum_by_gemv(a, axis, keepdims)
        if out is not None:
            return out
    return np.add.reduce(a, axis=axis, keepdims=keepdims, dtype=dtype)
