"""Tensor creation: `gt.tensor`, `zeros`, `arange`, random tensors, `*_like`, legacy types.

Random tensors draw from `graphtorch.random`, whose streams equal PyTorch's CPU generator,
so seeded code prints the same numbers as PyTorch. `layout`, `pin_memory` and
`memory_format` are accepted as PyTorch spells them and ignored: graphtorch tensors are
always dense and strided, and there is no pinned host memory to ask for.
"""

from __future__ import annotations

import builtins
import functools
import math
import numbers

import numpy as np

from .. import dtypes
from ..autograd import grad_mode
from ..device import factory_device, host_array
from ..dtypes import scalar_type_name
from ..meta import MetaArray
from ..layout import check_memory_format, dim_order, inverse, preserve_format, preserved_order
from ..ops.dispatch import bump_version, call, check_inplace_allowed, write_out
from ..ops.factories import filled, zeros_for_meta  # noqa: F401  (autograd's zeros)
from ..ops.factories import from_array as _finish
from ..ops.factories import np_dtype as _np_dtype
from ..ops.random_ops import BERNOULLI, RANDOM_DRAW, draw
from ..random import generator_or_default
from ..symbolic import SymInt
from ..tensor import Size, Tensor
from ..trace_state import current_tracer

__all__ = ["tensor", "as_tensor", "asarray", "from_numpy", "zeros", "ones", "empty", "full",
           "eye", "arange", "linspace", "logspace", "rand", "randn", "randint", "randperm",
           "normal", "zeros_like", "ones_like", "empty_like", "full_like", "rand_like",
           "randn_like", "randint_like", "scalar_tensor", "bernoulli", "FloatTensor",
           "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor", "ShortTensor", "CharTensor",
           "ByteTensor", "BoolTensor", "complex", "polar"]


def _shape(size) -> tuple:
    """PyTorch's size arguments: f(2, 3), f((2, 3)), f([2, 3]), f(gt.Size(...))."""
    if len(size) == 1 and isinstance(size[0], (tuple, list, Size)):
        size = tuple(size[0])
    out = []
    for s in size:
        if isinstance(s, Tensor):
            s = s.item()
        if type(s) is SymInt:  # a symbolic size inside gt.compile(dynamic=True)
            out.append(s)
            continue
        if not isinstance(s, numbers.Integral) or isinstance(s, bool):
            raise TypeError(f"expected a sequence of integers as size, but got "
                            f"{type(s).__name__}")
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: "
                               f"{list(size)}")
        out.append(int(s))
    return tuple(out)


_PY_SCALARS = (bool, int, float, builtins.complex)  # `complex` is redefined below


def _python_scalar_dtype(kinds) -> dtypes.DType:
    """Promotion of Python scalar types alone: bool < int64 < default float < complex."""
    if builtins.complex in kinds:
        return dtypes.get_default_dtype().to_complex()
    if float in kinds:
        return dtypes.get_default_dtype()
    if int in kinds:
        return dtypes.int64
    return dtypes.bool_


def _infer_dtype(data) -> dtypes.DType | None:
    """PyTorch's dtype for nested data: each leaf's own dtype (Python float -> default
    float, numpy scalars and tensors keep theirs), combined with `promote_types`.
    None for data without leaves (an empty list)."""
    kind = type(data)
    if kind in _PY_SCALARS:
        return _python_scalar_dtype((kind,))
    if isinstance(data, Tensor):
        return data.dtype
    if isinstance(data, (np.ndarray, np.generic)):
        return dtypes.from_numpy_dtype(data.dtype)
    if isinstance(data, str):
        raise TypeError(f"new(): invalid data type '{type(data).__name__}'")
    if isinstance(data, (list, tuple, range)):
        kinds = {type(x) for x in data}
        if kinds and kinds.issubset(_PY_SCALARS):  # fast path: a flat list of numbers
            return _python_scalar_dtype(kinds)
        acc = None
        for item in data:
            d = _infer_dtype(item)
            if d is not None:
                acc = d if acc is None else dtypes.promote_types(acc, d)
        return acc
    if isinstance(data, numbers.Number):  # other number types (Fraction, Decimal, ...)
        return _python_scalar_dtype((builtins.complex if isinstance(data, numbers.Complex) and
                                     not isinstance(data, numbers.Real) else
                                     int if isinstance(data, numbers.Integral) else float,))
    raise RuntimeError(f"Could not infer dtype of {type(data).__name__}")


