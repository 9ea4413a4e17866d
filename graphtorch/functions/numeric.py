"""Numerical calculus and statistics helpers: diff, trapezoid, cumulative_trapezoid, cov,
corrcoef, vander.

All are decompositions into registered ops, evaluated in PyTorch's order so float results
match its kernels; autograd follows from the ops they are made of.
"""

from __future__ import annotations

import builtins

from .. import dtypes
from ..dtypes import scalar_type_name
from ..tensor import Tensor
from ._wrap import check_tensor, finish
from .creation import complex as make_complex
from .creation import ones, zeros
from .movement import cat

__all__ = ["corrcoef", "cov", "cumulative_trapezoid", "diff", "trapezoid", "trapz", "vander"]


def diff(input, n=1, dim=-1, prepend=None, append=None, *, out=None):
    """n-th forward difference along dim (logical xor for bool), with optional
    prepend/append tensors."""
    check_tensor(input, "diff")
    if input.dim() == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    for name, extra in (("prepend", prepend), ("append", append)):
        if extra is None:
            continue
        if not isinstance(extra, Tensor):
            raise TypeError(f"diff(): argument '{name}' must be Tensor, not "
                            f"{type(extra).__name__}")
        if extra.dim() != input.dim():
            raise RuntimeError("diff expects prepend or append to be the same dimension as "
                               "input")

    x = input
    if prepend is not None or append is not None:
        x = cat([t for t in (prepend, input, append) if t is not None], dim)
    for _ in range(n):
        size = x.shape[dim]
        if size == 0:
            break
        hi, lo = x.narrow(dim, 1, size - 1), x.narrow(dim, 0, size - 1)
        x = hi ^ lo if x.dtype is dtypes.bool_ else hi - lo
    return finish(x, out)


def trapezoid(y, x=None, *, dx=None, dim=-1):
    """Trapezoidal rule along dim, with sample points x or spacing dx (default 1)."""
    check_tensor(y, "trapezoid", "y")
    if y.dim() == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    if x is not None and dx is not None:
        raise RuntimeError("trapezoid: received both x and dx")
    n = y.shape[dim]
    if x is None:
        if n == 0:
            return _zeros_reduced(y, dim)
        spacing = 1 if dx is None else dx
        return (y.sum(dim) - (y.select(dim, 0) + y.select(dim, -1)) * 0.5) * spacing
    if n == 0:
        return _zeros_reduced(y, dim)
    return ((_spacing(y, x, dim, "trapezoid") * _pair_sums(y, dim)).sum(dim) / 2.0)


def trapz(y, x=None, *, dx=None, dim=-1):
    """Alias of trapezoid (PyTorch's older name)."""
    return trapezoid(y, x, dx=dx, dim=dim) if x is not None else \
        trapezoid(y, dx=1 if dx is None else dx, dim=dim)


def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
    """Running trapezoidal integral along dim (one element shorter than y)."""
    check_tensor(y, "cumulative_trapezoid", "y")
    if y.dim() == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    if x is None:
        spacing = 1 if dx is None else dx
        return (spacing / 2.0 * _pair_sums(y, dim)).cumsum(dim)
    return ((_spacing(y, x, dim, "cumulative_trapezoid") * _pair_sums(y, dim)) / 2.0).cumsum(dim)


def _pair_sums(y, dim):
    n = y.shape[dim]
    return y.narrow(dim, builtins.min(n, 1), builtins.max(n - 1, 0)) + \
        y.narrow(dim, 0, builtins.max(n - 1, 0))


def _spacing(y, x, dim, name):
    if x.dim() == 1:
        if x.shape[0] != y.shape[dim]:
            raise RuntimeError(f"{name}: There must be one `x` value for each sample point")
        d = y.dim() + dim if dim < 0 else dim
        return x.diff().reshape([-1 if k == d else 1 for k in range(y.dim())])
    return x.diff(dim=dim)


