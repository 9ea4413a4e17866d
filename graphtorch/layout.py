"""Memory layouts, as `torch.layout`: dense tensors are `gt.strided`, sparse ones (see
`graphtorch.sparse`) `gt.sparse_coo` or `gt.sparse_csr`; the other layouts exist so that
PyTorch code comparing against them (``x.layout == torch.sparse_bsr``) runs. Each layout is
one object, kept so by pickling.
"""

from __future__ import annotations

import functools


class layout:  # noqa: N801  (PyTorch's name)
    """A memory layout, printed as PyTorch prints it.

    >>> gt.ones(2).layout
    torch.strided
    """

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __repr__(self):
        return f"torch.{self.name}"

    def __reduce__(self):
        return (_layout_by_name, (self.name,))


strided = layout("strided")
sparse_coo = layout("sparse_coo")
sparse_csr = layout("sparse_csr")
sparse_csc = layout("sparse_csc")
sparse_bsr = layout("sparse_bsr")
sparse_bsc = layout("sparse_bsc")
jagged = layout("jagged")
_BY_NAME = {x.name: x for x in (strided, sparse_coo, sparse_csr, sparse_csc, sparse_bsr,
                                sparse_bsc, jagged)}


def _layout_by_name(name: str) -> layout:
    return _BY_NAME[name]


class memory_format:  # noqa: N801  (PyTorch's name)
    """The order in which a dense tensor's dims lie in memory, as `torch.memory_format`.

    ``x.contiguous(memory_format=gt.channels_last)`` lays an NCHW tensor out as NHWC in
    memory (sizes unchanged, strides ``(HWC, 1, WC, C)``); `preserve_format` (the default of
    `clone` and the ``*_like`` creators) keeps a dense input's strides.
    """

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __repr__(self):
        return f"torch.{self.name}"

    def __reduce__(self):
        return (_format_by_name, (self.name,))


contiguous_format = memory_format("contiguous_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")
preserve_format = memory_format("preserve_format")
_FORMATS = {x.name: x for x in (contiguous_format, channels_last, channels_last_3d,
                                preserve_format)}
_CHANNELS_LAST_RANK = {"channels_last": 4, "channels_last_3d": 5}


def _format_by_name(name: str) -> memory_format:
    return _FORMATS[name]


def check_memory_format(fmt, what: str) -> memory_format:
    """`fmt` (None meaning `default`) as a memory_format, or TypeError as PyTorch."""
    if not isinstance(fmt, memory_format):
        raise TypeError(f"{what}(): argument 'memory_format' must be torch.memory_format, "
                        f"not {type(fmt).__name__}")
    return fmt


def dim_order(fmt: memory_format, ndim: int) -> tuple | None:
    """The dims of an `ndim`-d tensor in `fmt` from outermost to innermost in memory, or
    None for the contiguous (row-major) order. RuntimeError where the rank does not fit."""
    rank = _CHANNELS_LAST_RANK.get(fmt.name)
    if rank is None:
        return None
    if ndim != rank:
        raise RuntimeError(f"required rank {rank} tensor to use {fmt.name} format")
    return (0,) + tuple(range(2, ndim)) + (1,)


def preserved_order(shape, strides) -> tuple | None:
    """The dim order (outermost first) in which `preserve_format` lays out a copy of a
    tensor with these strides, or None for row-major: dims sorted by decreasing stride, a
    stable insertion sort in which a broadcast (0-stride) dim never moves and equal strides
    put the smaller size inside, as PyTorch's ``empty_like`` and TensorIterator do."""
    ndim = len(shape)

    def should_swap(d0, d1) -> int:
        s0, s1 = strides[d0], strides[d1]
        if s0 == 0 or s1 == 0:
            return 0
        if s0 != s1:
            return -1 if s0 < s1 else 1
        return 1 if shape[d0] > shape[d1] else 0

    order = reorder_dimensions(ndim, should_swap)
    return None if order == tuple(range(ndim)) else order


def reorder_dimensions(ndim: int, should_swap) -> tuple:
    """PyTorch's `TensorIterator::reorder_dimensions`: an insertion sort of the dims,
    innermost first, by ``should_swap(d0, d1)`` (> 0: swap, < 0: keep and stop, 0:
    undecided, look further out); the result outermost first."""
    perm = list(range(ndim - 1, -1, -1))  # innermost first while sorting
    for i in range(1, ndim):
        d1 = i
        for d0 in range(i - 1, -1, -1):
            comparison = should_swap(perm[d0], perm[d1])
            if comparison > 0:
                perm[d0], perm[d1] = perm[d1], perm[d0]
                d1 = d0
            elif comparison < 0:
                break
    return tuple(reversed(perm))


def suggest_memory_format(shape, strides) -> memory_format:
    """`channels_last(_3d)` for a 4-d (5-d) layout dense in that order and not row-major,
    else `contiguous_format`: the format PyTorch's ``to(memory_format=...)`` compares
    with to decide whether the tensor itself can be returned."""
    for fmt in (channels_last, channels_last_3d):
        if len(shape) == _CHANNELS_LAST_RANK[fmt.name]:
            order = dim_order(fmt, len(shape))
            if follows_order(shape, strides, order) and \
                    not follows_order(shape, strides, tuple(range(len(shape)))):
                return fmt
    return contiguous_format