def _ragged_message(data) -> str:
    """PyTorch's message for nested sequences of unequal lengths."""
    level, dim = [data], 0
    while level:
        seqs = [x for x in level if isinstance(x, (list, tuple, np.ndarray, Tensor))]
        if not seqs:
            break
        expected = len(seqs[0])
        for x in level:
            got = len(x) if isinstance(x, (list, tuple, np.ndarray, Tensor)) else None
            if got != expected:
                if got is None:
                    return f"expected sequence of length {expected} at dim {dim} (got " \
                           f"{type(x).__name__})"
                return f"expected sequence of length {expected} at dim {dim} (got {got})"
        level = [y for x in seqs for y in x]
        dim += 1
    return "expected sequences of equal lengths"


def _to_numpy_nested(data):
    if isinstance(data, Tensor):
        return host_array(data._data)
    if isinstance(data, (list, tuple)):
        return [_to_numpy_nested(d) for d in data]
    return data


def tensor(data, *, dtype=None, device=None, requires_grad=False, pin_memory=False) -> Tensor:
    """A new tensor holding a copy of `data` (nested lists, numbers, arrays or tensors).

    >>> gt.tensor([[1, 2], [3, 4]]).dtype
    torch.int64
    """
    if isinstance(data, Tensor):
        import warnings

        warnings.warn("To copy construct from a tensor, it is recommended to use "
                      "sourceTensor.detach().clone() or sourceTensor.detach().clone()"
                      ".requires_grad_(True), rather than torch.tensor(sourceTensor).",
                      UserWarning, stacklevel=2)
        array = host_array(data._data).copy()
    elif isinstance(data, np.ndarray):
        dtypes.from_numpy_dtype(data.dtype)
        array = data.copy()
    else:
        inferred = _infer_dtype(data)  # raises PyTorch's errors for unsupported data
        target = _np_dtype(dtype, fname="tensor") if dtype is not None else \
            (inferred or dtypes.get_default_dtype()).np_dtype
        try:
            array = np.array(_to_numpy_nested(data), dtype=target)
        except ValueError as exc:
            if "inhomogeneous" in str(exc) or "sequence" in str(exc):
                raise ValueError(_ragged_message(data)) from None
            raise
        except OverflowError:
            raise ValueError("Overflow when unpacking long long") from None
    if dtype is not None:
        array = array.astype(_np_dtype(dtype, fname="tensor"), copy=False)
    return _finish(array, device, requires_grad)


