"""Public movement functions: cat/stack and friends, flips, triangles, repeats, gather/scatter,
the index_* and masked_* families, nonzero, take/put, meshgrid, and the building blocks of
`nn.functional` (`embedding`, `one_hot`, `pad`). Each parses PyTorch's arguments and calls
registry ops (`ops/movement.py`) or short compositions of them.
"""

from __future__ import annotations

import itertools
import numbers
import operator
import warnings

from .. import dtypes
from ..autograd.grad_mode import no_grad
from ..ops import movement as movement_ops
from ..ops import scatter as scatter_ops
from ..ops import views as views_ops
from ..ops.dispatch import call, call_inplace, meta_of
from ..ops.shape_rules import normalize_dim
from ..tensor import Size, Tensor
from ._wrap import accepts_out, check_tensor, finish
from .creation import empty, tensor, zeros
from .shape import keep_channels_last

__all__ = ["cat", "concat", "concatenate", "stack", "hstack", "vstack", "row_stack", "dstack",
           "column_stack", "flip", "fliplr", "flipud", "roll", "rot90", "tril", "triu", "diag",
           "diag_embed", "tile", "repeat_interleave", "narrow_copy", "constant_pad_nd",
           "diagflat", "block_diag", "select_scatter", "slice_scatter", "diagonal_scatter",
           "meshgrid", "cartesian_prod", "combinations"]


def _tensor_list(tensors, fname):
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{fname}(): argument 'tensors' (position 1) must be tuple of Tensors, "
                        f"not {type(tensors).__name__}")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got "
                            f"{type(t).__name__}")
    return tuple(tensors)


def _int(value) -> int:
    return int(value.item()) if isinstance(value, Tensor) else operator.index(value)


def _ints(values, fname="", arg="", position=2) -> tuple:
    """An int or a sequence of ints as a tuple (PyTorch's IntArrayRef arguments)."""
    if isinstance(values, (numbers.Integral, Tensor)) and not isinstance(values, bool):
        return (_int(values),)
    out = []
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, (numbers.Integral, Tensor)):
            raise TypeError(f"{fname}(): argument '{arg}' (position {position}) must be tuple of "
                            f"ints, but found element of type {type(v).__name__} at pos {i}")
        out.append(_int(v))
    return tuple(out)


def _varargs(args) -> tuple:
    if len(args) == 1 and isinstance(args[0], (tuple, list, Size)):
        return tuple(args[0])
    return tuple(args)


# --- cat / stack -------------------------------------------------------------------------

def cat(tensors, dim=0, *, axis=None, out=None):
    """Concatenate along `dim`; 1-D empty tensors are skipped (PyTorch's legacy rule)."""
    tensors = _tensor_list(tensors, "cat")
    if not tensors:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    return finish(call(movement_ops.CAT, tensors, dim=_int(dim if axis is None else axis)), out)


concat = concatenate = cat


def stack(tensors, dim=0, *, out=None):
    """Join equal-shaped tensors along a new dim `dim`."""
    tensors = _tensor_list(tensors, "stack")
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    return finish(call(movement_ops.STACK, tensors, dim=_int(dim)), out)


def _nonempty(tensors, fname):
    tensors = _tensor_list(tensors, fname)
    if not tensors:
        raise RuntimeError(f"{fname} expects a non-empty TensorList")
    return tensors


def hstack(tensors, *, out=None):
    """cat along dim 1 (dim 0 when every tensor is 1-D)."""
    tensors = [t.reshape(1) if t.ndim == 0 else t for t in _nonempty(tensors, "hstack")]
    return cat(tensors, 0 if all(t.ndim == 1 for t in tensors) else 1, out=out)


def vstack(tensors, *, out=None):
    """cat along dim 0 after making every tensor at least 2-D."""
    tensors = _nonempty(tensors, "vstack")
    return cat([_at_least(t, 2) for t in tensors], 0, out=out)


row_stack = vstack


def dstack(tensors, *, out=None):
    """cat along dim 2 after making every tensor at least 3-D."""
    tensors = _nonempty(tensors, "dstack")
    return cat([_at_least(t, 3) for t in tensors], 2, out=out)


