"""`gt.while_loop(cond_fn, body_fn, carry)` and `gt.fori_loop(lower, upper, body_fn, init)`.

Eagerly both are plain Python loops. Inside `gt.trace` a while loop is one ``while_loop``
node holding ``cond_graph`` (carry -> one-element bool tensor) and ``body_graph`` (carry ->
carry); both take the carry leaves followed by the captured outside tensors. The trip count
depends on data, so the traced loop is forward-only: differentiating through it raises
RuntimeError. `fori_loop` with Python int bounds traces into a `scan` (differentiable);
with tensor bounds into a `while_loop`.
"""

from __future__ import annotations

import numpy as np

from ..dtypes import int64
from ..functions.creation import tensor
from ..tensor import Tensor
from ..trace_state import current_tracer
from . import pytree
from .cond import arg_names, check_pred
from .scan import check_carry, scan
from .subgraph import (
    check_input_metas,
    control_op,
    fresh,
    record_node,
    run_arrays,
    spec,
    trace_subgraph,
    unify_captures,
)

NOT_DIFFERENTIABLE = (
    "gt.while_loop is not differentiable once traced: its trip count depends on the data, "
    "so reverse mode would have to keep an unknown number of carries. Use gt.scan, or "
    "gt.fori_loop with Python int bounds (which traces into a scan), or run the loop eagerly.")


def while_loop(cond_fn, body_fn, carry):
    """``while cond_fn(carry): carry = body_fn(carry)``; returns the final carry.

    `carry` is a pytree of tensors (Python numbers become 0-d tensors); `cond_fn` returns a
    bool tensor with one element (or a Python bool eagerly); `body_fn` returns a carry with
    the same structure, shapes and dtypes (TypeError otherwise). Traced, the loop is one
    node that runs until the condition fails, and is not differentiable.

    >>> gt.while_loop(lambda c: (c[0] * c[0] - a).abs().max() > 1e-6,
    ...               lambda c: ((c[0] + a / c[0]) / 2,), (a,))
    """
    leaves, tree = pytree.flatten(carry, "gt.while_loop carry")
    if current_tracer() is None:
        return _eager_while(cond_fn, body_fn, leaves, tree)
    return _traced_while(cond_fn, body_fn, leaves, tree)


def _truth(p) -> bool:
    if isinstance(p, (bool, np.bool_)):
        return bool(p)
    check_pred(p, "gt.while_loop: cond_fn's result")
    return bool(p)


def _eager_while(cond_fn, body_fn, leaves, tree):
    carry = pytree.unflatten(tree, leaves)
    while _truth(cond_fn(carry)):
        new_leaves, new_tree = pytree.flatten(body_fn(carry), "gt.while_loop: body_fn")
        check_carry("gt.while_loop", "body_fn", tree, leaves, new_tree, new_leaves)
        carry = pytree.unflatten(new_tree, new_leaves)
    return carry


def _traced_while(cond_fn, body_fn, leaves, tree):
    args = [spec(t) for t in leaves]
    arg_tree = pytree.TreeDef("tuple", None, (tree,))
    cond_sg = trace_subgraph(cond_fn, args, arg_tree, arg_names(cond_fn, arg_tree, "carry"),
                             "gt.while_loop's cond_fn")
    if cond_sg.out_tree.kind != "leaf":
        raise TypeError(f"gt.while_loop: cond_fn must return a bool tensor with one element, "
                        f"got {pytree.describe(cond_sg.out_tree, cond_sg.out_leaves)}")
    check_pred(cond_sg.out_leaves[0], "gt.while_loop: cond_fn's result")
    body_sg = trace_subgraph(body_fn, args, arg_tree, arg_names(body_fn, arg_tree, "carry"),
                             "gt.while_loop's body_fn")
    check_carry("gt.while_loop", "body_fn", tree, leaves, body_sg.out_tree,
                body_sg.out_leaves)
    captures = unify_captures([cond_sg, body_sg])
    inputs = [*leaves, *captures]
    metas = [v.meta for v in body_sg.graph.outputs]
    op = control_op("while_loop", _while_kernel, _while_infer, _while_vjp, len(inputs), metas,
                    doc="run body_graph while cond_graph holds (forward-only)")
    outs = record_node(op, inputs, {"cond_graph": cond_sg.graph,
                                    "body_graph": body_sg.graph})
    return pytree.unflatten(tree, outs)


def _while_kernel(xp, *arrays, cond_graph, body_graph):
    nc = len(body_graph.outputs)
    carry, caps = list(arrays[:nc]), list(arrays[nc:])
    while True:
        (p,) = run_arrays(xp, cond_graph, [*carry, *caps])
        if not bool(p.reshape(-1)[0]):
            break
        carry = list(run_arrays(xp, body_graph, [*carry, *caps]))
    outs = [fresh(xp, xp.asarray(c), arrays) for c in carry]
    return outs[0] if len(outs) == 1 else tuple(outs)


def _while_infer(*metas, cond_graph, body_graph):
    check_input_metas("while_loop", metas, cond_graph)
    check_input_metas("while_loop", metas, body_graph)
    (p,) = [v.meta for v in cond_graph.outputs]
    if p.dtype.name != "bool" or int(np.prod(p.shape, dtype=np.int64)) != 1:
        raise RuntimeError(f"while_loop: cond_graph must return a one-element bool, got {p}")
    outs = tuple(v.meta for v in body_graph.outputs)
    return outs[0] if len(outs) == 1 else outs


def _while_vjp(ctx, *grads):
    raise RuntimeError(NOT_DIFFERENTIABLE)


def fori_loop(lower, upper, body_fn, init):
    """``val = body_fn(i, val)`` for ``i`` in ``range(lower, upper)``; returns the final val.

    ``i`` is a 0-d int64 tensor (eagerly too, so eager and traced code see the same types).
    With Python int bounds a traced loop is a `scan` (differentiable); with tensor bounds it
    is a `while_loop` (forward-only). `init` is a pytree of tensors.
    """
    static = not isinstance(lower, Tensor) and not isinstance(upper, Tensor)
    if current_tracer() is None or static:
        lo, hi = int(lower), int(upper)
        if hi <= lo:  # no step: `init` itself, as eager's loop returns it
            return init
        if current_tracer() is None:
            val = init
            for i in range(lo, hi):
                val = body_fn(tensor(i), val)
            return val

        def step(carry, _):
            i, val = carry
            return (i + 1, body_fn(i, val)), None

        (_, val), _ = scan(step, (tensor(lo), init), None, length=max(hi - lo, 0))
        return val

    lo = lower.to(int64) if isinstance(lower, Tensor) else tensor(int(lower))
    hi = upper.to(int64) if isinstance(upper, Tensor) else tensor(int(upper))

    def body(carry):
        i, val = carry
        return i + 1, body_fn(i, val)

    _, val = while_loop(lambda c: c[0] < hi, body, (lo, init))
    return val
