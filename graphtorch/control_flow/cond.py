"""`gt.cond(pred, true_fn, false_fn, operands)`: a data-dependent branch.

Eagerly it is plain Python (``true_fn(*operands) if pred else false_fn(*operands)``), so the
dynamic autograd graph records whichever branch ran. Inside `gt.trace` it is one ``cond``
node holding both branches as subgraphs (attrs ``true_graph`` and ``false_graph``, whose
INPUT nodes are the operands' leaves followed by the captured outside tensors); both
branches must return the same structure, shapes and dtypes.

Gradient: the vjp is itself a `cond` on the same predicate whose branches recompute their
branch's forward with autograd and pull the incoming gradients back through it. It is
written in graphtorch ops, so it runs eagerly (autograd on an interpreted graph) and can be
traced into a backward graph.
"""

from __future__ import annotations

import numpy as np

from ..autograd import grad as autograd_grad
from ..autograd.grad_mode import enable_grad, is_grad_enabled
from ..functions.creation import zeros_like
from ..ir.graph import Graph
from ..ops.factories import zeros_for_meta
from ..ops.registry import TensorMeta
from ..tensor import Tensor
from ..trace_state import TracingError, current_tracer, user_frame, where
from . import pytree
from .subgraph import (
    check_input_metas,
    control_op,
    fresh,
    is_float,
    record_node,
    run_arrays,
    run_graph,
    spec,
    trace_subgraph,
    unify_captures,
)


def cond(pred, true_fn, false_fn, operands=()):
    """``true_fn(*operands)`` if `pred` else ``false_fn(*operands)``.

    `pred` is a Python bool (the branch is picked at once, also while tracing) or a bool
    tensor with one element. `operands` is a tuple or list (a single tensor means one
    operand) of pytrees of tensors. Traced, both branches become subgraphs of one ``cond``
    node and must return the same structure, shapes and dtypes (TypeError otherwise).

    >>> gt.cond(x.sum() > 0, lambda x: x * 2, lambda x: -x, (x,))
    """
    operands = as_operands(operands)
    if isinstance(pred, (bool, np.bool_)):
        return (true_fn if pred else false_fn)(*operands)
    check_pred(pred, "gt.cond: pred")
    if current_tracer() is None:
        return (true_fn if bool(pred) else false_fn)(*operands)
    return _traced_cond(pred, true_fn, false_fn, operands)


def as_operands(operands) -> tuple:
    if isinstance(operands, Tensor):
        return (operands,)
    if not isinstance(operands, (tuple, list)):
        raise TypeError(f"gt.cond: operands must be a tuple or list, got "
                        f"{type(operands).__name__}")
    return tuple(operands)


def check_pred(pred, what: str) -> None:
    """A one-element bool tensor, else TypeError naming `what`."""
    if not isinstance(pred, Tensor):
        raise TypeError(f"{what} must be a Python bool or a bool tensor with one element, "
                        f"got {type(pred).__name__}")
    if pred._data.dtype != np.bool_ or pred._data.size != 1:
        raise TypeError(f"{what} must be a bool tensor with one element, got "
                        f"{pytree.meta_text(pred)}")


