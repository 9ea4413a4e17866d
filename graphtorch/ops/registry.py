"""The op registry: every primitive op is defined exactly once, as one `OpDef`.

An OpDef carries the op's shape/dtype rule (`infer`), its kernel written against an array
module `xp` (NumPy or CuPy), its vector-Jacobian product written in graphtorch ops, and its
category. Eager dispatch, autograd, the tracer, the passes and every backend read these
definitions; nothing else keeps a list of ops.
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple

from ..dtypes import DType, on_default_dtype_change


class Category(enum.Enum):
    """How an op touches memory: what fusion and memory planning may assume about it."""

    ELEMENTWISE = "elementwise"  # out[i] depends on in[i] only (after broadcasting)
    REDUCTION = "reduction"      # reduces some dims of one input
    VIEW = "view"                # output aliases the input's memory
    OPAQUE = "opaque"            # anything else (matmul, sort, cat, ...)


class Promotion(enum.Enum):
    """How an elementwise op combines input dtypes (PyTorch's type-promotion kinds)."""

    DEFAULT = "default"            # compute and return the promoted dtype
    INT_TO_FLOAT = "int_to_float"  # integers and bool compute in the default float dtype
    ALWAYS_BOOL = "always_bool"    # compute in the promoted dtype, return bool
    COMPLEX_TO_FLOAT = "complex_to_float"  # like DEFAULT, but complex results become real


class ResultLayout(enum.Enum):
    """What the tracer knows of a result's memory layout (its strides) without running the
    kernel. Later `view`, `is_contiguous()` and `stride()` calls depend on it."""

    # Learnt by running the kernel once on zero-filled stand-ins with the inputs' layouts
    # (elementwise ops keep their input's memory order, as NumPy's order='K' does).
    FROM_KERNEL = "from_kernel"
    # Always a new C-contiguous array, whatever the inputs' layouts (matmul, conv, pooling,
    # and as PyTorch lays them out: reductions, scans, softmax, masked_fill, tril/triu,
    # whose kernels are wrapped in `row_major_results` since NumPy keeps a strided input's
    # memory order there). tests/ops/test_result_layout.py checks every claim.
    CONTIGUOUS = "contiguous"
    # A view that keeps a C-contiguous input C-contiguous at any size (view, unsqueeze).
    KEEPS_CONTIGUOUS = "keeps_contiguous"


class TensorMeta(NamedTuple):
    """What a shape rule knows about a tensor: its shape, dtype and device."""

    shape: tuple
    dtype: DType
    device: str = "cpu"

    @property
    def ndim(self) -> int:
        return len(self.shape)


@dataclass(frozen=True, eq=False)
class OpDef:
    """One primitive op.

    kernel(xp, *inputs, **attrs) -> array or tuple of arrays; inputs are arrays (already
        cast to the computation dtype for elementwise ops) or Python scalars.
    infer(*inputs, **attrs) -> TensorMeta or tuple of them; inputs are TensorMetas or
        Python scalars. It raises PyTorch's exception for invalid input.
    vjp(ctx, *grad_outputs) -> tuple with one gradient (or None) per input, written with
        graphtorch ops so that the same rule builds backward graphs. `ctx` is a `VJPContext`.
    """

    name: str
    category: Category
    kernel: Callable[..., Any]
    infer: Callable[..., Any]
    vjp: Callable[..., tuple] | None = None
    promotion: Promotion | None = None
    save_inputs: tuple[int, ...] = ()   # inputs the vjp reads (their versions are checked)
    # Whether the vjp reads the outputs (True: all of them; a tuple: those output indices,
    # so that in-place writes to the others stay legal, as for PyTorch's native norms).
    save_output: bool | tuple[int, ...] = False
    num_outputs: int = 1
    differentiable_outputs: tuple[int, ...] = (0,)
    variadic: bool = False              # the first input is a sequence of tensors
    dtype_check: Callable[[DType], str | None] | None = None  # error text for a bad dtype
    # PyTorch's grad_fn name, or a function of (input metas[, attrs]) giving it.
    backward_name: str | Callable[..., str] = ""
    doc: str = ""
    # Draws random numbers when it runs: never merged, cached or constant-folded.
    random: bool = False
    # Has an effect besides its outputs (printing, a host callback): passes keep every such
    # node, in order, even when its outputs are unused.
    side_effects: bool = False
    # NumPy/CuPy ufunc computing exactly this op on its computation dtype, then the constant
    # arguments it takes after the inputs (relu is ``maximum(x, 0)``). In-place ops write
    # into `out=`; the NumPy fused tier calls it chunk by chunk. Set by `ufunc_kernel`.
    ufunc: str = ""
    ufunc_args: tuple = ()
    # Its kernel may return an input or a view of it (VIEW ops always may): memory
    # planning must not reuse the input's buffer while the output lives.
    may_alias_input: bool = False
    # The op that runs this node inside a compiled graph, where values have no aliasing
    # (e.g. `view` runs as a reshape that may copy, since passes may change layouts).
    graph_op: "OpDef | None" = None
    # A branch (`gt.cond`): the attrs holding the subgraphs input 0 chooses between, true
    # branch first; inputs from 1 on feed both (gradient generation reads this).
    branch_attrs: tuple = ()
    # What the tracer may assume about the result's strides (tests/ops/test_result_layout.py
    # runs every op marked otherwise than FROM_KERNEL on strided inputs to check it).
    result_layout: ResultLayout = ResultLayout.FROM_KERNEL
    # The kernel may lay out the results of C-contiguous inputs in another order (rot90's
    # transposed view, einsum's output in NumPy's contraction order): the tracer learns
    # the layout from the kernel even when no input is strided.
    strided_from_contiguous: bool = False
    # ((i, (j, ...)), ...): input i (one of save_inputs) is read only by the gradients of
    # inputs j...; eager saves it only when one of those requires grad (mul saves `other`
    # for `self`'s gradient), as PyTorch does, so an in-place write to it is legal otherwise.
    saved_for: tuple = ()
    # Promotion decisions per input numpy dtype, filled by dispatch (cleared when the
    # default dtype changes, since INT_TO_FLOAT depends on it).
    dtype_cache: dict = field(default_factory=dict, compare=False, repr=False)

    def __repr__(self):
        return f"OpDef({self.name}, {self.category.value})"


class VJPContext:
    """What a vjp rule sees: saved inputs/outputs, attributes and input/output metadata.

    Metadata may be given directly (graph passes) or read lazily from an autograd node
    (eager backward), so recording an op never builds metadata nobody reads.
    """

    __slots__ = ("inputs", "outputs", "attrs", "_input_metas", "_output_metas", "_node")

    def __init__(self, inputs, outputs, attrs, input_metas=None, output_metas=None, node=None):
        self.inputs = inputs          # tuple: saved tensor, Python scalar, or None
        self.outputs = outputs        # tuple of saved output tensors (or Nones)
        self.attrs = attrs            # dict
        self._input_metas = input_metas    # tuple of TensorMeta or None (scalar inputs)
        self._output_metas = output_metas  # tuple of TensorMeta
        self._node = node

    @property
    def input_metas(self):
        if self._input_metas is None:
            self._input_metas = self._node.input_metas
        return self._input_metas

    @property
    def output_metas(self):
        if self._output_metas is None:
            self._output_metas = self._node.output_metas
        return self._output_metas

    @property
    def output(self):
        return self.outputs[0]

    def needed_input_metas(self) -> tuple:
        """`input_metas`, with None for the inputs whose gradient is not needed."""
        node = self._node
        if node is None:
            return self.input_metas
        metas = self._input_metas
        if metas is None:
            metas = node.input_metas
        edges = node.next_functions
        if len(edges) == 2 and len(metas) == 2:  # binary ops (most vjps): no listcomp frame
            first, second = edges
            return (metas[0] if first[0] is not None else None,
                    metas[1] if second[0] is not None else None)
        return tuple([m if edge[0] is not None else None
                      for m, edge in zip(metas, node.next_functions)])

    @property
    def needs_input_grad(self) -> tuple:
        """Per input, whether its gradient is used (PyTorch's ctx.needs_input_grad): False
        for inputs that do not require grad in eager backward; all True in graph passes."""
        node = self._node
        if node is None:
            return (True,) * len(self.inputs)
        return tuple([nxt is not None for nxt, _ in node.next_functions])


REGISTRY: dict[str, OpDef] = {}


def clear_dtype_caches() -> None:
    for op in REGISTRY.values():
        op.dtype_cache.clear()


on_default_dtype_change(clear_dtype_caches)


def register(op: OpDef) -> OpDef:
    """Add `op` to the registry; names are unique."""
    if op.name in REGISTRY:
        raise ValueError(f"op {op.name!r} is registered twice")
    is_view = op.category is Category.VIEW
    if (op.result_layout is ResultLayout.CONTIGUOUS and is_view) or (
            op.result_layout is ResultLayout.KEEPS_CONTIGUOUS and not is_view):
        raise ValueError(f"op {op.name!r}: {op.result_layout} does not fit a "
                         f"{op.category.value} op")
    if not op.backward_name:
        camel = "".join(part.capitalize() for part in op.name.split("_"))
        object.__setattr__(op, "backward_name", f"{camel}Backward0")
    elif callable(op.backward_name):
        import inspect

        fn = op.backward_name
        if len(inspect.signature(fn).parameters) == 1:  # name(metas): ignores attributes
            object.__setattr__(op, "backward_name", lambda metas, attrs: fn(metas))
    REGISTRY[op.name] = op
    return op


def row_major_results(kernel):
    """`kernel` whose array results are C-contiguous (a copy only where NumPy kept a
    strided input's order), for ops that claim `ResultLayout.CONTIGUOUS` as PyTorch's
    reductions and scans do (matmul, conv and pooling kernels need no wrapper)."""
    def c_order(a):
        flags = getattr(a, "flags", None)
        return a if flags is None or flags.c_contiguous else a.copy(order="C")

    @functools.wraps(kernel)
    def kernel_in_c_order(*args, **kwargs):
        out = kernel(*args, **kwargs)
        return tuple(c_order(o) for o in out) if isinstance(out, tuple) else c_order(out)
    return kernel_in_c_order


def get_op(name: str) -> OpDef:
    return REGISTRY[name]
