"""`F.grouped_mm`, `F.scaled_mm`, `F.scaled_grouped_mm`: PyTorch 2.13's Mixture-of-Experts
GEMMs, answered as PyTorch's CPU build answers them.

`grouped_mm` is composed from matmul and slices (so it has gradients): 3-D operands pair up
by group; a 2-D operand is cut into groups along its jagged dim by the int32 `offs`. The
scaled (float8) forms need float8 tensors, which graphtorch does not hold: `scaled_mm`
raises PyTorch's ValueError for non-float8 inputs, `scaled_grouped_mm` its CPU
NotImplementedError.
"""

from __future__ import annotations

import enum

from ... import dtypes
from ...functions.creation import zeros
from ...functions.linalg_basic import matmul
from ...functions.movement import cat, stack

__all__ = ["ScalingType", "SwizzleType", "grouped_mm", "scaled_grouped_mm", "scaled_mm"]

_GEMM_DTYPES = (dtypes.float32, dtypes.bfloat16, dtypes.float16)


class ScalingType(enum.IntEnum):
    """How `scaled_mm` applies its scales (PyTorch's `F.ScalingType`)."""

    TensorWise = 0
    RowWise = 1
    BlockWise1x16 = 2
    BlockWise1x32 = 3
    BlockWise1x128 = 4
    BlockWise128x128 = 5


class SwizzleType(enum.IntEnum):
    """Scale layouts of `scaled_mm` (PyTorch's `F.SwizzleType`)."""

    NO_SWIZZLE = 0
    SWIZZLE_32_4_4 = 1


def _check_operand(mat, name: str) -> None:
    if mat.dim() not in (2, 3):
        raise RuntimeError(f"{name} has to be 2 or 3d")
    if mat.dtype not in _GEMM_DTYPES:
        raise RuntimeError(f"Expected {name} to be Float32, BFloat16 or Float16 matrix, got "
                           f"{dtypes.scalar_type_name(mat.dtype)}")
    # Grouped GEMM kernels need 16-byte aligned rows (or columns, when transposed).
    leading = max(mat.stride()[-1], mat.stride()[-2])
    if leading * mat.element_size() % 16:
        raise RuntimeError("strides should be multiple of 16 bytes")


def _group_bounds(offs, groups: int, length: int) -> list[tuple[int, int]]:
    if offs.dtype is not dtypes.int32:
        raise RuntimeError("Offsets have to be int32")
    if offs.dim() != 1:
        raise RuntimeError("offs has to be 1D")
    if offs.shape[0] != groups:
        raise RuntimeError("matrix batch sizes have to match")
    ends = [int(e) for e in offs.tolist()]
    starts = [0] + ends[:-1]
    if any(s > e for s, e in zip(starts, ends)) or (ends and ends[-1] > length):
        # PyTorch reads past its buffers here; graphtorch refuses instead.
        raise RuntimeError(f"grouped_mm: offs must be non-decreasing and at most {length}, "
                           f"got {ends}")
    return list(zip(starts, ends))


