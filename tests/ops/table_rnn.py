"""Op-table rows: the fused LSTM recurrence `lstm_scan` (forward and reverse); its gradient
rows exercise `lstm_scan_backward`. PyTorch's side is the same recurrence as a loop of
torch ops (its LSTM cell: gates i, f, g, o)."""

from __future__ import annotations

from .harness import Row


def _reference(lib, x, h0, c0, w_ih, w_hh, bias, reverse):
    gates_x = x @ w_ih.t() + bias
    h, c = h0, c0
    hs, cs = [None] * gates_x.shape[0], [None] * gates_x.shape[0]
    steps = range(gates_x.shape[0] - 1, -1, -1) if reverse else range(gates_x.shape[0])
    for t in steps:
        i, f, g, o = (gates_x[t] + h @ w_hh.t()).chunk(4, 1)
        c = f.sigmoid() * c + i.sigmoid() * g.tanh()
        h = o.sigmoid() * c.tanh()
        hs[t], cs[t] = h, c
    return lib.stack(hs), h, c


def lstm_scan(reverse):
    def fn(lib, x, h0, c0, w_ih, w_hh, bias):
        if lib.__name__ != "graphtorch":
            return _reference(lib, x, h0, c0, w_ih, w_hh, bias, reverse)
        from graphtorch.ops.dispatch import call
        from graphtorch.ops.rnn import LSTM_SCAN

        hs, h_n, c_n, *_ = call(LSTM_SCAN, x, h0, c0, w_ih, w_hh, bias, reverse=reverse)
        return hs, h_n, c_n
    return fn


def lstm_scan_grads(reverse):
    """The first-order gradients (x, h0, c0, w_ih, w_hh, bias) of sum(hs * cot), computed inside
    the function: a trace of it holds lstm_scan_backward. Not differentiated again (the
    fused recurrence has no double backward)."""
    forward = lstm_scan(reverse)

    def fn(lib, *inputs):
        *args, cot = inputs
        diff = [a.detach().requires_grad_() for a in args]
        hs = forward(lib, *diff)[0]
        return lib.autograd.grad((hs * cot).sum(), diff)
    return fn


FLOATS = ("float32", "float64")
# (x (T, B, I), h0, c0, w_ih (4H, I), w_hh (4H, H), bias (4H))
CASES = [((4, 3, 5), (3, 2), (3, 2), (8, 5), (8, 2), (8,)),
         ((1, 2, 1), (2, 1), (2, 1), (4, 1), (4, 1), (4,)),
         ((3, 1, 2), (1, 3), (1, 3), (12, 2), (12, 3), (12,))]

ROWS = [
    Row(("lstm_scan", "lstm_scan_backward"), lstm_scan(False), CASES, dtypes=FLOATS,
        name="lstm_scan"),
    Row(("lstm_scan", "lstm_scan_backward"), lstm_scan(True), CASES, dtypes=FLOATS,
        name="lstm_scan_reverse"),
    Row("lstm_scan_backward", lstm_scan_grads(False),
        [case + (case[0][:2] + (case[1][1],),) for case in CASES], dtypes=FLOATS, grad=False,
        name="lstm_scan_backward"),
    Row("lstm_scan_backward", lstm_scan_grads(True), [CASES[0] + ((4, 3, 2),)], grad=False,
        name="lstm_scan_backward_reverse"),
]