def _strides_like_channels_last(shape, strides, order) -> bool:
    """PyTorch's ``is_channels_last_strides_2d/3d`` heuristic: strides non-decreasing along
    `order` (channels innermost, batch outermost), without requiring a dense layout. Size-1
    dims take part, so their strides decide edge cases (a known difference: NumPy gives a
    fresh elementwise result's size-1 dims other strides than PyTorch does)."""
    if strides[1] == 0:
        return False
    least = 0
    for d in order:
        if shape[d] == 0 or strides[d] < least:
            return False
        if d == 0 and least == strides[1]:  # N111-like: ambiguous, row-major wins
            return False
        least = strides[d] * shape[d] if shape[d] > 1 else strides[d]
    return True


def suggested_format(shape, strides) -> memory_format:
    """PyTorch's ``Tensor.suggest_memory_format()``: `channels_last` for a 4-d (and
    `channels_last_3d` for a 5-d) tensor whose strides look like it (dense or not), else
    `contiguous_format`. Ops such as cat and batch_norm lay their results out in it."""
    if len(shape) == 4 and _strides_like_channels_last(shape, strides, (1, 3, 2, 0)):
        return channels_last
    if len(shape) == 5 and _strides_like_channels_last(shape, strides, (1, 4, 3, 2, 0)):
        return channels_last_3d
    return contiguous_format


def empty_in_format(xp, shape, dtype, fmt: memory_format):
    """An uninitialised array of `shape` laid out in memory format `fmt`."""
    order = dim_order(fmt, len(shape))
    if order is None:
        return xp.empty(shape, dtype)
    return xp.empty(tuple(shape[d] for d in order), dtype).transpose(inverse(order))


def empty_preserving(xp, a, dtype=None):
    """PyTorch's ``empty_like(a, memory_format=preserve_format)``: dense strides in the
    order of `a`'s (`a`'s own strides when `a` is dense and non-overlapping)."""
    dtype = a.dtype if dtype is None else dtype
    order = preserved_order(a.shape, a.strides)
    if order is None:
        return xp.empty(a.shape, dtype)
    return xp.empty(tuple(a.shape[d] for d in order), dtype).transpose(inverse(order))


def follows_order(shape, strides, order) -> bool:
    """True when the layout is dense in dim order `order` (size-1 dims ignored, as PyTorch's
    ``is_contiguous(memory_format=...)`` ignores them)."""
    expected = 1
    for d in reversed(order):
        if shape[d] != 1 and strides[d] != expected:
            return False
        expected *= shape[d]
    return True


def inverse(order) -> tuple:
    """The permutation that undoes `order`."""
    out = [0] * len(order)
    for i, d in enumerate(order):
        out[d] = i
    return tuple(out)


def in_memory_order(kernel):
    """An elementwise kernel ``kernel(xp, a, ...)`` whose result is laid out in `a`'s memory
    order, as PyTorch's TensorIterator lays it out: `kernel` runs on `a` permuted into that
    order and its result is permuted back (kernels built from ``xp.where`` would otherwise
    return row-major results for a permuted `a`)."""
    @functools.wraps(kernel)
    def in_order(xp, a, *args, **kwargs):
        strides = getattr(a, "strides", None)
        order = None if strides is None or a.flags.c_contiguous else \
            preserved_order(a.shape, strides)
        if order is None:
            return kernel(xp, a, *args, **kwargs)
        return kernel(xp, a.transpose(order), *args, **kwargs).transpose(inverse(order))
    return in_order


def channels_last_results(*inputs: int):
    """Decorate a kernel ``kernel(xp, *arrays, ...)`` so that its 4-d (5-d) results are laid
    out channels-last when an array at positions `inputs` suggests that format (see
    `suggested_format`), as PyTorch's convolution, pooling and upsampling kernels lay
    theirs out; row-major otherwise."""
    def decorate(kernel):
        @functools.wraps(kernel)
        def kernel_keeping_channels_last(xp, *args, **kwargs):
            out = kernel(xp, *args, **kwargs)
            fmt = None
            for i in inputs:
                a = args[i] if i < len(args) else None
                if getattr(a, "ndim", 0) in (4, 5):
                    fmt = suggested_format(a.shape, a.strides)
                    if fmt is not contiguous_format:
                        break
            if fmt is None or fmt is contiguous_format:
                return out
            return tuple(_relaid(xp, o, fmt) for o in out) if isinstance(out, tuple) else \
                _relaid(xp, out, fmt)
        return kernel_keeping_channels_last
    return decorate


def _relaid(xp, a, fmt: memory_format):
    order = dim_order(fmt, _CHANNELS_LAST_RANK[fmt.name])
    if getattr(a, "ndim", 0) != len(order) or follows_order(a.shape, _elements(a), order):
        return a
    out = empty_in_format(xp, a.shape, a.dtype, fmt)
    out[...] = a
    return out


def _elements(a) -> tuple:
    return tuple(s // a.itemsize for s in a.strides)
