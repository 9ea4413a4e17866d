"""Recurrent layers: RNN, LSTM (optionally projected), GRU (multi-layer, bidirectional,
batch_first, unbatched inputs, PackedSequence inputs) and their cells.

Eagerly a Python loop over time steps built from differentiable tensor ops, so autograd
gives every gradient. Parameter names, shapes, gate order (LSTM i, f, g, o; GRU r, z, n),
initialisation, checks and error messages follow PyTorch, so weights transfer both ways.
"""

from __future__ import annotations

import math
import numbers
import warnings

from ...functions.creation import empty, zeros
from ...functions.movement import cat, stack
from ...ops.dispatch import call
from ...ops.rnn import LSTM_SCAN
from ...trace_state import SymbolicArray
from .. import functional as F
from .. import init
from ..parameter import Parameter
from ..utils.rnn import PackedSequence
from .module import Module

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


class _Projected:
    """A step input whose input-to-hidden product was computed for all steps at once."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


def _linear(x, w, b):
    if type(x) is _Projected:
        return x.value
    out = x @ w.t()
    return out + b if b is not None else out


def _rnn_tanh_cell(x, h, w_ih, w_hh, b_ih, b_hh):
    return (_linear(x, w_ih, b_ih) + _linear(h, w_hh, b_hh)).tanh()


def _rnn_relu_cell(x, h, w_ih, w_hh, b_ih, b_hh):
    return (_linear(x, w_ih, b_ih) + _linear(h, w_hh, b_hh)).relu()


def _lstm_cell(x, state, w_ih, w_hh, b_ih, b_hh, w_hr=None):
    h, c = state
    gates = _linear(x, w_ih, b_ih) + _linear(h, w_hh, b_hh)
    i, f, g, o = gates.chunk(4, 1)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    h = o.sigmoid() * c.tanh()
    if w_hr is not None:
        h = h @ w_hr.t()
    return h, c


def _gru_cell(x, h, w_ih, w_hh, b_ih, b_hh):
    i_r, i_z, i_n = _linear(x, w_ih, b_ih).chunk(3, 1)
    h_r, h_z, h_n = _linear(h, w_hh, b_hh).chunk(3, 1)
    r = (i_r + h_r).sigmoid()
    z = (i_z + h_z).sigmoid()
    n = (i_n + r * h_n).tanh()
    return n + z * (h - n)


_CELLS = {"RNN_TANH": _rnn_tanh_cell, "RNN_RELU": _rnn_relu_cell, "GRU": _gru_cell}


def _mini_batch(module, input, batch_sizes) -> int:
    if batch_sizes is not None:
        return int(batch_sizes[0])
    return input.size(0) if module.batch_first else input.size(1)


def _packed_forward_steps(cell, data, sizes, offsets, states, is_lstm):
    """Forward over packed steps; the state shrinks as sequences end, and the rows of
    the ended sequences are kept as their final state. Returns (output rows, final)."""
    active = sizes[0]
    ended = []
    outputs = []
    for t, size in enumerate(sizes):
        if size < active:
            ended.append(tuple(s[size:active] for s in states))
            states = tuple(s[:size] for s in states)
            active = size
        new = cell(data[offsets[t]:offsets[t + 1]], states if is_lstm else states[0])
        states = tuple(new) if is_lstm else (new,)
        outputs.append(states[0])
    pieces = [states] + ended[::-1]
    final = tuple(cat([p[i] for p in pieces]) if len(pieces) > 1 else states[i]
                  for i in range(len(states)))
    return cat(outputs), final


def _packed_backward_steps(cell, data, sizes, offsets, states, is_lstm):
    """Reverse direction over packed steps: a sequence joins (from hx) at its last step."""
    initial = states
    active = sizes[-1]
    states = tuple(s[:active] for s in initial)
    outputs = [None] * len(sizes)
    for t in range(len(sizes) - 1, -1, -1):
        size = sizes[t]
        if size > active:
            states = tuple(cat([s, s0[active:size]]) for s, s0 in zip(states, initial))
            active = size
        new = cell(data[offsets[t]:offsets[t + 1]], states if is_lstm else states[0])
        states = tuple(new) if is_lstm else (new,)
        outputs[t] = states[0]
    return cat(outputs), states


class RNNBase(Module):
    """Shared parameters, checks and the layer/direction/time loop of RNN, LSTM and GRU."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, proj_size=0,
                 device=None, dtype=None):
        super().__init__()
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional, self.proj_size = float(dropout), bidirectional, \
            proj_size
        directions = 2 if bidirectional else 1
        if not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1 \
                or isinstance(dropout, bool):
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                          "non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", stacklevel=2)
        if not isinstance(bias, bool):
            raise TypeError(f"bias should be of type bool, got: {type(bias).__name__}")
        if not isinstance(batch_first, bool):
            raise TypeError("batch_first should be of type bool, got: "
                            f"{type(batch_first).__name__}")
        if not isinstance(input_size, int):
            raise TypeError(f"input_size should be of type int, got: {type(input_size).__name__}")
        if input_size <= 0:
            raise ValueError("input_size must be greater than zero")
        if not isinstance(hidden_size, int):
            raise TypeError("hidden_size should be of type int, got: "
                            f"{type(hidden_size).__name__}")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable "
                             "projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if mode not in _GATES:
            raise ValueError("Unrecognized RNN mode: " + mode)
        gate_size = _GATES[mode] * hidden_size
        real_hidden = proj_size if proj_size > 0 else hidden_size
        self._flat_weights_names = []
        self._all_weights = []
        for layer in range(num_layers):
            for direction in range(directions):
                layer_input = input_size if layer == 0 else real_hidden * directions
                suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                shapes = [("weight_ih", (gate_size, layer_input)),
                          ("weight_hh", (gate_size, real_hidden))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                if proj_size > 0:
                    shapes += [("weight_hr", (proj_size, hidden_size))]
                names = []
                for name, shape in shapes:
                    setattr(self, name + suffix, Parameter(empty(shape, device=device,
                                                                 dtype=dtype)))
                    names.append(name + suffix)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    @property
    def _flat_weights(self):
        return [getattr(self, n) if hasattr(self, n) else None
                for n in self._flat_weights_names]

    @property
    def all_weights(self):
        """The parameters per layer and direction, as PyTorch lists them."""
        return [[getattr(self, w) for w in weights] for weights in self._all_weights]

    def flatten_parameters(self) -> None:
        """No-op (cuDNN weight packing has no eager NumPy counterpart)."""

    def reset_parameters(self) -> None:
        """U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)) for every weight and bias."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    # --- checks (PyTorch's messages) ---------------------------------------------------
    def check_input(self, input, batch_sizes=None) -> None:
        weight_dtype = self._flat_weights[0].dtype
        if input.dtype != weight_dtype:
            raise ValueError(f"RNN input dtype ({input.dtype}) does not match weight dtype "
                             f"({weight_dtype}). Convert input: input.to({weight_dtype}), or "
                             f"convert model: model.to({input.dtype})")
        expected_dim = 2 if batch_sizes is not None else 3
        if input.dim() != expected_dim:
            raise RuntimeError(f"input must have {expected_dim} dimensions, got {input.dim()}")
        if self.input_size != input.size(-1):
            raise RuntimeError("input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.size(-1)}")

    def get_expected_hidden_size(self, input, batch_sizes=None):
        mini_batch = _mini_batch(self, input, batch_sizes)
        directions = 2 if self.bidirectional else 1
        size = self.proj_size if self.proj_size > 0 else self.hidden_size
        return (self.num_layers * directions, mini_batch, size)

    def check_hidden_size(self, hx, expected, msg="Expected hidden size {}, got {}") -> None:
        if tuple(hx.size()) != tuple(expected):
            raise RuntimeError(msg.format(tuple(expected), list(hx.size())))

    def check_forward_args(self, input, hidden, batch_sizes=None) -> None:
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden, self.get_expected_hidden_size(input, batch_sizes))

    def permute_hidden(self, hx, permutation):
        return hx if permutation is None else hx.index_select(1, permutation)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # --- computation ----------------------------------------------------------------------
    def _cell(self, k):
        """The step function state' = cell(x_t, state) of layer-direction `k`."""
        weights = list(self.all_weights[k])
        w_ih, w_hh = weights[0], weights[1]
        b_ih, b_hh = (weights[2], weights[3]) if self.bias else (None, None)
        w_hr = weights[-1] if self.proj_size > 0 else None
        if self.mode == "LSTM":
            return lambda x_t, state: _lstm_cell(x_t, state, w_ih, w_hh, b_ih, b_hh, w_hr)
        step = _CELLS[self.mode]
        return lambda x_t, state: step(x_t, state, w_ih, w_hh, b_ih, b_hh)

    def _run(self, input, hx):
        """input (T, N, I) time-major; hx (L*D, N, H) or a pair for LSTM. Returns
        (output (T, N, D*H), h_n) with h_n shaped like hx."""
        is_lstm = self.mode == "LSTM"
        directions = 2 if self.bidirectional else 1
        steps = input.shape[0]
        h_n, c_n = [], []
        layer_input = input
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                k = layer * directions + direction
                state = (hx[0][k], hx[1][k]) if is_lstm else hx[k]
                cell = self._cell(k)
                if steps and is_lstm and not self.proj_size and (
                        _is_traced(layer_input) or not layer_input.is_cuda):
                    # traced, and eagerly on the CPU: the fused recurrence op (ATen/cuDNN's
                    # layout); one GEMM gives the input-to-hidden products of all steps
                    state, seq = self._fused_lstm(k, layer_input, state, bool(direction))
                    outputs.append(seq)
                elif steps and _is_traced(layer_input):
                    # gt.trace/gt.compile: one scan node whatever the sequence length; the
                    # input-to-hidden products of all steps are one matmul before it
                    w_ih, b_ih = self.all_weights[k][0], \
                        self.all_weights[k][2] if self.bias else None
                    state, seq = _scan_steps(cell, state, _linear(layer_input, w_ih, b_ih),
                                             bool(direction), is_lstm)
                    outputs.append(seq)
                elif steps:
                    seq = [None] * steps
                    order = range(steps - 1, -1, -1) if direction else range(steps)
                    for t in order:
                        state = cell(layer_input[t], state)
                        seq[t] = state[0] if is_lstm else state
                    outputs.append(stack(seq))
                else:
                    width = hx[0].shape[-1] if is_lstm else hx.shape[-1]
                    outputs.append(layer_input.new_zeros((0, layer_input.shape[1], width)))
                if is_lstm:
                    h_n.append(state[0])
                    c_n.append(state[1])
                else:
                    h_n.append(state)
            layer_input = outputs[0] if directions == 1 else cat(outputs, 2)
            if self.dropout != 0 and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, True)
        hidden = (stack(h_n), stack(c_n)) if is_lstm else stack(h_n)
        return layer_input, hidden

    def _fused_lstm(self, k, layer_input, state, reverse: bool):
        """One LSTM layer-direction as one `lstm_scan` node: (final (h, c), stacked h)."""
        weights = self.all_weights[k]
        bias = weights[2] + weights[3] if self.bias else \
            layer_input.new_zeros(weights[1].shape[0])
        hs, h_n, c_n, *_ = call(LSTM_SCAN, layer_input, state[0], state[1], weights[0],
                                weights[1], bias, reverse=reverse)
        return (h_n, c_n), hs

    def _run_packed(self, data, batch_sizes, hx):
        """PackedSequence data (sum(batch_sizes), I); hx for batch_sizes[0] sequences sorted
        by decreasing length. Step t runs only the batch_sizes[t] sequences still active, so
        each final state is taken at its sequence's last step (ATen's packed layers).
        Returns (output data (sum(batch_sizes), D*H), h_n) with h_n shaped like hx."""
        is_lstm = self.mode == "LSTM"
        directions = 2 if self.bidirectional else 1
        sizes = [int(b) for b in batch_sizes.tolist()]
        offsets = [0]
        for size in sizes:
            offsets.append(offsets[-1] + size)
        h_n, c_n = [], []
        layer_data = data
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                k = layer * directions + direction
                states = (hx[0][k], hx[1][k]) if is_lstm else (hx[k],)
                run = _packed_backward_steps if direction else _packed_forward_steps
                seq, final = run(self._cell(k), layer_data, sizes, offsets, states, is_lstm)
                outputs.append(seq)
                h_n.append(final[0])
                if is_lstm:
                    c_n.append(final[1])
            layer_data = outputs[0] if directions == 1 else cat(outputs, 1)
            if self.dropout != 0 and self.training and layer < self.num_layers - 1:
                layer_data = F.dropout(layer_data, self.dropout, True)
        hidden = (stack(h_n), stack(c_n)) if is_lstm else stack(h_n)
        return layer_data, hidden

    def _forward_packed(self, packed, hx):
        """RNN/LSTM/GRU on a PackedSequence: hx (and h_n) in the caller's batch order."""
        data, batch_sizes, sorted_indices, unsorted_indices = packed
        if hx is None:
            shape = (self.num_layers * (2 if self.bidirectional else 1), int(batch_sizes[0]))
            real_hidden = self.proj_size if self.proj_size > 0 else self.hidden_size
            hx = zeros(shape + (real_hidden,), dtype=data.dtype, device=data.device)
            if self.mode == "LSTM":
                hx = (hx, zeros(shape + (self.hidden_size,), dtype=data.dtype,
                                device=data.device))
        else:
            hx = self.permute_hidden(hx, sorted_indices)
        self.check_forward_args(data, hx, batch_sizes)
        output, hidden = self._run_packed(data, batch_sizes, hx)
        packed_output = PackedSequence(output, batch_sizes, sorted_indices, unsorted_indices)
        return packed_output, self.permute_hidden(hidden, unsorted_indices)

    def _forward(self, input, hx):
        if self.batch_first:
            input = input.transpose(0, 1)
        output, hidden = self._run(input, hx)
        if self.batch_first:
            output = output.transpose(0, 1)
        return output, hidden


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu)."""

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            self.nonlinearity = args[3]
            args = args[:3] + args[4:]
        else:
            self.nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if self.nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif self.nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{self.nonlinearity}'. Select from 'tanh' "
                             "or 'relu'.")
        super().__init__(mode, *args, **kwargs)

    def forward(self, input, hx=None):
        """(output, h_n) for (L, N, H_in) input ((N, L, H_in) if batch_first, or (L, H_in))."""
        return _single_state_forward(self, "RNN", input, hx)


class GRU(RNNBase):
    """Gated recurrent unit (gates r, z, n as PyTorch)."""

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)

    def forward(self, input, hx=None):
        """(output, h_n) for (L, N, H_in) input ((N, L, H_in) if batch_first, or (L, H_in))."""
        return _single_state_forward(self, "GRU", input, hx)


def _single_state_forward(self, name, input, hx):
    if isinstance(input, PackedSequence):
        return self._forward_packed(input, hx)
    if input.dim() not in (2, 3):
        tensor_word = " tensor" if name == "RNN" else ""
        raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.dim()}D"
                         f"{tensor_word} instead")
    is_batched = input.dim() == 3
    batch_dim = 0 if self.batch_first else 1
    if not is_batched:
        input = input.unsqueeze(batch_dim)
        if hx is not None:
            if hx.dim() != 2:
                raise RuntimeError("For unbatched 2-D input, hx should also be 2-D but got "
                                   f"{hx.dim()}-D tensor")
            hx = hx.unsqueeze(1)
    elif hx is not None and hx.dim() != 3:
        raise RuntimeError(f"For batched 3-D input, hx should also be 3-D but got {hx.dim()}-D "
                           "tensor")
    if hx is None:
        directions = 2 if self.bidirectional else 1
        hx = zeros(self.num_layers * directions, input.size(batch_dim), self.hidden_size,
                   dtype=input.dtype, device=input.device)
    self.check_forward_args(input, hx, None)
    output, hidden = self._forward(input, hx)
    if not is_batched:
        output = output.squeeze(batch_dim)
        hidden = hidden.squeeze(1)
    return output, hidden


class LSTM(RNNBase):
    """Long short-term memory (gates i, f, g, o as PyTorch; proj_size projects h)."""

    def __init__(self, *args, **kwargs):
        super().__init__("LSTM", *args, **kwargs)

    def get_expected_cell_size(self, input, batch_sizes=None):
        mini_batch = _mini_batch(self, input, batch_sizes)
        directions = 2 if self.bidirectional else 1
        return (self.num_layers * directions, mini_batch, self.hidden_size)

    def check_forward_args(self, input, hidden, batch_sizes=None) -> None:
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden[0], self.get_expected_hidden_size(input, batch_sizes),
                               "Expected hidden[0] size {}, got {}")
        self.check_hidden_size(hidden[1], self.get_expected_cell_size(input, batch_sizes),
                               "Expected hidden[1] size {}, got {}")

    def permute_hidden(self, hx, permutation):
        if permutation is None:
            return hx
        return hx[0].index_select(1, permutation), hx[1].index_select(1, permutation)

    def forward(self, input, hx=None):
        """(output, (h_n, c_n)) for (L, N, H_in) input ((N, L, H_in) if batch_first)."""
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx)
        directions = 2 if self.bidirectional else 1
        real_hidden = self.proj_size if self.proj_size > 0 else self.hidden_size
        if input.dim() not in (2, 3):
            raise ValueError(f"LSTM: Expected input to be 2D or 3D, got {input.dim()}D instead")
        is_batched = input.dim() == 3
        batch_dim = 0 if self.batch_first else 1
        if not is_batched:
            input = input.unsqueeze(batch_dim)
        batch = input.size(0) if self.batch_first else input.size(1)
        if hx is None:
            h_zeros = zeros(self.num_layers * directions, batch, real_hidden,
                            dtype=input.dtype, device=input.device)
            c_zeros = zeros(self.num_layers * directions, batch, self.hidden_size,
                            dtype=input.dtype, device=input.device)
            hx = (h_zeros, c_zeros)
        elif is_batched:
            if hx[0].dim() != 3 or hx[1].dim() != 3:
                raise RuntimeError("For batched 3-D input, hx and cx should also be 3-D but got "
                                   f"({hx[0].dim()}-D, {hx[1].dim()}-D) tensors")
        else:
            if hx[0].dim() != 2 or hx[1].dim() != 2:
                raise RuntimeError("For unbatched 2-D input, hx and cx should also be 2-D but "
                                   f"got ({hx[0].dim()}-D, {hx[1].dim()}-D) tensors")
            hx = (hx[0].unsqueeze(1), hx[1].unsqueeze(1))
        self.check_forward_args(input, hx, None)
        output, hidden = self._forward(input, hx)
        if not is_batched:
            output = output.squeeze(batch_dim)
            hidden = (hidden[0].squeeze(1), hidden[1].squeeze(1))
        return output, hidden


# --- cells ------------------------------------------------------------------------------------

class RNNCellBase(Module):
    """Shared parameters, initialisation and checks of the cells."""

    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        self.weight_ih = Parameter(empty((num_chunks * hidden_size, input_size), device=device,
                                         dtype=dtype))
        self.weight_hh = Parameter(empty((num_chunks * hidden_size, hidden_size),
                                         device=device, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(empty(num_chunks * hidden_size, device=device, dtype=dtype))
            self.bias_hh = Parameter(empty(num_chunks * hidden_size, device=device, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if "bias" in self.__dict__ and self.bias is not True:
            s += f", bias={self.bias}"
        if "nonlinearity" in self.__dict__ and self.nonlinearity != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def reset_parameters(self) -> None:
        """U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)) for every weight and bias."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def _batched(self, input, hx):
        """Validate ranks and add the batch dim to unbatched input/hidden (one state)."""
        name = type(self).__name__
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D "
                             "instead")
        if hx is not None and hx.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected hidden to be 1D or 2D, got {hx.dim()}D instead")
        is_batched = input.dim() == 2
        if not is_batched:
            input = input.unsqueeze(0)
        if hx is None:
            hx = zeros(input.size(0), self.hidden_size, dtype=input.dtype, device=input.device)
        elif not is_batched:
            hx = hx.unsqueeze(0)
        return input, hx, is_batched

    def _check(self, input, hxs):
        """ATen's cell input checks (input width, batch and hidden sizes)."""
        if input.size(1) != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.size(1)} "
                               f"expected {self.input_size}")
        for i, h in enumerate(hxs):
            if input.size(0) != h.size(0):
                raise RuntimeError(f"Input batch size {input.size(0)} doesn't match hidden{i} "
                                   f"batch size {h.size(0)}")
            if h.size(1) != self.hidden_size:
                raise RuntimeError(f"hidden{i} has inconsistent hidden_size: got {h.size(1)}, "
                                   f"expected {self.hidden_size}")


