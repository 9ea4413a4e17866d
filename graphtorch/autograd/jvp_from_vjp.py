"""Forward-mode derivatives (Jacobian-vector products) of registry ops, derived from each
op's vjp rule: there is no second table of per-op forward rules.

For y = f(x) the map u -> vjp(u) = J^T u is linear, so J t = d/du <J^T u, t>: the op's vjp
runs (building a graph) on a cotangent u that requires grad, and graphtorch's reverse mode
differentiates <vjp(u), t> with respect to u. Linearity also gives <u, J t> = <J^T u, t>
for the u used; that identity is checked, so a vjp that is not differentiable in u (NumPy
inside, an op without a vjp of its own) raises NotImplementedError naming the op instead of
giving a wrong tangent. View ops are linear in their one tensor input: their tangent is the
same view of the input's tangent (an alias, as PyTorch's).
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..ops.dispatch import array_module, flat_inputs
from ..ops.factories import zeros_for_meta
from ..ops.registry import Category, OpDef, TensorMeta, VJPContext
from ..tensor import Tensor
from . import grad_mode
from .engine import run_backward
from .function import Function

# Relative tolerance of the <u, J t> == <J^T u, t> check, per element size (bytes).
_CHECK_RTOL = {8: 1e-6, 4: 1e-3, 2: 5e-2}


def op_jvp(op: OpDef, inputs, outputs: tuple, attrs: dict, tangents: list):
    """Per output of `op(*inputs, **attrs)` (already computed: `outputs`), its tangent given
    `tangents` (one per flat input: a Tensor or None); None for outputs without one. None
    altogether when the op is not differentiable (no vjp, or no float output)."""
    if op.vjp is None:
        return None
    differentiable = [nr for nr in op.differentiable_outputs
                      if dtypes.is_inexact_array(outputs[nr]._data.dtype)]
    if not differentiable:
        return None
    for t in tangents:
        if t is not None and t.is_complex():
            raise NotImplementedError(f"forward-mode AD through {op.name}: complex tangents are "
                                      "not supported by graphtorch")
    flat = flat_inputs(op, inputs)
    if op.category is Category.VIEW and not op.variadic and \
            not any(isinstance(x, Tensor) for x in flat[1:]):
        return _view_jvp(op, outputs, attrs, tangents[0])
    return _double_vjp(op, flat, outputs, attrs, tangents, differentiable)


def _view_jvp(op: OpDef, outputs, attrs, tangent):
    if tangent is None:
        return None
    array = tangent._data
    viewed = op.kernel(array_module((array,)), array, **attrs)
    viewed = (viewed,) if op.num_outputs == 1 else viewed
    return tuple(Tensor._wrap(np.asarray(v) if isinstance(v, np.generic) else v)
                 for v in viewed)


def _meta(x):
    if not isinstance(x, Tensor):
        return None
    return TensorMeta(tuple(x._data.shape), dtypes.from_numpy_dtype(x._data.dtype))


def _cotangent(meta: TensorMeta) -> Tensor:
    """A fixed, non-constant cotangent (the result does not depend on its values; the
    identity check is sharper than with ones, which e.g. softmax's vjp maps to zero)."""
    n = int(np.prod(meta.shape, dtype=np.int64))
    values = np.linspace(0.5, 1.5, n, dtype=np.float64).reshape(meta.shape)
    u = Tensor._wrap(values.astype(meta.dtype.np_dtype))
    u._requires_grad = True
    return u


class _ConstantIn(Function):
    """`tangent`, as a function of `primals` that does not change with them (zero gradient):
    the tangent of an op that reads those primals requires grad where they do, as in
    PyTorch, also where its value does not depend on them (`x @ w` w.r.t. `w`)."""

    @staticmethod
    def forward(ctx, tangent, *primals):
        ctx.primal_metas = [(p.shape, p.dtype) for p in primals]
        return tangent.clone()

    @staticmethod
    def backward(ctx, grad_out):
        return (grad_out, *[grad_out.new_zeros(shape, dtype=dtype)
                            for shape, dtype in ctx.primal_metas])


def _double_vjp(op: OpDef, flat, outputs, attrs, tangents, differentiable):
    saves = op.save_inputs
    keep = op.save_output
    # The vjp reads the inputs and outputs themselves: where they require grad, the tangents
    # found are differentiable w.r.t. them (forward-over-reverse), as PyTorch's are.
    ctx_inputs = tuple(x if i in saves else None for i, x in enumerate(flat))
    ctx_outputs = () if not keep else tuple(
        o if keep is True or nr in keep else None for nr, o in enumerate(outputs))
    in_metas = tuple(_meta(x) for x in flat)
    out_metas = tuple(_meta(o) for o in outputs)
    ctx = VJPContext(ctx_inputs, ctx_outputs, attrs, in_metas, out_metas)
    cotangents = [None] * len(outputs)
    for nr in op.differentiable_outputs:
        meta = out_metas[nr]
        cotangents[nr] = _cotangent(meta) if nr in differentiable else zeros_for_meta(meta)
    # PyTorch's tangent formulas read the primals an op saves for backward: its tangents
    # require grad when one of those does (or a tangent does)
    read = [x for i, x in enumerate(flat) if i in saves] + [o for o in ctx_outputs
                                                           if o is not None]
    graph_primals = [x for x in read if isinstance(x, Tensor) and x.requires_grad]
    create_graph = bool(graph_primals) or any(t is not None and t.requires_grad
                                              for t in tangents)
    with grad_mode.set_grad_enabled(True):
        grad_inputs = op.vjp(ctx, *cotangents)
        if len(grad_inputs) != len(flat):
            raise RuntimeError(f"the vjp of {op.name} returned {len(grad_inputs)} gradients "
                               f"for {len(flat)} inputs")
        pairs = []
        for g, t, meta in zip(grad_inputs, tangents, in_metas):
            if g is None or t is None:
                continue
            if g.dtype is not meta.dtype:
                g = g.to(meta.dtype)
            pairs.append((g, t))
        total = None
        for g, t in pairs:
            term = (g * t).sum()
            total = term if total is None else total + term
    us = [cotangents[nr] for nr in differentiable]
    if total is not None and total.requires_grad:
        found = run_backward((total,), (Tensor._wrap(np.ones((), total._data.dtype)),),
                             create_graph, create_graph, inputs=us, accumulate=False)
    else:
        found = [None] * len(us)
    results = [None] * len(outputs)
    for nr, u, jt in zip(differentiable, us, found):
        jt = jt if jt is not None else zeros_for_meta(out_metas[nr])
        if graph_primals and not jt.requires_grad:  # constant in them, yet differentiable
            jt = _ConstantIn.apply(jt, *graph_primals)
        results[nr] = jt
    if total is not None:
        _check_duality(op, pairs, total, us, [results[nr] for nr in differentiable])
    return tuple(results)


def _check_duality(op: OpDef, pairs, total, us, jvps) -> None:
    """<u, J t> must equal <J^T u, t>: else the vjp is not differentiable in u."""
    lhs = float(np.asarray(total._data))
    scale = sum(float(np.sum(np.abs(g._data.astype(np.float64)) *
                             np.abs(t._data.astype(np.float64)))) for g, t in pairs)
    rhs = 0.0
    for u, jt in zip(us, jvps):
        product = u._data.astype(np.float64) * jt._data.astype(np.float64)
        rhs += float(np.sum(product))
        scale += float(np.sum(np.abs(product)))
    itemsize = min(min(g._data.dtype.itemsize, t._data.dtype.itemsize) for g, t in pairs)
    rtol = _CHECK_RTOL.get(itemsize, 1e-3)
    # a NaN or infinite tangent is the op's own (PyTorch gives the same): not checked
    if np.isfinite(lhs) and np.isfinite(rhs) and abs(lhs - rhs) > rtol * scale + 1e-30:
        raise NotImplementedError(
            f"forward-mode AD through {op.name}: the tangent cannot be derived from its vjp "
            "rule (the vjp is not differentiable with respect to its grad_output)")
