"""Matrix products: one `matmul` primitive with NumPy/PyTorch batching rules (mm, bmm, mv,
dot and `@` are all this op), run by the array module's BLAS."""

from __future__ import annotations

import numpy as np

from .. import blas
from ..dtypes import scalar_type_name
from . import dispatch
from .grad_utils import numpy_arrays, unbroadcast, wrap
from .registry import Category, OpDef, ResultLayout, TensorMeta, register
from .shape_rules import broadcast_shapes


def _matmul_infer(a, b):
    if not a.shape or not b.shape:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are "
                           f"{len(a.shape)}D and {len(b.shape)}D")
    if a.dtype is not b.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: "
                           f"{_c_name(a.dtype)} != {_c_name(b.dtype)}")
    if a.dtype.name == "bool":
        raise NotImplementedError('"addmm_impl_cpu_" not implemented for \'Bool\'')
    if len(a.shape) == 1 and len(b.shape) == 1:
        if a.shape[0] != b.shape[0]:
            raise RuntimeError(f"inconsistent tensor size, expected tensor [{a.shape[0]}] and src "
                               f"[{b.shape[0]}] to have the same number of elements, but got "
                               f"{a.shape[0]} and {b.shape[0]} elements respectively")
        return TensorMeta((), a.dtype)
    a2 = (1,) + tuple(a.shape) if len(a.shape) == 1 else tuple(a.shape)
    b2 = tuple(b.shape) + (1,) if len(b.shape) == 1 else tuple(b.shape)
    if a2[-1] != b2[-2]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({a2[-2]}x{a2[-1]} and "
                           f"{b2[-2]}x{b2[-1]})")
    batch = broadcast_shapes(a2[:-2], b2[:-2])
    shape = batch + (a2[-2], b2[-1])
    if len(a.shape) == 1:
        shape = shape[:-2] + shape[-1:]
    if len(b.shape) == 1:
        shape = shape[:-1]
    return TensorMeta(shape, a.dtype)


def _c_name(dtype):
    return {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long int",
            "int32": "int"}.get(dtype.name, dtype.name)


def _matmul_kernel(xp, a, b):
    if a.dtype != b.dtype or a.ndim == 0 or b.ndim == 0 or a.dtype == bool:
        raise ValueError("invalid matmul operands")
    return blas.matmul_on(xp, a, b)


def _quiet_product(a, b):
    """`_matmul_kernel` on NumPy arrays with NumPy's inf/NaN warnings off, as dispatch runs
    kernels (PyTorch never warns about them; the eager vjps call the kernel directly)."""
    errstate = dispatch._ERRSTATE
    if errstate is None:  # pragma: no cover - other NumPy layouts
        with np.errstate(all="ignore"):
            return _matmul_kernel(np, a, b)
    token = errstate.set(dispatch._IGNORE)
    try:
        return _matmul_kernel(np, a, b)
    finally:
        errstate.reset(token)


def _mT(t):
    t = t.transpose(-2, -1)
    return t.conj() if t.is_complex() else t


def _numpy_operands(grad, *operands):
    """`numpy_arrays` of grad and the operands, with None for an operand not saved (its
    reader's gradient is not recorded, `OpDef.saved_for`); None unless all are float
    NumPy arrays."""
    arrays = numpy_arrays(grad, *(t for t in operands if t is not None))
    if arrays is None or arrays[0].dtype.kind != "f":
        return None
    rest = iter(arrays[1:])
    return [arrays[0]] + [next(rest) if t is not None else None for t in operands]


