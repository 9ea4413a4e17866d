"""The autograd node of a compiled call: its backward runs the compiled backward graph."""

from __future__ import annotations

import numpy as np

from ..autograd.engine import current_useful_nodes
from ..autograd.graph import _FREED_MESSAGE, Node, gradient_edge
from ..device import cupy_module
from ..tensor import Tensor
from . import hooks
from .hooks import as_array as _as_array
from .hooks import run_hooked


class CompiledBackward(Node):
    """One node for a whole compiled forward (PyTorch names its node CompiledFunctionBackward).

    It holds the residuals the forward returned and, when backward runs, feeds them with the
    output gradients to the generated backward program. It stands for all of eager's nodes
    between the call's outputs and inputs: a backward from some outputs only (or toward some
    inputs only: `autograd.grad`) gives gradients to, and frees, what eager's would
    (`output_reach`); outputs without a gradient get zeros.
    """

    __slots__ = ("executable", "residuals", "output_metas", "_freed", "sizes", "_spent_ops")

    def __init__(self, executable, next_functions, residuals, output_metas, sizes=None):
        super().__init__(next_functions)
        self.executable = executable
        self.residuals = residuals
        self.output_metas = output_metas
        self._freed = False      # every saving op of eager's graph was freed: residuals too
        self._spent_ops = None   # the saving ops (`OutputReach` indices) a backward freed
        self.sizes = sizes or {}  # symbolic sizes of this call (dynamic variants)

    def name(self) -> str:
        return "CompiledFunctionBackward"

    def apply(self, grad_outputs, create_graph, retain_graph):
        exe = self.executable
        useful = current_useful_nodes()
        wanted = None
        if useful is not None:  # autograd.grad / backward(inputs=...): eager runs only the
            # nodes toward the inputs asked for
            reach = exe.output_reach()
            given = tuple(g is not None for g in grad_outputs)
            wanted = frozenset(pos for pos, (nxt, _) in enumerate(self.next_functions)
                               if nxt is not None and nxt in useful
                               and reach.reached(given, pos) is not False)
            if not wanted:  # none of eager's nodes between these outputs and those inputs
                return (None,) * len(self.next_functions)
        if self._freed:
            raise RuntimeError(_FREED_MESSAGE)
        stale = exe.capture.outputs.stale
        for g, k in zip(grad_outputs, exe.joint.differentiable):
            if g is not None and k in stale:  # eager's backward would raise here
                raise RuntimeError(stale[k])
        if create_graph:
            raise RuntimeError("double backward through a compiled function is not supported "
                               "yet; call the function eagerly (gt.compiler.disable()) to take "
                               "higher-order gradients")
        reach = exe.output_reach()
        given = tuple(g is not None for g in grad_outputs)
        partial = not all(given)
        ops = None
        if partial or wanted is not None or self._spent_ops:
            ops = reach.runs(given, wanted)
            if self._spent_ops and ops & self._spent_ops:
                raise RuntimeError(_FREED_MESSAGE)
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

        grads = self._run(cotangents)
        result = [None] * len(self.next_functions)
        count = len(exe.grad_positions)
        absent = {k for j, k in enumerate(exe.joint.conditional) if not bool(grads[count + j])}
        for k, (pos, g) in enumerate(zip(exe.grad_positions, grads[:count])):
            if self.next_functions[pos][0] is None or k in absent:
                continue
            if wanted is not None and pos not in wanted:
                continue  # the engine does not read it
            if partial:
                present = reach.reached(given, pos)
                if present is False:
                    continue  # eager's backward never reaches this input: .grad stays None
                if present == "ambiguous":
                    raise RuntimeError(
                        "a backward through some outputs of a compiled function reaches an "
                        "input only through a branch of a cond that other outputs also "
                        "reach; graphtorch cannot tell whether eager's backward would give "
                        "it a gradient. Pass a gradient for every output (zeros for those "
                        "you do not need), or run the function eagerly "
                        "(gt.compiler.disable())")
                if reach.reached_by_others(given, pos) and not _finite(g):
                    g = self._isolated(cotangents, given, k, g)
            result[pos] = Tensor._wrap(_as_array(g))
        if not retain_graph:
            if ops is None:
                ops = reach.all_saving
            spent = ops if not self._spent_ops else ops | self._spent_ops
            self._spent_ops = spent
            if reach.exhausted(spent):  # every later backward raises: free the memory
                self.residuals = None
                self._freed = True
        return tuple(result)

    def _run(self, cotangents):
        exe = self.executable
        if hooks.node_hooks:
            return run_hooked(exe.backward_graph, [*self.residuals, *cotangents], "backward")
        return exe.backward_program(*self.residuals, *cotangents, **self.sizes)

    def _isolated(self, cotangents, given, k, g):
        """Gradient `k` when it is not finite and outputs without a gradient reach it: their
        zero cotangents may have met an inf/NaN on the way (0 * inf), which eager's backward,
        never running their ops, would not see. A run with every cotangent zero tells: if it
        is finite there, those contributions were zeros and `g` is eager's value."""
        zeros = [(np if type(c) is np.ndarray else cupy_module()).zeros_like(c)
                 for c in cotangents]
        probe = self._run(zeros)[k]
        if _finite(probe):
            return g
        raise RuntimeError(
            "a backward through some outputs of a compiled function gave a non-finite "
            "gradient that outputs without a gradient may have contributed to (their zero "
            "gradient met an inf or NaN value, which eager's backward would never compute). "
            "Pass a gradient for every output, or run the function eagerly "
            "(gt.compiler.disable())")


def _finite(a) -> bool:
    xp = np if type(a) is np.ndarray or np.isscalar(a) else cupy_module()
    return bool(xp.isfinite(a).all())


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
