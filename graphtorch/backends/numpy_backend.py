"""The NumPy backend: Python source generated from an optimised graph, compiled once.

Every OP node becomes one line of a generated function. Elementwise casts are decided at
generation time from the node's metas (the same promotion rules as eager dispatch), so the
generated code never inspects dtypes at run time; ops with a NumPy ufunc and no cast call the
ufunc directly, other ops call their registry kernel bound to its attributes. Fused nodes call
the kernel `backends.numpy_fused` writes for them, or its native build once g++ has made it
(`backends.native_fused`: C++ from the ops' CUDA renderings; see `program.native_sources`). When the graph carries a memory plan
(`passes.memory_planning`), dead values are deleted after their last use and elementwise
results are written with ``out=`` into dead buffers of the same shape and dtype.

    program = NumpyProgram(graph)
    print(program.code)          # the generated source
    outputs = program(*arrays)   # arrays for INPUT and PARAM nodes, in graph order
"""

from __future__ import annotations

import functools
import math

import numpy as np

from .. import blas
from ..ir import symbolic
from ..ir.graph import Graph, Node, NodeKind, Value
from ..ir.printing import format_node
from ..ops.constant import CONSTANT, constant_array
from ..ops.dispatch import _ERRSTATE, _IGNORE, _wrap_int_scalar
from ..ops.fused import is_fused
from ..ops.matmul import MATMUL
from ..ops.reduction import SUM
from ..ops.shape_rules import compute_dtype, normalize_dim, normalize_dims, output_dtype
from ..ops.views import ALIAS, TRANSPOSE, UNSAFE_VIEW, UNSQUEEZE
from ..passes.memory_planning import may_alias_inputs
from . import native_fused, numpy_fused

_LITERALS = (bool, int, float, str, type(None))


class CodeWriter:
    """Collects generated lines and the objects they refer to (the function's globals)."""

    def __init__(self):
        self.lines: list[str] = []
        self.namespace: dict = {"np": np, "inf": math.inf, "nan": math.nan}
        self.preamble: list[str] = []  # helper sources (fused kernels) shown in `.code`

    def name_for(self, obj, hint: str) -> str:
        """A global name bound to `obj` (readable, unique)."""
        base = "".join(c if c.isalnum() else "_" for c in hint)
        name, k = base, 1
        while name in self.namespace and self.namespace[name] is not obj:
            k += 1
            name = f"{base}_{k}"
        self.namespace[name] = obj
        return name

    def literal(self, value) -> str:
        """Source text for a Python constant (a global name for anything unusual); a symbolic
        size is its expression over the size variables bound at the top of the function."""
        if isinstance(value, symbolic.SymInt):
            return value.expr
        if isinstance(value, float):
            return "inf" if value == math.inf else "-inf" if value == -math.inf else \
                "nan" if value != value else repr(value)
        if isinstance(value, _LITERALS):
            return repr(value)
        if isinstance(value, tuple) and all(isinstance(v, _LITERALS) for v in value):
            return repr(value)
        return self.name_for(value, "c")


def _var(v: Value) -> str:
    return f"v{v.id}"


def _comment(node: Node) -> str:
    return format_node(node).split(" = ", 1)[1]


