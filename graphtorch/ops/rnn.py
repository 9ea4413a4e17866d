"""The LSTM layer's recurrence as one primitive (`lstm_scan`) and its backward
(`lstm_scan_backward`), as cuDNN and ATen run a layer, into preallocated (T, B, 4H) buffers.

The forward takes the layer input x (T, B, I) with W_ih, W_hh and the summed biases. When
both weights fit in L2 the native loop (`rnn_native`) does each step's input GEMM itself,
fused with the recurrent one (no (T, B, 4H) buffer of input products written and read
back); otherwise the input-to-hidden products of every step are one GEMM before the loop,
which then does only ``h @ W_hh^T`` and the gate nonlinearities per step.

The backward loop produces the gate gradients of every step; the vjp then forms the weight
gradients as ONE GEMM each over all steps (``dgates^T @ h_prev``, ``dgates^T @ x``),
instead of one small GEMM per step. Under create_graph=True the vjp is written in graphtorch
ops instead (the recurrence run again step by step), so double backward works as for
PyTorch's LSTM. Gate order is PyTorch's (i, f, g, o). The per-step cell arithmetic runs as
a Numba kernel when the JIT tier has one ready (`rnn_jit`), else as NumPy ufuncs.

    hs, h_n, c_n, cs, tanh_cs, gates = call(LSTM_SCAN, x, h0, c0, w_ih, w_hh, bias,
                                            reverse=False)
"""

from __future__ import annotations

import numpy as np

from .. import blas
from ..autograd import grad_mode
from . import rnn_jit, rnn_native
from .dispatch import call
from .matmul import ADDMM
from .movement import CAT, STACK
from .registry import Category, OpDef, ResultLayout, TensorMeta, register


def _forward_kernel(xp, x, h0, c0, w_ih, w_hh, bias, reverse=False):
    if xp is np and rnn_native.input_in_loop(x, w_hh):
        native = rnn_native.forward(x, h0, c0, w_hh, reverse, w_ih, bias)
        if native is not None:  # both GEMMs of every step inside one loop
            return _results(native, reverse)
    steps, batch, size = x.shape
    gates_x = blas.addmm_on(xp, bias, x.reshape(steps * batch, size), w_ih.T)
    return _recurrence(xp, gates_x.reshape(steps, batch, gates_x.shape[-1]), h0, c0, w_hh,
                       reverse)


def _results(native, reverse):
    """lstm_scan's outputs from the native loop's (gates, hs, cs, tanh_cs)."""
    gates, hs, cs, tanh_cs = native
    last = 0 if reverse else hs.shape[0] - 1
    return hs, hs[last].copy(), cs[last].copy(), cs, tanh_cs, gates


def _recurrence(xp, gates_x, h0, c0, w_hh, reverse):
    """lstm_scan's outputs from the input products of every step, gates_x (T, B, 4H)."""
    steps, batch, width = gates_x.shape
    hidden = width // 4
    dtype = gates_x.dtype
    # sigmoid(x) = (tanh(x / 2) + 1) / 2: with the i, f, o rows of W_hh and columns of
    # gates_x halved up front, one vectorised tanh over the whole (B, 4H) block per step
    # activates all four gates (then i, f, o are shifted and halved)
    native = rnn_native.forward(gates_x, h0, c0, w_hh, reverse) if xp is np else None
    if native is not None:  # the whole loop over time in one call
        return _results(native, reverse)
    scale = xp.full((width,), 0.5, dtype=dtype)
    scale[2 * hidden:3 * hidden] = 1
    w_t = xp.ascontiguousarray((w_hh * scale[:, None]).T)
    gates = xp.empty((steps, batch, width), dtype=dtype)  # activated i, f, g, o
    xp.multiply(gates_x, scale, out=gates)
    hs = xp.empty((steps, batch, hidden), dtype=dtype)
    cs = xp.empty((steps, batch, hidden), dtype=dtype)
    tanh_cs = xp.empty((steps, batch, hidden), dtype=dtype)
    h, c = h0, c0
    recurrent = xp.empty((batch, width), dtype=dtype)
    cell = rnn_jit.forward_cell(xp, dtype)
    if cell is not None:
        c = rnn_jit.c_array(c0)
    ifo = (slice(0, 2 * hidden), slice(3 * hidden, width))
    g_g, o_g = slice(2 * hidden, 3 * hidden), slice(3 * hidden, width)
    for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
        a = gates[t]
        blas.matmul_on(xp, h, w_t, out=recurrent)
        a += recurrent
        xp.tanh(a, out=a)
        if cell is not None:
            cell(a, c, cs[t])
        else:
            for cols in ifo:
                a[:, cols] += 1
                a[:, cols] *= 0.5
            xp.multiply(a[:, hidden:2 * hidden], c, out=cs[t])
            xp.multiply(a[:, :hidden], a[:, g_g], out=tanh_cs[t])
            cs[t] += tanh_cs[t]
        xp.tanh(cs[t], out=tanh_cs[t])
        xp.multiply(a[:, o_g], tanh_cs[t], out=hs[t])
        h, c = hs[t], cs[t]
    return hs, h.copy(), c.copy(), cs, tanh_cs, gates


