"""Contractions and distances: einsum, tensordot, kron, cdist, pdist.

einsum is one primitive (ops/einsum.py, which also reduces PyTorch's equation forms to its
canonical one). The others are decompositions into permute/reshape/matmul and elementwise
ops, so autograd follows from those.
"""

from __future__ import annotations

import builtins
import math

from .. import dtypes
from ..dtypes import scalar_type_name
from ..linalg import vector_norm
from ..ops import elementwise as elementwise_ops
from ..ops.dispatch import call
from ..ops.einsum import EINSUM, canonical_einsum
from ..ops.shape_rules import normalize_dim
from ..tensor import Tensor
from ._wrap import check_tensor, finish
from .creation import ones_like
from .movement import cat
from .tensor_extra import triu_indices

__all__ = ["cdist", "einsum", "kron", "pdist", "tensordot"]


def einsum(*args):
    """Einstein summation: einsum("ij,jk->ik", a, b), or the sublist form
    einsum(a, [0, 1], b, [1, 2], [0, 2]). Operands must share one dtype."""
    if args and isinstance(args[0], str):
        equation, operands = args[0], args[1:]
        if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
            operands = tuple(operands[0])
    else:
        equation, operands = _sublist_equation(args)
    if not operands:
        raise ValueError("einsum(): must specify the equation string and at least one operand, "
                         "or at least one operand and its subscripts list")
    for k, op in enumerate(operands):
        check_tensor(op, "einsum", f"operands[{k}]", k + 2)
    canonical, operands = canonical_einsum(equation, list(operands))
    return call(EINSUM, operands, equation=canonical)


def _sublist_equation(args):
    """einsum(op0, sub0, op1, sub1, ..., [out]) -> ("ab,bc->ac", operands)."""
    def letters(sub):
        out = []
        for s in sub:
            if s is Ellipsis:
                out.append("...")
            elif isinstance(s, int) and 0 <= s < 52:
                out.append(chr(ord("a") + s) if s < 26 else chr(ord("A") + s - 26))
            else:
                raise ValueError("einsum(): subscript in subscript list is not within the valid "
                                 "range [0, 52)")
        return "".join(out)

    operands = args[0:len(args) - len(args) % 2:2]
    subs = [letters(s) for s in args[1:len(args) - len(args) % 2:2]]
    equation = ",".join(subs)
    if len(args) % 2:
        equation += "->" + letters(args[-1])
    return equation, operands


def tensordot(a, b, dims=2, out=None):
    """Contract `dims` trailing dims of a with leading dims of b (or the given dim lists),
    as a permute + reshape + matmul."""
    check_tensor(a, "tensordot")
    check_tensor(b, "tensordot", "other", 2)
    if isinstance(dims, Tensor):
        dims = dims.item() if dims.dim() == 0 else dims.tolist()
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > a.dim() or dims > b.dim():
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={dims}")
        dims_a, dims_b = list(range(-dims, 0)), list(range(dims))
    else:
        dims_a, dims_b = dims
        if isinstance(dims_a, int) or isinstance(dims_b, int):
            raise TypeError("tensordot(): argument 'dims_self' (position 3) must be tuple of "
                            "ints, not int")
        dims_a, dims_b = list(dims_a), list(dims_b)
    if len(dims_a) != len(dims_b):
        raise RuntimeError("both dimension lists should have same length")
    if a.dtype is not b.dtype:
        raise RuntimeError("both inputs should have same dtype")
    if a.dtype is dtypes.bool_:
        raise NotImplementedError("\"addmm_impl_cpu_\" not implemented for 'Bool'")

    for da, db in zip(dims_a, dims_b):
        sa, sb = a.shape[normalize_dim(da, a.dim())], b.shape[normalize_dim(db, b.dim())]
        if sa != sb:
            if sa == 1:  # a size-1 dim broadcasts: sum the other side over it (PyTorch)
                b = b.sum(db, keepdim=True)
            elif sb == 1:
                a = a.sum(da, keepdim=True)
            else:
                raise RuntimeError(f"contracted dimensions need to match, but first has size "
                                   f"{sa} in dim {da} and second has size {sb} in dim {db}")
    ca = [normalize_dim(d, a.dim()) for d in dims_a]
    cb = [normalize_dim(d, b.dim()) for d in dims_b]
    free_a = [d for d in range(a.dim()) if d not in ca]
    free_b = [d for d in range(b.dim()) if d not in cb]
    k = math.prod(a.shape[d] for d in ca)
    left = a.permute(*free_a, *ca).reshape(math.prod(a.shape[d] for d in free_a), k)
    right = b.permute(*cb, *free_b).reshape(k, math.prod(b.shape[d] for d in free_b))
    result = left.matmul(right).reshape([a.shape[d] for d in free_a] +
                                        [b.shape[d] for d in free_b])
    return finish(result, out)


