"""LU with partial pivoting: `gt.linalg.lu_factor`, `lu_factor_ex`, `lu`, `lu_solve`, and the
older `gt.lu`, `gt.lu_unpack`, `gt.lu_solve` (also Tensor methods).

The factorization is the registry op `linalg_lu_factor_ex` (ops/linalg_lu.py). Unpacking
and solving are compositions (triangles, a permutation matrix from the pivots, triangular
solves), so their gradients reach both the factors and the right-hand side.

>>> import graphtorch as gt
>>> A = gt.tensor([[1.0, 2.0], [3.0, 4.0]])
>>> P, L, U = gt.linalg.lu(A)
>>> (P @ L @ U).allclose(A)
True
"""

from __future__ import annotations

import warnings

from ..ops import linalg as linalg_ops
from ..ops.dispatch import call, write_out
from ..ops.linalg_lu import LU_FACTOR_EX, _triu, _unit_lower, permutation_matrix
from ._wrap import check_tensor
from .creation import empty
from .reduce import return_types

__all__ = [
    "legacy_lu_solve",
    "linalg_lu",
    "lu",
    "lu_factor",
    "lu_factor_ex",
    "lu_solve",
    "lu_unpack",
]

_WARNED = set()


def _finish(name, fields, values, out):
    if out is not None:
        values = tuple(write_out(o, v) for o, v in zip(out, values))
    return return_types.get(name, fields)(*values)


def lu_factor_ex(A, *, pivot=True, check_errors=False, out=None):
    """(LU, pivots, info) of A = P L U; info > 0 marks a zero pivot (an error only with
    check_errors)."""
    check_tensor(A, "linalg_lu_factor_ex", "A")
    values = call(LU_FACTOR_EX, A, pivot=pivot,
                  errors="torch.linalg.lu_factor_ex" if check_errors else "")
    return _finish("linalg_lu_factor_ex", ("LU", "pivots", "info"), values, out)


def lu_factor(A, *, pivot=True, out=None):
    """(LU, pivots): L (unit diagonal, below) and U packed in one matrix, and getrf's 1-based
    row swaps. Raises RuntimeError when a pivot is zero (use lu_factor_ex to get info)."""
    check_tensor(A, "linalg_lu_factor", "A")
    values = call(LU_FACTOR_EX, A, pivot=pivot, errors="torch.linalg.lu_factor")[:2]
    return _finish("linalg_lu_factor", ("LU", "pivots"), values, out)


def lu_unpack(LU_data, LU_pivots, unpack_data=True, unpack_pivots=True, *, out=None):
    """(P, L, U) from packed factors; P, or L and U, are empty tensors when not asked for."""
    check_tensor(LU_data, "lu_unpack", "LU_data")
    check_tensor(LU_pivots, "lu_unpack", "LU_pivots", 2)
    m, n = LU_data.shape[-2:]
    k = min(m, n)
    nothing = empty(0, dtype=LU_data.dtype, device=LU_data.device)
    if unpack_data:
        low, up = _unit_lower(LU_data, k), _triu(LU_data[..., :k, :])
    else:
        low, up = nothing, nothing
    p = permutation_matrix(LU_pivots, m, LU_data.dtype) if unpack_pivots else nothing
    return _finish("lu_unpack", ("P", "L", "U"), (p, low, up), out)


def linalg_lu(A, *, pivot=True, out=None):
    """torch.linalg.lu: (P, L, U) with A = P L U (L unit lower m x k, U upper k x n)."""
    check_tensor(A, "linalg_lu", "A")
    if A.ndim < 2:
        raise RuntimeError(f"linalg.lu: Expected tensor with 2 or more dimensions. Got size: "
                           f"{list(A.shape)} instead")
    factors, pivots, _ = call(LU_FACTOR_EX, A, pivot=pivot)
    return _finish("linalg_lu", ("P", "L", "U"), tuple(lu_unpack(factors, pivots)), out)


def _tri_solve(tri, b, left):
    return call(linalg_ops.SOLVE_EX, tri, b, left=left)[0]


def lu_solve(LU, pivots, B, *, left=True, adjoint=False, out=None):
    """Solve A X = B (left) or X A = B with A = P L U given by lu_factor (adjoint: with A^H)."""
    check_tensor(LU, "linalg_lu_solve", "LU")
    check_tensor(B, "linalg_lu_solve", "B", 3)
    if B.ndim < 2:
        raise RuntimeError("linalg.lu_solve: The input tensor B must have at least 2 "
                           "dimensions.")
    p, low, up = lu_unpack(LU, pivots)
    if left and not adjoint:    # X = U^-1 L^-1 P^T B
        x = _tri_solve(up, _tri_solve(low, p.mT @ B, True), True)
    elif left:                  # A^H X = B: X = P L^-H U^-H B
        x = p @ _tri_solve(low.mH, _tri_solve(up.mH, B, True), True)
    elif not adjoint:           # X A = B: X = B U^-1 L^-1 P^T
        x = _tri_solve(low, _tri_solve(up, B, False), False) @ p.mT
    else:                       # X A^H = B: X = B P L^-H U^-H
        x = _tri_solve(up.mH, _tri_solve(low.mH, B @ p, False), False)
    return x if out is None else write_out(out, x)


def lu(A, pivot=True, get_infos=False, out=None):
    """Deprecated torch.lu: (LU, pivots) or, with get_infos, (LU, pivots, infos)."""
    check_tensor(A, "lu", "A")
    if "lu" not in _WARNED:
        _WARNED.add("lu")
        warnings.warn(
            "torch.lu is deprecated in favor of torch.linalg.lu_factor / "
            "torch.linalg.lu_factor_ex and will be removed in a future PyTorch release.\n"
            "LU, pivots = torch.lu(A, compute_pivots)\nshould be replaced with\n"
            "LU, pivots = torch.linalg.lu_factor(A, compute_pivots)\nand\n"
            "LU, pivots, info = torch.lu(A, compute_pivots, get_infos=True)\n"
            "should be replaced with\n"
            "LU, pivots, info = torch.linalg.lu_factor_ex(A, compute_pivots)",
            UserWarning, stacklevel=2)
    values = call(LU_FACTOR_EX, A, pivot=pivot)  # PyTorch's torch.lu never raises for it
    if get_infos:
        return _finish("_lu_with_info", ("LU", "pivots", "info"), values, out)
    values = values[:2]
    if out is not None:
        values = tuple(write_out(o, v) for o, v in zip(out, values))
    return tuple(values)


def legacy_lu_solve(input, LU_data, LU_pivots, *, out=None):
    """Deprecated torch.lu_solve(b, LU_data, LU_pivots): linalg.lu_solve(LU, pivots, b)."""
    if "lu_solve" not in _WARNED:
        _WARNED.add("lu_solve")
        warnings.warn(
            "torch.lu_solve is deprecated in favor of torch.linalg.lu_solveand will be removed "
            "in a future PyTorch release.\nNote that torch.linalg.lu_solve has its arguments "
            "reversed.\nX = torch.lu_solve(B, LU, pivots)\nshould be replaced with\n"
            "X = torch.linalg.lu_solve(LU, pivots, B)", UserWarning, stacklevel=2)
    return lu_solve(LU_data, LU_pivots, input, out=out)

