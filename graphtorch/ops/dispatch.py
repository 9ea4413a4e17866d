"""Eager execution of registry ops: dtype promotion, kernel call, autograd recording.

`call` runs an op out of place, `call_inplace` runs it into an existing tensor (functionally:
compute, then write back, so in-place ops reuse every out-of-place rule), `write_out`
implements `out=`. The hot path touches no shape rule: when a kernel fails, the op's
`infer` is run to raise PyTorch's exception with a clear message.
"""

from __future__ import annotations

import math
from weakref import getweakrefcount as _getweakrefcount

import numpy as np

from .. import dtypes
from ..autograd import grad_mode
from ..autograd.graph import OpNode, SavedOutputRef, accumulate_node, note_version
from ..autograd.graph import _sequence as _autograd_sequence
from ..device import cupy_module
from ..dtypes import scalar_type_name
from ..layout import inverse, preserved_order
from ..meta import MetaArray
from ..sparse_storage import SPARSE_ARRAYS
from ..tensor import Tensor
from ..trace_state import STATE as _TRACE_STATE
from ..trace_state import SymbolicArray, TracingError, user_frame, where
from . import bfloat16, dispatch_native, parallel_ufunc
from .devices import same_device_arrays, writable_alias
from .registry import Category, OpDef, Promotion, TensorMeta
from .shape_rules import broadcast_shapes, compute_dtype, dtype_error, output_dtype

_GRAD = grad_mode.STATE
_ndarray = np.ndarray

# PyTorch never warns about inf/nan results; NumPy does. Kernels run with NumPy's error
# state set to "ignore" through its context variable (np.errstate costs ~1 us per call).
try:
    from numpy._core import _ufunc_config as _ufc

    _ERRSTATE = _ufc._extobj_contextvar
    _IGNORE = _ufc._make_extobj(all="ignore")
except (ImportError, AttributeError):  # pragma: no cover - other NumPy layouts
    _ERRSTATE = None
# Debugging hooks called as hook(op, inputs, outputs) after every eager op (anomaly mode).
op_hooks: list = []
_wrap = Tensor._wrap
_new = object.__new__


def meta_of(x):
    if isinstance(x, Tensor):
        return TensorMeta(tuple(x._data.shape), dtypes.from_numpy_dtype(x._data.dtype))
    return x


class _Tracing:
    """The "array module" of symbolic arrays: the op is recorded, not computed."""


TRACING = _Tracing()


class SparseOperand(NotImplementedError):
    """A dense kernel was given a sparse tensor: `call` hands the op to the sparse kernel
    of its name (`SPARSE_KERNELS`, filled by `graphtorch.sparse`) or raises this, worded as
    PyTorch's error for an op the sparse backend lacks."""

    def __init__(self, op: OpDef):
        super().__init__(f"Could not run 'aten::{op.name}' with arguments from the "
                         "'SparseCPU' backend: this op is not supported on sparse tensors; "
                         "use Tensor.to_dense() first.")


# op name -> kernel(op, inputs, attrs) -> Tensor for ops with a sparse operand
SPARSE_KERNELS: dict = {}


def array_module(arrays):
    """NumPy, CuPy when any operand lives on a CUDA device, or TRACING for symbolic arrays
    (tensors inside `gt.trace`)."""
    for a in arrays:
        if type(a) is SymbolicArray:
            return TRACING
    for a in arrays:
        if type(a) is not _ndarray and hasattr(a, "__cuda_array_interface__"):
            return cupy_module()
    return np


def _promote(op: OpDef, inputs, arrays):
    """Cast array operands to the op's computation dtype.

    Returns (arrays, the output's numpy dtype): a kernel result of another dtype (NumPy
    widening `bool + 2`, say) is cast to it. The decision for operands that all share one
    dtype is cached per op.
    """
    first = None
    for x in inputs:
        if not isinstance(x, Tensor):
            first = _scalar_keeps_dtype(inputs)
            break
        d = x._data.dtype
        if first is None:
            first = d
        elif d != first:
            first = None
            break
    if first is not None:
        hit = op.dtype_cache.get(first)
        if hit is not None:  # fast path: a dtype this op has seen
            compute, out = hit[0], hit[1]
            if compute != first:
                arrays = [_cast(a, compute) if isinstance(x, Tensor) else a
                          for x, a in zip(inputs, arrays)]
            return arrays, out
    promotion = op.promotion
    if first is not None:
        computed = dtypes.from_numpy_dtype(first)
        if promotion is Promotion.INT_TO_FLOAT and computed.category <= dtypes.Category.INT:
            computed = dtypes.get_default_dtype()
    else:
        computed = compute_dtype(promotion, [meta_of(x) for x in inputs])
    if op.dtype_check is not None:
        message = op.dtype_check(computed)
        if message:
            if op.category is Category.ELEMENTWISE:  # PyTorch checks the shapes first
                broadcast_shapes(*[x._data.shape for x in inputs if isinstance(x, Tensor)])
            raise dtype_error(message)
    np_dtype = computed.np_dtype
    out_np = output_dtype(promotion, computed).np_dtype
    if first is not None and first is not _BF16:  # bfloat16: never a fast path's cached hit
        # third: the ufunc `_run_kernel`'s fast path calls for float arrays of this dtype
        fast = getattr(np, op.ufunc) if op.ufunc and not op.ufunc_args and first.kind == "f" \
            and np_dtype == first and out_np == first else None
        op.dtype_cache[first] = (np_dtype, out_np, fast)
    if first is None and np_dtype.kind in "iu":
        arrays = [_wrap_int_scalar(a, np_dtype) if type(a) is int else a for a in arrays]
    cast = [_cast(a, np_dtype) if isinstance(x, Tensor) and a.dtype != np_dtype else a
            for x, a in zip(inputs, arrays)]
    return cast, out_np


