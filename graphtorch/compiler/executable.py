"""One compiled variant: optimised graphs, generated programs, and the glue to run them.

When inputs or parameters require grad (and the traced code did not run backward itself),
the forward graph is differentiated as a graph (`passes.autodiff`), split into a forward that
also returns the residuals and a backward graph, and both are compiled; outputs are attached
to the autograd graph through one node whose backward runs the compiled backward.
"""

from __future__ import annotations

import numpy as np

from ..ir.graph import Graph, NodeKind
from . import hooks
from .capture import Capture


def optimize(graph: Graph, record: list | None = None, passes=None) -> Graph:
    """The default pass pipeline (`graphtorch.passes.pipeline`), when it is available."""
    try:
        from ..passes.pipeline import run_passes
    except ImportError:  # the pipeline is optional while it is being built
        return graph
    return run_passes(graph, passes, record=record)


class InterpreterProgram:
    """The op-by-op backend: arrays in, arrays out, through `Interpreter` (eager kernels)."""

    def __init__(self, graph: Graph, name: str = "forward"):
        from ..backends.interpreter import Interpreter

        self.graph = graph
        self.code = f"# backend='eager': {name} runs op by op\n{graph}"
        self._interp = Interpreter(graph)

    def __call__(self, *arrays):
        from ..autograd.grad_mode import no_grad
        from ..tensor import Tensor

        inputs = [n for n in self.graph.nodes if n.kind in (NodeKind.INPUT, NodeKind.PARAM)]
        with no_grad():
            out = self._interp.run(*[Tensor._wrap(a) for a in arrays[:len(inputs)]]) \
                if all(n.kind is NodeKind.INPUT for n in inputs) else \
                self._interp.run(*[Tensor._wrap(a) for a in arrays])
        out = out if isinstance(out, tuple) else (out,)
        return tuple(t._data for t in out)


def _contiguous_optimizer_state(cap: Capture) -> None:
    """Optimizer state updated in place (momentum buffers, Adam moments) gets C-contiguous
    storage once: eager code may have cloned it from a transposed gradient, and the fused
    update kernels run flat, chunk by chunk, only over contiguous operands. Values are
    unchanged; only the buffer's strides (internal optimizer state) differ from eager's."""
    for kind, *target in cap.writebacks:
        if kind != "copy":
            continue
        t = target[0]
        name = next((n for n, p in cap.params.items() if p is t), "")
        data = t._data
        if ".state." in name and t._base is None and type(data) is np.ndarray \
                and not data.flags.c_contiguous:
            t._data = np.ascontiguousarray(data)


def _as_array(a):
    """NumPy scalars (0-d results) become arrays; device arrays stay as they are."""
    return a if type(a) is np.ndarray or hasattr(a, "__cuda_array_interface__") \
        else np.asarray(a)


def run_hooked(graph: Graph, arrays, phase: str) -> tuple:
    """Run `graph` node by node, calling every `hooks.node_hooks` entry after each node."""
    from ..autograd.grad_mode import no_grad
    from ..backends.interpreter import Interpreter
    from ..tensor import Tensor

    def callback(node, outputs):
        if node.kind is NodeKind.OP:
            for hook in list(hooks.node_hooks):
                hook(phase, node, outputs)

    nodes = [n for n in graph.nodes if n.kind in (NodeKind.INPUT, NodeKind.PARAM)]
    with no_grad():
        out = Interpreter(graph).run(*[Tensor._wrap(_as_array(a)) for a in arrays[:len(nodes)]],
                                     callback=callback)
    out = out if isinstance(out, tuple) else (out,)
    return tuple(t._data for t in out)


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
        from ..backends.cupy_backend import make_cupy_program
        from ..ir.symbolic import has_symbols

        # a CUDA graph replays fixed buffers: only for static sizes
        static = not any(has_symbols(tuple(n.outputs[0].meta.shape)) for n in graph.nodes
                         if n.kind in (NodeKind.INPUT, NodeKind.PARAM))
        return make_cupy_program(graph, name, inplace=inplace, cuda_graph=static)
    from ..backends.numpy_backend import NumpyProgram

    return NumpyProgram(graph, name, inplace=inplace)


