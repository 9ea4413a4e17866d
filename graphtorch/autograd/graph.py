"""Nodes of the dynamic autograd graph recorded by eager ops.

`OpNode` runs the registry's vjp rule of the op it recorded; `AccumulateGrad` adds a leaf's
gradient into `.grad`. Saved tensors remember their version so that an in-place change
after saving raises PyTorch's error instead of giving a wrong gradient.
"""

from __future__ import annotations

import itertools
import weakref
from typing import TYPE_CHECKING

import numpy as np

from ..dtypes import from_numpy_dtype
from ..layout import contiguous_format
from ..trace_state import STATE as _TRACE_STATE
from ..trace_state import TracingError, current_tracer
from ..utils.hooks import RemovableHandle
from . import grad_mode

if TYPE_CHECKING:
    from ..ops.registry import OpDef

_sequence = itertools.count()


def next_sequence_nr() -> int:
    """A number above every existing node's `_sequence_nr` (nodes made later get larger
    ones): the tracer notes it to tell graphs built before a trace from its own."""
    return next(_sequence)

_GRAD = grad_mode.STATE

_FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed "
    "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
    "backward through the graph a second time or if you need to access saved tensors after "
    "calling backward.")


class HookDict(dict):
    """A dict that can be weakly referenced (hook storage)."""

    __slots__ = ("__weakref__",)


def add_hook(hooks: HookDict, fn) -> RemovableHandle:
    handle = RemovableHandle(hooks)
    hooks[handle.id] = fn
    return handle


class Node:
    """Base of autograd graph nodes (`grad_fn`): PyTorch's `torch.autograd.graph.Node`.

    Not to be confused with `graphtorch.ir.Node`, a node of a traced SSA graph: this one is
    recorded by eager autograd and runs a vjp in backward(). The name is PyTorch's, so it
    stays; inside graphtorch, import it as `autograd.graph.Node` (or `OpNode`)."""

    __slots__ = ("__dict__", "__weakref__", "_sequence_nr", "next_functions")

    # Rarely set attributes live in the instance dict (made on first write): a node is
    # recorded for every op, and most never get a hook.
    _tensor_pre_hooks = None  # {output_nr: HookDict}: hooks of the output tensors
    _retain_hooks = None      # {output_nr: fn}: retain_grad, run after tensor hooks
    _pre_hooks = None
    _post_hooks = None
    _metadata = None
    _torch_name = None      # PyTorch's node name for a composite (t, split, std): `name_as`

    def __init__(self, next_functions):
        self.next_functions = next_functions  # tuple of (Node | None, output_nr)
        self._sequence_nr = next(_sequence)

    @property
    def metadata(self) -> dict:
        if self._metadata is None:  # made on first use: most nodes never need one
            self._metadata = {}
        return self._metadata

    def name(self) -> str:
        return type(self).__name__

    def __repr__(self):
        return f"<{self.name().rpartition('::')[2]} object at {hex(id(self))}>"

    def register_hook(self, fn) -> RemovableHandle:
        """fn(grad_inputs, grad_outputs) runs after this node computed its input grads."""
        if self._post_hooks is None:
            self._post_hooks = HookDict()
        return add_hook(self._post_hooks, fn)

    def register_prehook(self, fn) -> RemovableHandle:
        """fn(grad_outputs) runs before this node; it may return replacement grads."""
        if self._pre_hooks is None:
            self._pre_hooks = HookDict()
        return add_hook(self._pre_hooks, fn)

    def add_tensor_hook(self, output_nr: int, fn) -> RemovableHandle:
        if self._tensor_pre_hooks is None:
            self._tensor_pre_hooks = {}
        hooks = self._tensor_pre_hooks.setdefault(output_nr, HookDict())
        return add_hook(hooks, fn)

    def apply(self, grad_outputs: list, create_graph: bool, retain_graph: bool) -> tuple:
        raise NotImplementedError

    def __call__(self, *grad_outputs):
        """Run this node on `grad_outputs` (as PyTorch: one input -> one tensor)."""
        result = self.apply(list(grad_outputs), grad_mode.is_grad_enabled(), True)
        if not self.next_functions:
            return ()
        result = tuple(g if nxt is not None else None
                       for g, (nxt, _) in zip(result, self.next_functions))
        return result[0] if len(result) == 1 else result