def _cast(a, np_dtype):
    """`a` converted to `np_dtype` in the layout PyTorch's TensorIterator gives the result:
    NumPy's astype (order "K") moves broadcast (0-stride) dims innermost, so that
    ``bool_tensor.expand(3, 4).sin()`` would come out column-major; PyTorch keeps them in
    place (`preserved_order`)."""
    if 0 not in a.strides or a.flags.c_contiguous:
        return a.astype(np_dtype)
    order = preserved_order(a.shape, a.strides)
    if order is None:
        return a.astype(np_dtype, order="C")
    return a.transpose(order).astype(np_dtype, order="C").transpose(inverse(order))


# Python scalar kinds that cannot raise a tensor's dtype category, per tensor dtype kind.
_WEAK_SCALARS = {"f": (float, int, bool), "c": (complex, float, int, bool), "i": (int, bool),
                 "u": (int, bool), "b": (bool,)}


def _scalar_keeps_dtype(inputs):
    """Fast path for `tensor <op> python_scalar`: the tensor's NumPy dtype when the scalar
    does not raise its category (`float32 * 2.0` stays float32), else None."""
    if len(inputs) != 2:
        return None
    a, b = inputs
    tensor, scalar = (a, b) if isinstance(a, Tensor) else (b, a)
    if not isinstance(tensor, Tensor) or isinstance(scalar, Tensor):
        return None
    d = tensor._data.dtype
    if type(scalar) in _WEAK_SCALARS.get(d.kind, ()):
        if type(scalar) is int and d.kind in "iu":
            return d if (d.kind == "i" or scalar >= 0) and np.can_cast(
                np.min_scalar_type(scalar), d) else None  # out-of-range ints: slow path
        return d
    return None


def _wrap_int_scalar(value: int, np_dtype):
    """A Python int outside the computation dtype's range wraps around, as in PyTorch (NumPy
    would raise OverflowError): ``uint8_tensor + -2`` subtracts 2 modulo 256."""
    info = np.iinfo(np_dtype)
    if info.min <= value <= info.max:
        return value
    return np.array(value & 0xFFFFFFFFFFFFFFFF, dtype=np.uint64).astype(np_dtype)


_FLOAT_SCALARS = (float, int, bool)  # Python numbers that keep a float tensor's dtype
_BF16 = bfloat16.BFLOAT16  # its ops compute in float32 (ops/bfloat16.py), never fast paths
_PARALLEL_MIN = parallel_ufunc.MIN_ELEMENTS  # ufuncs on arrays this large use two threads


def _run_kernel(op: OpDef, inputs, attrs):
    """Compute `op` on raw arrays; returns an array or a tuple of arrays."""
    if op.variadic:
        arrays = [[t._data for t in inputs[0]], *(_unwrap(x) for x in inputs[1:])]
        if any(type(a) is not _ndarray for a in arrays[0]):
            if any(type(a) in SPARSE_ARRAYS for a in arrays[0]):
                raise SparseOperand(op)
            if any(type(a) is MetaArray for a in arrays[0]):
                return _meta_results(op, inputs, attrs)
        xp = array_module(arrays[0])
    else:
        xp = np
        arrays = []
        for x in inputs:
            if isinstance(x, Tensor):
                a = x._data
                if type(a) is not _ndarray and type(a) in SPARSE_ARRAYS:
                    raise SparseOperand(op)
                if type(a) is not _ndarray and xp is not TRACING:
                    if type(a) is MetaArray:
                        return _meta_results(op, inputs, attrs)
                    xp = array_module((a,))
                arrays.append(a)
            else:
                arrays.append(x)
    if xp is not TRACING and _TRACE_STATE.__dict__.get("tracer") is not None:
        # inside gt.trace every op is recorded, also on concrete tensors (parameters, captured
        # tensors): computing it now would freeze their current values into the graph
        xp = TRACING
    if xp is TRACING:  # inside gt.trace: record a graph node instead of computing
        folded = _fold_known(op, inputs, attrs)
        if folded is not None:
            return folded
        return _tracer("used after the trace ended; use the traced function's outputs "
                       "instead").record_op(op, inputs, attrs)
    if xp is not np:  # CuPy: every tensor operand on one GPU (0-d CPU tensors join)
        arrays = same_device_arrays(op, inputs, arrays, xp)
    try:
        out_dtype = None
        if op.promotion is not None:
            arrays, out_dtype = _promote(op, inputs, arrays)
        if _BF16 is not None and bfloat16.involves_bfloat16(arrays, attrs):
            with np.errstate(all="ignore"):
                out = bfloat16.run_in_float32(op, xp, arrays, attrs, out_dtype)
        elif _ERRSTATE is not None:
            token = _ERRSTATE.set(_IGNORE)
            try:
                out = op.kernel(xp, *arrays, **attrs)
            finally:
                _ERRSTATE.reset(token)
        else:
            with np.errstate(all="ignore"):
                out = op.kernel(xp, *arrays, **attrs)
    except (RuntimeError, IndexError, TypeError, NotImplementedError):
        raise
    except Exception as exc:  # a NumPy error: let the shape rule explain it
        _explain_failure(op, inputs, attrs, exc)
        raise
    if out_dtype is not None and out.dtype != out_dtype:
        out = out.astype(out_dtype)
    return out