def grouped_mm(mat_a, mat_b, *, offs=None, bias=None, out_dtype=None):
    """Per-group matrix products for Mixture-of-Experts layers (PyTorch's `F.grouped_mm`).

    3-D x 3-D: one product per group; 2-D x 3-D: rows of mat_a grouped by `offs`;
    3-D x 2-D: columns of mat_b grouped; 2-D x 2-D: the shared K dim grouped (3-D result).
    Rows (or columns) past offs[-1] are zero (PyTorch leaves them unwritten).

    >>> x, w = gt.randn(6, 8), gt.randn(2, 8, 4)
    >>> F.grouped_mm(x, w, offs=gt.tensor([2, 6], dtype=gt.int32)).shape
    torch.Size([6, 4])
    """
    _check_operand(mat_a, "mat_a")
    _check_operand(mat_b, "mat_b")
    if mat_a.dtype is not mat_b.dtype:
        raise RuntimeError(f"grouped_mm: mat_a and mat_b must have the same dtype, got "
                           f"{mat_a.dtype} and {mat_b.dtype}")
    if (offs is None) != (mat_a.dim() == 3 and mat_b.dim() == 3):
        raise RuntimeError("Have to provide offsets if there is a 2d matrix, or no offset if "
                           "both matrices are 3d")
    if mat_a.shape[-1] != mat_b.shape[-2]:
        raise RuntimeError("contraction dimension of mat_a and mat_b must match")
    if bias is not None:
        raise RuntimeError("Bias not supported yet")
    if out_dtype is not None and out_dtype is not mat_a.dtype:
        raise RuntimeError("Grouped gemm output dtype must match `mat_a` dtype")
    if mat_a.dim() == 3 and mat_b.dim() == 3:
        if mat_a.shape[0] != mat_b.shape[0]:
            raise RuntimeError("batched dimension has to match")
        return matmul(mat_a, mat_b)
    if mat_a.dim() == 2 and mat_b.dim() == 3:
        bounds = _group_bounds(offs, mat_b.shape[0], mat_a.shape[0])
        parts = [matmul(mat_a[s:e], mat_b[g]) for g, (s, e) in enumerate(bounds)]
        tail = mat_a.shape[0] - (bounds[-1][1] if bounds else 0)
        parts.append(zeros(tail, mat_b.shape[-1], dtype=mat_a.dtype, device=mat_a.device))
        return cat(parts, 0)
    if mat_a.dim() == 3:
        bounds = _group_bounds(offs, mat_a.shape[0], mat_b.shape[1])
        parts = [matmul(mat_a[g], mat_b[:, s:e]) for g, (s, e) in enumerate(bounds)]
        tail = mat_b.shape[1] - (bounds[-1][1] if bounds else 0)
        parts.append(zeros(mat_a.shape[1], tail, dtype=mat_a.dtype, device=mat_a.device))
        return cat(parts, 1)
    bounds = _group_bounds(offs, offs.shape[0] if offs.dim() == 1 else -1, mat_a.shape[1])
    return stack([matmul(mat_a[:, s:e], mat_b[s:e]) for s, e in bounds], 0)


_SCALING_CONFIGURATION = (
    "Invalid scaling configuration.\n"
    "- For TensorWise scaling, a and b should be float8, scales should be float and "
    "singletons.\n"
    "- For RowWise scaling, a and b should be float8, scales should be float, scale_a should "
    "be ({m}, 1) and scale_b should be (1, {n}), and both should be contiguous.\n"
    "Got mat_a.dtype()={a} and mat_b.dtype()={b} (graphtorch holds no float8 tensors)")


def scaled_mm(mat_a, mat_b, scale_a, scale_recipe_a, scale_b, scale_recipe_b, swizzle_a=None,
              swizzle_b=None, bias=None, output_dtype=dtypes.bfloat16, contraction_dim=(),
              use_fast_accum=False):
    """PyTorch's float8 `F.scaled_mm`. Its operands must be float8, which graphtorch does
    not hold, so every call raises PyTorch's ValueError for a non-float8 operand."""
    raise ValueError(_SCALING_CONFIGURATION.format(m=mat_a.shape[0], n=mat_b.shape[-1],
                                                   a=mat_a.dtype, b=mat_b.dtype))


def scaled_grouped_mm(mat_a, mat_b, scale_a, scale_recipe_a, scale_b, scale_recipe_b,
                      swizzle_a=None, swizzle_b=None, bias=None, offs=None,
                      output_dtype=dtypes.bfloat16, contraction_dim=(), use_fast_accum=False):
    """PyTorch's float8 `F.scaled_grouped_mm`: CUDA-only in PyTorch (its CPU build raises
    NotImplementedError), and graphtorch has no float8 tensors, so it raises the same."""
    raise NotImplementedError(
        "Could not run 'aten::_scaled_grouped_mm_v2' with arguments from the "
        f"'{mat_a.device.type.upper()}' backend: graphtorch implements no float8 grouped GEMM "
        "(use F.grouped_mm with float32/bfloat16/float16 operands)")
