"""`gt.trace`: record a function's graph once and optimise it with the default passes.

The recording itself is `ir.tracer.trace_graph`; this layer adds the pass pipeline, so the
returned `TracedFunction` holds the optimised graph in ``graph`` (dead code removed,
elementwise chains fused) and the graph as recorded in ``raw_graph``.
"""

from __future__ import annotations

from ..autograd.grad_mode import no_grad
from ..backends.interpreter import Interpreter
from ..functions.linalg_legacy import trace as matrix_trace
from ..ir.tracer import TracedGraph, trace_graph
from ..passes.pipeline import run_passes
from ..tensor import Tensor


class TracedFunction(TracedGraph):
    """A traced graph you can call: it runs the graph with the op-by-op interpreter."""

    def __call__(self, *inputs):
        out = Interpreter(self.graph, self.params).run(*inputs)
        out = out if isinstance(out, tuple) else (out,)
        if self.mutated:  # in-place changes of state and inputs, applied as eager would
            results, updates = out[:-len(self.mutated)], out[-len(self.mutated):]
            with no_grad():
                for (kind, key), value in zip(self.mutated, updates):
                    target = self.params[key] if kind == "param" else inputs[key]
                    target.copy_(value)
            out = results
        return out[0] if self._single else out


def trace(fn_or_module, *example_inputs, optimize: bool = True) -> TracedFunction:
    """Run `fn_or_module` once on symbolic versions of `example_inputs` and return its graph,
    optimised unless ``optimize=False``; calling the result runs that graph.

    >>> traced = gt.trace(lambda x: (x * 2).relu(), gt.ones(3))
    >>> print(traced.graph)      # the optimised graph, one line per node with its source line
    >>> print(traced.raw_graph)  # as recorded

    ``gt.trace(matrix)`` (a tensor, as in PyTorch) is the sum of its diagonal: a tensor is
    not callable, so the two meanings never collide.
    """
    if isinstance(fn_or_module, Tensor):
        return matrix_trace(fn_or_module, *example_inputs)
    traced = trace_graph(fn_or_module, *example_inputs, result_type=TracedFunction)
    if optimize:
        traced.graph = run_passes(traced.raw_graph)
    return traced