def _meta_results(op: OpDef, inputs, attrs):
    """The results of `op` on meta tensors: no kernel runs, the op's shape/dtype rule says
    what they are (see graphtorch/meta.py)."""
    if op.variadic:
        metas = [[meta_of(t) for t in inputs[0]], *(meta_of(x) for x in inputs[1:])]
    else:
        metas = [meta_of(x) for x in inputs]
    out = op.infer(*metas, **attrs)
    outs = (out,) if isinstance(out, TensorMeta) else tuple(out)
    strides = [None] * len(outs)
    if op.category is _VIEW and not op.variadic:  # a view's strides: its kernel on stand-ins
        stand_ins = [np.lib.stride_tricks.as_strided(np.empty(1, x._data.dtype), x._data.shape,
                                                     x._data.strides, writeable=False)
                     if isinstance(x, Tensor) else x for x in inputs]
        viewed = op.kernel(np, *stand_ins, **attrs)
        viewed = (viewed,) if op.num_outputs == 1 else viewed
        strides = [v.strides if v.shape == m.shape else None for v, m in zip(viewed, outs)]
    arrays = tuple(MetaArray(m.shape, m.dtype.np_dtype, st) for m, st in zip(outs, strides))
    return arrays[0] if op.num_outputs == 1 else arrays


def _tracer(misuse: str):
    """The recording tracer; a symbolic tensor met outside any trace was `misuse`d."""
    tracer = _TRACE_STATE.__dict__.get("tracer")
    if tracer is None:
        raise TracingError(f"{where(user_frame())}: a tensor from inside gt.trace was {misuse}")
    return tracer


def _unwrap(x):
    return x._data if isinstance(x, Tensor) else x


def _fold_known(op: OpDef, inputs, attrs):
    """Inside a trace, an op whose tensor inputs all have known values (made from Python
    data during the trace) is computed now, as eager code would, and its results are graph
    constants with known values. Random ops, ops with side effects and inputs that require
    grad are recorded instead."""
    if op.random or op.side_effects:
        return None
    flat = (*inputs[0], *inputs[1:]) if op.variadic else inputs
    tensors = [x for x in flat if isinstance(x, Tensor)]
    if not tensors:
        return None
    for t in tensors:
        data = t._data
        if type(data) is not SymbolicArray or data.known is None or t._requires_grad:
            return None
        if data.root is not None and data.origin is not \
                _TRACE_STATE.tracer.root_value(data.root):
            return None  # a stale view: recorded (the tracer recomputes it)
    if op.category is Category.VIEW and _broadcasts(op, inputs, attrs):
        return None  # recorded: as a constant it would be a full-size copy of a view
    concrete = {id(t): _wrap(t._data.known) for t in tensors}

    def swap(x):
        return concrete[id(x)] if isinstance(x, Tensor) else x

    args = ([swap(x) for x in inputs[0]], *[swap(x) for x in inputs[1:]]) if op.variadic \
        else [swap(x) for x in inputs]
    tracer = _TRACE_STATE.tracer
    _TRACE_STATE.tracer = None
    try:
        out = _run_kernel(op, args, attrs)
    except Exception:  # noqa: BLE001 - recorded instead; running the graph raises as eager
        return None
    finally:
        _TRACE_STATE.tracer = tracer
    outs = out if op.num_outputs != 1 else (out,)
    symbolic = tuple(tracer.constant(_as_array(o))._data for o in outs)
    return symbolic if op.num_outputs != 1 else symbolic[0]


def _broadcasts(op: OpDef, inputs, attrs) -> bool:
    """Whether the view op's output has more elements than its input (an expand)."""
    try:
        out = op.infer(*[meta_of(x) if isinstance(x, Tensor) else x for x in inputs], **attrs)
        outs = (out,) if isinstance(out, TensorMeta) else out
        size = math.prod(inputs[0].shape) if isinstance(inputs[0], Tensor) else 1
        return any(bool(math.prod(o.shape) > size) for o in outs)
    except Exception:  # noqa: BLE001 - symbolic sizes, or an error folding raises as eager
        return False


def _explain_failure(op: OpDef, inputs, attrs, exc: Exception):
    if op.variadic:
        metas = [[meta_of(t) for t in inputs[0]], *(meta_of(x) for x in inputs[1:])]
    else:
        metas = [meta_of(x) for x in inputs]
    op.infer(*metas, **attrs)  # raises PyTorch's error when the input is invalid
    raise RuntimeError(f"{op.name}: {exc}") from exc


def _as_array(out):
    return out if type(out) is _ndarray else np.asarray(out) if isinstance(
        out, (np.generic, int, float, bool, complex)) else out


