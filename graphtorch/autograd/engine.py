"""The backward engine: runs autograd graph nodes in reverse topological order.

Gradients arriving at a node are summed per output; a node runs once all nodes that feed
it have run (dependency counting), highest sequence number first among ready nodes, as
PyTorch's engine does. `autograd.grad` captures gradients instead of accumulating them.
"""

from __future__ import annotations

import heapq

from ..tensor import Tensor
from ..trace_state import TracingError, current_tracer, user_frame, where
from . import anomaly_mode, grad_mode
from .graph import AccumulateGrad, Node, OpNode, gradient_edge, output_count

_ANOMALY = anomaly_mode.STATE
_GRAD = grad_mode.STATE


def _collect_dependencies(roots: list[Node]) -> dict[Node, int]:
    """Per node reached from `roots`, how many edges lead into it (roots count only edges)."""
    deps: dict[Node, int] = {}
    stack = list(roots)
    root_set = set(roots)
    while stack:
        node = stack.pop()
        for nxt, _ in node.next_functions:
            if nxt is None:
                continue
            if nxt in deps:
                deps[nxt] += 1
            else:  # reached first: expand it (once), unless it is a root (expanded already)
                deps[nxt] = 1
                if nxt not in root_set:
                    stack.append(nxt)
    return deps


def _nodes_reaching(roots: list[Node], targets: set[Node]) -> set[Node]:
    """Nodes from which some target is reachable (only these must run for `grad`)."""
    # Iterative post-order DFS. A node is marked when it is expanded (not when pushed), so
    # every child is emitted before the parents that reach it by any path.
    order, expanded, stack = [], set(), [(r, False) for r in roots]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if node in expanded:
            continue
        expanded.add(node)
        stack.append((node, True))
        for nxt, _ in node.next_functions:
            if nxt is not None and nxt not in expanded:
                stack.append((nxt, False))
    useful = set()
    for node in order:  # children come before parents in post-order
        if node in targets or any(n in useful for n, _ in node.next_functions if n is not None):
            useful.add(node)
    return useful


def _add_grad(buffer: list, index: int, grad) -> None:
    if grad is None:
        return
    current = buffer[index]
    buffer[index] = grad if current is None else current + grad


def _run_tensor_hooks(node: Node, grads: list) -> None:
    hooks = node._tensor_pre_hooks
    if hooks:
        for nr, fns in hooks.items():
            if grads[nr] is None:
                continue
            for fn in list(fns.values()):
                new = fn(grads[nr])
                if new is not None:
                    grads[nr] = new
    if node._retain_hooks:  # retain_grad sees the gradient after every other tensor hook
        for nr, fn in node._retain_hooks.items():
            if grads[nr] is not None:
                fn(grads[nr])


# Final callbacks of the backward passes running now (innermost last): PyTorch's
# `Variable._execution_engine.queue_callback`, run once the whole graph has been processed.
_final_callbacks: list[list] = []
# Per backward pass running now (innermost last): the nodes that reach the gradients asked
# for (`autograd.grad`, `backward(inputs=...)`), or None when every node runs. A compiled
# call's backward node reads it to know which of eager's nodes its backward stands for.
_useful_nodes: list = []


def current_useful_nodes():
    """The nodes the innermost running backward pass runs (None: all it reaches)."""
    return _useful_nodes[-1] if _useful_nodes else None


def queue_callback(callback) -> None:
    """Run `callback()` when the backward pass now running has finished (DDP waits for its
    gradient all-reduces there). Only valid during backward, as in PyTorch."""
    if not _final_callbacks:
        raise RuntimeError("Final callbacks can only be installed during backward pass.")
    _final_callbacks[-1].append(callback)


def run_backward(tensors, grad_tensors, retain_graph: bool, create_graph: bool,
                 inputs=None, accumulate: bool = True):
    """Backpropagate from `tensors` (with seeds `grad_tensors`).

    With `inputs`, gradients are captured for those tensors and returned in order; if
    `accumulate` they are also added into their `.grad` (this is `backward(inputs=...)`).
    Callbacks queued with `queue_callback` run after the last node, in order.
    """
    callbacks: list = []
    _final_callbacks.append(callbacks)
    try:
        captured = _run_graph(tensors, grad_tensors, retain_graph, create_graph, inputs,
                              accumulate)
        while callbacks:  # a callback may queue more
            callbacks.pop(0)()
    finally:
        _final_callbacks.pop()
    return captured


