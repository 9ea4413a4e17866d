"""The native tier for fused elementwise nodes: CUDA renderings compiled as CPU loops.

A fused node's CUDA body (`cuda_codegen.fused_kernel`: one C expression per op from its
OpDef's rendering in `cuda_ops.CUDA_OPS`, eager's dtype rules spelled out) is wrapped in a
host loop, compiled by the system C++ compiler (`native_build`, in the background, cached
on disk) and called through ctypes, which releases the GIL, so large outputs are split over
graphtorch's thread pool. One pass over memory replaces the NumPy tier's op-by-op chunks,
and tanh/exp become vectorisable polynomials (`native_shim.FAST_MATH`).

Operands may be full-shape, one element, or broadcast along one contiguous block of the
output's dims (a bias row, a per-row max, a per-channel scale): each reads ``(i / D) % M``,
hoisted out of an inner loop over blocks of B elements; a strided input (a transpose) is
copied to a contiguous one first. Until the library is built, and for anything else (a
symbolic shape, a non-contiguous output, a partially overlapping operand, an op with no C
rendering), the NumPy tier's function runs, so results never depend on the tier beyond the
documented tolerance of the polynomials.

    fn = accelerate(node, numpy_fn)      # numpy_fn from numpy_fused.compile_fused
    y = fn(x)                            # native once built, NumPy until then
"""

from __future__ import annotations

import ctypes
import hashlib
import math

import numpy as np

from ..ir import symbolic
from ..ir.graph import Node
from ..jit_background import setting
from ..native_build import OPENMP_MIN_ELEMENTS, NativeLibrary, compiler, openmp_usable
from ..threads import get_num_threads
from . import numpy_fused
from .cuda_codegen import CTYPES, Unsupported, fused_kernel
from .native_shim import FAST_MATH, SHIM

__all__ = ["HEADER", "NativeFused", "accelerate", "input_layout"]

_VOIDP = ctypes.c_void_p
_LL = ctypes.c_longlong


def _array_data_offset() -> int | None:
    """Where an ndarray object keeps its data pointer (NumPy's PyArrayObject: right after
    the object header, 16 bytes on 64-bit CPython), checked on probe arrays; None if not
    there (the tier then stays off). Kernels get the arrays' object addresses (``id``) and
    read the pointer themselves: 0.1 us per operand instead of ``a.ctypes.data``'s 0.8."""
    offset = ctypes.sizeof(ctypes.c_ssize_t) + ctypes.sizeof(ctypes.c_void_p)
    probes = [np.empty(3, np.float32), np.arange(7.0)[2:], np.empty((0, 2), np.int8)]
    for a in probes:
        if ctypes.c_void_p.from_address(id(a) + offset).value != a.ctypes.data:
            return None
    return offset


ARRAY_DATA_OFFSET = _array_data_offset()


def accelerate(node: Node, numpy_fn):
    """`numpy_fn` wrapped to run the node's native kernel when it is built; `numpy_fn`
    itself when the tier is off (GRAPHTORCH_JIT=0, no compiler) or the node cannot be
    compiled (a dtype or op without a C rendering, a symbolic shape, a layout this tier does
    not index)."""
    if setting() == "off" or compiler() is None or ARRAY_DATA_OFFSET is None:
        return numpy_fn  # no wrapper on the call path when the tier cannot run
    try:
        return NativeFused(node, numpy_fn)
    except Unsupported:
        return numpy_fn


def input_layout(shape: tuple, out_shape: tuple):
    """How an operand of `shape` is read in the flat loop over `out_shape`: "full",
    "scalar", or (D, M) - element ``(i // D) % M`` - for an operand whose non-broadcast
    dims form one contiguous block of the output's (non-unit) dims; None otherwise."""
    if len(shape) > len(out_shape):
        return None
    shape = (1,) * (len(out_shape) - len(shape)) + tuple(shape)
    if all(s == 1 for s in shape):
        return "scalar"
    if shape == tuple(out_shape):
        return "full"
    active = [d for d, s in enumerate(out_shape) if s != 1]
    kept = []
    for d in active:
        if shape[d] == out_shape[d]:
            kept.append(d)
        elif shape[d] != 1:
            return None
    at = [active.index(d) for d in kept]
    if at != list(range(at[0], at[0] + len(at))):
        return None
    after = active[at[-1] + 1:]
    return (math.prod(out_shape[d] for d in after), math.prod(out_shape[d] for d in kept))


