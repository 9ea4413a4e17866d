"""Op-table rows: cat/stack, flips, triangles, repeats, gather/scatter, index_*, masked_*,
take/put, padding, embedding, unfold, grids."""

from __future__ import annotations

import warnings

import numpy as np

import graphtorch.functions.movement as _gt_movement

from .harness import Row

DTYPES = ("float32", "float64", "int64", "bool")


def _arr(rng, shape, dtype):
    a = rng.uniform(-2, 2, size=shape)
    if dtype == "bool":
        return a > 0
    if dtype.startswith(("int", "uint")):
        return np.round(a * 3).astype(dtype)
    return a.astype(dtype)


def _unique_index(rng, shape, dim, high):
    """int64 indices in [0, high) that never repeat along `dim` (scatter is then exact)."""
    if not shape:
        return np.zeros((), dtype=np.int64)
    moved = list(shape)
    moved.append(moved.pop(dim))
    rows = [rng.permutation(high)[:moved[-1]] for _ in range(int(np.prod(moved[:-1])))]
    out = np.array(rows, dtype=np.int64).reshape(moved)
    return np.moveaxis(out, -1, dim)


def _index(rng, shape, high):
    return rng.integers(0, high, size=shape).astype(np.int64)


def _gather_make(dim):
    def make(rng, case, dtype):
        a_shape, i_shape = case
        high = a_shape[dim] if a_shape else 1
        return [_arr(rng, a_shape, dtype), _index(rng, i_shape, high)]
    return make


def _scatter_make(dim, unique=True, with_src=True):
    def make(rng, case, dtype):
        a_shape, i_shape = case[:2]
        high = a_shape[dim] if a_shape else 1
        index = _unique_index(rng, i_shape, dim if i_shape else 0, high) if unique \
            else _index(rng, i_shape, high)
        out = [_arr(rng, a_shape, dtype), index]
        if with_src:
            out.append(_arr(rng, case[2], dtype))
        return out
    return make


def _index_make(dim, unique=False, src=True):
    def make(rng, case, dtype):
        a_shape, n = case[0], case[1]
        high = a_shape[dim] if a_shape else 1
        index = rng.permutation(high)[:n] if unique else rng.integers(0, high, size=n)
        index = index.astype(np.int64)
        out = [_arr(rng, a_shape, dtype), index.reshape(()) if n == () else index]
        if src:
            out.append(_arr(rng, case[2], dtype))
        return out
    return make


def _index_reduce_all(m, a, i, s):
    with warnings.catch_warnings():  # both libraries warn once: "index_reduce() is in beta"
        warnings.filterwarnings("ignore", r"index_reduce\(\) is in beta")
        return tuple(a.index_reduce(0, i, s, r, include_self=inc)
                     for r in ("prod", "mean", "amax", "amin") for inc in (True, False)) + (
            a.clone().index_reduce_(0, i, s, "amax"),)


def _mask_make(rng, case, dtype):
    return [_arr(rng, case[0], dtype), rng.uniform(size=case[1]) > 0.5,
            *[_arr(rng, s, dtype) for s in case[2:]]]


def _two(dtype_a, dtype_b=None):
    def make(rng, case, dtype):
        return [_arr(rng, case[0], dtype_a), _arr(rng, case[1], dtype_b or dtype)]
    return make


def _F(m):
    """nn.functional's pad/embedding/one_hot (graphtorch's until nn.functional re-exports)."""
    return m.nn.functional if m.__name__ == "torch" else _gt_movement


def _embedding_make(rng, case, dtype):
    return [_index(rng, case[0], case[1][0]), _arr(rng, case[1], dtype)]


