"""Builders for the public wrappers of registry ops (`gt.exp`, `Tensor.exp_`, `out=`).

Every public function and Tensor method goes through `dispatch.call` with an OpDef; these
builders only parse PyTorch's arguments.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..ops.dispatch import call, call_inplace, write_out
from ..symbolic import SymInt
from ..tensor import Tensor
from .creation import tensor

SCALAR_TYPES = (bool, int, float, complex)


def as_operand(x):
    """A Tensor or Python scalar operand; other array-likes become tensors."""
    if isinstance(x, Tensor) or type(x) in SCALAR_TYPES or type(x) is SymInt:
        return x  # a SymInt: a symbolic size inside gt.compile(dynamic=True)
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, numbers.Number):
        return complex(x) if isinstance(x, numbers.Complex) and not isinstance(
            x, numbers.Real) else float(x) if not isinstance(x, numbers.Integral) else int(x)

    return tensor(x)


def int_scalar_for(np_dtype, value):
    """A Python int as PyTorch converts it to an integer tensor's dtype (a bound, a value
    written): in range it stays; a negative value for an unsigned dtype wraps
    (``uint8_tensor.clamp(-1, 1)`` clamps to [255, 1], ``x[mask] = -1`` writes 255); any
    other value out of range raises PyTorch's RuntimeError (NumPy would raise OverflowError).
    Other values and dtypes pass through."""
    if type(value) is not int or np_dtype.kind not in "iu":
        return value
    info = np.iinfo(np_dtype)
    if info.min <= value <= info.max:
        return value
    if np_dtype.kind == "u" and -info.max <= value < 0:
        return value + info.max + 1
    raise RuntimeError(f"value cannot be converted to type {np_dtype.name}_t without overflow")


def check_tensor(x, fname: str, arg: str = "input", position: int = 1):
    """PyTorch's TypeError for a non-tensor argument where a Tensor is required."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{fname}(): argument '{arg}' (position {position}) must be Tensor, "
                        f"not {type(x).__name__}")
    return x


def finish(result, out):
    return result if out is None else write_out(out, result)


def accepts_out(fn):
    """Give `fn` PyTorch's keyword-only ``out=``: its result (a tensor, or a tuple of them
    written into a tuple of tensors, keeping the named-tuple type) goes into `out`."""
    import functools
    import inspect

    @functools.wraps(fn)
    def wrapper(*args, out=None, **kwargs):
        result = fn(*args, **kwargs)
        if out is None:
            return result
        if isinstance(result, tuple):
            if not isinstance(out, (tuple, list)) or len(out) != len(result):
                raise TypeError(f"{fn.__name__}(): argument 'out' must be tuple of "
                                f"{len(result)} Tensors")
            written = [write_out(o, r) for o, r in zip(out, result)]
            return type(result)(*written) if hasattr(result, "_fields") else tuple(written)
        return write_out(out, result)

    sig = inspect.signature(fn)
    params = list(sig.parameters.values())
    keyword_out = inspect.Parameter("out", inspect.Parameter.KEYWORD_ONLY, default=None)
    where = next((i for i, p in enumerate(params) if p.kind == p.VAR_KEYWORD), len(params))
    wrapper.__signature__ = sig.replace(parameters=params[:where] + [keyword_out] +
                                        params[where:])
    return wrapper


def unary(op, name=None):
    """`fn(input, *, out=None, **attrs)` and its in-place twin `fn_(self, **attrs)`."""
    name = name or op.name

    def fn(input, *, out=None, **attrs):
        check_tensor(input, name)
        return finish(call(op, input, **attrs), out)

    def fn_(self, **attrs):
        return call_inplace(op, self, **attrs)

    fn.__name__, fn_.__name__ = name, name + "_"
    fn.__doc__ = f"Elementwise {name} (graphtorch op `{op.name}`). {op.doc}".strip()
    fn_.__doc__ = f"In-place {name}."
    return fn, fn_


def binary(op, name=None, tensor_only=False):
    """`fn(input, other, *, out=None)` and `fn_(self, other)`.

    With `tensor_only`, both operands must be tensors (PyTorch has no Scalar overload)."""
    name = name or op.name

    def fn(input, other, *, out=None, **attrs):
        if tensor_only:
            check_tensor(input, name)
            check_tensor(other, name, "other", 2)
        input = as_operand(input)
        other = as_operand(other)
        if not isinstance(input, Tensor) and not isinstance(other, Tensor):
            input = tensor(input)
        return finish(call(op, input, other, **attrs), out)

    def fn_(self, other, **attrs):
        if tensor_only:
            check_tensor(other, name + "_", "other", 1)
        return call_inplace(op, self, as_operand(other), **attrs)

    fn.__name__, fn_.__name__ = name, name + "_"
    fn.__doc__ = f"Elementwise {name} with broadcasting (graphtorch op `{op.name}`). {op.doc}"
    fn_.__doc__ = f"In-place {name}."
    return fn, fn_


def name_as(result, torch_name: str):
    """Give `result`'s grad_fn PyTorch's node name for the op a composite stands for (`t()`
    is a transpose node, named TBackward0 as in PyTorch); returns `result`."""
    node = result._grad_fn
    if node is not None and hasattr(node, "op"):  # an OpNode (not a custom Function's)
        node._torch_name = torch_name
    return result
