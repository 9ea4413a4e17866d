"""One compiled variant: optimised graphs, generated programs, and the glue to run them.

When inputs or parameters require grad (and the traced code did not run backward itself),
the forward graph is differentiated as a graph (`passes.autodiff`), split into a forward that
also returns the residuals and a backward graph, and both are compiled; outputs are attached
to the autograd graph through one node whose backward runs the compiled backward.
"""

from __future__ import annotations

import numpy as np

from ..autograd.grad_mode import no_grad
from ..autograd.graph import _FREED_MESSAGE, Node, gradient_layout
from ..backends.interpreter import Interpreter
from ..backends.numpy_backend import NumpyProgram
from ..device import cupy_module
from ..ir.graph import Graph, NodeKind
from ..ir.symbolic import input_sizes
from ..ops.devices import writable_alias
from ..ops.dispatch import adopt_autograd, bump_version
from ..passes.autodiff import build_joint, partition
from ..passes.memory_planning import may_alias_inputs
from ..passes.pipeline import run_passes
from ..symbolic import has_symbols
from ..tensor import Tensor
from ..trace_state import array_with_strides
from . import hooks
from .autograd_node import attach
from .capture import Capture
from .hooks import as_array as _as_array
from .hooks import run_hooked
from .output_reach import OutputReach
from .outputs import UNKNOWN_LAYOUT, DimOrder, assemble
from .refs import ArgRef, FixedRef, GradRef, HyperParameter


def optimize(graph: Graph, record: list | None = None, passes=None) -> Graph:
    """The pass pipeline (`graphtorch.passes.pipeline`) run on a copy of `graph`."""
    return run_passes(graph, passes, record=record)


class InterpreterProgram:
    """The op-by-op backend: arrays in, arrays out, through `Interpreter` (eager kernels)."""

    def __init__(self, graph: Graph, name: str = "forward"):
        self.graph = graph
        self.code = f"# backend='eager': {name} runs op by op\n{graph}"
        self._interp = Interpreter(graph)

    def __call__(self, *arrays):
        inputs = [n for n in self.graph.nodes if n.kind in (NodeKind.INPUT, NodeKind.PARAM)]
        # an input the graph never reads may come as None (an unread `.grad`, see `fetch`)
        arrays = [np.zeros(n.outputs[0].meta.shape, n.outputs[0].meta.dtype.np_dtype)
                  if a is None and k < len(inputs) else a
                  for k, (a, n) in enumerate(zip(arrays, inputs + [None] * len(arrays)))]
        with no_grad():
            out = self._interp.run(*[Tensor._wrap(a) for a in arrays[:len(inputs)]]) \
                if all(n.kind is NodeKind.INPUT for n in inputs) else \
                self._interp.run(*[Tensor._wrap(a) for a in arrays])
        out = out if isinstance(out, tuple) else (out,)
        return tuple(t._data for t in out)


def _contiguous_optimizer_state(cap: Capture, leaves) -> None:
    """Optimizer state updated in place (momentum buffers, Adam moments) gets C-contiguous
    storage once: eager code may have cloned it from a transposed gradient, and the fused
    update kernels run flat, chunk by chunk, only over contiguous operands. Values are
    unchanged; only the buffer's strides (internal optimizer state) differ from eager's."""
    for kind, ref in cap.writebacks:
        if kind != "copy" or type(ref).__name__ != "OptimizerStateRef":
            continue
        t = ref.get(leaves)
        data = t._data
        if t._base is None and type(data) is np.ndarray and not data.flags.c_contiguous:
            t._data = np.ascontiguousarray(data)


def _in_eager_layouts(outs, n: int, strided: list) -> list:
    """`outs` with each of the first `n` results laid out as eager's: the strides traced
    for it (`strided`: (position, strides)), else C-contiguous. Values are unchanged; a
    result whose layout differs is copied (fused kernels write in C order, passes may
    drop a copy that made eager's result contiguous)."""
    outs = list(outs)
    wanted = dict(strided)
    for k in range(n):
        a = outs[k]
        strides = wanted.get(k)
        if type(a) is not np.ndarray or strides is UNKNOWN_LAYOUT:
            continue
        if type(strides) is DimOrder:  # dynamic sizes: eager's order at this call's sizes
            strides = strides.strides(a.shape, a.itemsize)
            if a.strides != strides and a.size > 1:
                outs[k] = _with_strides(a, strides)
            continue
        if strides is None:
            if not a.flags.c_contiguous:
                outs[k] = np.ascontiguousarray(a)
        elif a.strides != strides:
            outs[k] = _with_strides(a, strides)
    return outs


def _with_strides(a: np.ndarray, strides: tuple) -> np.ndarray:
    """A copy of `a` with the given (non-negative, dense) byte strides."""
    out = array_with_strides(a.shape, a.dtype, strides)
    np.copyto(out, a)
    return out


