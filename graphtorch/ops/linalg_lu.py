"""LU factorization with partial pivoting (torch.linalg.lu_factor_ex) and LAPACK pivots to
a permutation (what torch.lu_unpack builds P from).

The kernel is getrf's right-looking algorithm in NumPy over stacks of (m, n) matrices: per
column, the row with the largest |a| (|re| + |im| for complex, as izamax) is swapped up, the
column below is divided by the pivot and the trailing block updated. A zero pivot leaves its
column alone and sets `info` (1-based) as LAPACK does. The vjp is PyTorch's
linalg_lu_backward (square, wide and tall cases) written with graphtorch ops.
"""

from __future__ import annotations

from .. import dtypes
from .dispatch import call
from .factories import arange
from .linalg import (
    OPAQUE,
    _batch_prefix,
    _first_failure,
    _solve,
    _tril,
    check_dtype,
    lu_eliminate,
)
from .movement import CAT
from .registry import OpDef, TensorMeta, register


def _lu_kernel(xp, a, pivot=True, errors=""):
    if a.ndim < 2 or a.dtype.kind not in "fc" or a.dtype.itemsize < 4 or not pivot:
        raise ValueError("invalid lu_factor input")  # infer gives PyTorch's message
    *batch, m, n = a.shape
    k = min(m, n)
    work = a.reshape((-1, m, n)).copy()
    pivots, info = lu_eliminate(xp, work)
    info = info.reshape(tuple(batch))
    if errors and bool((info > 0).any()):
        index, value = _first_failure(info)
        raise RuntimeError(f"{errors}: {_batch_prefix(index)}U[{value},{value}] is zero and "
                           "using it on lu_solve would result in a division by zero. If you "
                           "still want to perform the factorization, consider calling "
                           "linalg.lu(A, pivot) or linalg.lu_factor_ex(A, pivot)")
    return work.reshape(a.shape), pivots.reshape((*batch, k)), info


def _lu_infer(a, pivot=True, errors=""):
    if len(a.shape) < 2:
        raise RuntimeError(f"torch.lu_factor: Expected tensor with 2 or more dimensions. Got "
                           f"size: {list(a.shape)} instead")
    if a.dtype.category <= dtypes.Category.INT or a.dtype.name in ("float16", "bfloat16"):
        raise NotImplementedError(f"\"lu_cpu\" not implemented for "
                                  f"'{dtypes.scalar_type_name(a.dtype)}'")
    check_dtype("linalg.lu_factor", a.dtype)
    if not pivot:
        raise RuntimeError("linalg.lu_factor: LU without pivoting is not implemented on the "
                           "CPU")
    *batch, m, n = a.shape
    return (TensorMeta(a.shape, a.dtype), TensorMeta((*batch, min(m, n)), dtypes.int32),
            TensorMeta(tuple(batch), dtypes.int32))


def _triu(x, k=0):
    return _tril(x.mT, -k).mT


def _unit_lower(lu, k):
    """L (m, k) with its unit diagonal, from the packed factors."""
    low = _tril(lu[..., :, :k], -1)
    eye = arange(lu.shape[-2], device=lu.device).unsqueeze(-1) == arange(k, device=lu.device)
    return low + eye.to(lu.dtype)


def permutation_matrix(pivots, m, dtype):
    """P with A = P L U, from getrf's 1-based row swaps."""
    perm = call(LU_PIVOTS_TO_PERMUTATION, pivots, rows=m)
    rows = arange(m, device=pivots.device).unsqueeze(-1)
    return (rows == perm.unsqueeze(-2)).to(dtype)


def lu_backward(grad_l, grad_u, p, low, up):
    """PyTorch's linalg_lu_backward: the gradient of A = P L U from those of L and U."""
    m, n = low.shape[-2], up.shape[-1]
    k = min(m, n)
    if m == n:
        inner = _tril(low.mH @ grad_l, -1) + _triu(grad_u @ up.mH)
        grad = _solve(up.mH, inner, left=False)
        grad = _solve(low.mH, grad)
    elif m < n:  # wide: A = P L [U1 | U2]
        u1 = up[..., :k]
        inner = _tril(low.mH @ grad_l - _triu(grad_u) @ up.mH, -1)
        grad = _solve(u1.mH, inner, left=False)
        grad = call(CAT, [grad + _triu(grad_u[..., :k]), grad_u[..., k:]], dim=-1)
        grad = _solve(low.mH, grad)
    else:  # tall: A = P [L1; L2] U
        l1 = low[..., :k, :]
        inner = _triu(grad_u @ up.mH - low.mH @ _tril(grad_l, -1))
        grad = _solve(l1.mH, inner)
        grad = call(CAT, [grad + _tril(grad_l[..., :k, :], -1), grad_l[..., k:, :]], dim=-2)
        grad = _solve(up.mH, grad, left=False)
    return p @ grad


def _lu_vjp(ctx, grad_lu, grad_pivots=None, grad_info=None):
    lu, pivots = ctx.outputs[0], ctx.outputs[1]
    m, n = lu.shape[-2:]
    k = min(m, n)
    low = _unit_lower(lu, k)
    up = _triu(lu[..., :k, :])
    p = permutation_matrix(pivots, m, lu.dtype)
    grad = lu_backward(grad_lu[..., :, :k], grad_lu[..., :k, :], p, low, up)
    return (grad,)


LU_FACTOR_EX = register(OpDef(
    "linalg_lu_factor_ex", OPAQUE, _lu_kernel, _lu_infer, _lu_vjp, save_output=(0, 1),
    num_outputs=3, backward_name="LinalgLuFactorExBackward0",
    doc="(LU, int32 1-based pivots, int32 info) of getrf's partial-pivoting LU; errors "
        "names the function that raises for a zero pivot"))


def _permutation_kernel(xp, pivots, rows):
    if pivots.dtype != xp.int32:
        raise ValueError("lu_unpack needs int32 pivots")  # infer gives PyTorch's message
    k = pivots.shape[-1]
    flat = pivots.reshape((-1, k)).astype(xp.int64) - 1
    if flat.size and (int(flat.min()) < 0 or int(flat.max()) >= rows):
        raise RuntimeError("pivots passed to lu_unpack must be between 1 and LU.size(-2) "
                           "inclusive.Did you properly pass the result of lu_factor?")
    perm = xp.broadcast_to(xp.arange(rows, dtype=xp.int64), (flat.shape[0], rows)).copy()
    index = xp.arange(flat.shape[0])
    for j in range(k):
        target = flat[:, j]
        here = perm[:, j].copy()
        perm[:, j] = perm[index, target]
        perm[index, target] = here
    return perm.reshape((*pivots.shape[:-1], rows))


def _permutation_infer(pivots, rows):
    if pivots.dtype is not dtypes.int32:
        raise RuntimeError("torch.lu_unpack: LU_pivots is expected to be a contiguous tensor "
                           "of torch.int32 dtype.\nNote: this function is intended to be used "
                           "with the output produced by torch.linalg.lu_factor")
    return TensorMeta((*pivots.shape[:-1], rows), dtypes.int64)


LU_PIVOTS_TO_PERMUTATION = register(OpDef(
    "lu_pivots_to_permutation", OPAQUE, _permutation_kernel, _permutation_infer, None,
    doc="the row order (int64) that getrf's sequential 1-based row swaps make"))