def arg_names(fn, tree: pytree.TreeDef, default: str) -> list[str]:
    """INPUT names for the leaves of the argument tuple `tree`: the parameter names of `fn`
    where it has them (``h``, ``x``), suffixed per leaf of a nested argument (``h_0``)."""
    import inspect

    try:
        params = [p.name for p in inspect.signature(fn).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    names = []
    for i, child in enumerate(tree.children):
        base = params[i] if i < len(params) else f"{default}{i}"
        count = child.num_leaves
        names.extend([base] if child.kind == "leaf" else
                     [f"{base}_{k}" for k in range(count)])
    return names


def _traced_cond(pred, true_fn, false_fn, operands):
    leaves, tree = pytree.flatten(operands, "gt.cond operands")
    branches = []
    for fn, which in ((true_fn, "true_fn"), (false_fn, "false_fn")):
        names = arg_names(fn, tree, "operand")
        branches.append(trace_subgraph(fn, [spec(t) for t in leaves], tree, names,
                                       f"gt.cond's {which}"))
    t, f = branches
    if not pytree.same_signature(t.out_tree, t.out_leaves, f.out_tree, f.out_leaves):
        raise TypeError(
            "gt.cond: true_fn and false_fn must return the same structure, shapes and dtypes; "
            f"true_fn returned {pytree.describe(t.out_tree, t.out_leaves)}, false_fn returned "
            f"{pytree.describe(f.out_tree, f.out_leaves)}")
    captures = unify_captures(branches)
    inputs = [pred, *leaves, *captures]
    _refuse_branch_dependent_grads(t.graph, f.graph, inputs[1:])
    metas = [v.meta for v in t.graph.outputs]
    op = control_op("cond", _cond_kernel, _cond_infer, _cond_vjp, len(inputs), metas,
                    doc="run true_graph or false_graph on the operands (attrs: the graphs)",
                    branch_attrs=("true_graph", "false_graph"))
    outs = record_node(op, inputs, {"true_graph": t.graph, "false_graph": f.graph})
    return pytree.unflatten(t.out_tree, outs)


def _refuse_branch_dependent_grads(true_graph, false_graph, operands) -> None:
    """Eagerly only the branch that runs enters the autograd graph: an operand that needs a
    gradient and that only one branch reaches gets ``.grad`` None from eager autograd when
    the other branch runs, where one static backward would give zeros (and an optimizer then
    steps it). In gt.compile such a cond cannot be one graph node: TracingError (the function
    runs eagerly and logs this reason). gt.trace keeps the static graph (zeros), as
    torch.cond and jax.lax.cond differentiate."""
    if not is_grad_enabled() or not getattr(current_tracer(), "eager_semantics", False):
        return  # gt.trace: one static graph, zeros for the operands a branch does not use
    needs = {k for k, t in enumerate(operands) if getattr(t, "requires_grad", False)}
    if not needs:
        return
    t_reach, f_reach = _grad_reach(true_graph), _grad_reach(false_graph)
    if t_reach is None or f_reach is None:
        differ = needs
    else:
        differ = needs & (t_reach ^ f_reach)
    if differ:
        n = len(true_graph.inputs)
        names = [true_graph.inputs[k].name or f"operand {k}" for k in sorted(differ) if k < n]
        raise TracingError(
            f"{where(user_frame())}: gt.cond: {', '.join(names)} require grad but only one branch uses them; eager "
            "autograd leaves their .grad None when the other branch runs, which one graph "
            "cannot express (use them in both branches, e.g. `+ 0 * w`, or detach them)")


def _grad_reach(graph):
    """Positions of `graph`'s inputs some float output depends on through differentiable
    ops (the ones eager autograd would give a gradient); None when a nested control-flow
    node makes that depend on run-time values."""
    reach: dict[int, frozenset] = {n.outputs[0].id: frozenset({k})
                                   for k, n in enumerate(graph.inputs)}
    for node in graph.op_nodes:
        if node.op.branch_attrs or any(isinstance(a, Graph) for a in node.attrs.values()):
            sources = set().union(*(reach.get(v.id, ()) for v in node.tensor_inputs()))
            if sources:
                return None
            continue
        if node.op.vjp is None or node.no_grad:
            continue
        sources = frozenset().union(*(reach.get(v.id, frozenset())
                                      for v in node.tensor_inputs() if is_float(v.meta)))
        for v in node.outputs:
            if is_float(v.meta):
                reach[v.id] = sources
    return set().union(*(reach.get(v.id, ()) for v in graph.outputs
                         if not v.is_const and is_float(v.meta)))


def _cond_kernel(xp, pred, *arrays, true_graph, false_graph):
    graph = true_graph if bool(pred.reshape(-1)[0]) else false_graph
    outs = tuple(fresh(xp, o, arrays) for o in run_arrays(xp, graph, arrays))
    return outs[0] if len(outs) == 1 else outs


def _cond_infer(pred, *metas, true_graph, false_graph):
    if not isinstance(pred, TensorMeta) or pred.dtype.name != "bool" \
            or int(np.prod(pred.shape, dtype=np.int64)) != 1:
        raise RuntimeError(f"cond: pred must be a bool tensor with one element, got {pred}")
    check_input_metas("cond", metas, true_graph)
    check_input_metas("cond", metas, false_graph)
    outs = tuple(v.meta for v in true_graph.outputs)
    other = tuple(v.meta for v in false_graph.outputs)
    if outs != other:
        raise RuntimeError(f"cond: the branches return different metas: {outs} and {other}")
    return outs[0] if len(outs) == 1 else outs


def _cond_vjp(ctx, *grads):
    pred, *primals = ctx.inputs
    true_graph, false_graph = ctx.attrs["true_graph"], ctx.attrs["false_graph"]
    metas = [v.meta for v in true_graph.outputs]
    diff = [i for i, m in enumerate(metas) if is_float(m)]
    wrt = [i for i, p in enumerate(primals) if is_float(p)]
    result = [None] * (1 + len(primals))
    if not wrt or not diff:
        return tuple(result)
    cotangents = [grads[i] if grads[i] is not None else zeros_for_meta(metas[i]) for i in diff]
    n = len(primals)

    def pullback(graph):
        def branch(*args):
            return graph_vjp(graph, args[:n], wrt, [(i, g) for i, g in zip(diff, args[n:])])
        return branch

    grads_in = cond(pred, pullback(true_graph), pullback(false_graph),
                    (*primals, *cotangents))
    for i, g in zip(wrt, grads_in):
        result[1 + i] = g
    return tuple(result)


def graph_vjp(graph, primals, wrt: list[int], cotangents: list[tuple]) -> tuple:
    """Gradients of ``graph(*primals)`` w.r.t. ``primals[i] for i in wrt``, pulling back
    ``(output index, cotangent)`` pairs: the forward is recomputed with autograd (zeros for
    inputs the outputs do not depend on)."""
    with enable_grad():
        leaves = [Tensor._wrap(p._data) for p in primals]
        for i in wrt:
            leaves[i].requires_grad_(True)
        outs = run_graph(graph, leaves)
        pairs = [(outs[i], g) for i, g in cotangents if outs[i].requires_grad]
        targets = [leaves[i] for i in wrt]
        grads = [None] * len(targets)
        if pairs:
            grads = autograd_grad([o for o, _ in pairs], targets, [g for _, g in pairs],
                                  allow_unused=True)
    return tuple(g if g is not None else zeros_like(t) for g, t in zip(grads, targets))
