"""`gt.nn.utils.rnn`: padding and packing of variable-length sequences, as in PyTorch.

Every conversion (pad, pack, unpack) is one differentiable `index_select` over the
flattened rows plus, where padding appears, one extra row holding `padding_value`; the
index arrays are computed in NumPy from the lengths, so gradients flow to the sequences.
`PackedSequence` is the namedtuple (data, batch_sizes, sorted_indices, unsorted_indices)
that RNN, LSTM and GRU accept; batch_sizes is always a CPU int64 tensor.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import numpy as np

from ... import dtypes
from ...dtypes import int64
from ...functions.creation import arange, as_tensor, empty_like, tensor
from ...functions.movement import cat
from ...functions.statistics import sort
from ...tensor import Tensor

__all__ = [
    "PackedSequence",
    "invert_permutation",
    "pack_padded_sequence",
    "pack_sequence",
    "pad_packed_sequence",
    "pad_sequence",
    "unpack_sequence",
    "unpad_sequence",
]



class PackedSequence_(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


class PackedSequence(PackedSequence_):
    """A packed batch of sequences: `data` holds the time steps one after another, step t
    holding `batch_sizes[t]` rows (the sequences still running, longest first).

    Made by `pack_padded_sequence` / `pack_sequence`, never by hand:

    >>> pack_sequence([gt.tensor([1, 2, 3]), gt.tensor([4, 5]), gt.tensor([6])])
    PackedSequence(data=tensor([1, 4, 6, 2, 5, 3]), batch_sizes=tensor([3, 2, 1]), \
sorted_indices=None, unsorted_indices=None)
    """

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is not None:
            if batch_sizes.device.type != "cpu":
                raise ValueError(
                    "batch_sizes should always be on CPU. Instances of PackedSequence should "
                    "never be created manually. They should be instantiated by functions like "
                    "pack_sequence and pack_padded_sequences in nn.utils.rnn. "
                    "https://pytorch.org/docs/stable/nn.html#torch.nn.utils.rnn.pack_sequence")
        else:
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise AssertionError("Expected data to be a list or tuple of length 2")
            data, batch_sizes = data
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs) -> PackedSequence:
        """`data.to(...)`; the indices follow data's device (`self` if nothing changes)."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self

        def move(t):
            return None if t is None else t.to(data.device)

        return type(self)(data, self.batch_sizes, move(self.sorted_indices),
                          move(self.unsorted_indices))

    def cpu(self) -> PackedSequence:
        return self.to("cpu")

    def cuda(self, device=None) -> PackedSequence:
        return self.to(device if device is not None else "cuda")

    def double(self) -> PackedSequence:
        return self.to(dtype=dtypes.float64)

    def float(self) -> PackedSequence:
        return self.to(dtype=dtypes.float32)

    def half(self) -> PackedSequence:
        return self.to(dtype=dtypes.float16)

    def long(self) -> PackedSequence:
        return self.to(dtype=dtypes.int64)

    def int(self) -> PackedSequence:
        return self.to(dtype=dtypes.int32)

    def short(self) -> PackedSequence:
        return self.to(dtype=dtypes.int16)

    def char(self) -> PackedSequence:
        return self.to(dtype=dtypes.int8)

    def byte(self) -> PackedSequence:
        return self.to(dtype=dtypes.uint8)

    @property
    def is_cuda(self) -> bool:
        """Whether `data` lives on a CUDA device."""
        return self.data.device.type == "cuda"


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The inverse of a 1-D permutation tensor (None stays None).

    >>> invert_permutation(gt.tensor([2, 0, 1]))
    tensor([1, 2, 0])
    """
    if permutation is None:
        return None
    output = empty_like(permutation)
    output.scatter_(0, permutation, arange(0, permutation.numel(),
                                              device=permutation.device))
    return output


def _index(array, like: Tensor) -> Tensor:
    return as_tensor(np.ascontiguousarray(array, dtype=np.int64), device=like.device)


def _lengths_tensor(lengths) -> Tensor:
    if not isinstance(lengths, Tensor):
        return as_tensor(lengths, dtype=int64, device="cpu")
    return lengths.to(dtype=int64)


def pack_padded_sequence(input: Tensor, lengths, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded (T, B, *) batch ((B, T, *) if batch_first) of sequences of `lengths`.

    >>> x = gt.tensor([[1, 2, 0], [3, 0, 0], [4, 5, 6]])
    >>> pack_padded_sequence(x, [2, 1, 3], batch_first=True, enforce_sorted=False).data
    tensor([4, 1, 3, 5, 2, 6])
    """
    lengths = _lengths_tensor(lengths)
    if enforce_sorted:
        sorted_indices = None
        order = None
    else:
        lengths, sorted_indices = sort(lengths, descending=True)
        sorted_indices = sorted_indices.to(input.device)
        order = sorted_indices.tolist()
    batch_size = input.size(0 if batch_first else 1)
    if lengths.device.type != "cpu" or lengths.dim() != 1:
        raise RuntimeError("'lengths' argument should be a 1D CPU int64 tensor, but got "
                           f"{lengths.dim()}D {lengths.device} Long tensor")
    if input.numel() == 0:
        raise RuntimeError("Cannot pack empty tensors.")
    if lengths.size(0) != batch_size:
        raise RuntimeError("Expected `len(lengths)` to be equal to batch_size, but got "
                           f"{lengths.size(0)} (batch_size={batch_size})")
    lens = lengths.tolist()
    if lens[-1] <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an "
                           "element in 'lengths' that is <= 0")
    if any(lens[i + 1] > lens[i] for i in range(batch_size - 1)):
        raise RuntimeError("`lengths` array must be sorted in decreasing order when "
                           "`enforce_sorted` is True. You can pass `enforce_sorted=False` to "
                           "pack_padded_sequence and/or pack_sequence to sidestep this "
                           "requirement if you do not need ONNX exportability.")
    steps = input.size(1 if batch_first else 0)
    if lens[0] > steps:
        # PyTorch reads past the end of the input here; refuse instead.
        raise RuntimeError(f"Expected every length to be at most the padded length {steps}, "
                           f"but got {lens[0]}")
    columns = np.array(order if order is not None else range(batch_size), dtype=np.int64)
    batch_sizes = [sum(1 for n in lens if n > t) for t in range(lens[0])]
    rows = []
    for t, active in enumerate(batch_sizes):
        cols = columns[:active]
        rows.append(cols * steps + t if batch_first else t * batch_size + cols)
    flat = input.reshape((batch_size * steps,) + tuple(input.shape[2:]))
    data = flat.index_select(0, _index(np.concatenate(rows), input))
    return PackedSequence(data, tensor(batch_sizes, dtype=int64), sorted_indices, None)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False,
                        padding_value: float = 0.0, total_length: int | None = None):
    """(padded (T, B, *) tensor ((B, T, *) if batch_first), lengths): the inverse of
    `pack_padded_sequence`, in the original batch order.

    >>> padded, lengths = pad_packed_sequence(pack_sequence([gt.ones(2), gt.ones(1)]))
    >>> padded.shape, lengths
    (torch.Size([2, 2]), tensor([2, 1]))
    """
    data, batch_sizes = sequence.data, sequence.batch_sizes
    sizes = batch_sizes.tolist()
    max_seq_length = len(sizes)
    if total_length is not None:
        if total_length < max_seq_length:
            raise ValueError("Expected total_length to be at least the length of the longest "
                             "sequence in input, but got "
                             f"total_length={total_length} and max sequence length being "
                             f"{max_seq_length}")
        max_seq_length = total_length
    batch = sizes[0]
    pad_row = data.size(0)
    index = np.full((max_seq_length, batch), pad_row, dtype=np.int64)
    offset = 0
    for t, active in enumerate(sizes):
        index[t, :active] = np.arange(offset, offset + active)
        offset += active
    lengths = np.array([sum(1 for s in sizes if s > b) for b in range(batch)], dtype=np.int64)
    if sequence.unsorted_indices is not None:
        unsorted = np.array(sequence.unsorted_indices.tolist(), dtype=np.int64)
        index, lengths = index[:, unsorted], lengths[unsorted]
    if batch_first:
        index = index.T
    trailing = tuple(data.shape[1:])
    extended = cat([data, data.new_full((1,) + trailing, padding_value)])
    padded = extended.index_select(0, _index(index.reshape(-1), data))
    return padded.view(index.shape + trailing), tensor(lengths)


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack (L_i, *) tensors into (T, B, *) ((B, T, *) if batch_first), padding each to the
    longest with `padding_value` on `padding_side`; the dtype is the first sequence's.

    >>> pad_sequence([gt.ones(25, 300), gt.ones(22, 300), gt.ones(15, 300)]).size()
    torch.Size([25, 3, 300])
    """
    if not isinstance(sequences, Iterable):
        message = ("pad_sequence: Expected iterable for input sequences, but got arg of type: "
                   f"{type(sequences)}")
        raise RuntimeError(message)  # noqa: TRY004 - PyTorch raises RuntimeError
    sequences = tuple(sequences)
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    if padding_side not in ("left", "right"):
        raise RuntimeError("Expected padding_side to be one of left or right, but got "
                           f"{padding_side}.")
    first = sequences[0]
    trailing = tuple(first.shape[1:])
    for seq in sequences:
        _check_trailing(tuple(seq.shape), trailing)
    lengths = [seq.size(0) for seq in sequences]
    steps = max(lengths)
    pad_row = sum(lengths)
    index = np.full((len(sequences), steps), pad_row, dtype=np.int64)
    offset = 0
    for b, length in enumerate(lengths):
        start = 0 if padding_side == "right" else steps - length
        index[b, start:start + length] = np.arange(offset, offset + length)
        offset += length
    if not batch_first:
        index = index.T
    parts = [seq.to(first.dtype) for seq in sequences]
    parts.append(first.new_full((1,) + trailing, padding_value))
    padded = cat(parts).index_select(0, _index(index.reshape(-1), first))
    return padded.view(index.shape + trailing)


def _check_trailing(shape, trailing) -> None:
    """PyTorch copies each sequence into its slot: the same broadcasting error."""
    slot = shape[:1] + trailing
    source = shape
    for i in range(1, max(len(slot), len(source)) + 1):
        a = slot[-i] if i <= len(slot) else 1
        b = source[-i] if i <= len(source) else 1
        if a != b and b != 1:
            dim = max(len(slot), len(source)) - i
            raise RuntimeError(f"The size of tensor a ({a}) must match the size of tensor b "
                               f"({b}) at non-singleton dimension {dim}")


def unpad_sequence(padded_sequences: Tensor, lengths: Tensor,
                   batch_first: bool = False) -> list[Tensor]:
    """Split a padded batch back into its sequences (copies), given their lengths.

    >>> [s.shape[0] for s in unpad_sequence(gt.zeros(4, 2), gt.tensor([4, 1]))]
    [4, 1]
    """
    if not batch_first:
        # PyTorch transposes the argument in place here; a view leaves it unchanged.
        padded_sequences = padded_sequences.transpose(0, 1)
    lengths = lengths.tolist() if isinstance(lengths, Tensor) else list(lengths)
    if len(lengths) != padded_sequences.shape[0]:
        raise ValueError("zip() argument 2 is " + ("shorter" if len(lengths) <
                                                    padded_sequences.shape[0] else "longer")
                         + " than argument 1")
    return [padded_sequences[b, :length].clone() for b, length in enumerate(lengths)]


def pack_sequence(sequences, enforce_sorted: bool = True) -> PackedSequence:
    """`pack_padded_sequence(pad_sequence(sequences), lengths)`.

    >>> pack_sequence([gt.tensor([1, 2, 3]), gt.tensor([4, 5]), gt.tensor([6])]).batch_sizes
    tensor([3, 2, 1])
    """
    lengths = as_tensor([v.size(0) for v in sequences])
    return pack_padded_sequence(pad_sequence(sequences), lengths,
                                enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """The list of sequences a PackedSequence holds, in their original order.

    >>> unpack_sequence(pack_sequence([gt.tensor([1, 2]), gt.tensor([3])]))
    [tensor([1, 2]), tensor([3])]
    """
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
