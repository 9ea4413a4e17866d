"""NumPy code for fused elementwise nodes: one Python function per fused node.

The generated function evaluates the fused subgraph chunk by chunk (cache-sized pieces of
the output), so no full-size temporary ever exists: each op writes through `out=` into a
few chunk-sized scratch buffers (reused once a value is dead) or straight into the output.
Large arrays are split over threads (NumPy ufuncs release the GIL). Every op computes in
the dtype eager dispatch would use (`compute_dtype`), so results equal eager graphtorch:
ufunc ops (`OpDef.ufunc`) run the same NumPy loop, a few ops have a rendering of their own
(`RENDERINGS`, keyed by OpDef), and every other op runs its registry kernel on the chunk.

    fn, source = compile_fused(node, "fused_3")
    y = fn(x)             # a new array; fn(x, out=buf) writes into buf instead
"""

from __future__ import annotations

import ast
import functools
import inspect
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, NamedTuple

import numpy as np

from .. import dtypes
from ..ir.graph import Node, infer_args
from ..ir.printing import format_node
from ..ops.dispatch import _ERRSTATE, _IGNORE, _wrap_int_scalar
from ..ops.elementwise import CLONE, POW, TO_DTYPE
from ..ops.registry import OpDef
from ..ops.shape_rules import compute_dtype, output_dtype
from ..threads import get_num_threads
from ..threads import pool as kernel_pool

CHUNK = 65536           # elements per chunk: the scratch buffers stay in the L2 cache
THREAD_MIN = 1 << 18    # outputs smaller than this run on the calling thread only

def _pool(threads: int) -> ThreadPoolExecutor:
    """Helpers for `threads`-way chunking (the caller is the last thread): graphtorch's one
    kernel pool (`threads.pool`), rebuilt when gt.set_num_threads changes the count."""
    return kernel_pool(threads)


class FusedPlan:
    """What the driver needs besides the body: output shape, output and scratch dtypes, and
    the inputs an output may alias (every read of them comes before the first write)."""

    __slots__ = ("inplace", "out_dtypes", "scratch", "shape", "size")

    def __init__(self, shape, out_dtypes, scratch, inplace=()):
        self.shape = tuple(shape)
        self.size = int(np.prod(self.shape, dtype=np.int64))
        self.out_dtypes = tuple(np.dtype(d) for d in out_dtypes)
        self.scratch = tuple(np.dtype(d) for d in scratch)
        self.inplace = frozenset(inplace)


# --- the driver (shared by every generated function) ------------------------------------