def _check(x, h0, c0, w_ih, w_hh, bias):
    if len(x.shape) != 3 or len(w_hh.shape) != 2 or w_hh.shape[0] != 4 * w_hh.shape[1]:
        raise RuntimeError(f"lstm_scan: x must be (T, B, I) and w_hh (4*H, H), got "
                           f"{tuple(x.shape)} and {tuple(w_hh.shape)}")
    steps, batch, size = x.shape
    hidden = w_hh.shape[1]
    for what, meta, shape in (("h0", h0, (batch, hidden)), ("c0", c0, (batch, hidden)),
                              ("w_ih", w_ih, (4 * hidden, size)), ("bias", bias, (4 * hidden,))):
        if tuple(meta.shape) != shape:
            raise RuntimeError(f"lstm_scan: {what} must be {shape}, got {tuple(meta.shape)}")
    for what, meta in (("h0", h0), ("c0", c0), ("w_ih", w_ih), ("w_hh", w_hh), ("bias", bias)):
        if meta.dtype is not x.dtype:
            raise RuntimeError(f"lstm_scan: {what} has dtype {meta.dtype}, expected {x.dtype}")
    return steps, batch, hidden


def _forward_infer(x, h0, c0, w_ih, w_hh, bias, reverse=False):
    steps, batch, hidden = _check(x, h0, c0, w_ih, w_hh, bias)
    every = TensorMeta((steps, batch, hidden), x.dtype)
    final = TensorMeta((batch, hidden), x.dtype)
    return every, final, final, every, every, TensorMeta((steps, batch, 4 * hidden), x.dtype)


def _forward_vjp(ctx, g_hs, g_h, g_c, *unused):
    if grad_mode.is_grad_enabled():  # create_graph=True: gradients that are differentiable
        return _differentiable_vjp(ctx, g_hs, g_h, g_c)
    x, h0, c0, w_ih, w_hh, _ = ctx.inputs
    hs, _, _, cs, tanh_cs, gates = ctx.outputs
    reverse = ctx.attrs["reverse"]
    g_hs = g_hs if g_hs is not None else hs.new_zeros(hs.shape)
    g_h = g_h if g_h is not None else h0.new_zeros(h0.shape)
    g_c = g_c if g_c is not None else c0.new_zeros(c0.shape)
    d_gates, d_h0, d_c0 = call(LSTM_SCAN_BACKWARD, g_hs, g_h, g_c, c0, w_hh, cs, tanh_cs,
                               gates, reverse=reverse)
    width, hidden = w_hh.shape
    need_x, _, _, need_w_ih, need_w_hh, need_bias = ctx.needs_input_grad
    d_w_hh = None
    if need_w_hh:
        # h_prev of every step: h0 at the first step walked, else the neighbouring output;
        # the big product accumulates onto the small one (no pass to add them)
        first, rest, prev = (d_gates[-1], d_gates[:-1], hs[1:]) if reverse else \
            (d_gates[0], d_gates[1:], hs[:-1])
        d_w_hh = call(ADDMM, first.t() @ h0, rest.reshape(-1, width).t(),
                      prev.reshape(-1, hidden))
    d_x, d_w_ih, d_bias = _input_grads(x, w_ih, d_gates, need_x, need_w_ih, need_bias)
    return d_x, d_h0, d_c0, d_w_ih, d_w_hh, d_bias