def call(op: OpDef, *inputs, **attrs):
    """Run `op` eagerly on tensors (and Python scalars); record autograd when needed."""
    native = _NATIVE_CALL[0]
    if native is not None:  # the fast path below, in C (dispatch_native)
        out = native(op, inputs, attrs)
        if out is not None:
            return out
        if op not in _OP_INFO:
            _OP_INFO[op] = _op_info(op)
    done = False
    if not op.variadic and _ERRSTATE is not None and \
            _TRACE_STATE.__dict__.get("tracer") is None:
        # Fast path: NumPy arrays of one dtype (plus Python numbers that keep a float dtype,
        # or any argument of an op without promotion) whose promotion decision is cached.
        first = None
        arrays = []
        scalars = False
        promotes = op.promotion is not None
        for x in inputs:
            if type(x) is Tensor or isinstance(x, Tensor):
                a = x._data
                if type(a) is not _ndarray:
                    break
                if first is None:
                    first = a.dtype
                    size = a.size
                    if first is _BF16:
                        break
                elif a.dtype is not first:
                    break
                arrays.append(a)
            elif not promotes or type(x) in _FLOAT_SCALARS:
                scalars = True
                arrays.append(x)
            else:
                break
        else:
            if first is not None:
                hit = op.dtype_cache.get(first) if promotes else _SAME
                if hit is not None and (hit is _SAME or hit[0] is first) and (
                        not scalars or not promotes or first.kind == "f"):
                    ufunc = hit[2] if not attrs else None  # the op's ufunc: a frame less
                    token = _ERRSTATE.set(_IGNORE)
                    try:
                        if ufunc is None:
                            out = op.kernel(np, *arrays, **attrs)
                        elif size < _PARALLEL_MIN:
                            out = ufunc(*arrays)
                        else:  # a large array: split over the thread pool, as PyTorch
                            out = parallel_ufunc.apply(ufunc, arrays)
                    except (RuntimeError, IndexError, TypeError, NotImplementedError):
                        raise
                    except Exception as exc:  # a NumPy error: let the shape rule explain it
                        _ERRSTATE.reset(token)
                        token = None
                        _explain_failure(op, inputs, attrs, exc)
                        raise
                    finally:
                        if token is not None:
                            _ERRSTATE.reset(token)
                    out_dtype = hit[1]
                    if out_dtype is not None and out.dtype is not out_dtype and \
                            out.dtype != out_dtype:
                        out = out.astype(out_dtype)
                    done = True
    if not done:
        try:
            out = _run_kernel(op, inputs, attrs)
        except SparseOperand:
            kernel = SPARSE_KERNELS.get(op.name)
            if kernel is None:
                raise
            return kernel(op, inputs, attrs)
    if op.num_outputs == 1:
        t = _new(Tensor)  # Tensor._wrap, inlined: this runs for every op
        t._data = out if type(out) is _ndarray else _as_array(out)
        t._requires_grad = False
        t._grad_fn = None
        t._output_nr = 0
        t._grad = None
        t._base = None
        t._vc = 0
        outputs = (t,)
    else:
        outputs = tuple(_wrap(_as_array(o)) for o in out)
    _finish_call(op, inputs, outputs, attrs)
    return outputs[0] if op.num_outputs == 1 else outputs


_VIEW = Category.VIEW
_SAME = (None, None, None)  # the fast path's "cached decision" for ops without promotion


def binary_operator(op: OpDef, convert):
    """The `Tensor.__mul__`-style method of a binary op: `call(op, self, other)` (`other`
    made an operand by `convert` first when it is not a tensor or a Python number), with
    the common eager case - a plain float tensor of one dtype with another or with a
    Python number, on NumPy, outside any trace - run without `call`'s general loops (this
    is the cost of every `a * b` in eager code): in C (`dispatch_native`) once that is
    built, else inline here. Anything else, and any kernel error, goes through `call`,
    which gives the same result or raises PyTorch's error."""
    cache = op.dtype_cache
    # the op's saved input indexes, when the C path may build its autograd node
    saves = native_saves(op) if op.vjp is not None and not op.save_output and \
        op.differentiable_outputs == (0,) else None

    def method(x, y):
        native = _NATIVE_BINARY[0]
        if native is not None:
            out = native(op, cache, saves, x, y)
            if out is not None:
                return out
        if type(x) is Tensor and _ERRSTATE is not None and \
                _TRACE_STATE.__dict__.get("tracer") is None:
            a = x._data
            if type(a) is _ndarray:
                d = a.dtype
                hit = cache.get(d)
                # hit[2] is set only for a float dtype that computes and returns as itself
                if hit is not None and hit[2] is not None and a.size < _PARALLEL_MIN:
                    ty = type(y)
                    if ty is Tensor:
                        b = y._data
                        plain = type(b) is _ndarray and b.dtype is d
                    else:
                        b = y
                        plain = ty is float or ty is int or ty is bool
                    if plain:
                        token = _ERRSTATE.set(_IGNORE)
                        try:
                            out = hit[2](a, b)
                        except Exception:  # noqa: BLE001 - `call` raises PyTorch's error
                            out = None
                        finally:
                            _ERRSTATE.reset(token)
                        if out is not None:
                            if type(out) is not _ndarray:  # a 0-d result comes back a scalar
                                out = _as_array(out)
                            if out.dtype is not d and out.dtype != d:
                                out = out.astype(d)
                            t = _wrap(out)
                            if x._requires_grad or x._base is not None or ty is Tensor and (
                                    y._requires_grad or y._base is not None) or op_hooks:
                                _finish_binary(op, x, y, t)
                            return t
        if type(y) is not Tensor and type(y) not in _SCALAR_TYPES:
            if y is None or isinstance(y, str):  # PyTorch: `t == None` is False, `t + None`
                return NotImplemented  # a TypeError, as Python gives them
            y = convert(y)
        return call(op, x, y)

    return method


def _finish_binary(op: OpDef, x, y, t) -> None:
    """`call`'s tail for `binary_operator`'s fast paths (Python and C), once `t` holds the
    result of `op(x, y)`: record autograd, run the op hooks."""
    if _GRAD.enabled and op.vjp is not None:
        ty = type(y)
        if x._base is None and (ty is not Tensor or y._base is None):
            if x._requires_grad or ty is Tensor and y._requires_grad:
                _record_plain_binary(op, x, y, t)
        elif _any_requires_grad(op, (x, y)):
            record(op, (x, y), (t,), {})
    if op_hooks:
        for hook in list(op_hooks):
            hook(op, (x, y), (t,))


# The C paths once built and bound (`_bind_native`): binary_operator's and call's.
_NATIVE_BINARY = [None]
_NATIVE_CALL = [None]
# OpDef -> what call's C path reads of it (`_op_info`), filled by the first Python call.
_OP_INFO: dict = {}


