"""The CuPy backend: the NumPy backend's generated code run on CuPy arrays, with one generated
CUDA kernel per fused group.

Every OP node is one line of a generated Python function, as in `numpy_backend`; ops run
their registry kernels with ``xp=cupy`` (matmul goes to cuBLAS through ``cupy.matmul``,
ufunc ops call CuPy's ufuncs). Each fused node calls a `FusedLauncher`: the CUDA source
`cuda_codegen` writes for its group, compiled on first use and cached by its source text, run
as one flat grid-stride kernel when the operands are C-contiguous (one-element operands
broadcast), else as a ``cupy.ElementwiseKernel`` with the same body (broadcasting and
strides). A group that `cuda_codegen` cannot express runs op by op (its own generated
function); ``.code`` says which op stopped it.

    program = CupyProgram(graph)      # or make_cupy_program(graph, "forward")
    print(program.code)               # generated Python, and every kernel's CUDA source
    outputs = program(*arrays)        # CuPy (or NumPy, copied over) arrays, in graph order
"""

from __future__ import annotations

import ctypes
import functools
import math
import textwrap

import numpy as np

from ..ir.graph import Graph, Node, NodeKind
from ..ops.matmul import ADDMM, MATMUL
from . import numpy_backend
from .cuda_codegen import CudaKernel, Unsupported, fused_kernel
from .numpy_backend import CodeWriter, NumpyProgram

BLOCK = 256
# Compiled kernels, by their source text (and kind): equal groups share one compilation.
_KERNELS: dict = {}


def cupy_module():
    """The `cupy` module, or ImportError saying what the backend needs."""
    try:
        import cupy
    except ImportError as exc:  # pragma: no cover - depends on the machine
        raise ImportError("the CuPy backend needs CuPy and a CUDA GPU "
                          "(pip install cupy-cuda12x)") from exc
    return cupy


def make_cupy_program(graph: Graph, name: str = "forward", inplace: dict | None = None,
                      cuda_graph: bool = True):
    """The program `compiler.executable.make_program` builds for ``backend="cupy"``."""
    return CupyProgram(graph, name, inplace=inplace, cuda_graph=cuda_graph)


