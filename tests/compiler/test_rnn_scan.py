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


@pytest.mark.parametrize("jit", ["0", "sync"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_compiled_lstm_matches_torch(monkeypatch, jit, bidirectional):
    """Values and every gradient (input, h0, c0, weights) of the fused recurrence against
    PyTorch, with gradients entering through the output, h_n and c_n; on the Numba cells
    and on the NumPy ones."""
    torch = pytest.importorskip("torch")
    if jit == "sync":
        pytest.importorskip("numba")
    else:
        from graphtorch.ops import rnn_jit

        for handle in [h for pair in rnn_jit._KERNELS.values() for h in pair]:
            monkeypatch.setattr(handle, "kernel", None)
            monkeypatch.setattr(handle, "_future", None)
    monkeypatch.setenv("GRAPHTORCH_JIT", jit)
    torch.manual_seed(0)
    t_lstm = torch.nn.LSTM(6, 8, num_layers=2, batch_first=True, bidirectional=bidirectional)
    g_lstm = gt.nn.LSTM(6, 8, num_layers=2, batch_first=True, bidirectional=bidirectional)
    g_lstm.load_state_dict({k: gt.from_numpy(v.detach().numpy().copy())
                            for k, v in t_lstm.state_dict().items()})
    rng = np.random.default_rng(0)
    states = 4 if bidirectional else 2
    arrays = [rng.standard_normal(s).astype(np.float32)
              for s in ((3, 9, 6), (states, 3, 8), (states, 3, 8))]

    def loss(lstm, x, h0, c0):
        out, (h, c) = lstm(x, (h0, c0))
        return out.square().mean() + (h * 1.5).sum() + (c * c).sum()

    t_in = [torch.from_numpy(a).requires_grad_() for a in arrays]
    loss(t_lstm, *t_in).backward()
    g_in = [gt.from_numpy(a.copy()).requires_grad_() for a in arrays]
    compiled = gt.compile(lambda *a: loss(g_lstm, *a))
    for _ in range(2):  # the second call runs the cached program
        for t in g_in:
            t.grad = None
        g_lstm.zero_grad()
        value = compiled(*g_in)
        value.backward()
    assert any(n.op.name == "lstm_scan"
               for n in compiled.variants[0].executable.forward_graph.op_nodes)
    np.testing.assert_allclose(value.item(), loss(t_lstm, *t_in).item(), rtol=1e-5)
    pairs = [(g.grad, t.grad) for g, t in zip(g_in, t_in)]
    pairs += [(g_lstm.get_parameter(k).grad, p.grad) for k, p in t_lstm.named_parameters()]
    for got, want in pairs:
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-4, atol=1e-5)


def test_projected_lstm_still_traces_to_scan():
    gt.manual_seed(0)
    lstm = gt.nn.LSTM(5, 6, proj_size=3, batch_first=True)
    x = gt.randn(2, 4, 5, requires_grad=True)
    graph = gt.trace(lambda x: lstm(x)[0], x, optimize=False).graph
    assert [n.op.name for n in graph.op_nodes].count("scan") == 1
    out = gt.compile(lambda x: lstm(x)[0].sum())(x)
    out.backward()
    got = x.grad.numpy().copy()
    x.grad = None
    lstm(x)[0].sum().backward()
    np.testing.assert_allclose(out.item(), lstm(x)[0].sum().item(), rtol=1e-5)
    np.testing.assert_allclose(got, x.grad.numpy(), rtol=1e-4, atol=1e-6)
