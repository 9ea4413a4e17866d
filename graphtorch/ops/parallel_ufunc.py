"""Large eager elementwise ops split over graphtorch's thread pool, as PyTorch's intra-op
parallelism does: NumPy's ufuncs run on one core, so a 4M-element float32 op (one 16 MB
pass) takes ~1.9 ms where PyTorch's takes ~1.1 with two threads.

`apply(ufunc, arrays)` is ``ufunc(*arrays)``, element for element the same result (each
element is computed by the same loop; only which thread computes it differs), run in
`get_num_threads()` contiguous ranges when the operands are one shape, C-contiguous and at
least `MIN_ELEMENTS` large; anything else runs as one call.
"""

from __future__ import annotations

import contextvars

import numpy as np

from ..threads import get_num_threads, in_pool, pool

__all__ = ["MIN_ELEMENTS", "apply"]

MIN_ELEMENTS = 1 << 20  # below this, handing half to a helper thread (~30 us) does not pay


def apply(ufunc, arrays, out=None):
    """``ufunc(*arrays, out=out)`` (one output; arrays are ndarrays or Python scalars; `out`
    may be one of them, the in-place case: each range reads and writes its own elements)."""
    threads = get_num_threads()
    shape = None
    for a in arrays:
        if type(a) is np.ndarray:
            if shape is None:
                shape = a.shape
            elif a.shape != shape:
                return _one_call(ufunc, arrays, out)
            if not a.flags.c_contiguous:
                return _one_call(ufunc, arrays, out)
    if shape is None or threads < 2 or ufunc.nout != 1 or in_pool() or (
            out is not None and (out.shape != shape or not out.flags.c_contiguous)):
        return _one_call(ufunc, arrays, out)
    size = out.size if out is not None else next(
        a.size for a in arrays if type(a) is np.ndarray)
    if size < MIN_ELEMENTS:
        return _one_call(ufunc, arrays, out)
    flat = [a.reshape(-1) if type(a) is np.ndarray else a for a in arrays]
    if out is None:
        # the result dtype as NumPy picks it (weak Python scalars included), from one element
        head = ufunc(*[a[:1] if type(a) is np.ndarray else a for a in flat])
        out = np.empty(shape, head.dtype)
    dst = out.reshape(-1)
    bounds = [size * i // threads for i in range(threads + 1)]

    def part(lo, hi):
        ufunc(*[a[lo:hi] if type(a) is np.ndarray else a for a in flat], out=dst[lo:hi])

    context = contextvars.copy_context()  # the caller's np.errstate (a context variable)
    futures = [pool(threads).submit(context.copy().run, part, bounds[i], bounds[i + 1])
               for i in range(1, threads)]
    try:
        part(bounds[0], bounds[1])
    finally:
        for future in futures:
            future.result()
    return out


def _one_call(ufunc, arrays, out):
    return ufunc(*arrays) if out is None else ufunc(*arrays, out=out)
