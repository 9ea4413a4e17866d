"""`gt.scan(fn, init, xs)`: a loop over the leading dimension with a carried state (JAX).

``fn(carry, x) -> (new_carry, y)``; the result is ``(final_carry, ys)`` with the ``y`` of
every step stacked along a new leading dimension. Eagerly it is a plain Python loop, so the
dynamic autograd graph records every step. Inside `gt.trace` it is one ``scan`` node whose
``body`` attr is the step traced once (INPUT nodes: carry leaves, x leaves, captured outside
tensors); one graph serves any number of steps of the traced length.

The node has a third group of outputs, the carry entering each step (stacked, not
differentiable), which its vjp reads: the gradient is a reverse `scan` whose step recomputes
one forward step with autograd, pulls the carry and ``y`` gradients back through it, and
accumulates the gradients of captured tensors (weights) in its carry.
"""

from __future__ import annotations

from ..functions.creation import empty, zeros_like
from ..functions.movement import stack
from ..ops.factories import zeros_for_meta
from ..ops.registry import TensorMeta
from ..trace_state import current_tracer
from . import pytree
from .cond import arg_names, graph_vjp
from .subgraph import (
    check_input_metas,
    control_op,
    fresh,
    is_float,
    record_node,
    run_arrays,
    spec,
    trace_subgraph,
    unify_captures,
)


def scan(fn, init, xs=None, length: int | None = None, reverse: bool = False):
    """Loop ``carry, y = fn(carry, x)`` over the slices ``x`` of `xs` along dim 0.

    `init` and `xs` are pytrees of tensors (tuples, lists, dicts; `xs` may be None when
    `length` is given). Returns ``(final_carry, ys)``, ``ys`` stacked along a new dim 0
    (`reverse` walks from the last slice to the first; ``ys`` keep the slices' order).
    The new carry must match `init` in structure, shapes and dtypes (TypeError otherwise).

    >>> h, hs = gt.scan(lambda h, x: ((h + x).tanh(),) * 2, h0, xs)
    """
    init_leaves, init_tree = pytree.flatten(init, "gt.scan init")
    xs_leaves, xs_tree = pytree.flatten(xs, "gt.scan xs")
    length = _length(xs_leaves, length)
    if current_tracer() is None:
        return _eager_scan(fn, init_leaves, init_tree, xs_leaves, xs_tree, length, reverse)
    return _traced_scan(fn, init_leaves, init_tree, xs_leaves, xs_tree, length, reverse)


def _length(xs_leaves, length) -> int:
    sizes = {x.shape[0] if x.dim() else None for x in xs_leaves}  # may be symbolic sizes
    if None in sizes:
        raise ValueError("gt.scan: every leaf of xs needs a leading dimension to scan over, "
                         "got a 0-d tensor")
    if length is not None:
        sizes.add(length)
    if len(sizes) > 1:
        raise ValueError(f"gt.scan: the leaves of xs (and length) disagree on the number of "
                         f"steps: {sorted(sizes)}")
    if not sizes:
        raise ValueError("gt.scan: give xs or length")
    return sizes.pop()


def split_step(out, what: str):
    """(new_carry, y) from a step function's result (a pair), else TypeError."""
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise TypeError(f"{what} must return a pair (new_carry, y), got "
                        f"{type(out).__name__}" + (f" of length {len(out)}"
                                                   if isinstance(out, (tuple, list)) else ""))
    return out[0], out[1]


def check_carry(name: str, fn_name: str, tree, leaves, new_tree, new_leaves) -> None:
    """TypeError unless the returned carry matches the initial one (structure/shape/dtype)."""
    if not pytree.same_signature(tree, leaves, new_tree, new_leaves):
        raise TypeError(f"{name}: {fn_name} must return a carry with the same structure, "
                        f"shapes and dtypes as the initial carry; the initial carry is "
                        f"{pytree.describe(tree, leaves)}, {fn_name} returned "
                        f"{pytree.describe(new_tree, new_leaves)}")


