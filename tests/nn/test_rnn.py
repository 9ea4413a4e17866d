"""RNN, LSTM, GRU and their cells against PyTorch: seeded weights, outputs, final states,
input/state gradients and every parameter gradient (batch_first, several layers,
bidirectional, projections, unbatched inputs, inter-layer dropout), plus the errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import graphtorch as gt

from . import build, close, compare_module, npy, same_error, same_state, torch

RNG = np.random.default_rng(0)


def _x(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


CONFIGS = [
    dict(),
    dict(num_layers=2),
    dict(bidirectional=True),
    dict(num_layers=3, bidirectional=True),
    dict(batch_first=True),
    dict(batch_first=True, num_layers=2, bidirectional=True),
    dict(bias=False),
    dict(bias=False, num_layers=2, batch_first=True),
]


def _rnn(kind, kwargs):
    def make(lib):
        if kind == "RNN_relu":
            return lib.nn.RNN(3, 4, nonlinearity="relu", **kwargs)
        return getattr(lib.nn, kind)(3, 4, **kwargs)
    return make


def _input(kwargs, seq=5, batch=2):
    return _x(batch, seq, 3) if kwargs.get("batch_first") else _x(seq, batch, 3)


@pytest.mark.parametrize("config", CONFIGS, ids=str)
@pytest.mark.parametrize("kind", ["RNN", "RNN_relu", "LSTM", "GRU"])
def test_recurrent_layers_without_initial_state(kind, config):
    compare_module(_rnn(kind, config), [_input(config)], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("config", CONFIGS[:6], ids=str)
@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_recurrent_layers_with_initial_state(kind, config):
    layers = config.get("num_layers", 1) * (2 if config.get("bidirectional") else 1)
    h0 = _x(layers, 2, 4)
    if kind == "LSTM":
        c0 = _x(layers, 2, 4)
        call = (lambda m, x, h, c: m(x, (h, c)))
        compare_module(_rnn(kind, config), [_input(config), h0, c0], call=call)
    else:
        compare_module(_rnn(kind, config), [_input(config), h0])


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_unbatched_inputs(kind, batch_first):
    config = dict(num_layers=2, bidirectional=True, batch_first=batch_first)
    compare_module(_rnn(kind, config), [_x(5, 3)])
    h0 = _x(4, 4)
    if kind == "LSTM":
        compare_module(_rnn(kind, config), [_x(5, 3), h0, _x(4, 4)],
                       call=lambda m, x, h, c: m(x, (h, c)))
    else:
        compare_module(_rnn(kind, config), [_x(5, 3), h0])


@pytest.mark.parametrize("config", [dict(), dict(num_layers=2, bidirectional=True),
                                    dict(batch_first=True, bias=False)], ids=str)
def test_lstm_with_projection(config):
    make = lambda lib: lib.nn.LSTM(3, 5, proj_size=2, **config)
    tm, gm = compare_module(make, [_input(config)])
    assert [n for n, _ in gm.named_parameters()] == [n for n, _ in tm.named_parameters()]
    assert repr(gm) == repr(tm)


def test_float64_and_long_sequences():
    compare_module(lambda lib: lib.nn.LSTM(3, 4, num_layers=2, dtype=lib.float64),
                   [RNG.standard_normal((30, 2, 3))], rtol=1e-9, atol=1e-10)
    compare_module(lambda lib: lib.nn.GRU(3, 4), [_x(40, 1, 3)], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_inter_layer_dropout_train_and_eval(kind):
    config = dict(num_layers=3, dropout=0.4)
    compare_module(_rnn(kind, config), [_input(config)], seed=7)
    compare_module(_rnn(kind, config), [_input(config)], seed=7, train=False)


def test_names_shapes_and_all_weights():
    tm, gm = build(_rnn("LSTM", dict(num_layers=2, bidirectional=True)))
    same_state(gm, tm)
    assert [[tuple(p.shape) for p in ws] for ws in gm.all_weights] == \
        [[tuple(p.shape) for p in ws] for ws in tm.all_weights]
    assert gm._flat_weights_names == tm._flat_weights_names
    gm.flatten_parameters()
    assert repr(gm) == repr(tm)


def test_state_dict_transfer_from_torch():
    torch.manual_seed(3)
    tm = torch.nn.GRU(3, 4, num_layers=2, batch_first=True)
    gm = gt.nn.GRU(3, 4, num_layers=2, batch_first=True)
    gm.load_state_dict({k: gt.tensor(npy(v)) for k, v in tm.state_dict().items()})
    x = _x(2, 6, 3)
    t_out, t_h = tm(torch.tensor(x))
    g_out, g_h = gm(gt.tensor(x))
    close(g_out, t_out, 1e-5, 1e-6)
    close(g_h, t_h, 1e-5, 1e-6)


# --- cells ---------------------------------------------------------------------------------------

CELLS = ["RNNCell(3, 4)", "RNNCell(3, 4, nonlinearity='relu')", "RNNCell(3, 4, bias=False)",
         "LSTMCell(3, 4)", "LSTMCell(3, 4, bias=False)", "GRUCell(3, 4)",
         "GRUCell(3, 4, bias=False)"]


@pytest.mark.parametrize("expr", CELLS)
@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("batched", [True, False])
def test_cells(expr, with_state, batched):
    make = lambda lib: eval("nn." + expr, {"nn": lib.nn})
    x = _x(5, 3) if batched else _x(3)
    hshape = (5, 4) if batched else (4,)
    if not with_state:
        compare_module(make, [x])
    elif expr.startswith("LSTM"):
        compare_module(make, [x, _x(*hshape), _x(*hshape)],
                       call=lambda m, x, h, c: m(x, (h, c)))
    else:
        compare_module(make, [x, _x(*hshape)])


def test_cell_unrolled_equals_layer():
    """An LSTMCell stepped over time gives the LSTM layer's output (same weights)."""
    gt.manual_seed(0)
    layer = gt.nn.LSTM(3, 4)
    cell = gt.nn.LSTMCell(3, 4)
    with gt.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).copy_(getattr(layer, name + "_l0"))
    x = gt.tensor(_x(6, 2, 3))
    out, (_, c) = layer(x)
    state = None
    steps = []
    for t in range(6):
        state = cell(x[t], state)
        steps.append(state[0])
    np.testing.assert_allclose(npy(gt.stack(steps)), npy(out), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(npy(state[1]), npy(c[0]), rtol=1e-6, atol=1e-6)


# --- errors and warnings -------------------------------------------------------------------

ERRORS = [
    lambda lib: lib.nn.LSTM(3, 4)(lib.ones(2, 5)),          # unbatched, wrong input size
    lambda lib: lib.nn.LSTM(3, 4)(lib.ones(5, 2, 2)),
    lambda lib: lib.nn.LSTM(3, 4)(lib.ones(1, 5, 2, 3)),
    lambda lib: lib.nn.GRU(3, 4)(lib.ones(5, 2, 3), lib.zeros(1, 3, 4)),
    lambda lib: lib.nn.GRU(3, 4)(lib.ones(5, 2, 3), lib.zeros(2, 4)),
    lambda lib: lib.nn.RNN(3, 4)(lib.ones(5, 3), lib.zeros(1, 1, 4)),
    lambda lib: lib.nn.RNN(3, 4)(lib.ones(5, 2, 3, 1)),
    lambda lib: lib.nn.LSTM(3, 4)(lib.ones(5, 2, 3), (lib.zeros(1, 2, 4), lib.zeros(1, 2, 5))),
    lambda lib: lib.nn.LSTM(3, 4)(lib.ones(5, 2, 3), (lib.zeros(1, 3, 4), lib.zeros(1, 2, 4))),
    lambda lib: lib.nn.LSTM(3, 4)(lib.ones(5, 2, 3), (lib.zeros(2, 4), lib.zeros(1, 2, 4))),
    lambda lib: lib.nn.LSTM(3, 4)(lib.ones(5, 3), (lib.zeros(1, 2, 4), lib.zeros(1, 4))),
    lambda lib: lib.nn.LSTM(3, 4)(lib.ones(5, 2, 3, dtype=lib.float64)),
    lambda lib: lib.nn.RNN(3, 4, nonlinearity="gelu"),
    lambda lib: lib.nn.RNN(3, 4, proj_size=2),
    lambda lib: lib.nn.GRU(3, 4, proj_size=2),
    lambda lib: lib.nn.LSTM(3, 4, proj_size=4),
    lambda lib: lib.nn.LSTM(3, 4, proj_size=-1),
    lambda lib: lib.nn.LSTM(3, 4, dropout=1.5),
    lambda lib: lib.nn.LSTM(3, 4, dropout=True),
    lambda lib: lib.nn.LSTM(3, 0),
    lambda lib: lib.nn.LSTM(0, 3),
    lambda lib: lib.nn.LSTM(3, 4, num_layers=0),
    lambda lib: lib.nn.LSTM(3.0, 4),
    lambda lib: lib.nn.LSTM(3, 4, bias=1),
    lambda lib: lib.nn.LSTM(3, 4, batch_first=None),
    lambda lib: lib.nn.RNNCell(3, 4)(lib.ones(2, 3, 1)),
    lambda lib: lib.nn.RNNCell(3, 4)(lib.ones(2, 3), lib.ones(2, 4, 1)),
    lambda lib: lib.nn.RNNCell(3, 4)(lib.ones(2, 5)),
    lambda lib: lib.nn.RNNCell(3, 4)(lib.ones(2, 3), lib.ones(3, 4)),
    lambda lib: lib.nn.GRUCell(3, 4)(lib.ones(2, 3), lib.ones(2, 5)),
    lambda lib: lib.nn.LSTMCell(3, 4)(lib.ones(2, 3), (lib.ones(2, 4), lib.ones(2, 4, 1))),
    lambda lib: lib.nn.LSTMCell(3, 4)(lib.ones(2, 3), (lib.ones(2, 4), lib.ones(3, 4))),
    lambda lib: lib.nn.RNNCell(3, 4, nonlinearity="gelu")(lib.ones(2, 3)),
]


@pytest.mark.parametrize("index", range(len(ERRORS)))
def test_errors_match_torch(index):
    same_error(ERRORS[index])


def test_dropout_single_layer_warning():
    messages = []
    for lib in (torch, gt):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            lib.nn.GRU(3, 4, dropout=0.2)
        messages.append([(w.category, str(w.message)) for w in caught])
    assert messages[1] == messages[0]


@pytest.fixture
def native_tier(monkeypatch):
    """GRAPHTORCH_JIT=sync: LSTM layers run the g++ loop over time (threads, in-register
    GEMM) when a compiler exists, else this is the NumPy path once more."""
    monkeypatch.setenv("GRAPHTORCH_JIT", "sync")
    from graphtorch import native_build
    from graphtorch.ops import rnn_native
    if native_build.compiler() is not None:
        assert rnn_native._functions(np.float32) is not None


def _random_lstm_cases():
    rng = np.random.default_rng(11)
    for _ in range(12):
        config = dict(num_layers=int(rng.integers(1, 3)), bidirectional=bool(rng.integers(2)),
                      batch_first=bool(rng.integers(2)), bias=bool(rng.integers(0, 4)))
        sizes = (int(rng.integers(1, 9)), int(rng.integers(1, 41)), int(rng.integers(1, 8)),
                 int(rng.integers(1, 10)))
        yield config, sizes


@pytest.mark.parametrize("config, sizes", list(_random_lstm_cases()), ids=str)
def test_random_lstms_on_the_native_tier_match_torch_eager_and_compiled(native_tier, config,
                                                                         sizes):
    """Random LSTM layers (input/hidden sizes that hit every GEMM tile and tail, layers,
    directions, layouts) on the native tier: outputs and every gradient as PyTorch's, and
    a compiled forward+backward as eager."""
    inp, hidden, seq, batch = sizes

    def make(lib):
        return lib.nn.LSTM(inp, hidden, **config)

    shape = (batch, seq, inp) if config["batch_first"] else (seq, batch, inp)
    x = RNG.standard_normal(shape).astype(np.float32)
    _, layer = compare_module(make, [x], rtol=2e-5, atol=2e-5)

    def loss_of(t):
        out, (h, c) = layer(t)
        return out.square().mean() + h.sum() + c.abs().sum()

    def step(t):
        layer.zero_grad()
        loss = loss_of(t)
        loss.backward()
        return loss, t.grad

    compiled = gt.compile(step)
    for _ in range(2):
        xe, xc = gt.tensor(x, requires_grad=True), gt.tensor(x, requires_grad=True)
        le, ge = step(xe)
        we = [p.grad.numpy().copy() for p in layer.parameters()]
        lc, gc = compiled(xc)
        np.testing.assert_allclose(lc.item(), le.item(), rtol=2e-5, atol=2e-5)
        np.testing.assert_allclose(gc.numpy(), ge.numpy(), rtol=2e-5, atol=2e-5)
        for p, w in zip(layer.parameters(), we):
            np.testing.assert_allclose(p.grad.numpy(), w, rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("config", [dict(), dict(num_layers=2, bidirectional=True),
                                    dict(batch_first=True, bias=False)], ids=str)
@pytest.mark.parametrize("tier", ["numpy", "native"])
def test_lstm_double_backward_matches_torch(monkeypatch, config, tier):
    """A gradient penalty through an eager LSTM (the fused recurrence): grad with
    create_graph=True, then backward through it; input and weight gradients as PyTorch's."""
    monkeypatch.setenv("GRAPHTORCH_JIT", "sync" if tier == "native" else "0")

    def make(lib):
        return lib.nn.LSTM(3, 5, **config)

    tm, gm = build(make, 0)
    shape = (2, 4, 3) if config.get("batch_first") else (4, 2, 3)
    x = RNG.standard_normal(shape).astype(np.float32)
    results = []
    for lib, module in ((torch, tm), (gt, gm)):
        xt = lib.tensor(x.copy(), requires_grad=True)
        out, (h, c) = module(xt)
        loss = out.square().sum() + h.sum() * 0.5 + c.sum()
        (gx,) = lib.autograd.grad(loss, xt, create_graph=True)
        (gx.square().sum() + loss).backward()
        results.append([npy(xt.grad)] + [npy(p.grad) for p in module.parameters()])
    for theirs, ours in zip(*results):
        close(ours, theirs, rtol=2e-4, atol=2e-5)