def native_saves(op: OpDef) -> tuple:
    """The C path's form of what `op` saves: each index of ``op.save_inputs``, then one
    ``(i, j, ...)`` per `OpDef.saved_for` rule (input i kept only if an input j requires
    grad)."""
    return tuple(op.save_inputs) + tuple((i, *readers) for i, readers in op.saved_for)


def _drop_unread(op: OpDef, edges, saved: list) -> None:
    """Forget the saved inputs (`OpDef.saved_for`) that no gradient this node computes reads:
    PyTorch saves them only then, so an in-place write to them afterwards stays legal."""
    for i, readers in op.saved_for:
        if saved[i] is not None and all(edges[j] is _NO_EDGE for j in readers
                                        if j < len(edges)):
            saved[i] = None


def _op_info(op: OpDef) -> tuple:
    """(dtype_cache, promotes, num_outputs, is_view, has_vjp, eligible, kernel, save_inputs,
    save_output, one_output): eligible ops are those call's fast path takes and whose
    kernel may run again (the C path hands a NumPy error back to Python, which reruns the
    kernel to explain it): not variadic, random or with side effects. save_output: 0 (not
    saved), 1 (saved) or 2 (a placeholder, as `OpNode.save_outputs` keeps for an output
    the vjp does not read)."""
    keep = op.save_output
    save_output = 0 if not keep else 1 if keep is True or 0 in keep else 2
    return (op.dtype_cache, op.promotion is not None, op.num_outputs,
            op.category is Category.VIEW, op.vjp is not None,
            not (op.variadic or op.random or op.side_effects), op.kernel,
            native_saves(op), save_output,
            op.num_outputs == 1 and tuple(op.differentiable_outputs) == (0,))


def _finish_call(op: OpDef, inputs, outputs, attrs) -> None:
    """`call`'s tail (also its C path's), once `outputs` hold the op's results: view
    links, autograd, op hooks."""
    if op.category is _VIEW:
        _link_views(op, inputs[0], outputs, attrs)
    if _GRAD.enabled and op.vjp is not None:
        needs = unsure = False
        if op.variadic:
            unsure = True
        else:  # the common cases inline; views and subclasses ask _any_requires_grad
            for x in inputs:
                if type(x) is Tensor:
                    if x._requires_grad:
                        needs = True
                        break
                    if x._base is not None:
                        unsure = True
                elif isinstance(x, Tensor):
                    unsure = True
        if needs or unsure and _any_requires_grad(op, inputs):
            record(op, inputs, outputs, attrs)
            if type(outputs[0]._data) is SymbolicArray:  # tracing: backward nodes name this op
                tracer = _TRACE_STATE.tracer
                tracer.grad_sources[outputs[0]._grad_fn] = outputs[0]._data.value.node
    if op_hooks:
        for hook in list(op_hooks):
            hook(op, inputs, outputs)


def _bind_native(module) -> None:
    module.setup(Tensor, _TRACE_STATE, _ERRSTATE, _IGNORE, _GRAD, op_hooks, _finish_binary,
                 _PARALLEL_MIN, OpNode, accumulate_node, _autograd_sequence, _NO_EDGE)
    module.setup_call(_OP_INFO, np, _finish_call, _as_array, SavedOutputRef)
    _NATIVE_BINARY[0] = module.binary
    _NATIVE_CALL[0] = module.call


_SCALAR_TYPES = (bool, int, float, complex)


def _record_plain_binary(op: OpDef, x, y, out):
    """`record(op, (x, y), (out,), {})` for `binary_operator`'s fast path, where `x` and a
    tensor `y` are no views (no `_base`) and `out` is a float tensor: the same node, built
    without `record`'s general loop."""
    if op.save_output or op.differentiable_outputs != (0,):
        record(op, (x, y), (out,), {})
        return
    saves = op.save_inputs
    a = x._data
    if x._requires_grad:
        fn = x._grad_fn
        edge_x = (fn, x._output_nr) if fn is not None else (accumulate_node(x), 0)
    else:
        edge_x = _NO_EDGE
    if type(y) is Tensor:
        b = y._data
        info_y = (b.shape, b.dtype)
        if y._requires_grad:
            fn = y._grad_fn
            edge_y = (fn, y._output_nr) if fn is not None else (accumulate_node(y), 0)
        else:
            edge_y = _NO_EDGE
        saved_y = (y, y._vc) if 1 in saves else None
    else:
        info_y = None
        edge_y = _NO_EDGE
        saved_y = y if 1 in saves else None
    o = out._data
    saved = [(x, x._vc) if 0 in saves else None, saved_y]
    if op.saved_for:
        _drop_unread(op, (edge_x, edge_y), saved)
    node = OpNode(op, (edge_x, edge_y), {}, tuple(saved),
                  ((a.shape, a.dtype), info_y), ((o.shape, o.dtype),))
    out._grad_fn = node
    out._requires_grad = True


def _any_requires_grad(op, inputs) -> bool:
    flat = inputs[0] if op.variadic else inputs
    for x in flat:
        if type(x) is Tensor and x._requires_grad:  # the common case, checked first
            return True
    for x in flat:
        if isinstance(x, Tensor) and (x._requires_grad or x._base is not None and
                                      _stale_view_requires_grad(x)):
            return True
    if op.variadic:
        return any(isinstance(x, Tensor) and (x._requires_grad or x._base is not None and
                                              _stale_view_requires_grad(x))
                   for x in inputs[1:])
    return False


def _stale_view_requires_grad(view) -> bool:
    """A view taken before its base started requiring grad (the base was written in place
    with a grad-requiring value, or became a leaf that requires grad) requires grad too, as
    in PyTorch: rebuild its history from the base now. Views taken in no_grad mode stay
    outside the graph."""
    base = view._base
    if not base._requires_grad or view._view_ops is None or \
            view._creation_meta == NO_GRAD_VIEW:
        return False
    view._regenerate_grad_fn(base)
    return view._requires_grad