def scalar_tensor(s, *, dtype=None, device=None, requires_grad=False, layout=None,
                  pin_memory=False) -> Tensor:
    return tensor(s, dtype=dtype or dtypes.get_default_dtype(), device=device,
                  requires_grad=requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like `tensor`, but shares memory with a tensor or NumPy array when it can."""
    if isinstance(data, Tensor):
        out = data if dtype is None else data.to(dtype)
        return out if device is None else out.to(device)
    if isinstance(data, np.ndarray) and (dtype is None or dtypes.as_dtype(dtype).np_dtype ==
                                         data.dtype) and factory_device(device).type == "cpu":
        return from_numpy(data)
    return tensor(data, dtype=dtype, device=device)


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=False) -> Tensor:
    """`torch.asarray`: share memory with a tensor or NumPy array where dtype and device
    allow (always with ``copy=False``, which raises ValueError if a copy is needed; never
    with ``copy=True``); `requires_grad` is set on the result.

    >>> a = np.ones(2, dtype=np.float32)
    >>> gt.asarray(a, copy=False).data_ptr() == a.ctypes.data
    True
    """
    if copy is False:
        _check_aliasable(obj, dtype)
    if copy and isinstance(obj, Tensor):
        out = obj.detach().clone()
        out = out if dtype is None else out.to(dtype)
        out = out if device is None else out.to(device)
    elif copy:
        out = tensor(obj, dtype=dtype, device=device)
    else:
        out = as_tensor(obj, dtype=dtype, device=device)
    if requires_grad:
        out.requires_grad_(True)
    return out


def _check_aliasable(obj, dtype) -> None:
    if not isinstance(obj, (Tensor, np.ndarray)):
        raise ValueError("can't alias arbitrary sequence into a tensor.")
    source = obj.dtype if isinstance(obj, Tensor) else dtypes.from_numpy_dtype(obj.dtype)
    if dtype is not None and dtypes.dtype_argument(dtype, "asarray") is not source:
        raise ValueError(f"can't alias tensor with dtype '{scalar_type_name(source)}' into dtype "
                         f"'{scalar_type_name(dtypes.as_dtype(dtype))}'.")


def from_numpy(ndarray: np.ndarray) -> Tensor:
    """A tensor sharing memory with a NumPy array: changes to one show in the other."""
    array = ndarray
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    dtypes.from_numpy_dtype(array.dtype)
    if any(s < 0 for s in array.strides):
        raise ValueError("At least one stride in the given numpy array is negative, and tensors "
                         "with negative strides are not currently supported. (You can probably "
                         "work around this by making a copy of your array  with array.copy().) ")
    tracer = current_tracer()
    return Tensor._wrap(array) if tracer is None else tracer.constant(array)


def _filled(size, value, dtype, device, requires_grad, default=None, fname=""):
    return filled(_shape(size), value, _np_dtype(dtype, default, fname), device, requires_grad)


def zeros(*args, size=None, out=None, dtype=None, device=None, requires_grad=False,
          layout=None, pin_memory=False) -> Tensor:
    """A tensor of zeros: ``gt.zeros(2, 3)`` or ``gt.zeros((2, 3), dtype=gt.int64)``."""
    return _with_out(_filled(_size_args(args, size), 0, dtype, device, requires_grad,
                             fname="zeros"), out)


def ones(*args, size=None, out=None, dtype=None, device=None, requires_grad=False,
         layout=None, pin_memory=False) -> Tensor:
    """A tensor of ones."""
    return _with_out(_filled(_size_args(args, size), 1, dtype, device, requires_grad,
                             fname="ones"), out)


def empty(*args, size=None, out=None, dtype=None, device=None, requires_grad=False, layout=None,
          memory_format=None, pin_memory=False) -> Tensor:
    """An 'uninitialised' tensor (graphtorch fills it with zeros: never garbage), laid out
    in `memory_format` (``gt.channels_last``: NHWC in memory)."""
    args = _size_args(args, size)
    order = None
    if memory_format is not None:
        fmt = check_memory_format(memory_format, "empty")
        if fmt is preserve_format:
            raise RuntimeError("preserve memory format is unsupported by the empty operator")
        order = dim_order(fmt, len(_shape(args)))
    if order is None:
        return _with_out(_filled(args, 0, dtype, device, requires_grad, fname="empty"), out)
    shape = _shape(args)
    made = _filled((tuple(shape[d] for d in order),), 0, dtype, device, False, fname="empty")
    made = made.permute(inverse(order))
    return _with_out(made.detach().requires_grad_() if requires_grad else made, out)


def _size_args(args, size) -> tuple:
    """Sizes given positionally (``zeros(2, 3)``) or as the keyword ``size=(2, 3)``."""
    if size is None:
        return args
    if args:
        raise TypeError("got multiple values for argument 'size'")
    return (size,)


def _with_out(result, out):
    if out is None:
        return result

    return write_out(out, result)


def full(size, fill_value, *, out=None, dtype=None, device=None, requires_grad=False,
         layout=None, pin_memory=False) -> Tensor:
    """A tensor filled with `fill_value` (dtype inferred from it: bool, int64, float)."""
    if dtype is None:
        dtype = dtypes.scalar_dtype(fill_value) if not isinstance(fill_value, Tensor) else \
            fill_value.dtype
        if isinstance(fill_value, float):
            dtype = dtypes.get_default_dtype()
    shape = (size,) if isinstance(size, int) else tuple(size)
    return _with_out(_filled((shape,), fill_value, dtype, device, requires_grad, fname="full"),
                     out)


def eye(n, m=None, *, out=None, dtype=None, device=None, requires_grad=False, layout=None,
        pin_memory=False) -> Tensor:
    """The identity matrix (n x m)."""
    if n < 0 or (m is not None and m < 0):
        raise RuntimeError(f"n must be greater or equal to 0, got {n}")
    array = np.eye(n, m, dtype=_np_dtype(dtype, fname="eye"))
    return _with_out(_finish(array, device, requires_grad), out)


def arange(start=0, end=None, step=1, *, out=None, dtype=None, device=None,
           requires_grad=False, layout=None, pin_memory=False) -> Tensor:
    """Values from start (inclusive) to end (exclusive) by step."""
    if end is None:
        start, end = 0, start
    values = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    start, end, step = values
    if SymInt in (type(start), type(end)) and {type(start), type(end)} <= {int, SymInt} and \
            type(step) is int and step and (dtype is None or _np_dtype(dtype).kind in "iuf"):
        return _with_out(_symbolic_arange(start, end, step, dtype, device, requires_grad),
                         out)
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and larger bound inconsistent with step sign")
    if dtype is None:
        dtype = dtypes.get_default_dtype() if any(isinstance(v, float) for v in values) \
            else dtypes.int64
    n = max(0, math.ceil((end - start) / step))
    np_dtype = _np_dtype(dtype)
    if np_dtype.kind in "iu":
        array = (start + np.arange(n, dtype=np.int64) * step).astype(np_dtype)
    else:
        array = (start + np.arange(n, dtype=np.float64) * step).astype(np_dtype)
    return _with_out(_finish(array, device, requires_grad), out)


def _symbolic_arange(start, end, step: int, dtype, device, requires_grad):
    """`arange` to a dynamic size (`x.shape[0]` under ``dynamic=True``), as graph ops: a
    cumulative sum of ones counts 1..n, so the length stays symbolic (integer start and step:
    the values are integers, exact in int64 and cast once as eager's are)."""
    if (end - start) * step < 0:  # a guard on the sizes, as any branch on them
        raise RuntimeError("upper bound and larger bound inconsistent with step sign")
    # ceil((end - start) / step), written plainly for unit steps (simpler guards)
    from_zero = type(start) is int and start == 0  # no guard: start is a plain int
    n = (end if from_zero else end - start) if step == 1 else start - end \
        if step == -1 else -((start - end) // step)
    index = ones(n, dtype=dtypes.int64, device=device).cumsum(0) - 1
    values = index * step if step != 1 else index
    values = values if from_zero else values + start
    if dtype is not None and dtype is not dtypes.int64:
        values = values.to(dtype)
    return values.requires_grad_() if requires_grad else values


def linspace(start, end, steps, *, out=None, dtype=None, device=None,
             requires_grad=False, layout=None, pin_memory=False) -> Tensor:
    """`steps` evenly spaced values from start to end, both included (PyTorch's formula:
    the first half counts up from start, the second half down from end)."""
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    np_dtype = _np_dtype(dtype)
    if steps == 1:
        array = np.array([start], dtype=np.float64)
    elif np_dtype == np.float32 and steps > 1:
        array = _linspace_float32(start, end, steps)
    elif np_dtype == np.float64 and steps > 1:
        array = _linspace_float64(start, end, steps)
    else:
        step = (end - start) / (steps - 1) if steps > 1 else 0.0
        i = np.arange(steps, dtype=np.float64)
        half = steps // 2
        array = np.where(i < half, start + step * i, end - step * (steps - 1 - i))
    return _with_out(_finish(array.astype(np_dtype), device, requires_grad), out)


def _linspace_float32(start, end, steps: int):
    """PyTorch's float32 values bit for bit: the step in float32, each value one fused
    multiply-add (`start + step * i` rounded once; float64 holds the product exactly).
    The spatial-transformer tutorial's grid sits on pixel centres, where 1 ulp picks the
    other bilinear neighbour."""
    first, last = np.float32(start), np.float32(end)
    step = np.float64((last - first) / np.float32(steps - 1))
    i = np.arange(steps)
    up = np.float64(first) + step * i
    down = np.float64(last) - step * (steps - 1 - i)
    return np.where(i < steps // 2, up, down).astype(np.float32)


def _linspace_float64(start, end, steps: int):
    """PyTorch's float64 values bit for bit: each one fused multiply-add, emulated exactly
    (Dekker's product and Knuth's sum: float64 has no wider type to round through)."""
    first, last = np.float64(start), np.float64(end)
    step = (last - first) / np.float64(steps - 1)
    i = np.arange(steps, dtype=np.float64)
    up = _fused_multiply_add(np.full(steps, step), i, first)
    down = _fused_multiply_add(np.full(steps, -step), steps - 1 - i, last)
    return np.where(i < steps // 2, up, down)


def _fused_multiply_add(a, b, c):
    """a * b + c rounded once (arrays of float64; no overflow): the exact product as
    hi + lo (Veltkamp splitting), then c + hi + lo with the sum's rounding error kept."""
    def split(x):
        scaled = 134217729.0 * x  # 2**27 + 1
        high = scaled - (scaled - x)
        return high, x - high

    product = a * b
    (a_hi, a_lo), (b_hi, b_lo) = split(a), split(b)
    product_error = ((a_hi * b_hi - product) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo
    total = c + product
    back = total - c
    sum_error = (c - (total - back)) + (product - back)
    return total + (sum_error + product_error)


def logspace(start, end, steps, base=10.0, *, out=None, dtype=None, device=None,
             requires_grad=False, layout=None, pin_memory=False) -> Tensor:
    """base ** linspace(start, end, steps)."""
    exps = linspace(start, end, steps, dtype=dtypes.float64)._data
    return _with_out(_finish((base ** exps).astype(_np_dtype(dtype)), device, requires_grad),
                     out)


# --- random ------------------------------------------------------------------------------

def _float_dtype_for_random(dtype, name):
    np_dtype = _np_dtype(dtype)
    if not dtypes.is_inexact_array(np_dtype):
        raise RuntimeError(f'"{name}" not implemented for \'{dtypes.from_numpy_dtype(np_dtype)}\'')
    return np_dtype


def _drawn(generator, method: str, args: tuple, shape: tuple, np_dtype, device=None,
           requires_grad=False) -> Tensor:
    """`method` of the generator with `args`, shaped and cast: computed now in eager code,
    or a `random_draw` graph node inside a trace (drawn at every run, in trace order)."""
    if factory_device(device).type == "meta":  # nothing drawn, as PyTorch
        return _finish(MetaArray(shape, np_dtype), device, requires_grad)
    if current_tracer() is None:
        values = draw(generator, method, args, np_dtype)
        return _finish(values.reshape(shape).astype(np_dtype, copy=False), device,
                       requires_grad)

    t = call(RANDOM_DRAW, method=method, args=tuple(args), shape=tuple(shape),
             dtype=dtypes.from_numpy_dtype(np.dtype(np_dtype)), generator=generator)
    return t.requires_grad_() if requires_grad else t


def rand(*args, size=None, generator=None, out=None, dtype=None, device=None,
         requires_grad=False, layout=None, pin_memory=False) -> Tensor:
    """Uniform [0, 1) samples (the same stream as PyTorch's CPU generator)."""
    shape = _shape(_size_args(args, size))
    np_dtype = _float_dtype_for_random(dtype, "check_uniform_bounds")
    n = int(np.prod(shape))
    return _with_out(_drawn(generator, "uniform", (n, 0.0, 1.0), shape, np_dtype,
                            device, requires_grad), out)


def randn(*args, size=None, generator=None, out=None, dtype=None, device=None,
          requires_grad=False, layout=None, pin_memory=False) -> Tensor:
    """Standard normal samples (the same stream as PyTorch's CPU generator)."""
    shape = _shape(_size_args(args, size))
    np_dtype = _float_dtype_for_random(dtype, "normal_kernel_cpu")
    n = int(np.prod(shape))
    return _with_out(_drawn(generator, "normal", (n, 0.0, 1.0), shape, np_dtype,
                            device, requires_grad), out)


def randint(low=0, high=None, size=None, *, generator=None, out=None, dtype=None, device=None,
            requires_grad=False, layout=None, pin_memory=False) -> Tensor:
    """Uniform integers in [low, high): ``randint(10, (3,))``, ``randint(10, size=(3,))``
    or ``randint(2, 10, (3,))``."""
    if size is None:  # randint(high, size)
        low, high, size = 0, low, high
    elif high is None:  # randint(high, size=size)
        low, high = 0, low
    if high is None or size is None:
        raise TypeError("randint() received an invalid combination of arguments - expected "
                        "(int high, tuple of ints size) or (int low, int high, tuple of ints "
                        "size)")
    shape = _shape((size,))
    n = int(np.prod(shape))
    return _with_out(_drawn(generator, "integers", (n, int(low), int(high)), shape,
                            _np_dtype(dtype, dtypes.int64), device, requires_grad), out)


def randperm(n, *, generator=None, out=None, dtype=None, device=None,
             requires_grad=False, layout=None, pin_memory=False) -> Tensor:
    """A random permutation of 0..n-1."""
    return _with_out(_drawn(generator, "permutation", (int(n),), (int(n),),
                            _np_dtype(dtype, dtypes.int64), device, requires_grad), out)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, out=None, dtype=None,
           device=None, requires_grad=False, layout=None, pin_memory=False) -> Tensor:
    """Normal samples; mean/std may be tensors (then the shape is theirs)."""
    _check_std(std)
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        ref = mean if isinstance(mean, Tensor) else std
        shape = np.broadcast_shapes(*(t.shape for t in (mean, std) if isinstance(t, Tensor)))
        n = int(np.prod(shape))
        if current_tracer() is not None:
            unit = _drawn(generator, "normal", (n, 0.0, 1.0), shape,
                          ref._data.dtype)
            return _with_out((unit * std + mean).to(ref.dtype), out)
        unit = generator_or_default(generator).normal(n, 0.0, 1.0, ref._data.dtype)
        unit = unit.reshape(shape)
        m = mean._data if isinstance(mean, Tensor) else mean
        s = std._data if isinstance(std, Tensor) else std
        array = np.asarray(unit * s + m).astype(ref._data.dtype)  # 0-d stays an array
        return _with_out(_finish(array, ref.device), out)
    if size is None:
        raise TypeError("normal() needs `size` when mean and std are numbers")
    shape = _shape((size,))
    n = int(np.prod(shape))
    np_dtype = _float_dtype_for_random(dtype, "normal_kernel_cpu")
    return _with_out(_drawn(generator, "normal", (n, float(mean), float(std)), shape,
                            np_dtype, device, requires_grad), out)


def _check_std(std) -> None:
    """PyTorch's RuntimeError for a negative (or NaN) standard deviation."""
    if isinstance(std, Tensor):
        if getattr(std._data, "known", 0) is None:
            return  # a graph value inside a trace: its values are unknown until it runs
        if not bool(np.all(host_array(std._data) >= 0)):
            raise RuntimeError("normal expects all elements of std >= 0.0")
    elif not std >= 0.0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {float(std):g}")


def _bernoulli_draw(p, shape, dtype, generator, check: bool) -> Tensor:
    """Bernoulli(p) draws of `shape`: a `bernoulli` op for a probability tensor (a graph node
    inside compiled code), a `random_draw` for a number."""
    np_dtype = np.dtype(dtype.np_dtype) if isinstance(dtype, dtypes.DType) else np.dtype(dtype)
    if isinstance(p, Tensor):
        return call(BERNOULLI, p, shape=tuple(shape), dtype=dtypes.from_numpy_dtype(np_dtype),
                    generator=generator, check=check)
    return _drawn(generator, "bernoulli", (float(p), tuple(shape), np_dtype), tuple(shape),
                  np_dtype)


def bernoulli(input, p=None, *, generator=None, out=None) -> Tensor:
    """0/1 samples with probability `input` (or the scalar p)."""
    drawn = _bernoulli_draw(input if p is None else p, input.shape, input._data.dtype,
                            generator, check=p is None)
    if not isinstance(p, Tensor) and p is not None and input.is_cuda:
        drawn = drawn.to(input.device)
    return _with_out(drawn, out)


# --- *_like ------------------------------------------------------------------------------

def _like(input, dtype, device):
    return (dtype if dtype is not None else input.dtype,
            device if device is not None else input.device)


def _like_order(input, memory_format, what: str):
    """The dim order a ``*_like`` result lies in: `input`'s own (`preserve_format`, the
    default), channels-last's, or None for row-major."""
    fmt = preserve_format if memory_format is None else check_memory_format(memory_format,
                                                                           what)
    if fmt is preserve_format:
        return preserved_order(input.shape, input.stride()) if input.ndim > 1 else None
    return dim_order(fmt, input.ndim)


def _laid_out(input, memory_format, what, make, requires_grad):
    """``make(shape, requires_grad)`` with `input`'s sizes in the memory order of
    `_like_order`: made in that order, then permuted back (values fill memory in order, as
    PyTorch's random ``*_like`` fill it)."""
    order = _like_order(input, memory_format, what)
    shape = tuple(input.shape)
    if order is None:
        return make(shape, requires_grad)
    out = make(tuple(shape[d] for d in order), False).permute(inverse(order))
    return out.detach().requires_grad_() if requires_grad else out


def zeros_like(input, *, dtype=None, device=None, requires_grad=False, layout=None,
               memory_format=None, pin_memory=False) -> Tensor:
    dtype, device = _like(input, dtype, device)
    return _laid_out(input, memory_format, "zeros_like", lambda shape, rg: zeros(
        shape, dtype=dtype, device=device, requires_grad=rg), requires_grad)


def ones_like(input, *, dtype=None, device=None, requires_grad=False, layout=None,
              memory_format=None, pin_memory=False) -> Tensor:
    dtype, device = _like(input, dtype, device)
    return _laid_out(input, memory_format, "ones_like", lambda shape, rg: ones(
        shape, dtype=dtype, device=device, requires_grad=rg), requires_grad)


def empty_like(input, *, dtype=None, device=None, requires_grad=False, layout=None,
               memory_format=None, pin_memory=False) -> Tensor:
    dtype, device = _like(input, dtype, device)
    return _laid_out(input, memory_format, "empty_like", lambda shape, rg: empty(
        shape, dtype=dtype, device=device, requires_grad=rg), requires_grad)


def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False,
              layout=None, memory_format=None, pin_memory=False) -> Tensor:
    dtype, device = _like(input, dtype, device)
    return _laid_out(input, memory_format, "full_like", lambda shape, rg: full(
        shape, fill_value, dtype=dtype, device=device, requires_grad=rg), requires_grad)


def rand_like(input, *, dtype=None, device=None, requires_grad=False, generator=None,
              layout=None, memory_format=None, pin_memory=False) -> Tensor:
    dtype, device = _like(input, dtype, device)
    return _laid_out(input, memory_format, "rand_like", lambda shape, rg: rand(
        shape, dtype=dtype, device=device, requires_grad=rg, generator=generator),
        requires_grad)


def randn_like(input, *, dtype=None, device=None, requires_grad=False, generator=None,
               layout=None, memory_format=None, pin_memory=False) -> Tensor:
    dtype, device = _like(input, dtype, device)
    return _laid_out(input, memory_format, "randn_like", lambda shape, rg: randn(
        shape, dtype=dtype, device=device, requires_grad=rg, generator=generator),
        requires_grad)


def randint_like(input, low=0, high=None, *, dtype=None, device=None, requires_grad=False,
                 generator=None, layout=None, memory_format=None,
                 pin_memory=False) -> Tensor:
    dtype, device = _like(input, dtype, device)
    if high is None:  # randint_like(x, high)
        low, high = 0, low
    return _laid_out(input, memory_format, "randint_like", lambda shape, rg: randint(
        low, high, shape, dtype=dtype, device=device, generator=generator), False)


def complex(real, imag, *, out=None) -> Tensor:
    """real + 1j * imag."""
    _check_complex_parts(real, imag)
    return _with_out(real + imag * 1j, out)


def polar(abs, angle, *, out=None) -> Tensor:
    """abs * (cos(angle) + 1j sin(angle))."""
    _check_complex_parts(abs, angle)
    return _with_out(abs * angle.cos() + abs * angle.sin() * 1j, out)


def _check_complex_parts(a, b) -> None:
    """PyTorch's error for parts of a type no complex type pairs with (bfloat16, integers)."""
    halves = (dtypes.float16, dtypes.float32, dtypes.float64)
    if isinstance(a, Tensor) and isinstance(b, Tensor) and (
            a.dtype not in halves or b.dtype not in halves):
        raise RuntimeError(f"Expected both inputs to be Half, Float or Double tensors but got "
                           f"{dtypes.scalar_type_name(a.dtype)} and "
                           f"{dtypes.scalar_type_name(b.dtype)}")


# --- Tensor.new_* and in-place random fills ------------------------------------------------

def new_factory(fn):
    """`Tensor.new_zeros`-style method: `fn` with self's dtype and device as defaults."""
    def method(self, *args, dtype=None, device=None, requires_grad=False, **kw):
        return fn(*args, dtype=dtype or self.dtype, device=device or self.device,
                  requires_grad=requires_grad, **kw)
    return method


def _new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False,
              layout=None, pin_memory=False):
    return full(size, fill_value, dtype=dtype or self.dtype, device=device or self.device,
                requires_grad=requires_grad)


def _new_tensor(self, data, *, dtype=None, device=None, requires_grad=False, layout=None,
                pin_memory=False):
    return tensor(data, dtype=dtype or self.dtype, device=device or self.device,
                  requires_grad=requires_grad)



def _no_draw_on_meta(fill):
    """A random in-place fill that leaves a meta tensor alone without drawing, as PyTorch's
    (so building a model on the meta device does not move the seeded stream)."""
    @functools.wraps(fill)
    def checked(self, *args, **kwargs):
        if type(self._data) is MetaArray:
            check_inplace_allowed(self)
            return self
        return fill(self, *args, **kwargs)
    return checked


def _fill_inplace(self, array):
    check_inplace_allowed(self)
    self._data[...] = array.reshape(self._data.shape) if array.size else array
    bump_version(self)
    return self


def _fill_traced(self, values: Tensor):
    """A random fill inside a trace: the drawn tensor written in place (not recorded by
    autograd, as eager's raw write)."""
    with grad_mode.no_grad():
        return self.copy_(values.reshape(self.shape))


@_no_draw_on_meta
def uniform_(self, from_=0.0, to=1.0, *, generator=None, **kwargs):
    """Fill with U[from, to) samples (PyTorch's keyword `from`, a Python keyword, arrives in
    ``**kwargs``: ``t.uniform_(**{"from": -1, "to": 1})``)."""
    if kwargs:
        from_ = _keyword_from(kwargs, from_, "uniform_")
    if current_tracer() is not None:
        return _fill_traced(self, _drawn(generator, "uniform", (self.numel(), from_, to),
                                         (self.numel(),), self._data.dtype))
    values = draw(generator, "uniform", (self.numel(), from_, to), self._data.dtype)
    return _fill_inplace(self, values)


@_no_draw_on_meta
def normal_(self, mean=0.0, std=1.0, *, generator=None):
    """Fill with N(mean, std^2) samples."""
    _check_std(std)
    if current_tracer() is not None:
        return _fill_traced(self, _drawn(generator, "normal", (self.numel(), mean, std),
                                         (self.numel(),), self._data.dtype))
    values = draw(generator, "normal", (self.numel(), mean, std), self._data.dtype)
    return _fill_inplace(self, values)


def _keyword_from(kwargs: dict, default, fname: str):
    """PyTorch's `from=` keyword (a Python keyword, so only reachable through **kwargs)."""
    unknown = sorted(set(kwargs) - {"from"})
    if unknown:
        raise TypeError(f"{fname}() got an unexpected keyword argument '{unknown[0]}'")
    return kwargs.get("from", default)


@_no_draw_on_meta
def random_(self, *args, generator=None, **kwargs):
    """Fill with integers: ``random_(from, to)``, ``random_(to)`` or ``random_()`` (then
    [0, 2**mantissa] for floats, [0, max] for integers), as PyTorch draws them."""
    from_, to = 0, kwargs.pop("to", None)
    if "from_" in kwargs or "from" in kwargs:
        from_ = kwargs.pop("from_", kwargs.pop("from", 0))
    if kwargs:
        raise TypeError(f"random_() got unexpected keyword arguments {sorted(kwargs)}")
    if len(args) == 1:
        to = args[0]
    elif len(args) == 2:
        from_, to = args
    elif args:
        raise TypeError("random_() takes at most 2 positional arguments")
    if to is None:
        bits = {np.dtype(np.float32): 24, np.dtype(np.float64): 53,
                np.dtype(np.float16): 11}.get(self._data.dtype)
        if bits is not None:
            to = 2 ** bits + 1  # PyTorch draws modulo 2**digits + 1
        elif self._data.dtype == bool:
            to = 2
        else:
            to = int(np.iinfo(self._data.dtype).max) + 1
    if current_tracer() is not None:
        return _fill_traced(self, _drawn(generator, "integers", (self.numel(), from_, to),
                                         (self.numel(),), self._data.dtype))
    values = generator_or_default(generator).integers(self.numel(), from_, to)
    return _fill_inplace(self, values.astype(self._data.dtype))


@_no_draw_on_meta
def bernoulli_(self, p=0.5, *, generator=None):
    """Fill with 0/1 samples with probability p."""
    drawn = _bernoulli_draw(p, self.shape, self._data.dtype, generator, check=False)
    if current_tracer() is not None:
        return _fill_traced(self, drawn)
    return _fill_inplace(self, drawn._data)


@_no_draw_on_meta
def exponential_(self, lambd=1.0, *, generator=None):
    """Fill with Exp(lambd) samples (PyTorch's CPU stream: one 53-bit uniform each)."""
    if current_tracer() is not None:
        drawn = _drawn(generator, "exponential", (self.numel(), lambd), (self.numel(),),
                       np.float64)
        return _fill_traced(self, drawn.to(self.dtype))
    values = generator_or_default(generator).exponential(self.numel(), lambd)
    return _fill_inplace(self, values.astype(self._data.dtype))


def bernoulli_method(self, p=None, *, generator=None):
    """`self.bernoulli(p)`: 0/1 draws with probability `p` (or self's values)."""
    return bernoulli(self, p, generator=generator)


# --- legacy constructors -------------------------------------------------------------------

def tensor_new(cls, *args, device=None, dtype=None):
    """`Tensor.__new__`: the legacy constructors ``gt.Tensor(2, 3)`` and ``gt.Tensor([1, 2])``
    (float32, or the dtype of a legacy type such as ``gt.LongTensor``)."""
    return legacy_new(cls, args, device=device, dtype=dtype or cls._legacy_dtype)


def legacy_new(cls, args, device=None, dtype=None) -> Tensor:
    """`gt.Tensor(2, 3)` (zeros of that shape), `gt.Tensor([1, 2])` (data), `gt.Tensor()`."""
    dtype = dtype or dtypes.get_default_dtype()
    if not args:
        return zeros(0, dtype=dtype, device=device)
    if len(args) == 1 and isinstance(args[0], Tensor):
        return args[0] if args[0].dtype is dtype else args[0].to(dtype)
    if all(isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in args) or (
            len(args) == 1 and isinstance(args[0], Size)):
        return zeros(*args, dtype=dtype, device=device)
    if len(args) == 1:
        return tensor(args[0], dtype=dtype, device=device)
    raise TypeError(f"new(): invalid arguments {args!r}")


class _LegacyTypeMeta(type):
    """`isinstance(t, gt.FloatTensor)` checks the dtype, as in PyTorch."""

    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj.dtype is cls._legacy_dtype

    def __repr__(cls):
        return f"<class 'torch.{cls.__name__}'>"


def _legacy_class(name, dtype):
    def new(cls, *args, device=None):
        return legacy_new(cls, args, device=device, dtype=dtype)

    return _LegacyTypeMeta(name, (Tensor,), {"__new__": new, "_legacy_dtype": dtype,
                                            "__doc__": f"Legacy constructor of {dtype} tensors."})


FloatTensor = _legacy_class("FloatTensor", dtypes.float32)
DoubleTensor = _legacy_class("DoubleTensor", dtypes.float64)
HalfTensor = _legacy_class("HalfTensor", dtypes.float16)
LongTensor = _legacy_class("LongTensor", dtypes.int64)
IntTensor = _legacy_class("IntTensor", dtypes.int32)
ShortTensor = _legacy_class("ShortTensor", dtypes.int16)
CharTensor = _legacy_class("CharTensor", dtypes.int8)
ByteTensor = _legacy_class("ByteTensor", dtypes.uint8)
BoolTensor = _legacy_class("BoolTensor", dtypes.bool_)
