"""What a compiled function returns: the same objects, views and structure eager code does.

While tracing, each leaf of the returned pytree is classified:

- ``("graph", k)``: a new tensor, graph output `k`;
- ``("ref", ref)``: an existing tensor returned as it is (an argument, maybe written in
  place, a parameter, a captured tensor): the call returns that very object, as eager does;
- ``("view", base, chain, differentiable)``: a view of another leaf-like base (an argument,
  a parameter, or a graph output, possibly hidden): rebuilt at every call by running the view
  steps on the base, so it shares memory with it exactly as eager's view would;
- ``("same", j)``: the object already returned as leaf `j` (``return y, y``);
- ``("const", value)``: a Python value (a number, None, a string).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..ir.symbolic import has_symbols
from . import arg_tree


@dataclass
class OutputPlan:
    spec: object
    leaves: list
    values: list = field(default_factory=list)         # graph output Values, in order
    requires_grad: list = field(default_factory=list)  # per graph output, as in eager
    single: bool = False                                 # the result is one tensor


def plan_outputs(result, tracer, ref_of) -> OutputPlan:
    """Classify the leaves of `result` (see the module docstring); `ref_of(tensor)` gives
    the `refs.TensorRef` of an existing tensor (argument stand-in, state) or None."""
    from ..ir.tracer import SymbolicArray
    from ..tensor import Tensor

    leaves, spec = arg_tree.flatten(result) if not isinstance(result, Tensor) else \
        ([result], None)
    plan = OutputPlan(spec, [], single=isinstance(result, Tensor))
    seen: dict[int, int] = {}
    graph_index: dict[int, int] = {}  # id(Value) -> graph output position

    def graph_output(value, requires_grad: bool) -> int:
        k = graph_index.get(id(value))
        if k is None:
            k = graph_index[id(value)] = len(plan.values)
            plan.values.append(value)
            plan.requires_grad.append(requires_grad)
        return k

    def classify(t):
        ref = ref_of(t)
        data = t._data
        if ref is not None:
            return ("ref", ref)
        if type(data) is SymbolicArray and data.root is not None and not has_symbols(
                data.chain):
            root = data.root
            base = ref_of(root)
            if base is not None:
                base = ("ref", base)
            else:
                base = ("graph", graph_output(tracer.root_value(root), root.requires_grad))
            return ("view", base, data.chain, t._view_ops is not None)
        return ("graph", graph_output(tracer.value_of(t), t.requires_grad))

    for j, leaf in enumerate(leaves):
        if isinstance(leaf, Tensor):
            if id(leaf) in seen:
                plan.leaves.append(("same", seen[id(leaf)]))
                continue
            seen[id(leaf)] = j
            plan.leaves.append(classify(leaf))
        else:
            plan.leaves.append(("const", leaf))
    return plan


def assemble(plan: OutputPlan, args: list, graph_tensors: list):
    """The result of one call: `graph_tensors` are the tensors of ``plan.values``."""
    out = []
    for entry in plan.leaves:
        kind = entry[0]
        if kind == "graph":
            out.append(graph_tensors[entry[1]])
        elif kind == "ref":
            out.append(entry[1].get(args))
        elif kind == "view":
            out.append(_replay(entry, args, graph_tensors))
        elif kind == "same":
            out.append(out[entry[1]])
        else:
            out.append(entry[1])
    if plan.single:
        return out[0]
    return arg_tree.unflatten(plan.spec, out)


def _replay(entry, args, graph_tensors):
    from ..autograd import grad_mode
    from ..ops.dispatch import call

    _, base, chain, differentiable = entry
    t = graph_tensors[base[1]] if base[0] == "graph" else base[1].get(args)
    if not differentiable:
        with grad_mode.no_grad():
            t = _steps(call, t, chain)
        t._view_ops = None  # like detach(): an alias outside autograd
        return t
    return _steps(call, t, chain)


def _steps(call, t, chain):
    for step in chain:
        t = call(step[0], t, **step[1])
        if len(step) == 3:
            t = t[step[2]]
    return t