def _link_views(op: OpDef, source, outputs, attrs):
    """Outputs of a view op share `source`'s memory and version counter."""
    root = source._base if source._base is not None else source
    chain = source._view_ops
    # PyTorch's CreationMeta: a view taken in no_grad mode of a tensor that requires grad
    # (or a view of such a view) must not be modified in place with grad mode enabled.
    creation = source._creation_meta
    if creation is None and not _GRAD.enabled and source._requires_grad:
        creation = NO_GRAD_VIEW
    if type(outputs[0]._data) is SymbolicArray:
        _link_traced_views(op, source, outputs, attrs)
    for nr, out in enumerate(outputs):
        out._base = root
        if chain is None:  # a view of a detached alias is not differentiable either
            out._view_ops = None
        else:
            step = (op, attrs) if len(outputs) == 1 else (op, attrs, nr)
            out._view_ops = chain + (step,)
            out._view_grad_source = root._grad_fn
            if creation is not None:
                out._creation_meta = creation


def _link_traced_views(op: OpDef, source, outputs, attrs):
    """Inside a trace, a view remembers its storage root, the steps from it and the root's
    value it was computed from (see `trace_state.SymbolicArray`)."""
    data = source._data
    if type(data) is SymbolicArray and data.root is not None:
        root, chain = data.root, data.chain
    else:
        root, chain = source, ()
    origin = _TRACE_STATE.tracer.root_value(root)
    for nr, out in enumerate(outputs):
        step = (op, attrs) if len(outputs) == 1 else (op, attrs, nr)
        arr = out._data
        out._data = SymbolicArray(arr.shape, arr.dtype, arr.value, arr._strides, root,
                                  chain + (step,), origin, arr.known, arr.layout_unknown,
                                  arr.hint_strides)


def flat_inputs(op: OpDef, inputs):
    return (*inputs[0], *inputs[1:]) if op.variadic else inputs


def record(op: OpDef, inputs, outputs, attrs):
    """Attach an autograd node for `op` to `outputs` (inputs already computed them)."""
    flat = (*inputs[0], *inputs[1:]) if op.variadic else inputs
    saves = op.save_inputs
    edges = []
    in_info = []
    saved = []
    i = -1
    for x in flat:
        i += 1
        if type(x) is not Tensor and not isinstance(x, Tensor):
            edges.append(_NO_EDGE)
            in_info.append(None)
            saved.append(x if i in saves else None)
            continue
        a = x._data
        in_info.append((a.shape, a.dtype))
        root = x._base
        if root is None:
            root = x
            if x._requires_grad:
                fn = x._grad_fn
                edges.append((fn, x._output_nr) if fn is not None else (accumulate_node(x), 0))
            else:
                edges.append(_NO_EDGE)
        elif x._requires_grad or _stale_view_requires_grad(x):
            fn = x.grad_fn
            edges.append((fn, x._output_nr) if fn is not None else (accumulate_node(x), 0))
        else:
            edges.append(_NO_EDGE)
        saved.append((x, root._vc) if i in saves else None)
    if op.saved_for:
        _drop_unread(op, edges, saved)
    first = outputs[0]
    a = first._data
    if len(outputs) == 1:
        out_info = ((a.shape, a.dtype),)
    else:
        out_info = tuple((o._data.shape, o._data.dtype) for o in outputs)
    node = OpNode(op, tuple(edges), attrs, tuple(saved), tuple(in_info), out_info)
    if op.save_output:
        node.save_outputs(outputs)
    if type(a) is not _ndarray and first.is_cuda:
        node.device = first.device  # zeros for missing gradients go there
    if len(outputs) == 1 and op.differentiable_outputs == (0,):
        if a.dtype.kind in "fc" or a.dtype is _BF16:
            first._grad_fn = node
            first._output_nr = 0
            first._requires_grad = True
        return node
    for nr in op.differentiable_outputs:
        out = outputs[nr]
        if out._data.dtype.kind in "fc" or out._data.dtype is _BF16:
            out._grad_fn = node
            out._output_nr = nr
            out._requires_grad = True
    return node


_NO_EDGE = (None, 0)


# --- in-place and out= -------------------------------------------------------------------

NO_GRAD_VIEW = "no_grad"  # `_creation_meta` of views taken in no_grad mode


def multi_output_views(views, name: str) -> None:
    """Mark the outputs of split/unbind/chunk (PyTorch's MULTI_OUTPUT_NODE views)."""
    if _GRAD.enabled:
        for nr, v in enumerate(views):
            if v._requires_grad and v._creation_meta is None:
                v._creation_meta = (name, nr)


def _creation_error(tensor, creation) -> RuntimeError:
    if creation == NO_GRAD_VIEW:
        return RuntimeError(
            "A view was created in no_grad mode and is being modified inplace with grad mode "
            "enabled. Given that this use case is ambiguous and error-prone, it is forbidden. "
            "You can clarify your code by moving both the view and the inplace either both "
            "inside the no_grad block (if you don't want the inplace to be tracked) or both "
            "outside (if you want the inplace to be tracked).")
    name, nr = creation
    return RuntimeError(
        f"Output {nr} of {name} is a view and is being modified inplace. This view is the "
        "output of a function that returns multiple views. Such functions do not allow the "
        "output views to be modified inplace. You should replace the inplace operation by an "
        "out-of-place one.")


