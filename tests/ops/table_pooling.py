"""Op-table rows: max pooling (with indices, padding, dilation, ceil_mode), average pooling
(count_include_pad, divisor_override), adaptive average/max pooling, and their backward ops
through double backward."""

from __future__ import annotations

import numpy as np

from .harness import Row
from .table_conv import F, double_backward

FLOATS = ("float32", "float64")


def pool(name, *args, **kw):
    return lambda lib, x: getattr(F(lib), name)(x, *args, **kw)


def _distinct(rng, case, dtype):
    """Distinct values (no ties, so max pooling gradients are unambiguous)."""
    out = []
    for s in case:
        n = int(np.prod(s))
        out.append((rng.permutation(n).reshape(s) * 0.37 - n * 0.15).astype(dtype))
    return out


def _torch_adaptive_max_pool1d(lib):
    """torch.adaptive_max_pool1d, which always returns (values, indices)."""
    if lib.__name__ == "graphtorch":
        from graphtorch.functions.nn_ops import torch_adaptive_max_pool1d

        return torch_adaptive_max_pool1d
    return lib.adaptive_max_pool1d


def _distinct_plus_cot(rng, case, dtype):
    return _distinct(rng, case[:1], dtype) + [rng.uniform(-1, 1, case[1]).astype(dtype)]


