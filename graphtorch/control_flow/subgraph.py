"""Tracing a branch or loop body into its own self-contained `Graph` (closure conversion).

`trace_subgraph(fn, args, ...)` runs `fn` on fresh symbolic inputs under a `SubTracer`.
Tensors that the body reads from outside (symbolic values of an enclosing graph, or concrete
tensors such as parameters) become extra INPUT nodes of the subgraph: the `Subgraph` result
lists them as `captures`, and the control-flow node passes them as extra operands, so the
subgraph refers to nothing outside itself. Nested control flow works the same way: the inner
node's captures are resolved by the enclosing `SubTracer`, which captures them in turn.

`record_node` appends the control-flow node to the enclosing trace (recording autograd on
the symbolic tensors as `dispatch.call` does), and `run_graph` executes a subgraph with the
op-by-op interpreter (what the kernels and the vjps use).
"""

from __future__ import annotations

import dataclasses
import weakref

import numpy as np

from ..autograd.grad_mode import no_grad
from ..backends.interpreter import Interpreter
from ..backends.numpy_backend import NumpyProgram
from ..dtypes import from_numpy_dtype
from ..ir import tracer as _tracer
from ..ir.graph import Graph, NodeKind, Value
from ..ir.tracer import SymbolicArray, Tracer, TracingError, current_tracer
from ..ops import dispatch
from ..ops.registry import Category, OpDef, TensorMeta
from ..tensor import Tensor
from . import pytree


def tensor_meta(t) -> TensorMeta:
    """The TensorMeta of a tensor (concrete or symbolic)."""
    return TensorMeta(tuple(t._data.shape), from_numpy_dtype(t._data.dtype))


def is_float(t) -> bool:
    """Whether a tensor (or a TensorMeta) has a floating or complex dtype (differentiable)."""
    dtype = t.dtype if isinstance(t, TensorMeta) else from_numpy_dtype(t._data.dtype)
    return dtype.is_floating_point or dtype.is_complex


class SubTracer(Tracer):
    """Records one branch/body into its own graph; outside tensors become captured inputs."""

    def __init__(self, parent: Tracer | None):
        super().__init__({})
        self.parent = parent
        self.eager_semantics = getattr(parent, "eager_semantics", False)
        self.captures: dict[int, tuple] = {}  # id(tensor) -> (tensor, its data, inner Value)
        self._names: set[str] = set()

    def unique_name(self, name: str) -> str:
        base, k = name, 1
        while name in self._names:
            name, k = f"{base}_{k}", k + 1
        self._names.add(name)
        return name

    def add_input(self, name: str, meta: TensorMeta) -> Value:
        return self.graph.add_input(self.unique_name(name), meta, NodeKind.INPUT)

    def value_of(self, tensor) -> Value:
        data = tensor._data
        if type(data) is SymbolicArray and data.value.node is not None \
                and data.value.node.graph is self.graph:
            return data.value
        hit = self.captures.get(id(tensor))
        if hit is None:
            value = self.add_input(_capture_name(tensor, len(self.captures)),
                                   tensor_meta(tensor))
            hit = self.captures[id(tensor)] = (tensor, data, value)
        return hit[2]

    def bind_lifted(self, tensor) -> None:
        """An in-place write into a concrete outside tensor (a parameter, a capture)."""
        raise TracingError(f"{_where()}: a control-flow body writes in place into a tensor "
                           "from outside the function; return the new value instead")


def _capture_name(tensor, k: int) -> str:
    """The outer input/parameter name when the captured tensor is one, else ``captureK``."""
    data = tensor._data
    if type(data) is SymbolicArray and data.value.node is not None \
            and data.value.node.kind in (NodeKind.INPUT, NodeKind.PARAM):
        return data.value.node.name
    return f"capture{k}"


@dataclasses.dataclass
class Subgraph:
    """A traced body: its graph (INPUT nodes: the arguments' leaves, then the captures), the
    output pytree's structure and symbolic leaves, and the captured outer tensors."""

    graph: Graph
    out_tree: pytree.TreeDef
    out_leaves: list
    captures: list            # outer tensors, in the order of the capture INPUT nodes
    capture_values: list      # the capture INPUT values, same order
    tracer: SubTracer