def _run_graph(tensors, grad_tensors, retain_graph: bool, create_graph: bool, inputs,
               accumulate: bool):
    tracing = current_tracer() is not None
    if tracing:
        current_tracer().ran_backward = True
    roots, seeds = [], []
    for i, (t, g) in enumerate(zip(tensors, grad_tensors)):
        if not t.requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not "
                               "have a grad_fn")
        node, nr = gradient_edge(t)
        roots.append((node, nr))
        seeds.append(g)

    capture_at: dict[tuple[Node, int], list[int]] = {}
    if inputs is not None:
        for i, t in enumerate(inputs):
            if not isinstance(t, Tensor):
                raise TypeError("autograd.grad: inputs must be tensors")
            if not t.requires_grad:
                raise RuntimeError("One of the differentiated Tensors does not require grad")
            capture_at.setdefault(gradient_edge(t), []).append(i)
    captured = [None] * (len(inputs) if inputs is not None else 0)

    root_nodes = list({n: None for n, _ in roots})
    if inputs is not None:
        useful = _nodes_reaching(root_nodes, {n for n, _ in capture_at})
    else:
        useful = None
    deps = _collect_dependencies(root_nodes)
    if tracing:
        _refuse_graphs_from_before_the_trace(root_nodes, deps)
    buffers: dict[Node, list] = {}
    _useful_nodes.append(useful)
    try:
        _process(roots, seeds, root_nodes, deps, buffers, useful, capture_at, captured,
                 tracing, retain_graph, create_graph, inputs, accumulate)
    finally:
        _useful_nodes.pop()
    return captured


def _process(roots, seeds, root_nodes, deps, buffers, useful, capture_at, captured, tracing,
             retain_graph, create_graph, inputs, accumulate):

    for (node, nr), seed in zip(roots, seeds):
        buf = buffers.get(node)
        if buf is None:
            buf = buffers[node] = [None] * output_count(node)
        _add_grad(buf, nr, seed)

    ready = []
    for n in root_nodes:
        if deps.get(n, 0) == 0:
            ready.append((-n._sequence_nr, id(n), n))
    heapq.heapify(ready)
    heappop, heappush = heapq.heappop, heapq.heappush
    following = None  # the next node when it is the only ready one (a chain): no heap
    grad_enabled = _GRAD.enabled  # set_grad_enabled(create_graph), without its object
    _GRAD.enabled = bool(create_graph)
    try:
        while following is not None or ready:
            if following is not None:
                node, following = following, None
            else:
                node = heappop(ready)[2]
            grads = buffers.pop(node, None) or [None]
            run_node = useful is None or node in useful
            # hooks run only where the node runs: autograd.grad skips nodes that lead to
            # none of its inputs, hooks included (a leaf's hook outside `inputs` stays quiet)
            if (node._tensor_pre_hooks or node._retain_hooks) and run_node:
                _run_tensor_hooks(node, grads)
            if node._pre_hooks and run_node:
                for fn in list(node._pre_hooks.values()):
                    new = fn(tuple(grads))
                    if new is not None:
                        grads = list(new)
            if capture_at:
                for nr in range(len(grads)):
                    for index in capture_at.get((node, nr), ()):
                        captured[index] = grads[nr]
            grad_inputs = ()
            edges = node.next_functions
            if type(node) is OpNode:
                if run_node:
                    if tracing:
                        grad_inputs = _traced_apply(node, grads, create_graph, retain_graph)
                    else:
                        grad_inputs = node.apply(grads, create_graph, retain_graph)
                        # _validate's check, inlined for the common case: one gradient per
                        # input, each of the input's shape and dtype (or None)
                        if type(grad_inputs) is not tuple or len(grad_inputs) != len(edges):
                            grad_inputs = _validate(node, grad_inputs)
                        else:
                            for g, info, edge in zip(grad_inputs, node._in_info, edges):
                                # info: (shape, dtype), None for a scalar input
                                if g is not None and (edge[0] is None or
                                                      (g._data.shape, g._data.dtype) != info):
                                    grad_inputs = _validate(node, grad_inputs)
                                    break
                        if node._post_hooks:
                            grad_inputs = _run_post_hooks(node, grad_inputs, grads)
            elif isinstance(node, AccumulateGrad):
                if run_node and accumulate and (inputs is None or (node, 0) in capture_at):
                    node.apply(grads, create_graph, retain_graph)
            elif run_node:
                if tracing:
                    grad_inputs = _traced_apply(node, grads, create_graph, retain_graph)
                else:
                    grad_inputs = _validate(node, node.apply(grads, create_graph, retain_graph))
                    if node._post_hooks:
                        grad_inputs = _run_post_hooks(node, grad_inputs, grads)
            if _ANOMALY[0] and grad_inputs:  # anomaly mode: the node's results checked
                anomaly_mode.check_node(node, grad_inputs)
            if not run_node:  # its edges still count as done; no gradient flows through
                grad_inputs = (None,) * len(edges)
            newly_ready = None
            # _validate made grad_inputs one gradient per edge
            for (nxt, nr), grad in zip(edges, grad_inputs):
                if nxt is None:
                    continue
                if grad is not None:
                    buf = buffers.get(nxt)
                    if buf is not None:
                        current = buf[nr]
                        buf[nr] = grad if current is None else current + grad
                    else:
                        buf = buffers[nxt] = [None] * (
                            len(nxt._out_info) if type(nxt) is OpNode else output_count(nxt))
                        buf[nr] = grad
                left = deps[nxt] - 1
                deps[nxt] = left
                if left == 0:
                    if newly_ready is None:
                        newly_ready = nxt
                    else:
                        if newly_ready is not True:
                            heappush(ready, (-newly_ready._sequence_nr, id(newly_ready),
                                             newly_ready))
                            newly_ready = True
                        heappush(ready, (-nxt._sequence_nr, id(nxt), nxt))
            if newly_ready is not None and newly_ready is not True:
                if ready:
                    heappush(ready, (-newly_ready._sequence_nr, id(newly_ready), newly_ready))
                else:  # the only ready node: it runs next whatever its sequence number
                    following = newly_ready
    finally:
        _GRAD.enabled = grad_enabled
    return captured