class SavedOutputRef(weakref.ref):
    """How a node refers to an output it saved: weakly (a strong reference would be a cycle
    through the output's grad_fn), with `version` set by every in-place write to that tensor
    (`note_version`). So a write followed by the tensor's death still fails the version
    check in backward, as PyTorch's saved variables, which share the version counter, do."""

    __slots__ = ("version",)


def note_version(root) -> None:
    """Record `root`'s new version in the SavedOutputRefs to it (after an in-place write)."""
    for ref in weakref.getweakrefs(root):
        if type(ref) is SavedOutputRef:
            ref.version = root._vc


class OpNode(Node):
    """A registry op recorded during eager execution; backward runs its vjp rule.

    Input/output shapes and dtypes are kept raw ((shape, numpy dtype) pairs) and turned into
    TensorMetas only when backward or a name lookup needs them: most of the cost of
    recording an op would otherwise be spent building metadata that is never read.
    """

    __slots__ = ("_freed", "_in_info", "_out_info", "attrs", "op", "saved_inputs",
                 "saved_outputs")

    device = None          # the CUDA device the op ran on (None: CPU)

    def __init__(self, op: OpDef, next_functions, attrs, saved_inputs, in_info, out_info):
        self.next_functions = next_functions
        self._sequence_nr = next(_sequence)
        self.op = op
        self.attrs = attrs
        self.saved_inputs = saved_inputs  # tuple: (tensor, version) / scalar / None
        self.saved_outputs = None         # tuple: (array, weakref, version) / None
        self._freed = False
        self._in_info = in_info           # tuple: (shape, numpy dtype) or None per input
        self._out_info = out_info

    # Metas are made on demand (and cached per signature by `_metas`), never stored on the
    # node: storing would give every node an instance dict in backward.
    @property
    def input_metas(self) -> tuple:
        info = self._in_info
        last = _LAST_METAS[0]  # `_metas`' first step, without its call (hot)
        return last[1] if last[0] is info else _metas(info)

    @property
    def output_metas(self) -> tuple:
        return _metas(self._out_info)

    def name(self) -> str:
        if self._torch_name is not None:
            return self._torch_name
        name = self.op.backward_name
        name = name(self.input_metas, self.attrs) if callable(name) else name
        return _NAMESPACED.get(name, name)

    def __getattr__(self, name):  # only for names no slot or class attribute has
        if name.startswith(("_saved_", "_raw_saved_")):  # PyTorch's `grad_fn._saved_self`
            return saved_attributes.saved_attribute(self, name)
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def save_outputs(self, outputs) -> None:
        keep = self.op.save_output  # True: every output; a tuple: the outputs the vjp reads
        saved = []
        for nr, out in enumerate(outputs):
            if keep is not True and nr not in keep:
                saved.append((None, None, 0))  # not read: later in-place writes are fine
                continue
            root = out._base if out._base is not None else out
            saved.append((out._data, SavedOutputRef(root), root._vc))
        self.saved_outputs = tuple(saved)

    def _unpack_inputs(self):
        unpacked = []
        i = -1
        for entry in self.saved_inputs:
            i += 1
            if type(entry) is tuple:
                tensor, version = entry
                root = tensor._base
                if root is None:
                    root = tensor
                if root._vc != version:
                    raise RuntimeError(_modified_message(tensor, self, i, root._vc, version,
                                                         is_output=False))
                unpacked.append(tensor)
            else:
                unpacked.append(entry)
        return tuple(unpacked)

    def _unpack_outputs(self, create_graph: bool):
        if self.saved_outputs is None:
            return ()

        unpacked = []
        for nr, (data, root_ref, version) in enumerate(self.saved_outputs):
            if root_ref is None:
                unpacked.append(None)
                continue
            root = root_ref()
            # a tensor gone since keeps the version its last in-place write noted
            current = root._vc if root is not None else getattr(root_ref, "version", version)
            if current != version:
                raise RuntimeError(_modified_message(None, self, nr, current, version,
                                                     is_output=True, data=data))
            out = Tensor._wrap(data)
            if create_graph:  # the output is re-created as a graph value of this node
                out._grad_fn = self
                out._output_nr = nr
                out._requires_grad = True
            unpacked.append(out)
        return tuple(unpacked)

    def apply(self, grad_outputs, create_graph, retain_graph):
        if self._freed:
            raise RuntimeError(_FREED_MESSAGE)
        op = self.op

        for i in op.differentiable_outputs:
            if grad_outputs[i] is None:
                grad_outputs[i] = zeros_for_meta(self.output_metas[i], self.device)
        if op.save_inputs:
            inputs = []
            for entry in self.saved_inputs:  # `_unpack_inputs`, inlined for the common case
                if type(entry) is tuple:
                    tensor, version = entry
                    root = tensor._base
                    if (tensor if root is None else root)._vc != version:
                        inputs = self._unpack_inputs()  # raises the version error
                        break
                    inputs.append(tensor)
                else:
                    inputs.append(entry)
            inputs = tuple(inputs)
        else:
            inputs = self.saved_inputs
        ctx = VJPContext(inputs,
                         self._unpack_outputs(create_graph)
                         if self.saved_outputs is not None else (), self.attrs, None, None, self)
        if _GRAD.enabled != create_graph:
            with grad_mode.set_grad_enabled(create_graph):
                grad_inputs = op.vjp(ctx, *grad_outputs)
        else:  # the engine already runs backward in the right grad mode
            grad_inputs = op.vjp(ctx, *grad_outputs)
        if not retain_graph and (op.save_inputs or op.save_output):
            self.saved_inputs = None
            self.saved_outputs = None
            self._freed = True
        return grad_inputs