class Executable:
    """Runs one captured variant (see the module docstring)."""

    # Passes that are safe on graphs with symbolic sizes (the others compare or fold sizes,
    # or plan buffers by their byte size).
    DYNAMIC_PASSES = ("dce",)

    def __init__(self, cap: Capture, leaves: list, backend: str, passes=None,
                 dynamic: bool = False):
        from ..autograd import grad_mode
        from ..tensor import Tensor

        self.capture = cap
        self.backend = backend
        if dynamic:
            passes = [p for p in (passes or self.DYNAMIC_PASSES) if p in self.DYNAMIC_PASSES]
        self.pass_record: list = []
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
                flags.append(feed[0] == "arg" and leaves[feed[1]].requires_grad)
        self.differentiable = (grad_mode.is_grad_enabled() and not cap.ran_backward
                               and any(flags))
        params = cap.params
        if backend == "numpy" and _on_cuda(graph):
            backend = self.backend = "cupy"  # every program of this variant runs on the GPU
        joint = None
        if self.differentiable:
            from ..passes.autodiff import build_joint

            joint = build_joint(graph, params, flags)
            # no output depends on an input that requires grad (eager outputs would not
            # require grad either): nothing to differentiate
            self.differentiable = bool(joint.differentiable and joint.grad_inputs)
        if self.differentiable:
            from ..passes.autodiff import partition

            split = partition(joint)
            params = joint.params
            self.split = split
            self.joint = joint
            self.forward_graph = optimize(split.forward, self.pass_record, passes)
            self.backward_graph = optimize(split.backward, None, passes)
            self.backward_program = make_program(self.backward_graph, backend, "backward")
            self.grad_positions = joint.grad_inputs
            self.num_residuals = split.num_residuals
        else:
            self.forward_graph = optimize(graph, self.pass_record, passes)
            self.backward_graph = None
            self.num_residuals = 0
        self.params = params
        _contiguous_optimizer_state(cap)
        self.forward_program = make_program(self.forward_graph, backend, "forward",
                                            self._in_place_writebacks(feed_by_name))
        fwd_inputs = [n for n in self.forward_graph.nodes
                      if n.kind in (NodeKind.INPUT, NodeKind.PARAM)]
        self.fetch = []
        on_gpu = self.backend == "cupy"
        for n in fwd_inputs:
            if n.kind is NodeKind.PARAM:
                t = params[n.name]
                if on_gpu and type(t._data) is np.ndarray:
                    # a CPU constant in a GPU graph (made by a vjp rule, or a 0-d tensor):
                    # uploaded once, again only when the tensor changes (version counter)
                    self.fetch.append(("host_param", t, [None, None]))
                else:
                    self.fetch.append(("param", t))
            else:
                self.fetch.append(feed_by_name[n.name])
        # The autograd edges: graph inputs in order (tensors), for the backward node.
        self._input_tensors_spec = [("param", params[n.name]) if n.kind is NodeKind.PARAM
                                    else feed_by_name.get(n.name) for n in inputs]
        self._Tensor = Tensor
        self._has_writebacks = bool(cap.writebacks or cap.clear_grads)

    def _in_place_writebacks(self, feed_by_name) -> dict:
        """Forward-graph output position -> input value id, for state written back in place
        (the generated code may then compute the new value straight into its buffer)."""
        cap = self.capture
        by_tensor = {}
        for n in self.forward_graph.nodes:
            if n.kind is NodeKind.PARAM:
                by_tensor[id(self.params[n.name])] = n.outputs[0].id
        wanted = {}
        for k, (kind, *target) in enumerate(cap.writebacks):
            if kind == "copy" and id(target[0]) in by_tensor:
                wanted[cap.num_results + k] = by_tensor[id(target[0])]
        return wanted

    @property
    def code(self) -> str:
        text = self.forward_program.code
        if self.backward_graph is not None:
            text += "\n" + self.backward_program.code
        return text

    def _arrays(self, leaves) -> list:
        out = []
        for kind, *rest in self.fetch:
            if kind == "param":
                out.append(rest[0]._data)
            elif kind == "arg":
                out.append(leaves[rest[0]]._data)
            elif kind == "host_param":
                t, cache = rest
                root = t._base if t._base is not None else t
                if cache[0] != root._vc:
                    from ..device import cupy_module

                    cache[0], cache[1] = root._vc, cupy_module().asarray(t._data)
                out.append(cache[1])
            else:  # ("hyper", group, key): an optimizer hyper-parameter, read every call
                group, key = rest
                out.append(np.asarray(group[key], dtype=np.float64))
        return out

    def run(self, leaves):
        cap = self.capture
        arrays = self._arrays(leaves)
        outs = run_hooked(self.forward_graph, arrays, "forward") if hooks.node_hooks \
            else self.forward_program(*arrays)
        n = cap.num_results
        results = outs[:n]
        extra = outs[n:len(outs) - self.num_residuals]
        residuals = outs[len(outs) - self.num_residuals:]
        if self._has_writebacks:
            self._write_back(extra)
        if self.differentiable:
            tensors = self._attach_autograd(leaves, results, residuals)
        else:
            wrap = self._Tensor._wrap
            tensors = [wrap(_as_array(a)) for a in results]
        return tensors[0] if cap.single else tuple(tensors)

    def _write_back(self, arrays) -> None:
        from ..ops.dispatch import bump_version

        Tensor = self._Tensor
        for (kind, *target), arr in zip(self.capture.writebacks, arrays):
            if kind == "copy":
                t = target[0]
                if t._data is not arr:
                    t._data[...] = arr  # NumPy or CuPy: same buffer, as eager in-place
                bump_version(t)
            elif kind == "grad":
                target[0]._grad = Tensor._wrap(_as_array(arr))
            else:  # ("state", entries, key)
                entries, key = target
                entries[key] = Tensor._wrap(_as_array(arr))
        for p in self.capture.clear_grads:
            p._grad = None

    def _attach_autograd(self, leaves, results, residuals):
        from .autograd_node import attach

        inputs = []
        for spec in self._input_tensors_spec:
            if spec is None or spec[0] == "hyper":
                inputs.append(None)
            elif spec[0] == "param":
                inputs.append(spec[1])
            else:
                inputs.append(leaves[spec[1]])
        return attach(self, inputs, results, residuals)