class NumpyProgram:
    """A graph compiled to a Python function over NumPy arrays (see the module docstring).

    ``code`` is the generated source; calling the program runs it. Inputs are arrays for the
    graph's INPUT and PARAM nodes in graph order; the result is a tuple of arrays.
    """

    def __init__(self, graph: Graph, name: str = "forward", xp=np,
                 inplace: dict[int, int] | None = None):
        self.graph = graph
        self.name = name
        self.xp = xp
        # output position -> id of the graph input whose buffer may take that output
        # (state updated in place: parameters, optimizer buffers), checked in `_out_plan`.
        self.in_place, self._alias_names = _in_place_outputs(graph, inplace or {})
        self.native_sources: dict[str, str] = {}  # fused function name -> C++ of its kernel
        writer = CodeWriter()
        writer.namespace["np"] = xp
        writer.namespace["_matmul"] = blas.matmul if xp is np else xp.matmul
        writer.namespace["_sum"] = blas.sum_into if xp is np else xp.add.reduce
        self._generate(writer)
        main = "\n".join(writer.lines) + "\n"
        # Fused kernels are compiled in their own namespaces; their source is shown here.
        self.code = "\n\n".join(writer.preamble + [main])
        namespace = dict(writer.namespace)
        exec(compile(main, f"<graphtorch {name}>", "exec"), namespace)  # noqa: S102
        self.fn = namespace[name]

    def __call__(self, *arrays, **sizes):
        return self.fn(*arrays, **sizes)

    # --- generation ------------------------------------------------------------------------

    def _generate(self, w: CodeWriter) -> None:
        graph = self.graph
        plan = getattr(graph, "memory_plan", None)
        args = [_var(n.outputs[0]) for n in graph.nodes
                if n.kind in (NodeKind.INPUT, NodeKind.PARAM)]
        body = _symbol_bindings(graph)
        # sizes no input shape holds as a bare dim (a backward graph sees `(s0*6)//4`):
        # the caller passes them by name
        bound = {line.split(" = ")[0] for line in body}
        self.free_symbols = sorted(symbolic.graph_symbols(graph) - bound)
        extra = [f"{name}=None" for name in self.free_symbols]
        signature = ", ".join(args + (["*"] + extra if extra else []))
        shared = _shared_constants(graph, plan) if self.xp is np else set()
        w.lines.append(f"def {self.name}({signature}):")
        for pos, node in enumerate(graph.nodes):
            if node.kind is NodeKind.OP and node.outputs[0].id in self._alias_names:
                # the alias of a value computed into an input's buffer: that very array, so
                # the write-back finds the state already updated (no copy)
                body.append(f"{_var(node.outputs[0])} = {_var(node.inputs[0])}"
                            f"  # {_comment(node)}")
            elif node.kind is NodeKind.OP and node.outputs[0].id in shared:
                # read-only and never written, returned or donated: one array for every run
                array = w.name_for(constant_array(node.attrs["value"]),
                                   f"const_{node.outputs[0].id}")
                body.append(f"{_var(node.outputs[0])} = {array}  # {_comment(node)}")
            elif node.kind is NodeKind.OP:
                out = None
                if plan is not None:
                    donor = plan.reuse.get(node.outputs[0].id)
                    out = f"v{donor}" if donor is not None else None
                targets = [self.in_place.get(v.id) for v in node.outputs]
                if any(t is not None for t in targets):
                    if len(targets) == 1:
                        out = f"v{targets[0]}"
                    else:
                        out = "(" + ", ".join("None" if t is None else f"v{t}"
                                              for t in targets) + ",)"
                body.append(f"{self._op_line(w, node, out)}  # {_comment(node)}")
            elif node.kind is NodeKind.OUTPUT:
                values = [self._arg(w, v) for v in node.inputs]
                body.append(f"return ({', '.join(values)},)" if values else "return ()")
                break
            if plan is not None:
                dead = plan.frees.get(pos)
                if dead:
                    body.append("del " + ", ".join(f"v{i}" for i in dead))
        if self.xp is np and _ERRSTATE is not None:
            # NumPy warns about inf/nan results; eager silences them too. Setting NumPy's
            # error-state context variable directly costs far less than np.errstate().
            w.namespace.update(_errstate=_ERRSTATE, _ignore=_IGNORE)
            w.lines.append("    _token = _errstate.set(_ignore)")
            w.lines.append("    try:")
            w.lines.extend("        " + line for line in body)
            w.lines.append("    finally:")
            w.lines.append("        _errstate.reset(_token)")
        elif self.xp is np:
            w.lines.append("    with np.errstate(all='ignore'):")
            w.lines.extend("        " + line for line in body)
        else:
            w.lines.extend("    " + line for line in body)

    def _arg(self, w: CodeWriter, v) -> str:
        if isinstance(v, list):
            return "[" + ", ".join(self._arg(w, x) for x in v) + "]"
        return w.literal(v.const) if v.is_const else _var(v)

    def _op_line(self, w: CodeWriter, node: Node, out: str | None) -> str:
        op = node.op
        lhs = ", ".join(_var(v) for v in node.outputs)
        if len(node.outputs) == 1 and op.num_outputs != 1:
            lhs += ","
        if is_fused(op):
            return f"{lhs} = {self._fused_call(w, node, out)}"
        args = [self._arg(w, v) for v in node.inputs]
        meta = node.outputs[0].meta
        render = RENDERINGS.get(op.graph_op or op)  # the op its kernel runs as
        if render is not None and self.xp is np and not symbolic.has_symbols(node.attrs):
            expr = render(node, args)
            if expr is not None:
                return f"{lhs} = {self._as_array(expr, meta)}"
        if op.promotion is not None:
            casts, out_np = elementwise_casts(node)
            args = [f"{a}.astype({w.literal(c)})" if c is not None else a
                    for a, c in zip(args, casts)]
            compute = casts_dtype(node)
            if compute.kind in "iu":  # out-of-range Python ints wrap around, as in eager
                args = [w.literal(_wrap_int_scalar(v.const, compute))
                        if v.is_const and type(v.const) is int else a
                        for a, v in zip(args, node.inputs)]
            if op.ufunc and not node.attrs and out_np is None:
                ufunc = w.name_for(getattr(np, op.ufunc), f"np_{op.ufunc}")
                args += [w.literal(c) for c in op.ufunc_args]
                call = f"{ufunc}({', '.join(args)}" + (f", out={out})" if out else ")")
                return f"{lhs} = {self._as_array(call, meta)}"
            kernel, sized = self._kernel(w, node)
            call = f"{kernel}({', '.join(args + sized)})"
            if out_np is not None:
                call = f"{call}.astype({w.literal(out_np)})"
            return f"{lhs} = {self._as_array(call, meta)}"
        kernel, sized = self._kernel(w, node)
        call = f"{kernel}({', '.join(args + sized)})"
        if op.num_outputs == 1:
            return f"{lhs} = {self._checked(w, call, node.outputs[0])}"
        return f"{lhs} = {w.name_for(_fix_outputs, 'fix_outputs')}({call}, " \
               f"{w.literal(tuple(v.meta.dtype.np_dtype for v in node.outputs))})"

    def _as_array(self, call: str, meta) -> str:
        return f"np.asarray({call})" if len(meta.shape) == 0 else call

    def _checked(self, w: CodeWriter, call: str, v: Value) -> str:
        """Kernel results of non-elementwise ops: a 0-d result may be a NumPy scalar, and a
        few kernels return a wider dtype than the op's rule; fix both as dispatch does."""
        return f"{w.name_for(_fix, 'fix')}({call}, {w.literal(v.meta.dtype.np_dtype)})"

    def _kernel(self, w: CodeWriter, node: Node) -> tuple[str, list[str]]:
        """The kernel bound to its constant attributes, and ``name=expr`` source for the
        attributes that depend on symbolic sizes (evaluated at every call)."""
        op = node.op.graph_op or node.op
        fixed = {k: v for k, v in node.attrs.items() if not symbolic.has_symbols(v)}
        sized = [f"{k}={symbolic.source(v, lambda obj: w.name_for(obj, 'c'))}"
                 for k, v in node.attrs.items() if symbolic.has_symbols(v)]
        bound = functools.partial(op.kernel, self.xp, **fixed)
        return w.name_for(bound, f"{op.name}_{node.outputs[0].id}"), sized

    def _fused_call(self, w: CodeWriter, node: Node, out: str | None) -> str:
        fn_name = f"fused_{node.outputs[0].id}"
        fn, source = numpy_fused.compile_fused(node, fn_name)
        if self.xp is np:  # the native tier runs it once built (NumPy until then)
            fn = native_fused.accelerate(node, fn)
        w.namespace[fn_name] = fn
        if isinstance(fn, native_fused.NativeFused):
            source = (f"# {fn_name} runs as native kernel {fn.name} once g++ has built it "
                      f"(its C++: .native_sources); until then, and for operands it does not "
                      f"take, this NumPy code:\n{source}")
            self.native_sources[fn_name] = fn.source
        w.preamble.append(source.rstrip())
        args = [self._arg(w, v) for v in node.inputs]
        if out:
            args.append(f"out={out}")
        return f"{fn_name}({', '.join(args)})"