class NativeFused:
    """A fused node's native kernel with its NumPy function as the fallback (see the
    module docstring); called like the NumPy function: ``fn(*arrays, out=None)``."""

    def __init__(self, node: Node, numpy_fn):
        out_shape = tuple(node.outputs[0].meta.shape)
        if symbolic.has_symbols(out_shape) or any(
                symbolic.has_symbols(tuple(v.meta.shape)) for v in node.inputs
                if not v.is_const):
            raise Unsupported("symbolic shape")
        if any(v.is_const for v in node.inputs):
            raise Unsupported("a constant operand")
        kernel = fused_kernel(node)
        self.numpy_fn = numpy_fn
        self.plan = numpy_fn.__globals__[numpy_fn.__name__ + "_plan"]
        self.shape = out_shape
        self.size = math.prod(out_shape)
        self.in_shapes = tuple(tuple(v.meta.shape) for v in node.inputs)
        self.in_dtypes = tuple(np.dtype(d) for _, d, _ in kernel.inputs)
        self.layouts = [input_layout(s, out_shape) for s in self.in_shapes]
        if any(lay is None for lay in self.layouts):
            raise Unsupported("an operand broadcast along several blocks of dims")
        partial = [lay for lay in self.layouts if isinstance(lay, tuple)]
        self.block = min([m if d == 1 else d for d, m in partial] + [self.size]) \
            if partial else 0
        layout_key = hashlib.sha1(repr((self.layouts, self.block)).encode()).hexdigest()[:8]
        self.name = f"{kernel.name}_{layout_key}"  # one CUDA body, several host loops
        self.helpers = kernel.preamble
        self.function_source = _function_source(kernel, self.name, self.layouts, self.block)
        self.source = "\n".join([HEADER, self.helpers, self.function_source])
        self.library = NativeLibrary(self.source)
        self._function = None
        self._objects = _VOIDP * (len(self.in_shapes) + len(self.plan.out_dtypes))
        self._parallel = None
        self.__name__ = numpy_fn.__name__
        self.__doc__ = numpy_fn.__doc__

    def function(self):
        """The compiled entry point, or None while it is being built."""
        if self._function is None:
            lib = self.library.get()
            if lib is not None:
                self.bind(lib)
        return self._function

    def bind(self, lib: ctypes.CDLL) -> None:
        """Use this node's function from `lib` (a library built from `source`, or from
        several nodes' `helpers` and `function_source` after one `HEADER`)."""
        fn = getattr(lib, self.name)
        fn.argtypes = [ctypes.POINTER(_VOIDP), _LL, _LL]
        fn.restype = None
        parallel = getattr(lib, self.name + "_par", None)  # built with OpenMP
        if parallel is not None:
            parallel.argtypes = [ctypes.POINTER(_VOIDP), _LL, _LL, ctypes.c_int]
            parallel.restype = None
        self._parallel = parallel
        self._function = fn

    def __call__(self, *arrays, out=None):
        fn = self._function or self.function()
        if fn is None or not self._accepts(arrays):
            return self.numpy_fn(*arrays, out=out)
        outs = numpy_fused._outputs(self.plan, out)
        if not all(a.flags.c_contiguous for a in (*arrays, *outs)):
            layout = self._shared_layout(arrays, self.layouts)
            if layout is not None and out is None:  # outputs laid out like the inputs
                outs = [np.empty_like(layout, dtype=d) for d in self.plan.out_dtypes]
            if layout is None or self._shared_layout(
                    (layout, *outs), ["full"] * (len(outs) + 1)) is None:
                if out is not None:
                    return self.numpy_fn(*arrays, out=out)
                # a strided view (a transpose, a batch-first permute) in another layout than
                # the rest: one copy, then one pass, beats the NumPy tier's op-by-op chunks
                arrays = tuple(np.ascontiguousarray(a) for a in arrays)
                outs = numpy_fused._outputs(self.plan, None)
        if out is not None and numpy_fused._unsafe_overlap(self.plan, outs, arrays, out):
            return self.numpy_fn(*arrays, out=out)
        if self.size:
            # the kernel reads each array's data pointer from its object (ARRAY_DATA_OFFSET);
            # `arrays` and `outs` keep the objects alive through the call
            self._run(fn, self._objects(*map(id, arrays), *map(id, outs)))
        return outs[0] if len(outs) == 1 else tuple(outs)

    def _shared_layout(self, arrays, layouts):
        """An array whose layout every "full" one of `arrays` (per `layouts`) shares, per
        element, when that layout is dense with positive strides - a permuted contiguous
        block, as a batch-first LSTM's output: the flat loop then runs in memory order,
        element i of each operand being the same logical element. None otherwise (or when
        an operand is broadcast along some dims: its index needs logical order)."""
        first = key = None
        for a, lay in zip(arrays, layouts):
            if lay == "scalar":
                continue
            if lay != "full":
                return None
            strides = _element_strides(a)
            if key is None:
                key, first = strides, a
            elif strides != key:
                return None
        return first if key is not None and _dense(key, self.shape) else None

    def _accepts(self, arrays) -> bool:
        for a, shape, dtype in zip(arrays, self.in_shapes, self.in_dtypes):
            if type(a) is not np.ndarray or a.dtype != dtype or a.shape != shape:
                return False
        return len(arrays) == len(self.in_shapes)

    def _run(self, fn, ptrs) -> None:
        threads = get_num_threads()
        openmp = self._parallel is not None and openmp_usable()  # else the Python pool
        if threads < 2 or self.size < (THREAD_MIN_OPENMP if openmp else THREAD_MIN):
            fn(ptrs, 0, self.size)
            return
        unit = self.block or 1024  # split points: whole blocks
        if openmp:
            self._parallel(ptrs, self.size, unit, threads)
            return
        units = self.size // unit
        step = -(-units // threads) * unit
        pool = numpy_fused._pool(threads)
        futures = [pool.submit(fn, ptrs, s, min(s + step, self.size))
                   for s in range(step, self.size, step)]
        fn(ptrs, 0, min(step, self.size))
        for f in futures:
            f.result()


def _element_strides(a) -> tuple | None:
    """`a`'s strides in elements, 0 for unit dims (their stride means nothing); None when a
    stride is not a whole number of elements."""
    if any(st % a.itemsize for st in a.strides):
        return None
    return tuple(0 if n == 1 else st // a.itemsize for n, st in zip(a.shape, a.strides))


def _dense(strides, shape) -> bool:
    """Whether element strides over `shape` cover one block without gaps or repeats, all
    positive (the data pointer is then the block's start)."""
    if strides is None:
        return False
    dims = sorted((st, n) for st, n in zip(strides, shape) if n != 1)
    expected = 1
    for st, n in dims:
        if st != expected:
            return False
        expected *= n
    return True


HEADER = SHIM + FAST_MATH  # every translation unit starts with it

# Outputs smaller than these run on the calling thread only. Split over OpenMP (one call,
# a few microseconds to start the team) from 128K elements: an MLP step's SGD updates (0.4M
# and 0.26M elements) and LeNet's activations, 2.22-2.37 -> 2.13-2.22 ms and 3.28-3.39 ->
# 3.12-3.30 ms (W3, W4; alternating runs). Over the Python pool (~70 us there and back,
# where OpenMP is unusable) only from 1M: there the MLP step's updates measured 2.8-3.0 ms
# split vs 2.5-2.7 unsplit.
THREAD_MIN_OPENMP = OPENMP_MIN_ELEMENTS
THREAD_MIN = 1 << 20


TILE = 512  # elements per inner loop: bool outputs go through a float tile of this size
# Bool arrays are addressed as bytes: GCC 12 vectorises no loop that loads through a
# `const bool*` ("no vectype" for the other loads), so `where(mask, g, 0)` ran one branch
# per element (0.59 ms on 301K random signs; 0.06 ms as bytes). Loads still convert to bool.
_POINTEE = {"bool": "unsigned char"}


def _function_source(kernel, name: str, layouts, block: int) -> str:
    """``extern "C" void <name>(void **objs, long long start, long long end)``: the loop
    over output elements [start, end) of the arrays at addresses `objs` (ndarray objects,
    inputs then outputs; each data pointer read at ARRAY_DATA_OFFSET), in whole blocks of
    `block` when an operand is read per block, reading each operand as its layout says, in
    tiles of `TILE` elements.

    A bool output stored straight from a comparison of a selected value (relu's mask:
    ``v = x >= 0 ? x : 0; m = v > 0``) makes GCC thread the comparison into a branch per
    element, which stops vectorisation (30x slower on random signs); bool outputs are
    therefore stored as ``c ? 1.0f : 0.0f`` into a float tile (GCC vectorises that form
    only) and narrowed by a second, vectorised loop."""
    params, casts = [], []
    for j, (param, dtype, is_out) in enumerate(kernel.params):
        ct = ("" if is_out else "const ") + _POINTEE.get(dtype, CTYPES[dtype])
        params.append(f"{ct}* __restrict__ {param}_ptr")
        casts.append(f"({ct}*)*(void**)((char*)objs[{j}] + {ARRAY_DATA_OFFSET})")
    # restrict is honoured on parameters (not on locals loaded from `ptrs`): the loop
    # lives in its own function so GCC vectorises without runtime alias checks
    lines = [f"static void __attribute__((noinline)) {name}_loop(",
             "    " + ", ".join(params + ["long long start", "long long end"]) + ") {"]
    loads, hoisted = [], []
    for (param, dtype, _), layout in zip(kernel.inputs, layouts):
        ct = CTYPES[dtype]
        if layout == "scalar":
            lines.append(f"    const {ct} {param} = {param}_ptr[0];")
        elif layout == "full":
            loads.append(f"const {ct} {param} = {param}_ptr[i];")
        else:
            d, m = layout
            if d == 1:  # contiguous inside a block
                hoisted.append(f"const {_POINTEE.get(dtype, ct)}* __restrict__ {param}_row = "
                               f"{param}_ptr + (b % {m}LL);")
                loads.append(f"const {ct} {param} = {param}_row[j];")
            else:       # one element per block
                hoisted.append(f"const {ct} {param} = {param}_ptr[(b / {d}LL) % {m}LL];")
    bools = {j for j, (_, dtype, _) in enumerate(kernel.outputs) if dtype == "bool"}
    stores = [f"bt{j}[k] = ({v}) ? 1.0f : 0.0f;" if j in bools else f"o{j}_ptr[i] = {v};"
              for j, v in kernel.stores]
    tiles = [f"float bt{j}[{TILE}];" for j in sorted(bools)]
    narrow = [f"for (long long k = 0; k < n; ++k) o{j}_ptr[t + k] = bt{j}[k] != 0.0f;"
              for j in sorted(bools)]
    body = loads + kernel.body.splitlines() + stores
    if block:
        outer = [f"for (long long b = start; b < end; b += {block}LL) {{", *hoisted,
                 f"    for (long long jt = 0; jt < {block}LL; jt += {TILE}LL) {{",
                 f"        const long long n = {block}LL - jt < {TILE}LL ? "
                 f"{block}LL - jt : {TILE}LL;",
                 "        const long long t = b + jt;", *[f"        {x}" for x in tiles],
                 "        for (long long k = 0; k < n; ++k) {",
                 "            const long long j = jt + k, i = t + k;",
                 *[f"            {x}" for x in body], "        }",
                 *[f"        {x}" for x in narrow], "    }", "}"]
    else:
        outer = [f"for (long long t = start; t < end; t += {TILE}LL) {{",
                 f"    const long long n = end - t < {TILE}LL ? end - t : {TILE}LL;",
                 *[f"    {x}" for x in tiles],
                 "    for (long long k = 0; k < n; ++k) {",
                 "        const long long i = t + k;",
                 *[f"        {x}" for x in body], "    }",
                 *[f"    {x}" for x in narrow], "}"]
    lines += [f"    {x}" for x in outer] + ["}", ""]
    lines += [f'extern "C" void {name}(void **objs, long long start, long long end) {{',
              f"    {name}_loop({', '.join(casts + ['start', 'end'])});", "}", ""]
    # the same loop split over `threads` OpenMP threads in whole units (blocks): one call
    # from Python instead of a hand-off to a Python thread (~70 us there and back)
    lines += ["#ifdef _OPENMP", "#include <omp.h>",
              f'extern "C" void {name}_par(void **objs, long long size, long long unit, '
              "int threads) {",
              "    #pragma omp parallel num_threads(threads)",
              "    {",
              "        const long long n = omp_get_num_threads(), t = omp_get_thread_num();",
              "        const long long per = ((size + unit - 1) / unit + n - 1) / n * unit;",
              "        const long long s = t * per, e = s + per < size ? s + per : size;",
              f"        if (s < e) {name}(objs, s, e);",
              "    }", "}", "#endif", ""]
    return "\n".join(lines)