def spec(t, drop_leading: bool = False) -> tuple:
    """(TensorMeta, requires_grad) of a tensor, describing one subgraph argument; with
    `drop_leading`, of one slice along dim 0 (a scanned-over ``x``)."""
    meta = tensor_meta(t)
    if drop_leading:
        meta = TensorMeta(meta.shape[1:], meta.dtype)
    return meta, bool(t.requires_grad)


def trace_subgraph(fn, args: list, arg_tree: pytree.TreeDef, names: list[str],
                   what: str) -> Subgraph:
    """Trace ``fn(*unflatten(arg_tree, symbolic args))`` into a new graph.

    `args` are ``(TensorMeta, requires_grad)`` pairs (see `spec`), one per argument leaf;
    `names` name the INPUT nodes. The output's leaves must be tensors. Raises
    TracingError when the body writes in place into its inputs or into outside tensors.
    """
    sub = SubTracer(current_tracer())
    inner = []
    for (meta, requires_grad), name in zip(args, names):
        value = sub.add_input(name, meta)
        s = Tensor._wrap(SymbolicArray(meta.shape, meta.dtype.np_dtype, value))
        s._requires_grad = requires_grad and is_float(meta)
        inner.append((s, value))
    previous = current_tracer()
    _tracer._STATE.tracer = sub
    try:
        result = fn(*pytree.unflatten(arg_tree, [s for s, _ in inner]))
        leaves, tree = pytree.flatten(result, what)
        values = [sub.value_of(o) for o in leaves]
    finally:
        _tracer._STATE.tracer = previous
        changed = [(t, d) for t, d, _ in sub.captures.values() if t._data is not d]
        for t, d in changed:  # never leave an outer tensor pointing into the subgraph
            t._data = d
    if changed:
        raise TracingError(f"{_where()}: {what} writes in place into a tensor from outside "
                           "the function; return the new value instead")
    if any(s._data.value is not v for s, v in inner):
        raise TracingError(f"{_where()}: {what} writes in place into one of its arguments; "
                           "return the new value instead")
    sub.graph.set_outputs(values)
    captures = list(sub.captures.values())
    return Subgraph(sub.graph, tree, leaves, [c[0] for c in captures],
                    [c[2] for c in captures], sub)


def _where() -> str:
    return _tracer._where(_tracer.user_frame())


def unify_captures(subgraphs: list[Subgraph]) -> list:
    """Give every subgraph the same capture inputs (the union, in first-seen order), put
    each graph's INPUT nodes in signature order (arguments first, then the captures, named
    alike in every subgraph) and number its values in order. Returns the outer tensors to
    pass as the node's capture operands."""
    order: dict[int, object] = {}
    for sg in subgraphs:
        for t in sg.captures:
            order.setdefault(id(t), t)
    for sg in subgraphs:
        have = {id(t): v for t, v in zip(sg.captures, sg.capture_values)}
        for key, t in order.items():
            if key not in have:
                have[key] = sg.tracer.add_input(f"capture{len(have)}", tensor_meta(t))
        values = [have[key] for key in order]
        captured = {id(v.node) for v in values}
        args = [n for n in sg.graph.nodes if n.kind is NodeKind.INPUT
                and id(n) not in captured]
        taken = {n.name for n in args}
        for k, (t, v) in enumerate(zip(order.values(), values)):
            name, base, i = _capture_name(t, k), _capture_name(t, k), 1
            while name in taken:
                name, i = f"{base}_{i}", i + 1
            taken.add(name)
            v.node.name = name
        rest = [n for n in sg.graph.nodes if n.kind is not NodeKind.INPUT]
        sg.graph.nodes[:] = args + [v.node for v in values] + rest
        _renumber(sg.graph)
        sg.captures = list(order.values())
        sg.capture_values = values
        sg.graph.verify()
    return list(order.values())


def _renumber(graph: Graph) -> None:
    """Number the graph's values 0, 1, ... in node order (the dump reads top to bottom)."""
    k = 0
    for node in graph.nodes:
        for v in node.outputs:
            v.id = k
            k += 1
    graph._next_id = k


