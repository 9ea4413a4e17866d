"""`gt.trace`: run eager code once on symbolic tensors and record an SSA `Graph`.

While tracing, a tensor's array is a `SymbolicArray` (shape, dtype and the graph `Value`
it stands for). `dispatch` sees it and, instead of running the kernel, calls the current
tracer's `record_op` (it finds the `Tracer` through `graphtorch.trace_state`, which also holds
`SymbolicArray` and `TracingError`), which appends a node whose output metas come from the
op's `infer` rule.
Concrete tensors met on the way (parameters, buffers, captured tensors) become PARAM
inputs by reference, named by their qualified name when they belong to the traced module.
Anything that needs a value in Python (`bool(t)`, `t.item()`, `t.numpy()`) raises
`TracingError` naming the user's file and line.
"""

from __future__ import annotations

import inspect

import numpy as np

from .. import dtypes
from ..autograd import grad_mode
from ..autograd.grad_mode import no_grad
from ..autograd.graph import Node as AutogradNode
from ..autograd.graph import OpNode, next_sequence_nr
from ..dtypes import from_numpy_dtype
from ..nn.modules.module import Module
from ..ops.constant import CONSTANT, ConstantValue
from ..ops.dispatch import (
    _any_requires_grad,
    _check_broadcast_into,
    _check_cast,
    _promote,
    _stale_view_requires_grad,
    adopt_autograd,
    bump_version,
    call,
    check_inplace_allowed,
    saved_output_is_self,
)
from ..ops.elementwise import CLONE, TO_DTYPE
from ..ops.registry import Category, ResultLayout, TensorMeta
from ..ops.views import ALIAS, COPY_INTO_VIEW, EXPAND, UNTRACKED_WRITE, VIEW_OP
from ..symbolic import has_symbols
from ..tensor import Tensor
from ..trace_state import (  # noqa: F401
    STATE,
    SymbolicArray,
    TracingError,
    array_with_strides,
    contiguous_strides,
    current_tracer,
    layout_stand_in,
    user_frame,
)
from ..trace_state import where as _where
from .graph import Graph, NodeKind
from .layout_hints import hint_layouts
from .view_hints import check_dynamic_view

# the trace state lives in graphtorch.trace_state; `_STATE` is its thread-local (one object)
_STATE = STATE


def _grad_enabled() -> bool:
    return grad_mode.STATE.enabled


def _device(array) -> str:
    """'cpu' for NumPy arrays, 'cuda:N' for CuPy arrays (graph inputs record it)."""
    if type(array) is np.ndarray or not hasattr(array, "__cuda_array_interface__"):
        return "cpu"
    return f"cuda:{array.device.id}"


def view_layout(op, inputs, attrs):
    """The strides (bytes) the eager kernel of view op `op` gives its output, or None for
    a C-contiguous result; raises the kernel's error (e.g. `view` on an incompatible
    layout), as eager code would."""
    source = inputs[0]._data
    others = [x for x in inputs[1:]]
    stand_in = layout_stand_in(source)
    if op is EXPAND and not any(n > 1 and st == 0 for n, st in zip(stand_in.shape,
                                                                 stand_in.strides)):
        # eager's array is writeable unless it is broadcast, and `expand` of a writeable
        # array keeps its strides (size-1 dims included): the stand-in must say so too
        stand_in = np.lib.stride_tricks.as_strided(np.empty(1, stand_in.dtype), stand_in.shape,
                                                   stand_in.strides)
    out = op.kernel(np, stand_in, *others, **attrs)
    outs = out if isinstance(out, tuple) else (out,)
    return [_exact_layout(o) for o in outs]


def _exact_layout(array, views: bool = True):
    """None when `array` has the canonical C-contiguous strides, else its byte strides
    (an empty view keeps its zero strides: writes through it raise, as eager's do).
    NumPy's (and PyTorch's) contiguity ignores the strides of size-1 dims, but `stride()`
    reports them: ``x.t()`` of a (5, 1) tensor has strides (1, 1), not (5, 1)."""
    strides = tuple(array.strides)
    if strides == contiguous_strides(tuple(array.shape), array.itemsize) or (
            array.size == 0 and not views and array.flags.c_contiguous):
        return None  # (a kernel's empty result: NumPy's strides there mean nothing)
    return strides  # strided; or contiguous with other size-1 dims' strides