def _input_grads(x, w_ih, d_gates, need_x, need_w_ih, need_bias):
    """Gradients of x, w_ih and the bias from the pre-activation gate gradients
    (T, B, 4H) of every step (None where not needed): one GEMM each over all steps."""
    steps, batch, size = x.shape
    flat = d_gates.reshape(steps * batch, d_gates.shape[-1])
    return ((flat @ w_ih).reshape(steps, batch, size) if need_x else None,
            flat.t() @ x.reshape(steps * batch, size) if need_w_ih else None,
            flat.sum(0) if need_bias else None)


def _differentiable_vjp(ctx, g_hs, g_h, g_c):
    """The vjp as graphtorch ops, for a backward with create_graph=True (a gradient
    penalty, a Hessian-vector product): the recurrence is run again step by step from the
    saved inputs (the saved gates and cells carry no history) and its gradients are written
    out per step, so every op of it is differentiable again, as PyTorch's LSTM is."""
    x, h0, c0, w_ih, w_hh, bias = ctx.inputs
    reverse = ctx.attrs["reverse"]
    steps, hidden = x.shape[0], h0.shape[-1]
    gates_x = x @ w_ih.t() + bias
    order = list(range(steps - 1, -1, -1) if reverse else range(steps))
    w_t = w_hh.t()
    h, c, saved = h0, c0, {}
    for t in order:
        a = gates_x[t] + h @ w_t
        i, f = a[:, :hidden].sigmoid(), a[:, hidden:2 * hidden].sigmoid()
        g, o = a[:, 2 * hidden:3 * hidden].tanh(), a[:, 3 * hidden:].sigmoid()
        c_next = f * c + i * g
        tanh_c = c_next.tanh()
        saved[t] = (i, f, g, o, c, tanh_c, h)
        h, c = o * tanh_c, c_next
    dh = g_h if g_h is not None else h0.new_zeros(h0.shape)
    dc = g_c if g_c is not None else c0.new_zeros(c0.shape)
    d_gates, d_w = [None] * steps, None
    for t in reversed(order):
        i, f, g, o, c_prev, tanh_c, h_prev = saved[t]
        if g_hs is not None:
            dh = dh + g_hs[t]
        dc = dc + dh * o * (1 - tanh_c * tanh_c)
        d_a = call(CAT, [dc * g * i * (1 - i), dc * c_prev * f * (1 - f),
                         dc * i * (1 - g * g), dh * tanh_c * o * (1 - o)], dim=1)
        d_gates[t] = d_a
        d_w = d_a.t() @ h_prev if d_w is None else d_w + d_a.t() @ h_prev
        dh, dc = d_a @ w_hh, dc * f
    d_x, d_w_ih, d_bias = _input_grads(x, w_ih, call(STACK, d_gates), True, True, True)
    return d_x, dh, dc, d_w_ih, d_w, d_bias