def _refuse_graphs_from_before_the_trace(root_nodes, deps) -> None:
    """A backward traced inside gt.compile may reach only nodes recorded by the trace (and
    leaves' AccumulateGrad): a node built before the call (a loss kept from earlier steps)
    would run for real while tracing, freeing eager's graph and writing placeholders into
    `.grad`. Checked before any node runs, so the call can run eagerly instead."""
    first = current_tracer().first_sequence_nr
    for node in (*root_nodes, *deps):
        if node._sequence_nr < first and type(node) is not AccumulateGrad:
            raise TracingError(
                f"{where(user_frame())}: backward() reaches {node.name()}, recorded before "
                "the compiled call (a tensor with autograd history built outside the "
                "function); the compiled graph cannot run eager's backward through it, so "
                "this call runs eagerly")


def _run_post_hooks(node: Node, grad_inputs: tuple, grads: list) -> tuple:
    for fn in list(node._post_hooks.values()):
        new = fn(grad_inputs, tuple(grads))
        if new is not None:
            grad_inputs = tuple(new)
    edges = len(node.next_functions)  # the engine pairs gradients with edges: as many
    if len(grad_inputs) != edges:     # (the first ones a hook returned; None for missing)
        grad_inputs = (*grad_inputs[:edges], *(None,) * (edges - len(grad_inputs)))
    return grad_inputs


def _traced_apply(node: Node, grads, create_graph: bool, retain_graph: bool) -> tuple:
    """Run a node's backward inside gt.trace: the recorded graph nodes remember which
    forward node (and so which user line) they differentiate."""
    tracer = current_tracer()
    previous = tracer.backward_of
    tracer.backward_of = tracer.grad_sources.get(node)
    try:
        return _validate(node, node.apply(grads, create_graph, retain_graph))
    finally:
        tracer.backward_of = previous


def _validate(node: Node, grad_inputs) -> tuple:
    """Check a node's input grads: right count; cast to each input's dtype, as PyTorch."""
    if type(grad_inputs) is not tuple:
        grad_inputs = tuple(grad_inputs)
    if len(grad_inputs) != len(node.next_functions):
        raise RuntimeError(f"function {node.name()} returned an incorrect number of gradients "
                           f"(expected {len(node.next_functions)}, got {len(grad_inputs)})")
    info = getattr(node, "_in_info", None)
    if info is not None:  # an OpNode: check against raw (shape, numpy dtype) pairs first
        for g, i, (nxt, _) in zip(grad_inputs, info, node.next_functions):
            if g is not None and (nxt is None or i is None or g._data.shape != i[0]
                                  or g._data.dtype != i[1]):
                break
        else:
            return grad_inputs
    metas = getattr(node, "input_metas", None)
    if metas is None:
        return grad_inputs
    fixed = []
    for g, meta, (nxt, _) in zip(grad_inputs, metas, node.next_functions):
        if g is None or meta is None or nxt is None:
            fixed.append(g if nxt is not None else None)
            continue
        if tuple(g.shape) != tuple(meta.shape):
            raise RuntimeError(f"Function {node.name()} returned an invalid gradient - got "
                               f"{list(g.shape)} but expected shape compatible with "
                               f"{list(meta.shape)}")
        if g.dtype is not meta.dtype:
            if g.is_complex() and not meta.dtype.is_complex:
                g = g.real  # a real input gets the real part of a complex gradient (PyTorch)
            g = g.to(meta.dtype)
        fixed.append(g)
    return tuple(fixed)
