"""`gt.nn.utils.rnn` against `torch.nn.utils.rnn`: pad/pack/unpack round trips (values,
dtypes, indices, gradients), their errors, and RNN/LSTM/GRU run on PackedSequences (outputs,
h_n/c_n in the caller's order, gradients w.r.t. inputs, initial states and weights)."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.nn.utils import rnn as grnn

from . import close, compare_module, npy, same_error, torch

trnn = torch.nn.utils.rnn
RNG = np.random.default_rng(0)


def _x(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def _utils(t):
    """The rnn utils module of the library that made tensor `t`."""
    return trnn if isinstance(t, torch.Tensor) else grnn


def _lib(t):
    return torch if isinstance(t, torch.Tensor) else gt


def _both(arrays, grad=True):
    """The same NumPy arrays as (torch tensors, graphtorch tensors)."""
    return ([torch.tensor(a.copy(), requires_grad=grad and a.dtype.kind == "f") for a in arrays],
            [gt.tensor(a.copy(), requires_grad=grad and a.dtype.kind == "f") for a in arrays])


def _backward_and_compare(t_out, g_out, t_in, g_in):
    cot = RNG.uniform(-1, 1, size=tuple(t_out.shape)).astype(npy(t_out).dtype)
    (t_out * torch.tensor(cot)).sum().backward()
    (g_out * gt.tensor(cot)).sum().backward()
    for i, (g, t) in enumerate(zip(g_in, t_in)):
        close(g.grad, t.grad, what=f"grad of input {i}")


def _same_packed(g, t):
    assert type(g).__name__ == "PackedSequence" and isinstance(g, tuple)
    close(g.data, t.data, what="data")
    close(g.batch_sizes, t.batch_sizes, what="batch_sizes")
    for name in ("sorted_indices", "unsorted_indices"):
        ours, theirs = getattr(g, name), getattr(t, name)
        assert (ours is None) == (theirs is None), name
        if theirs is not None:
            close(ours, theirs, what=name)


# --- pad_sequence ----------------------------------------------------------------------------

LENGTHS = [[4, 2, 5], [3], [1, 1], [0, 2, 3]]


@pytest.mark.parametrize("lengths", LENGTHS, ids=str)
@pytest.mark.parametrize("trailing", [(), (3,), (2, 3)], ids=str)
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_pad_sequence(lengths, trailing, batch_first, padding_side):
    t_in, g_in = _both([_x(n, *trailing) for n in lengths])
    kwargs = {"batch_first": batch_first, "padding_value": -2.5, "padding_side": padding_side}
    t_out = trnn.pad_sequence(t_in, **kwargs)
    g_out = grnn.pad_sequence(g_in, **kwargs)
    close(g_out, t_out, 0, 0)
    assert g_out.is_contiguous()
    _backward_and_compare(t_out, g_out, t_in, g_in)


def test_pad_sequence_dtypes_and_iterables():
    ints = [np.array([1, 2, 3]), np.array([4])]
    for padding_value in (-1, 1.5):
        close(grnn.pad_sequence([gt.tensor(a) for a in ints], padding_value=padding_value),
              trnn.pad_sequence([torch.tensor(a) for a in ints], padding_value=padding_value))
    mixed = (np.ones(2, np.float32), np.ones(3, np.float64))
    close(grnn.pad_sequence([gt.tensor(a) for a in mixed]),
          trnn.pad_sequence([torch.tensor(a) for a in mixed]))
    bools = [np.array([True, False]), np.array([True])]
    close(grnn.pad_sequence([gt.tensor(a) for a in bools], batch_first=True),
          trnn.pad_sequence([torch.tensor(a) for a in bools], batch_first=True))
    rows = _x(2, 3)  # a tensor is an iterable of its rows
    close(grnn.pad_sequence(gt.tensor(rows)), trnn.pad_sequence(torch.tensor(rows)))
    close(grnn.pad_sequence(gt.tensor(r) for r in rows),
          trnn.pad_sequence(torch.tensor(r) for r in rows))


# --- pack_padded_sequence / pad_packed_sequence ----------------------------------------------

PACK_CASES = [([5, 3, 3, 1], True), ([2, 5, 1, 4], False), ([3], True), ([1, 4, 4], False),
              ([5, 5], True)]


@pytest.mark.parametrize("lengths,enforce_sorted", PACK_CASES, ids=str)
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("lengths_as", ["list", "tensor", "int32"])
def test_pack_padded_sequence(lengths, enforce_sorted, batch_first, lengths_as):
    steps, batch = 5, len(lengths)
    x = _x(batch, steps, 2) if batch_first else _x(steps, batch, 2)
    (tx,), (gx,) = _both([x])

    def as_lengths(lib):
        if lengths_as == "list":
            return lengths
        return lib.tensor(lengths, dtype=lib.int64 if lengths_as == "tensor" else lib.int32)

    t_packed = trnn.pack_padded_sequence(tx, as_lengths(torch), batch_first, enforce_sorted)
    g_packed = grnn.pack_padded_sequence(gx, as_lengths(gt), batch_first, enforce_sorted)
    _same_packed(g_packed, t_packed)
    assert repr(g_packed._replace(data=g_packed.data.detach())) == \
        repr(t_packed._replace(data=t_packed.data.detach()))
    _backward_and_compare(t_packed.data, g_packed.data, [tx], [gx])


@pytest.mark.parametrize("lengths,enforce_sorted", PACK_CASES, ids=str)
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("total_length", [None, 7])
def test_pad_packed_sequence_round_trip(lengths, enforce_sorted, batch_first, total_length):
    steps, batch = max(lengths), len(lengths)
    x = _x(batch, steps, 3) if batch_first else _x(steps, batch, 3)
    (tx,), (gx,) = _both([x])
    outs = []
    for lib, utils, inp in ((torch, trnn, tx), (gt, grnn, gx)):
        packed = utils.pack_padded_sequence(inp, lengths, batch_first, enforce_sorted)
        outs.append(utils.pad_packed_sequence(packed, batch_first, padding_value=9.0,
                                              total_length=total_length))
    (t_out, t_len), (g_out, g_len) = outs
    close(g_out, t_out, 0, 0)
    close(g_len, t_len)
    assert g_len.device.type == "cpu"
    _backward_and_compare(t_out, g_out, [tx], [gx])


def test_pack_sequence_unpack_and_unpad():
    seqs = [_x(n, 2) for n in (2, 4, 1)]
    t_in, g_in = _both(seqs)
    t_packed = trnn.pack_sequence(t_in, enforce_sorted=False)
    g_packed = grnn.pack_sequence(g_in, enforce_sorted=False)
    _same_packed(g_packed, t_packed)
    t_back, g_back = trnn.unpack_sequence(t_packed), grnn.unpack_sequence(g_packed)
    assert len(g_back) == len(t_back) == 3
    for g, t, a in zip(g_back, t_back, seqs):
        close(g, t, 0, 0)
        np.testing.assert_array_equal(npy(g), a)
    _backward_and_compare(t_back[1], g_back[1], t_in, g_in)
    ints = [gt.tensor([1, 2, 3]), gt.tensor([4, 5]), gt.tensor([6])]
    assert repr(grnn.pack_sequence(ints)) == repr(trnn.pack_sequence(
        [torch.tensor([1, 2, 3]), torch.tensor([4, 5]), torch.tensor([6])]))
    for batch_first in (False, True):
        padded = _x(3, 4, 2) if batch_first else _x(4, 3, 2)
        kept = padded.copy()
        g_parts = grnn.unpad_sequence(gt.tensor(padded), gt.tensor([4, 1, 3]), batch_first)
        t_parts = trnn.unpad_sequence(torch.tensor(padded), torch.tensor([4, 1, 3]),
                                      batch_first)
        for g, t in zip(g_parts, t_parts, strict=True):
            close(g, t, 0, 0)
        np.testing.assert_array_equal(padded, kept)


def test_packed_sequence_tuple_and_to():
    packed = grnn.pack_sequence([gt.ones(3), gt.ones(2)], enforce_sorted=False)
    data, batch_sizes, sorted_indices, unsorted_indices = packed
    assert packed._fields == trnn.PackedSequence._fields
    assert batch_sizes.dtype == gt.int64 and sorted_indices.tolist() == [0, 1]
    assert packed.to("cpu") is packed and packed.to(gt.float32) is packed
    doubled = packed.to(gt.float64)
    assert isinstance(doubled, grnn.PackedSequence) and doubled.data.dtype == gt.float64
    assert doubled.sorted_indices is packed.sorted_indices
    assert packed.double().data.dtype == gt.float64 and packed.long().data.dtype == gt.int64
    assert not packed.is_cuda
    rebuilt = grnn.PackedSequence(data, batch_sizes, sorted_indices)
    assert rebuilt.unsorted_indices.tolist() == unsorted_indices.tolist()
    assert grnn.PackedSequence((data, batch_sizes)).batch_sizes is batch_sizes
    perm = [3, 0, 2, 1]
    close(grnn.invert_permutation(gt.tensor(perm)), trnn.invert_permutation(torch.tensor(perm)))
    assert grnn.invert_permutation(None) is None
    assert gt.nn.utils.rnn.pad_sequence is grnn.pad_sequence


ERRORS = [
    lambda lib: _utils(lib.ones(1)).pack_padded_sequence(lib.ones(4, 3, 2), [2, 3, 1]),
    lambda lib: _utils(lib.ones(1)).pack_padded_sequence(lib.ones(4, 3, 2), [3, 0, 1],
                                                         enforce_sorted=False),
    lambda lib: _utils(lib.ones(1)).pack_padded_sequence(lib.ones(4, 3, 2), [3, 2]),
    lambda lib: _utils(lib.ones(1)).pack_padded_sequence(lib.ones(4, 3, 2), [3, 2, -1]),
    lambda lib: _utils(lib.ones(1)).pack_padded_sequence(lib.ones(4, 3, 2), [3, -1, 2]),
    lambda lib: _utils(lib.ones(1)).pack_padded_sequence(lib.ones(4, 3, 2),
                                                         lib.tensor([[3, 2, 1]])),
    lambda lib: _utils(lib.ones(1)).pack_padded_sequence(lib.ones(4), [3]),
    lambda lib: _utils(lib.ones(1)).pack_padded_sequence(lib.ones(4, 3, 2), []),
    lambda lib: _utils(lib.ones(1)).pack_padded_sequence(lib.ones(4, 0, 2), []),
    lambda lib: _utils(lib.ones(1)).pad_sequence([lib.ones(2, 3), lib.ones(3, 4)]),
    lambda lib: _utils(lib.ones(1)).pad_sequence([]),
    lambda lib: _utils(lib.ones(1)).pad_sequence(5),
    lambda lib: _utils(lib.ones(1)).pad_sequence([lib.ones(2)], padding_side="middle"),
    lambda lib: _utils(lib.ones(1)).pad_packed_sequence(
        _utils(lib.ones(1)).pack_sequence([lib.ones(3), lib.ones(2)]), total_length=2),
    lambda lib: _utils(lib.ones(1)).pack_sequence([lib.ones(2), lib.ones(3)]),
    lambda lib: _utils(lib.ones(1)).pack_sequence([]),
    lambda lib: _utils(lib.ones(1)).PackedSequence(lib.ones(3)),
    # RNNs on packed input: hidden sizes use batch_sizes[0], input must be 2-D
    lambda lib: lib.nn.GRU(2, 3)(_utils(lib.ones(1)).pack_sequence([lib.ones(3, 2)]),
                                 lib.zeros(1, 2, 3)),
    lambda lib: lib.nn.RNN(2, 3)(_utils(lib.ones(1)).pack_sequence([lib.ones(3, 4)])),
    lambda lib: lib.nn.GRU(2, 3)(_utils(lib.ones(1)).pack_sequence([lib.ones(3, 2, 1)])),
    lambda lib: lib.nn.GRU(2, 3)(_utils(lib.ones(1)).pack_sequence(
        [lib.ones(3, 2, dtype=lib.float64)])),
    lambda lib: lib.nn.RNN(2, 3)(_utils(lib.ones(1)).pack_sequence([lib.ones(3, 2)]),
                                 lib.zeros(2, 3)),
]


@pytest.mark.parametrize("index", range(len(ERRORS)))
def test_errors_match_torch(index):
    same_error(ERRORS[index])


def test_packed_lstm_checks_its_arguments():
    # PyTorch's LSTM skips its Python checks for packed input (ATen then fails late or not
    # at all); graphtorch checks as it does for RNN and GRU.
    packed = grnn.pack_sequence([gt.ones(3, 2, dtype=gt.float64)])
    with pytest.raises(ValueError, match="does not match weight dtype"):
        gt.nn.LSTM(2, 3)(packed)
    packed = grnn.pack_sequence([gt.ones(3, 2)])
    with pytest.raises(RuntimeError, match=r"Expected hidden\[1\] size \(1, 1, 3\)"):
        gt.nn.LSTM(2, 3)(packed, (gt.zeros(1, 1, 3), gt.zeros(1, 2, 3)))


def test_lengths_longer_than_the_padded_input_are_refused():
    # PyTorch reads past the end of the tensor here; graphtorch raises instead.
    with pytest.raises(RuntimeError, match="at most the padded length 4"):
        grnn.pack_padded_sequence(gt.ones(4, 3, 2), [5, 3, 1])


# --- recurrent layers on packed sequences -----------------------------------------------------

CONFIGS = [
    {},
    {"bidirectional": True},
    {"num_layers": 2},
    {"num_layers": 2, "bidirectional": True},
    {"num_layers": 2, "bidirectional": True, "batch_first": True},
    {"batch_first": True, "bias": False},
]


def _make(kind, config):
    def make(lib):
        if kind == "LSTM_proj":
            return lib.nn.LSTM(3, 5, proj_size=2, **config)
        return getattr(lib.nn, kind)(3, 4, **config)
    return make


def _run_packed(lengths, enforce_sorted, batch_first, total_length):
    """call(module, x, *state) packing x, running the module and returning flat tensors:
    output data, the padded output and the final state(s)."""
    def call(module, x, *state):
        utils = _utils(x)
        packed = utils.pack_padded_sequence(x, lengths, batch_first, enforce_sorted)
        hx = None if not state else state[0] if len(state) == 1 else tuple(state)
        out, hidden = module(packed, hx)
        assert type(out).__name__ == "PackedSequence"
        assert out.batch_sizes is packed.batch_sizes
        padded, _ = utils.pad_packed_sequence(out, batch_first, total_length=total_length)
        return (out.data, padded) + (hidden if isinstance(hidden, tuple) else (hidden,))
    return call


@pytest.mark.parametrize("config", CONFIGS, ids=str)
@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("enforce_sorted", [False, True])
def test_recurrent_layers_on_packed_sequences(kind, config, enforce_sorted):
    lengths = [6, 4, 4, 2, 1] if enforce_sorted else [2, 6, 1, 4, 3]
    batch_first = config.get("batch_first", False)
    x = _x(5, 6, 3) if batch_first else _x(6, 5, 3)
    call = _run_packed(lengths, enforce_sorted, batch_first, total_length=None)
    compare_module(_make(kind, config), [x], call=call)


@pytest.mark.parametrize("config", CONFIGS[1:5], ids=str)
@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU", "LSTM_proj"])
def test_packed_sequences_with_initial_state(kind, config):
    """hx is given in the caller's batch order; gradients reach it through the permutation."""
    layers = config.get("num_layers", 1) * (2 if config.get("bidirectional") else 1)
    batch_first = config.get("batch_first", False)
    x = _x(4, 5, 3) if batch_first else _x(5, 4, 3)
    call = _run_packed([3, 5, 1, 4], False, batch_first, total_length=7)
    state = [_x(layers, 4, 2 if kind == "LSTM_proj" else 4)]
    if kind.startswith("LSTM"):
        state.append(_x(layers, 4, 5 if kind == "LSTM_proj" else 4))
    compare_module(_make(kind, config), [x] + state, call=call)


