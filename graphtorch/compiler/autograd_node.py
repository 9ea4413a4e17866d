"""The autograd node of a compiled call: its backward runs the compiled backward graph."""

from __future__ import annotations

import numpy as np

from ..autograd.graph import _FREED_MESSAGE, Node, gradient_edge
from ..device import cupy_module
from ..tensor import Tensor
from . import hooks
from .hooks import as_array as _as_array
from .hooks import run_hooked


class CompiledBackward(Node):
    """One node for a whole compiled forward (PyTorch names its node CompiledFunctionBackward).

    It holds the residuals the forward returned and, when backward runs, feeds them with the
    output gradients to the generated backward program.
    """

    __slots__ = ("executable", "residuals", "output_metas", "_freed", "sizes")

    def __init__(self, executable, next_functions, residuals, output_metas, sizes=None):
        super().__init__(next_functions)
        self.executable = executable
        self.residuals = residuals
        self.output_metas = output_metas
        self._freed = False
        self.sizes = sizes or {}  # symbolic sizes of this call (dynamic variants)

    def name(self) -> str:
        return "CompiledFunctionBackward"

    def apply(self, grad_outputs, create_graph, retain_graph):
        if self._freed:
            raise RuntimeError(_FREED_MESSAGE)
        stale = exe.capture.outputs.stale if (exe := self.executable) is not None else {}
        for g, k in zip(grad_outputs, exe.joint.differentiable):
            if g is not None and k in stale:  # eager's backward would raise here
                raise RuntimeError(stale[k])
        if create_graph:
            raise RuntimeError("double backward through a compiled function is not supported "
                               "yet; call the function eagerly (gt.compiler.disable()) to take "
                               "higher-order gradients")
        exe = self.executable
        cotangents = []
        for g, meta in zip(grad_outputs, self.output_metas):
            if g is None:
                xp = np
                if meta.device.startswith("cuda"):
                    xp = cupy_module()
                cotangents.append(xp.zeros(meta.shape, meta.dtype.np_dtype))
            else:
                data = g._data
                cotangents.append(data if data.dtype == meta.dtype.np_dtype
                                  else data.astype(meta.dtype.np_dtype))

        if hooks.node_hooks:
            grads = run_hooked(exe.backward_graph, [*self.residuals, *cotangents], "backward")
        else:
            grads = exe.backward_program(*self.residuals, *cotangents, **self.sizes)
        if not retain_graph:
            self.residuals = None
            self._freed = True
        result = [None] * len(self.next_functions)
        count = len(exe.grad_positions)
        absent = {k for j, k in enumerate(exe.joint.conditional) if not bool(grads[count + j])}
        for k, (pos, g) in enumerate(zip(exe.grad_positions, grads[:count])):
            if self.next_functions[pos][0] is not None and k not in absent:
                result[pos] = Tensor._wrap(_as_array(g))
        return tuple(result)


def attach(executable, inputs, results, residuals, sizes=None) -> list:
    """Wrap `results` (arrays) as tensors whose differentiable ones flow into one
    CompiledBackward node with edges to `inputs` (tensors or None, graph input order)."""
    # only inputs with a gradient path get an edge (as in eager's graph): an unused input
    # that requires grad keeps .grad None
    wanted = set(executable.grad_positions)
    edges = tuple(gradient_edge(t) if t is not None and t.requires_grad and k in wanted
                  else (None, 0) for k, t in enumerate(inputs))
    differentiable = executable.joint.differentiable
    # metas with this call's sizes (the graph's may hold symbolic sizes)
    metas = [executable.forward_graph.outputs[i].meta._replace(shape=results[i].shape)
             for i in differentiable]
    node = CompiledBackward(executable, edges, tuple(residuals), metas, sizes)
    tensors = [Tensor._wrap(_as_array(a)) for a in results]
    for nr, i in enumerate(differentiable):
        t = tensors[i]
        t._grad_fn = node
        t._output_nr = nr
        t._requires_grad = True
    return tensors