def _metas(info) -> tuple:
    last = _LAST_METAS[0]
    if last[0] is info:  # nodes the C recorder made in a row for one signature share `info`
        return last[1]
    if _TRACE_STATE.__dict__.get("tracer") is not None:  # symbolic sizes: no dict keys
        return tuple(None if i is None else TensorMeta(tuple(i[0]), from_numpy_dtype(i[1]))
                     for i in info)
    metas = _META_CACHE.get(info)
    if metas is None:
        metas = tuple(None if i is None else TensorMeta(tuple(i[0]), from_numpy_dtype(i[1]))
                      for i in info)
        if len(_META_CACHE) < 4096:  # the shapes of one program repeat: keep a bounded few
            _META_CACHE[info] = metas
    _LAST_METAS[0] = (info, metas)  # one pair, swapped whole (threads read it unlocked)
    return metas


# A node's ((shape, numpy dtype) or None, ...) -> its TensorMetas: backward asks for the same
# few at every step. _LAST_METAS holds the last (info, metas) pair: a chain of one op finds
# its metas by the tuple's identity, without hashing it.
_META_CACHE: dict = {}
_LAST_METAS: list = [(None, None)]


def output_count(node) -> int:
    """How many outputs (gradient slots) a node has, without building metadata."""
    info = getattr(node, "_out_info", None)
    if info is not None:
        return len(info)
    metas = getattr(node, "output_metas", None)
    return max(len(metas), 1) if metas is not None else 1


# PyTorch's hand-written nodes report C++-qualified names from `name()`.
_NAMESPACED = {n: f"torch::autograd::{n}" for n in ("CopySlices", "CopyBackwards")}


