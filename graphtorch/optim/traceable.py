"""Branches and scaled adds on hyper-parameters that work eagerly and inside gt.compile.

Eagerly a hyper-parameter is a Python number. Inside gt.compile's trace, `lr`, `momentum`,
`weight_decay` and each of the `betas` may be a 0-d float64 graph input instead, so that a
scheduler changing it does not recompile (`compiler.hyperparameters`). gt.compile makes momentum,
weight_decay and betas graph inputs only while they are positive floats, and guards that
they stay so: a traced one is positive, and the branches below take the side eager code
takes for it. A zero (or negative) value stays a constant guarded by value, so crossing zero
recompiles rather than reusing a graph built for the other side.
"""

from __future__ import annotations

from ..dtypes import float64
from ..tensor import Tensor
from .optimizer import _get_value, _is_traced

__all__: list[str] = []


def _nonzero(x) -> bool:
    """``x != 0`` for a number; True for a traced hyper-parameter (positive, see above)."""
    return _is_traced(x) or x != 0


def _positive(x) -> bool:
    """``x > 0`` for a number; True for a traced hyper-parameter (positive, see above)."""
    return _is_traced(x) or x > 0


def _plus_scaled(tensor, other, scale):
    """``tensor + scale * other`` (out of place) with the rounding of
    ``tensor.add(other, alpha=scale)``: a 0-d float64 `scale` is cast to the tensors' dtype
    as a Python number is (left as float64, it would promote a 0-d `other`)."""
    if isinstance(scale, Tensor):
        return tensor.add(other * scale.to(other.dtype))
    return tensor.add(other, alpha=scale)


def _addcmul_scaled(tensor, tensor1, tensor2, value):
    """In place ``tensor += value * tensor1 * tensor2`` with the roundings of
    ``tensor.addcmul_(tensor1, tensor2, value=value)`` (left to right), also for a 0-d
    float64 `value`, which addcmul_ does not take."""
    if isinstance(value, Tensor):
        return tensor.add_(tensor1 * value.to(tensor1.dtype) * tensor2)
    return tensor.addcmul_(tensor1, tensor2, value=value)


def _state_value(t):
    """A 0-d state tensor (``step``, NAdam's ``mu_product``, ASGD's ``eta``) as eager code
    reads it: a Python number eagerly; while tracing, the same number as a float64 graph
    value (a Python float is a double), so one graph serves every step."""
    if _is_traced(t):
        return t.to(float64)
    return _get_value(t)


def _as_number_for(value, t):
    """`value` as eager code's Python number meets the 0-d tensor `t`: cast to `t`'s dtype
    first. (A float64 0-d graph value would promote a float32 0-d `t`, and its product
    would then be rounded once, from double, rather than computed in float32.)"""
    return value.to(t.dtype) if isinstance(value, Tensor) else value