# --- direct NumPy expressions for cheap ops (keyed by OpDef) --------------------------------
# A view or a reduction on small arrays costs more in the kernel's generic argument handling
# (dims normalised per call, a bound partial, the result check) than in NumPy; with the
# input's rank known here, these ops are one NumPy call, exactly the one their kernel
# makes. A rendering returns the expression, or None to fall back to the kernel.

def _render_transpose(node: Node, args):
    ndim = len(node.inputs[0].meta.shape)
    if ndim < 2:
        return None
    d0, d1 = (normalize_dim(node.attrs[k], ndim) for k in ("dim0", "dim1"))
    return f"{args[0]}.T" if ndim == 2 and d0 != d1 else f"np.swapaxes({args[0]}, {d0}, {d1})"


def _render_unsqueeze(node: Node, args):
    d = normalize_dim(node.attrs["dim"], len(node.inputs[0].meta.shape) + 1)
    return f"{args[0]}[{':, ' * d}None]"  # np.expand_dims' view, by indexing (10x cheaper)


def _render_alias(node: Node, args):
    return f"{args[0]}.view()"


def _render_reshape(node: Node, args):
    shape = tuple(node.outputs[0].meta.shape)
    return None if symbolic.has_symbols(shape) else f"np.reshape({args[0]}, {shape!r})"