def _layout_array(data, fill=0):
    """An array filled with `fill` with `data`'s shape, dtype and strides (for
    `_kernel_layout`), or None when the layout cannot be rebuilt (symbolic sizes, negative
    strides)."""
    shape = tuple(data.shape)
    strides = data._strides if type(data) is SymbolicArray else tuple(data.strides)
    if strides is None or has_symbols(shape) or any(s < 0 for s in strides):
        return None
    array = array_with_strides(shape, data.dtype, strides, zeroed=True, writeable=bool(fill))
    if fill:
        array[...] = fill
        array.flags.writeable = False
    return array


def _kernel_layout(op, inputs, attrs):
    """The strides (in elements) of a non-view op's results when an input is not C-contiguous:
    eager kernels often keep their input's memory order (NumPy's order='K' for elementwise
    ops, clone, casts, cumsum, ...), and `view`, `reshape`, `is_contiguous()` and `stride()`
    later depend on it. The kernel runs once on zero-filled arrays with the inputs' layouts
    to learn it (on one-filled arrays where zeros make it raise: integer division); None
    (C-contiguous) when every input is contiguous or the kernel cannot run on them."""
    def tensors(xs):
        for x in xs:
            if isinstance(x, Tensor):
                yield x
            elif isinstance(x, (list, tuple)):
                yield from (t for t in x if isinstance(t, Tensor))

    if not op.strided_from_contiguous and all(
            type(t._data) is not SymbolicArray or t._data._strides is None
            for t in tensors(inputs)):
        return None  # the usual case: nothing strided among the traced inputs
    if has_symbols(tuple(attrs.values())):
        return None
    for fill in (0, 1):
        try:
            out = _run_on_stand_ins(op, inputs, attrs, fill)
        except Exception:  # noqa: BLE001, S112 - the layout stays C-contiguous, as before
            continue
        if out is None:
            return None
        outs = out if isinstance(out, tuple) else (out,)
        # in elements: the kernel may compute in another dtype than the op returns
        return [None if not isinstance(o, np.ndarray) or _exact_layout(o, False) is None else
                tuple(st // o.itemsize for st in o.strides) for o in outs]
    return None


def _run_on_stand_ins(op, inputs, attrs, fill):
    """`op`'s kernel on arrays filled with `fill` laid out as `inputs`, run as eager
    dispatch runs it; None when no input is strided (unless the op may stride anyway)."""
    strided = False

    def stand_in(x):
        nonlocal strided
        if isinstance(x, Tensor):
            data = x._data
            if type(data) is not SymbolicArray and type(data) is not np.ndarray:
                raise TypeError("not on the CPU")
            if has_symbols(tuple(data.shape)):
                raise TypeError("symbolic sizes")
            fake = _layout_array(data, fill)
            if fake is None:
                return np.full(tuple(data.shape), fill, data.dtype)
            strided = True
            return fake
        if isinstance(x, (list, tuple)) and any(isinstance(t, Tensor) for t in x):
            return [stand_in(t) for t in x]
        return x

    arrays = [stand_in(x) for x in inputs]
    if not strided and not op.strided_from_contiguous:
        return None
    if op.promotion is not None and not op.variadic:
        # as eager dispatch runs the kernel: operands cast (a cast may change the layout),
        # Python ints wrapped into the dtype (``uint8 % -3``)
        arrays, _ = _promote(op, inputs, arrays)
    with np.errstate(all="ignore"):
        return op.kernel(np, *arrays, **attrs)


class Tracer:
    """The state of one trace: the graph and the concrete tensors lifted into it."""

    def __init__(self, names_by_id: dict[int, str], graph: Graph | None = None):
        self.graph = Graph() if graph is None else graph
        self.source_override = None  # a (file, line, function) for nodes being re-recorded
        self.backward_of = None      # the forward graph Node whose backward is being traced
        self.grad_sources: dict = {}  # autograd node -> forward graph Node
        self.ran_backward = False     # whether the traced code ran the autograd engine
        self.strides_read = False     # whether it read a tensor's stride() (guards.py)
        # autograd nodes numbered below this were built before the trace (the engine
        # refuses to run them while tracing)
        self.first_sequence_nr = next_sequence_nr()
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
        self.refusals: list[str] = []   # TracingErrors raised (maybe caught by user code)
        # gt.compile's captures: the graph must do exactly what eager does (or refuse, and
        # the function runs eagerly); gt.trace's graphs follow static-graph semantics
        # documented where they differ (a cond's backward gives zeros to unused operands)
        self.eager_semantics = False
        self.written: list = []          # concrete tensors the trace wrote in place
        self.grad_at_lift: dict[int, object] = {}  # id(lifted tensor) -> its .grad then
        # (tensor, what, source) per tensor hook or retain_grad() registered while tracing
        self.hooked: list = []

    # Dispatch calls these two on the current tracer: it finds the tracer through
    # `graphtorch.trace_state` and never imports the IR.
    def record_op(self, op, inputs, attrs):
        """Append `op(*inputs, **attrs)` to the graph; returns SymbolicArray outputs."""
        return record_op(op, inputs, attrs)

    def trace_inplace(self, op, tensor, others, attrs):
        """`tensor.op_(...)` recorded functionally (see the module function)."""
        return trace_inplace(op, tensor, others, attrs)

    def mutations(self, with_tensors: bool = False) -> list[tuple]:
        """(write-back target, new value) for tracked tensors changed in place (with the
        tensor itself third, if asked)."""
        out = []
        for tensor, original, target in self.tracked:
            data = tensor._data
            if type(data) is SymbolicArray and data.value is not original:
                out.append((target, data.value, tensor) if with_tensors else
                           (target, data.value))
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
        meta = TensorMeta(tuple(tensor.shape) if shape is None else tuple(shape),
                          from_numpy_dtype(tensor._data.dtype), _device(tensor._data))
        value = self.graph.add_input(name, meta, NodeKind.INPUT, source=None)
        out = Tensor._wrap(SymbolicArray(meta.shape, meta.dtype.np_dtype, value,
                                         _layout_of(tensor._data, shape)))
        if type(tensor) is not Tensor:  # an nn.Parameter: `isinstance` sees its class (guarded)
            out = _with_class(out, type(tensor))
        out._requires_grad = tensor.requires_grad
        if tensor.grad_fn is not None:  # not a leaf: its history lies outside the trace
            out._grad_fn = outside_history(name)
        self.tracked.append((out, value, ("input", len(self.tracked_inputs))))
        self.tracked_inputs.append(out)
        return out

    def bind_state(self, tensor, name: str) -> None:
        """Make a module parameter/buffer symbolic for the trace (restored by `restore`)."""
        data = tensor._data
        meta = TensorMeta(tuple(data.shape), from_numpy_dtype(data.dtype), _device(data))
        value = self.graph.add_input(name, meta, NodeKind.PARAM, source=None)
        self.lifted[id(tensor)] = (value, tensor)
        self.params[name] = tensor
        self._saved_data.append((tensor, data))
        tensor._data = SymbolicArray(meta.shape, data.dtype, value, _layout_of(data))
        self.tracked.append((tensor, value, ("param", name)))

    def bind_lifted(self, tensor) -> None:
        """A concrete tensor written in place during the trace: it becomes a PARAM input
        (if not already) and symbolic until `restore`, and its new value a write-back."""
        value = self.value_of(tensor)
        name = next(n for n, t in self.params.items() if t is tensor)
        self._saved_data.append((tensor, tensor._data))
        self.written.append((tensor, tensor._data))
        tensor._data = SymbolicArray(value.meta.shape, value.meta.dtype.np_dtype, value,
                                     _layout_of(tensor._data))
        self.tracked.append((tensor, value, ("param", name)))

    def restore(self) -> None:
        for tensor, data in reversed(self._saved_data):
            tensor._data = data
        self._saved_data.clear()

    def full(self, shape, scalar):
        """A constant of a symbolic shape (inside a dynamic trace): the 0-d array `scalar`,
        expanded by a graph node whose sizes are evaluated at run time, then copied: the
        result owns one element per position as eager's (``z = gt.zeros(n); z[0] = 1``
        writes one element; a 0-stride expand would write all, or refuse the write)."""
        value = self.value_of(Tensor._wrap(scalar))  # a graph constant
        symbolic_scalar = Tensor._wrap(SymbolicArray((), scalar.dtype, value))
        return call(CLONE, call(EXPAND, symbolic_scalar, sizes=tuple(shape)), contiguous=True)

    def detach(self, tensor):
        """`detach()` inside gt.trace: an `alias` node recorded with grad mode off, so
        gradient generation treats it as a barrier (as eager autograd does)."""
        with no_grad():
            out = call(ALIAS, tensor)
        out._view_ops = None
        out._creation_meta = None  # an alias outside autograd, not a no_grad view (as eager)
        return out

    def constant(self, array):
        """A tensor created while tracing from Python data (``gt.tensor([...])``): a graph
        constant, so that each run computes with a fresh copy, as eager code would."""
        source = self.source_override or user_frame()
        constant = ConstantValue(array)
        value = self.graph.add_node(CONSTANT, [], {"value": constant}, source=source)
        return Tensor._wrap(SymbolicArray(value.meta.shape, value.meta.dtype.np_dtype, value,
                                          _layout_of(array), known=constant.array))

    def root_value(self, root):
        """The current graph value of a storage root (lifting a concrete one)."""
        data = root._data
        return data.value if type(data) is SymbolicArray else self.value_of(root)

    def refresh(self, tensor) -> None:
        """Recompute a view made during the trace from its root's current value, when the
        root (or another view of it) was written in place since."""
        data = tensor._data
        root = data.root
        current = self.root_value(root)
        if data.origin is current:
            return

        view = Tensor._wrap(SymbolicArray(
            current.meta.shape, current.meta.dtype.np_dtype, current, _strides_of(root),
            layout_unknown=getattr(root._data, "layout_unknown", False),
            hint_strides=getattr(root._data, "hint_strides", None)))
        mode = grad_mode.enable_grad() if tensor._view_ops is not None else grad_mode.no_grad()
        with mode:
            for step in data.chain:
                view = call(step[0], view, **step[1])
                if len(step) == 3:
                    view = view[step[2]]
        fresh = view._data
        tensor._data = SymbolicArray(fresh.shape, fresh.dtype, fresh.value, fresh._strides,
                                     root, data.chain, current, fresh.known,
                                     fresh.layout_unknown, fresh.hint_strides)

    def value_of(self, tensor):
        data = tensor._data
        if type(data) is SymbolicArray:
            if data.root is not None:
                self.refresh(tensor)
                return tensor._data.value
            return data.value
        key = id(tensor)
        if key not in self.lifted:
            name = self.names_by_id.get(key) or self.fresh_name("const")

            meta = TensorMeta(tuple(data.shape), from_numpy_dtype(data.dtype), _device(data))
            value = self.graph.add_input(name, meta, NodeKind.PARAM, source=user_frame())
            self.lifted[key] = (value, tensor)
            self.params[name] = tensor
            self.grad_at_lift[key] = tensor._grad
        return self.lifted[key][0]


class OutsideHistory(AutogradNode):
    """The `grad_fn` of a traced argument that is not a leaf: its history lies outside the
    compiled function, which backward() inside the function cannot follow."""

    __slots__ = ("argument",)

    def name(self) -> str:
        return "OutsideHistory"

    def apply(self, grad_outputs, create_graph, retain_graph):
        raise TracingError(
            f"{_where(user_frame())}: backward() inside the compiled function reaches "
            f"argument {self.argument!r}, whose autograd history lies outside the "
            "function; this call runs eagerly")


def outside_history(name: str) -> OutsideHistory:
    """An `OutsideHistory` node for the traced argument `name`."""
    node = OutsideHistory(())
    node.argument = name
    return node


def _layout_of(array, shape=None):
    """The strides to record for a symbolic stand-in of `array` (None: C-contiguous)."""
    if shape is not None and any(not isinstance(s, int) for s in shape):
        return None  # dynamic sizes: strides would be symbolic; treated as contiguous
    flags = getattr(array, "flags", None)
    if flags is None:
        return None
    if array.size == 0:  # NumPy calls any empty array contiguous, yet its kernels follow
        strides = tuple(array.strides)  # the strides (a reduction's non-empty result)
        dense = contiguous_strides(tuple(array.shape), array.itemsize)
        return None if strides == tuple(dense) else strides
    if flags.c_contiguous and tuple(array.strides) == contiguous_strides(
            tuple(array.shape), array.itemsize):
        return None
    return tuple(array.strides)  # strided, or contiguous with other size-1 strides


def _strides_of(tensor):
    data = tensor._data
    return data._strides if type(data) is SymbolicArray else _layout_of(data)


def _overlapping(data) -> bool:
    """Whether two elements of a (symbolic) array share memory: a zero stride over a dim of
    size > 1, as `expand` makes (eager's write raises for those)."""
    strides = getattr(data, "_strides", None)
    return strides is not None and any(
        st == 0 and isinstance(n, int) and n > 1 for st, n in zip(strides, data.shape))


def _may_overlap_itself(data) -> bool:
    """Whether a (symbolic) view's elements may share memory with each other (``unfold``
    with overlapping windows, ``as_strided``): False only when, with dims in stride order,
    every stride passes the extent of the smaller dims (then each element has its own)."""
    strides = getattr(data, "_strides", None)
    if strides is None or not all(isinstance(n, int) for n in data.shape):
        return False  # C-contiguous, or dynamic sizes (their views are reshapes and slices)
    extent = 0
    for st, n in sorted((abs(st), n) for n, st in zip(data.shape, strides) if n > 1):
        if st <= extent:
            return True
        extent += (n - 1) * st
    return False


def _symbolic_like(tensor, value, root=None, chain=(), origin=None, known=None):
    data = tensor._data
    traced = type(data) is SymbolicArray
    return SymbolicArray(data.shape, data.dtype, value, data._strides if traced else
                         _layout_of(data), root, chain, origin, known,
                         traced and data.layout_unknown,
                         data.hint_strides if traced else None)


def trace_inplace(op, tensor, others, attrs):
    """`tensor.op_(...)` inside a trace, functionalized: the out-of-place op is recorded and
    the tensor's storage root gets the new value (through `copy_into_view` when `tensor`
    is a view), so every tensor sharing that storage sees the write, as in eager code.
    Autograd follows eager rules: a write recorded by autograd gives the root a new history;
    one that is not (no_grad, through `detach()`/`.data`) keeps it, and the graph records
    it with `untracked_write`. Written parameters, buffers and inputs become extra graph
    outputs that are written back after each run."""
    tracer = current_tracer()
    if tracer is None:
        raise TracingError(f"{_where(user_frame())}: a tensor from inside gt.trace was "
                           "used after the trace ended")
    if type(tensor._data) is not SymbolicArray:  # a concrete tensor (state, a capture)
        tracer.bind_lifted(tensor)
    data = tensor._data
    root = data.root if data.root is not None else tensor
    if root is not tensor and type(root._data) is not SymbolicArray:
        # a view made inside the trace of a concrete tensor (a captured global, `W[0]`):
        # its root is written below, so it becomes symbolic until `restore` and its new
        # value a write-back, as for a concrete tensor written directly
        tracer.bind_lifted(root)
    if data.root is not None:
        tracer.refresh(tensor)
    if root is not tensor and _overlapping(root._data):
        # an argument (or state) whose own memory repeats elements (expanded): a write
        # through a view of it changes every element sharing that memory, which the graph's
        # values (one per element) cannot show
        raise TracingError(f"{_where(user_frame())}: an in-place write through a view of an "
                           "expanded tensor (elements sharing memory); this part runs eagerly")
    if root is not tensor and _may_overlap_itself(tensor._data) and \
            not _overlapping(tensor._data):
        # eager writes (and differentiates) element by element through the shared memory,
        # which the graph's one-value-per-element write-back does not reproduce
        raise TracingError(f"{_where(user_frame())}: an in-place write through a view whose "
                           "elements overlap in memory (unfold or as_strided windows); this "
                           "part runs eagerly")
    if op.name != "fill" and _overlapping(tensor._data):
        raise RuntimeError(
            "unsupported operation: more than one element of the written-to tensor refers to a "
            "single memory location. Please clone() the tensor before performing the "
            "operation.")
    if grad_mode.is_grad_enabled() and tensor._base is not None and \
            not tensor._requires_grad:
        _stale_view_requires_grad(tensor)
    check_inplace_allowed(tensor)
    tracked = grad_mode.is_grad_enabled() and op.vjp is not None and (
        tensor.requires_grad or _any_requires_grad(op, others))
    source = tensor
    if tracked and 0 in op.save_inputs:  # the vjp reads the old value: save a snapshot
        data = tensor._data  # (values are immutable in a graph: the snapshot costs nothing)
        source = Tensor._wrap(SymbolicArray(data.shape, data.dtype, data.value, data._strides,
                                            known=data.known,
                                            layout_unknown=data.layout_unknown,
                                            hint_strides=data.hint_strides))
        source._grad_fn, source._output_nr = tensor.grad_fn, tensor._output_nr
        source._requires_grad = tensor.requires_grad
    result = call(op, source, *others, **attrs)
    if op.num_outputs != 1:
        result = result[0]
    if result._data.dtype != tensor._data.dtype:
        _check_cast(result._data.dtype, tensor._data.dtype)
        result = call(TO_DTYPE, result, dtype=tensor.dtype)
    if result._data.shape != tensor._data.shape:
        _check_broadcast_into(tensor, result._data)
        result = call(EXPAND, result, sizes=tuple(tensor._data.shape))
    differentiable_view = root is tensor or tensor._view_ops is not None
    old_root = Tensor._wrap(_symbolic_like(root, tracer.root_value(root),
                                           known=getattr(root._data, "known", None)))
    old_root._grad_fn, old_root._output_nr = root.grad_fn, root._output_nr
    old_root._requires_grad = root.requires_grad
    if root is tensor:
        new_root = result
    else:
        mode = grad_mode.enable_grad() if tracked and differentiable_view else \
            grad_mode.no_grad()
        with mode:
            new_root = call(COPY_INTO_VIEW, old_root, result, view_ops=data.chain)
    keeps_history = not (tracked and differentiable_view)
    if keeps_history and old_root.requires_grad:
        # eager changes the data only: the root's autograd history stays as it was
        with grad_mode.enable_grad():
            graph_root = call(UNTRACKED_WRITE, old_root, new_root.detach())
        root_value, known = graph_root._data.value, graph_root._data.known
    else:
        root_value, known = new_root._data.value, new_root._data.known
    root._data = _symbolic_like(root, root_value, known=known)
    if root is not tensor:
        tensor._data = SymbolicArray(result._data.shape, result._data.dtype,
                                     result._data.value, data._strides, root, data.chain,
                                     root_value, result._data.known, data.layout_unknown,
                                     data.hint_strides)
    bump_version(tensor)
    if tracked:
        node = result._grad_fn
        if differentiable_view and root is not tensor:
            if new_root._grad_fn is not None:
                root._grad_fn, root._output_nr = new_root._grad_fn, new_root._output_nr
                root._requires_grad = True
        else:
            adopt_autograd(tensor, result)
        if op.save_output and type(node) is OpNode and node.saved_outputs:
            saved_output_is_self(node, tensor)  # exp_ saves self, as in eager
    return tensor


def record_op(op, inputs, attrs):
    """Append `op(*inputs, **attrs)` to the current graph; returns SymbolicArray outputs."""
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
    if any(isinstance(v, np.generic) for v in attrs.values()):
        # a NumPy scalar attribute (``clamp(x, min=np.float64(1.5))``, ``alpha=``) is a
        # Python number to ops, as in PyTorch: eager casts the kernel's NumPy-promoted
        # result back, generated code would keep float64
        attrs = {k: v.item() if isinstance(v, np.generic) else v for k, v in attrs.items()}
    grad_of = tracer.backward_of
    if grad_of is not None:
        source = grad_of.source
    else:
        source = tracer.source_override or user_frame()
    if _reads_bfloat16(inputs, attrs):
        raise TracingError(
            f"{_where(source)}: {op.name} on bfloat16: compiled graphs have no bfloat16 "
            "kernels (eager computes bfloat16 ops in float32 and rounds each result), so "
            "this part runs eagerly")
    layouts = None
    if op.category is Category.VIEW and inputs and isinstance(inputs[0], Tensor) and \
            not has_symbols(tuple(inputs[0]._data.shape)) and not has_symbols(
                tuple(attrs.values())):
        try:
            layouts = view_layout(op, inputs, attrs)
        except TypeError:  # symbolic sizes in the attributes: layout not tracked
            layouts = None
        except (RuntimeError, ValueError, IndexError) as exc:
            raise type(exc)(str(exc)) from None
    elif op is VIEW_OP and isinstance(inputs[0], Tensor) and \
            getattr(inputs[0]._data, "layout_unknown", False):
        check_dynamic_view(op, inputs[0], attrs)  # eager's error when eager cannot view
    try:
        out = tracer.graph.add_node(op, values, attrs, source=source)
    except (RuntimeError, IndexError, TypeError, ValueError) as exc:
        raise type(exc)(f"{exc}\n  while tracing {op.name} at {_where(source)}") from exc
    outs = out if isinstance(out, tuple) else (out,)
    for v in outs:
        if any(isinstance(n, int) and n < 0 for n in v.meta.shape):
            raise TracingError(
                f"{_where(source)}: {op.name} has an output whose size depends on the "
                "tensor's values (e.g. x[mask], masked_select, nonzero), which a static "
                "graph cannot express; this part runs eagerly")
    if layouts is None and op.result_layout is ResultLayout.FROM_KERNEL and \
            op.category is not Category.VIEW:
        layouts = _kernel_layout(op, inputs, attrs)
        if layouts:  # element strides -> bytes of each result's dtype
            layouts = [None if st is None else tuple(s * v.meta.dtype.np_dtype.itemsize
                                                     for s in st)
                       for st, v in zip(layouts, outs)]
    if grad_of is not None:
        outs[0].node.grad_of = grad_of
    if not _grad_enabled():
        outs[0].node.no_grad = True
    unknown = not layouts and _layout_unknown(op, inputs, attrs)
    hints = hint_layouts(op, inputs, attrs) if unknown else None
    arrays = tuple(SymbolicArray(v.meta.shape, v.meta.dtype.np_dtype, v,
                                 layouts[k] if layouts and k < len(layouts) else None,
                                 layout_unknown=unknown,
                                 hint_strides=hints[k] if hints and k < len(hints) else None)
                   for k, v in enumerate(outs))
    return arrays if op.num_outputs != 1 else arrays[0]


def _reads_bfloat16(inputs, attrs) -> bool:
    """Whether an op reads a bfloat16 tensor or makes one (a ``dtype=`` attribute)."""
    for x in inputs:
        group = x if isinstance(x, (list, tuple)) else (x,)
        if any(isinstance(t, Tensor) and t._data.dtype is dtypes.BFLOAT16_NP for t in group):
            return True
    return any(v is dtypes.bfloat16 for v in attrs.values())


def _layout_unknown(op, inputs, attrs) -> bool:
    """Whether an output's layout went untracked (dynamic sizes): a view other than a
    reshape of a contiguous input, or any op reading a strided or untracked input, with
    symbolic sizes (known layouts are computed on concrete stand-ins, which symbols lack).
    An op whose result is always C-contiguous (`ResultLayout.CONTIGUOUS`) is never unknown."""
    if op.result_layout is ResultLayout.CONTIGUOUS:
        return False
    tensors = [x for x in inputs if isinstance(x, Tensor)]
    for x in inputs:
        if isinstance(x, (list, tuple)):
            tensors += [t for t in x if isinstance(t, Tensor)]
    arrays = [t._data for t in tensors if type(t._data) is SymbolicArray]
    if not arrays or not (any(has_symbols(tuple(a.shape)) for a in arrays) or
                          has_symbols(tuple(attrs.values()))):
        return False
    odd = any(a.layout_unknown or a._strides is not None for a in arrays)
    if op.category is Category.VIEW:
        return odd or op.result_layout is not ResultLayout.KEEPS_CONTIGUOUS
    return odd


class TracedGraph:
    """A recorded graph plus the tensors its PARAM inputs refer to (by reference, so later
    weight updates are seen). `compiler.tracing.TracedFunction` makes it callable."""

    def __init__(self, graph: Graph, params: dict, training: dict, grad_enabled: bool,
                 single_output: bool, mutated: tuple = ()):
        self.graph = graph
        self.raw_graph = graph  # the graph as recorded (`graph` may be optimised later)
        self.params = params
        self.training = training
        self.grad_enabled = grad_enabled
        self._single = single_output
        self.mutated = mutated  # write-back targets of the trailing graph outputs

    def __repr__(self):
        return f"{type(self).__name__}(\n{self.graph})"


def trace_graph(fn_or_module, *example_inputs, result_type=TracedGraph):
    """Run `fn_or_module` once on symbolic versions of `example_inputs`; return the graph
    as recorded (`gt.trace` also optimises it).

    >>> traced = trace_graph(lambda x: (x * 2).relu(), gt.ones(3))
    >>> print(traced.graph)  # one line per node, with the user's source line
    """
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
        if tracer.refusals:  # a TracingError was raised (and caught by the traced code)
            raise TracingError(tracer.refusals[0])
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
    return result_type(tracer.graph, tracer.params, training, grad_mode.is_grad_enabled(),
                          single, tuple(target for target, _ in mutations))


def _with_class(t: Tensor, cls: type) -> Tensor:
    """`t` (fresh from `Tensor._wrap`) as an instance of the Tensor subclass `cls`."""
    out = object.__new__(cls)
    for slot in ("_data", "_requires_grad", "_grad_fn", "_output_nr", "_grad", "_base", "_vc"):
        setattr(out, slot, getattr(t, slot))
    return out


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