def _backward_kernel(xp, g_hs, g_h, g_c, c0, w_hh, cs, tanh_cs, gates, reverse=False):
    if xp is np:
        native = rnn_native.backward(g_hs, g_h, g_c, c0, w_hh, cs, tanh_cs, gates, reverse)
        if native is not None:
            return native
    steps, batch, width = gates.shape
    hidden = width // 4
    dtype = gates.dtype
    d_gates = xp.empty((steps, batch, width), dtype=dtype)
    # the gradients reaching h_t and c_t from step t+1 (from h_n and c_n at the last step)
    dh = xp.array(g_h, dtype=dtype, order="C")
    dc = xp.array(g_c, dtype=dtype, order="C")
    cell = rnn_jit.backward_cell(xp, dtype)
    if cell is not None:
        g_hs, c0, cs, tanh_cs, gates = (rnn_jit.c_array(a) for a in (
            g_hs, c0, cs, tanh_cs, gates))
    tmp = None if cell is not None else xp.empty((batch, hidden), dtype=dtype)
    order = range(steps) if reverse else range(steps - 1, -1, -1)
    last = order[-1]
    i_g, f_g, g_g, o_g = (slice(k * hidden, (k + 1) * hidden) for k in range(4))
    for t in order:
        c_prev = c0 if t == last else cs[t + 1 if reverse else t - 1]
        a, d = gates[t], d_gates[t]
        if cell is not None:
            cell(a, c_prev, tanh_cs[t], g_hs[t], dh, dc, d)
        else:
            _backward_cell_numpy(xp, a, c_prev, tanh_cs[t], g_hs[t], dh, dc, d,
                                 (i_g, f_g, g_g, o_g), tmp)
        blas.matmul_on(xp, d, w_hh, out=dh)
    return d_gates, dh, dc


def _backward_cell_numpy(xp, a, c_prev, tanh_c, g_h, dh, dc, d, chunks, tmp):
    """One step back through the cell: d <- the gate gradients (pre-activation);
    dc <- the gradient reaching c_prev. `dh` holds the gradient from the next step."""
    i_g, f_g, g_g, o_g = chunks
    i, f, g, o = a[:, i_g], a[:, f_g], a[:, g_g], a[:, o_g]
    dh += g_h                                  # total gradient of h_t
    xp.multiply(tanh_c, tanh_c, out=tmp)       # dc += dh * o * (1 - tanh(c)^2)
    xp.subtract(1, tmp, out=tmp)
    tmp *= o
    tmp *= dh
    dc += tmp
    do = d[:, o_g]                             # do = dh * tanh(c) * o * (1 - o)
    xp.subtract(1, o, out=do)
    do *= o
    do *= tanh_c
    do *= dh
    di = d[:, i_g]                             # di = dc * g * i * (1 - i)
    xp.subtract(1, i, out=di)
    di *= i
    di *= g
    di *= dc
    df = d[:, f_g]                             # df = dc * c_prev * f * (1 - f)
    xp.subtract(1, f, out=df)
    df *= f
    df *= c_prev
    df *= dc
    dg = d[:, g_g]                             # dg = dc * i * (1 - g^2)
    xp.multiply(g, g, out=dg)
    xp.subtract(1, dg, out=dg)
    dg *= i
    dg *= dc
    dc *= f                                    # the gradient reaching c_{t-1}


def _backward_infer(g_hs, g_h, g_c, c0, w_hh, cs, tanh_cs, gates, reverse=False):
    return TensorMeta(tuple(gates.shape), gates.dtype), g_h, g_c


def _backward_vjp(ctx, *grads):
    # unreachable through lstm_scan: its vjp uses this op only when create_graph is off
    raise RuntimeError("the derivative for 'lstm_scan_backward' is not implemented; "
                       "differentiate lstm_scan with create_graph=True instead")


LSTM_SCAN = register(OpDef(
    "lstm_scan", Category.OPAQUE, _forward_kernel, _forward_infer, _forward_vjp,
    save_inputs=(0, 1, 2, 3, 4, 5), save_output=True, num_outputs=6,
    differentiable_outputs=(0, 1, 2), result_layout=ResultLayout.CONTIGUOUS,
    backward_name="LstmScanBackward0",
    doc="LSTM layer recurrence over time-major x (T, B, I) from h0, c0 (B, H) with w_ih "
        "(4H, I), w_hh (4H, H) and bias (4H) = b_ih + b_hh; returns h of every step, the "
        "final h and c, then (saved for the backward) c and tanh(c) of every step and the "
        "activated gates"))

LSTM_SCAN_BACKWARD = register(OpDef(
    "lstm_scan_backward", Category.OPAQUE, _backward_kernel, _backward_infer, _backward_vjp,
    num_outputs=3, differentiable_outputs=(0, 1, 2), result_layout=ResultLayout.CONTIGUOUS,
    doc="gradients of lstm_scan from those of its h of every step, final h and final c: "
        "pre-activation gates of every step, h0 and c0"))