def _render_matmul(node: Node, args):
    a, b = node.inputs
    if a.is_const or b.is_const or a.meta.dtype is not b.meta.dtype \
            or a.meta.dtype.np_dtype.kind not in "fc" or not a.meta.shape or not b.meta.shape:
        return None  # the kernel's operand checks
    return f"_matmul({args[0]}, {args[1]})"  # MKL when loaded (graphtorch.blas)


def _render_sum(node: Node, args):
    x = node.inputs[0]
    ndim = len(x.meta.shape)
    out = node.outputs[0].meta.dtype.np_dtype
    if x.is_const or x.meta.dtype.np_dtype.kind not in "fc" or out != x.meta.dtype.np_dtype:
        return None  # integer sums widen; keep the kernel's dtype rules
    dims = node.attrs.get("dims")
    keep = bool(node.attrs.get("keepdim", False))
    if dims is None or ndim == 0:
        axis = None
    else:
        axis = tuple(normalize_dims(dims, ndim))
    call = "_sum" if ndim >= 2 else "np.add.reduce"  # _sum: large column sums as a GEMV
    return f"{call}({args[0]}, axis={axis!r}, keepdims={keep}, dtype=np.{out.name})"


RENDERINGS = {TRANSPOSE: _render_transpose, UNSQUEEZE: _render_unsqueeze, ALIAS: _render_alias,
              UNSAFE_VIEW: _render_reshape, MATMUL: _render_matmul, SUM: _render_sum}


def _symbol_bindings(graph: Graph) -> list[str]:
    """``s0 = v3.shape[1]`` for every size symbol an input's shape holds as a bare dim."""
    lines, bound = [], set()
    for node in graph.nodes:
        if node.kind not in (NodeKind.INPUT, NodeKind.PARAM):
            continue
        for d, size in enumerate(node.outputs[0].meta.shape):
            if isinstance(size, symbolic.SymInt) and size.expr.isidentifier() \
                    and size.expr not in bound:
                bound.add(size.expr)
                lines.append(f"{size.expr} = {_var(node.outputs[0])}.shape[{d}]")
    return lines


def _shared_constants(graph: Graph, plan) -> set:
    """Ids of `constant` values the generated code may bind to their (read-only) array
    instead of copying it on every run: no output may share their memory (results and
    state must be fresh, writeable arrays) and the memory plan never writes into them."""
    constants = {n.outputs[0].id for n in graph.nodes
                 if n.kind is NodeKind.OP and n.op is CONSTANT}
    if not constants:
        return set()
    if plan is not None:
        constants -= set(plan.reuse.values())
    roots: dict[int, set] = {}
    for node in graph.nodes:
        if node.kind is NodeKind.OP and may_alias_inputs(node):
            ins = node.tensor_inputs()
            found = set().union(*(roots.get(v.id, {v.id}) for v in ins)) if ins else set()
            for v in node.outputs:
                roots[v.id] = found | {v.id}
    for v in graph.outputs:
        if not v.is_const:
            constants -= roots.get(v.id, {v.id})
    return constants


