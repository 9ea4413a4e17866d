"""`gt.trace`: run eager code once on symbolic tensors and record an SSA `Graph`.

While tracing, a tensor's array is a `SymbolicArray` (shape, dtype and the graph `Value`
it stands for). `dispatch` sees it and, instead of running the kernel, calls
`record_op`, which appends a node whose output metas come from the op's `infer` rule.
Concrete tensors met on the way (parameters, buffers, captured tensors) become PARAM
inputs by reference, named by their qualified name when they belong to the traced module.
Anything that needs a value in Python (`bool(t)`, `t.item()`, `t.numpy()`) raises
`TracingError` naming the user's file and line.
"""

from __future__ import annotations

import inspect
import os
import sys
import threading

import numpy as np

from ..ops.registry import TensorMeta
from .graph import Graph, NodeKind

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_STATE = threading.local()


class TracingError(RuntimeError):
    """Code that cannot be captured in a static graph (the message names the user's line)."""


def user_frame() -> tuple | None:
    """(file, line, function) of the innermost frame outside the graphtorch package."""
    frame = sys._getframe(1)
    while frame is not None:
        path = os.path.abspath(frame.f_code.co_filename)
        if not path.startswith(_PACKAGE_DIR + os.sep):
            return (frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name)
        frame = frame.f_back
    return None


def _grad_enabled() -> bool:
    from ..autograd.grad_mode import STATE

    return STATE.enabled


def _device(array) -> str:
    """'cpu' for NumPy arrays, 'cuda:N' for CuPy arrays (graph inputs record it)."""
    if type(array) is np.ndarray or not hasattr(array, "__cuda_array_interface__"):
        return "cpu"
    return f"cuda:{array.device.id}"


def _where(source) -> str:
    return f"{source[0]}:{source[1]} in {source[2]}" if source else "<unknown location>"


class SymbolicArray:
    """Stands in for a NumPy array inside a Tensor during tracing: it has a shape and a
    dtype but no values. Asking for values raises TracingError at the user's line."""

    __slots__ = ("shape", "dtype", "value")

    class flags:  # noqa: N801 - mirrors ndarray.flags
        """Graphs have value semantics: layout is not tracked, every value is contiguous."""

        c_contiguous = True
        writeable = True

    def __init__(self, shape, dtype, value):
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.value = value

    ndim = property(lambda self: len(self.shape))
    size = property(lambda self: int(np.prod(self.shape, dtype=np.int64)))
    itemsize = property(lambda self: self.dtype.itemsize)
    nbytes = property(lambda self: self.size * self.dtype.itemsize)

    def _needs_value(self, what: str):
        source = user_frame()
        raise TracingError(
            f"{_where(source)}: {what} needs the value of a tensor, which is unknown while "
            "tracing (the graph must not depend on data). Keep the computation in tensor ops "
            "(e.g. gt.where instead of `if`), or move this code out of the traced function.")

    def __array__(self, *args, **kwargs):
        self._needs_value("converting the tensor to a NumPy array")

    def __array_ufunc__(self, *args, **kwargs):
        self._needs_value("a NumPy operation on the tensor")

    def __array_function__(self, *args, **kwargs):
        self._needs_value("a NumPy operation on the tensor")

    def get(self):
        self._needs_value("reading the tensor (.item(), .tolist(), bool(), float())")

    def reshape(self, *args, **kwargs):
        self._needs_value("reading the tensor (.item(), .tolist(), bool(), float())")

    item = tolist = reshape

    def __setitem__(self, key, value):
        raise TracingError(f"{_where(user_frame())}: in-place writes into a tensor are not "
                           "supported by the tracer yet; use the out-of-place op "
                           "(e.g. y = x + 1 instead of x += 1)")

    def copy(self, *args, **kwargs):
        self._needs_value("copying the tensor's data")

    def __repr__(self):
        return f"SymbolicArray({self.shape}, {self.dtype}, %{self.value.id})"


