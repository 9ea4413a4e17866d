"""Graph -> ONNX `ModelProto`, built with `onnx.helper` (never hand-written protobuf).

Each OP node is drawn by one small render function found by its OpDef object in one table
(`RENDERERS`: the registry ops of `onnx_ops`, `onnx_reduce_ops`, `onnx_shape_ops` and
`onnx_nn_ops`; control flow and fused
ops, made per node shape rather than registered, by their kernel function in
`onnx_control`). Parameters become initializers under their qualified names, graph inputs
keep their names, symbolic sizes become named dims. An op without a rendering raises
`UnsupportedOperatorError` naming the op and the user's line: the exporter never writes a
model that computes something else.

    model = to_onnx(traced.graph, traced.params, input_names=["x"])
    onnx.save(model, "model.onnx")
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper

from .. import dtypes
from ..autograd.grad_mode import no_grad
from ..ops.dispatch import call
from ..ops.registry import Category, OpDef, TensorMeta
from ..symbolic import SymInt, has_symbols
from ..tensor import Tensor
from .graph import Graph, NodeKind, Value
from .onnx_context import ExportState, RenderContext, Scope, render_node
from .onnx_control import CONTROL_RENDERERS
from .onnx_errors import OnnxExporterError
from .onnx_nn_ops import NN_RENDERERS
from .onnx_ops import BASIC_RENDERERS
from .onnx_reduce_ops import REDUCE_RENDERERS
from .onnx_shape_ops import SHAPE_RENDERERS

DEFAULT_OPSET = 18
MIN_OPSET = 17  # LayerNormalization

# One table, keyed by OpDef object: never by name.
RENDERERS = {**BASIC_RENDERERS, **REDUCE_RENDERERS, **SHAPE_RENDERERS, **NN_RENDERERS}


def find_renderer(op: OpDef):
    """The render function for `op`, or None."""
    return RENDERERS.get(op) or CONTROL_RENDERERS.get(op.kernel)


# --- constant folding ------------------------------------------------------------------------

def fold_constants(graph: Graph, arrays: dict[str, np.ndarray]) -> dict[Value, np.ndarray]:
    """Values computable from parameters and constants alone, computed now (eager kernels,
    eager promotion). Views, random ops, control flow and symbolic sizes stay nodes: a
    parameter read through a transpose keeps its own name in the model."""
    known: dict[Value, np.ndarray] = {}
    for node in graph.nodes:
        if node.kind is NodeKind.PARAM and node.name in arrays:
            known[node.outputs[0]] = arrays[node.name]
    folded = {}
    for node in graph.op_nodes:
        op = node.op
        ins = node.tensor_inputs()
        if (not ins or op.random or op.side_effects or op.category is Category.VIEW
                or any(isinstance(a, Graph) for a in node.attrs.values())
                or has_symbols(tuple(node.attrs.values()))
                or not all(v in known for v in ins)):
            continue

        def arg(v):
            if isinstance(v, list):
                return [arg(x) for x in v]
            return v.const if v.is_const else Tensor._wrap(known[v])
        with no_grad():
            out = call(op, *[arg(v) for v in node.inputs], **node.attrs)
        outs = out if isinstance(out, tuple) else (out,)
        for v, t in zip(node.outputs, outs):
            known[v] = folded[v] = np.asarray(t._data)
    return folded


# --- the model -------------------------------------------------------------------------------

def to_onnx(graph: Graph, params: dict | None = None, *, input_names=None, output_names=None,
            dynamic_axes=None, opset_version: int | None = None, num_outputs: int | None = None,
            export_params: bool = True, keep_initializers_as_inputs: bool = False,
            do_constant_folding: bool = False, metadata: dict | None = None) -> onnx.ModelProto:
    """An ONNX model computing `graph` (see the module docstring).

    `params` maps PARAM names to tensors or arrays (they become initializers; without them
    parameters are graph inputs). `num_outputs` keeps the first outputs only (a trace's
    state write-backs come last). `dynamic_axes` ({name: {axis: dim name}} or
    {name: [axes]}) names the symbolic dims of inputs and outputs; a graph traced with
    static sizes cannot be made dynamic here (`gt.onnx.export` traces with symbols).

    >>> model = gt.trace(lambda x: x.relu() * 2, gt.randn(3)).graph.to_onnx()
    """
    opset = DEFAULT_OPSET if opset_version is None else int(opset_version)
    newest = onnx.defs.onnx_opset_version()
    if not MIN_OPSET <= opset <= newest:
        raise OnnxExporterError(f"opset_version {opset} is not supported: graphtorch exports "
                                f"opsets {MIN_OPSET} to {newest}")
    graph_inputs = graph.inputs
    in_names = [(input_names[i] if input_names and i < len(input_names) else n.name)
                for i, n in enumerate(graph_inputs)]
    outputs = list(graph.outputs)[:num_outputs]
    axes = normalize_axes(dynamic_axes or {})
    dim_names = {}
    for node, name in zip(graph_inputs, in_names):
        for d, s in enumerate(node.outputs[0].meta.shape):
            if isinstance(s, SymInt) and s.expr.isidentifier():
                dim_names.setdefault(s.expr, axes.get(name, {}).get(d) or s.expr)
            elif d in axes.get(name, {}):
                raise OnnxExporterError(f"dynamic_axes: axis {d} of input {name!r} has the "
                                        f"static size {s} in this graph; trace it with "
                                        "symbolic sizes (gt.onnx.export does)")
    state = ExportState(opset, dim_names, find_renderer)
    root = state.root = Scope(state)
    arrays = {n: _array(t) for n, t in (params or {}).items()} if export_params else {}
    state.taken.update(in_names)
    state.taken.update(n.name for n in graph.params)
    state.taken.update(n for n in (output_names or []) if n)
    for node, name in zip(graph_inputs, in_names):
        v = node.outputs[0]
        root.names[v] = name
        root.inputs.append(state.value_info(name, v.meta))
        for d, s in enumerate(v.meta.shape):
            if isinstance(s, SymInt) and s.expr.isidentifier():
                state.symbols.setdefault(s.expr, (name, d))
    used = set(graph.users())
    folded = fold_constants(graph, arrays) if do_constant_folding else {}
    param_inputs = []
    for node in graph.params:
        v = node.outputs[0]
        if v.id not in used:
            continue
        root.names[v] = node.name
        if node.name in arrays:
            array = arrays[node.name]
            if tuple(array.shape) != tuple(v.meta.shape) or array.dtype != v.meta.dtype.np_dtype:
                raise OnnxExporterError(f"parameter {node.name!r} is {array.dtype}"
                                        f"{list(array.shape)}, the graph expects {v.meta}")
            state.initializers.append(numpy_helper.from_array(array, node.name))
        if node.name not in arrays or keep_initializers_as_inputs:
            param_inputs.append(state.value_info(node.name, v.meta))
    for k, v in enumerate(outputs):
        if output_names and k < len(output_names) and not v.is_const \
                and v.node.kind is NodeKind.OP and v not in root.planned:
            root.planned[v] = output_names[k]
    for v, array in folded.items():
        name = root.planned.get(v) or state.fresh(f"{v.node.op.name}_{v.id}")
        root.names[v] = name
        state.initializers.append(numpy_helper.from_array(np.asarray(array, order="C"), name))
    _render_unfolded(root, graph, folded)
    sources = [RenderContext(root, None, set()).const(v.const, _const_meta(v).dtype)
               if v.is_const else root.lookup(v) for v in outputs]
    metas = [_const_meta(v) if v.is_const else v.meta for v in outputs]
    out_infos = root.outputs(sources, metas, output_names)
    _name_output_axes(out_infos, axes, state)
    read = _used_names(root.nodes) | {i.name for i in out_infos}
    root.inputs += [i for i in param_inputs if i.name in read]
    initializers = [t for t in state.initializers if t.name in read]
    main = root.graph_proto("main_graph", out_infos, initializers)
    model = helper.make_model(main, producer_name="graphtorch",
                              opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = helper.find_min_ir_version_for(list(model.opset_import), True)
    if metadata:
        helper.set_model_props(model, {str(k): str(v) for k, v in metadata.items()})
    return model


def _render_unfolded(root: Scope, graph: Graph, folded: dict) -> None:
    used = set(graph.users())
    for node in graph.nodes:
        if node.kind is NodeKind.OP and not all(v in folded for v in node.outputs):
            render_node(root, node, used)


def _used_names(nodes) -> set:
    """Every tensor name read by `nodes`, also inside their subgraphs."""
    names = set()
    for n in nodes:
        names.update(n.input)
        for a in n.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                names |= _used_names(a.g.node) | {o.name for o in a.g.output}
    return names


def normalize_axes(dynamic_axes) -> dict[str, dict[int, str]]:
    out = {}
    for name, spec in dynamic_axes.items():
        if isinstance(spec, dict):
            out[name] = {int(d): str(n) for d, n in spec.items()}
        else:
            out[name] = {int(d): f"{name}_dynamic_axes_{i + 1}" for i, d in enumerate(spec)}
    return out


def _name_output_axes(infos, axes: dict, state: ExportState) -> None:
    for info in infos:
        for d, dim_name in axes.get(info.name, {}).items():
            dims = info.type.tensor_type.shape.dim
            if d >= len(dims):
                raise OnnxExporterError(f"dynamic_axes: output {info.name!r} has no axis {d}")
            if dims[d].HasField("dim_value"):
                raise OnnxExporterError(
                    f"dynamic_axes: axis {d} of output {info.name!r} is always "
                    f"{dims[d].dim_value}: it does not depend on a dynamic input axis")
            dims[d].dim_param = dim_name


def _const_meta(v: Value):
    c = v.const
    dtype = dtypes.bool_ if isinstance(c, bool) else dtypes.int64 if isinstance(c, int) \
        else dtypes.get_default_dtype()
    return TensorMeta((), dtype)


def _array(t) -> np.ndarray:
    data = getattr(t, "_data", t)
    if type(data) is not np.ndarray and hasattr(data, "get"):  # a CuPy array
        data = data.get()
    return np.asarray(data, order="C")
