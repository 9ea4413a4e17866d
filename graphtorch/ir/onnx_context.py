"""The machinery render functions draw ONNX with: `ExportState`, `Scope`, `RenderContext`.

A render function (one per op, in the tables of `onnx_ops`, `onnx_nn_ops`, `onnx_control`)
emits ONNX nodes through a `RenderContext`. Every ONNX node it emits is named after the
graph node (``addmm_6``: the op and its first output's id; helpers ``addmm_6/Cast_0``) and
carries the user's ``file:line in fn`` as its doc_string; the final tensors take the graph
values' names. Constants and symbolic sizes live in the main graph, so subgraphs (Loop
bodies, If branches) read them from the outer scope. A size symbol (`graphtorch.symbolic`) is a
named ONNX dim, and where an op needs it as a number, a ``Shape`` of the input it came from.
"""

from __future__ import annotations

import ast
import re

import numpy as np
from onnx import helper, numpy_helper

from .. import dtypes
from ..symbolic import SymInt, has_symbols
from .graph import Graph, Node, NodeKind, Value
from .onnx_errors import OnnxExporterError, UnsupportedOperatorError

INT64_MAX = 2**63 - 1
# Python operators of size expressions; sizes are >= 0, where ONNX's truncating Div is floor.
_SIZE_OPS = {ast.Add: "Add", ast.Sub: "Sub", ast.Mult: "Mul", ast.FloorDiv: "Div",
             ast.Mod: "Mod"}
INT64_MIN = -(2**63)


def simplify(expr: str) -> str:
    """A size expression in its simplest exact form, when it is a polynomial of the size
    symbols with exact divisions (``((s0 * 16) * 25) // 400`` -> ``s0``); else unchanged."""
    poly = _polynomial(ast.parse(expr, mode="eval").body)
    if poly is None:
        return expr
    terms = []
    for monomial, coef in sorted(poly.items(), key=lambda t: (-len(t[0]), t[0])):
        factors = list(monomial) if coef == 1 and monomial else [str(coef), *monomial]
        terms.append(" * ".join(factors))
    return " + ".join(terms).replace("+ -", "- ") if terms else "0"


