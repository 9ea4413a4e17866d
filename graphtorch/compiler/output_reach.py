"""Which part of eager's autograd graph a backward from some outputs of a compiled call runs.

A compiled call has one backward node for all its differentiable outputs, but eager code
has one autograd node per op, and a backward runs (and, without ``retain_graph``, frees)
only the nodes it reaches:

- ``a, b = f(x); a.sum().backward(); b.sum().backward()`` works eagerly when the two
  outputs share no node that saved tensors, and raises "a second time" when they do;
- a backward from ``b`` alone leaves ``.grad`` None for parameters only ``a`` reaches;
- ``autograd.grad(a, w)`` runs (and frees) only the nodes between ``a`` and ``w``.

`OutputReach` answers those questions from the traced forward graph: per differentiable
output, the inputs it reaches (`autodiff._presence`, the rule the compiled backward's
gradients follow) and the ops that exist in eager's autograd graph and save tensors for
backward (PyTorch frees exactly those). `CompiledBackward` keeps the set of such ops a
backward without ``retain_graph`` ran, and raises eager's error when a later backward would
run one of them again.
"""

from __future__ import annotations

from ..ir.graph import Graph, NodeKind
from ..passes.autodiff import _presence


class OutputReach:
    """Per differentiable output of a forward graph: the inputs and saving ops it reaches."""

    def __init__(self, graph: Graph, differentiable: list, requires_grad: list):
        inputs = [n for n in graph.nodes if n.kind in (NodeKind.INPUT, NodeKind.PARAM)]
        self.num_inputs = len(inputs)
        # forward: which values carry autograd history (eager records a node for an op
        # with an input that requires grad), and which grad-requiring inputs each depends on
        deps: dict[int, frozenset] = {}
        for k, (n, flag) in enumerate(zip(inputs, requires_grad)):
            if flag:
                deps[n.outputs[0].id] = frozenset((k,))
        node_deps: dict[int, frozenset] = {}  # id(node) -> inputs it depends on
        producer: dict[int, object] = {}
        for node in graph.nodes:
            if node.kind is not NodeKind.OP:
                continue
            for v in node.outputs:
                producer[v.id] = node
            if node.no_grad or node.op.vjp is None:
                continue
            d = frozenset().union(*[deps.get(v.id, ()) for v in node.tensor_inputs()])
            if not d:
                continue
            node_deps[id(node)] = d
            for nr, v in enumerate(node.outputs):
                if nr in node.op.differentiable_outputs and (
                        v.meta.dtype.is_floating_point or v.meta.dtype.is_complex):
                    deps[v.id] = d
        saving_index: dict[int, int] = {}
        self.saving_deps: list[frozenset] = []  # per saving op: inputs it depends on
        for node in graph.nodes:
            if id(node) in node_deps and (node.op.save_inputs or node.op.save_output):
                saving_index[id(node)] = len(self.saving_deps)
                self.saving_deps.append(node_deps[id(node)])
        # backward, per differentiable output: presence of each input (True, False or an
        # expression over cond predicates) and the saving ops reached
        self.presence: list[list] = []
        self.saving: list[frozenset] = []
        for i in differentiable:
            out = graph.outputs[i]
            pres = _presence(graph, [out])
            self.presence.append([pres.get(n.outputs[0].id, False) if requires_grad[k]
                                  else False for k, n in enumerate(inputs)])
            reached, seen, stack = set(), set(), [out]
            while stack:
                v = stack.pop()
                if v.is_const or v.id in seen or v.id not in deps:
                    continue
                seen.add(v.id)
                node = producer.get(v.id)
                if node is None or id(node) not in node_deps:
                    continue
                if id(node) in saving_index:
                    reached.add(saving_index[id(node)])
                stack.extend(node.tensor_inputs())
            self.saving.append(frozenset(reached))
        self.all_saving = frozenset(range(len(self.saving_deps)))
        self._runs: dict = {}
        self._exhausted: dict = {}

    def runs(self, given: tuple, wanted) -> frozenset:
        """The saving ops eager's backward runs from the outputs flagged in `given`, toward
        the input positions `wanted` (None: every input)."""
        key = (given, wanted)
        hit = self._runs.get(key)
        if hit is None:
            ops = frozenset().union(*[s for s, g in zip(self.saving, given) if g])
            if wanted is not None:
                ops = frozenset(k for k in ops if self.saving_deps[k] & wanted)
            if len(self._runs) < 64:
                self._runs[key] = ops
            hit = ops
        return hit

    def exhausted(self, spent: frozenset) -> bool:
        """Whether every backward through the call would now raise (each path from an
        output to an input runs a saving op in `spent`): the residuals can go."""
        hit = self._exhausted.get(spent)
        if hit is None:
            hit = bool(spent) and all(
                any(position in self.saving_deps[k] for k in ops & spent)
                for ops, pres in zip(self.saving, self.presence)
                for position, p in enumerate(pres) if p is not False)
            if len(self._exhausted) < 64:
                self._exhausted[spent] = hit
        return hit

    def reached(self, given: tuple, position: int):
        """Whether eager's backward from the outputs in `given` reaches input `position`:
        True, False, "flag" (as the full backward's presence flag says) or "ambiguous"
        (it depends on a cond predicate that the flag mixes with other outputs')."""
        inside = [p[position] for p, g in zip(self.presence, given) if g]
        if any(p is True for p in inside):
            return True
        if all(p is False for p in inside):
            return False
        outside = [p[position] for p, g in zip(self.presence, given) if not g]
        return "flag" if all(p is False for p in outside) else "ambiguous"

    def reached_by_others(self, given: tuple, position: int) -> bool:
        """Whether an output not in `given` reaches input `position` (its zero cotangent
        then flows into that gradient in the compiled backward)."""
        return any(p[position] is not False for p, g in zip(self.presence, given) if not g)