ROWS = [
    # max pooling
    Row("max_pool", pool("max_pool2d", 2), [((2, 3, 6, 5),), ((1, 1, 4, 4),)], dtypes=FLOATS,
        make=_distinct, name="max_pool2d"),
    Row("max_pool", pool("max_pool2d", 3, stride=2, padding=1, return_indices=True),
        [((2, 2, 7, 6),), ((1, 1, 5, 4),)], dtypes=FLOATS, make=_distinct,
        name="max_pool2d_pad_indices"),
    Row("max_pool", pool("max_pool2d", (3, 2), stride=(2, 1), dilation=(2, 1), padding=(1, 0),
                         ceil_mode=True, return_indices=True),
        [((1, 2, 8, 5),), ((1, 1, 6, 3),)], dtypes=FLOATS, make=_distinct,
        name="max_pool2d_dil_ceil"),
    Row("max_pool", pool("max_pool2d", 2, ceil_mode=True), [((3, 5, 5),), ((2, 3, 3),)],
        make=_distinct, name="max_pool2d_unbatched_ceil"),
    Row("max_pool", pool("max_pool2d", 2, 1), [((2, 3, 4, 4),)], dtypes=("int64", "int32"),
        make=_distinct, grad=False, name="max_pool2d_int"),
    Row("max_pool", pool("max_pool2d", 2, return_indices=True), [((0, 2, 4, 4),)],
        name="max_pool2d_empty_batch"),
    Row("max_pool", pool("max_pool2d", 2, 1, return_indices=True), [((1, 1, 3, 3),)],
        make=lambda rng, c, d: [np.ones(c[0], dtype=d)], grad=False, name="max_pool2d_ties"),
    Row("max_pool", pool("max_pool1d", 3, stride=2, padding=1, return_indices=True),
        [((2, 3, 9),), ((1, 2, 6),)], dtypes=FLOATS, make=_distinct, name="max_pool1d"),
    Row("max_pool", pool("max_pool1d", 2, dilation=2, ceil_mode=True), [((3, 8),), ((2, 5),)],
        make=_distinct, name="max_pool1d_unbatched_dil"),
    Row("max_pool", pool("max_pool3d", 2, stride=(1, 2, 2), padding=(0, 1, 0),
                         return_indices=True),
        [((1, 2, 3, 4, 4),), ((1, 1, 3, 3, 4),)], make=_distinct, name="max_pool3d"),
    Row("max_pool", lambda lib, x: lib.max_pool1d_with_indices(x, 2), [((2, 3, 6),)],
        make=_distinct, name="torch_max_pool1d_with_indices"),
    Row(("max_pool", "max_pool_backward"),
        double_backward(lambda lib, x: F(lib).max_pool2d(x, 2, 1, padding=1), 1),
        [((1, 2, 3, 3), (1, 2, 4, 4))], dtypes=FLOATS, make=_distinct_plus_cot,
        name="max_pool2d_double_backward"),
    # average pooling
    Row("avg_pool", pool("avg_pool2d", 2), [((2, 3, 6, 5),), ((1, 1, 4, 4),)], dtypes=FLOATS,
        name="avg_pool2d"),
    Row("avg_pool", pool("avg_pool2d", 3, stride=2, padding=1),
        [((2, 2, 7, 6),), ((1, 1, 5, 4),)], dtypes=FLOATS, name="avg_pool2d_pad"),
    Row("avg_pool", pool("avg_pool2d", (3, 2), stride=(2, 1), padding=1, ceil_mode=True,
                         count_include_pad=False),
        [((1, 2, 8, 5),), ((1, 1, 5, 4),)], dtypes=FLOATS, name="avg_pool2d_exclude_pad_ceil"),
    Row("avg_pool", pool("avg_pool2d", 3, 2, 1, ceil_mode=True), [((1, 2, 6, 6),)],
        name="avg_pool2d_ceil_include_pad"),
    Row("avg_pool", pool("avg_pool2d", 2, padding=1, divisor_override=3),
        [((2, 3, 5, 5),), ((3, 3, 3),)], dtypes=FLOATS, name="avg_pool2d_divisor_unbatched"),
    Row("avg_pool", pool("avg_pool2d", 2, padding=1), [((2, 3, 4, 4),)],
        dtypes=("int64",), low=-20, high=20, grad=False, name="avg_pool2d_int"),
    Row("avg_pool", pool("avg_pool1d", 3, stride=2, padding=1), [((2, 3, 9),), ((1, 2, 6),)],
        dtypes=FLOATS, name="avg_pool1d"),
    Row("avg_pool", pool("avg_pool1d", 2, ceil_mode=True, count_include_pad=False),
        [((3, 7),), ((2, 5),)], name="avg_pool1d_unbatched_ceil"),
    Row("avg_pool", pool("avg_pool3d", 2, stride=(1, 2, 2), padding=(0, 1, 0)),
        [((1, 2, 3, 4, 4),), ((1, 1, 3, 3, 4),)], name="avg_pool3d"),
    Row("avg_pool", pool("avg_pool2d", 2), [((0, 2, 4, 4),)], name="avg_pool2d_empty_batch"),
    Row(("avg_pool", "avg_pool_backward"),
        double_backward(lambda lib, x: F(lib).avg_pool2d(x, 3, 2, 1, ceil_mode=True,
                                                         count_include_pad=False), 1),
        [((1, 2, 4, 5), (1, 2, 3, 3))], dtypes=FLOATS, grad_inputs=(1,),  # linear in x
        name="avg_pool2d_double_backward"),
    # adaptive pooling
    Row("adaptive_avg_pool", pool("adaptive_avg_pool2d", (3, 2)),
        [((2, 3, 7, 5),), ((1, 1, 4, 4),)], dtypes=FLOATS, name="adaptive_avg_pool2d"),
    Row("adaptive_avg_pool", pool("adaptive_avg_pool2d", (None, 4)),
        [((2, 3, 5),), ((1, 3, 7),)], dtypes=FLOATS, name="adaptive_avg_pool2d_none_unbatched"),
    Row("adaptive_avg_pool", pool("adaptive_avg_pool2d", 1), [((2, 3, 4, 4),)],
        name="adaptive_avg_pool2d_global"),
    Row("adaptive_avg_pool", pool("adaptive_avg_pool2d", 5), [((1, 2, 3, 4),)],
        name="adaptive_avg_pool2d_upsample"),
    Row("adaptive_avg_pool", pool("adaptive_avg_pool1d", 3), [((2, 3, 8),), ((2, 5),)],
        dtypes=FLOATS, name="adaptive_avg_pool1d"),
    Row("adaptive_avg_pool", pool("adaptive_avg_pool3d", (2, 1, 3)), [((1, 2, 3, 4, 5),)],
        name="adaptive_avg_pool3d"),
    Row("adaptive_avg_pool", pool("adaptive_avg_pool2d", 2), [((0, 2, 4, 4),)],
        name="adaptive_avg_pool2d_empty_batch"),
    Row(("adaptive_avg_pool", "adaptive_avg_pool_backward"),
        double_backward(lambda lib, x: F(lib).adaptive_avg_pool2d(x, (2, 3)), 1),
        [((1, 2, 3, 5), (1, 2, 2, 3))], dtypes=FLOATS, grad_inputs=(1,),  # linear in x
        name="adaptive_avg_pool2d_double_backward"),
    Row("adaptive_max_pool", pool("adaptive_max_pool2d", (3, 2), return_indices=True),
        [((2, 3, 7, 5),), ((1, 1, 4, 4),)], dtypes=FLOATS, make=_distinct,
        name="adaptive_max_pool2d"),
    Row("adaptive_max_pool", pool("adaptive_max_pool2d", (None, 3)),
        [((2, 4, 7),), ((1, 3, 5),)], make=_distinct, name="adaptive_max_pool2d_none_unbatched"),
    Row("adaptive_max_pool", pool("adaptive_max_pool1d", 4, return_indices=True),
        [((2, 3, 9),), ((2, 3),)], dtypes=FLOATS, make=_distinct, name="adaptive_max_pool1d"),
    Row("adaptive_max_pool", lambda lib, x: _torch_adaptive_max_pool1d(lib)(x, 2),
        [((2, 3, 5),)], make=_distinct, name="torch_adaptive_max_pool1d"),
    Row("adaptive_max_pool", pool("adaptive_max_pool3d", (2, 2, 3), return_indices=True),
        [((1, 2, 3, 4, 5),)], make=_distinct, name="adaptive_max_pool3d"),
    Row(("adaptive_max_pool", "max_pool_backward"),
        double_backward(lambda lib, x: F(lib).adaptive_max_pool2d(x, (2, 3)), 1),
        [((1, 2, 3, 5), (1, 2, 2, 3))], dtypes=FLOATS, make=_distinct_plus_cot,
        name="adaptive_max_pool2d_double_backward"),
]