def _on_cuda(graph: Graph) -> bool:
    return any(n.outputs[0].meta.device.startswith("cuda") for n in graph.nodes
               if n.kind in (NodeKind.INPUT, NodeKind.PARAM))


def make_program(graph: Graph, backend: str, name: str, inplace: dict | None = None):
    """The program running `graph`: op by op ("eager"), generated CuPy code with CUDA kernels
    for fused groups ("cupy", or any graph whose inputs live on a GPU), or generated NumPy
    code ("numpy")."""
    if backend == "eager":
        return InterpreterProgram(graph, name)
    if backend == "cupy" or _on_cuda(graph):
        # a CUDA graph replays fixed buffers: only for static sizes
        static = not any(has_symbols(tuple(n.outputs[0].meta.shape)) for n in graph.nodes
                         if n.kind in (NodeKind.INPUT, NodeKind.PARAM))
        # lazy: GPU only; it loads ctypes and the CUDA code generator (import time)
        from ..backends.cupy_backend import make_cupy_program

        return make_cupy_program(graph, name, inplace=inplace, cuda_graph=static)

    return NumpyProgram(graph, name, inplace=inplace)


class Executable:
    """Runs one captured variant (see the module docstring)."""

    # Passes that are safe on graphs with symbolic sizes (the others compare or fold sizes,
    # or plan buffers by their byte size).
    DYNAMIC_PASSES = ("dce",)

    def __init__(self, cap: Capture, leaves: list, backend: str, passes=None,
                 dynamic: bool = False):
        self.capture = cap
        self.backend = backend
        if dynamic:
            passes = [p for p in (passes or self.DYNAMIC_PASSES) if p in self.DYNAMIC_PASSES]
        graph = cap.graph
        inputs = [n for n in graph.nodes if n.kind in (NodeKind.INPUT, NodeKind.PARAM)]
        feed_by_name = {n.name: f for n, f in
                        zip([n for n in inputs if n.kind is NodeKind.INPUT], cap.feeds)}
        flags = []
        for n in inputs:
            if n.kind is NodeKind.PARAM:
                flags.append(cap.params[n.name].requires_grad)
            else:
                feed = feed_by_name[n.name]
                flags.append(isinstance(feed, ArgRef) and feed.get(leaves).requires_grad)
        # a backward inside the function freed the autograd graph of some outputs (eager's
        # backward through them raises); the others are differentiated as usual (outputs
        # computed after that backward, or from a graph it retained: create_graph=True)
        # not gated on the caller's grad mode: nodes traced under no_grad are gradient
        # barriers already, and an enable_grad() block inside a no_grad call differentiates
        self.differentiable = any(flags) and (
            not cap.ran_backward or any(cap.output_grads))
        params = cap.params
        self._grad_flags = flags
        self._reach = None
        if backend == "numpy" and _on_cuda(graph):
            backend = self.backend = "cupy"  # every program of this variant runs on the GPU
        joint = None
        if self.differentiable:
            joint = build_joint(graph, params, flags, cap.output_grads)
            # no output depends on an input that requires grad (eager outputs would not
            # require grad either): nothing to differentiate
            self.differentiable = bool(joint.differentiable and joint.grad_inputs)
        if self.differentiable:
            split = partition(joint)
            params = joint.params
            self.split = split
            self.joint = joint
            self.forward_graph = optimize(split.forward, None, passes)
            self.backward_graph = optimize(split.backward, None, passes)
            self.backward_program = make_program(self.backward_graph, backend, "backward")
            self.grad_positions = joint.grad_inputs
            self.num_residuals = split.num_residuals
        else:
            self.forward_graph = optimize(graph, None, passes)
            self.backward_graph = None
            self.num_residuals = 0
        self.params = params
        refs = dict(cap.refs)
        for name, t in params.items():
            refs.setdefault(name, FixedRef(t, name))
        self.refs = refs
        _contiguous_optimizer_state(cap, leaves)
        self.forward_program = make_program(self.forward_graph, backend, "forward",
                                            self._in_place_writebacks())
        fwd_inputs = [n for n in self.forward_graph.nodes
                      if n.kind in (NodeKind.INPUT, NodeKind.PARAM)]
        self.fetch = []
        on_gpu = self.backend == "cupy"
        read = self.forward_graph.users()
        for n in fwd_inputs:
            if n.kind is NodeKind.PARAM:
                ref = refs[n.name]
                t = params[n.name]
                if isinstance(ref, GradRef) and n.outputs[0].id not in read:
                    # a .grad bound when traced but reset before any use (zero_grad inside):
                    # the guards ignore whether it exists, so it may be None now
                    self.fetch.append(("unread",))
                elif on_gpu and isinstance(ref, FixedRef) and type(t._data) is np.ndarray:
                    # a CPU constant in a GPU graph (made by a vjp rule, or a 0-d tensor):
                    # uploaded once, again only when the tensor changes (version counter)
                    self.fetch.append(("host", ref, [None, None]))
                else:
                    self.fetch.append(("ref", ref))
            else:
                feed = feed_by_name[n.name]
                self.fetch.append(("ref", feed) if isinstance(feed, ArgRef) else
                                  ("hyper", feed))
        # The autograd edges: graph inputs in order (tensors), for the backward node.
        self._input_refs = [refs[n.name] if n.kind is NodeKind.PARAM else
                            feed_by_name.get(n.name) for n in inputs]
        self._Tensor = Tensor
        self._has_writebacks = bool(cap.writebacks or cap.clear_grads)
        plan = cap.outputs
        # outputs eager code could differentiate that get no compiled backward: through a
        # graph a backward inside freed (a second backward raises), or through leaves made
        # inside the function only (gt.zeros(3, requires_grad=True), a module built inside):
        # eager's backward reaches nothing the caller can see
        attached = set(self.joint.differentiable) if self.differentiable else set()
        self._spent = [(k, k in plan.spent or (cap.ran_backward and not self.differentiable))
                       for k, rg in enumerate(plan.requires_grad) if rg and k not in attached]
        self._copy_outputs = _outputs_aliasing_inputs(self.forward_graph, cap.num_results)
        # residuals that may be an input's memory, when write-backs overwrite inputs: copied
        # first, or the backward would read the new values (eager saves the old ones)
        self._copy_residuals = []
        if self.num_residuals and any(k == "copy" for k, _ in cap.writebacks):
            total = len(self.forward_graph.outputs)
            first = total - self.num_residuals
            self._copy_residuals = [k - first for k in _outputs_aliasing_inputs(
                self.forward_graph, total) if k >= first]
        # sizes the backward program cannot read off its own inputs' shapes
        self._backward_sizes = bool(self.differentiable and getattr(
            self.backward_program, "free_symbols", None))
        self._simple = (plan.single and plan.leaves[0][0] == "graph" and not
                        self._has_writebacks and not self._spent and not self._copy_outputs)
        # results eager lays out in another order than C (a result computed from a
        # transposed input, in NumPy's order='K'): (position, strides or UNKNOWN_LAYOUT)
        self._strided_results = [(k, st) for k, st in enumerate(plan.layouts)
                                 if st is not None]

    def output_reach(self) -> OutputReach:
        """What eager's backward from some of the outputs reaches (built at first use)."""
        reach = self._reach
        if reach is None:
            reach = self._reach = OutputReach(self.capture.graph, self.joint.differentiable,
                                              self._grad_flags)
        return reach

    def _in_place_writebacks(self) -> dict:
        """Forward-graph output position -> input value id, for state written back in place
        (the generated code may then compute the new value straight into its buffer)."""
        cap = self.capture
        by_ref = {}
        for n in self.forward_graph.nodes:
            if n.kind is NodeKind.PARAM and n.name in self.refs:
                by_ref[id(self.refs[n.name])] = n.outputs[0].id
        wanted = {}
        for k, (kind, ref) in enumerate(cap.writebacks):
            if kind == "copy" and id(ref) in by_ref:
                wanted[cap.num_results + k] = by_ref[id(ref)]
        return wanted

    @property
    def code(self) -> str:
        text = self.forward_program.code
        if self.backward_graph is not None:
            text += "\n" + self.backward_program.code
        return text

    def _arrays(self, leaves) -> list:
        out = []
        for entry in self.fetch:
            kind = entry[0]
            if kind == "ref":
                out.append(entry[1].get(leaves)._data)
            elif kind == "hyper":
                out.append(entry[1].array())
            elif kind == "unread":
                out.append(None)
            else:  # ("host", ref, cache): a CPU tensor uploaded once per version
                t, cache = entry[1].get(leaves), entry[2]
                root = t._base if t._base is not None else t
                if cache[0] != root._vc:
                    cache[0], cache[1] = root._vc, cupy_module().asarray(t._data)
                out.append(cache[1])
        return out

    def run(self, leaves):
        cap = self.capture
        arrays = self._arrays(leaves)
        outs = run_hooked(self.forward_graph, arrays, "forward") if hooks.node_hooks \
            else self.forward_program(*arrays)
        n = cap.num_results
        relayout = bool(self._strided_results)
        if not relayout:
            for k in range(n):
                a = outs[k]
                if type(a) is np.ndarray and not a.flags.c_contiguous:
                    relayout = True
                    break
        if relayout:
            outs = _in_eager_layouts(outs, n, self._strided_results)
        if self._simple and not self.differentiable:
            return self._Tensor._wrap(_as_array(outs[0]))
        results = list(outs[:n])
        extra = outs[n:len(outs) - self.num_residuals]
        residuals = outs[len(outs) - self.num_residuals:]
        if self._copy_residuals:
            residuals = list(residuals)
            for k in self._copy_residuals:
                residuals[k] = residuals[k].copy()
        # a result must not share memory with an input, another result, or a value written
        # back into state (`return W.grad.clone()` after a backward inside: the clone is
        # folded away, and the next call's write into W.grad would change the result)
        state = {id(a) for a in extra} if self._has_writebacks else ()
        seen = set()
        for k, a in enumerate(results):
            if k in self._copy_outputs or id(a) in seen or (
                    id(a) in state and k not in cap.shares_state):
                results[k] = a.copy(order="K")  # eager's layout (_in_eager_layouts)
            seen.add(id(results[k]))
        if self.differentiable:
            tensors = self._attach_autograd(leaves, results + list(extra), residuals, arrays)
        else:
            wrap = self._Tensor._wrap
            tensors = [wrap(_as_array(a)) for a in results]
        for k, spent in self._spent:
            _mark_spent(tensors[k]) if spent else _mark_unreachable(tensors[k])
        if self._has_writebacks:
            self._write_back(leaves, extra, tensors[n:] if self.differentiable else None)
        if self._simple:
            return tensors[0]
        sizes = None
        if cap.outputs.sized:
            sizes = input_sizes(self.forward_graph, arrays)
        return assemble(cap.outputs, leaves, tensors[:n], sizes)

    def _write_back(self, leaves, arrays, tensors) -> None:
        Tensor = self._Tensor
        for k, ((kind, ref), arr) in enumerate(zip(self.capture.writebacks, arrays)):
            if kind == "copy":
                t = ref.get(leaves)
                if t._data is not arr:
                    dst = t._data
                    if not getattr(dst.flags, "writeable", True):
                        # a view of an expanded tensor (NumPy marks those read-only): the
                        # trace allowed the write (a fill, or a row repeating no element)
                        dst = writable_alias(dst)
                    dst[...] = arr  # NumPy or CuPy: same buffer, as eager in-place
                bump_version(t)
                if tensors is not None and tensors[k]._grad_fn is not None:
                    adopt_autograd(t, tensors[k])  # the write is part of autograd history
            else:  # ("grad", owner)
                owner = ref.get(leaves)
                owner._grad = Tensor._wrap(gradient_layout(_as_array(arr), owner._data))
        for ref in self.capture.clear_grads:
            ref.get(leaves)._grad = None

    def _attach_autograd(self, leaves, results, residuals, arrays=None):
        inputs = [None if spec is None or isinstance(spec, HyperParameter) else
                  spec.get(leaves) for spec in self._input_refs]
        sizes = None
        if self._backward_sizes:
            known = input_sizes(self.forward_graph, arrays)
            sizes = {k: known[k] for k in self.backward_program.free_symbols if k in known}
        return attach(self, inputs, results, residuals, sizes)