def _eager_scan(fn, init_leaves, init_tree, xs_leaves, xs_tree, length, reverse):
    carry = pytree.unflatten(init_tree, init_leaves)
    c_leaves = init_leaves
    ys = [None] * length
    y_tree, first = None, None
    for t in (range(length - 1, -1, -1) if reverse else range(length)):
        x = pytree.unflatten(xs_tree, [leaf[t] for leaf in xs_leaves])
        carry, y = split_step(fn(carry, x), "gt.scan: fn")
        c_leaves, c_tree = pytree.flatten(carry, "gt.scan: fn's carry")
        check_carry("gt.scan", "fn", init_tree, init_leaves, c_tree, c_leaves)
        carry = pytree.unflatten(c_tree, c_leaves)
        y_leaves, tree = pytree.flatten(y, "gt.scan: fn's y")
        if y_tree is not None and not pytree.same_signature(y_tree, ys[first], tree, y_leaves):
            raise TypeError(f"gt.scan: fn returned y {pytree.describe(tree, y_leaves)} at step "
                            f"{t} but {pytree.describe(y_tree, ys[first])} at step {first}")
        if y_tree is None:
            y_tree, first = tree, t
        ys[t] = y_leaves
    if length == 0:
        return carry, _empty_ys(fn, init_leaves, init_tree, xs_leaves, xs_tree)
    stacked = [stack([step[j] for step in ys]) for j in range(len(ys[0]))]
    return carry, pytree.unflatten(y_tree, stacked)


def _empty_ys(fn, init_leaves, init_tree, xs_leaves, xs_tree):
    """The ys of a zero-step scan: the step is traced (not run) to learn their shapes."""
    sg = _trace_step(fn, init_leaves, init_tree, xs_leaves, xs_tree)
    nc = len(init_leaves)
    y_tree = sg.out_tree.children[1]
    leaves = [empty((0, *t.shape), dtype=t.dtype) for t in sg.out_leaves[nc:]]
    return pytree.unflatten(y_tree, leaves)


def _trace_step(fn, init_leaves, init_tree, xs_leaves, xs_tree):
    args = [spec(t) for t in init_leaves] + [spec(x, drop_leading=True) for x in xs_leaves]
    tree = pytree.TreeDef("tuple", None, (init_tree, xs_tree))
    sg = trace_subgraph(fn, args, tree, arg_names(fn, tree, "arg"), "gt.scan's fn")
    out = sg.out_tree
    if out.kind not in ("tuple", "list") or len(out.children) != 2:
        raise TypeError(f"gt.scan: fn must return a pair (new_carry, y), got "
                        f"{pytree.describe(out, sg.out_leaves)}")
    nc = out.children[0].num_leaves
    check_carry("gt.scan", "fn", init_tree, init_leaves, out.children[0], sg.out_leaves[:nc])
    return sg


def _traced_scan(fn, init_leaves, init_tree, xs_leaves, xs_tree, length, reverse):
    sg = _trace_step(fn, init_leaves, init_tree, xs_leaves, xs_tree)
    captures = unify_captures([sg])
    nc, nx = len(init_leaves), len(xs_leaves)
    inputs = [*init_leaves, *xs_leaves, *captures]
    attrs = {"body": sg.graph, "length": length, "reverse": reverse, "num_carry": nc,
             "num_xs": nx}
    metas = _scan_infer(*[spec(t)[0] for t in inputs], **attrs)
    metas = metas if isinstance(metas, tuple) else (metas,)
    op = control_op("scan", _scan_kernel, _scan_infer, _scan_vjp, len(inputs), metas,
                    save_output=True, num_saved=nc,
                    doc="loop body over dim 0 of the xs (attrs: body graph, length)")
    outs = record_node(op, inputs, attrs)
    y_tree = sg.out_tree.children[1]
    ny = y_tree.num_leaves
    return (pytree.unflatten(init_tree, outs[:nc]),
            pytree.unflatten(y_tree, outs[nc:nc + ny]))


