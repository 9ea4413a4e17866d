"""What a compiled function returns: the same objects, views and structure eager code does.

While tracing, each leaf of the returned pytree is classified:

- ``("graph", k)``: a new tensor, graph output `k`;
- ``("ref", ref)``: an existing tensor returned as it is (an argument, maybe written in
  place, a parameter, a captured tensor): the call returns that very object, as eager does;
- ``("view", base, chain, differentiable)``: a view of another leaf-like base (an argument,
  a parameter, or a graph output, possibly hidden): rebuilt at every call by running the view
  steps on the base, so it shares memory with it exactly as eager's view would;
- ``("same", j)``: the object already returned as leaf `j` (``return y, y``);
- ``("const", value)``: a Python value (a number, None, a string);
- ``("size", value)``: a Python value holding symbolic sizes (``x.shape[0]`` with dynamic
  dims), evaluated for each call's sizes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..autograd import grad_mode
from ..autograd.function import FunctionNode
from ..ops.dispatch import call
from ..symbolic import evaluate, has_symbols
from ..tensor import Tensor
from ..trace_state import SymbolicArray, _hints, TracingError
from . import arg_tree


@dataclass
class OutputPlan:
    spec: object
    leaves: list
    values: list = field(default_factory=list)         # graph output Values, in order
    requires_grad: list = field(default_factory=list)  # per graph output, as in eager
    single: bool = False                                 # the result is one tensor
    sized: bool = False                                  # some leaf holds symbolic sizes
    # graph output -> eager's error for a backward through it (a tensor saved for backward
    # was written in place afterwards, while tracing)
    stale: dict = field(default_factory=dict)
    # graph outputs whose autograd graph, recorded while tracing, reaches a node a backward
    # inside the function freed (eager's backward through them raises "a second time")
    spent: set = field(default_factory=set)
    # graph output -> the custom autograd.Function (or module backward hook) its autograd
    # graph reaches: the generated backward cannot run its Python `backward`
    custom: dict = field(default_factory=dict)
    # per graph output: eager's strides in bytes (None: C-contiguous, or UNKNOWN_LAYOUT),
    # as traced; the generated code may lay a result out otherwise (fused kernels write C
    # order)
    layouts: list = field(default_factory=list)


def plan_outputs(result, tracer, ref_of) -> OutputPlan:
    """Classify the leaves of `result` (see the module docstring); `ref_of(tensor)` gives
    the `refs.TensorRef` of an existing tensor (argument stand-in, state) or None."""
    leaves, spec = arg_tree.flatten(result) if not isinstance(result, Tensor) else \
        ([result], None)
    plan = OutputPlan(spec, [], single=isinstance(result, Tensor))
    seen: dict[int, int] = {}
    graph_index: dict[int, int] = {}  # id(Value) -> graph output position

    def graph_output(value, requires_grad: bool, tensor=None) -> int:
        k = graph_index.get(id(value))
        if k is not None and requires_grad and not plan.requires_grad[k]:
            plan.requires_grad[k] = True  # hidden before, returned with its history now
        if k is None:
            k = graph_index[id(value)] = len(plan.values)
            plan.values.append(value)
            plan.requires_grad.append(requires_grad)
            plan.layouts.append(_eager_layout(tensor))
            message = stale_saved_tensor(tensor) if requires_grad and tensor is not None \
                else None
            if message:
                plan.stale[k] = message
            if requires_grad and tensor is not None:
                freed, custom = history_of(tensor)
                if freed:
                    plan.spent.add(k)
                elif custom:
                    plan.custom[k] = custom
        return k

    def classify(t):
        ref = ref_of(t)
        data = t._data
        if ref is not None:
            return ("ref", ref)
        if type(data) is SymbolicArray and data.root is not None:
            root = data.root
            if has_symbols(data.chain):  # x.view(x.shape[0] // 2, -1) with dynamic sizes:
                plan.sized = True        # the steps are evaluated for each call's sizes
            base = ref_of(root)
            differentiable = t._view_ops is not None
            if base is not None:
                base = ("ref", base)
            else:  # the hidden base of a detached alias carries no gradient (eager's
                # backward from the alias never reaches the base's history)
                base = ("graph", graph_output(tracer.root_value(root),
                                              root.requires_grad and differentiable, root))
            # a detached alias made a leaf again (x.detach().requires_grad_())
            leaf_grad = not differentiable and t._requires_grad and t._grad_fn is None
            history = None  # a detached alias written with grad (x.data.add_(w)): its own
            if not differentiable and t._grad_fn is not None:  # history, from the graph
                history = graph_output(tracer.value_of(t), True, t)
            return ("view", base, data.chain, differentiable, leaf_grad, history)
        if t._requires_grad and t._grad_fn is None and type(data) is SymbolicArray:
            # a leaf made inside the function (gt.zeros(3, requires_grad=True), or
            # y.detach_().requires_grad_()): eager's backward accumulates into its .grad,
            # which a graph output (a new tensor per call) cannot receive
            raise TracingError("the function returns a leaf tensor that requires grad and "
                               "was created inside it; its .grad "
                               "cannot be filled by a compiled backward, so this call runs "
                               "eagerly")
        return ("graph", graph_output(tracer.value_of(t), t.requires_grad, t))

    for j, leaf in enumerate(leaves):
        if isinstance(leaf, Tensor):
            if id(leaf) in seen:
                plan.leaves.append(("same", seen[id(leaf)]))
                continue
            seen[id(leaf)] = j
            plan.leaves.append(classify(leaf))
        elif has_symbols(leaf) or (isinstance(leaf, tuple) and has_symbols(tuple(leaf))):
            plan.leaves.append(("size", leaf))
            plan.sized = True
        else:
            plan.leaves.append(("const", leaf))
    return plan


# `OutputPlan.layouts` entry of a result whose layout depends on dynamic sizes and is not
# known even at the trace-time sizes (`ir.layout_hints` could not run its op), or is not
# dense there (an expanded view): returned as the program lays it out. Its values are
# eager's; its strides may not be (a known gap, see README).
UNKNOWN_LAYOUT = "unknown"


class DimOrder(tuple):
    """`OutputPlan.layouts` entry of a dense result with dynamic sizes: its dims from
    outermost to innermost in memory, as eager lays it out (learnt at the trace-time sizes;
    the order holds at every size)."""

    def strides(self, shape, itemsize: int) -> tuple:
        """Byte strides of a dense array of `shape` in this order."""
        out, step = [0] * len(shape), itemsize
        for d in reversed(self):
            out[d] = step
            step *= max(shape[d], 1)
        return tuple(out)


def _eager_layout(t):
    """The strides eager's result `t` has (None: C-contiguous), a `DimOrder`, or
    `UNKNOWN_LAYOUT`."""
    data = t._data
    if type(data) is not SymbolicArray:
        return None
    if data.layout_unknown:
        return _dense_order(_hints(data.shape), data.hint_strides)
    return data._strides


def _dense_order(shape: tuple, strides) -> DimOrder | str:
    """The `DimOrder` of a dense layout (`strides` in elements at sizes `shape`; size-1 dims
    placed by their position), else `UNKNOWN_LAYOUT`."""
    if strides is None or len(strides) != len(shape) or not all(shape):
        return UNKNOWN_LAYOUT
    order = sorted(range(len(shape)), key=lambda d: (-strides[d] if shape[d] > 1 else 0, d))
    wide = [d for d in order if shape[d] > 1]
    # dims of size 1 go where C order has them among the others: keep them out of the sort
    order = wide[:]
    for d in range(len(shape)):
        if shape[d] == 1:
            order.insert(sum(1 for w in wide if w < d), d)
    step = 1
    for d in reversed(wide):
        if strides[d] != step:
            return UNKNOWN_LAYOUT  # gaps or overlaps: not a dense layout
        step *= shape[d]
    return DimOrder(order)


def history_of(t) -> tuple[bool, str | None]:
    """(freed, custom) for `t`'s autograd graph recorded while tracing: whether it reaches a
    node whose saved tensors a backward inside the traced function (without retain_graph)
    freed, and the name of a custom autograd.Function node it reaches (None if none)."""
    freed, custom = False, None
    for node in _autograd_nodes(t):
        ctx = getattr(node, "ctx", None)
        if getattr(node, "_freed", False) or getattr(ctx, "_freed", False):
            freed = True
        if isinstance(node, FunctionNode) and custom is None:
            custom = node.fn_cls.__qualname__
    return freed, custom


def _autograd_nodes(t):
    """Every node of `t`'s autograd graph recorded while tracing, once each."""
    seen, stack = set(), [t.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        stack.extend(fn for fn, _ in node.next_functions)


def stale_saved_tensor(t) -> str | None:
    """Eager's error for a backward from `t`, when its autograd graph (recorded while
    tracing) holds a tensor that was saved for backward and then written in place."""
    for node in _autograd_nodes(t):
        # a saved input (mul's operands) or a saved output (sigmoid's, exp's result)
        unpack_inputs = getattr(node, "_unpack_inputs", None)
        unpack_outputs = getattr(node, "_unpack_outputs", None)
        try:
            if unpack_inputs is not None and getattr(node, "saved_inputs", None) is not None:
                unpack_inputs()
            if unpack_outputs is not None and getattr(node, "saved_outputs", None) is not None:
                unpack_outputs(False)
        except RuntimeError as exc:
            return str(exc)
    return None


def assemble(plan: OutputPlan, args: list, graph_tensors: list, sizes=None):
    """The result of one call: `graph_tensors` are the tensors of ``plan.values``; `sizes`
    (symbol -> int) evaluates leaves holding symbolic sizes."""
    out = []
    for entry in plan.leaves:
        kind = entry[0]
        if kind == "graph":
            out.append(graph_tensors[entry[1]])
        elif kind == "ref":
            out.append(entry[1].get(args))
        elif kind == "view":
            out.append(_replay(entry, args, graph_tensors, sizes))
        elif kind == "same":
            out.append(out[entry[1]])
        elif kind == "size":
            value = entry[1]
            evaluated = evaluate(tuple(value) if isinstance(value, tuple) else value, sizes)
            out.append(type(value)(evaluated) if isinstance(value, tuple) and type(
                value) is not tuple else evaluated)
        else:
            out.append(entry[1])
    if plan.single:
        return out[0]
    return arg_tree.unflatten(plan.spec, out)


def _replay(entry, args, graph_tensors, sizes=None):
    _, base, chain, differentiable, leaf_grad, history = entry
    if sizes is not None and has_symbols(chain):
        chain = evaluate(chain, sizes)
    t = graph_tensors[base[1]] if base[0] == "graph" else base[1].get(args)
    if not differentiable:
        with grad_mode.no_grad():
            t = _steps(call, t, chain)
        t._view_ops = None  # like detach(): an alias outside autograd
        t._creation_meta = None
        t._requires_grad = leaf_grad
        if history is not None and graph_tensors[history]._grad_fn is not None:
            source = graph_tensors[history]
            t._grad_fn, t._output_nr = source._grad_fn, source._output_nr
            t._requires_grad = True
        return t
    return _steps(call, t, chain)


def _steps(call, t, chain):
    for step in chain:
        t = call(step[0], t, **step[1])
        if len(step) == 3:
            t = t[step[2]]
    return t