def kron(input, other, *, out=None):
    """Kronecker product: blocks input[i] * other (ranks padded with leading 1s)."""
    check_tensor(input, "kron")
    check_tensor(other, "kron", "other", 2)
    nd = builtins.max(input.dim(), other.dim())
    sa = (1,) * (nd - input.dim()) + tuple(input.shape)
    sb = (1,) * (nd - other.dim()) + tuple(other.shape)
    left = input.reshape([s for d in sa for s in (d, 1)])
    right = other.reshape([s for d in sb for s in (1, d)])
    return finish((left * right).reshape([x * y for x, y in zip(sa, sb)]), out)


def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """p-norm distances between the rows of x1 (..., P, M) and x2 (..., R, M)."""
    check_tensor(x1, "cdist", "x1")
    check_tensor(x2, "cdist", "x2", 2)
    for name, t in (("X1", x1), ("X2", x2)):
        if not t.is_floating_point():
            raise RuntimeError(f"cdist only supports floating-point dtypes, {name} got: "
                               f"{scalar_type_name(t.dtype)}")
        if t.dim() < 2:
            raise RuntimeError(f"cdist only supports at least 2D tensors, {name} got: "
                               f"{t.dim()}D")
    if x1.dtype is not x2.dtype:
        raise RuntimeError(f"expected scalar type {scalar_type_name(x1.dtype)} but found "
                           f"{scalar_type_name(x2.dtype)}")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: "
                           f"{x1.shape[-1]} X2: {x2.shape[-1]}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    use_mm = {"use_mm_for_euclid_dist_if_necessary": x1.shape[-2] > 25 or x2.shape[-2] > 25,
              "use_mm_for_euclid_dist": True, "donot_use_mm_for_euclid_dist": False}
    if compute_mode not in use_mm:
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")
    if p == 2 and use_mm[compute_mode]:
        return _euclidean_by_mm(x1, x2)
    _no_bfloat16_kernel(x1, "cdist")  # PyTorch's direct kernel; its matmul form has one
    return _pnorm(x1.unsqueeze(-2) - x2.unsqueeze(-3), p)


def _no_bfloat16_kernel(x, kernel: str) -> None:
    """PyTorch's error where its CPU build has no bfloat16 kernel (graphtorch could compute)."""
    if x.dtype.name == "bfloat16":
        raise NotImplementedError(f'"{kernel}" not implemented for \'BFloat16\'')


def _pnorm(diff, p):
    """The p-norm over the last dim (p=0 counts non-zeros, with PyTorch's zero gradient)."""
    return vector_norm(diff, ord=p, dim=-1)


def _euclidean_by_mm(x1, x2):
    """PyTorch's matrix-product form: |a|^2 + |b|^2 - 2 a.b, clamped at 0; the square root
    is 0 (with gradient 0) where the squared distance is 0."""
    n1 = (x1 * x1).sum(-1, keepdim=True)
    n2 = (x2 * x2).sum(-1, keepdim=True)
    left = cat([x1 * -2, n1, ones_like(n1)], -1)
    right = cat([x2, ones_like(n2), n2], -1)
    sq = left.matmul(right.mT).clamp(min=0)
    positive = sq > 0
    return call(elementwise_ops.WHERE, positive,
                call(elementwise_ops.WHERE, positive, sq, 1.0).sqrt(), 0.0)


def pdist(input, p=2):
    """Distances between all pairs of rows i < j of a 2-D input, row-major."""
    check_tensor(input, "pdist")
    if input.dim() != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.dim()}D")
    if not input.is_floating_point():
        raise RuntimeError("pdist only supports floating-point dtypes")
    _no_bfloat16_kernel(input, "pdist")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    i, j = triu_indices(input.shape[0], input.shape[0], 1)
    return _pnorm(input[i] - input[j], p)