class RNNCell(RNNCellBase):
    """One Elman RNN step (tanh or relu)."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None,
                 dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device,
                         dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        input, hx, is_batched = self._batched(input, hx)
        if self.nonlinearity == "tanh":
            cell = _rnn_tanh_cell
        elif self.nonlinearity == "relu":
            cell = _rnn_relu_cell
        else:
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        self._check(input, (hx,))
        ret = cell(input, hx, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return ret if is_batched else ret.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step: returns (h', c')."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device,
                         dtype=dtype)

    def forward(self, input, hx=None):
        if input.dim() not in (1, 2):
            raise ValueError(f"LSTMCell: Expected input to be 1D or 2D, got {input.dim()}D "
                             "instead")
        if hx is not None:
            for idx, value in enumerate(hx):
                if value.dim() not in (1, 2):
                    raise ValueError(f"LSTMCell: Expected hx[{idx}] to be 1D or 2D, got "
                                     f"{value.dim()}D instead")
        is_batched = input.dim() == 2
        if not is_batched:
            input = input.unsqueeze(0)
        if hx is None:
            z = zeros(input.size(0), self.hidden_size, dtype=input.dtype, device=input.device)
            hx = (z, z)
        else:
            hx = (hx[0].unsqueeze(0), hx[1].unsqueeze(0)) if not is_batched else hx
        self._check(input, hx)
        h, c = _lstm_cell(input, hx, self.weight_ih, self.weight_hh, self.bias_ih,
                          self.bias_hh)
        return (h, c) if is_batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device,
                         dtype=dtype)

    def forward(self, input, hx=None):
        input, hx, is_batched = self._batched(input, hx)
        self._check(input, (hx,))
        ret = _gru_cell(input, hx, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return ret if is_batched else ret.squeeze(0)


def _is_traced(t) -> bool:
    return type(t._data) is SymbolicArray


def _scan_steps(cell, state, inputs, reverse: bool, is_lstm: bool):
    """Run `cell` over the time axis of `inputs` (the input-to-hidden products, already
    computed for every step) with gt.scan; (final state, stacked h)."""
    # lazy: a traced recurrence loops with gt.scan (control_flow, above nn)
    from ...control_flow import scan

    def body(carry, x_t):  # x_t: this step's input-to-hidden product
        new = cell(_Projected(x_t), tuple(carry) if is_lstm else carry)
        return new, new[0] if is_lstm else new

    final, seq = scan(body, state, inputs, reverse=reverse)
    return (tuple(final) if is_lstm else final), seq