def test_packed_sequence_float64_relu_and_dropout():
    call = _run_packed([5, 2, 3], False, False, None)
    compare_module(lambda lib: lib.nn.RNN(3, 4, num_layers=2, nonlinearity="relu",
                                          dtype=lib.float64),
                   [RNG.standard_normal((5, 3, 3))], call=call, rtol=1e-9, atol=1e-10)
    compare_module(lambda lib: lib.nn.GRU(3, 4, num_layers=3, dropout=0.5), [_x(5, 3, 3)],
                   call=call, seed=5)


def test_packed_equals_running_each_sequence_alone():
    """Each sequence's output and h_n equal an unpadded run of that sequence by itself."""
    gt.manual_seed(0)
    lstm = gt.nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    seqs = [gt.tensor(_x(n, 3)) for n in (3, 6, 1)]
    out, (h_n, c_n) = lstm(grnn.pack_sequence(seqs, enforce_sorted=False))
    for b, (seq, piece) in enumerate(zip(seqs, grnn.unpack_sequence(out))):
        alone, (h_alone, c_alone) = lstm(seq)
        np.testing.assert_allclose(npy(piece), npy(alone), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(npy(h_n[:, b]), npy(h_alone), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(npy(c_n[:, b]), npy(c_alone), rtol=1e-6, atol=1e-6)