def _in_place_outputs(graph: Graph, wanted: dict[int, int]) -> tuple[dict[int, int], set]:
    """(output value id -> input value id, alias value ids) for outputs written straight
    into an input's buffer: the output is the new value of that input (a parameter updated
    in place; an in-place op's result may reach the output through `alias` nodes, which
    then name the same array), its node can write with ``out=`` (a fused node, or a ufunc
    op without casts or attributes), shapes and dtypes match, neither the input nor
    anything that may alias it is read after that node or returned, and no other output
    may share the new value's memory."""
    if not wanted:
        return {}, set()
    position = {id(n): i for i, n in enumerate(graph.nodes)}
    outputs = list(graph.outputs)
    # aliases: value id -> the input ids whose memory it may share
    alias_of: dict[int, set] = {}
    last_read: dict[int, int] = {}
    for pos, node in enumerate(graph.nodes):
        ins = node.tensor_inputs()
        for v in ins:
            for root in alias_of.get(v.id, {v.id}):
                last_read[root] = pos
        if node.kind is NodeKind.OP and may_alias_inputs(node):
            roots = set().union(*(alias_of.get(v.id, {v.id}) for v in ins)) if ins else set()
            for v in node.outputs:
                alias_of[v.id] = roots | {v.id}
    result, alias_names = {}, set()
    for k, input_id in wanted.items():
        if k >= len(outputs) or outputs[k].is_const:
            continue
        v = outputs[k]
        through = []
        while v.node is not None and v.node.kind is NodeKind.OP and v.node.op is ALIAS \
                and not v.node.inputs[0].is_const and v.node.inputs[0].meta == v.meta:
            through.append(v.id)
            v = v.node.inputs[0]
        node = v.node
        source = next((n.outputs[0] for n in graph.nodes
                       if n.kind in (NodeKind.INPUT, NodeKind.PARAM)
                       and n.outputs[0].id == input_id), None)
        if node is None or node.kind is not NodeKind.OP or source is None:
            continue
        if v.meta != source.meta or v.id in result or input_id in result.values():
            continue
        if not is_fused(node.op) and not (
                node.op.num_outputs == 1 and node.op.ufunc and not node.attrs
                and node.op.promotion is not None
                and all(c is None for c in elementwise_casts(node)[0])
                and elementwise_casts(node)[1] is None):
            continue
        returned = [i for i, o in enumerate(outputs) if not o.is_const and (
            input_id in alias_of.get(o.id, {o.id}))]
        if returned or last_read.get(input_id, -1) > position[id(node)]:
            continue
        shared = [i for i, o in enumerate(outputs) if i != k and not o.is_const and (
            v.id in alias_of.get(o.id, {o.id}))]
        if shared:
            continue
        result[v.id] = input_id
        alias_names.update(through)
    return result, alias_names


def _fix(out, np_dtype):
    if type(out) is not np.ndarray:
        out = np.asarray(out)
    return out if out.dtype == np_dtype else out.astype(np_dtype)


def _fix_outputs(outs, np_dtypes):
    return tuple(_fix(o, d) for o, d in zip(outs, np_dtypes))


def casts_dtype(node: Node):
    """The numpy dtype an elementwise node computes in."""
    metas = [v.const if v.is_const else v.meta for v in node.inputs]
    return compute_dtype(node.op.promotion, metas).np_dtype


def elementwise_casts(node: Node):
    """(per-input numpy dtype to cast to or None, output numpy dtype to cast to or None) for
    an elementwise node, decided from metas exactly as `dispatch._promote` decides at run
    time."""
    op = node.op
    metas = [v.const if v.is_const else v.meta for v in node.inputs]
    computed = compute_dtype(op.promotion, metas)
    np_dtype = computed.np_dtype
    casts = [np_dtype if not v.is_const and v.meta.dtype.np_dtype != np_dtype else None
             for v in node.inputs]
    out_np = output_dtype(op.promotion, computed).np_dtype
    return casts, (None if out_np == np_dtype else out_np)