def column_stack(tensors, *, out=None):
    """Stack 0-d and 1-D tensors as columns, then cat along dim 1."""
    tensors = _nonempty(tensors, "column_stack")
    return cat([t.reshape(t.numel(), 1) if t.ndim <= 1 else t for t in tensors], 1, out=out)


def _at_least(t, n):
    """NumPy's atleast_2d/atleast_3d layouts: (n,) -> (1, n) -> (1, n, 1)."""
    if t.ndim >= n:
        return t
    if t.ndim == 0:
        return t.reshape((1,) * n)
    if t.ndim == 1:
        return t.reshape(1, -1) if n == 2 else t.reshape(1, -1, 1)
    return t.unsqueeze(-1)


# --- flip / roll / rot90 -----------------------------------------------------------------

def flip(input, dims):
    """A copy with the order of entries reversed along `dims`."""
    if isinstance(dims, numbers.Integral):
        raise TypeError(f"flip(): argument 'dims' (position 2) must be tuple of ints, not "
                        f"{type(dims).__name__}")
    return call(movement_ops.FLIP, input, dims=_ints(dims, "flip", "dims"))


def _flip_method(self, *order, dims=None):
    """`Tensor.flip`: ``x.flip(0, 1)``, ``x.flip((0, 1))`` or ``x.flip(dims=(0, 1))``."""
    if dims is not None:
        if order:
            raise TypeError("flip() got multiple values for argument 'dims'")
        order = (dims,)
    return call(movement_ops.FLIP, self, dims=_ints(_varargs(order), "flip", "dims"))


def fliplr(input):
    """flip(input, (1,)) for tensors of at least 2 dims."""
    if input.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return call(movement_ops.FLIP, input, dims=(1,))


def flipud(input):
    """flip(input, (0,)) for tensors of at least 1 dim."""
    if input.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return call(movement_ops.FLIP, input, dims=(0,))


def roll(input, shifts, dims=None):
    """Rotate entries by `shifts` along `dims` (over the flattened tensor when dims is None)."""
    dims = () if dims is None else _ints(dims, "roll", "dims")
    return call(movement_ops.ROLL, input, shifts=_ints(shifts, "roll", "shifts"), dims=dims)


def rot90(input, k=1, dims=(0, 1)):
    """Rotate by 90 degrees `k` times, from the first towards the second of `dims`."""
    return call(movement_ops.ROT90, input, k=_int(k), dims=_ints(dims, "rot90", "dims"))


# --- triangles and diagonals -------------------------------------------------------------

def tril(input, diagonal=0, *, out=None):
    """The lower triangle (on and below `diagonal`) of the last two dims."""
    return finish(call(movement_ops.TRIL, input, diagonal=_int(diagonal)), out)


def triu(input, diagonal=0, *, out=None):
    """The upper triangle (on and above `diagonal`) of the last two dims."""
    return finish(call(movement_ops.TRIU, input, diagonal=_int(diagonal)), out)


def tril_(self, diagonal=0):
    return call_inplace(movement_ops.TRIL, self, diagonal=_int(diagonal))


def triu_(self, diagonal=0):
    return call_inplace(movement_ops.TRIU, self, diagonal=_int(diagonal))


def diag(input, diagonal=0, *, out=None):
    """1-D -> the matrix with input on a diagonal; 2-D -> a copy of one diagonal."""
    check_tensor(input, "diag")
    if input.ndim == 1:
        return finish(call(movement_ops.DIAG_EMBED, input, offset=_int(diagonal), dim1=0, dim2=1),
                      out)
    if input.ndim != 2:
        raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input.ndim}D")
    return finish(input.diagonal(_int(diagonal)).clone(), out)


def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    """Batched matrices whose (offset) diagonal in dims (dim1, dim2) holds the last dim."""
    return call(movement_ops.DIAG_EMBED, input, offset=_int(offset), dim1=_int(dim1),
                dim2=_int(dim2))


def diagflat(input, offset=0):
    """The matrix with the flattened input on its (offset) diagonal."""
    return call(movement_ops.DIAG_EMBED, input.reshape(-1), offset=_int(offset), dim1=0, dim2=1)