class AccumulateGrad(Node):
    """The sink for a leaf tensor: adds the incoming gradient into `variable.grad`."""

    __slots__ = ("variable",)

    def __init__(self, variable):
        super().__init__(())
        self.variable = variable

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    def apply(self, grad_outputs, create_graph, retain_graph):
        variable = self.variable
        accumulate_grad(variable, grad_outputs[0], create_graph)
        hooks = variable._post_accumulate_grad_hooks
        if hooks and grad_outputs[0] is not None:
            for fn in list(hooks.values()):
                fn(variable)
        return ()


def accumulate_grad(variable, grad, create_graph: bool) -> None:
    """Add `grad` into `variable.grad` as PyTorch does (a fresh tensor the first time)."""
    if grad is None:
        return
    current = variable._grad  # not `.grad`: a non-leaf (backward(inputs=...)) would warn
    if type(grad._data) is not np.ndarray:  # maybe inside gt.compile's trace
        _note_traced_grad_read(variable)
    if current is None:
        variable.grad = grad if create_graph else _clone_like(grad, variable)
    elif create_graph or _GRAD.enabled and current.requires_grad:
        variable.grad = current + grad
    elif _GRAD.enabled:
        with grad_mode.no_grad():
            current.add_(grad)
    else:  # backward without create_graph runs in no_grad already
        current.add_(grad)


def _note_traced_grad_read(variable) -> None:

    tracer = current_tracer()
    if tracer is not None:
        tracer.note_grad_read(variable)


def gradient_layout(array, target):
    """A new gradient `array` of the parameter whose data is `target`, laid out by PyTorch's
    gradient layout contract: with `target`'s strides (`p.grad` of a contiguous parameter is
    contiguous, even where the backward made it transposed, as a Linear weight's; of a
    transposed one, transposed). `array` itself when it already is; else a copy. Eager's
    AccumulateGrad and a compiled backward's write-back both lay gradients out here."""
    if type(array) is not type(target) or array.shape != target.shape or \
            array.strides == target.strides or \
            array.flags.c_contiguous and target.flags.c_contiguous:
        return array
    out = dispatch.array_module((target,)).empty_like(target)  # order "K": same layout
    out[...] = array
    return out


def _clone_like(grad, variable):
    """A copy of `grad` laid out as `gradient_layout` says (a fresh `.grad`)."""
    if current_tracer() is not None:  # traced: the layout eager code reading .grad sees
        if variable.is_contiguous() and not grad.is_contiguous():
            return grad.detach().clone(memory_format=contiguous_format)
        return grad.detach().clone()
    data = gradient_layout(grad._data, variable._data)
    return grad.detach().clone() if data is grad._data else type(grad)._wrap(data)


def accumulate_node(tensor) -> AccumulateGrad:
    """The (cached) AccumulateGrad node of a leaf that requires grad."""
    ref = tensor._accumulator
    node = ref() if ref is not None else None
    if node is None:  # AccumulateGrad(tensor) without the __init__ chain (eager hot path)
        node = _new(AccumulateGrad)
        node.next_functions = ()
        node._sequence_nr = next(_sequence)
        node.variable = tensor
        if tensor._hooks is not None:  # leaf hooks live on the tensor, as in PyTorch
            node._tensor_pre_hooks = {0: tensor._hooks}
        tensor._accumulator = weakref.ref(node)
    return node


_new = object.__new__


def gradient_edge(tensor):
    """The (node, output_nr) edge that a gradient for `tensor` flows into."""
    if tensor._grad_fn is not None:
        return (tensor.grad_fn, tensor._output_nr)
    if tensor._requires_grad:
        return (accumulate_node(tensor), 0)
    return (None, 0)