def record_node(op: OpDef, inputs: list, attrs: dict) -> tuple:
    """Append `op(*inputs, **attrs)` to the running trace; returns the output tensors.

    Like `dispatch.call` on symbolic tensors, but always records (a control-flow node whose
    operands happen to be concrete must still be a node: parameters are read by reference)."""
    arrays = _tracer.record_op(op, inputs, attrs)
    arrays = arrays if isinstance(arrays, tuple) else (arrays,)
    outputs = tuple(Tensor._wrap(a) for a in arrays)
    if dispatch._GRAD.enabled and op.vjp is not None and op.differentiable_outputs \
            and dispatch._any_requires_grad(op, inputs):
        dispatch.record(op, inputs, outputs, attrs)
        sources = getattr(current_tracer(), "grad_sources", None)
        if sources is not None:  # backward nodes traced later name this node's user line
            sources[outputs[op.differentiable_outputs[0]]._grad_fn] = arrays[0].value.node
    return outputs


# --- running subgraphs ---------------------------------------------------------------------

_INTERPRETERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def interpreter(graph: Graph):
    """A cached Interpreter for `graph` (building one verifies the graph)."""
    interp = _INTERPRETERS.get(graph)
    if interp is None:
        interp = _INTERPRETERS[graph] = Interpreter(graph)
    return interp


def run_graph(graph: Graph, tensors) -> tuple:
    """Run `graph` on tensors through eager dispatch (autograd and tracing apply as for any
    eager code); always returns a tuple."""
    out = interpreter(graph).run(*tensors)
    return out if isinstance(out, tuple) else (out,)


_PROGRAMS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def run_arrays(xp, graph: Graph, arrays) -> tuple:
    """Run `graph` on raw arrays without autograd; returns raw arrays (a kernel's view).
    On NumPy the subgraph runs as generated code (`NumpyProgram`, built once per graph):
    a scan runs its body once per step, so per-op dispatch would dominate."""
    if xp is np:
        program = _PROGRAMS.get(graph)
        if program is None:
            program = _PROGRAMS[graph] = NumpyProgram(graph, "body")
        return program(*[np.asarray(a) for a in arrays])
    with no_grad():
        outs = run_graph(graph, [Tensor._wrap(xp.asarray(a)) for a in arrays])
    return tuple(t._data for t in outs)


def fresh(xp, out, inputs):
    """`out`, copied when it shares memory with an input (kernels return new memory)."""
    share = getattr(xp, "may_share_memory", None)
    for a in inputs:
        if out is a or (share is not None and share(out, a)):
            return out.copy()
    return out


# --- op definitions ---------------------------------------------------------------------------

_OPS: dict[tuple, OpDef] = {}


def control_op(name: str, kernel, infer, vjp, num_inputs: int, output_metas,
               save_output: bool = False, num_saved: int = 0, doc: str = "",
               branch_attrs: tuple = ()) -> OpDef:
    """The OpDef (category OPAQUE, not registered) for one control-flow node shape: its
    number of inputs and outputs and which outputs are differentiable (the float ones, but
    not the last `num_saved`, which only feed the vjp). OpDefs are shared between nodes of
    the same shape."""
    count = len(output_metas) - num_saved
    diff = tuple(i for i, m in enumerate(output_metas[:count]) if is_float(m))
    key = (name, num_inputs, len(output_metas), diff, branch_attrs)
    op = _OPS.get(key)
    if op is None:
        op = _OPS[key] = OpDef(
            name, Category.OPAQUE, kernel, infer, vjp=vjp,
            save_inputs=tuple(range(num_inputs)), save_output=save_output,
            num_outputs=len(output_metas), differentiable_outputs=diff,
            backward_name="".join(p.capitalize() for p in name.split("_")) + "Backward0",
            doc=doc, branch_attrs=branch_attrs,
            may_alias_input=True)  # a branch or body may return its input as it is
    return op


def check_input_metas(name: str, metas, graph: Graph, expected=None) -> None:
    """Raise RuntimeError unless `metas` match `expected` (default: `graph`'s INPUT metas)."""
    want = expected if expected is not None else [n.outputs[0].meta for n in graph.inputs]
    if len(metas) != len(want):
        raise RuntimeError(f"{name}: the subgraph takes {len(want)} inputs, got {len(metas)}")
    for i, (m, w) in enumerate(zip(metas, want)):
        if not isinstance(m, TensorMeta) or tuple(m.shape) != tuple(w.shape) \
                or m.dtype is not w.dtype:
            raise RuntimeError(f"{name}: operand {i} is {m}, the subgraph expects {w}")