def _scan_kernel(xp, *arrays, body, length, reverse, num_carry, num_xs):
    nc, nx = num_carry, num_xs
    carry = list(arrays[:nc])
    xs, caps = arrays[nc:nc + nx], list(arrays[nc + nx:])
    y_metas = [v.meta for v in body.outputs[nc:]]
    ys = [[None] * length for _ in y_metas]
    carries = [[None] * length for _ in carry]
    for t in (range(length - 1, -1, -1) if reverse else range(length)):
        for j, c in enumerate(carry):
            carries[j][t] = c
        outs = run_arrays(xp, body, [*carry, *(x[t] for x in xs), *caps])
        carry = list(outs[:nc])
        for j, y in enumerate(outs[nc:]):
            ys[j][t] = y

    def stacked(items, meta):
        if length:
            return xp.stack(items)
        return xp.empty((0, *meta.shape), dtype=meta.dtype.np_dtype)

    in_metas = [n.outputs[0].meta for n in body.inputs[:nc]]
    result = ([fresh(xp, xp.asarray(c), arrays) for c in carry]
              + [stacked(y, m) for y, m in zip(ys, y_metas)]
              + [stacked(c, m) for c, m in zip(carries, in_metas)])
    return result[0] if len(result) == 1 else tuple(result)


def _scan_infer(*metas, body, length, reverse, num_carry, num_xs):
    nc, nx = num_carry, num_xs
    want = [n.outputs[0].meta for n in body.inputs]
    want = [TensorMeta((length, *m.shape), m.dtype) if nc <= i < nc + nx else m
            for i, m in enumerate(want)]
    check_input_metas("scan", metas, body, want)
    outs = [v.meta for v in body.outputs]
    result = (outs[:nc] + [TensorMeta((length, *m.shape), m.dtype) for m in outs[nc:]]
              + [TensorMeta((length, *m.shape), m.dtype) for m in want[:nc]])
    return result[0] if len(result) == 1 else tuple(result)


def _scan_vjp(ctx, *grads):
    a = ctx.attrs
    body, nc, nx = a["body"], a["num_carry"], a["num_xs"]
    init, xs = ctx.inputs[:nc], ctx.inputs[nc:nc + nx]
    caps = ctx.inputs[nc + nx:]
    out_metas = [v.meta for v in body.outputs]
    ny = len(out_metas) - nc
    carries = ctx.outputs[nc + ny:]
    fc = [j for j, t in enumerate(init) if is_float(t)]
    fx = [j for j, t in enumerate(xs) if is_float(t)]
    fk = [k for k, t in enumerate(caps) if is_float(t)]
    fy = [j for j in range(ny) if is_float(out_metas[nc + j])]
    result = [None] * len(ctx.inputs)
    if not (fc or fx or fk):
        return tuple(result)
    length = a["length"]

    def grad_or_zeros(i, meta):
        return grads[i] if grads[i] is not None else zeros_for_meta(meta)

    g_carry = [grad_or_zeros(j, out_metas[j]) for j in fc]
    g_ys = [grad_or_zeros(nc + j, TensorMeta((length, *out_metas[nc + j].shape),
                                             out_metas[nc + j].dtype)) for j in fy]
    wrt = fc + [nc + j for j in fx] + [nc + nx + k for k in fk]

    def step(carry, x):
        g_c, acc = carry
        c_t, x_t, g_y = x
        cotangents = list(zip(fc, g_c)) + [(nc + j, g) for j, g in zip(fy, g_y)]
        gs = graph_vjp(body, [*c_t, *x_t, *caps], wrt, cotangents)
        gc, gx, gk = gs[:len(fc)], gs[len(fc):len(fc) + len(fx)], gs[len(fc) + len(fx):]
        return (list(gc), [s + g for s, g in zip(acc, gk)]), list(gx)

    acc0 = [zeros_like(caps[k]) for k in fk]
    (g_init, g_caps), g_xs = scan(step, (g_carry, acc0), (list(carries), list(xs), g_ys),
                                  length=length, reverse=not a["reverse"])
    for j, g in zip(fc, g_init):
        result[j] = g
    for j, g in zip(fx, g_xs):
        result[nc + j] = g
    for k, g in zip(fk, g_caps):
        result[nc + nx + k] = g
    return tuple(result)