def _modified_message(tensor, node, index, current, expected, is_output, data=None):
    """PyTorch's text: the tensor, then which op's output it is now (none for a leaf)."""
    import re


    dtype_name = legacy_type_name(tensor.dtype if tensor is not None else data.dtype)
    shape = list(tensor.shape if tensor is not None else data.shape)
    if is_output:
        owner, nr = node, index
    else:  # a saved input is described by its current history, as PyTorch does
        owner, nr = tensor.grad_fn, tensor._output_nr
    which = ""
    if owner is not None:
        name = re.sub(r"Backward\d*$", "", owner.name().rpartition("::")[2])
        which = f", which is output {nr} of {name},"
    return (
        "one of the variables needed for gradient computation has been modified by an "
        f"inplace operation: [{dtype_name} {shape}]{which} is at version {current}; expected "
        f"version {expected} instead. Hint: the tensor was changed in place after it was saved "
        "for backward; use an out-of-place op (or .clone()) there, or clone before the change.")


# --- saved-tensor hooks ------------------------------------------------------------------------
# While a `saved_tensors_hooks` context is active, `_pack_new_node` (an op hook: dispatch calls
# it after each eager op, once the op's node is recorded; with any op hook the C fast path
# hands ops to Python too) packs the tensors the op's node saved and turns the node into a
# `PackedOpNode`, which unpacks them at backward. Outside such a context nothing runs.
_saved_tensors_hooks: list = []  # (pack_hook, unpack_hook) stack; the innermost pair applies
_packing = [False]               # ops run by a pack hook are not packed themselves


class SavedTensorPack:
    """What a pack hook returned for one saved tensor, the unpack hook to undo it, and the
    saved tensor's place in the graph (its grad_fn, or its leaf's AccumulateGrad)."""

    __slots__ = ("accumulator", "grad_fn", "output_nr", "packed", "unpack_hook")

    def __init__(self, packed, unpack_hook, tensor, history: bool) -> None:
        self.packed = packed
        self.unpack_hook = unpack_hook
        self.grad_fn = self.accumulator = None
        self.output_nr = 0
        if history and tensor._requires_grad:
            self.grad_fn = tensor.grad_fn
            self.output_nr = tensor._output_nr
            if self.grad_fn is None:
                self.accumulator = weakref.ref(accumulate_node(tensor))

    def unpack(self):
        """The unpack hook's tensor, with the saved tensor's history (as PyTorch rebuilds
        it), so a double backward reaches what the saved tensor came from."""
        tensor = self.unpack_hook(self.packed)
        if not isinstance(tensor, Tensor):
            raise TypeError("Output of saved tensor unpack_hook expected to be a Tensor but "
                            f"got result of type {type(tensor).__name__}")
        out = Tensor._wrap(tensor._data)
        if self.grad_fn is not None:
            out._grad_fn = self.grad_fn
            out._output_nr = self.output_nr
            out._requires_grad = True
        elif self.accumulator is not None:
            out._requires_grad = True
            out._accumulator = self.accumulator
        return out


def pack_saved(tensor, history: bool = True) -> SavedTensorPack:
    """`tensor` through the innermost pack hook (ops inside the hook are not packed).
    history=False for a node's own outputs: their history is the node (`_unpack_outputs`
    re-creates it), and keeping it here would make a reference cycle."""
    pack_hook, unpack_hook = _saved_tensors_hooks[-1]
    _packing[0] = True
    try:
        return SavedTensorPack(pack_hook(tensor), unpack_hook, tensor, history)
    finally:
        _packing[0] = False


class PackedOpNode(OpNode):
    """An OpNode whose saved tensors went through a pack hook: backward unpacks them (each
    time it runs, as PyTorch does with retain_graph) and skips the version check, since the
    unpacked tensor need not be the one saved (PyTorch skips it too)."""

    __slots__ = ()

    def apply(self, grad_outputs, create_graph, retain_graph):
        if self._freed:
            raise RuntimeError(_FREED_MESSAGE)
        packed_inputs, packed_outputs = self.saved_inputs, self.saved_outputs
        self.saved_inputs = tuple(_unpacked_input(entry) for entry in packed_inputs)
        if packed_outputs is not None:
            self.saved_outputs = tuple(_unpacked_output(entry) for entry in packed_outputs)
        try:
            return OpNode.apply(self, grad_outputs, create_graph, retain_graph)
        finally:
            if not self._freed:  # kept for another backward (retain_graph)
                self.saved_inputs, self.saved_outputs = packed_inputs, packed_outputs