ROWS = [
    # --- cat / stack ---------------------------------------------------------------------
    Row("cat", lambda m, a, b: (m.cat([a, b]), m.cat((b, a, b), 0)),
        [((2, 3), (4, 3)), ((0, 3), (2, 3)), ((3,), (2,))], dtypes=DTYPES),
    Row("cat", lambda m, a, b: (m.cat((a, b), 1), m.concat([a, b], 1 - a.ndim), m.cat([a], dim=1),
                                m.concatenate([b, a], axis=1)),
        [((2, 3), (2, 1)), ((2, 0), (2, 2)), ((2, 1, 2), (2, 3, 2))], name="cat_dim1"),
    Row("cat", lambda m, a, b: (m.cat([a, b, a]), m.cat([b, b])), [((2, 3), (0,))],
        name="cat_legacy_empty"),
    Row("cat", lambda m, a, b: (m.cat([a, b]), m.cat([b, a], 0)), [((2, 3), (1, 3))],
        make=_two("int32"), name="cat_promote"),
    Row("cat", lambda m, a, b: m.cat([a, b]), [((2, 3), (1, 3))],
        make=_two("float32"), dtypes=("float64",), fd=False, name="cat_promote_float"),
    Row("cat", lambda m, a, b: m.cat([a, b]), [((2, 3), (1, 3))], make=_two("bool", "int8"),
        grad=False, name="cat_promote_bool"),
    Row("cat", lambda m, a, b: (m.hstack([a, b]), m.vstack([a, b]), m.dstack([a, b]),
                                m.column_stack([a, b]), m.row_stack([a, b])),
        [((3,), (3,)), ((2, 3), (2, 3)), ((), ()), ((2, 3, 2), (2, 3, 2))],
        dtypes=("float32", "int64"), name="hvd_stack"),
    Row("stack", lambda m, a, b: (m.stack([a, b]), m.stack([a, b], -1), m.stack((a,), a.ndim)),
        [((2, 3), (2, 3)), ((), ()), ((0, 2), (0, 2))], dtypes=DTYPES),
    Row("stack", lambda m, a, b: m.stack([a, b], 1), [((2, 3), (2, 3))],
        make=_two("int64"), name="stack_promote"),
    # --- flip / roll / rot90 -------------------------------------------------------------
    Row("flip", lambda m, a: (a.flip(0), m.flip(a, (0, 1)), a.flip(-1, 0), m.fliplr(a),
                              m.flipud(a), a.flip([])),
        [((3, 4),), ((2, 3, 4),), ((0, 3),)], dtypes=DTYPES),
    Row("flip", lambda m, a: (m.flip(a, (0,)), m.flipud(a.reshape(1))), [((),)],
        name="flip_0d"),
    Row("roll", lambda m, a: (m.roll(a, 1), m.roll(a, (1, -2), (0, 1)), a.roll(-1, 0),
                              a.roll(5, -1)),
        [((3, 4),), ((2, 3, 4),), ((0, 4),)], dtypes=DTYPES),
    Row("roll", lambda m, a: m.roll(a, 2), [((),), ((5,),)], name="roll_flat"),
    Row("rot90", lambda m, a: (m.rot90(a), m.rot90(a, 2), m.rot90(a, -1, (1, 0)),
                               a.rot90(3, (0, -1)), m.rot90(a, 0)),
        [((3, 4),), ((2, 3, 4),), ((0, 2),)], dtypes=DTYPES),
    # --- triangles / diagonals -----------------------------------------------------------
    Row(("tril", "triu"), lambda m, a: (a.tril(), m.tril(a, 1), a.triu(-1), m.triu(a, 2),
                                        m.tril(a, -5)),
        [((3, 4),), ((2, 3, 4),), ((0, 3),), ((4, 2),)], dtypes=DTYPES, name="tril_triu"),
    Row(("tril", "triu"), lambda m, a: (a.clone().tril_(1), (a * 2).triu_()), [((3, 4),)],
        name="tril_triu_inplace"),
    Row("diag_embed", lambda m, a: (m.diag_embed(a), m.diag_embed(a, 1), a.diag_embed(-1, 1, 0)),
        [((3,),), ((2, 3),), ((0,),), ((2, 0),)], dtypes=DTYPES),
    Row("diag_embed", lambda m, a: (a.diag_embed(-1, 0, 2), m.diag_embed(a, 2, -1, -3)),
        [((2, 3),), ((2, 3, 2),)], name="diag_embed_dims"),
    Row("diag_embed", lambda m, a: (m.diag(a), m.diag(a, 1), a.diag(-2)), [((3,),), ((0,),)],
        dtypes=("float32", "int64"), name="diag_1d"),
    Row("diagonal", lambda m, a: (m.diag(a), m.diag(a, 1), a.diag(-2), m.diag(a, 7)),
        [((3, 4),), ((4, 4),)], dtypes=("float32", "int64"), name="diag_2d"),
    Row("diag_embed", lambda m, a: (m.diagflat(a), a.diagflat(-1)), [((3,),), ((2, 2),), ((),)],
        dtypes=("float32", "int64"), name="diagflat"),
    Row("constant_pad_nd", lambda m, a, b: (m.block_diag(a, b, a[0]), m.block_diag(b)),
        [((2, 3), (3,)), ((1, 2), (2,))], dtypes=("float32", "int64"), name="block_diag"),
    # PyTorch 2.13's BlockDiagBackward0 misplaces the gradient after an empty 1-D block
    # (ours matches finite differences): forward only
    Row("constant_pad_nd", lambda m, a, b: m.block_diag(b[:0], a), [((2, 3), (3,))],
        grad=False, name="block_diag_empty_block"),
    Row("constant_pad_nd", lambda m, a, b: m.block_diag(a, b), [((2, 2), (3,))],
        make=_two("int64"), name="block_diag_promote"),
    Row("copy_into_view",
        lambda m, a, b: (m.select_scatter(a, b[0], 0, 1), a.select_scatter(b[:, 0], 1, -1),
                         m.slice_scatter(a, b[:2], 0, 1), a.slice_scatter(b[:, :2], 1, 0, 4, 2),
                         m.diagonal_scatter(a, b[0, :3]), a.diagonal_scatter(b[0, :2], 2)),
        [((3, 4), (3, 4))], dtypes=("float32", "int64"), name="view_scatters"),
    # --- repeats -------------------------------------------------------------------------
    Row("repeat", lambda m, a: (a.repeat(2, 1), a.repeat(1, 2, 3), m.tile(a, (2,)),
                                a.tile((2, 1, 1)), a.repeat((1, 1)) if a.ndim <= 2 else a),
        [((3, 4),), ((),), ((0, 2),), ((2,),)], dtypes=DTYPES),
    Row("expand", lambda m, a: (a.repeat_interleave(2), a.repeat_interleave(3, 0),
                                m.repeat_interleave(a, 2, dim=-1),
                                a.repeat_interleave(m.tensor(2), dim=0),
                                a.repeat_interleave(0, dim=0)),
        [((3, 4),), ((2,),), ((0, 2),)], dtypes=("float32", "int64"),
        name="repeat_interleave_int"),
    Row(("repeat_interleave", "index_select"),
        lambda m, a, r: (a.repeat_interleave(r, 0), m.repeat_interleave(r),
                         m.repeat_interleave(a, r, dim=0, output_size=int(r.sum()))),
        [((3, 4), (3,)), ((3,), (3,))], dtypes=("float32", "int64"),
        make=lambda rng, c, d: [_arr(rng, c[0], d), rng.integers(0, 3, size=c[1])],
        name="repeat_interleave_tensor"),
    Row("repeat_interleave", lambda m, r: (m.repeat_interleave(r),), [((4,),), ((0,),)],
        make=lambda rng, c, d: [rng.integers(0, 3, size=c[0]).astype(d)],
        dtypes=("int64", "int32"), grad=False, name="repeat_interleave_counts"),
    # --- gather / scatter ----------------------------------------------------------------
    Row("gather", lambda m, a, i: (a.gather(0, i), m.gather(a, 0, i)),
        [((3, 4), (2, 4)), ((3, 4), (5, 2)), ((3, 4), (0, 4)), ((), ())],
        make=_gather_make(0), dtypes=DTYPES),
    Row("gather", lambda m, a, i: (a.gather(-1, i), m.gather(a, a.ndim - 1, i)),
        [((3, 4), (3, 6)), ((2, 3, 4), (2, 2, 3))], make=_gather_make(-1), name="gather_dim1"),
    Row("gather", lambda m, a, i: m.take_along_dim(a, i, 1), [((3, 4), (3, 6)), ((3, 4), (1, 2))],
        make=_gather_make(1), name="take_along_dim"),
    Row("gather", lambda m, a, i: m.take_along_dim(a, i), [((3, 4), (5,))],
        make=lambda rng, c, d: [_arr(rng, c[0], d), _index(rng, c[1], 12)],
        name="take_along_dim_flat"),
    Row("scatter", lambda m, a, i, s: (a.scatter(0, i, s), m.scatter(a, 0, i, src=s)),
        [((3, 4), (2, 4), (2, 4)), ((3, 4), (3, 2), (3, 2)), ((), (), ()),
         ((3, 4), (0, 4), (0, 4))], make=_scatter_make(0), dtypes=DTYPES),
    Row("scatter", lambda m, a, i, s: a.scatter(1, i, s), [((3, 4), (3, 2), (3, 5))],
        make=_scatter_make(1), grad_inputs=(0,), name="scatter_larger_src"),
    Row("scatter", lambda m, a, i: (a.scatter(-1, i, 2.5), m.scatter(a, a.ndim - 1, i, value=-1)),
        [((3, 4), (3, 2)), ((2, 3, 4), (2, 3, 4))], make=_scatter_make(-1, with_src=False),
        dtypes=("float32", "int64"), name="scatter_value"),
    Row("scatter", lambda m, a, i: (a.scatter(0, i, 2.0, reduce="add"),
                                    a.scatter(0, i, -3, reduce="multiply")),
        [((3, 4), (2, 4))], make=_scatter_make(0, unique=False, with_src=False), grad=False,
        dtypes=("float32", "int64"), name="scatter_reduce_arg"),
    Row("scatter", lambda m, a, i, s: (a.clone().scatter_(0, i, s), (a * 1).scatter_(0, i, 1.5)),
        [((3, 4), (2, 4), (2, 4))], make=_scatter_make(0), name="scatter_inplace"),
    Row("scatter_add", lambda m, a, i, s: (a.scatter_add(0, i, s), m.scatter_add(a, -1, i, s),
                                           a.clone().scatter_add_(0, i, s)),
        [((3, 4), (3, 4), (3, 4)), ((3, 3), (2, 2), (2, 2)), ((), (), ())],
        make=_scatter_make(0, unique=False), dtypes=("float32", "float64", "int64")),
    Row("scatter_reduce",
        lambda m, a, i, s: tuple(a.scatter_reduce(0, i, s, r, include_self=inc)
                                 for r in ("sum", "mean", "amax", "amin", "prod")
                                 for inc in (True, False)),
        [((3, 4), (3, 4), (3, 4)), ((4, 2), (6, 2), (6, 2))],
        make=_scatter_make(0, unique=False), dtypes=("float32", "float64")),
    Row("scatter_reduce",
        lambda m, a, i, s: tuple(m.scatter_reduce(a, 0, i, s, r, include_self=inc)
                                 for r in ("sum", "mean", "amax", "amin", "prod")
                                 for inc in (True, False)),
        [((3, 4), (3, 4), (3, 4))], make=_scatter_make(0, unique=False),
        dtypes=("int64", "int32"), grad=False, name="scatter_reduce_int"),
    Row("scatter_reduce", lambda m, a, i, s: a.clone().scatter_reduce_(1, i, s, "amax"),
        [((3, 4), (3, 4), (3, 4))], make=_scatter_make(1, unique=False),
        name="scatter_reduce_inplace"),
    # --- index_* -------------------------------------------------------------------------
    Row("index_select", lambda m, a, i: (a.index_select(0, i), m.index_select(a, -1, i)),
        [((3, 4), 5), ((3, 3), 0), ((), ())], make=_index_make(0, src=False), dtypes=DTYPES),
    Row("index_add", lambda m, a, i, s: (a.index_add(0, i, s), m.index_add(a, 0, i, s, alpha=2),
                                         a.clone().index_add_(0, i, s, alpha=-1)),
        [((3, 4), 5, (5, 4)), ((4,), 0, (0,)), ((), 1, ())], make=_index_make(0),
        dtypes=("float32", "float64", "int64")),
    Row("index_add", lambda m, a, i, s: a.index_add(1, i, s), [((3, 4), 6, (3, 6))],
        make=_index_make(1), name="index_add_dim1"),
    Row("scatter_reduce", _index_reduce_all,  # scatter_reduce with the index spread
        [((3, 4), 5, (5, 4)), ((4,), 6, (6,))], make=_index_make(0),
        dtypes=("float32", "float64"), name="index_reduce"),
    Row("index_copy", lambda m, a, i, s: (a.index_copy(0, i, s), a.clone().index_copy_(0, i, s)),
        [((4, 3), 2, (2, 3)), ((4,), 3, (3,)), ((), 1, ())], make=_index_make(0, unique=True),
        dtypes=DTYPES),
    Row("index_fill", lambda m, a, i: (a.index_fill(0, i, -1), a.clone().index_fill_(0, i[:1], 2)),
        [((4, 3), 3), ((3, 3), 0)], make=_index_make(0, src=False), dtypes=DTYPES),
    Row("index_fill", lambda m, a, i, v: (a.index_fill(1, i, v), m.index_fill(a, 0, i, v)),
        [((3, 3), 4, ())], make=_index_make(0), name="index_fill_tensor"),
    # --- masked_* ------------------------------------------------------------------------
    Row("masked_fill", lambda m, a, k: (a.masked_fill(k, 2), m.masked_fill(a, k, -1.5),
                                        a.clone().masked_fill_(k, 0)),
        [((3, 4), (3, 4)), ((3, 4), (4,)), ((), ()), ((0, 2), (0, 2))], make=_mask_make,
        dtypes=DTYPES),
    Row("masked_fill", lambda m, a, k: a.masked_fill(k, 3), [((3, 4), (2, 3, 4)), ((4,), (3, 1))],
        make=_mask_make, name="masked_fill_broadcast"),
    Row("masked_fill", lambda m, a, k, v: (a.masked_fill(k, v), (a * 1).masked_fill_(k, v)),
        [((3, 4), (3, 4), ()), ((3, 4), (4,), ())], make=_mask_make, name="masked_fill_tensor"),
    Row("masked_scatter", lambda m, a, k, s: (a.masked_scatter(k, s),
                                              a.clone().masked_scatter_(k, s)),
        [((3, 4), (3, 4), (12,)), ((3, 4), (4,), (4, 4)), ((2, 3), (3,), (2, 3)), ((), (), ())],
        make=_mask_make, dtypes=DTYPES),
    Row("masked_select", lambda m, a, k: (a.masked_select(k), m.masked_select(a, k)),
        [((3, 4), (3, 4)), ((3, 4), (4,)), ((4,), (3, 4)), ((), ()), ((0,), (0,))],
        make=_mask_make, dtypes=DTYPES),
    Row("nonzero", lambda m, a: (a.nonzero(), m.nonzero(a, as_tuple=True), m.argwhere(a),
                                 a.argwhere()),
        [((3, 4),), ((),), ((0, 3),), ((2, 3, 4),)], dtypes=DTYPES, grad=False),
    # --- take / put ----------------------------------------------------------------------
    Row("take", lambda m, a, i: (m.take(a, i), a.take(i.reshape(2, 2))),
        [((3, 4), 4), ((5,), 4)], make=lambda rng, c, d: [
            _arr(rng, c[0], d), rng.integers(-int(np.prod(c[0])), int(np.prod(c[0])), size=4)],
        dtypes=DTYPES),
    Row("put", lambda m, a, i, s: (a.put(i, s), a.put(i, s, accumulate=True),
                                   a.clone().put_(i, s, True)),
        [((3, 4), 4, (4,)), ((5,), 4, (2, 2))], make=lambda rng, c, d: [
            _arr(rng, c[0], d), rng.permutation(int(np.prod(c[0])))[:4].astype(np.int64),
            _arr(rng, c[2], d)], dtypes=("float32", "float64", "int64")),
    # --- windows, padding, embedding -----------------------------------------------------
    Row("slice", lambda m, a: (a.narrow_copy(1, 1, 2), m.narrow_copy(a, 0, 0, 1)), [((3, 4),)],
        name="narrow_copy"),
    Row("unfold", lambda m, a: (a.unfold(1, 2, 1), a.unfold(0, 2, 2), a.unfold(-1, 2, 3),
                                a.unfold(1, 1, 5) * 2),
        [((3, 4),), ((4, 5, 2),)], dtypes=("float32", "int64")),
    Row("unfold", lambda m, a: (a.unfold(0, 1, 1), a.unfold(0, 0, 1)), [((),)],
        name="unfold_0d"),
    # offsets and strides count storage elements; overlapping windows add up in backward
    Row("as_strided",
        lambda m, a: (a.as_strided((2, 2), (1, 2)), a.as_strided((3,), (0,), 5) * 2,
                      a[1:].as_strided((2, 3), (4, 1)), m.as_strided(a, (2, 2), (1, 1), 1),
                      a.as_strided((), (), 11)),
        [((3, 4),)], dtypes=("float32", "int64")),
    Row("constant_pad_nd",
        lambda m, a: (_F(m).pad(a, (1, 2)), _F(m).pad(a, (1, 0, -1, 2), value=3),
                      _F(m).pad(a, [0, 0, 1, 1]), m.constant_pad_nd(a, (-1, 1))),
        [((3, 4),), ((2, 3, 4),), ((2, 1),)], dtypes=("float32", "int64", "bool"),
        name="pad_constant"),
    Row("index_select",
        lambda m, a: tuple(_F(m).pad(a, p, mode=mode) for mode in
                           ("reflect", "replicate", "circular") for p in ((1, 2), (2, 0), (-1, 1))),
        [((2, 3, 4),), ((3, 5),)], dtypes=("float32", "int64"), name="pad_modes_1d"),
    Row("index_select",
        lambda m, a: tuple(_F(m).pad(a, p, mode=mode) for mode in
                           ("reflect", "replicate", "circular") for p in ((1, 2, 2, 1),
                                                                          (0, 1, 1, 0))),
        [((1, 2, 3, 4),), ((2, 3, 3),)], name="pad_modes_2d"),
    Row("index_select",
        lambda m, a: tuple(_F(m).pad(a, (1, 1, 0, 1, 1, 0), mode=mode)
                           for mode in ("reflect", "replicate", "circular")),
        [((1, 2, 2, 3, 2),)], name="pad_modes_3d"),
    Row("embedding", lambda m, i, w: _F(m).embedding(i, w),
        [((4,), (5, 3)), ((2, 3), (4, 2)), ((), (3, 2)), ((0,), (3, 2))], make=_embedding_make,
        dtypes=("float32", "float64")),
    # padding_idx and scale_grad_by_freq change the gradient on purpose: no finite differences
    Row("embedding", lambda m, i, w: (_F(m).embedding(i, w, padding_idx=1),
                                      _F(m).embedding(i, w, padding_idx=-1),
                                      _F(m).embedding(i, w, scale_grad_by_freq=True)),
        [((6,), (5, 3)), ((2, 3), (4, 2))], make=_embedding_make, fd=False,
        name="embedding_padding_idx"),
    Row("scatter", lambda m, i: (_F(m).one_hot(i), _F(m).one_hot(i, 6)),
        [((4,),), ((2, 3),), ((),)], make=lambda rng, c, d: [_index(rng, c[0], 5)],
        grad=False, name="one_hot"),
    # --- grids ---------------------------------------------------------------------------
    Row("expand", lambda m, a, b: m.meshgrid(a, b, indexing="ij") + m.meshgrid([a, b, a],
                                                                               indexing="xy"),
        [((3,), (2,)), ((), (4,)), ((0,), (2,))], dtypes=("float32", "int64"), name="meshgrid"),
    Row("stack", lambda m, a, b: (m.cartesian_prod(a, b), m.cartesian_prod(a)),
        [((3,), (2,)), ((0,), (2,))], dtypes=("float32", "int64"), name="cartesian_prod"),
    Row("stack", lambda m, a: (m.combinations(a), m.combinations(a, 3, True),
                               m.combinations(a, 0), m.combinations(a, 9)),
        [((4,),), ((1,),)], dtypes=("float32", "int64"), name="combinations"),
]