class Tracer:
    """The state of one trace: the graph and the concrete tensors lifted into it."""

    def __init__(self, names_by_id: dict[int, str], graph: Graph | None = None):
        self.graph = Graph() if graph is None else graph
        self.source_override = None  # a (file, line, function) for nodes being re-recorded
        self.backward_of = None      # the forward graph Node whose backward is being traced
        self.grad_sources: dict = {}  # autograd node -> forward graph Node
        self.ran_backward = False     # whether the traced code ran the autograd engine
        # .grad of these tensors was reset (zero_grad) before the trace read it, so the
        # graph does not depend on whether they had a gradient when the call began
        self.grads_reset: set[int] = set()
        self.grads_read: set[int] = set()
        self.names_by_id = names_by_id
        self.lifted: dict[int, tuple] = {}   # id(tensor) -> (Value, tensor)
        self.params: dict[str, object] = {}  # qualified name -> tensor (by reference)
        self._saved_data: list[tuple] = []
        # (tensor, its value at the start, where to write it back) for mutation tracking
        self.tracked: list[tuple] = []
        self.tracked_inputs: list = []

    def mutations(self) -> list[tuple]:
        """(write-back target, new value) for tracked tensors changed in place."""
        out = []
        for tensor, original, target in self.tracked:
            data = tensor._data
            if type(data) is SymbolicArray and data.value is not original:
                out.append((target, data.value))
        return out

    def note_grad_reset(self, tensor) -> None:
        if id(tensor) not in self.grads_read:
            self.grads_reset.add(id(tensor))

    def note_grad_read(self, tensor) -> None:
        self.grads_read.add(id(tensor))

    def fresh_name(self, prefix: str) -> str:
        """``<prefix><k>`` not yet used by any graph input."""
        used = {n.name for n in self.graph.nodes if n.kind in (NodeKind.INPUT, NodeKind.PARAM)}
        k = len(self.params)
        while f"{prefix}{k}" in used:
            k += 1
        return f"{prefix}{k}"

    def symbolic(self, tensor, name: str, shape: tuple | None = None):
        """A symbolic stand-in for an input tensor (`shape` may hold SymInts: dynamic)."""
        from ..dtypes import from_numpy_dtype
        from ..tensor import Tensor

        meta = TensorMeta(tuple(tensor.shape) if shape is None else tuple(shape),
                          from_numpy_dtype(tensor._data.dtype), _device(tensor._data))
        value = self.graph.add_input(name, meta, NodeKind.INPUT, source=None)
        out = Tensor._wrap(SymbolicArray(meta.shape, meta.dtype.np_dtype, value))
        out._requires_grad = tensor.requires_grad
        self.tracked.append((out, value, ("input", len(self.tracked_inputs))))
        self.tracked_inputs.append(out)
        return out

    def bind_state(self, tensor, name: str) -> None:
        """Make a module parameter/buffer symbolic for the trace (restored by `restore`)."""
        from ..dtypes import from_numpy_dtype

        data = tensor._data
        meta = TensorMeta(tuple(data.shape), from_numpy_dtype(data.dtype), _device(data))
        value = self.graph.add_input(name, meta, NodeKind.PARAM, source=None)
        self.lifted[id(tensor)] = (value, tensor)
        self.params[name] = tensor
        self._saved_data.append((tensor, data))
        tensor._data = SymbolicArray(meta.shape, data.dtype, value)
        self.tracked.append((tensor, value, ("param", name)))

    def bind_lifted(self, tensor) -> None:
        """A concrete tensor written in place during the trace: it becomes a PARAM input
        (if not already) and symbolic until `restore`, and its new value a write-back."""
        value = self.value_of(tensor)
        name = next(n for n, t in self.params.items() if t is tensor)
        self._saved_data.append((tensor, tensor._data))
        tensor._data = SymbolicArray(value.meta.shape, value.meta.dtype.np_dtype, value)
        self.tracked.append((tensor, value, ("param", name)))

    def restore(self) -> None:
        for tensor, data in self._saved_data:
            tensor._data = data
        self._saved_data.clear()

    def value_of(self, tensor):
        data = tensor._data
        if type(data) is SymbolicArray:
            return data.value
        key = id(tensor)
        if key not in self.lifted:
            name = self.names_by_id.get(key) or self.fresh_name("const")
            from ..dtypes import from_numpy_dtype

            meta = TensorMeta(tuple(data.shape), from_numpy_dtype(data.dtype), _device(data))
            value = self.graph.add_input(name, meta, NodeKind.PARAM, source=user_frame())
            self.lifted[key] = (value, tensor)
            self.params[name] = tensor
        return self.lifted[key][0]


def trace_inplace(op, tensor, others, attrs):
    """`tensor.op_(...)` inside a trace: record the out-of-place op and make `tensor` stand
    for the new value (functionalization). Mutated parameters, buffers and inputs become
    extra graph outputs that `TracedFunction` writes back after each run."""
    from ..ops.dispatch import bump_version, call
    from ..ops.elementwise import TO_DTYPE
    from ..ops.views import EXPAND

    if tensor._base is not None and tensor._view_ops:
        raise TracingError(f"{_where(user_frame())}: in-place writes through a view are not "
                           "supported by the tracer yet; write the out-of-place op instead")
    if type(tensor._data) is not SymbolicArray:  # a concrete tensor (state, a capture)
        tracer = current_tracer()
        if tracer is None:
            raise TracingError(f"{_where(user_frame())}: a tensor from inside gt.trace was "
                               "used after the trace ended")
        tracer.bind_lifted(tensor)
    result = call(op, tensor, *others, **attrs)
    if op.num_outputs != 1:
        result = result[0]
    if result._data.dtype != tensor._data.dtype:
        from ..ops.dispatch import _check_cast

        _check_cast(result._data.dtype, tensor._data.dtype)
        result = call(TO_DTYPE, result, dtype=tensor.dtype)
    if result._data.shape != tensor._data.shape:
        result = call(EXPAND, result, sizes=tuple(tensor._data.shape))
    tensor._data = SymbolicArray(result._data.shape, result._data.dtype, result._data.value)
    bump_version(tensor)
    return tensor


def current_tracer() -> Tracer | None:
    return getattr(_STATE, "tracer", None)