def block_diag(*tensors):
    """A block-diagonal matrix of 0-d, 1-D (one row) and 2-D blocks (dtypes promoted)."""
    blocks = []
    for i, t in enumerate(tensors):
        if t.ndim > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer "
                               f"dimensions. Input {i} has {t.ndim} dimensions")
        blocks.append(t.reshape(1, -1) if t.ndim < 2 else t)
    if not blocks:
        return empty(1, 0)
    width = sum(b.shape[1] for b in blocks)
    rows, left = [], 0
    for blk in blocks:  # each block padded with zeros to the full width, then stacked
        right = width - left - blk.shape[1]
        rows.append(call(movement_ops.CONSTANT_PAD_ND, blk, pad=(left, right), value=0))
        left += blk.shape[1]
    return cat(rows, 0)


def _scatter_into_view(input, src, step):
    """A copy of input with the view `step` selects replaced by src (PyTorch's *_scatter)."""
    want = step[0].infer(meta_of(input), **step[1]).shape
    if tuple(src.shape) != tuple(want):
        raise RuntimeError(f"expected src to have a size equal to the slice of self. src size = "
                           f"{list(src.shape)}, slice size = {list(want)}")
    return call(views_ops.COPY_INTO_VIEW, input, src, view_ops=(step,))


def select_scatter(input, src, dim, index):
    """A copy of input with input.select(dim, index) replaced by src."""
    return _scatter_into_view(input, src,
                              (views_ops.SELECT, {"dim": _int(dim), "index": _int(index)}))


@accepts_out
def slice_scatter(input, src, dim=0, start=None, end=None, step=1):
    """A copy of input with input[..., start:end:step, ...] (along dim) replaced by src."""
    attrs = {"dim": _int(dim), "start": None if start is None else _int(start),
             "stop": None if end is None else _int(end), "step": _int(step)}
    return _scatter_into_view(input, src, (views_ops.SLICE, attrs))


def diagonal_scatter(input, src, offset=0, dim1=0, dim2=1):
    """A copy of input with input.diagonal(offset, dim1, dim2) replaced by src."""
    attrs = {"offset": _int(offset), "dim1": _int(dim1), "dim2": _int(dim2)}
    return _scatter_into_view(input, src, (views_ops.DIAGONAL, attrs))


# --- repeats -----------------------------------------------------------------------------

def repeat(self, *sizes, repeats=None):
    """Tile the tensor `sizes[i]` times along dim i (extra sizes add leading dims)."""
    if repeats is not None:
        if sizes:
            raise TypeError("repeat() got multiple values for argument 'repeats'")
        sizes = (repeats,)
    if not sizes:
        raise TypeError('repeat() missing 1 required positional arguments: "repeats"')
    return call(movement_ops.REPEAT, self, repeats=_ints(_varargs(sizes), "repeat", "repeats"))


def tile(input, dims):
    """repeat() where missing leading repetitions count as 1."""
    dims = _ints(dims, "tile", "dims")
    dims = (1,) * (input.ndim - len(dims)) + dims
    return call(movement_ops.REPEAT, input, repeats=dims)


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """Repeat each entry `repeats` times (an int or one count per entry along `dim`).

    ``repeat_interleave(counts)`` returns ``i`` repeated ``counts[i]`` times.
    """
    if repeats is None:
        return call(movement_ops.REPEAT_INTERLEAVE, input, output_size=output_size)
    if dim is None:
        input, d = input.reshape(-1), 0
    else:
        d = normalize_dim(_int(dim), input.ndim)
    size = input.shape[d] if input.ndim else 1
    if isinstance(repeats, Tensor):
        if repeats.ndim > 1:
            raise RuntimeError("repeats must be 0-dim or 1-dim tensor")
        if repeats.numel() != 1:
            if repeats.numel() != size:
                raise RuntimeError(f"repeats must have the same size as input along dim, but "
                                   f"got repeats.size(0) = {repeats.numel()} and "
                                   f"input.size({d}) = {size}")
            index = call(movement_ops.REPEAT_INTERLEAVE, repeats.reshape(-1),
                         output_size=output_size)
            return call(scatter_ops.INDEX_SELECT, input, index, dim=d)
        repeats = int(repeats.item())
        if repeats < 0:
            raise RuntimeError("repeats can not be negative")
    repeats = _int(repeats)
    if repeats < 0:
        raise RuntimeError("Repeats must be non-negative")
    if output_size is not None and output_size != size * repeats:
        raise RuntimeError(f"repeat_interleave: Invalid output_size, expected "
                           f"{size * repeats} but got {output_size}")
    if input.ndim == 0:
        input = input.reshape(1)
    shape = list(input.shape)
    shape.insert(d + 1, repeats)
    return input.unsqueeze(d + 1).expand(*shape).flatten(d, d + 1)


