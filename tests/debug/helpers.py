"""Models, planted bugs (test-only passes) and line lookup for the gt.debug tests."""

from __future__ import annotations

import contextlib
import inspect

import graphtorch as gt
from graphtorch import nn
from graphtorch.ir.rewrite import insert_node
from graphtorch.ops.registry import REGISTRY
from graphtorch.passes import pipeline


def line_of(fn, text: str) -> int:
    """The line number (in fn's file) of the first line of `fn` containing `text`."""
    lines, start = inspect.getsourcelines(fn)
    for i, line in enumerate(lines):
        if text in line:
            return start + i
    raise AssertionError(f"{text!r} not in {fn.__name__}")


def mlp():
    gt.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))


def cnn():
    gt.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(4 * 3 * 3, 5))


def is_backward(graph) -> bool:
    return any(n.name.startswith("grad_") for n in graph.inputs)


# --- planted bugs: each corrupts one node -------------------------------------------------

def corrupt_mul(graph):
    """Turn the first forward ``mul`` of the forward graph into ``add``."""
    if is_backward(graph):
        return graph
    for node in graph.op_nodes:
        if node.op.name == "mul" and node.grad_of is None:
            node.op = REGISTRY["add"]
            break
    return graph


def perturb_constant(graph):
    """Scale the first float constant input of a forward op by 1.5."""
    if is_backward(graph):
        return graph
    for node in graph.op_nodes:
        if node.grad_of is None and any(v.is_const and isinstance(v.const, float)
                                        for v in node.inputs if not isinstance(v, list)):
            node.inputs = tuple(graph.constant(v.const * 1.5)
                                if not isinstance(v, list) and v.is_const
                                and isinstance(v.const, float) else v for v in node.inputs)
            break
    return graph


def corrupt_backward_mul(graph):
    """Turn the first ``mul`` of the backward graph into ``add``."""
    if not is_backward(graph):
        return graph
    for node in graph.op_nodes:
        if node.op.name == "mul":
            node.op = REGISTRY["add"]
            break
    return graph


def plant_nan_backward(graph):
    """After the first float op of the backward graph, read log(value - 1e6) instead."""
    if not is_backward(graph):
        return graph
    target = next(n for n in graph.op_nodes if n.outputs[0].meta.dtype.is_floating_point)
    value = target.outputs[0]
    pos = graph.nodes.index(target)
    readers = [n for n in graph.nodes[pos + 1:] if any(v.id == value.id
                                                       for v in n.tensor_inputs())]
    after = graph.nodes[pos + 1]
    shifted = insert_node(graph, REGISTRY["sub"], [value, 1e6], before=after)
    bad = insert_node(graph, REGISTRY["log"], [shifted], before=after)

    def swap(v):
        if isinstance(v, list):
            return [swap(x) for x in v]
        return bad if not v.is_const and v.id == value.id else v

    for node in readers:
        node.inputs = tuple(swap(v) for v in node.inputs)
    return graph


PLANTED = {"corrupt_mul": corrupt_mul, "perturb_constant": perturb_constant,
           "corrupt_backward_mul": corrupt_backward_mul,
           "plant_nan_backward": plant_nan_backward}


@contextlib.contextmanager
def planted_passes():
    """Register the planted passes in the pipeline's table for a ``with`` block."""
    pipeline.PASSES.update(PLANTED)
    try:
        yield
    finally:
        for name in PLANTED:
            pipeline.PASSES.pop(name, None)


def with_planted(name: str, where: int = 2) -> list[str]:
    """The default pipeline with the planted pass `name` inserted at position `where`."""
    names = list(pipeline.DEFAULT_PIPELINE)
    names.insert(where, name)
    return names