def _outputs_aliasing_inputs(graph: Graph, count: int) -> set:
    """Positions among the first `count` outputs whose array may be an input's memory (an
    input returned as it is, or a view of it after passes): they are copied, so a result
    never shares memory with an argument or a parameter unless eager's would."""
    producer = {v.id: n for n in graph.nodes for v in n.outputs}
    risky = set()
    for k, v in enumerate(graph.outputs[:count]):
        stack, seen = [v], set()
        while stack:
            value = stack.pop()
            if value.is_const or value.id in seen:
                continue
            seen.add(value.id)
            node = producer.get(value.id)
            if node is None or node.kind in (NodeKind.INPUT, NodeKind.PARAM):
                risky.add(k)
                break
            if node.kind is NodeKind.OP and may_alias_inputs(node):
                stack.extend(node.tensor_inputs())
    return risky


class _SpentBackward(Node):
    """The grad_fn of an output of a call that already ran backward() inside."""

    __slots__ = ()

    def name(self) -> str:
        return "CompiledFunctionBackward"

    def apply(self, grad_outputs, create_graph, retain_graph):
        raise RuntimeError(_FREED_MESSAGE)


class _InsideLeavesBackward(Node):
    """The grad_fn of an output whose gradient flows only into leaves made inside the
    compiled function (not returned): eager's backward accumulates there, out of reach."""

    __slots__ = ()

    def name(self) -> str:
        return "CompiledFunctionBackward"

    def apply(self, grad_outputs, create_graph, retain_graph):
        return ()


def _mark_unreachable(t) -> None:
    t._grad_fn = _InsideLeavesBackward(())
    t._requires_grad = True


def _mark_spent(t) -> None:
    """An output of a call that already ran backward() inside: it requires grad, as in
    eager code, but a second backward through it raises eager's error. (One class for all
    of them: defining it per call cost ~20 us per compiled training step.)"""
    t._grad_fn = _SpentBackward(())
    t._requires_grad = True