def _unpacked_input(entry):
    if type(entry) is not SavedTensorPack:
        return entry
    tensor = entry.unpack()
    return tensor, (tensor._base if tensor._base is not None else tensor)._vc


def _unpacked_output(entry):
    data = entry[0]
    if type(data) is not SavedTensorPack:
        return entry
    tensor = data.unpack()
    root = tensor._base if tensor._base is not None else tensor
    return tensor._data, weakref.ref(root), root._vc


def _pack_new_node(op, inputs, outputs) -> None:
    """Op hook: pack what the node this op just recorded saved."""
    if _packing[0]:
        return
    node = None
    for out in outputs:
        if isinstance(out, Tensor) and type(out._grad_fn) is OpNode and out._grad_fn.op is op:
            node = out._grad_fn
            break
    if node is None:
        return
    if current_tracer() is not None:
        raise TracingError("saved_tensors_hooks are active: a compiled graph would save its "
                           "tensors without calling the pack and unpack hooks")
    if node.saved_inputs is not None:
        node.saved_inputs = tuple(pack_saved(entry[0]) if type(entry) is tuple else entry
                                  for entry in node.saved_inputs)
    if node.saved_outputs is not None:
        node.saved_outputs = tuple(
            entry if entry[1] is None else (pack_saved(outputs[nr], history=False), None, 0)
            for nr, entry in enumerate(node.saved_outputs))
    node.__class__ = PackedOpNode


class saved_tensors_hooks:
    """Context manager: every tensor an op saves for backward inside it goes through
    `pack_hook(tensor)` at once, and backward gets `unpack_hook(packed)` back instead.

    >>> def pack(t): return t.numpy().copy()
    >>> def unpack(a): return gt.from_numpy(a)
    >>> with gt.autograd.graph.saved_tensors_hooks(pack, unpack):
    ...     y = (x * x).sum()
    >>> y.backward()
    """

    def __init__(self, pack_hook, unpack_hook) -> None:
        self.pack_hook = pack_hook
        self.unpack_hook = unpack_hook

    def __enter__(self):
        _saved_tensors_hooks.append((self.pack_hook, self.unpack_hook))
        if len(_saved_tensors_hooks) == 1:
            dispatch.op_hooks.append(_pack_new_node)
        return self

    def __exit__(self, *exc) -> None:
        _saved_tensors_hooks.pop()
        if not _saved_tensors_hooks:
            dispatch.op_hooks.remove(_pack_new_node)


class save_on_cpu(saved_tensors_hooks):
    """Saved tensors are kept on the CPU and moved back to their device at backward (a no-op
    for CPU tensors), as `torch.autograd.graph.save_on_cpu`."""

    def __init__(self, pin_memory: bool = False, device_type: str = "cuda") -> None:
        def pack_to_cpu(tensor):
            return tensor.device, tensor.cpu()

        def unpack_from_cpu(packed):
            device, tensor = packed
            return tensor.to(device, non_blocking=pin_memory)

        super().__init__(pack_to_cpu, unpack_from_cpu)


# The eager core's modules need each other: dispatch makes the nodes above, and a node's
# apply runs vjps through dispatch on Tensors. These imports come after the classes, so that
# either module may be imported first.
from ..ops import dispatch  # noqa: E402
from ..ops.factories import zeros_for_meta  # noqa: E402
from ..ops.registry import TensorMeta, VJPContext  # noqa: E402
from ..tensor import Tensor, legacy_type_name  # noqa: E402
from . import saved_attributes  # noqa: E402  (reads the node classes above)