@accepts_out
def narrow_copy(input, dim, start, length):
    """narrow() as a new tensor."""
    return input.narrow(dim, start, length).clone()


def constant_pad_nd(input, pad, value=0):
    """Pad (negative: crop) the last len(pad) // 2 dims with `value`; pad starts at the last."""
    return call(movement_ops.CONSTANT_PAD_ND, input, pad=_ints(pad, "constant_pad_nd", "pad"),
                value=value)


def unfold(self, dimension, size, step):
    """A view of every window of `size` entries, `step` apart, along `dimension` (last dim)."""
    return call(movement_ops.UNFOLD, self, dimension=_int(dimension), size=_int(size),
                step=_int(step))


# --- grids -------------------------------------------------------------------------------

def meshgrid(*tensors, indexing=None):
    """Coordinate grids from 0-d/1-D tensors ("ij": matrix, "xy": Cartesian indexing)."""
    tensors = list(_varargs(tensors))
    if indexing is None:
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the "
                      "indexing argument.", UserWarning, stacklevel=2)
        indexing = "ij"
    if not tensors:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    for t in tensors:
        if t.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but "
                               f"got: {t}")
        if t.dtype is not tensors[0].dtype:
            raise RuntimeError("meshgrid expects all tensors to have the same dtype")
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but "
                           f"received: {indexing}")
    swap = indexing == "xy" and len(tensors) >= 2
    if swap:  # "xy" is "ij" with the first two inputs (and outputs) exchanged
        tensors[0], tensors[1] = tensors[1], tensors[0]
    sizes = [t.numel() for t in tensors]
    grids = []
    for i, t in enumerate(tensors):
        shape = [1] * len(tensors)
        shape[i] = -1
        grids.append(t.reshape(shape).expand(*sizes))
    if swap:
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


def cartesian_prod(*tensors):
    """All tuples of one entry from each 1-D tensor, as rows."""
    tensors = _varargs(tensors)
    for t in tensors:
        if t.ndim != 1:
            raise RuntimeError(f"Expect a 1D vector, but got shape {list(t.shape)}")
    if len(tensors) == 1:
        return tensors[0]
    grids = meshgrid(*tensors, indexing="ij")
    return stack([g.reshape(-1) for g in grids], 1)


def combinations(input, r=2, with_replacement=False):
    """All length-r combinations of the entries of a 1-D tensor, as rows."""
    if input.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return input[:0].clone()
    pick = itertools.combinations_with_replacement if with_replacement \
        else itertools.combinations
    rows = list(pick(range(input.shape[0]), r))
    if not rows:
        return input[:0].reshape(0, 1).expand(0, r).contiguous()

    columns = tensor(rows, dtype=dtypes.int64, device=input.device).t()
    return stack([call(scatter_ops.INDEX_SELECT, input, c, dim=0) for c in columns], 1)


# --- nn.functional building blocks (re-exported there, not here) --------------------------

def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """Rows of `weight` at the indices in `input`; padding_idx rows get no gradient."""
    if padding_idx is not None:
        if padding_idx > 0:
            assert padding_idx < weight.shape[0], "Padding_idx must be within num_embeddings"
        elif padding_idx < 0:
            assert padding_idx >= -weight.shape[0], "Padding_idx must be within num_embeddings"
            padding_idx = weight.shape[0] + padding_idx
    if max_norm is not None:
        _embedding_renorm_(weight, input, max_norm, norm_type)
    return call(movement_ops.EMBEDDING, input, weight, padding_idx=padding_idx,
                scale_grad_by_freq=bool(scale_grad_by_freq))