def _zeros_reduced(y, dim):
    d = dim % y.dim()
    return zeros([s for k, s in enumerate(y.shape) if k != d], dtype=y.dtype,
                 device=y.device)


def cov(input, *, correction=1, fweights=None, aweights=None):
    """Covariance of the rows (variables) over the columns (observations)."""
    check_tensor(input, "cov")
    if input.dim() > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an "
                           f"input with {input.dim()} dimensions")
    if input.dtype is dtypes.bool_:
        raise RuntimeError("cov(): bool dtype is not supported for input")
    x = input.reshape(1, -1) if input.dim() < 2 else input
    n = x.shape[1]
    w = None
    for name, weights in (("fweights", fweights), ("aweights", aweights)):
        if weights is None:
            continue
        if weights.dim() > 1:
            raise RuntimeError(f"cov(): expected {name} to have one or fewer dimensions but got "
                               f"{name} with {weights.dim()} dimensions")
        integral = weights.dtype.category <= dtypes.Category.INT
        if name == "fweights" and not integral:
            raise RuntimeError(f"cov(): expected fweights to have integral dtype but got "
                               f"fweights with {scalar_type_name(weights.dtype)} dtype")
        if name == "aweights" and not weights.is_floating_point():
            raise RuntimeError(f"cov(): expected aweights to have floating point dtype but got "
                               f"aweights with {scalar_type_name(weights.dtype)} dtype")
        if weights.numel() != n:
            raise RuntimeError(f"cov(): expected {name} to have the same numel as there are "
                               f"observations in the input but got {weights.numel()} != {n}")
        if builtins.bool((weights < 0).any().item()):
            raise RuntimeError(f"cov(): {name} cannot be negative")
        w = weights if w is None else w * weights
    w_sum = n if w is None else w.sum()
    if w is not None and not builtins.bool((w_sum != 0).item()):
        raise RuntimeError("cov(): weights sum to zero, can't be normalized")
    avg = (x if w is None else x * w).sum(1) / w_sum
    if w is not None and aweights is not None and correction != 0:
        norm = w_sum - correction * (w * aweights).sum() / w_sum
    else:
        norm = w_sum - correction
    if builtins.bool(norm <= 0):
        import warnings

        warnings.warn("cov(): degrees of freedom is <= 0. Correction should be strictly less "
                      "than the number of observations.", UserWarning, stacklevel=2)
        norm = norm * 0
    centred = x - avg.unsqueeze(1)
    c = centred.matmul((centred if w is None else centred * w).t().conj())
    return (c / norm).squeeze()


def corrcoef(input):
    """Pearson correlation coefficients of the rows, clipped to [-1, 1]."""
    c = cov(input)
    if c.dim() == 0:
        return c / c
    d = c.diagonal()
    std = (d.real if d.is_complex() else d).sqrt()
    c = c / std.reshape(-1, 1)
    c = c / std.reshape(1, -1)
    if c.is_complex():
        return make_complex(c.real.clip(-1, 1), c.imag.clip(-1, 1))
    return c.clip(-1, 1)


def vander(x, N=None, increasing=False):
    """Vandermonde matrix: columns x**(N-1), ..., x**0 (reversed when increasing)."""
    check_tensor(x, "vander", "x")
    if x.dim() != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    n = x.shape[0] if N is None else N
    if n < 0:
        raise RuntimeError("N must be non-negative.")
    if not (x.is_floating_point() or x.is_complex()):
        x = x.to(dtypes.int64)

    # Running products, as PyTorch: x ** k by pow would give 0 * inf gradients at x == 0.
    columns = [ones(x.shape[0], 1, dtype=x.dtype, device=x.device)] if n else []
    if n > 1:
        columns.append(x.unsqueeze(1).expand(x.shape[0], n - 1).cumprod(1))
    result = cat(columns, 1) if columns else ones(x.shape[0], 0, dtype=x.dtype,
                                                  device=x.device)
    return result if increasing else result.flip(1)