def check_inplace_allowed(tensor) -> None:
    """PyTorch's errors for in-place changes that would break autograd."""
    if not _GRAD.enabled:
        return
    creation = tensor._creation_meta
    if creation is not None and (creation == NO_GRAD_VIEW or tensor._requires_grad):
        raise _creation_error(tensor, creation)
    if not tensor._requires_grad:
        return
    if tensor._grad_fn is None and tensor._base is None:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                           "operation.")
    root = tensor._base
    if root is not None and tensor._view_ops is not None and root._grad_fn is None \
            and root._requires_grad:
        raise RuntimeError("a view of a leaf Variable that requires grad is being used in an "
                           "in-place operation.")


def bump_version(tensor) -> None:
    root = tensor._base if tensor._base is not None else tensor
    root._vc += 1
    if _getweakrefcount(root):  # maybe an op's saved output: tell its SavedOutputRefs
        note_version(root)


def has_internal_overlap(array) -> bool:
    """PyTorch's test: some dimension of size > 1 has stride 0 (expanded)."""
    return any(n > 1 and st == 0 for n, st in zip(array.shape, array.strides))


def _write(dst_array, src_array, op=None):
    """Copy (broadcasting and casting) into a tensor's memory."""
    try:
        dst_array[...] = src_array
    except ValueError as exc:
        if not getattr(dst_array.flags, "writeable", True):  # CuPy: always writeable
            # NumPy marks every view of an expanded array read-only. PyTorch refuses a
            # write only where the written tensor itself repeats elements (a stride of 0),
            # except fill_/zero_, which may write one value through an expanded tensor.
            if not has_internal_overlap(dst_array) or op is not None and op.name == "fill":
                try:
                    writable_alias(dst_array)[...] = src_array
                    return
                except ValueError:
                    pass
            raise RuntimeError(
                "unsupported operation: more than one element of the written-to tensor refers "
                "to a single memory location. Please clone() the tensor before performing the "
                "operation.") from exc
        raise RuntimeError(f"output with shape {list(dst_array.shape)} doesn't match the "
                           f"broadcast shape {list(src_array.shape)}") from exc


def _check_cast(result_dtype, target_dtype):
    src = dtypes.from_numpy_dtype(result_dtype)
    dst = dtypes.from_numpy_dtype(target_dtype)
    if not dtypes.can_cast(src, dst):
        raise RuntimeError(f"result type {scalar_type_name(src)} can't be cast to the desired "
                           f"output "
                           f"type {scalar_type_name(dst)}")


# While a forward-AD dual level is open: fn(op, self, others, attrs) -> True when it ran the
# in-place op itself (a dual tensor takes part), else False (autograd/forward_ad.py).
forward_ad_inplace = [None]


def call_inplace(op: OpDef, self, *others, **attrs):
    """Run `op(self, *others)` and write the result into `self` (PyTorch's `op_`)."""
    if forward_ad_inplace[0] is not None and forward_ad_inplace[0](op, self, others, attrs):
        return self
    if type(self._data) is SymbolicArray or _TRACE_STATE.__dict__.get("tracer") is not None:
        # inside gt.trace: functionalize
        return _tracer("used after the trace ended").trace_inplace(op, self, others, attrs)
    if _GRAD.enabled and self._base is not None and not self._requires_grad:
        _stale_view_requires_grad(self)
    check_inplace_allowed(self)
    needs_graph = (_GRAD.enabled and op.vjp is not None
                   and (self._requires_grad or _any_requires_grad(op, others)))
    if not needs_graph:
        if op.ufunc and _ufunc_into(op, self, others, attrs):
            bump_version(self)
            return self
        result = _run_kernel(op, (self, *others), attrs)
        if op.num_outputs != 1:
            result = result[0]
        if result.dtype != self._data.dtype:
            _check_cast(result.dtype, self._data.dtype)
        if result.shape != self._data.shape:
            _check_broadcast_into(self, result)
        _write(self._data, result, op)
        bump_version(self)
        return self
    source = self
    if 0 in op.save_inputs:  # the vjp needs the old value: save a snapshot of it
        source = _snapshot(self)
    result = call(op, source, *others, **attrs)
    if op.num_outputs != 1:
        result = result[0]
    if result._data.dtype != self._data.dtype:
        _check_cast(result._data.dtype, self._data.dtype)
    if result._data.shape != self._data.shape:
        _check_broadcast_into(self, result._data)
    _write(self._data, result._data, op)
    bump_version(self)
    node = result._grad_fn
    adopt_autograd(self, result)
    if op.save_output and type(node) is OpNode and node.saved_outputs:
        saved_output_is_self(node, self)
    return self


def saved_output_is_self(node, self) -> None:
    """An in-place op whose vjp reads its result (exp_, sigmoid_) saved the temporary it
    computed; PyTorch saves `self`, so a later write to self fails backward. Point the
    saved entry at self's version counter (the values are the same)."""
    data, ref, _ = node.saved_outputs[0]
    if ref is None:
        return  # not read by the vjp, or packed by saved_tensors_hooks
    root = self._base if self._base is not None else self
    node.saved_outputs = ((data, SavedOutputRef(root), root._vc), *node.saved_outputs[1:])


