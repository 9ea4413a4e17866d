"""nn.RNN/GRU trace into gt.scan, nn.LSTM into the fused `lstm_scan` recurrence (gt.scan with
proj_size): graph size does not grow with the sequence length, and compiled values and
gradients equal eager."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt


def _model(kind, bidirectional):
    gt.manual_seed(0)
    cls = {"RNN": gt.nn.RNN, "LSTM": gt.nn.LSTM, "GRU": gt.nn.GRU}[kind]
    return cls(5, 6, num_layers=2, batch_first=True, bidirectional=bidirectional)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_rnn_traces_to_scan_and_matches_eager(kind, bidirectional):
    rnn = _model(kind, bidirectional)

    def f(x):
        out, h = rnn(x)
        h = h[0] if kind == "LSTM" else h
        return out.sum(dim=1), h

    sizes = []
    for length in (3, 11):
        graph = gt.trace(f, gt.randn(2, length, 5), optimize=False).graph
        loop = "lstm_scan" if kind == "LSTM" else "scan"
        assert sum(n.op.name == loop for n in graph.op_nodes) == (4 if bidirectional else 2)
        sizes.append(len(graph.op_nodes))
    assert sizes[0] == sizes[1]  # the unrolled trace would grow with the length

    cf = gt.compile(f)
    x = gt.randn(2, 7, 5, dtype=gt.float32, requires_grad=True)
    out, h = cf(x)
    (out.sum() + h.sum()).backward()
    got = [x.grad.numpy().copy()] + [p.grad.numpy().copy() for p in rnn.parameters()]
    x.grad = None
    rnn.zero_grad()
    out_e, h_e = f(x)
    (out_e.sum() + h_e.sum()).backward()
    want = [x.grad.numpy()] + [p.grad.numpy() for p in rnn.parameters()]
    np.testing.assert_allclose(out.detach().numpy(), out_e.detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)