def _matmul_vjp(ctx, grad):
    a, b = ctx.inputs  # a is None when only a's gradient is recorded (it reads b), and back
    ma, mb = ctx.input_metas
    need_a, need_b = ctx.needs_input_grad
    rank_a, rank_b = len(ma.shape), len(mb.shape)
    if rank_a == 2 and rank_b == 2:
        arrays = _numpy_operands(grad, a, b)
        if arrays is not None:  # eager: the products in NumPy
            g, a2, b2 = arrays
            return (wrap(_quiet_product(g, b2.T)) if need_a else None,
                    wrap(_quiet_product(a2.T, g)) if need_b else None)
    if rank_a == 1 and rank_b == 1:
        return grad * b if need_a else None, grad * a if need_b else None
    g2 = grad
    if rank_a == 1:
        g2 = g2.unsqueeze(-2)
    if rank_b == 1:
        g2 = g2.unsqueeze(-1)
    grad_a = grad_b = None
    if need_a:
        grad_a = g2 @ _mT(b.unsqueeze(-1) if rank_b == 1 else b)
        grad_a = unbroadcast(grad_a.squeeze(-2) if rank_a == 1 else grad_a, ma)
    if need_b:
        grad_b = _mT(a.unsqueeze(0) if rank_a == 1 else a) @ g2
        grad_b = unbroadcast(grad_b.squeeze(-1) if rank_b == 1 else grad_b, mb)
    return grad_a, grad_b


def _backward_name(metas):
    ranks = tuple(len(m.shape) for m in metas)
    return {(2, 2): "MmBackward0", (3, 3): "BmmBackward0", (1, 1): "DotBackward0",
            (2, 1): "MvBackward0"}.get(ranks, "MatmulBackward0")


MATMUL = register(OpDef("matmul", Category.OPAQUE, _matmul_kernel, _matmul_infer, _matmul_vjp,
                        save_inputs=(0, 1), saved_for=((0, (1,)), (1, (0,))),
                        backward_name=_backward_name,
                        result_layout=ResultLayout.CONTIGUOUS,
                        doc="matrix product with broadcasting batch dims (a @ b)"))


def _addmm_infer(input, mat1, mat2, beta=1, alpha=1):
    for m, name in ((mat1, "mat1"), (mat2, "mat2")):
        if len(m.shape) != 2:
            raise RuntimeError(f"{name} must be a matrix, got {len(m.shape)}-D tensor")
    if mat1.dtype is not mat2.dtype or input.dtype is not mat1.dtype:
        raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got "
                           f"{scalar_type_name(mat1.dtype)} and {scalar_type_name(mat2.dtype)}")
    if mat1.shape[1] != mat2.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({mat1.shape[0]}x"
                           f"{mat1.shape[1]} and {mat2.shape[0]}x{mat2.shape[1]})")
    shape = (mat1.shape[0], mat2.shape[1])
    if broadcast_shapes(input.shape, shape) != shape:
        raise RuntimeError(f"The expanded size of the tensor ({shape[1]}) must match the "
                           f"existing size ({input.shape[-1]}) at non-singleton dimension 1.")
    return TensorMeta(shape, mat1.dtype)


def _addmm_kernel(xp, input, mat1, mat2, beta=1, alpha=1):
    if not (input.dtype == mat1.dtype == mat2.dtype):
        raise ValueError("dtype mismatch")
    return blas.addmm_on(xp, input, mat1, mat2, beta, alpha)


def _addmm_vjp(ctx, grad):
    _, mat1, mat2 = ctx.inputs
    beta, alpha = ctx.attrs.get("beta", 1), ctx.attrs.get("alpha", 1)
    need_input, need1, need2 = ctx.needs_input_grad
    grad_input = unbroadcast(grad if beta == 1 else grad * beta, ctx.input_metas[0]) \
        if need_input else None
    arrays = _numpy_operands(grad, mat1, mat2) if alpha == 1 else None
    if arrays is not None:  # eager: the products in NumPy
        g, m1, m2 = arrays
        return (grad_input, wrap(_quiet_product(g, m2.T)) if need1 else None,
                wrap(_quiet_product(m1.T, g)) if need2 else None)
    grad_mat1 = grad @ _mT(mat2) if need1 else None
    grad_mat2 = _mT(mat1) @ grad if need2 else None
    if alpha != 1:
        grad_mat1 = grad_mat1 * alpha if need1 else None
        grad_mat2 = grad_mat2 * alpha if need2 else None
    return grad_input, grad_mat1, grad_mat2


ADDMM = register(OpDef("addmm", Category.OPAQUE, _addmm_kernel, _addmm_infer, _addmm_vjp,
                       save_inputs=(1, 2), saved_for=((1, (2,)), (2, (1,))),
                       result_layout=ResultLayout.CONTIGUOUS,
                       doc="beta * input + alpha * (mat1 @ mat2); the "
                       "product and the add in one pass (nn.Linear)"))