def _embedding_renorm_(weight, indices, max_norm, norm_type):
    """Scale the looked-up rows whose norm exceeds max_norm (in place, not recorded)."""
    with no_grad():
        idx = indices.reshape(-1)
        rows = call(scatter_ops.INDEX_SELECT, weight, idx, dim=0)
        norms = (rows.abs() ** norm_type).sum(1) ** (1.0 / norm_type)
        scale = (max_norm / (norms + 1e-7)).clamp(max=1.0)
        weight.index_copy_(0, idx, rows * scale.unsqueeze(1).to(weight.dtype))
    return weight


def one_hot(tensor, num_classes=-1):
    """int64 one-hot encoding with a new last dim of `num_classes` (-1: max + 1)."""
    if tensor.dtype is not dtypes.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if tensor.numel() == 0:
        if num_classes == -1:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
    else:
        if int(tensor.min()) < 0:
            raise RuntimeError("Class values must be non-negative.")
        top = int(tensor.max())
        if num_classes == -1:
            num_classes = top + 1
        elif top >= num_classes:
            raise RuntimeError("Class values must be smaller than num_classes.")

    out = zeros(tuple(tensor.shape) + (num_classes,), dtype=dtypes.int64, device=tensor.device)
    return call(scatter_ops.SCATTER, out, tensor.unsqueeze(-1), 1, dim=-1)


_PAD_COMBOS = ("Supported combinations for non-constant padding:\n"
               "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
               "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
               "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")


def pad(input, pad, mode="constant", value=None):
    """Pad the last len(pad) // 2 dims; pad = (last_left, last_right, prev_left, ...)."""
    pad = _ints(pad, "pad", "pad")
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > input.ndim:
        raise RuntimeError(f"Padding length should be less than or equal to two times the input "
                           f"dimension but got padding length {len(pad)} and input of dimension "
                           f"{input.ndim}")
    if mode == "constant":
        if isinstance(value, complex):
            raise TypeError("pad(): argument 'value' (position 4) must be float, not complex")
        return call(movement_ops.CONSTANT_PAD_ND, input, pad=pad,
                    value=0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if value is not None and value != 0:
        raise RuntimeError(f"Padding mode \"{mode}\" doesn't take in value argument")
    n = len(pad) // 2
    if n not in (1, 2, 3) or input.ndim not in (n + 1, n + 2):
        raise NotImplementedError(f"Padding size {len(pad)} is not supported for {input.ndim}D "
                                  f"input tensor.\n{_PAD_COMBOS}")
    if mode != "circular" and any(s == 0 for s in input.shape[1:]):
        raise RuntimeError(f"Expected {n + 1}D or {n + 2}D (batch mode) tensor with possibly 0 "
                           f"batch size and other non-zero dimensions for input, but got: "
                           f"{list(input.shape)}")

    out = input
    for i in range(n):
        d = input.ndim - 1 - i
        index = _pad_index(mode, input.shape[d], pad[2 * i], pad[2 * i + 1], d, input, i)
        out = call(scatter_ops.INDEX_SELECT, out,
                   tensor(index, dtype=dtypes.int64, device=input.device),
                   dim=d)
    return keep_channels_last(out, input)


def _pad_index(mode, size, left, right, d, input, i):
    """Source positions along one dim for reflect / replicate / circular padding."""
    if mode == "reflect" and (left >= size or right >= size):
        raise RuntimeError(f"Argument #{4 + 2 * i}: Padding size should be less than the "
                           f"corresponding input dimension, but got: padding ({left}, {right}) "
                           f"at dimension {d} of input {list(input.shape)}")
    if mode == "circular":
        if left > size or right > size:
            raise RuntimeError("Padding value causes wrapping around more than once.")
        start, stop = max(-left, 0), size - max(-right, 0)
        kept = list(range(start, stop))
        lo, hi = max(left, 0), max(right, 0)
        return [kept[(k - lo) % len(kept)] for k in range(lo + len(kept) + hi)] if kept else []
    out = []
    for k in range(size + left + right):
        x = k - left
        if mode == "reflect":
            x = -x if x < 0 else 2 * (size - 1) - x if x >= size else x
        else:
            x = min(max(x, 0), size - 1)
        out.append(x)
    return out