def _polynomial(tree) -> dict | None:
    """{sorted symbol tuple: coefficient} for + - * and exact // and % by constants."""
    if isinstance(tree, ast.Constant) and type(tree.value) is int:
        return {(): tree.value} if tree.value else {}
    if isinstance(tree, ast.Name):
        return {(tree.id,): 1}
    if isinstance(tree, ast.UnaryOp) and isinstance(tree.op, ast.USub):
        inner = _polynomial(tree.operand)
        return None if inner is None else {m: -c for m, c in inner.items()}
    if not isinstance(tree, ast.BinOp):
        return None
    left, right = _polynomial(tree.left), _polynomial(tree.right)
    if left is None or right is None:
        return None
    out: dict = {}
    if isinstance(tree.op, (ast.Add, ast.Sub)):
        sign = 1 if isinstance(tree.op, ast.Add) else -1
        for m, c in [*left.items(), *((m, sign * c) for m, c in right.items())]:
            out[m] = out.get(m, 0) + c
    elif isinstance(tree.op, ast.Mult):
        for (m1, c1) in left.items():
            for (m2, c2) in right.items():
                m = tuple(sorted(m1 + m2))
                out[m] = out.get(m, 0) + c1 * c2
    elif isinstance(tree.op, (ast.FloorDiv, ast.Mod)) and set(right) == {()}:
        c = right[()]
        if any(v % c for v in left.values()):
            return None
        out = {m: v // c for m, v in left.items()} if isinstance(tree.op, ast.FloorDiv) else {}
    else:
        return None
    return {m: c for m, c in out.items() if c}


def where(node: Node) -> str:
    """The user's ``file:line in function`` that created `node`."""
    s = node.source
    return f"{s[0]}:{s[1]} in {s[2]}" if s else "<unknown location>"


def tensor_type(dtype: dtypes.DType) -> int:
    """The ONNX element type (TensorProto.FLOAT, ...) of a graphtorch dtype."""
    if dtype.np_dtype is None:
        raise OnnxExporterError(f"{dtype} has no ONNX element type in graphtorch")
    return helper.np_dtype_to_tensor_dtype(dtype.np_dtype)


class ExportState:
    """What every scope of one export shares: the opset, unique tensor names, constants and
    size computations (kept in the main graph, visible to every subgraph), and the graph
    input dimension each size symbol reads."""

    def __init__(self, opset: int, dim_names: dict[str, str], find_renderer):
        self.opset = opset
        self.find_renderer = find_renderer    # OpDef -> render function or None
        self.dim_names = dim_names            # symbol -> ONNX dim_param
        self.taken: set[str] = set()
        self.initializers: list = []
        self.constants: dict[tuple, str] = {}
        self.sizes: dict[str, str] = {}
        self.symbols: dict[str, tuple[str, int]] = {}  # symbol -> (input tensor, dim)
        self.root: Scope | None = None

    def fresh(self, base: str) -> str:
        name, k = base, 1
        while name in self.taken:
            k += 1
            name = f"{base}_{k}"
        self.taken.add(name)
        return name

    def constant(self, array: np.ndarray) -> str:
        """An initializer holding `array` (shared by equal constants)."""
        array = np.asarray(array, order="C")
        key = (array.dtype.str, array.shape, array.tobytes())
        name = self.constants.get(key)
        if name is None:
            name = self.constants[key] = self.fresh("const")
            self.initializers.append(numpy_helper.from_array(array, name))
        return name

    # --- symbolic sizes ------------------------------------------------------------------

    def size(self, value) -> str:
        """A 1-element int64 tensor holding `value` (an int or a SymInt)."""
        if not isinstance(value, SymInt):
            return self.constant(np.array([int(value)], dtype=np.int64))
        return self._size(ast.parse(simplify(value.expr), mode="eval").body)

    def _size(self, tree) -> str:
        key = ast.unparse(tree)
        hit = self.sizes.get(key)
        if hit is not None:
            return hit
        if isinstance(tree, ast.Constant) and type(tree.value) is int:
            return self.constant(np.array([tree.value], dtype=np.int64))
        if isinstance(tree, ast.Name):
            if tree.id not in self.symbols:
                raise OnnxExporterError(f"the symbolic size {tree.id} is no dimension of a "
                                        "graph input; cannot compute it in ONNX")
            tensor, dim = self.symbols[tree.id]
            name = self._root_node("Shape", [tensor], f"size_{tree.id}", start=dim, end=dim + 1)
        elif isinstance(tree, ast.BinOp) and type(tree.op) in _SIZE_OPS:
            name = self._root_node(_SIZE_OPS[type(tree.op)],
                                   [self._size(tree.left), self._size(tree.right)], "size")
        elif isinstance(tree, ast.UnaryOp) and isinstance(tree.op, ast.USub):
            name = self._root_node("Neg", [self._size(tree.operand)], "size")
        else:
            raise OnnxExporterError(f"cannot compute the symbolic size {key} in ONNX")
        self.sizes[key] = name
        return name

    def shape(self, sizes) -> str:
        """A 1-D int64 tensor holding `sizes` (ints and SymInts)."""
        sizes = tuple(sizes)
        if not has_symbols(sizes):
            return self.constant(np.array(sizes, dtype=np.int64).reshape(-1))
        key = "shape" + repr(sizes)
        hit = self.sizes.get(key)
        if hit is None:
            pieces, run = [], []
            for s in sizes:
                if isinstance(s, SymInt):
                    if run:
                        pieces.append(self.constant(np.array(run, dtype=np.int64)))
                        run = []
                    pieces.append(self.size(s))
                else:
                    run.append(int(s))
            if run:
                pieces.append(self.constant(np.array(run, dtype=np.int64)))
            hit = self.sizes[key] = self._root_node("Concat", pieces, "shape", axis=0)
        return hit

    def _root_node(self, op_type: str, inputs: list[str], hint: str, **attrs) -> str:
        out = self.fresh(hint)
        self.root.nodes.append(helper.make_node(op_type, inputs, [out], name=out,
                                                doc_string="a symbolic size", **attrs))
        return out

    def dim_param(self, size) -> str:
        """The ONNX dim name of a symbolic size (its symbols renamed by `dim_names`)."""
        expr = simplify(size.expr)
        if expr in self.dim_names:
            return self.dim_names[expr]
        return re.sub(r"\b(s\d+)\b", lambda m: self.dim_names.get(m.group(1), m.group(1)),
                      expr)

    def value_info(self, name: str, meta):
        """A ValueInfoProto: element type and shape (named dims for symbolic sizes, unknown
        dims for data-dependent ones)."""
        dims = [self.dim_param(s) if isinstance(s, SymInt) else (None if s < 0 else int(s))
                for s in meta.shape]
        return helper.make_tensor_value_info(name, tensor_type(meta.dtype), dims)


class Scope:
    """One ONNX graph being built (the main graph or a subgraph body) and the tensor name
    of every graph Value rendered into it."""

    def __init__(self, state: ExportState, prefix: str = ""):
        self.state = state
        self.prefix = prefix
        self.nodes: list = []
        self.names: dict[Value, str] = {}
        self.planned: dict[Value, str] = {}   # preferred names (the main graph's outputs)
        self.value_info: list = []
        self.inputs: list = []

    def formal(self, hint: str, meta) -> str:
        """Add a formal input to this (sub)graph; returns its tensor name."""
        name = self.state.fresh(self.prefix + hint)
        self.inputs.append(self.state.value_info(name, meta))
        return name

    def lookup(self, v: Value) -> str:
        try:
            return self.names[v]
        except KeyError:
            raise OnnxExporterError(f"{v.name} is used before it is rendered (a bug in the "
                                    "ONNX exporter)") from None

    def render(self, graph: Graph) -> None:
        """Render the OP nodes of `graph` (its INPUT/PARAM values must be bound in `names`)."""
        used = set(graph.users())
        for node in graph.nodes:
            if node.kind is NodeKind.OP:
                render_node(self, node, used)

    def outputs(self, sources: list[str], metas, names=None) -> list:
        """Graph outputs for tensors `sources`: ValueInfoProtos, with an Identity where a
        tensor was not computed in this scope (an input, an outer value, a constant), is
        returned twice or must carry another name (`names`): an ONNX graph output is a
        distinct tensor made by the graph's own nodes."""
        made = {o for n in self.nodes for o in n.output}
        seen, infos = set(), []
        for k, (source, meta) in enumerate(zip(sources, metas)):
            want = names[k] if names and k < len(names) and names[k] else None
            name = source
            if source not in made or source in seen or (want and want != source):
                name = want if want and want != source else \
                    self.state.fresh(f"{self.prefix}output_{k}")
                self.nodes.append(helper.make_node("Identity", [source], [name], name=name))
            seen.add(name)
            infos.append(self.state.value_info(name, meta))
        return infos

    def graph_proto(self, name: str, outputs: list, initializers=()):
        """The GraphProto of this scope (value_info of every intermediate tensor)."""
        ends = {i.name for i in self.inputs} | {o.name for o in outputs}
        infos = [i for i in self.value_info if i.name not in ends]
        return helper.make_graph(self.nodes, name, self.inputs, outputs,
                                 initializer=list(initializers), value_info=infos)


class RenderContext:
    """What a render function sees: the graph node, its inputs as ONNX tensor names, and
    `emit`, which appends ONNX nodes named after the graph node with its source line."""

    def __init__(self, scope: Scope, node: Node | None, used: set):
        self.scope = scope
        self.state = scope.state
        self.node = node
        self.attrs = node.attrs if node is not None else {}
        self.base = scope.prefix + (f"{node.op.name}_{node.outputs[0].id}" if node else "c")
        self.doc = where(node) if node is not None else ""
        self.emitted: list = []
        self._used = used

    @property
    def opset(self) -> int:
        return self.state.opset

    def used(self, k: int) -> bool:
        """Whether output `k` of the node is read by anything (renderers may skip it)."""
        return self.node.outputs[k].id in self._used

    def fail(self, reason: str):
        raise UnsupportedOperatorError(
            f"cannot export {self.node.op.name} to ONNX (opset {self.opset}): {reason}; "
            f"traced at {self.doc}")

    # --- emitting ------------------------------------------------------------------------

    def emit(self, op_type: str, inputs, num_outputs: int = 1, **attrs):
        """Append one ONNX node; returns its output name (a list if num_outputs != 1)."""
        outs = [self.state.fresh(f"{self.base}_{op_type}") for _ in range(num_outputs)]
        name = f"{self.base}/{op_type}_{len(self.emitted)}"
        node = helper.make_node(op_type, list(inputs), outs, name=name, doc_string=self.doc,
                                **attrs)
        self.scope.nodes.append(node)
        self.emitted.append(node)
        return outs[0] if num_outputs == 1 else outs

    def const(self, value, dtype: dtypes.DType) -> str:
        """An initializer holding `value` (a Python scalar or array) as `dtype`."""
        array = np.array(value)
        if dtype.np_dtype.kind in "iu" and array.dtype.kind in "iu":
            array = array.astype(np.int64).astype(dtype.np_dtype)  # wraps, as eager does
        else:
            array = array.astype(dtype.np_dtype)
        return self.state.constant(array)

    def ints(self, values) -> str:
        """A 1-D int64 initializer (axes, pads, starts...)."""
        return self.state.constant(np.array(list(values), dtype=np.int64).reshape(-1))

    def shape(self, sizes) -> str:
        return self.state.shape(sizes)

    def size(self, value) -> str:
        return self.state.size(value)

    def scalar_size(self, value) -> str:
        """A 0-d int64 tensor holding an int or SymInt."""
        if not isinstance(value, SymInt):
            return self.state.constant(np.array(int(value), dtype=np.int64))
        return self.emit("Squeeze", [self.size(value), self.ints([0])])

    def cast(self, name: str, dtype: dtypes.DType) -> str:
        return self.emit("Cast", [name], to=tensor_type(dtype))

    def value(self, v: Value, dtype: dtypes.DType | None = None) -> str:
        """The ONNX tensor for `v`, cast to `dtype` when given; constants become
        initializers ("" for None: an absent optional input)."""
        if v.is_const:
            c = v.const
            if c is None:
                return ""
            if isinstance(c, SymInt):
                name = self.scalar_size(c)
                return name if dtype in (None, dtypes.int64) else self.cast(name, dtype)
            if dtype is None:
                dtype = dtypes.bool_ if isinstance(c, (bool, np.bool_)) else dtypes.int64 \
                    if isinstance(c, (int, np.integer)) else dtypes.get_default_dtype()
            return self.const(c, dtype)
        name = self.scope.lookup(v)
        if dtype is not None and v.meta.dtype is not dtype:
            name = self.cast(name, dtype)
        return name

    def input(self, i: int, dtype: dtypes.DType | None = None) -> str:
        return self.value(self.node.inputs[i], dtype)

    def meta(self, i: int):
        return self.node.inputs[i].meta

    def out_meta(self, k: int = 0):
        return self.node.outputs[k].meta

    def reduce(self, op_type: str, x: str, axes, keepdims: bool) -> str:
        """ReduceX over `axes` (None: all); opsets before 18 take axes as an attribute
        (ReduceSum since 13 as an input)."""
        kw = {"keepdims": int(bool(keepdims))}
        if axes is None:
            return self.emit(op_type, [x], **kw)
        axes = list(axes)
        if not axes:  # reduce over nothing: the input itself (ONNX would reduce over all)
            return self.emit("Identity", [x])
        if op_type == "ReduceSum" or self.opset >= 18:
            return self.emit(op_type, [x, self.ints(axes)], **kw)
        return self.emit(op_type, [x], axes=axes, **kw)

    def subscope(self, name: str) -> Scope:
        """A new ONNX subgraph (a Loop body, an If branch) named after this node; it reads
        outer tensors (operands, captures, constants) by name."""
        return Scope(self.state, f"{self.base}/{name}/")

    def inline(self, scope: Scope, graph: Graph, inputs: list[str], prefix: str) -> list[str]:
        """Render `graph` into `scope`'s own node list (a fused group expanded back to its
        primitives, a loop condition) with its INPUT nodes reading tensors `inputs`;
        returns the tensors of its outputs."""
        part = Scope(self.state, prefix)
        part.nodes, part.value_info = scope.nodes, scope.value_info
        for node, name in zip(graph.inputs, inputs):
            part.names[node.outputs[0]] = name
        part.render(graph)
        reader = RenderContext(part, None, set())
        return [reader.value(v) for v in graph.outputs]

    def finish_subgraph(self, scope: Scope, name: str, outputs: list[str], metas):
        """The GraphProto of a subgraph scope returning tensors `outputs`."""
        return scope.graph_proto(f"{self.base}/{name}", scope.outputs(outputs, metas))


def _empty(node: Node) -> bool:
    """Whether every output is statically empty (then its value is its shape alone)."""
    return all(not has_symbols(tuple(v.meta.shape)) and 0 in v.meta.shape
               for v in node.outputs)


def render_node(scope: Scope, node: Node, used: set) -> None:
    render = scope.state.find_renderer(node.op)
    if render is None and not _empty(node):
        raise UnsupportedOperatorError(
            f"graphtorch op '{node.op.name}' has no ONNX rendering; traced at {where(node)}")
    ctx = RenderContext(scope, node, used)
    metas = [v.meta for v in node.tensor_inputs()] + [v.meta for v in node.outputs]
    if any(m.dtype.is_complex for m in metas):
        ctx.fail("complex tensors (ONNX Runtime has no complex kernels for it)")
    if _empty(node):
        result = [ctx.emit("ConstantOfShape", [ctx.shape(v.meta.shape)], value=numpy_helper
                           .from_array(np.zeros(1, v.meta.dtype.np_dtype))) for v in node.outputs]
    else:
        result = render(ctx)
    outs = [result] if result is None or isinstance(result, str) else list(result)
    outs += [None] * (len(node.outputs) - len(outs))
    made = {o for n in ctx.emitted for o in n.output}
    renames = {}
    for k, (v, name) in enumerate(zip(node.outputs, outs)):
        if name is None:
            if v.id in used:
                ctx.fail(f"output {k} ({v.meta}) has no ONNX form but is used")
            continue
        if name in made and name not in renames:
            want = scope.planned.get(v) or scope.state.fresh(f"{scope.prefix}{node.op.name}_"
                                                              f"{v.id}")
            renames[name] = want
            name = want
            scope.value_info.append(scope.state.value_info(name, v.meta))
        scope.names[v] = renames.get(name, name)
    for n in ctx.emitted:  # final tensors get the graph value's name, the node its id
        n.output[:] = [renames.get(o, o) for o in n.output]
        n.input[:] = [renames.get(i, i) for i in n.input]
        if any(o == scope.names.get(node.outputs[0]) for o in n.output):
            n.name = ctx.base