def run_fused(body, plan: FusedPlan, inputs, out=None):
    """Evaluate `body(ins, outs, scratch)` over `plan.shape` in chunks; returns the output
    array (a tuple for several). `out`: an array (or tuple of arrays / Nones) to write into.
    An `out` that is exactly an input, as a pair in `plan.inplace`, is computed in place;
    any other overlap with the inputs goes through a fresh array first."""
    outs = _outputs(plan, out)
    if out is not None and _unsafe_overlap(plan, outs, inputs, out):
        fresh = run_fused(body, plan, inputs)
        fresh = fresh if isinstance(fresh, tuple) else (fresh,)
        for dst, src in zip(outs, fresh):
            np.copyto(dst, src)
        return outs[0] if len(outs) == 1 else tuple(outs)
    if plan.size <= CHUNK:
        scratch = [np.empty(plan.shape, d) for d in plan.scratch]
        if _ERRSTATE is None:
            with np.errstate(all="ignore"):
                body(inputs, outs, scratch)
        else:  # the context variable np.errstate sets, at a tenth of its cost (small calls)
            token = _ERRSTATE.set(_IGNORE)
            try:
                body(inputs, outs, scratch)
            finally:
                _ERRSTATE.reset(token)
    else:
        # a transposed (non-contiguous) full-size operand is copied once, as eager's
        # contiguous copies do: reading it chunk by chunk in its strided order is far slower
        inputs = [np.ascontiguousarray(a) if a.shape == plan.shape and not a.flags.c_contiguous
                  else a for a in inputs]
        tasks = _flat_tasks(plan, inputs, outs) or _strided_tasks(plan, inputs, outs)
        threads = get_num_threads()
        parts = threads if plan.size >= THREAD_MIN and len(tasks) >= 2 * threads else 1
        step = -(-len(tasks) // parts)
        futures = [_pool(threads).submit(_run_tasks, body, plan, tasks[i:i + step])
                   for i in range(step, len(tasks), step)]
        _run_tasks(body, plan, tasks[:step])
        for f in futures:
            f.result()
    return outs[0] if len(outs) == 1 else tuple(outs)


def _outputs(plan: FusedPlan, out) -> list:
    given = out if isinstance(out, (tuple, list)) else (out,) * (out is not None) or ()
    outs = []
    for i, dtype in enumerate(plan.out_dtypes):
        dst = given[i] if i < len(given) else None
        if dst is None:
            dst = np.empty(plan.shape, dtype)
        elif dst.shape != plan.shape or dst.dtype != dtype:
            raise ValueError(f"fused: out[{i}] is {dst.dtype}{list(dst.shape)}, expected "
                             f"{dtype}{list(plan.shape)}")
        outs.append(dst)
    return outs


def _unsafe_overlap(plan: FusedPlan, outs, inputs, out) -> bool:
    """Whether an output given in `out` shares memory with an input other than exactly, as
    a pair that `plan.inplace` allows ((input, output): every read of the input precedes
    the write). Outputs `_outputs` allocated cannot overlap and are not checked."""
    given = out if isinstance(out, (tuple, list)) else (out,)
    for j, o in enumerate(outs):
        if j >= len(given) or given[j] is None:
            continue
        for i, a in enumerate(inputs):
            if o is a and (i, j) in plan.inplace:  # the usual in-place update: no ctypes
                continue
            if np.may_share_memory(o, a) and not (
                    (i, j) in plan.inplace and a.shape == o.shape and a.dtype == o.dtype
                    and a.strides == o.strides and a.ctypes.data == o.ctypes.data):
                return True
    return False


def _run_tasks(body, plan: FusedPlan, tasks) -> None:
    """Run chunk tasks on this thread, with scratch buffers of its own."""
    buffers = [np.empty(CHUNK, d) for d in plan.scratch]
    with np.errstate(all="ignore"):  # per thread: the error state is a context variable
        for ins, outs, n, shape in tasks:
            if shape is None:
                body(ins, outs, [b[:n] for b in buffers])
            else:
                body(ins, outs, [b[:n].reshape(shape) for b in buffers])


def _flat_tasks(plan: FusedPlan, inputs, outs):
    """Chunks of the raveled arrays when every operand is C-contiguous of the full shape or
    has one element; None otherwise."""
    flat_ins = []
    for a in inputs:
        if a.size == 1 and plan.size != 1:
            flat_ins.append(a.reshape(()))
        elif a.shape == plan.shape and a.flags.c_contiguous:
            flat_ins.append(a.reshape(-1))
        else:
            return None
    if not all(o.flags.c_contiguous for o in outs):
        return None
    flat_outs = [o.reshape(-1) for o in outs]
    tasks = []
    for s in range(0, plan.size, CHUNK):
        key = slice(s, s + CHUNK)
        tasks.append(([a if a.ndim == 0 else a[key] for a in flat_ins],
                      [o[key] for o in flat_outs], min(CHUNK, plan.size - s), None))
    return tasks


def _strided_tasks(plan: FusedPlan, inputs, outs):
    """Chunks along one axis k (whole trailing axes, a block of axis k, one index of each
    leading axis) for broadcast or non-contiguous operands."""
    shape, ndim = plan.shape, len(plan.shape)
    padded = [a.reshape((1,) * (ndim - a.ndim) + a.shape) for a in inputs]
    inner, k = 1, ndim - 1
    while k > 0 and inner * shape[k] <= CHUNK:
        inner *= shape[k]
        k -= 1
    block = max(1, CHUNK // inner)
    tasks = []
    for lead in np.ndindex(*shape[:k]):
        for s in range(0, shape[k], block):
            e = min(s + block, shape[k])
            key = tuple(slice(i, i + 1) for i in lead) + (slice(s, e),)  # keeps every axis
            ins = [a[tuple(slice(0, 1) if a.shape[d] == 1 else key[d] for d in range(k + 1))]
                   for a in padded]
            tasks.append((ins, [o[key] for o in outs], (e - s) * inner,
                          (1,) * k + (e - s,) + shape[k + 1:]))
    return tasks


# --- code generation ---------------------------------------------------------------------

def fused_source(node: Node, fn_name: str) -> str:
    """Python source defining ``def <fn_name>(a0, a1, ..., out=None)`` for a fused node (plus
    ``<fn_name>_body`` and ``<fn_name>_plan``); run it in `fused_namespace(node, fn_name)`.

    >>> print(fused_source(node, "fused_3"))   # doctest: +SKIP
    def fused_3(a0, out=None):
        ...
    """
    return _Generator(node, fn_name).source


def fused_namespace(node: Node | None = None, fn_name: str = "") -> dict:
    """The globals the generated source needs: ``np``, the driver, and (given the node and
    the same `fn_name`) the node's constants and kernels, named ``<fn_name>_c<k>``."""
    names = {"np": np, "_run_fused": run_fused, "_FusedPlan": FusedPlan}
    if node is not None:
        names.update(_Generator(node, fn_name).constants)
    return names


def compile_fused(node: Node, fn_name: str = "fused_group"):
    """(callable, source) for a fused node: ``fn(*arrays, out=None)`` returns the output
    array, or a tuple of arrays for a multi-output node.

    >>> fn, src = compile_fused(node, "fused_3")   # doctest: +SKIP
    >>> fn(x_array)                                # doctest: +SKIP
    """
    gen = _Generator(node, fn_name)
    namespace = fused_namespace()
    namespace.update(gen.constants)
    code = compile(gen.source, f"<graphtorch {fn_name}>", "exec")
    exec(code, namespace)  # noqa: S102 - our own generated source
    return namespace[fn_name], gen.source


_LITERAL_TYPES = (int, float, bool, complex, str, type(None))


def _literal(value) -> str | None:
    """Source text that evaluates back to exactly `value`, or None."""
    if isinstance(value, tuple):
        parts = [_literal(v) for v in value]
        if any(p is None for p in parts):
            return None
        return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"
    if type(value) not in _LITERAL_TYPES:
        return None
    text = repr(value)
    try:
        back = ast.literal_eval(text)
    except (ValueError, SyntaxError):  # inf, nan
        return None
    return text if type(back) is type(value) and back == value else None


def _is_scalar_const(v) -> bool:
    return v.is_const and type(v.const) in (int, float, complex)


class _Generator:
    """Builds the source of one fused node (see `fused_source`)."""

    def __init__(self, node: Node, fn_name: str):
        self.fn = fn_name
        self.sub = node.attrs["graph"]
        self.constants: dict = {}
        self.lines: list[str] = []
        self.slots: list[np.dtype] = []
        self.free: list[int] = []
        self.shape = tuple(node.outputs[0].meta.shape)
        self._emit_body()
        self.source = self._assemble(node)

    # --- names and buffers ---

    def const(self, value) -> str:
        text = _literal(value)
        if text is not None:
            return text
        name = f"{self.fn}_c{len(self.constants)}"
        self.constants[name] = value
        return name

    def take_slot(self, dtype: np.dtype, avoid=()) -> str:
        for k in self.free:
            if self.slots[k] == dtype and f"s{k}" not in avoid:
                self.free.remove(k)
                return f"s{k}"
        self.slots.append(np.dtype(dtype))
        return f"s{len(self.slots) - 1}"

    def release(self, name: str) -> None:
        if name.startswith("s") and int(name[1:]) not in self.free:
            self.free.append(int(name[1:]))

    # --- the body ---

    def _emit_body(self) -> None:
        sub = self.sub
        self.names = {n.outputs[0].id: f"a{i}" for i, n in enumerate(sub.inputs)}
        self.out_names = {}
        for j, v in enumerate(sub.outputs):
            self.out_names.setdefault(v.id, f"o{j}")
        nodes = sub.op_nodes
        last = {}
        for pos, n in enumerate(nodes):
            for v in n.tensor_inputs():
                last[v.id] = pos
        # output name -> (position of the op writing it, whether that op reads its inputs
        # after writing); an input may share memory with an output when every read of the
        # input comes before that output's write
        first_write: dict[str, tuple[int, bool]] = {}
        for pos, n in enumerate(nodes):
            self._multistep = False
            self.lines.append(f"# {_describe(n)}")
            dying = [self.names[v.id] for v in n.tensor_inputs() if last.get(v.id) == pos]
            temps = self._emit_node(n, dying)
            result = self.names[n.outputs[0].id]
            if result.startswith("o"):
                first_write.setdefault(result, (pos, self._multistep))
            for t in temps + dying:
                if t != result:  # a ufunc may have written its result over a dying operand
                    self.release(t)
        copies = [(j, v) for j, v in enumerate(sub.outputs) if self.names[v.id] != f"o{j}"]
        for j, v in copies:  # an input, or a value returned twice
            self.lines.append(f"np.copyto(o{j}, {self.names[v.id]})")
            first_write.setdefault(f"o{j}", (len(nodes), False))
        pairs = []
        for j in range(len(sub.outputs)):
            write_pos, multistep = first_write.get(f"o{j}", (-1, True))
            pairs += [(i, j) for i, inp in enumerate(sub.inputs)
                      if last.get(inp.outputs[0].id, -1) < write_pos + (0 if multistep else 1)]
        self.inplace = tuple(pairs)

    def _emit_node(self, n: Node, dying: list[str]) -> list[str]:
        """Emit one op (`dying`: buffers of inputs read for the last time); returns the
        scratch buffers to release after it."""
        v = n.outputs[0]
        out_dtype = v.meta.dtype.np_dtype
        cd = None
        if n.op.promotion is not None:
            cd = compute_dtype(n.op.promotion, infer_args(n)).np_dtype
        temps: list[str] = []
        args = []
        for x in n.inputs:
            if x.is_const:
                value = x.const
                if cd is not None and cd.kind in "iu" and type(value) is int:
                    value = _wrap_int_scalar(value, cd)
                args.append(self.const(value))
                continue
            name = self.names[x.id]
            if cd is not None and x.meta.dtype.np_dtype != cd:
                if tuple(x.meta.shape) == self.shape:
                    cast = self.take_slot(cd)
                    self.lines.append(f"np.copyto({cast}, {name}, casting='unsafe')")
                    temps.append(cast)
                    name = cast
                else:  # a small broadcast operand: cast it whole
                    name = f"{name}.astype({self.const(cd)})"
            args.append(name)
        dest = self.out_names.get(v.id)
        render = RENDERINGS.get(n.op)
        if render is not None and render.reads_after_write and \
                render.emit(self, n, cd, args, out_dtype, dest):
            return temps
        # A ufunc may write over an operand it reads for the last time (exact overlap).
        free_before = list(self.free)
        for t in temps + dying:
            self.release(t)
        if render is not None and not render.reads_after_write:
            emitted = render.emit(self, n, cd, args, out_dtype, dest)
        else:
            emitted = self._emit_ufunc(n, cd, args, out_dtype, dest)
        if not emitted:
            self.free = free_before
            self._emit_kernel(n, cd, args, out_dtype, dest)
        return temps

    def _dest(self, dest, dtype, avoid=()) -> str:
        return dest if dest is not None else self.take_slot(dtype, avoid)

    def _emit_ufunc(self, n: Node, cd, args, out_dtype, dest) -> bool:
        """The op's ufunc (`OpDef.ufunc`) writing straight into its destination."""
        op = n.op
        attrs = {k: v for k, v in n.attrs.items() if not _is_default(op, k, v)}
        if not op.ufunc or attrs or cd is None or op.num_outputs != 1:
            return False
        ufunc = getattr(np, op.ufunc, None)
        extra = op.ufunc_args
        if not isinstance(ufunc, np.ufunc) or ufunc.nout != 1 or \
                ufunc.nin != len(n.inputs) + len(extra):
            return False
        types = []
        for x in list(n.inputs) + [_ExtraConst(e) for e in extra]:
            if x.is_const:
                if not _is_scalar_const(x):
                    return False
                types.append(type(x.const))
            else:
                types.append(cd)
        try:
            natural = ufunc.resolve_dtypes((*types, None))[-1]
        except (TypeError, ValueError, OverflowError):
            return False
        if natural != out_dtype:
            return False
        target = self._dest(dest, out_dtype)
        operands = ", ".join([*args, *(self.const(e) for e in extra)])
        self.lines.append(f"np.{op.ufunc}({operands}, out={target})")
        self.names[n.outputs[0].id] = target
        return True

    def _emit_kernel(self, n: Node, cd, args, out_dtype, dest) -> None:
        """The op's registry kernel on the chunk (a chunk-sized result array)."""
        kernel = self.const(n.op.kernel)
        kwargs = [f"{k}={self.const(n.attrs[k])}" for k in sorted(n.attrs)]
        value = f"v{n.outputs[0].id}"
        self.lines.append(f"{value} = {kernel}(np, {', '.join(args + kwargs)})")
        if cd is not None and output_dtype(n.op.promotion, dtypes.from_numpy_dtype(cd)) \
                .np_dtype != cd:  # eager casts the kernel's result to the output dtype
            self.lines.append(f"if {value}.dtype != {self.const(out_dtype)}: "
                              f"{value} = {value}.astype({self.const(out_dtype)})")
        if dest is not None:
            self.lines.append(f"np.copyto({dest}, {value})")
            value = dest
        self.names[n.outputs[0].id] = value

    # --- the whole source ---

    def _assemble(self, node: Node) -> str:
        fn = self.fn
        n_in = len(self.sub.inputs)
        params = ", ".join([f"a{i}" for i in range(n_in)] + ["out=None"])
        ins = ", ".join(f"a{i}" for i in range(n_in))
        outs = ", ".join(f"o{j}" for j in range(len(self.sub.outputs)))
        scratch = ", ".join(f"s{k}" for k in range(len(self.slots)))
        doc = _describe(node).replace("\\", "\\\\").replace('"', "'")
        lines = [f"def {fn}({params}):",
                 f'    """{doc}"""',
                 (f"    return _run_fused({fn}_body, {fn}_plan, ({ins}{',' if n_in == 1 else ''}),"
                 " out)"),
                 "", "",
                 f"def {fn}_body(ins, outs, scratch):",
                 f"    {ins}{',' if n_in == 1 else ''} = ins",
                 f"    {outs}, = outs" if len(self.sub.outputs) == 1 else f"    {outs} = outs"]
        if self.slots:
            lines.append(f"    {scratch}{',' if len(self.slots) == 1 else ''} = scratch")
        lines += [f"    {line}" for line in self.lines]
        out_dtypes = tuple(v.meta.dtype.np_dtype.name for v in self.sub.outputs)
        lines += ["", "",
                  (f"{fn}_plan = _FusedPlan({self.shape!r}, {out_dtypes!r}, "
                  f"{tuple(d.name for d in self.slots)!r}, {self.inplace!r})"), ""]
        return "\n".join(lines)


# --- renderings of particular ops (keyed by OpDef; every other op: its ufunc or kernel) ---

class _Rendering(NamedTuple):
    """emit(generator, node, compute dtype, args, output dtype, destination) -> whether it
    emitted the op. `reads_after_write`: the emitted code reads an operand after writing
    its destination, so that destination must not be a dying operand's buffer."""

    emit: Callable
    reads_after_write: bool


def _emit_pow(self, n: Node, cd, args, out_dtype, dest) -> bool:
    """x ** 2 and x ** 3 as products, as PyTorch computes them for float tensors
    (NumPy's float32 power is ~100x slower than two multiplies)."""
    if cd is None or cd.kind != "f" or cd.itemsize < 4 or out_dtype != cd:
        return False  # float16 stays on power: one rounding, as eager and PyTorch
    base, exponent = n.inputs
    if base.is_const or not exponent.is_const or type(exponent.const) not in (int, float) \
            or exponent.const not in (2, 3) or tuple(base.meta.shape) != self.shape:
        return False
    x = args[0]
    target = self._dest(dest, out_dtype, avoid=(x,))
    if target == x:  # never the case: an output is not an input
        return False
    self.lines.append(f"np.multiply({x}, {x}, out={target})")
    self._multistep = True
    if exponent.const == 3:
        self.lines.append(f"np.multiply({target}, {x}, out={target})")
    self.names[n.outputs[0].id] = target
    return True


def _emit_copy(self, n: Node, cd, args, out_dtype, dest) -> bool:
    """Casts and copies: `to_dtype` and `clone` write straight into their destination."""
    if tuple(n.inputs[0].meta.shape) != self.shape:
        return False
    target = self._dest(dest, out_dtype)
    self.lines.append(f"np.copyto({target}, {args[0]}, casting='unsafe')")
    self.names[n.outputs[0].id] = target
    return True


RENDERINGS: dict[OpDef, _Rendering] = {
    POW: _Rendering(_emit_pow, reads_after_write=True),
    TO_DTYPE: _Rendering(_emit_copy, reads_after_write=False),
    CLONE: _Rendering(_emit_copy, reads_after_write=False),
}


@functools.cache
def _kernel_defaults(op: OpDef) -> dict:
    """The keyword defaults of `op`'s kernel: an attribute equal to its default changes
    nothing (``add(a, b, alpha=1)`` is the ufunc ``add``)."""
    try:
        params = inspect.signature(op.kernel).parameters.values()
    except (TypeError, ValueError):
        return {}
    return {p.name: p.default for p in params if p.default is not inspect.Parameter.empty}


def _is_default(op: OpDef, name: str, value) -> bool:
    defaults = _kernel_defaults(op)
    return name in defaults and type(value) is type(defaults[name]) and value == defaults[name]


class _ExtraConst:
    """A constant operand from `OpDef.ufunc_args` (relu's 0), shaped like a const Value."""

    is_const = True

    def __init__(self, value):
        self.const = value


def _describe(node: Node) -> str:
    return format_node(node)