class FusedLauncher:
    """Runs one fused group's CUDA kernel: ``launcher(*arrays, out=None)`` returns the output
    array (a tuple for several outputs). `out`: the array to write the output into, or a
    tuple with one array or None per output (an output may be an input's buffer: every
    element is read before it is written)."""

    def __init__(self, xp, kernel: CudaKernel, shape, out_dtypes):
        self.xp = xp
        self.kernel = kernel
        self.shape = tuple(shape)
        self.size = math.prod(self.shape)
        self.out_dtypes = tuple(np.dtype(d) for d in out_dtypes)
        self.full = [name not in kernel.scalar_inputs for name, _, _ in kernel.inputs]
        self._raw = self._ew = None
        self._grid = None

    def __call__(self, *arrays, out=None):
        xp = self.xp
        given = out if isinstance(out, tuple) else (out,)
        outs = [given[j] if j < len(given) and given[j] is not None else xp.empty(self.shape, d)
                for j, d in enumerate(self.out_dtypes)]
        if self.size:
            if not self.kernel.broadcast and all(
                    a.flags.c_contiguous for a, full in zip(arrays, self.full) if full) \
                    and all(o.flags.c_contiguous for o in outs):
                self._flat()(self._grid, (BLOCK,), (*arrays, *outs, np.int64(self.size)))
            else:
                self._elementwise()(*arrays, *outs)
        return outs[0] if len(outs) == 1 else tuple(outs)

    def _flat(self):
        if self._raw is None:
            source = self.kernel.source
            key = ("raw", source)
            if key not in _KERNELS:
                _KERNELS[key] = self.xp.RawKernel(source, self.kernel.name)
            self._raw = _KERNELS[key]
            sms = self.xp.cuda.Device().attributes["MultiProcessorCount"]
            self._grid = (max(1, min(-(-self.size // BLOCK), sms * 64)),)
        return self._raw

    def _elementwise(self):
        if self._ew is None:
            args = self.kernel.elementwise_args()
            key = ("ew", args)
            if key not in _KERNELS:
                ins, outs, operation, name, preamble = args
                _KERNELS[key] = self.xp.ElementwiseKernel(ins, outs, operation, name,
                                                          preamble=preamble)
            self._ew = _KERNELS[key]
        return self._ew


class CupyProgram(NumpyProgram):
    """A graph compiled to a Python function over CuPy arrays (see the module docstring).

    `xp` defaults to CuPy; ``xp=numpy`` builds the code without a GPU (to read ``.code``).
    ``kernels`` maps each fused function's name to its `CudaKernel`, or to the reason it runs
    op by op.
    """

    def __init__(self, graph: Graph, name: str = "forward", xp=None,
                 inplace: dict[int, int] | None = None, cuda_graph: bool = False):
        self.kernels: dict = {}
        extra = {"inplace": inplace} if inplace else {}
        super().__init__(graph, name, cupy_module() if xp is None else xp, **extra)
        self.replay = GraphReplay(self) if cuda_graph and self.xp is not np else None

    def _generate(self, w: CodeWriter) -> None:
        super()._generate(w)
        _to_device(w.namespace, self.xp)

    def __call__(self, *arrays, **sizes):
        if self.replay is not None and not sizes:
            return self.replay(arrays)
        return self.fn(*self._on_device(arrays), **sizes)

    def _on_device(self, arrays):
        """Host inputs (optimizer hyper-parameters) copied to the device."""
        if self.xp is np:
            return arrays
        return [self.xp.asarray(a) if isinstance(a, (np.ndarray, np.generic)) else a
                for a in arrays]

    def _kernel(self, w: CodeWriter, node: Node) -> tuple[str, list[str]]:
        """Matrix products run their registry kernel on `GemmXP` (capturable cuBLAS)."""
        if node.op in GEMM_OPS and self.xp is not np:
            bound = functools.partial(node.op.kernel, gemm_xp(self.xp), **node.attrs)
            return w.name_for(bound, f"{node.op.name}_{node.outputs[0].id}"), []
        return super()._kernel(w, node)

    def _fused_call(self, w: CodeWriter, node: Node, out: str | None) -> str:
        fn_name = f"fused_{node.outputs[0].id}"
        args = [self._arg(w, v) for v in node.inputs]
        try:
            kernel = fused_kernel(node)
        except Unsupported as exc:
            sub = CupyProgram(node.attrs["graph"], fn_name, self.xp)
            self.kernels[fn_name] = f"runs op by op: {exc}"
            w.namespace[fn_name] = sub
            w.preamble.append(f"# {fn_name}: no CUDA kernel ({exc}); it runs op by op:\n"
                              + textwrap.indent(sub.code.rstrip(), "#   "))
            return f"{fn_name}({', '.join(args)})" + ("[0]" if node.op.num_outputs == 1 else "")
        self.kernels[fn_name] = kernel
        w.namespace[fn_name] = FusedLauncher(self.xp, kernel, node.outputs[0].meta.shape,
                                             [v.meta.dtype.np_dtype for v in node.outputs])
        w.preamble.append(f'{fn_name}_cuda = r"""\n{kernel.source}"""')
        if out:
            args.append(f"out={out}")
        return f"{fn_name}({', '.join(args)})"


class GraphReplay:
    """The whole program captured as one CUDA graph and replayed (``cuda_graph=True``).

    The first call runs the program normally (it compiles the kernels); the second captures
    it. Parameters and state (PARAM inputs) that kept their device array between those two
    calls are read in place by the graph, and it replays while they keep it; every other
    input (arguments, state replaced each step such as gradients) is copied into a buffer
    the graph owns before each replay. Outputs written into an in-place PARAM buffer are
    returned as that array; other outputs are copied out of the graph's memory (its next
    replay overwrites it). Intermediates live in a memory pool of the graph's own. Programs
    with random ops are never captured (a replay would repeat the draws); a program that
    cannot be captured (it synchronises with the host, say) keeps running normally and
    `status` says why.
    """

    MAX_CAPTURES = 4

    def __init__(self, program: CupyProgram):
        self.program = program
        graph = program.graph
        self.is_arg = [n.kind is NodeKind.INPUT for n in graph.nodes
                       if n.kind in (NodeKind.INPUT, NodeKind.PARAM)]
        self.status = "not captured yet"
        if _has_random(graph):
            self.status = "never captured: the program draws random numbers"
        self.graph = self.seen = None
        self.direct: list[int] = []
        self.captures = 0

    def _pointers(self, arrays):
        """PARAM arrays' (pointer, strides), None for arguments; None when a PARAM array is
        not on the device."""
        device = self.program.xp.ndarray
        if not all(arg or isinstance(a, device) for a, arg in zip(arrays, self.is_arg)):
            return None
        return [None if arg else (a.data.ptr, a.strides) for a, arg in zip(arrays, self.is_arg)]

    def __call__(self, arrays):
        program = self.program
        ptrs = self._pointers(arrays)
        if ptrs is not None and self.graph is not None and \
                all(ptrs[j] == self.key[j] for j in self.direct):
            self.seen = None  # new PARAM arrays after replays: a normal run comes first
            return self._replay(arrays)
        previous, self.seen = self.seen, ptrs
        if ptrs is None or previous is None or self.status.startswith("never") \
                or self.captures >= self.MAX_CAPTURES:
            return program.fn(*program._on_device(arrays))
        direct = [j for j, (p, q) in enumerate(zip(ptrs, previous)) if p is not None and p == q]
        return self._capture(arrays, ptrs, direct)

    def _capture(self, arrays, ptrs, direct):
        xp = self.program.xp
        self.captures += 1
        keep = set(direct)
        statics = [a if j in keep else xp.array(a) for j, a in enumerate(arrays)]
        pool, stream = xp.cuda.MemoryPool(), xp.cuda.Stream(non_blocking=True)
        xp.cuda.get_current_stream().synchronize()
        try:
            with xp.cuda.using_allocator(pool.malloc), stream:
                stream.begin_capture()
                try:
                    outs = self.program.fn(*statics)
                finally:
                    graph = stream.end_capture()
        except Exception as exc:  # noqa: BLE001 - any failure: run normally from now on
            self.status = f"never captured: {type(exc).__name__}: {exc}"[:300]
            self.graph = None
            return self.program.fn(*self.program._on_device(arrays))
        by_id = {id(statics[j]): j for j in direct}
        self.alias = [by_id.get(id(o)) for o in outs]
        self.graph, self.key, self.direct, self.pool = graph, ptrs, direct, pool
        self.copied = [j for j in range(len(arrays)) if j not in keep]
        self.statics, self.outs = statics, outs
        self.status = (f"captured ({self.captures}x): {len(direct)} inputs read in place, "
                       f"{len(self.copied)} copied in")
        return self._replay(arrays)

    def _replay(self, arrays):
        xp = self.program.xp
        for j in self.copied:
            a, s = arrays[j], self.statics[j]
            if isinstance(a, (np.ndarray, np.generic)):
                s.set(np.asarray(a, dtype=s.dtype, order="C"))
            elif a.flags.c_contiguous and a.dtype == s.dtype and a.shape == s.shape:
                s.data.copy_from_device_async(a.data, a.nbytes)
            else:
                xp.copyto(s, a)
        self.graph.launch()
        return tuple(arrays[j] if j is not None else
                     o.copy() if isinstance(o, xp.ndarray) else o
                     for o, j in zip(self.outs, self.alias))


# --- matrix products: cuBLAS without CuPy's capture check -----------------------------------

# The ops whose kernels are matrix products: run on `GemmXP` so CUDA graphs capture them.
GEMM_OPS = frozenset({MATMUL, ADDMM})


@functools.lru_cache(maxsize=1)
def gemm_xp(cp):
    """CuPy with `matmul` of 2-D float32/float64 matrices through `Cublas`."""
    return GemmXP(cp, Cublas(cp))


class GemmXP:
    """An array module: CuPy, except `matmul` of two 2-D float32/float64 matrices, which
    calls cuBLAS's gemm through `Cublas` (capturable in a CUDA graph, unlike CuPy's own)."""

    def __init__(self, cp, blas):
        self._cp = cp
        self._blas = blas

    def __getattr__(self, name):
        return getattr(self._cp, name)

    def matmul(self, a, b, out=None):
        cp = self._cp
        if out is None and isinstance(a, cp.ndarray) and isinstance(b, cp.ndarray) \
                and a.ndim == 2 and b.ndim == 2 and a.dtype == b.dtype \
                and a.dtype.char in "fd" and a.shape[1] == b.shape[0] and a.size and b.size:
            c = cp.empty((a.shape[0], b.shape[1]), a.dtype)
            self._blas.gemm(a, b, c)
            return c
        return cp.matmul(a, b) if out is None else cp.matmul(a, b, out=out)


class Cublas:
    """cuBLAS's sgemm/dgemm through ctypes on a handle of our own, with a fixed workspace.
    CuPy's bindings refuse every cuBLAS call while a stream is being captured; cuBLAS itself
    supports capture (see the cuBLAS guide, "CUDA Graphs Support")."""

    WORKSPACE = 32 << 20

    def __init__(self, cp):
        cp.cuda.device.get_cublas_handle()  # CuPy loads libcublas; use the same library
        self.cp = cp
        self.lib = ctypes.CDLL(_loaded_library("libcublas.so"))
        self.handle = ctypes.c_void_p()
        _check(self.lib.cublasCreate_v2(ctypes.byref(self.handle)))
        self.workspace = cp.empty(self.WORKSPACE, dtype=cp.uint8)
        set_workspace = getattr(self.lib, "cublasSetWorkspace_v2", None)
        if set_workspace is not None:
            _check(set_workspace(self.handle, ctypes.c_void_p(self.workspace.data.ptr),
                                 ctypes.c_size_t(self.WORKSPACE)))
        self.stream = None

    def gemm(self, a, b, c) -> None:
        """Row-major ``c = a @ b`` (column-major cuBLAS computes c^T = b^T a^T)."""
        stream = self.cp.cuda.get_current_stream().ptr
        if stream != self.stream:
            _check(self.lib.cublasSetStream_v2(self.handle, ctypes.c_void_p(stream)))
            self.stream = stream
        a, op_a, ld_a = self._operand(a)
        b, op_b, ld_b = self._operand(b)
        m, k = a.shape
        n = b.shape[1]
        if c.dtype.char == "f":
            fn, one, zero = self.lib.cublasSgemm_v2, ctypes.c_float(1), ctypes.c_float(0)
        else:
            fn, one, zero = self.lib.cublasDgemm_v2, ctypes.c_double(1), ctypes.c_double(0)
        _check(fn(self.handle, op_b, op_a, n, m, k, ctypes.byref(one),
                  ctypes.c_void_p(b.data.ptr), ld_b, ctypes.c_void_p(a.data.ptr), ld_a,
                  ctypes.byref(zero), ctypes.c_void_p(c.data.ptr), n))

    def _operand(self, x):
        """(array, cuBLAS op, leading dimension) of a row-major operand seen column-major."""
        if x.flags.c_contiguous:
            return x, 0, max(1, x.shape[1])   # CUBLAS_OP_N
        if x.flags.f_contiguous:
            return x, 1, max(1, x.shape[0])   # CUBLAS_OP_T
        x = self.cp.ascontiguousarray(x)
        return x, 0, max(1, x.shape[1])


def _loaded_library(stem: str) -> str:
    """The path of the loaded shared library whose file name starts with `stem`."""
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.rsplit(None, 1)[-1]
            if path.rsplit("/", 1)[-1].startswith(stem):
                return path
    return stem  # let the dynamic loader find it


def _check(status: int) -> None:
    if status != 0:
        raise RuntimeError(f"cuBLAS error {status}")


def _has_random(graph: Graph) -> bool:
    for node in graph.op_nodes:
        if node.op.random or ("graph" in node.attrs and _has_random(node.attrs["graph"])):
            return True
    return False


def _to_device(namespace: dict, xp) -> None:
    """Swap the NumPy objects the generated code refers to for their CuPy counterparts."""
    if xp is np:
        return
    for key, obj in list(namespace.items()):
        if isinstance(obj, np.ufunc):
            namespace[key] = getattr(xp, obj.__name__)
        elif obj is numpy_backend._fix:
            namespace[key] = functools.partial(_fix, xp)
        elif obj is numpy_backend._fix_outputs:
            namespace[key] = functools.partial(_fix_outputs, xp)


def _fix(xp, out, np_dtype):
    if not isinstance(out, xp.ndarray):
        out = xp.asarray(out)
    return out if out.dtype == np_dtype else out.astype(np_dtype)


def _fix_outputs(xp, outs, np_dtypes):
    return tuple(_fix(xp, o, d) for o, d in zip(outs, np_dtypes))