def record_op(op, inputs, attrs):
    """Append `op(*inputs, **attrs)` to the current graph; returns SymbolicArray outputs."""
    from ..tensor import Tensor

    tracer = current_tracer()
    if tracer is None:
        raise TracingError(f"{_where(user_frame())}: a tensor from inside gt.trace was used "
                           "after the trace ended; use the traced function's outputs instead")

    def to_value(x):
        if isinstance(x, Tensor):
            return tracer.value_of(x)
        if isinstance(x, (list, tuple)) and any(isinstance(t, Tensor) for t in x):
            return [to_value(t) for t in x]
        return x

    values = [to_value(x) for x in inputs]
    grad_of = tracer.backward_of
    if grad_of is not None:
        source = grad_of.source
    else:
        source = tracer.source_override or user_frame()
    try:
        out = tracer.graph.add_node(op, values, attrs, source=source)
    except (RuntimeError, IndexError, TypeError, ValueError) as exc:
        raise type(exc)(f"{exc}\n  while tracing {op.name} at {_where(source)}") from exc
    outs = out if isinstance(out, tuple) else (out,)
    if grad_of is not None:
        outs[0].node.grad_of = grad_of
    if not _grad_enabled():
        outs[0].node.no_grad = True
    arrays = tuple(SymbolicArray(v.meta.shape, v.meta.dtype.np_dtype, v) for v in outs)
    return arrays if op.num_outputs != 1 else arrays[0]


class TracedFunction:
    """A traced graph plus the tensors its PARAM inputs refer to (by reference, so later
    weight updates are seen). Calling it runs the graph with the op-by-op interpreter."""

    def __init__(self, graph: Graph, params: dict, training: dict, grad_enabled: bool,
                 single_output: bool, mutated: tuple = ()):
        self.graph = graph
        self.params = params
        self.training = training
        self.grad_enabled = grad_enabled
        self._single = single_output
        self.mutated = mutated  # write-back targets of the trailing graph outputs

    def __call__(self, *inputs):
        from ..autograd.grad_mode import no_grad
        from ..backends.interpreter import Interpreter

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

    def __repr__(self):
        return f"TracedFunction(\n{self.graph})"


def trace(fn_or_module, *example_inputs) -> TracedFunction:
    """Run `fn_or_module` once on symbolic versions of `example_inputs`; return the graph.

    >>> traced = gt.trace(lambda x: (x * 2).relu(), gt.ones(3))
    >>> print(traced.graph)  # one line per node, with the user's source line

    ``gt.trace(matrix)`` (a tensor, as in PyTorch) is the sum of its diagonal: a tensor is
    not callable, so the two meanings never collide.
    """
    from ..autograd import grad_mode
    from ..nn.modules.module import Module
    from ..tensor import Tensor

    if isinstance(fn_or_module, Tensor):
        from ..functions.linalg_legacy import trace as matrix_trace

        return matrix_trace(fn_or_module, *example_inputs)
    if not callable(fn_or_module):
        raise TypeError(f"gt.trace expects a function, a Module or a tensor, not "
                        f"{type(fn_or_module).__name__}")

    if current_tracer() is not None:
        raise TracingError(f"{_where(user_frame())}: gt.trace cannot be called while another "
                           "trace is running")
    training, state = {}, []
    fn = fn_or_module
    if isinstance(fn_or_module, Module):
        state = list(fn_or_module.named_parameters()) + list(fn_or_module.named_buffers())
        training = {name or "<root>": m.training for name, m in fn_or_module.named_modules()}
        arg_names = _arg_names(fn_or_module.forward, len(example_inputs))
    else:
        arg_names = _arg_names(fn, len(example_inputs))
    tracer = Tracer({})
    symbolic = [tracer.symbolic(x, arg_names[i]) if isinstance(x, Tensor) else x
                for i, x in enumerate(example_inputs)]
    _STATE.tracer = tracer
    try:
        for name, t in state:  # parameters and buffers are graph inputs, by reference
            tracer.bind_state(t, name)
        result = fn(*symbolic)
        single = isinstance(result, Tensor)
        outputs = (result,) if single else tuple(result)
        for o in outputs:
            if not isinstance(o, Tensor):
                raise TracingError(f"{_where(user_frame())}: traced functions must return "
                                   f"tensors (or a tuple of them), got {type(o).__name__}")
        mutations = tracer.mutations()  # before state is restored to concrete arrays
        tracer.graph.set_outputs([tracer.value_of(o) for o in outputs]
                                 + [value for _, value in mutations])
    finally:
        _STATE.tracer = None
        tracer.restore()
    tracer.graph.verify()
    return TracedFunction(tracer.graph, tracer.params, training, grad_mode.is_grad_enabled(),
                          single, tuple(target for target, _ in mutations))


def _arg_names(fn, count: int) -> list[str]:
    try:
        params = [p.name for p in inspect.signature(fn).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)]
    except (TypeError, ValueError):
        params = []
    names = []
    for i in range(count):
        names.append(params[i] if i < len(params) and not params[i].startswith("*")
                     else f"input{i}")
    return names