def _ufunc_into(op: OpDef, self, others, attrs) -> bool:
    """Fast in-place path: run the op's ufunc straight into `self` (no temporary, no copy)
    when the dtypes already agree and the result has self's shape; else return False."""
    dst = self._data
    if type(dst) is not _ndarray or not dst.flags.writeable:
        return False
    if not (dst.flags.c_contiguous or dst.flags.f_contiguous):
        # NumPy 2.4's in-place negative on a view with a 16-byte stride over 32-bit elements
        # (`x[:, 2].neg_()` on an (n, 4) float32) reads the wrong elements; strided views
        # take the general path (a fresh result, then a copy into the view)
        return False
    args = [dst]
    for x in others:
        if isinstance(x, Tensor):
            a = x._data
            if type(a) is not _ndarray or a.dtype != dst.dtype or a.ndim > dst.ndim:
                return False
            args.append(a)
        elif type(x) is float and dst.dtype.kind == "f" or type(x) is int and \
                dst.dtype.kind in "fc" or type(x) is bool and dst.dtype.kind != "b":
            args.append(x)
        else:
            return False
    if attrs:
        alpha = attrs.get("alpha", 1)
        if len(attrs) != 1 or alpha is not None and type(alpha) not in (int, float):
            return False
        if alpha != 1:  # add/sub with alpha: scale the other operand first
            args[1] = args[1] * alpha
    promoted = op.dtype_cache.get(dst.dtype)
    if promoted is None or promoted[0] != dst.dtype or promoted[1] != dst.dtype:
        return False  # a dtype decision this op has not cached as "same dtype"
    if dst.dtype.kind == "b" and len(args) > 1 and type(args[1]) is not bool and \
            not isinstance(args[1], np.ndarray):
        return False  # `bool_t.add_(True, alpha=2)`: the general path casts as PyTorch
    try:
        if _ERRSTATE is not None:
            token = _ERRSTATE.set(_IGNORE)
            try:
                if op.ufunc_args or dst.size < _PARALLEL_MIN:
                    getattr(np, op.ufunc)(*args, *op.ufunc_args, out=dst)
                else:
                    parallel_ufunc.apply(getattr(np, op.ufunc), args, out=dst)
            finally:
                _ERRSTATE.reset(token)
        else:
            with np.errstate(all="ignore"):
                getattr(np, op.ufunc)(*args, *op.ufunc_args, out=dst)
    except ValueError:
        return False  # shapes that don't broadcast into self: the general path explains
    return True


def _check_broadcast_into(self, result):
    if np.broadcast_shapes(result.shape, self._data.shape) != self._data.shape:
        raise RuntimeError(f"output with shape {list(self._data.shape)} doesn't match the "
                           f"broadcast shape {list(result.shape)}")


def _snapshot(tensor):
    """A copy of `tensor`'s value that keeps its place in the autograd graph."""
    snap = _wrap(tensor._data.copy())
    snap._grad_fn = tensor.grad_fn
    snap._output_nr = tensor._output_nr
    snap._requires_grad = tensor._requires_grad
    return snap


def adopt_autograd(self, result) -> None:
    """Make `self` (just overwritten with `result`'s value) carry `result`'s history.

    For a view, the base's history becomes a `copy_into_view` node (PyTorch's
    CopySlices); the view's own grad_fn is regenerated from the base on access.
    """
    if result._grad_fn is None:
        return
    root = self._base
    if root is None or self._view_ops is None:
        if self._retains_grad:
            _move_retain_hook(self._grad_fn, self._output_nr, result._grad_fn,
                              result._output_nr)
        self._grad_fn = result._grad_fn
        self._output_nr = result._output_nr
        self._requires_grad = True
        return
    old_base = _wrap(root._data)  # the base's history before the write; data is not read
    old_base._grad_fn = root.grad_fn
    old_base._output_nr = root._output_nr
    old_base._requires_grad = root._requires_grad
    node = record(views.COPY_INTO_VIEW, (old_base, result), (root,),
                  {"view_ops": self._view_ops})
    if root._retains_grad:  # a write through a view changed the base's history
        _move_retain_hook(old_base._grad_fn, old_base._output_nr, node, 0)


def _move_retain_hook(old, old_nr, node, nr) -> None:
    """retain_grad follows the tensor to its new grad_fn after an in-place op (PyTorch):
    from output `old_nr` of node `old` to output `nr` of `node`."""
    hook = old._retain_hooks.pop(old_nr, None) if old is not None and \
        old._retain_hooks else None
    if hook is not None:
        if node._retain_hooks is None:
            node._retain_hooks = {}
        node._retain_hooks[nr] = hook


def write_out(out, result):
    """Implement `out=`: write `result` into `out`, resizing it if the shape differs."""
    if not isinstance(out, Tensor):
        raise TypeError(f"out must be a Tensor, not {type(out).__name__}")
    if _GRAD.enabled and (out._requires_grad or result._requires_grad):
        raise RuntimeError("functions with out=... arguments don't support automatic "
                           "differentiation, but one of the arguments requires grad.")
    data = result._data
    if data.dtype != out._data.dtype:
        _check_cast(data.dtype, out._data.dtype)
    if data.shape == out._data.shape and _TRACE_STATE.__dict__.get("tracer") is not None:
        with grad_mode.no_grad():  # traced: an in-place write the graph replays
            return out.copy_(result)  # (spectral_norm's normalize(..., out=u) per forward)
    if data.shape != out._data.shape:
        if out._base is not None:
            raise RuntimeError("cannot resize a view passed as out=; pass a tensor of shape "
                               f"{list(data.shape)}")
        if out._data.size:
            import warnings

            warnings.warn(
                f"An output with one or more elements was resized since it had shape "
                f"{list(out._data.shape)}, which does not match the required output shape "
                f"{list(data.shape)}. This behavior is deprecated, and in a future PyTorch "
                "release outputs will not be resized unless they have zero elements. You can "
                "explicitly reuse an out tensor t by resizing it, inplace, to zero elements with "
                "t.resize_(0).", UserWarning, stacklevel=3)
        out._data = data.astype(out._data.dtype, copy=True)
    else:
        _write(out._data, data)
    bump_version(out)
    return out


# The view ops' module runs its vjps through this one: imported last, used as a module.
from . import views  # noqa: E402


if _ERRSTATE is not None:
    NATIVE = dispatch_native.start(_bind_native)
